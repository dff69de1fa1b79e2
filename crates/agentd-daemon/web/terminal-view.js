// One terminal in xterm.js over a WebSocket in agentd's terminal protocol
// (agentd_daemon::terminal_stream): the daemon's own web UI and HQ's page
// (a runner's terminal through HQ) both show terminals with it. A reload
// or a dropped connection attaches again from the offset this screen has
// and gets exactly what it missed; several pages can watch one terminal,
// one types at a time.

import { useEffect, useRef, useState } from './vendor/preact-hooks.js';
import { html } from './ui.js';

/** How often the screen acknowledges what it processed, bytes. */
const ACK_EVERY = 64 * 1024;
/** How long attaching keeps being tried without a hello, ms. */
const GIVE_UP_MS = 120_000;

/**
 * Terminal `id`, attached. `url(from)` is the WebSocket URL that attaches
 * from output offset `from` (with whatever signs the page in); `label`
 * names the terminal for assistive technology.
 */
export function TerminalView({ id, url, label }) {
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
    // Since when attaching has failed without a hello (the server
    // restarting, a runner relinking); past GIVE_UP_MS the page stops.
    let failingSince = null;
    const send = (m) => sock?.readyState === 1 && sock.send(m);
    const enc = new TextEncoder();
    actions.current.take = () => send(JSON.stringify({ type: 'take' }));

    function connect() {
      ws = new WebSocket(url(offset));
      sock = ws;
      ws.binaryType = 'arraybuffer';
      ws.onmessage = (m) => {
        if (stopped) return;
        if (typeof m.data !== 'string') {
          const bytes = new Uint8Array(m.data);
          offset += bytes.length;
          const upTo = offset;
          // Flow control: tell the server what the screen has processed,
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
          failingSince = null;
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
        // off to 10 s — but not for ever (a closed terminal, a revoked
        // sign-in or an offline runner refuses every attempt).
        if (exited) {
          setState((s) => ({ ...s, status: 'ended' }));
          return;
        }
        failingSince ??= Date.now();
        if (Date.now() - failingSince > GIVE_UP_MS) {
          setState((s) => ({ ...s, status: 'gone', note: 'could not attach for 2 minutes: the terminal may be closed, or its runner offline' }));
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

  return html`<section class="term" aria-label=${label}>
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
