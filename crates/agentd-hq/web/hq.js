// agentd HQ in a browser: every runner's sessions and approvals, its
// terminals, and the audit log. Signed in with a user token once (the page
// trades it for a cookie and a CSRF key, and forgets the token); every
// request then carries the cookie and the key. The role decides what the
// buttons do: HQ checks it on every call, the page only hides what would
// be refused.

import { render } from './vendor/preact.js';
import { useEffect, useState } from './vendor/preact-hooks.js';
import { createClient } from './vendor/graphql-ws.js';
import { TerminalView } from './terminal-view.js';
import { html } from './ui.js';

const KEY = 'agentd.hq.csrf';
const RANK = { viewer: 1, approver: 2, operator: 3, admin: 4 };
/** How often the board is refreshed without the live feed, ms. */
const POLL_MS = 1500;
/** How often it is refreshed anyway while the live feed is up, ms. */
const SLOW_POLL_MS = 15_000;
/** Events arriving together refresh the board once, after this long, ms. */
const SETTLE_MS = 120;

const csrf = () => localStorage.getItem(KEY) ?? '';

/** A call to HQ's API; resolves to its JSON, throws with HQ's message. */
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-agentd-csrf': csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let json = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) {
    const err = new Error(json?.error ?? `HTTP ${res.status} from ${path}`);
    err.status = res.status;
    throw err;
  }
  return json;
}

const enc = encodeURIComponent;
const can = (me, role) => RANK[me.role] >= RANK[role];

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function Status({ status }) {
  return html`<span class=${`status s-${status}`}>${status.replace('_', ' ')}</span>`;
}

function SignIn({ onSignedIn }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  async function submit(e) {
    e.preventDefault();
    setError(null);
    try {
      const me = await api('POST', '/hq/login', { token: token.trim() });
      localStorage.setItem(KEY, me.csrf);
      onSignedIn({ user: me.user, role: me.role });
    } catch (err) {
      setError(err.message);
    }
  }
  return html`<form class="signin" onSubmit=${submit}>
    <h1>agentd HQ</h1>
    <label for="token">Your user token (<code>agentd hq token create --user NAME --role ROLE</code>)</label>
    <input id="token" type="password" autocomplete="off" value=${token}
      onInput=${(e) => setToken(e.currentTarget.value)} />
    <button class="primary" type="submit">Sign in</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}

/**
 * Everything the board shows: fetched again whenever any runner's event
 * arrives on HQ's GraphQL subscription (one WebSocket, signed in by the
 * cookie and the CSRF key, reconnecting by itself), and polled slowly as
 * well — quickly while the feed is down.
 */
function useFleet(onSignedOut) {
  const [fleet, setFleet] = useState({ sessions: [], approvals: [], runners: [], loaded: false, error: null, live: false });
  useEffect(() => {
    let stopped = false;
    let timer;
    let settling = null;
    let live = false;
    async function load() {
      clearTimeout(timer);
      try {
        const [sessions, approvals, runners] = await Promise.all([
          api('GET', '/hq/v1/sessions'), api('GET', '/hq/v1/approvals'), api('GET', '/hq/v1/runners')]);
        if (!stopped) setFleet((f) => ({ ...f, sessions, approvals, runners, loaded: true, error: null }));
      } catch (err) {
        if (err.status === 401) return onSignedOut();
        if (!stopped) setFleet((f) => ({ ...f, error: err.message }));
      }
      if (!stopped) timer = setTimeout(load, live ? SLOW_POLL_MS : POLL_MS);
    }
    const soon = () => {
      if (settling || stopped) return;
      settling = setTimeout(() => { settling = null; load(); }, SETTLE_MS);
    };
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const client = createClient({
      url: `${scheme}://${location.host}/hq/graphql`,
      connectionParams: () => ({ csrf: csrf() }),
      lazy: false,
      keepAlive: 10_000,
      retryAttempts: Infinity,
      shouldRetry: () => true,
      on: {
        connected: () => { live = true; setFleet((f) => ({ ...f, live: true })); soon(); },
        closed: () => { live = false; if (!stopped) setFleet((f) => ({ ...f, live: false })); },
      },
    });
    const unsubscribe = client.subscribe(
      { query: 'subscription { events { runner } }' },
      { next: soon, error: () => {}, complete: () => {} },
    );
    load();
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(settling);
      unsubscribe();
      client.dispose();
    };
  }, []);
  return fleet;
}

