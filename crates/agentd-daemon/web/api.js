// The daemon's API as the page uses it: who is signed in, GraphQL queries
// and mutations over POST /graphql (with the CSRF token), and
// subscriptions over one graphql-transport-ws WebSocket (graphql-ws).
// The browser's session cookie and the CSRF key authenticate all of them;
// the page never holds the daemon's bearer token.
//
// The key arrives once, in the fragment of the sign-in redirect
// (`/#csrf=…`), and is kept in this origin's localStorage: other local
// servers may see the cookie (cookies ignore ports), never the key.

import { createClient } from './vendor/graphql-ws.js';

const KEY = 'agentd.csrf';

// Take the key out of the address bar before anything else runs.
if (location.hash.startsWith('#csrf=')) {
  localStorage.setItem(KEY, decodeURIComponent(location.hash.slice('#csrf='.length)));
  history.replaceState(null, '', location.pathname);
}

/** The CSRF key of this browser's sign-in, if it has one. */
export function csrfKey() {
  return localStorage.getItem(KEY) ?? '';
}

/**
 * Who is signed in: `{signed_in, id}`, `{keyless: true}` when the cookie is
 * there but the key is not (storage cleared), or null when not signed in.
 */
export async function signedIn() {
  const res = await fetch('/api/session', { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`GET /api/session: HTTP ${res.status}`);
  const me = await res.json();
  if (!me.signed_in) return null;
  if (!csrfKey()) return { keyless: true };
  return me;
}

/** A GraphQL error, with the daemon's `code` (`CONFLICT`, `NOT_FOUND`, …). */
export class GraphQLError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** Runs a query or mutation; resolves to `data`, throws GraphQLError. */
export async function gql(query, variables = {}) {
  const res = await fetch('/graphql', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-agentd-csrf': csrfKey() },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new GraphQLError(`HTTP ${res.status} from /graphql`, 'HTTP');
  }
  if (body.errors?.length) {
    const e = body.errors[0];
    throw new GraphQLError(e.message, e.extensions?.code ?? 'ERROR');
  }
  if (!res.ok) throw new GraphQLError(body.error ?? `HTTP ${res.status}`, 'HTTP');
  return body.data;
}

/** Signs this browser out. */
export async function logout() {
  await fetch('/logout', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'x-agentd-csrf': csrfKey() },
  });
  localStorage.removeItem(KEY);
}

let client = null;

/**
 * The one subscription client. `onState(connected: boolean)` hears when the
 * socket comes and goes; it reconnects by itself, for ever, with backoff.
 */
export function connect(onState) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  client = createClient({
    url: `${scheme}://${location.host}/graphql`,
    connectionParams: () => ({ csrf: csrfKey() }),
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Infinity,
    shouldRetry: () => true,
    on: {
      connected: () => onState(true),
      closed: () => onState(false),
    },
  });
  return client;
}

/** Subscribes; `next(data)` per result. Returns the unsubscribe function. */
export function subscribe(query, variables, next, error = console.warn) {
  return client.subscribe(
    { query, variables },
    {
      next: (r) => (r.errors?.length ? error(r.errors[0].message) : next(r.data)),
      error: (e) => error(e?.message ?? String(e)),
      complete: () => {},
    },
  );
}
