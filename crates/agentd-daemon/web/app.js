// The page: sign-in check, header, views (#/ board, #/approvals), keys.

import { render } from './vendor/preact.js';
import { useEffect, useState } from './vendor/preact-hooks.js';
import { html } from './ui.js';
import { logout, signedIn } from './api.js';
import { reload, start, useStore } from './store.js';
import { Board, boardOrder } from './board.js';
import { ApprovalCard } from './approvals.js';
import { Search, SessionPage } from './history.js';
import { Usage } from './usage.js';
import { Terminals } from './terminals.js';

const KEYS = [
  ['j / k', 'next / previous session'],
  ['a', "approve the selected session's oldest pending tool call (else the oldest of all)"],
  ['d', 'deny it: type the message, Enter'],
  ['r', 'reload'],
  ['Enter', "open the selected session's page"],
  ['/', 'filter sessions'],
  ['g', 'board;  q: approvals;  s: search;  u: usage'],
  ['?', 'this help;  Esc closes it'],
];

function Help({ close }) {
  return html`<div class="overlay" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" onClick=${close}>
    <div class="help" onClick=${(e) => e.stopPropagation()}>
      <h2>Keys</h2>
      <dl>${KEYS.map(([k, v]) => html`<dt><kbd>${k}</kbd></dt><dd>${v}</dd>`)}</dl>
      <button onClick=${close}>Close</button>
    </div>
  </div>`;
}

function NotifyToggle() {
  const [on, setOn] = useState(
    () => localStorage.getItem('agentd.notify') === 'on' && window.Notification?.permission === 'granted',
  );
  if (!window.Notification) return null;
  async function toggle() {
    if (on) {
      localStorage.setItem('agentd.notify', 'off');
      setOn(false);
      return;
    }
    const p = await Notification.requestPermission();
    localStorage.setItem('agentd.notify', p === 'granted' ? 'on' : 'off');
    setOn(p === 'granted');
  }
  return html`<button class="notify" aria-pressed=${on} onClick=${toggle}
    title="A browser notification when a session starts needing you">${on ? 'Notifications on' : 'Notify me'}</button>`;
}

