// Terminals: start Claude Code (or a shell) in a PTY on the daemon's
// machine and use it here with xterm.js. Output streams over a WebSocket
// (/terminals/{id}); a reload or a dropped connection re-attaches and
// replays what was missed, from the offset this page has; several pages
// can watch one terminal, one types at a time.

import { useEffect, useRef, useState } from './vendor/preact-hooks.js';
import { html } from './ui.js';
import { csrfKey, gql } from './api.js';

/** How often the screen acknowledges what it processed, bytes. */
const ACK_EVERY = 64 * 1024;
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
    ${open && html`<${TerminalView} key=${open} id=${open} />`}
  </main>`;
}

/** One terminal, attached. */
function TerminalView({ id }) {
  const box = useRef(null);
  const actions = useRef({});
  const [state, setState] = useState({ status: 'connecting', writer: false, exit: null, lost: 0 });

  useEffect(() => {
    let term;
    let ws;
    let offset = 0;
    let acked = 0;
    let delay = 500;
    let exited = false;
    let stopped = false;
    let retry;
    let fit;
    let sock = null;
    const send = (m) => sock?.readyState === 1 && sock.send(m);
    const enc = new TextEncoder();
    actions.current.take = () => send(JSON.stringify({ type: 'take' }));

    function connect() {
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      ws = new WebSocket(`${scheme}://${location.host}/terminals/${encodeURIComponent(id)}`
        + `?from=${offset}&csrf=${encodeURIComponent(csrfKey())}`);
      sock = ws;
      ws.binaryType = 'arraybuffer';
      ws.onmessage = (m) => {
        if (stopped) return;
        if (typeof m.data !== 'string') {
          const bytes = new Uint8Array(m.data);
          offset += bytes.length;
          const upTo = offset;
          // Flow control: tell the daemon what the screen has processed,
          // every ACK_EVERY bytes; a writer far behind holds the program.
          term.write(bytes, () => {
            if (upTo - acked >= ACK_EVERY) {
              acked = upTo;
              send(JSON.stringify({ type: 'ack', offset: upTo }));
            }
          });
          // How far this page has read (benchmarks and tests read it).
          if (box.current) box.current.dataset.offset = offset;
          return;
        }
        const msg = JSON.parse(m.data);
        if (msg.type === 'hello') {
          delay = 500;
          exited = msg.exit_code != null;
          offset = msg.from;
          acked = msg.from;
          send(JSON.stringify({ type: 'ack', offset: msg.from }));
          setState((s) => ({ ...s, status: 'live', writer: msg.writer, exit: msg.exit_code, lost: msg.lost }));
          if (msg.writer) send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));
        } else if (msg.type === 'writer') {
          setState((s) => ({ ...s, writer: msg.you }));
          if (msg.you) send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));
        } else if (msg.type === 'exit') {
          exited = true;
          setState((s) => ({ ...s, exit: msg.code }));
        } else if (msg.type === 'error') {
          setState((s) => ({ ...s, note: msg.message }));
        }
      };
      ws.onclose = () => {
        if (stopped) return;
        // An exited program says nothing more; otherwise try again, backing
        // off to 10 s (closed elsewhere, revoked: the page stays quiet).
        if (exited) {
          setState((s) => ({ ...s, status: 'ended' }));
          return;
        }
        setState((s) => ({ ...s, status: 'reconnecting' }));
        retry = setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10_000);
      };
    }

    Promise.all([import('./vendor/xterm.js'), import('./vendor/xterm-addon-fit.js')]).then(([x, f]) => {
      if (stopped) return;
      term = new x.Terminal({ cursorBlink: true, fontSize: 14, convertEol: false, scrollback: 5000 });
      fit = new f.FitAddon();
      term.loadAddon(fit);
      term.open(box.current);
      fit.fit();
      term.onData((d) => send(enc.encode(d)));
      term.onResize(({ cols, rows }) => send(JSON.stringify({ type: 'resize', cols, rows })));
      term.focus();
      connect();
    });
    const onResize = () => fit?.fit();
    addEventListener('resize', onResize);
    return () => {
      stopped = true;
      clearTimeout(retry);
      removeEventListener('resize', onResize);
      ws?.close();
      term?.dispose();
    };
  }, [id]);

  return html`<section class="term" aria-label=${`Terminal ${id}`}>
    <div class="term-bar">
      <span class=${state.status === 'live' ? 'live on' : 'live off'} role="status">${state.status}</span>
      ${state.exit != null && html`<span class="bad">exited with ${state.exit}</span>`}
      ${state.lost > 0 && html`<span class="muted">${state.lost} early bytes no longer kept</span>`}
      ${state.note && html`<span class="muted">${state.note}</span>`}
      ${!state.writer && state.exit == null && html`<span class="muted">watching (another page is typing)</span>
        <button onClick=${() => actions.current.take?.()}>Type here</button>`}
    </div>
    <div class="term-screen" ref=${box} data-terminal=${id}></div>
  </section>`;
}
