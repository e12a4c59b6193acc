// Analytics: cohorts, funnel, adoption, stickiness, segments, anomalies, model quality (GET /v1/analytics/…).
import { calibrationPlot, fill, getJson, h, hbars, heatmap, initChrome, liftChart, lineChart, money, number, pct, showError } from './dom.js';

async function cohorts() {
  const c = await getJson('/v1/analytics/cohorts');
  fill('cohort-heatmap', c.cohorts.length ? heatmap(c.cohorts) : h('p', { class: 'muted', text: 'No cohorts yet.' }));
}

async function funnel() {
  const f = await getJson('/v1/analytics/funnel');
  const first = f.steps.length ? f.steps[0].accounts : 1;
  fill('funnel', hbars(f.steps.map((s) => ({ label: s.step, value: s.accounts, text: `${number(s.accounts)} (${pct(s.shareOfFirst)})` })), { max: first, id: 'funnel-bars' }));
}

async function adoption() {
  const a = await getJson('/v1/analytics/adoption');
  fill('adoption-score', `${a.activeAccounts} active accounts; average adoption score ${pct(a.averageAdoptionScore)} of ${a.features.length} features.`);
  fill('adoption', hbars(a.features.map((x) => ({ label: x.feature, value: x.share, text: pct(x.share) })), { max: 1 }));
}

async function stickiness() {
  const s = await getJson('/v1/analytics/stickiness');
  fill('stickiness', lineChart([{ name: 'DAU/MAU', cls: 'score', points: s.points.map((p) => ({ x: p.day.slice(5), y: p.ratio })) }], { yMin: 0, yMax: Math.max(0.1, ...s.points.map((p) => p.ratio)), yFormat: (v) => pct(v) }));
}

async function segments() {
  const s = await getJson('/v1/analytics/segments');
  fill(document.querySelector('#segments tbody'), s.segments.map((x) => h('tr', {},
    h('td', {}, h('strong', { text: x.segment }), h('div', { class: 'muted small', text: x.description })),
    h('td', { class: 'num', text: number(x.accounts) }),
    h('td', { class: 'num', text: money(x.mrr) }),
    h('td', {}, x.examples.map((id) => h('a', { class: 'chip', href: `/dashboard/accounts/${encodeURIComponent(id)}`, text: id }))))));
}

async function anomalies() {
  const a = await getJson('/v1/analytics/anomalies');
  const body = document.querySelector('#anomalies tbody');
  fill(body, a.anomalies.length === 0 ? h('tr', {}, h('td', { colspan: 4, class: 'muted', text: 'No sudden drops last week.' }))
    : a.anomalies.slice(0, 25).map((x) => h('tr', {},
      h('td', {}, h('a', { href: `/dashboard/accounts/${encodeURIComponent(x.accountId)}`, text: x.name || x.accountId })),
      h('td', { class: 'num', text: number(x.lastWeek) }),
      h('td', { class: 'num', text: number(x.baselineWeekly, 1) }),
      h('td', { class: 'num bad', text: pct(x.change) }))));
}

async function models() {
  const q = await getJson('/v1/analytics/model-quality');
  fill('models', q.models.length === 0 ? h('p', { class: 'muted', text: 'No model trained yet.' }) : q.models.map((m) => h('div', { class: 'model', 'data-target': m.target },
    h('h3', { text: `${m.target} model v${m.version} (${m.algorithm})${m.promoted ? '' : ' — not promoted'}` }),
    h('p', { class: 'small', text: `Backtest AUC ${m.backtestRocAuc === null ? '–' : m.backtestRocAuc.toFixed(3)} · PR AUC ${m.backtestPrAuc === null ? '–' : m.backtestPrAuc.toFixed(3)} · top-decile lift ${m.backtestTopDecileLift === null ? '–' : m.backtestTopDecileLift.toFixed(2)}× · ${number(m.backtestRows)} backtest rows` }),
    h('div', { class: 'pair' },
      h('figure', {}, liftChart(m.lift), h('figcaption', { text: 'Lift by decile' })),
      h('figure', {}, calibrationPlot(m.calibration), h('figcaption', { text: 'Calibration' }))))));
}

initChrome();
Promise.allSettled([cohorts(), funnel(), adoption(), stickiness(), segments(), anomalies(), models()]).then((results) => {
  for (const r of results) if (r.status === 'rejected') showError(r.reason);
  document.body.dataset.loaded = 'true';
});
