// Account page: score history, drivers, usage by category, active users vs seats, billing, alert history.
import { bandBadge, fill, getJson, h, initChrome, lineChart, money, number, ownerName, pct, showError, stackedBars } from './dom.js';

const id = decodeURIComponent(location.pathname.split('/').pop());
const base = `/v1/accounts/${encodeURIComponent(id)}`;

function fact(label, value) {
  return h('div', { class: 'fact' }, h('span', { class: 'fact-label', text: label }), h('span', { class: 'fact-value' }, value));
}

// For the expansion model "raises" means more likely to expand: the same arrow, the opposite colour.
function drivers(list, target, what = 'risk') {
  fill(target, (list || []).length === 0 ? h('li', { class: 'muted', text: 'No drivers.' }) : list.map((d) =>
    h('li', { class: `driver ${d.direction} ${what}` },
      h('span', { class: 'arrow', text: d.direction === 'raises-risk' ? '▲' : '▼', title: `${d.direction === 'raises-risk' ? 'raises' : 'lowers'} ${what === 'risk' ? 'churn risk' : 'expansion likelihood'}` }),
      h('span', { class: 'driver-text', text: d.text }),
      h('span', { class: 'muted small', text: `${d.feature}${d.value === null || d.value === undefined ? '' : ` = ${number(d.value, 2)}`}` }))));
}

async function summary() {
  const a = await getJson(base);
  document.title = `${a.name || a.accountId} · HealthScoring`;
  fill('account-name', a.name || a.accountId);
  fill('facts',
    fact('Health score', h('strong', { id: 'health-score', text: a.healthScore })),
    fact('Band', bandBadge(a.band)),
    fact('Churn risk', pct(a.churnProbability)),
    fact('Expansion', pct(a.expansionProbability)),
    fact('MRR', money(a.mrr)),
    fact('MRR at risk', money(a.mrrAtRisk)),
    fact('Owner', ownerName(a.owner) || '–'),
    fact('Plan', a.plan || '–'),
    fact('Scored as of', a.asOf || '–'));
  drivers(a.drivers, 'drivers');
  drivers(a.expansionDrivers, 'expansion-drivers', 'expansion');
}

async function history() {
  const hist = await getJson(`${base}/history`);
  const points = (hist.points || []).map((p) => ({ x: p.asOf, y: p.healthScore }));
  fill('score-chart', lineChart([{ name: 'score', cls: 'score', points }], { yMin: 0, yMax: 100 }));
}

async function usage() {
  const u = await getJson(`${base}/usage`);
  const categories = u.categories.filter((c) => u.days.some((d) => (d.byCategory[c] || 0) > 0));
  // Every category keeps its colour index (cat-N) in chart and legend alike; empty ones draw nothing.
  fill('usage-chart', stackedBars(u.days, u.categories));
  fill('usage-legend', categories.map((c) => h('span', { class: `key cat-${u.categories.indexOf(c)}`, text: c })));
  fill('users-chart', lineChart([
    { name: 'active users', cls: 'users', points: u.days.map((d) => ({ x: d.day.slice(5), y: d.activeUsers })) },
    { name: 'seats', cls: 'seats', points: u.days.map((d) => ({ x: d.day.slice(5), y: d.seats })) },
  ]), h('p', { class: 'muted small', text: `${u.activeUsers28d} active users in the last 28 days of ${u.seats} seats` }));
}

async function billing() {
  const b = await getJson(`${base}/billing`);
  fill('billing',
    h('div', { class: 'facts' },
      fact('MRR', money(b.mrr)), fact('Seats', number(b.seats)), fact('Plan', b.plan || '–'),
      fact('Customer since', b.customerSince ? b.customerSince.slice(0, 10) : '–'),
      fact('Invoices paid', number(b.invoicesPaid)), fact('Payment failures', h('span', { class: b.paymentFailures ? 'bad' : '', text: number(b.paymentFailures) }))),
    h('h3', { text: 'Subscription changes' }),
    h('table', { class: 'grid small' },
      h('thead', {}, h('tr', {}, h('th', { text: 'When' }), h('th', { text: 'Status' }), h('th', { class: 'num', text: 'MRR' }), h('th', { class: 'num', text: 'Seats' }), h('th', { text: 'Plan' }))),
      h('tbody', {}, b.subscriptions.slice(-8).reverse().map((c) => h('tr', {},
        h('td', { text: c.at.slice(0, 10) }), h('td', { text: c.status }), h('td', { class: 'num', text: money(c.mrr) }), h('td', { class: 'num', text: c.seats }), h('td', { text: c.plan || '' }))))),
    h('h3', { text: 'Invoices' }),
    b.invoices.length === 0 ? h('p', { class: 'muted', text: 'No invoices in the window.' })
      : h('ul', { class: 'plain small' }, b.invoices.slice(-10).reverse().map((i) => h('li', { class: i.failed ? 'bad' : '', text: `${i.day}: ${i.paid} paid${i.failed ? `, ${i.failed} failed` : ''}` }))));
}

async function alerts() {
  const a = await getJson(`${base}/alerts`);
  fill('alerts',
    a.snoozedUntil ? h('li', { class: 'muted', text: `Alerts snoozed until ${a.snoozedUntil}` }) : null,
    a.alerts.length === 0 ? h('li', { class: 'muted', text: 'No alerts.' }) : a.alerts.map((x) => h('li', { class: `alert alert-${x.kind}` },
      h('span', { class: 'when', text: x.asOf }),
      h('span', { text: x.text }),
      x.drivers.length ? h('span', { class: 'muted small', text: x.drivers.join('; ') }) : null)));
}

initChrome();
Promise.allSettled([summary(), history(), usage(), billing(), alerts()]).then((results) => {
  for (const r of results) if (r.status === 'rejected') showError(r.reason);
  document.body.dataset.loaded = 'true';
});