function Board({ me, fleet }) {
  const sessions = [...fleet.sessions].sort((a, b) => b.session.last_event_ms - a.session.last_event_ms);
  return html`<section>
    ${can(me, 'operator') && html`<${Launch} runners=${fleet.runners} />`}
    <h2>Sessions <span class="muted">(${sessions.length}, every runner)</span></h2>
    ${sessions.length === 0 ? html`<p class="empty">No sessions yet.</p>` : html`<table class="hq-table" aria-label="Sessions">
      <thead><tr><th>Runner</th><th>Status</th><th>Project</th><th>Model</th><th>Tool</th><th>Cost</th><th>Last event</th><th>Session</th></tr></thead>
      <tbody>${sessions.map(({ runner, session: s }) => html`<tr key=${`${runner}/${s.id}`} data-session=${s.id}>
        <td>${runner}</td>
        <td><${Status} status=${s.status} /></td>
        <td>${s.project ?? s.cwd ?? '-'}${s.git_branch ? html` <span class="muted">${s.git_branch}</span>` : ''}</td>
        <td>${s.model ?? '-'}</td>
        <td>${s.current_tool ?? s.last_tool ?? '-'}</td>
        <td>${s.cost_usd != null ? `$${Number(s.cost_usd).toFixed(2)}` : '-'}</td>
        <td>${ago(s.last_event_ms)} ago</td>
        <td class="mono">${s.id.slice(0, 8)}</td>
      </tr>`)}</tbody></table>`}
  </section>`;
}

function Launch({ runners }) {
  const online = runners.filter((r) => r.online);
  const [runner, setRunner] = useState('');
  const [cwd, setCwd] = useState('');
  const [prompt, setPrompt] = useState('');
  const [note, setNote] = useState(null);
  async function submit(e) {
    e.preventDefault();
    setNote(null);
    const name = runner || online[0]?.name;
    try {
      const l = await api('POST', `/hq/v1/runners/${enc(name)}/launch`, { prompt, cwd: cwd || undefined });
      setNote(`Started session ${l.launched.session_id} on ${l.runner}.`);
      setPrompt('');
    } catch (err) {
      setNote(err.message);
    }
  }
  if (online.length === 0) return null;
  return html`<form class="row-form" onSubmit=${submit} aria-label="New session">
    <label>New session on <select value=${runner || online[0]?.name} onChange=${(e) => setRunner(e.currentTarget.value)}>
      ${online.map((r) => html`<option value=${r.name}>${r.name}</option>`)}</select></label>
    <label>in <input type="text" placeholder="/path/to/project" value=${cwd} onInput=${(e) => setCwd(e.currentTarget.value)} /></label>
    <label>prompt <input type="text" required value=${prompt} onInput=${(e) => setPrompt(e.currentTarget.value)} /></label>
    <button class="primary" type="submit">Launch Claude Code</button>
    ${note && html`<span class="muted" role="status">${note}</span>`}
  </form>`;
}

function Approvals({ me, fleet }) {
  const [errors, setErrors] = useState({});
  async function decide(id, behavior) {
    try {
      const decision = behavior === 'allow' ? { behavior } : { behavior, message: 'Denied at HQ' };
      await api('POST', `/hq/v1/approvals/${enc(id)}/decision`, { decision });
    } catch (err) {
      setErrors((e) => ({ ...e, [id]: err.message }));
    }
  }
  if (fleet.approvals.length === 0) return html`<p class="empty">Nothing waits for a decision.</p>`;
  return html`<section aria-label="Approvals">${fleet.approvals.map(({ runner, approval: a }) => html`
    <article class="approval" key=${a.id} data-approval=${a.id}>
      <div><strong>${a.tool_name}</strong> <span class="muted">on ${runner} · session ${a.session_id.slice(0, 8)} · ${ago(a.created_ms)} ago</span></div>
      <pre>${JSON.stringify(a.tool_input, null, 2)}</pre>
      ${can(me, 'approver') ? html`<div class="actions">
        <button class="primary" onClick=${() => decide(a.id, 'allow')} aria-label=${`Allow ${a.id}`}>Allow</button>
        <button class="danger" onClick=${() => decide(a.id, 'deny')} aria-label=${`Deny ${a.id}`}>Deny</button>
      </div>` : html`<p class="muted">Your role (${me.role}) cannot decide.</p>`}
      ${errors[a.id] && html`<p class="error" role="alert">${errors[a.id]}</p>`}
    </article>`)}</section>`;
}

function Runners({ fleet }) {
  return html`<table class="hq-table" aria-label="Runners">
    <thead><tr><th>Runner</th><th>Link</th><th>Version</th><th>OS</th><th>Labels</th><th>Sessions</th><th>Events</th><th>Last seen</th></tr></thead>
    <tbody>${fleet.runners.map((r) => html`<tr key=${r.name}>
      <td>${r.name}</td><td>${r.online ? html`<span class="live on">online</span>` : html`<span class="live off">offline</span>`}</td>
      <td>${r.version ?? '-'}</td><td>${r.os ?? '-'}</td><td>${r.labels.join(', ')}</td>
      <td>${r.sessions}</td><td>${r.events}</td><td>${r.last_seen_ms ? `${ago(r.last_seen_ms)} ago` : '-'}</td>
    </tr>`)}</tbody></table>`;
}

