// The live state the views read: sessions and pending approvals, loaded
// once per (re)connection and then kept current by GraphQL subscriptions
// (no polling). Views re-render through `useStore`.

import { useEffect, useState } from './vendor/preact-hooks.js';
import { connect, gql, subscribe } from './api.js';
import { needsYou, newer, shownStatus, titleOf } from './model.js';

const SESSION_FIELDS = `id agent status statusSinceMs cwd project gitBranch model currentTool lastTool
  pendingApprovals contextPct costUsd tmuxPane lastError firstEventMs lastEventMs lastSeq live
  history { title firstPrompt }`;
const PROCESS_FIELDS = 'sessionId process { cpuPct rssBytes processes hotProcess }';
const APPROVAL_FIELDS = `id sessionId agentId toolName toolInput toolUseId permissionSuggestions cwd
  origin status decidedBy reason askedBecause createdAt decidedAt`;

/** How long a decided approval stays on screen, ms (to show who decided). */
const DECIDED_LINGER_MS = 8000;
/** Sessions per page loaded at (re)connection, and most pages. */
const SESSIONS_PAGE = 500;
const MAX_PAGES = 20;

const state = {
  connected: false,
  loaded: false,
  error: null,
  sessions: new Map(),
  approvals: new Map(),
  // Session id → its process figures (CPU %, RSS), replaced at each sample
  // the daemon publishes (they change without events).
  processes: new Map(),
};
const listeners = new Set();
let version = 0;

function changed() {
  version++;
  for (const l of listeners) l(version);
}

/** The state; re-renders the caller when it changes. */
export function useStore() {
  const [, setV] = useState(version);
  useEffect(() => {
    listeners.add(setV);
    return () => listeners.delete(setV);
  }, []);
  return state;
}

function notify(s) {
  // Not every browser has notifications (iOS Safari outside a home-screen app).
  if (!window.Notification || localStorage.getItem('agentd.notify') !== 'on'
    || Notification.permission !== 'granted') return;
  const n = new Notification(`agentd: ${shownStatus(s).replace('_', ' ')}`, {
    body: `${titleOf(s)} — ${s.project ?? s.cwd ?? ''}`,
    tag: s.id,
  });
  n.onclick = () => window.focus();
}

function putSession(s) {
  const old = state.sessions.get(s.id);
  const next = newer(old, s);
  if (old && next !== old && !needsYou(old) && needsYou(next)) notify(next);
  state.sessions.set(s.id, next);
}

function putProcesses(list) {
  state.processes = new Map(list.map((p) => [p.sessionId, p.process]));
}

function putApproval(a) {
  if (a.status === 'pending') {
    state.approvals.set(a.id, a);
  } else if (state.approvals.has(a.id)) {
    state.approvals.set(a.id, a);
    setTimeout(() => {
      if (state.approvals.get(a.id)?.status !== 'pending') {
        state.approvals.delete(a.id);
        changed();
      }
    }, DECIDED_LINGER_MS);
  }
}

async function load() {
  try {
    const data = await gql(`query Board($limit: Int) {
      sessions(history: false, limit: $limit) { nodes { ${SESSION_FIELDS} } nextOffset }
      approvals { ${APPROVAL_FIELDS} }
      processes { ${PROCESS_FIELDS} }
    }`, { limit: SESSIONS_PAGE });
    putProcesses(data.processes);
    for (const s of data.sessions.nodes) putSession(s);
    let next = data.sessions.nextOffset;
    for (let pages = 1; next != null && pages < MAX_PAGES; pages++) {
      const more = await gql(`query More($offset: Int, $limit: Int) {
        sessions(history: false, offset: $offset, limit: $limit) { nodes { ${SESSION_FIELDS} } nextOffset }
      }`, { offset: next, limit: SESSIONS_PAGE });
      for (const s of more.sessions.nodes) putSession(s);
      next = more.sessions.nextOffset;
    }
    const pending = new Set(data.approvals.map((a) => a.id));
    for (const [id, a] of state.approvals) {
      if (a.status === 'pending' && !pending.has(id)) state.approvals.delete(id);
    }
    for (const a of data.approvals) putApproval(a);
    state.loaded = true;
    state.error = null;
  } catch (e) {
    state.error = e.message;
  }
  changed();
}

/** Connects, subscribes, loads; call once. */
export function start() {
  connect((up) => {
    state.connected = up;
    changed();
    // What happened while the socket was down: load again (the
    // subscriptions are live from now on).
    if (up) load();
  });
  subscribe(`subscription { sessions { ${SESSION_FIELDS} } }`, {}, (d) => {
    putSession(d.sessions);
    changed();
  }, (e) => {
    state.error = e;
    changed();
  });
  subscribe(`subscription { approvals { ${APPROVAL_FIELDS} } }`, {}, (d) => {
    putApproval(d.approvals);
    changed();
  });
  subscribe(`subscription { processes { ${PROCESS_FIELDS} } }`, {}, (d) => {
    putProcesses(d.processes);
    changed();
  });
}

/** Reloads everything (the `r` key). */
export const reload = load;