function Approvals({ store }) {
  const pending = [...store.approvals.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return html`<main class="approvals-page">
    ${pending.length === 0 && html`<p class="empty">Nothing waits for you.</p>`}
    ${pending.map((a) => html`<${ApprovalCard} key=${a.id} approval=${a} session=${store.sessions.get(a.sessionId)} />`)}
  </main>`;
}

/** The view the address names: `{name, id?, params}`. */
function route() {
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  switch (parts[0]) {
    case 'approvals': return { name: 'approvals', params };
    case 'search': return { name: 'search', params };
    case 'usage': return { name: 'usage', params };
    case 'terminals': return { name: 'terminals', id: parts[1] ? decodeURIComponent(parts[1]) : null, params };
    case 'session': return { name: 'session', id: decodeURIComponent(parts[1] ?? ''), params };
    default: return { name: 'board', params };
  }
}

/** The oldest pending approval of `sessionId`, else the oldest of all. */
function target(store, sessionId) {
  const pending = [...store.approvals.values()]
    .filter((a) => a.status === 'pending')
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  return pending.find((a) => a.sessionId === sessionId) ?? pending[0];
}

function App() {
  const store = useStore();
  const [view, setView] = useState(route);
  const [help, setHelp] = useState(false);
  const [ui, setUi] = useState({ filter: '', selected: null, focusFilter: false });

  useEffect(() => {
    const onHash = () => setView(route());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    function onKey(e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
      if (e.key === 'Escape') {
        setHelp(false);
        if (typing) e.target.blur();
        return;
      }
      if (typing) return;
      const order = boardOrder(store, ui.filter);
      const at = order.findIndex((s) => s.id === ui.selected);
      const pick = (i) => order[i] && setUi({ ...ui, selected: order[i].id });
      const card = () => {
        const a = target(store, ui.selected);
        return a && document.querySelector(`article[data-approval="${a.id}"]`);
      };
      switch (e.key) {
        case 'j': pick(Math.min(order.length - 1, at + 1)); break;
        case 'k': pick(Math.max(0, at - 1)); break;
        case 'a': card()?.querySelector('button.primary')?.click(); break;
        case 'd': card()?.querySelector('form.deny input')?.focus(); break;
        case 'r': reload(); break;
        case '/': setUi({ ...ui, focusFilter: true }); location.hash = '#/'; break;
        case 'g': location.hash = '#/'; break;
        case 'q': location.hash = '#/approvals'; break;
        case 's': location.hash = '#/search'; break;
        case 'u': location.hash = '#/usage'; break;
        case 'Enter': if (ui.selected) location.hash = `#/session/${encodeURIComponent(ui.selected)}`; break;
        case '?': setHelp(!help); break;
        default: return;
      }
      e.preventDefault();
    }
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  });

  const waiting = [...store.approvals.values()].filter((a) => a.status === 'pending').length;
  useEffect(() => {
    document.title = waiting ? `(${waiting}) agentd` : 'agentd';
  }, [waiting]);

  return html`<div class="shell">
    <header class="top">
      <h1>agentd</h1>
      <nav aria-label="Views">
        <a href="#/" aria-current=${view.name === 'board' ? 'page' : undefined}>Board</a>
        <a href="#/approvals" aria-current=${view.name === 'approvals' ? 'page' : undefined}>
          Approvals${waiting ? html` <span class="count">${waiting}</span>` : ''}</a>
        <a href="#/search" aria-current=${view.name === 'search' ? 'page' : undefined}>Search</a>
        <a href="#/usage" aria-current=${view.name === 'usage' ? 'page' : undefined}>Usage</a>
        <a href="#/terminals" aria-current=${view.name === 'terminals' ? 'page' : undefined}>Terminals</a>
      </nav>
      <span class=${store.connected ? 'live on' : 'live off'} role="status">
        ${store.connected ? 'live' : 'reconnecting…'}</span>
      <${NotifyToggle} />
      <button class="icon" aria-label="Keyboard shortcuts" onClick=${() => setHelp(true)}>?</button>
      <button class="link" onClick=${async () => { await logout(); location.reload(); }}>Sign out</button>
    </header>
    ${store.error && html`<p class="error" role="alert">${store.error}</p>`}
    ${view.name === 'board' && html`<${Board} store=${store} ui=${ui} setUi=${setUi} />`}
    ${view.name === 'approvals' && html`<${Approvals} store=${store} />`}
    ${view.name === 'search' && html`<${Search} initial=${view.params.get('q')} />`}
    ${view.name === 'usage' && html`<${Usage} />`}
    ${view.name === 'terminals' && html`<${Terminals} open=${view.id} />`}
    ${view.name === 'session' && html`<${SessionPage} key=${view.id + (view.params.get('uuid') ?? '')}
      id=${view.id} uuid=${view.params.get('uuid')} store=${store} />`}
    ${help && html`<${Help} close=${() => setHelp(false)} />`}
  </div>`;
}

function SignIn({ keyless }) {
  return html`<main class="signin">
    <h1>agentd</h1>
    <p>${keyless
      ? "This browser's sign-in lost its key (site data was cleared): sign in again."
      : 'This browser is not signed in to the daemon.'}</p>
    <p>Run <code>agentd web</code> in a terminal and open the link it prints
      (<code>agentd web --open</code> opens it; <code>agentd web --qr</code> shows one for a phone).</p>
  </main>`;
}

async function main() {
  const root = document.getElementById('app');
  let me;
  try {
    me = await signedIn();
  } catch (e) {
    root.textContent = `agentd is not answering: ${e.message}`;
    return;
  }
  // Preact renders beside what is there: the boot message goes first.
  root.replaceChildren();
  if (!me || me.keyless) {
    render(html`<${SignIn} keyless=${!!me?.keyless} />`, root);
    return;
  }
  start();
  render(html`<${App} />`, root);
}

main();
