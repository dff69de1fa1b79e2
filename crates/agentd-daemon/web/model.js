// What the board shows, computed from the API's sessions and approvals:
// pure functions (no DOM, no network), tested by model.test.js under node.

/** Where a status sorts: needs-you first, then working, idle, ended. */
export const STATUS_RANK = {
  needs_approval: 0,
  needs_input: 1,
  failed: 2,
  starting: 3,
  working: 3,
  idle: 4,
  ended: 5,
};

/** The status the board shows: `failed` for a live session whose last event was an error. */
export function shownStatus(s) {
  if (s.status !== 'ended' && s.lastError && s.status === 'idle') return 'failed';
  return s.status;
}

/** Whether a session is waiting for a human. */
export function needsYou(s) {
  return STATUS_RANK[shownStatus(s)] <= 2;
}

/** The session's project, as a short name and the full directory. */
export function projectOf(s) {
  const dir = s.project || s.cwd || '';
  const name = dir.replace(/\/+$/, '').split('/').pop() || '(no project)';
  return { name, dir };
}

/** What to call a session: its title, first prompt, else its id's start. */
export function titleOf(s) {
  const t = s.history?.title || s.history?.firstPrompt || '';
  return t.trim() || s.id.slice(0, 8);
}

/** Whether `s` matches every word of the filter text (case-insensitive). */
export function matches(s, text) {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return true;
  const hay = [
    s.id, s.project, s.cwd, titleOf(s), s.gitBranch, s.agent, s.model, shownStatus(s),
    s.currentTool, s.lastTool, s.tmuxPane,
  ].filter(Boolean).join(' ').toLowerCase();
  return words.every((w) => hay.includes(w));
}

/**
 * Sessions grouped by project: groups with the most urgent session first
 * (then the most recent), sessions in a group by urgency then recency.
 * Returns `[{name, dir, sessions}]`.
 */
export function groupSessions(sessions, filter = '') {
  const groups = new Map();
  for (const s of sessions) {
    if (!matches(s, filter)) continue;
    const { name, dir } = projectOf(s);
    if (!groups.has(dir)) groups.set(dir, { name, dir, sessions: [] });
    groups.get(dir).sessions.push(s);
  }
  const byUrgency = (a, b) =>
    STATUS_RANK[shownStatus(a)] - STATUS_RANK[shownStatus(b)] || b.lastEventMs - a.lastEventMs;
  const list = [...groups.values()];
  for (const g of list) g.sessions.sort(byUrgency);
  list.sort((a, b) => byUrgency(a.sessions[0], b.sessions[0]) || a.name.localeCompare(b.name));
  return list;
}

/** `12s`, `4m`, `3h`, `2d` since `ms`. */
export function age(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** `$1.23` (USD), or an empty string when unknown. */
export function usd(x) {
  if (x == null) return '';
  return x < 0.01 && x > 0 ? '<$0.01' : `$${x.toFixed(2)}`;
}

/** CPU as the CLI shows it: `12%`, `104%!` when a tool is flagged busy. */
export function cpu(p) {
  if (!p) return '';
  return `${Math.round(p.cpuPct)}%${p.hotProcess ? '!' : ''}`;
}

/** Resident memory as the CLI shows it: `1.2G`, `310M`, `64K`. */
export function mem(p) {
  if (!p) return '';
  const k = 1024;
  const n = p.rssBytes;
  if (n >= k * k * k) return `${(n / (k * k * k)).toFixed(1)}G`;
  if (n >= k * k) return `${Math.floor(n / (k * k))}M`;
  return `${Math.floor(n / k)}K`;
}

/**
 * A line diff of `before` → `after` (an Edit's old_string and new_string):
 * `[{op: ' '|'-'|'+', text}]`, common lines kept, by longest common
 * subsequence (inputs past 400 lines each are shown as all removed, all
 * added).
 */
export function lineDiff(before = '', after = '') {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length > 400 || b.length > 400) {
    return [...a.map((text) => ({ op: '-', text })), ...b.map((text) => ({ op: '+', text }))];
  }
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push({ op: '-', text: a[i++] });
    } else {
      out.push({ op: '+', text: b[j++] });
    }
  }
  while (i < n) out.push({ op: '-', text: a[i++] });
  while (j < m) out.push({ op: '+', text: b[j++] });
  return out;
}