const tokens = (n) => n.toLocaleString('en-US');
const usd = (c) => (c == null ? '-' : `$${c.toFixed(2)}`);

/** Every runner's token usage and cost, added up by day (or month, model,
 *  project), as each runner's own index reports it. */
function Usage() {
  const [by, setBy] = useState('daily');
  const [report, setReport] = useState(null);
  useEffect(() => {
    setReport(null);
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    api('GET', `/hq/v1/usage?group_by=${by}&timezone=${enc(tz)}`).then(setReport, (e) => setReport({ error: e.message }));
  }, [by]);
  const heading = { daily: 'Day', monthly: 'Month', model: 'Model', project: 'Project', session: 'Session' }[by];
  return html`<section aria-label="Usage">
    <div class="row-form"><label>By <select aria-label="Group by" value=${by} onChange=${(e) => setBy(e.currentTarget.value)}>
      ${['daily', 'monthly', 'model', 'project', 'session'].map((g) => html`<option value=${g}>${g}</option>`)}</select></label></div>
    ${!report ? html`<p class="muted">Asking the runners…</p>` : report.error ? html`<p class="error" role="alert">${report.error}</p>` : html`
      <table class="hq-table" aria-label="Usage by ${by}">
        <thead><tr><th>${heading}</th><th>Input</th><th>Output</th><th>Cache write</th><th>Cache read</th><th>Total tokens</th><th>Cost</th></tr></thead>
        <tbody>${[...report.rows, report.totals].map((r) => html`<tr key=${r.period} class=${r === report.totals ? 'total' : ''}>
          <td>${r === report.totals ? html`<strong>Total</strong>` : r.period}</td><td>${tokens(r.input_tokens)}</td><td>${tokens(r.output_tokens)}</td>
          <td>${tokens(r.cache_creation_tokens)}</td><td>${tokens(r.cache_read_tokens)}</td><td>${tokens(r.total_tokens)}</td>
          <td>${usd(r.cost_usd)}${r.unpriced_models.length ? html` <span class="muted">(no price: ${r.unpriced_models.join(', ')})</span>` : ''}</td>
        </tr>`)}</tbody></table>
      <h2>Runners</h2>
      <ul>${report.runners.map((r) => html`<li key=${r.runner}>${r.runner}: ${r.totals
        ? `${tokens(r.totals.total_tokens)} tokens, ${usd(r.totals.cost_usd)}`
        : html`<span class="bad">not counted — ${r.error}</span>`}</li>`)}</ul>`}
  </section>`;
}

function Audit() {
  const [log, setLog] = useState(null);
  useEffect(() => { api('GET', '/hq/v1/audit').then(setLog, (e) => setLog({ error: e.message })); }, []);
  if (!log) return html`<p class="muted">Loading…</p>`;
  if (log.error) return html`<p class="error" role="alert">${log.error}</p>`;
  return html`<table class="hq-table" aria-label="Audit">
    <thead><tr><th>When</th><th>User</th><th>Action</th><th>Runner</th><th>Target</th><th>Outcome</th><th>From</th></tr></thead>
    <tbody>${log.map((e, i) => html`<tr key=${i}><td>${new Date(e.ts_ms).toLocaleString()}</td><td>${e.user}</td>
      <td>${e.action}</td><td>${e.runner}</td><td class="mono">${e.target}</td><td>${e.outcome}</td><td>${e.peer ?? '-'}</td></tr>`)}</tbody></table>`;
}

