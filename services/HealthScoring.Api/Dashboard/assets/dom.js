// Shared by the dashboard's pages: the REST client (session cookie + CSRF header), element builders that only
// ever insert text (textContent), never HTML, so event data cannot inject markup, and small SVG charts.

const SVG = 'http://www.w3.org/2000/svg';
let sessionPromise;

/** The signed-in user and the antiforgery token for state-changing calls (a failed read is not kept: the next call tries again). */
export function session() {
  sessionPromise ??= getJson('/dashboard/session').catch((e) => {
    sessionPromise = undefined;
    throw e;
  });
  return sessionPromise;
}

/** GET a JSON resource; an ended session goes back to sign-in; a problem becomes an Error with its detail. */
export async function getJson(path) {
  const response = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  return readResponse(response);
}

/** POST/DELETE with the CSRF token in its header. */
export async function send(method, path, body) {
  const s = await session();
  const headers = { Accept: 'application/json', [s.csrfHeader]: s.csrfToken };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, credentials: 'same-origin', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return readResponse(response);
}

async function readResponse(response) {
  if (response.status === 401) {
    location.assign('/dashboard/sign-in?returnUrl=' + encodeURIComponent(location.pathname + location.search));
    throw new Error('Signed out.');
  }
  const type = response.headers.get('Content-Type') || '';
  const body = type.includes('json') ? await response.json() : null;
  if (!response.ok) {
    const error = new Error((body && (body.detail || body.title)) || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

/** An element with attributes and children; strings and numbers become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

/** An SVG element with attributes and children. */
export function s(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

function setAttributes(element, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') element.textContent = String(value);
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(target, ...children) {
  const element = typeof target === 'string' ? document.getElementById(target) : target;
  element.replaceChildren();
  append(element, children);
  return element;
}

export function showError(error) {
  const box = document.getElementById('error');
  if (!box) return;
  box.hidden = false;
  box.textContent = error instanceof Error ? error.message : String(error);
}

export const pct = (p, digits = 0) => (p === null || p === undefined ? '–' : `${(p * 100).toFixed(digits)}%`);
export const money = (v) => (v === null || v === undefined ? '–' : v.toLocaleString('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 }));
export const number = (v, digits = 0) => (v === null || v === undefined ? '–' : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits }));

/** The owner as a name: the owner trait may be a string or an object with a name. */
export function ownerName(owner) {
  if (!owner) return '';
  if (typeof owner === 'object') return owner.name || owner.email || '';
  const text = String(owner);
  if (text.startsWith('{')) {
    try { const o = JSON.parse(text); return o.name || o.email || text; } catch { return text; }
  }
  return text;
}

export function bandBadge(band) {
  return h('span', { class: `band band-${band || 'none'}`, text: band || 'unscored' });
}

/** Header: who is signed in, and a sign-out that sends the CSRF token. */
export async function initChrome() {
  const button = document.getElementById('sign-out');
  button?.addEventListener('click', async () => {
    try {
      const s2 = await session();
      const response = await fetch('/dashboard/sign-out', { method: 'POST', credentials: 'same-origin', headers: { [s2.csrfHeader]: s2.csrfToken } });
      if (!response.ok) throw new Error(`Signing out failed (HTTP ${response.status}); you are still signed in. Try again.`);
      location.assign('/dashboard/sign-in');
    } catch (e) {
      showError(e);
    }
  });
  try {
    const me = await session();
    fill('who', `${me.email} · ${me.tenant} · ${me.role}`);
    document.body.dataset.role = me.role;
  } catch (e) {
    showError(e);
  }
}

// ---------- charts ----------

/** A sparkline of integers (oldest first). */
export function sparkline(values, width = 96, height = 24) {
  const svg = s('svg', { class: 'sparkline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `trend of ${values.length} scores` });
  if (!values || values.length < 2) return svg;
  const min = Math.min(...values), max = Math.max(...values);
  const span = max - min || 1;
  const points = values.map((v, i) => `${(i / (values.length - 1)) * (width - 2) + 1},${height - 1 - ((v - min) / span) * (height - 2)}`);
  svg.append(s('polyline', { points: points.join(' '), class: 'line' }));
  return svg;
}

/**
 * A line chart: series = [{ name, cls, points: [{ x: label, y }] }] sharing x labels; y from 0 (or yMin) to yMax.
 * Every point gets a circle with a <title>, so the chart reads without hovering too.
 */
export function lineChart(series, { width = 560, height = 220, yMin = 0, yMax, yFormat = (v) => number(v) } = {}) {
  const pad = { l: 44, r: 12, t: 10, b: 28 };
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'line-chart', role: 'img' });
  const all = series.flatMap((x) => x.points.map((p) => p.y)).filter((v) => v !== null && v !== undefined);
  if (all.length === 0) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'empty', text: 'No data yet' }));
    return svg;
  }
  const top = yMax ?? Math.max(...all, yMin + 1);
  const labels = series[0].points.map((p) => p.x);
  const n = Math.max(labels.length, 2);
  const X = (i) => pad.l + (i / (n - 1)) * (width - pad.l - pad.r);
  const Y = (v) => height - pad.b - ((v - yMin) / (top - yMin || 1)) * (height - pad.t - pad.b);
  for (let k = 0; k <= 4; k++) {
    const v = yMin + ((top - yMin) * k) / 4;
    svg.append(s('line', { x1: pad.l, x2: width - pad.r, y1: Y(v), y2: Y(v), class: 'grid-line' }));
    svg.append(s('text', { x: pad.l - 6, y: Y(v) + 4, 'text-anchor': 'end', class: 'axis', text: yFormat(v) }));
  }
  const every = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((label, i) => {
    if (i % every === 0 || i === labels.length - 1) svg.append(s('text', { x: X(i), y: height - 8, 'text-anchor': 'middle', class: 'axis', text: label }));
  });
  for (const line of series) {
    const pts = line.points.map((p, i) => [i, p.y]).filter(([, y]) => y !== null && y !== undefined);
    if (pts.length === 0) continue;
    const d = pts.map(([i, y], j) => `${j === 0 ? 'M' : 'L'}${X(i).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
    svg.append(s('path', { d, class: `line ${line.cls || ''}`, 'data-points': pts.length }));
    for (const [i, y] of pts) {
      svg.append(s('circle', { cx: X(i), cy: Y(y), r: pts.length > 40 ? 1.5 : 3, class: `dot ${line.cls || ''}` }, s('title', { text: `${line.name} ${labels[i]}: ${yFormat(y)}` })));
    }
  }
  return svg;
}

/** Stacked bars per day: days = [{ day, byCategory }]; categories in stacking order. */
export function stackedBars(days, categories, { width = 900, height = 200 } = {}) {
  const pad = { l: 44, r: 8, t: 8, b: 24 };
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'bars', role: 'img' });
  const totals = days.map((d) => categories.reduce((sum, c) => sum + (d.byCategory[c] || 0), 0));
  const top = Math.max(1, ...totals);
  const bw = (width - pad.l - pad.r) / Math.max(days.length, 1);
  const Y = (v) => ((height - pad.t - pad.b) * v) / top;
  svg.append(s('text', { x: pad.l - 6, y: pad.t + 8, 'text-anchor': 'end', class: 'axis', text: number(top) }));
  svg.append(s('text', { x: pad.l - 6, y: height - pad.b, 'text-anchor': 'end', class: 'axis', text: '0' }));
  days.forEach((d, i) => {
    let y = height - pad.b;
    categories.forEach((c, k) => {
      const v = d.byCategory[c] || 0;
      if (v <= 0) return;
      const hgt = Y(v);
      y -= hgt;
      svg.append(s('rect', { x: pad.l + i * bw, y, width: Math.max(bw - 1, 1), height: hgt, class: `cat cat-${k}` }, s('title', { text: `${d.day} ${c}: ${v}` })));
    });
    if (i % Math.ceil(days.length / 6) === 0) svg.append(s('text', { x: pad.l + i * bw, y: height - 6, class: 'axis', text: d.day }));
  });
  return svg;
}

/** Horizontal bars: items = [{ label, value, text }] with value in [0, max]. */
export function hbars(items, { max = 1, id } = {}) {
  return h('div', { class: 'hbars', id },
    items.map((item) => h('div', { class: 'hbar' },
      h('span', { class: 'hbar-label', text: item.label }),
      h('span', { class: 'hbar-track' }, barFill(item.value / (max || 1))),
      h('span', { class: 'hbar-value', text: item.text }))));
}

function barFill(fraction) {
  const fillEl = h('span', { class: 'hbar-fill' });
  // CSSOM, not a style attribute: the CSP allows no inline style attributes.
  fillEl.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return fillEl;
}

/** A retention heatmap: rows = cohorts (month, size, retention[]), one cell per month since signup. */
export function heatmap(cohorts) {
  const months = Math.max(0, ...cohorts.map((c) => c.retention.length));
  const cell = 44, left = 120, top = 24;
  const width = left + months * cell + 8, height = top + cohorts.length * 26 + 8;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'heatmap', role: 'img', 'aria-label': 'retention heatmap' });
  for (let m = 0; m < months; m++) svg.append(s('text', { x: left + m * cell + cell / 2, y: 16, 'text-anchor': 'middle', class: 'axis', text: `M${m}` }));
  cohorts.forEach((c, r) => {
    const y = top + r * 26;
    svg.append(s('text', { x: 4, y: y + 17, class: 'axis', text: `${c.month.slice(0, 7)} (${c.accounts})` }));
    c.retention.forEach((v, m) => {
      const level = Math.min(9, Math.floor(v * 10));
      svg.append(s('rect', { x: left + m * cell, y, width: cell - 2, height: 24, class: `cell heat-${level}`, 'data-value': v }, s('title', { text: `${c.month.slice(0, 7)} month ${m}: ${pct(v)}` })));
      svg.append(s('text', { x: left + m * cell + cell / 2 - 1, y: y + 16, 'text-anchor': 'middle', class: `cell-text ${level >= 6 ? 'light' : ''}`, text: pct(v) }));
    });
  });
  return svg;
}

/** Calibration plot: predicted (x) against observed (y), with the diagonal. */
export function calibrationPlot(bins, { size = 240 } = {}) {
  const pad = 30;
  const svg = s('svg', { viewBox: `0 0 ${size} ${size}`, class: 'calibration', role: 'img', 'aria-label': 'calibration plot' });
  const P = (v) => pad + v * (size - 2 * pad);
  const Q = (v) => size - pad - v * (size - 2 * pad);
  svg.append(s('line', { x1: P(0), y1: Q(0), x2: P(1), y2: Q(1), class: 'diagonal' }));
  svg.append(s('text', { x: size / 2, y: size - 6, 'text-anchor': 'middle', class: 'axis', text: 'predicted' }));
  svg.append(s('text', { x: 10, y: size / 2, class: 'axis', transform: `rotate(-90 10 ${size / 2})`, 'text-anchor': 'middle', text: 'observed' }));
  const pts = bins.filter((b) => b.count > 0 && b.meanPredicted !== null && b.observedRate !== null);
  if (pts.length) svg.append(s('path', { class: 'line', d: pts.map((b, i) => `${i ? 'L' : 'M'}${P(b.meanPredicted).toFixed(1)},${Q(b.observedRate).toFixed(1)}`).join(' ') }));
  for (const b of pts) {
    svg.append(s('circle', { cx: P(b.meanPredicted), cy: Q(b.observedRate), r: 2 + Math.min(6, Math.sqrt(b.count) / 3), class: 'dot' }, s('title', { text: `predicted ${pct(b.meanPredicted)}, observed ${pct(b.observedRate)} (${b.count})` })));
  }
  return svg;
}

/** Lift chart: one bar per decile (1 = highest risk), with the baseline at 1. */
export function liftChart(bins, { width = 300, height = 180 } = {}) {
  const pad = { l: 30, r: 8, t: 8, b: 22 };
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'lift', role: 'img', 'aria-label': 'lift chart' });
  const top = Math.max(1.5, ...bins.map((b) => b.lift ?? 0));
  const bw = (width - pad.l - pad.r) / Math.max(bins.length, 1);
  const Y = (v) => height - pad.b - (v / top) * (height - pad.t - pad.b);
  bins.forEach((b, i) => {
    const v = b.lift ?? 0;
    svg.append(s('rect', { x: pad.l + i * bw + 2, y: Y(v), width: bw - 4, height: height - pad.b - Y(v), class: 'bar' }, s('title', { text: `decile ${b.bin}: lift ${v.toFixed(2)}, ${pct(b.cumulativeCapture)} of positives captured so far` })));
    svg.append(s('text', { x: pad.l + i * bw + bw / 2, y: height - 6, 'text-anchor': 'middle', class: 'axis', text: b.bin }));
  });
  svg.append(s('line', { x1: pad.l, x2: width - pad.r, y1: Y(1), y2: Y(1), class: 'baseline' }));
  svg.append(s('text', { x: pad.l - 4, y: Y(1) + 4, 'text-anchor': 'end', class: 'axis', text: '1×' }));
  return svg;
}
