// The daemon's API as the page uses it: who is signed in, GraphQL queries
// and mutations over POST /graphql (with the CSRF token), and
// subscriptions over one graphql-transport-ws WebSocket (graphql-ws).
// The browser's session cookie authenticates both; the page never holds
// the daemon's bearer token.

import { createClient } from './vendor/graphql-ws.js';

let csrf = null;

/** Who is signed in: `{signed_in, id, csrf}`, or null when this browser is not. */
export async function signedIn() {
  const res = await fetch('/api/session', { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`GET /api/session: HTTP ${res.status}`);
  const me = await res.json();
  if (!me.signed_in) return null;
  csrf = me.csrf;
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
    headers: { 'content-type': 'application/json', 'x-agentd-csrf': csrf ?? '' },
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
    headers: { 'x-agentd-csrf': csrf ?? '' },
  });
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
