// One approval card: what the tool call would do (the command, a diff,
// the questions), and the decisions: approve (as is, edited, or "always"),
// deny with a message, answer. The first decision anywhere wins; a lost
// race shows who won.

import { useState } from './vendor/preact-hooks.js';
import { html } from './ui.js';
import { gql } from './api.js';
import { age, describeApproval, formContent, projectOf, titleOf } from './model.js';

const DECIDE = `mutation Decide($id: String!, $decision: DecisionInput!) {
  decide(id: $id, decision: $decision, by: "web") { id status decidedBy }
}`;

function Diff({ path, hunks }) {
  return html`<div class="diff">
    <div class="path">${path}</div>
    ${hunks.map(
      (lines, i) => html`<pre class="hunk" key=${i}>${lines.map(
        (l) => html`<span class=${l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'ctx'}>${l.op} ${l.text}\n</span>`,
      )}</pre>`,
    )}
  </div>`;
}

function Questions({ questions, answers, setAnswer }) {
  return html`<div class="questions">
    ${questions.map((q, i) => html`<fieldset key=${i}>
      <legend>${q.header ? html`<b>${q.header}</b> ` : ''}${q.question}</legend>
      <div class="options">
        ${(q.options ?? []).map(
          (o) => html`<button type="button" key=${o.label}
            class=${answers[q.question] === o.label ? 'option chosen' : 'option'}
            aria-pressed=${answers[q.question] === o.label}
            title=${o.description ?? ''}
            onClick=${() => setAnswer(q.question, o.label)}>${o.label}</button>`,
        )}
      </div>
      <input type="text" aria-label=${`Other answer to: ${q.question}`} placeholder="Other answer…"
        value=${(q.options ?? []).some((o) => o.label === answers[q.question]) ? '' : (answers[q.question] ?? '')}
        onInput=${(e) => setAnswer(q.question, e.currentTarget.value)} />
    </fieldset>`)}
  </div>`;
}

function Form({ message, fields, values, setValue }) {
  return html`<div class="form">
    <p class="why">${message}</p>
    ${fields.map((f) => html`<label key=${f.name} class="field">
      <span>${f.title}${f.required ? ' *' : ''}</span>
      ${f.type === 'boolean'
        ? html`<input type="checkbox" checked=${values[f.name] === true}
            onChange=${(e) => setValue(f.name, e.currentTarget.checked)} />`
        : f.options
        ? html`<select value=${values[f.name] ?? ''} onChange=${(e) => setValue(f.name, e.currentTarget.value)}>
            <option value="">—</option>${f.options.map((o) => html`<option value=${o}>${o}</option>`)}</select>`
        : html`<input type=${f.type === 'string' ? 'text' : 'number'} value=${values[f.name] ?? ''}
            onInput=${(e) => setValue(f.name, e.currentTarget.value)} />`}
      ${f.description && html`<small class="muted">${f.description}</small>`}
    </label>`)}
  </div>`;
}

/** A pending approval; `session` is its session when known. */
export function ApprovalCard({ approval: a, session, onDecided }) {
  const [message, setMessage] = useState('');
  const [editing, setEditing] = useState(false);
  const [edited, setEdited] = useState(() => JSON.stringify(a.toolInput, null, 2));
  const [answers, setAnswers] = useState({});
  const [values, setValues] = useState({});
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState(null);
  const what = describeApproval(a);
  const suggestions = Array.isArray(a.permissionSuggestions) ? a.permissionSuggestions : [];
  const project = projectOf(session ?? { cwd: a.cwd });

  async function decide(decision) {
    setBusy(true);
    try {
      const r = await gql(DECIDE, { id: a.id, decision });
      setOutcome({ ok: true, text: `${r.decide.status} by ${r.decide.decidedBy ?? 'you'}` });
      onDecided?.(a.id);
    } catch (e) {
      setOutcome({ ok: false, text: e.message });
    } finally {
      setBusy(false);
    }
  }

  function approve(always = false) {
    if (editing) {
      let input;
      try {
        input = JSON.parse(edited);
      } catch (e) {
        setOutcome({ ok: false, text: `The edited input is not JSON: ${e.message}` });
        return;
      }
      decide({ behavior: 'ALLOW', updatedInput: input, always });
    } else {
      decide({ behavior: 'ALLOW', always });
    }
  }

  function answer() {
    decide({ behavior: 'ALLOW', updatedInput: { ...a.toolInput, answers } });
  }

  const label = `${a.toolName} in ${project.name}`;
  return html`<article class="approval" aria-label=${`Approval: ${label}`} data-approval=${a.id}>
    <header>
      <span class="tool">${a.toolName}</span>
      <span class="where" title=${project.dir}>${project.name}</span>
      <span class="session" title=${a.sessionId}>${session ? titleOf(session) : a.sessionId.slice(0, 8)}</span>
      ${a.agentId ? html`<span class="badge">subagent</span>` : ''}
      <span class="age">${age(Date.parse(a.createdAt))}</span>
    </header>
    ${a.askedBecause && html`<p class="asked muted" title="Why agentd asks you">${a.askedBecause}</p>`}
    ${what.kind === 'command' && html`<pre class="command">${what.command}</pre>
      ${what.description ? html`<p class="why">${what.description}</p>` : ''}`}
    ${what.kind === 'diff' && html`<${Diff} path=${what.path} hunks=${what.hunks} />`}
    ${what.kind === 'questions' && html`<${Questions} questions=${what.questions} answers=${answers}
      setAnswer=${(q, v) => setAnswers({ ...answers, [q]: v })} />`}
    ${what.kind === 'form' && html`<${Form} message=${what.message} fields=${what.fields} values=${values}
      setValue=${(k, v) => setValues({ ...values, [k]: v })} />`}
    ${what.kind === 'json' && html`<pre class="json">${what.text}</pre>`}
    ${editing && html`<textarea class="edit" aria-label="Edited tool input (JSON)" rows="6"
      value=${edited} onInput=${(e) => setEdited(e.currentTarget.value)} />`}
    ${a.status !== 'pending' && !outcome
      ? html`<p class="outcome lost" role="status">Already decided: ${a.status.replaceAll('_', ' ')} by ${a.decidedBy ?? 'someone else'}</p>`
      : outcome
      ? html`<p class=${outcome.ok ? 'outcome ok' : 'outcome lost'} role="status">${outcome.text}</p>`
      : html`<div class="actions">
      ${what.kind === 'form'
        ? html`<button class="primary" disabled=${busy}
            onClick=${() => decide({ behavior: 'ANSWER', text: JSON.stringify(formContent(what.fields, values)) })}>Submit</button>`
        : what.kind === 'questions'
        ? html`<button class="primary" disabled=${busy} onClick=${answer}>Answer</button>`
        : html`<button class="primary" disabled=${busy} onClick=${() => approve(false)}>Approve</button>
          ${suggestions.length > 0 && html`<button disabled=${busy} onClick=${() => approve(true)}
            title=${JSON.stringify(suggestions)}>Always allow</button>`}
          <button disabled=${busy} aria-pressed=${editing} onClick=${() => setEditing(!editing)}>Edit</button>`}
      <form class="deny" onSubmit=${(e) => {
        e.preventDefault();
        decide({ behavior: 'DENY', message: message || undefined });
      }}>
        <input type="text" aria-label="Deny message" placeholder="Deny with a message…"
          value=${message} onInput=${(e) => setMessage(e.currentTarget.value)} />
        <button class="danger" disabled=${busy} type="submit">Deny</button>
      </form>
    </div>`}
  </article>`;
}
