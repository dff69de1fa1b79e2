// Usage: tokens and cost by day, month, project, model or session, in a
// chosen time zone and date range — charts to read at a glance and the
// table `agentd usage` prints (the same service call, the same rows).

import { useEffect, useRef, useState } from './vendor/preact-hooks.js';
import { html } from './ui.js';
import { gql } from './api.js';
import { usd } from './model.js';

const ROW = `period inputTokens outputTokens cacheCreationTokens cacheReadTokens totalTokens costUsd models unpricedModels`;
const GROUPS = ['DAILY', 'MONTHLY', 'PROJECT', 'MODEL', 'SESSION'];
const n = (x) => x.toLocaleString('en-US');

async function report(groupBy, since, until, timezone) {
  let rows = [];
  let offset = 0;
  let page;
  for (let i = 0; i < 50; i++) {
    page = (await gql(`query U($g: Grouping!, $since: String, $until: String, $tz: String, $offset: Int!) {
      usage(groupBy: $g, since: $since, until: $until, timezone: $tz, offset: $offset) {
        rows { ${ROW} } totals { ${ROW} } timezone nextOffset
      }
    }`, { g: groupBy, since: since || undefined, until: until || undefined, tz: timezone || undefined, offset })).usage;
    rows = rows.concat(page.rows);
    if (page.nextOffset == null) break;
    offset = page.nextOffset;
  }
  return { rows, totals: page.totals, timezone: page.timezone };
}

/** A uPlot chart of `series` over the rows' periods (loaded on first use). */
function Chart({ title, rows, series, stacked }) {
  const el = useRef(null);
  useEffect(() => {
    let plot;
    let gone = false;
    import('./vendor/uplot.js').then(({ default: uPlot }) => {
      if (gone || !el.current || rows.length === 0) return;
      const xs = rows.map((_, i) => i);
      const data = [xs];
      const acc = xs.map(() => 0);
      for (const s of series) {
        const ys = rows.map((r, i) => {
          const v = s.value(r) ?? 0;
          acc[i] += stacked ? v : 0;
          return stacked ? acc[i] : v;
        });
        data.push(ys);
      }
      const bars = uPlot.paths.bars({ size: [0.7, 40] });
      plot = new uPlot({
        title,
        width: Math.min(el.current.clientWidth || 600, 900),
        height: 220,
        // Bars start at zero.
        scales: { x: { time: false }, y: { range: (_, __, max) => [0, max > 0 ? max * 1.05 : 1] } },
        axes: [
          { values: (_, ticks) => ticks.map((t) => rows[t]?.period ?? '') },
          { size: 60 },
        ],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, fill: s.color, paths: bars }))
          .map((s, i, all) => (stacked ? all[all.length - 1 - i] : s))],
      }, stacked ? [xs, ...data.slice(1).reverse()] : data, el.current);
    });
    return () => {
      gone = true;
      plot?.destroy();
    };
  }, [rows, title]);
  return html`<figure class="chart" aria-label=${title} ref=${el}></figure>`;
}

export function Usage() {
  const [groupBy, setGroupBy] = useState('DAILY');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [timezone, setTimezone] = useState(() => Intl.DateTimeFormat().resolvedOptions().timeZone ?? '');
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);

  useEffect(() => {
    setError(null);
    report(groupBy, since, until, timezone).then(setData, (e) => setError(e.message));
  }, [groupBy, since, until, timezone]);

  const rows = data?.rows ?? [];
  const top = groupBy === 'PROJECT' || groupBy === 'SESSION' || groupBy === 'MODEL'
    ? [...rows].sort((a, b) => (b.costUsd ?? 0) - (a.costUsd ?? 0)).slice(0, 15)
    : rows;
  return html`<main class="usage">
    <form class="usage-controls" onSubmit=${(e) => e.preventDefault()}>
      <label>Group by <select value=${groupBy} onChange=${(e) => setGroupBy(e.currentTarget.value)}>
        ${GROUPS.map((g) => html`<option value=${g}>${g.toLowerCase()}</option>`)}</select></label>
      <label>From <input type="date" value=${since} onInput=${(e) => setSince(e.currentTarget.value)} /></label>
      <label>To <input type="date" value=${until} onInput=${(e) => setUntil(e.currentTarget.value)} /></label>
      <label>Time zone <input type="text" aria-label="Time zone" value=${timezone}
        onChange=${(e) => setTimezone(e.currentTarget.value)} /></label>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${data && rows.length === 0 && html`<p class="empty">No usage in this range.</p>`}
    ${rows.length > 0 && html`<div class="charts">
      <${Chart} title="Cost, USD" rows=${top} series=${[{ label: 'cost', color: '#2f6fde', value: (r) => r.costUsd }]} />
      <${Chart} title="Tokens by type" rows=${top} stacked=${true} series=${[
        { label: 'input', color: '#2f6fde', value: (r) => r.inputTokens },
        { label: 'output', color: '#1d7a3e', value: (r) => r.outputTokens },
        { label: 'cache write', color: '#b7791f', value: (r) => r.cacheCreationTokens },
        { label: 'cache read', color: '#8a8f99', value: (r) => r.cacheReadTokens },
      ]} />
    </div>`}
    ${rows.length > 0 && html`<table class="usage-table" data-timezone=${data.timezone}>
      <caption>Tokens and cost, ${groupBy.toLowerCase()} (${data.timezone})</caption>
      <thead><tr><th scope="col">${groupBy === 'DAILY' ? 'Day' : groupBy === 'MONTHLY' ? 'Month' : groupBy.toLowerCase()}</th>
        <th scope="col">Input</th><th scope="col">Output</th><th scope="col">Cache write</th><th scope="col">Cache read</th>
        <th scope="col">Total</th><th scope="col">Cost</th><th scope="col">Models</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr key=${r.period} data-period=${r.period}>
        <td>${r.period}</td><td class="num">${n(r.inputTokens)}</td><td class="num">${n(r.outputTokens)}</td>
        <td class="num">${n(r.cacheCreationTokens)}</td><td class="num">${n(r.cacheReadTokens)}</td>
        <td class="num">${n(r.totalTokens)}</td><td class="num" data-cost=${r.costUsd ?? ''}>${r.costUsd == null ? '?' : usd(r.costUsd)}</td>
        <td>${r.models.join(', ')}</td></tr>`)}</tbody>
      <tfoot><tr><th scope="row">Total</th><td class="num">${n(data.totals.inputTokens)}</td>
        <td class="num">${n(data.totals.outputTokens)}</td><td class="num">${n(data.totals.cacheCreationTokens)}</td>
        <td class="num">${n(data.totals.cacheReadTokens)}</td><td class="num">${n(data.totals.totalTokens)}</td>
        <td class="num">${data.totals.costUsd == null ? '?' : usd(data.totals.costUsd)}</td><td></td></tr></tfoot>
    </table>`}
  </main>`;
}
