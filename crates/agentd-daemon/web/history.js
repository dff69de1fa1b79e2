// History: full-text search across every transcript, and a session's page
// (its transcript, paged and following live; its events; its hook runs).

import { useEffect, useRef, useState } from './vendor/preact-hooks.js';
import { html, Status } from './ui.js';
import { gql, subscribe } from './api.js';
import { age, shownStatus, splitSnippet, titleOf, usd } from './model.js';

// Messages per page: the first paints fast, more come on demand.
const PAGE = 200;

/** `«hit»` marks as <mark>, as text nodes (never markup). */
function Snippet({ text }) {
  return html`<span class="snippet">${splitSnippet(text).map((p, i) =>
    p.hit ? html`<mark key=${i}>${p.text}</mark>` : p.text)}</span>`;
}

function dayMs(date, end = false) {
  if (!date) return undefined;
  const t = Date.parse(`${date}T00:00:00`);
  return Number.isNaN(t) ? undefined : end ? t + 86_400_000 : t;
}

/** The search view; `q` is the query from the address (`#/search?q=`). */
export function Search({ initial }) {
  const [form, setForm] = useState({ q: initial ?? '', project: '', since: '', until: '', role: '' });
  const [hits, setHits] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const input = useRef(null);
  useEffect(() => input.current?.focus(), []);

  async function run(e) {
    e?.preventDefault();
    if (!form.q.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const d = await gql(`query Search($q: String!, $project: String, $since: Int, $until: Int) {
        search(query: $q, project: $project, sinceMs: $since, untilMs: $until, limit: 200) {
          sessionId agentId uuid ts role project snippet score kind documentId title
        }
      }`, {
        q: form.q,
        project: form.project || undefined,
        since: dayMs(form.since),
        until: dayMs(form.until, true),
      });
      setHits(d.search);
    } catch (err) {
      setError(err.message);
      setHits(null);
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => { if (initial) run(); }, []);

  const shown = (hits ?? []).filter((h) => !form.role || h.role === form.role);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  return html`<main class="search">
    <form class="searchbar" onSubmit=${run} role="search">
      <input ref=${input} type="search" aria-label="Search all history" placeholder="Search every transcript…"
        value=${form.q} onInput=${set('q')} />
      <input type="text" aria-label="Project contains" placeholder="Project" value=${form.project} onInput=${set('project')} />
      <label>From <input type="date" value=${form.since} onInput=${set('since')} /></label>
      <label>To <input type="date" value=${form.until} onInput=${set('until')} /></label>
      <select aria-label="Role" value=${form.role} onChange=${set('role')}>
        <option value="">Any role</option>
        <option value="user">user</option>
        <option value="assistant">assistant</option>
        <option value="tool_result">tool result</option>
      </select>
      <button class="primary" type="submit" disabled=${busy}>Search</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${hits && html`<p class="muted">${shown.length} hit${shown.length === 1 ? '' : 's'}</p>`}
    <ol class="hits">
      ${shown.map((h, i) => html`<li key=${i}>
        <div class="meta">
          <span class="role">${h.kind === 'document' ? `document «${h.title ?? ''}»` : h.role}</span>
          <span>${h.project ?? ''}</span>
          <span class="muted">${h.ts ? new Date(h.ts).toLocaleString() : ''}</span>
        </div>
        ${h.kind === 'transcript'
          ? html`<a class="hit" href=${`#/session/${encodeURIComponent(h.sessionId)}?uuid=${encodeURIComponent(h.uuid ?? '')}`}><${Snippet} text=${h.snippet} /></a>`
          : html`<${Snippet} text=${h.snippet} />`}
      </li>`)}
    </ol>
  </main>`;
}

function Message({ m, target }) {
  const ref = useRef(null);
  useEffect(() => {
    if (target) ref.current?.scrollIntoView({ block: 'center' });
  }, [target]);
  const who = m.agentId ? `${m.role} · subagent ${m.agentId.slice(0, 8)}` : m.role;
  return html`<article ref=${ref} class=${`msg r-${m.role}${target ? ' target' : ''}${m.agentId ? ' sub' : ''}`}
      data-uuid=${m.uuid ?? ''} aria-label=${`${m.role} message ${m.index}`}>
    <header><b>${who}</b> <span class="muted">${m.tsMs ? new Date(m.tsMs).toLocaleTimeString() : ''}
      ${m.model ? ` · ${m.model}` : ''}</span></header>
    ${m.text && (m.role === 'tool_result'
      ? html`<details><summary>tool result</summary><pre>${m.text}</pre></details>`
      : html`<div class="text">${m.text}</div>`)}
    ${m.tools.length > 0 && html`<details class="tools"><summary>${m.tools.map((t) => t.name).join(', ')}</summary>
      ${m.tools.map((t, i) => html`<pre key=${i}><b>${t.name}</b> ${t.summary}</pre>`)}</details>`}
  </article>`;
}

/** A session's page: `#/session/<id>[?uuid=<message>]`. */
export function SessionPage({ id, uuid, store }) {
  const [tab, setTab] = useState('transcript');
  const [messages, setMessages] = useState([]);
  const [total, setTotal] = useState(null);
  const [error, setError] = useState(null);
  const [showSub, setShowSub] = useState(false);
  const live = store.sessions.get(id);

  async function page(offset) {
    const d = await gql(`query T($id: String!, $offset: Int!, $limit: Int) {
      transcript(id: $id, offset: $offset, limit: $limit) {
        total messages { index uuid tsMs role agentId model text tools }
      }
    }`, { id, offset, limit: PAGE });
    return d.transcript;
  }

  // The first pages (up to the message asked for), then more on demand.
  useEffect(() => {
    let stop = false;
    (async () => {
      try {
        let all = [];
        let t = await page(0);
        all = t.messages;
        while (!stop && uuid && !all.some((m) => m.uuid === uuid) && all.length < t.total) {
          t = await page(all.length);
          if (!t.messages.length) break;
          all = all.concat(t.messages);
        }
        if (!stop) {
          setMessages(all);
          setTotal(t.total);
        }
      } catch (e) {
        if (!stop) setError(e.message);
      }
    })();
    return () => { stop = true; };
  }, [id, uuid]);

  // Follow live: when the session's status or last event moves, fetch
  // what was appended.
  useEffect(() => {
    if (total == null || messages.length < total) return;
    page(messages.length).then((t) => {
      if (t.messages.length) {
        setMessages((old) => old.concat(t.messages.filter((m) => m.index >= old.length)));
      }
      setTotal(t.total);
    }).catch(() => {});
  }, [live?.lastSeq]);

  async function more() {
    const t = await page(messages.length);
    setMessages(messages.concat(t.messages));
    setTotal(t.total);
  }

  const shown = showSub ? messages : messages.filter((m) => !m.agentId);
  const title = live ? titleOf(live) : id.slice(0, 8);
  return html`<main class="session-page">
    <header class="session-head">
      <h2>${title}</h2>
      ${live && html`<${Status} status=${shownStatus(live)} />`}
      <span class="muted">${id}</span>
      ${live && html`<span>${live.project ?? live.cwd ?? ''}</span>
        <span>${live.model ?? ''}</span>
        <span>${live.contextPct != null ? `context ${Math.round(live.contextPct)}%` : ''}</span>
        <span>${usd(live.costUsd)}</span>
        <span class="muted">${age(live.lastEventMs)} ago</span>`}
    </header>
    <nav class="tabs" role="tablist">
      ${['transcript', 'events', 'hooks'].map((t) => html`<button role="tab" key=${t}
        aria-selected=${tab === t} onClick=${() => setTab(t)}>${t}</button>`)}
    </nav>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <${SessionUsage} id=${id} />
    ${tab === 'transcript' && html`<section aria-label="Transcript">
      <label class="muted"><input type="checkbox" checked=${showSub} onChange=${(e) => setShowSub(e.currentTarget.checked)} />
        show subagents' messages (${messages.filter((m) => m.agentId).length})</label>
      <p class="muted">${messages.length} of ${total ?? '…'} messages</p>
      ${shown.map((m) => html`<${Message} key=${m.index} m=${m} target=${uuid && m.uuid === uuid} />`)}
      ${total != null && messages.length < total && html`<button onClick=${more}>Load ${Math.min(PAGE, total - messages.length)} more</button>`}
    </section>`}
    ${tab === 'events' && html`<${Events} id=${id} />`}
    ${tab === 'hooks' && html`<${HookRuns} id=${id} />`}
  </main>`;
}

/** The session's tokens and cost by model, from its transcript. */
function SessionUsage({ id }) {
  const [u, setU] = useState(null);
  useEffect(() => {
    gql(`query($id: String) { usage(groupBy: MODEL, sessionId: $id) {
      rows { period inputTokens outputTokens cacheCreationTokens cacheReadTokens totalTokens costUsd }
      totals { totalTokens costUsd } } }`, { id })
      .then((d) => setU(d.usage), () => setU(null));
  }, [id]);
  if (!u || u.rows.length === 0) return null;
  const n = (x) => x.toLocaleString('en-US');
  return html`<table class="usage-table session-usage" aria-label="Usage of this session">
    <thead><tr><th scope="col">Model</th><th scope="col">Input</th><th scope="col">Output</th>
      <th scope="col">Cache write</th><th scope="col">Cache read</th><th scope="col">Cost</th></tr></thead>
    <tbody>${u.rows.map((r) => html`<tr key=${r.period}><td>${r.period}</td><td class="num">${n(r.inputTokens)}</td>
      <td class="num">${n(r.outputTokens)}</td><td class="num">${n(r.cacheCreationTokens)}</td>
      <td class="num">${n(r.cacheReadTokens)}</td><td class="num">${r.costUsd == null ? '?' : usd(r.costUsd)}</td></tr>`)}</tbody>
    <tfoot><tr><th scope="row">Total</th><td colspan="4" class="num">${n(u.totals.totalTokens)} tokens</td>
      <td class="num">${u.totals.costUsd == null ? '?' : usd(u.totals.costUsd)}</td></tr></tfoot>
  </table>`;
}

function Events({ id }) {
  const [events, setEvents] = useState([]);
  useEffect(() => {
    // The log from the start, then live (no gap, no duplicate).
    const off = subscribe(`subscription($id: String) { events(afterSeq: 0, sessionId: $id) { seq ts name kind source } }`,
      { id }, (d) => setEvents((old) => old.concat([d.events]).slice(-2000)));
    return off;
  }, [id]);
  return html`<table class="events"><thead><tr><th>seq</th><th>time</th><th>event</th><th>kind</th><th>source</th></tr></thead>
    <tbody>${events.map((e) => html`<tr key=${e.seq}><td>${e.seq}</td><td>${new Date(e.ts).toLocaleTimeString()}</td>
      <td>${e.name}</td><td>${e.kind}</td><td>${e.source}</td></tr>`)}</tbody></table>`;
}

function HookRuns({ id }) {
  const [runs, setRuns] = useState([]);
  const [lines, setLines] = useState([]);
  useEffect(() => {
    gql(`query($id: String) { hookRuns(sessionId: $id, limit: 100) { runId hook event outcome passed exitCode startedMs endedMs head } }`, { id })
      .then((d) => setRuns(d.hookRuns)).catch(() => {});
    return subscribe(`subscription($id: String) { hookOutput(sessionId: $id) { kind runId hook line stream run { runId hook event outcome passed exitCode startedMs endedMs head } } }`,
      { id }, (d) => {
        const u = d.hookOutput;
        if (u.kind === 'LINE') setLines((old) => old.concat([`${u.hook}: ${u.line}`]).slice(-500));
        if (u.kind === 'FINISHED' && u.run) setRuns((old) => [u.run, ...old]);
      });
  }, [id]);
  return html`<section aria-label="Hook runs">
    ${lines.length > 0 && html`<pre class="live-output">${lines.join('\n')}</pre>`}
    ${runs.length === 0 && html`<p class="muted">No hook runs for this session.</p>`}
    ${runs.map((r) => html`<details key=${r.runId}><summary>
      <span class=${r.passed ? 'ok' : 'bad'}>${r.passed ? 'passed' : 'failed'}</span> ${r.hook} on ${r.event}
      · ${r.outcome} · ${r.endedMs - r.startedMs} ms</summary><pre>${r.head.join('\n')}</pre></details>`)}
  </section>`;
}
