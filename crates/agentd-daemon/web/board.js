// The board: every session, needs-you first, grouped by project, with the
// pending approvals above it; filter as you type; keyboard like the TUI.

import { useEffect, useRef } from './vendor/preact-hooks.js';
import { html, Status } from './ui.js';
import { ApprovalCard } from './approvals.js';
import { age, cpu, groupSessions, mem, shownStatus, titleOf, usd } from './model.js';

function Row({ s, proc, selected, onSelect }) {
  const status = shownStatus(s);
  const tool = s.currentTool || s.lastTool || '';
  return html`<tr class=${selected ? 'selected' : ''} data-session=${s.id} data-status=${status}
      aria-selected=${selected} onClick=${onSelect}>
    <td><${Status} status=${status} /></td>
    <td class="title" title=${s.id}><a href=${`#/session/${encodeURIComponent(s.id)}`}>${titleOf(s)}</a></td>
    <td class="agent">${s.agent ?? ''}</td>
    <td class="model">${s.model ?? ''}</td>
    <td class="num">${s.contextPct != null ? `${Math.round(s.contextPct)}%` : ''}</td>
    <td class="num">${usd(s.costUsd)}</td>
    <td class="num cpu" title=${proc?.hotProcess ? `busy for 10 minutes: ${proc.hotProcess}` : ''}>${cpu(proc)}</td>
    <td class="num mem" title=${proc ? `${proc.processes} processes` : ''}>${mem(proc)}</td>
    <td class="tool">${tool}</td>
    <td class="num">${age(s.lastEventMs)}</td>
    <td class="branch">${s.gitBranch ?? ''}</td>
    <td class="pane">${s.tmuxPane ?? ''}</td>
  </tr>`;
}

/** Board view. `ui` carries the filter text and the selected session. */
export function Board({ store, ui, setUi }) {
  const filterRef = useRef(null);
  const groups = groupSessions([...store.sessions.values()], ui.filter);
  const visible = groups.flatMap((g) => g.sessions);
  const pending = [...store.approvals.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  useEffect(() => {
    if (ui.focusFilter) {
      filterRef.current?.focus();
      setUi({ ...ui, focusFilter: false });
    }
  });
  useEffect(() => {
    document.querySelector('tr.selected')?.scrollIntoView({ block: 'nearest' });
  }, [ui.selected]);

  return html`<main class="board">
    ${pending.length > 0 && html`<section class="queue" aria-label="Pending approvals">
      <h2>Needs you <span class="count">${pending.length}</span></h2>
      ${pending.map((a) => html`<${ApprovalCard} key=${a.id} approval=${a}
        session=${store.sessions.get(a.sessionId)} />`)}
    </section>`}
    <section aria-label="Sessions">
      <div class="toolbar">
        <input ref=${filterRef} type="search" class="filter" aria-label="Filter sessions"
          placeholder="Filter: project, branch, status, agent, model… ( / )" value=${ui.filter}
          onInput=${(e) => setUi({ ...ui, filter: e.currentTarget.value })} />
        <span class="muted">${visible.length} of ${store.sessions.size} sessions</span>
      </div>
      ${store.loaded && visible.length === 0 && html`<p class="empty">${
        store.sessions.size === 0
          ? 'No sessions yet. Start Claude Code with agentd\'s hooks installed (agentd install) and it appears here.'
          : 'No session matches the filter.'}</p>`}
      ${groups.map((g) => html`<table class="sessions" key=${g.dir}>
        <caption title=${g.dir}>${g.name} <span class="muted">${g.dir}</span></caption>
        <thead><tr>
          <th scope="col">Status</th><th scope="col">Session</th><th scope="col">Agent</th><th scope="col">Model</th>
          <th scope="col">Context</th><th scope="col">Cost</th><th scope="col">CPU</th>
          <th scope="col">Mem</th><th scope="col">Tool</th>
          <th scope="col">Age</th><th scope="col">Branch</th><th scope="col">Pane</th>
        </tr></thead>
        <tbody>${g.sessions.map((s) => html`<${Row} key=${s.id} s=${s} proc=${store.processes.get(s.id)} selected=${ui.selected === s.id}
          onSelect=${() => setUi({ ...ui, selected: s.id })} />`)}</tbody>
      </table>`)}
    </section>
  </main>`;
}

/** The sessions in board order (for `j`/`k`). */
export function boardOrder(store, filter) {
  return groupSessions([...store.sessions.values()], filter).flatMap((g) => g.sessions);
}