/**
 * What an approval asks to do, for display: `{kind, ...}` where kind is
 * `command` (Bash), `diff` (Edit, MultiEdit, Write: `{path, hunks}`),
 * `questions` (AskUserQuestion), `form` (an MCP server's elicitation) or
 * `json` (anything else).
 */
export function describeApproval(a) {
  const input = a.toolInput ?? {};
  if (a.origin === 'elicitation') return elicitationForm(input);
  switch (a.toolName) {
    case 'Bash':
      return { kind: 'command', command: String(input.command ?? ''), description: input.description };
    case 'Edit':
      return { kind: 'diff', path: input.file_path, hunks: [lineDiff(input.old_string, input.new_string)] };
    case 'MultiEdit':
      return {
        kind: 'diff',
        path: input.file_path,
        hunks: (input.edits ?? []).map((e) => lineDiff(e.old_string, e.new_string)),
      };
    case 'Write':
      return {
        kind: 'diff',
        path: input.file_path,
        hunks: [String(input.content ?? '').split('\n').map((text) => ({ op: '+', text }))],
      };
    case 'AskUserQuestion':
      return { kind: 'questions', questions: Array.isArray(input.questions) ? input.questions : [] };
    default:
      return { kind: 'json', text: JSON.stringify(input, null, 2) };
  }
}

/** Keeps the newer of two views of a session (by `lastSeq`). */
export function newer(old, fresh) {
  if (!old) return fresh;
  return (fresh.lastSeq ?? 0) >= (old.lastSeq ?? 0) ? { ...old, ...fresh } : old;
}

/** A search snippet's text split at its `«…»` hit marks: `[{text, hit}]`. */
export function splitSnippet(text = '') {
  const out = [];
  let rest = text;
  while (rest) {
    const open = rest.indexOf('«');
    const close = open < 0 ? -1 : rest.indexOf('»', open + 1);
    if (open < 0 || close < 0) {
      out.push({ text: rest, hit: false });
      break;
    }
    if (open > 0) out.push({ text: rest.slice(0, open), hit: false });
    out.push({ text: rest.slice(open + 1, close), hit: true });
    rest = rest.slice(close + 1);
  }
  return out;
}

/**
 * An MCP elicitation's form: its message and one field per property of
 * its `requested_schema` (`{name, type: string|number|integer|boolean,
 * options?, title, description, required}`).
 */
export function elicitationForm(input) {
  const schema = input?.requested_schema ?? {};
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const props = schema.properties && typeof schema.properties === 'object' ? schema.properties : {};
  const fields = Object.entries(props).map(([name, p]) => ({
    name,
    type: ['number', 'integer', 'boolean'].includes(p?.type) ? p.type : 'string',
    options: Array.isArray(p?.enum) ? p.enum.map(String) : null,
    title: typeof p?.title === 'string' ? p.title : name,
    description: typeof p?.description === 'string' ? p.description : '',
    required: required.has(name),
  }));
  return { kind: 'form', message: String(input?.message ?? ''), fields };
}

/** A form's values as the elicitation's content (numbers as numbers). */
export function formContent(fields, values) {
  const out = {};
  for (const f of fields) {
    const v = values[f.name];
    if (v === undefined || v === '') continue;
    if (f.type === 'boolean') out[f.name] = v === true || v === 'true';
    else if (f.type === 'number' || f.type === 'integer') out[f.name] = Number(v);
    else out[f.name] = String(v);
  }
  return out;
}
