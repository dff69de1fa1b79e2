// Unit tests of the web UI's pure model (crates/agentd-daemon/web/model.js),
// run by node's own test runner from tests/web_model.rs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  age, cpu, describeApproval, elicitationForm, formContent, groupSessions, lineDiff, matches, mem, needsYou, shownStatus, splitSnippet, titleOf, usd,
} from '../../web/model.js';

const s = (id, status, project, lastEventMs, extra = {}) => ({ id, status, project, lastEventMs, ...extra });

test('needs-you first, grouped by project, urgent groups first', () => {
  const groups = groupSessions([
    s('a', 'idle', '/p/one', 5),
    s('b', 'working', '/p/two', 9),
    s('c', 'needs_approval', '/p/two', 1),
    s('d', 'ended', '/p/one', 10),
    s('e', 'needs_input', '/p/one', 2),
  ]);
  assert.deepEqual(groups.map((g) => g.name), ['two', 'one']);
  assert.deepEqual(groups[0].sessions.map((x) => x.id), ['c', 'b']);
  assert.deepEqual(groups[1].sessions.map((x) => x.id), ['e', 'a', 'd']);
});

test('a failed session needs you', () => {
  const x = s('f', 'idle', '/p', 1, { lastError: 'rate limited' });
  assert.equal(shownStatus(x), 'failed');
  assert.ok(needsYou(x));
  assert.equal(shownStatus({ ...x, status: 'ended' }), 'ended');
});

test('the filter matches every word, anywhere', () => {
  const x = s('abc123', 'working', '/src/api', 1, { gitBranch: 'fix-login', model: 'claude-opus-5-5' });
  assert.ok(matches(x, 'api login'));
  assert.ok(matches(x, 'OPUS'));
  assert.ok(!matches(x, 'api web'));
  assert.ok(matches(x, '   '));
  assert.equal(groupSessions([x], 'nothing-like-it').length, 0);
});

test('titles fall back to the first prompt, then the id', () => {
  assert.equal(titleOf({ id: '0123456789', history: { title: 'Fix it' } }), 'Fix it');
  assert.equal(titleOf({ id: '0123456789', history: { firstPrompt: 'make a file' } }), 'make a file');
  assert.equal(titleOf({ id: '0123456789' }), '01234567');
});

test('line diffs keep common lines', () => {
  assert.deepEqual(lineDiff('a\nb\nc', 'a\nB\nc'), [
    { op: ' ', text: 'a' }, { op: '-', text: 'b' }, { op: '+', text: 'B' }, { op: ' ', text: 'c' },
  ]);
  assert.deepEqual(lineDiff('', 'x'), [{ op: '-', text: '' }, { op: '+', text: 'x' }]);
  const big = Array.from({ length: 500 }, (_, i) => `l${i}`).join('\n');
  assert.equal(lineDiff(big, big).length, 1000, 'past 400 lines: all removed, all added');
});

test('approvals are described by tool', () => {
  assert.deepEqual(describeApproval({ toolName: 'Bash', toolInput: { command: 'ls', description: 'list' } }),
    { kind: 'command', command: 'ls', description: 'list' });
  const edit = describeApproval({ toolName: 'Edit', toolInput: { file_path: '/f', old_string: 'a', new_string: 'b' } });
  assert.equal(edit.kind, 'diff');
  assert.equal(edit.path, '/f');
  const multi = describeApproval({ toolName: 'MultiEdit', toolInput: { file_path: '/f', edits: [{ old_string: 'a', new_string: 'b' }, { old_string: 'c', new_string: 'd' }] } });
  assert.equal(multi.hunks.length, 2);
  const write = describeApproval({ toolName: 'Write', toolInput: { file_path: '/f', content: 'x\ny' } });
  assert.deepEqual(write.hunks[0].map((l) => l.op), ['+', '+']);
  const q = describeApproval({ toolName: 'AskUserQuestion', toolInput: { questions: [{ question: 'Which?' }] } });
  assert.equal(q.questions[0].question, 'Which?');
  assert.equal(describeApproval({ toolName: 'mcp__x', toolInput: { a: 1 } }).kind, 'json');
  // Hostile input is data, never a crash.
  assert.equal(describeApproval({ toolName: 'AskUserQuestion', toolInput: { questions: 'nope' } }).questions.length, 0);
  assert.equal(describeApproval({ toolName: 'Bash', toolInput: null }).command, '');
});

test('ages and costs read at a glance', () => {
  assert.equal(age(0, 59_000), '59s');
  assert.equal(age(0, 61_000), '1m');
  assert.equal(age(0, 7_200_000), '2h');
  assert.equal(age(0, 3 * 86_400_000), '3d');
  assert.equal(age(10, 0), '0s');
  assert.equal(usd(null), '');
  assert.equal(usd(0.004), '<$0.01');
  assert.equal(usd(1.234), '$1.23');
});

test('snippets split at their hit marks, unbalanced marks stay text', () => {
  assert.deepEqual(splitSnippet('a «b» c «d»'), [
    { text: 'a ', hit: false }, { text: 'b', hit: true }, { text: ' c ', hit: false }, { text: 'd', hit: true },
  ]);
  assert.deepEqual(splitSnippet('«x'), [{ text: '«x', hit: false }]);
  assert.deepEqual(splitSnippet(''), []);
  assert.deepEqual(splitSnippet('<b>'), [{ text: '<b>', hit: false }]);
});

test('MCP elicitations become forms, and their values typed content', () => {
  const a = {
    toolName: 'mcp__github', origin: 'elicitation',
    toolInput: { message: 'Which repository?', requested_schema: { type: 'object', required: ['repo'], properties: {
      repo: { type: 'string', title: 'Repository' }, stars: { type: 'integer' }, private: { type: 'boolean' },
      lang: { type: 'string', enum: ['rust', 'go'] } } } },
  };
  const f = describeApproval(a);
  assert.equal(f.kind, 'form');
  assert.equal(f.message, 'Which repository?');
  assert.deepEqual(f.fields.map((x) => [x.name, x.type, x.required]),
    [['repo', 'string', true], ['stars', 'integer', false], ['private', 'boolean', false], ['lang', 'string', false]]);
  assert.deepEqual(f.fields[3].options, ['rust', 'go']);
  assert.deepEqual(formContent(f.fields, { repo: 'agentd', stars: '12', private: true, lang: '' }),
    { repo: 'agentd', stars: 12, private: true });
  assert.deepEqual(elicitationForm({ requested_schema: { properties: 'junk' } }).fields, []);
  assert.deepEqual(elicitationForm(null).fields, []);
});

test('process figures read as the CLI prints them', () => {
  assert.equal(cpu(undefined), '');
  assert.equal(cpu({ cpuPct: 3.4 }), '3%');
  assert.equal(cpu({ cpuPct: 104.6, hotProcess: 'cargo (pid 7)' }), '105%!');
  assert.equal(mem(null), '');
  assert.equal(mem({ rssBytes: 512 * 1024 }), '512K');
  assert.equal(mem({ rssBytes: 312 * 1024 * 1024 }), '312M');
  assert.equal(mem({ rssBytes: 3 * 1024 ** 3 }), '3.0G');
});
