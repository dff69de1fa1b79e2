// Terminals: start Claude Code (or a shell) in a PTY on the daemon's
// machine and use it here with xterm.js. Output streams over a WebSocket
// (/terminals/{id}); a reload or a dropped connection re-attaches and
// replays what was missed, from the offset this page has; several pages
// can watch one terminal, one types at a time.

import { useEffect, useState } from './vendor/preact-hooks.js';
import { html } from './ui.js';
import { csrfKey, gql } from './api.js';
import { TerminalView } from './terminal-view.js';

const FIELDS = 'id kind program cwd pid cols rows startedMs outputBytes exitCode';

/** The list, and the form that starts one. */
export function Terminals({ open }) {
  const [list, setList] = useState([]);
  const [kind, setKind] = useState('claude');
  const [cwd, setCwd] = useState('');
  const [error, setError] = useState(null);

  const load = () => gql(`{ terminals { ${FIELDS} } }`).then((d) => setList(d.terminals), (e) => setError(e.message));
  useEffect(() => { load(); }, [open]);

  async function start(e) {
    e.preventDefault();
    setError(null);
    try {
      const d = await gql(`mutation($kind: String, $cwd: String) { startTerminal(kind: $kind, cwd: $cwd) { ${FIELDS} } }`,
        { kind, cwd: cwd || undefined });
      location.hash = `#/terminals/${d.startTerminal.id}`;
    } catch (err) {
      setError(err.message);
    }
  }

  async function close(id) {
    try {
      await gql('mutation($id: String!) { closeTerminal(id: $id) { id exitCode } }', { id });
      if (open === id) location.hash = '#/terminals';
      load();
    } catch (err) {
      setError(err.message);
    }
  }

  return html`<main class="terminals">
    <form class="term-start" onSubmit=${start}>
      <label>Run <select value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}>
        <option value="claude">claude</option><option value="shell">a shell</option></select></label>
      <label>in <input type="text" aria-label="Directory" placeholder="/path/to/project (default: home)"
        value=${cwd} onInput=${(e) => setCwd(e.currentTarget.value)} /></label>
      <button class="primary" type="submit">Start terminal</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <ul class="term-list">${list.map((t) => html`<li key=${t.id} class=${t.id === open ? 'open' : ''}>
      <a href=${`#/terminals/${t.id}`}>${t.kind} · ${t.cwd}</a>
      <span class="muted">pid ${t.pid}${t.exitCode != null ? ` · exited ${t.exitCode}` : ''}</span>
      <button class="danger" onClick=${() => close(t.id)} aria-label=${`Close terminal ${t.id}`}>Close</button>
    </li>`)}</ul>
    ${open && html`<${TerminalView} key=${open} id=${open} label=${`Terminal ${open}`} url=${(from) => {
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      return `${scheme}://${location.host}/terminals/${encodeURIComponent(open)}?from=${from}&csrf=${encodeURIComponent(csrfKey())}`;
    }} />`}
  </main>`;
}