function Terminals({ me, fleet, open }) {
  const online = fleet.runners.filter((r) => r.online).map((r) => r.name);
  const [list, setList] = useState([]);
  const [runner, setRunner] = useState('');
  const [kind, setKind] = useState('shell');
  const [cwd, setCwd] = useState('');
  const [error, setError] = useState(null);
  const names = online.join(' ');
  async function load() {
    const all = await Promise.all(online.map((r) => api('GET', `/hq/v1/runners/${enc(r)}/terminals`).catch(() => [])));
    setList(all.flat());
  }
  useEffect(() => { load(); }, [names, open?.id]);
  async function start(e) {
    e.preventDefault();
    setError(null);
    try {
      const t = await api('POST', `/hq/v1/runners/${enc(runner || online[0])}/terminals`, { kind, cwd: cwd || undefined });
      location.hash = `#/terminals/${enc(t.runner)}/${enc(t.terminal.id)}`;
    } catch (err) {
      setError(err.message);
    }
  }
  async function close(r, id) {
    try {
      await api('DELETE', `/hq/v1/runners/${enc(r)}/terminals/${enc(id)}`);
      if (open?.id === id) location.hash = '#/terminals';
      load();
    } catch (err) {
      setError(err.message);
    }
  }
  const operator = can(me, 'operator');
  return html`<section class="terminals">
    ${operator && online.length > 0 && html`<form class="row-form" onSubmit=${start} aria-label="Start a terminal">
      <label>On <select aria-label="Runner" value=${runner || online[0]} onChange=${(e) => setRunner(e.currentTarget.value)}>
        ${online.map((r) => html`<option value=${r}>${r}</option>`)}</select></label>
      <label>run <select aria-label="Kind" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
        <option value="shell">a shell</option><option value="claude">claude</option></select></label>
      <label>in <input type="text" aria-label="Directory" placeholder="/path/to/project (default: home)"
        value=${cwd} onInput=${(e) => setCwd(e.currentTarget.value)} /></label>
      <button class="primary" type="submit">Start terminal</button>
    </form>`}
    ${!operator && html`<p class="muted">Terminals need the operator role; yours is ${me.role}.</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <ul class="term-list">${list.map(({ runner: r, terminal: t }) => html`<li key=${`${r}/${t.id}`}>
      <a href=${`#/terminals/${enc(r)}/${enc(t.id)}`}>${r} · ${t.kind} · ${t.cwd}</a>
      <span class="muted"> pid ${t.pid}${t.exit_code != null ? ` · exited ${t.exit_code}` : ''}</span>
      ${operator && html`<button class="danger" onClick=${() => close(r, t.id)} aria-label=${`Close terminal ${t.id}`}>Close</button>`}
    </li>`)}</ul>
    ${open && operator && html`<${TerminalView} key=${`${open.runner}/${open.id}`} id=${open.id}
      label=${`Terminal ${open.id} on ${open.runner}`}
      url=${(from) => {
        const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
        return `${scheme}://${location.host}/hq/v1/runners/${enc(open.runner)}/terminals/${enc(open.id)}/attach`
          + `?from=${from}&csrf=${enc(csrf())}`;
      }} />`}
  </section>`;
}

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const page = parts[0] || 'board';
  const open = page === 'terminals' && parts[2] ? { runner: parts[1], id: parts[2] } : null;
  return { page, open };
}

function Signed({ me, onSignedOut }) {
  const fleet = useFleet(onSignedOut);
  const [where, setWhere] = useState(route());
  useEffect(() => {
    const on = () => setWhere(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const needs = fleet.approvals.length;
  useEffect(() => { document.title = needs ? `(${needs}) agentd HQ` : 'agentd HQ'; }, [needs]);
  const link = (page, label) => html`<a href=${`#/${page}`} aria-current=${where.page === page ? 'page' : undefined}>${label}</a>`;
  async function signOut() {
    await api('POST', '/hq/logout').catch(() => {});
    localStorage.removeItem(KEY);
    onSignedOut();
  }
  const pages = {
    board: () => html`<${Board} me=${me} fleet=${fleet} />`,
    approvals: () => html`<${Approvals} me=${me} fleet=${fleet} />`,
    runners: () => html`<${Runners} fleet=${fleet} />`,
    terminals: () => html`<${Terminals} me=${me} fleet=${fleet} open=${where.open} />`,
    usage: () => html`<${Usage} />`,
    audit: () => html`<${Audit} />`,
  };
  return html`<header class="top">
      <h1>agentd HQ</h1>
      <nav>${link('board', 'Board')} ${link('approvals', html`Approvals ${needs ? html`<span class="badge needs">${needs}</span>` : ''}`)}
        ${link('runners', 'Runners')} ${link('terminals', 'Terminals')} ${link('usage', 'Usage')} ${link('audit', 'Audit')}</nav>
      <span class=${fleet.live ? 'live on' : 'live off'} title="HQ's live feed">${fleet.live ? 'live' : 'reconnecting'}</span>
      <span class="muted">${me.user} (${me.role})</span>
      <button class="link" onClick=${signOut}>Sign out</button>
    </header>
    ${fleet.error && html`<p class="error" role="alert">${fleet.error}</p>`}
    <main class="hq-main">${(pages[where.page] ?? pages.board)()}</main>`;
}

function App() {
  const [me, setMe] = useState(undefined);
  useEffect(() => {
    api('GET', '/hq/session').then((s) => setMe({ user: s.user, role: s.role }), () => setMe(null));
  }, []);
  if (me === undefined) return html`<p class="boot">Loading agentd HQ…</p>`;
  if (me === null) return html`<${SignIn} onSignedIn=${setMe} />`;
  return html`<${Signed} me=${me} onSignedOut=${() => setMe(null)} />`;
}

render(html`<${App} />`, document.getElementById('app'));
