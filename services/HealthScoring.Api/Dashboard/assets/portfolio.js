// Portfolio: every scored account, at-risk first by default; filters, sort and search go to GET /v1/accounts.
import { bandBadge, fill, getJson, h, initChrome, money, number, ownerName, pct, showError, sparkline } from './dom.js';

const form = document.getElementById('filters');
const body = document.querySelector('#accounts tbody');
const more = document.getElementById('more');
let nextPageToken = null;

function query(pageToken) {
  const params = new URLSearchParams();
  for (const name of ['q', 'band', 'owner', 'plan', 'sort']) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  params.set('pageSize', '50');
  if (pageToken) params.set('pageToken', pageToken);
  return `/v1/accounts?${params}`;
}

function row(a) {
  const link = h('a', { href: `/dashboard/accounts/${encodeURIComponent(a.accountId)}`, text: a.name || a.accountId });
  const trend = a.trend || {};
  const delta = trend.delta7d === null || trend.delta7d === undefined ? '' : `${trend.delta7d > 0 ? '+' : ''}${trend.delta7d}`;
  return h('tr', { 'data-band': a.band, 'data-account': a.accountId },
    h('td', {}, link, h('div', { class: 'muted small', text: [a.plan, a.segment].filter(Boolean).join(' · ') })),
    h('td', { class: 'num score', text: a.healthScore }),
    h('td', {}, bandBadge(a.band)),
    h('td', { class: 'num', text: pct(a.churnProbability) }),
    h('td', { class: 'num', text: pct(a.expansionProbability) }),
    h('td', { class: 'num', text: money(a.mrr) }),
    h('td', { class: `trend trend-${trend.direction || 'flat'}` }, sparkline(trend.sparkline || []), h('span', { class: 'small', text: delta })),
    h('td', { text: ownerName(a.owner) }));
}

function totals(t) {
  if (!t) return;
  fill('totals',
    h('div', { class: 'stat' }, h('span', { class: 'stat-value', text: number(t.accounts) }), h('span', { class: 'stat-label', text: 'accounts' })),
    h('div', { class: 'stat risk' }, h('span', { class: 'stat-value', id: 'total-at-risk', text: number(t.atRisk) }), h('span', { class: 'stat-label', text: 'at risk' })),
    h('div', { class: 'stat risk' }, h('span', { class: 'stat-value', text: money(t.mrrAtRisk) }), h('span', { class: 'stat-label', text: 'MRR at risk' })),
    h('div', { class: 'stat good' }, h('span', { class: 'stat-value', text: money(t.expansionPipeline) }), h('span', { class: 'stat-label', text: 'expansion pipeline' })));
}

async function load(append) {
  try {
    const page = await getJson(query(append ? nextPageToken : null));
    if (!append) body.replaceChildren();
    for (const a of page.accounts) body.append(row(a));
    if (!append) totals(page.totals);
    if (page.accounts.length === 0 && !append) body.append(h('tr', {}, h('td', { colspan: 8, class: 'muted', text: 'No accounts match.' })));
    nextPageToken = page.nextPageToken;
    more.hidden = !nextPageToken;
    document.body.dataset.loaded = 'true';
  } catch (e) {
    showError(e);
  }
}

form.addEventListener('submit', (e) => { e.preventDefault(); load(false); });
form.elements.band.addEventListener('change', () => load(false));
form.elements.sort.addEventListener('change', () => load(false));
more.addEventListener('click', () => load(true));
initChrome();
load(false);
