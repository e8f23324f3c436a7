// The HR and manager view: retention analytics with filters and CSV downloads.
//
// The analytics routes are read from the server's OpenAPI document: a report the server does not
// offer shows a "not available" state (as does a 404), and the filters are sent under the query
// parameter names each route documents. Reports are drawn from the route's SVG where it has one,
// and always as tables of the JSON figures.

import * as api from './api.js';
import { applicationCard } from './application.js';
import { isCoach, notesCard, refreshersCard, riskTable } from './coaching.js';
import { leaderboardCard } from './leaderboard.js';
import { pitchesCard } from './pitch-review.js';
import { h, mount, field, problemBox, empty, pct, num, date, saveBlob, busy, table, today, uid } from './ui.js';

export const REPORTS = [
  { id: 'heatmap', title: 'Proficiency heatmap', svg: true, text: 'Predicted recall now, by team or seller and topic.' },
  { id: 'knowledge-gain', title: 'Knowledge gain', text: 'Proficiency now against first-attempt proficiency.' },
  { id: 'retention-curve', title: 'Retention curve', svg: true, text: 'Observed recall by days since the last review, with the memory model’s prediction.' },
  { id: 'forgetting-risk', title: 'Forgetting risk', text: 'Sellers and topics most likely to be forgotten soon.' },
  { id: 'engagement', title: 'Engagement', text: 'Answers, active sellers and streaks over time.' },
  { id: 'kpi-correlation', title: 'KPI correlation', text: 'How proficiency relates to business results.' },
];

/** Query parameter names a route may use for each filter, in order of preference. */
const FILTER_NAMES = {
  team: ['team_id', 'team'],
  pack: ['pack', 'pack_slug', 'pack_id'],
  from: ['from', 'since', 'start', 'start_date'],
  to: ['to', 'until', 'end', 'end_date'],
  rows: ['by', 'group_by', 'rows', 'level'],
};

const reportPath = (id) => `/api/v1/analytics/${id}`;

function queryParams(operation) {
  return (operation?.parameters || []).filter((p) => p.in === 'query');
}

/**
 * The query string for `filters` on a route: each filter under the first name the route
 * documents (or the first candidate when the document is unknown), the rest left out.
 */
/** The filters set in `filters` that a route does not document, by their labels. */
export function unsupportedFilters(operation, filters) {
  if (!operation) return [];
  const names = queryParams(operation).map((p) => p.name);
  return Object.entries(FILTER_LABELS)
    .filter(([key]) => filters[key] && !(key === 'rows' && filters.rows === 'teams'))
    .filter(([key]) => !FILTER_NAMES[key].some((c) => names.includes(c)))
    .map(([, labelText]) => labelText);
}

const FILTER_LABELS = { team: 'team', pack: 'pack', from: 'from', to: 'to', rows: 'heatmap rows' };

export function buildQuery(operation, filters, extra = {}) {
  const params = queryParams(operation);
  const names = params.map((p) => p.name);
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (!FILTER_NAMES[key] || value === '' || value === null || value === undefined) continue;
    const candidates = FILTER_NAMES[key];
    const name = operation ? candidates.find((c) => names.includes(c)) : candidates[0];
    if (!name) continue;
    let v = value;
    if (key === 'rows') {
      const choices = params.find((p) => p.name === name)?.schema?.enum || [];
      const want = value === 'sellers' ? /learner|seller|user/i : /team/i;
      v = choices.find((c) => want.test(c)) || (value === 'sellers' ? 'learner' : 'team');
    }
    if (key === 'pack' && name === 'pack_id') v = filters.packId || value;
    q.set(name, v);
  }
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Whether a route documents a `format` parameter accepting `kind` (true when unknown). */
function offersFormat(operation, kind) {
  if (!operation) return true;
  const p = queryParams(operation).find((x) => x.name === 'format');
  if (!p) return false;
  const values = p.schema?.enum || p.schema?.oneOf?.flatMap((o) => o.enum || []) || [];
  return !values.length || values.includes(kind);
}

export async function render(main, ctx) {
  const [teams, packs] = await Promise.all([
    api.get('/api/v1/teams').catch(() => []),
    api.get('/api/v1/packs').catch(() => []),
  ]);
  const team = h('select', { name: 'team' }, h('option', { value: '' }, 'All teams'),
    teams.map((t) => h('option', { value: t.id }, t.name)));
  const pack = h('select', { name: 'pack' }, h('option', { value: '' }, 'All packs'),
    packs.map((p) => h('option', { value: p.slug }, p.title)));
  const from = h('input', { type: 'date', name: 'from', max: today() });
  const to = h('input', { type: 'date', name: 'to', max: today() });
  const rowsName = uid('rows');
  const rows = h('fieldset', { class: 'segmented' }, h('legend', {}, 'Heatmap rows'),
    h('label', {}, h('input', { type: 'radio', name: rowsName, value: 'teams', checked: true }), ' Teams'),
    h('label', {}, h('input', { type: 'radio', name: rowsName, value: 'sellers' }), ' Sellers'));
  const apply = h('button', { type: 'submit', class: 'primary' }, 'Apply filters');
  const filterForm = h('form', { class: 'filters card', 'aria-label': 'Filters', novalidate: true },
    h('div', { class: 'row' }, field('Team', team), field('Pack', pack), field('From', from), field('To', to)),
    rows, apply);
  const grid = h('div', { class: 'reports' });

  const filters = () => ({
    team: team.value,
    pack: pack.value,
    packId: packs.find((p) => p.slug === pack.value)?.id,
    from: from.value,
    to: to.value,
    rows: filterForm.querySelector(`input[name="${rowsName}"]:checked`)?.value || 'teams',
  });

  const coach = isCoach(ctx.me);
  const refreshers = coach ? refreshersCard() : null;
  const cards = REPORTS.map((report) => reportCard(report, filters, {
    coach,
    onAssigned: () => refreshers?.load(),
  }));
  const board = leaderboardCard(ctx);
  const pitches = coach
    ? pitchesCard({ me: ctx.me, teams, admin: ctx.me.user.role === 'admin', peerReview: ctx.me.organization?.peer_review })
    : null;
  const application = applicationCard({ coach, teams, packs });
  let notes = null;
  if (coach) {
    const topics = await api.get('/api/v1/analytics/proficiency?group_by=topic')
      .then((r) => r.groups.map((g) => g.label))
      .catch(() => []);
    notes = notesCard(topics);
  }
  mount(main,
    h('h1', {}, ctx.me.user.role === 'manager' ? 'Your teams' : 'Retention analytics'),
    h('p', { class: 'muted' }, `${ctx.me.organization.name}: how much of the training your sellers still know, and where it is fading.`),
    filterForm,
    mount(grid, cards.map((c) => c.element)),
    application.element,
    board.element,
    pitches?.element,
    refreshers?.element,
    notes?.element,
    assignmentsCard(teams, packs),
    ['admin', 'author'].includes(ctx.me.user.role) ? experimentsCard() : null);
  filterForm.addEventListener('submit', busy(apply, async () => {
    await Promise.all(cards.map((c) => c.load()));
  }));
  await Promise.all([...cards.map((c) => c.load()), application.load(), board.load(), pitches?.load(), refreshers?.load(), notes?.load()]);
}

function reportCard(report, filters, { coach, onAssigned } = {}) {
  const titleId = uid('report');
  const body = h('div', { class: 'report-body', 'data-testid': `${report.id}-body` }, h('p', { class: 'loading' }, 'Loading…'));
  const actions = h('div', { class: 'actions' });
  const element = h('section', { class: 'card report', 'aria-labelledby': titleId, 'data-report': report.id },
    h('h2', { id: titleId }, report.title), h('p', { class: 'muted' }, report.text), body, actions);

  const unavailable = () => {
    mount(body, h('p', { class: 'unavailable', 'data-testid': `${report.id}-unavailable` },
      'Not available on this server yet.'));
    mount(actions);
  };

  async function load() {
    const operation = await api.operation(reportPath(report.id));
    if (operation === null) return unavailable();
    const f = filters();
    if (report.id !== 'heatmap') delete f.rows;
    const query = (extra) => `${reportPath(report.id)}${buildQuery(operation, f, extra)}`;
    mount(body, h('p', { class: 'loading' }, 'Loading…'));
    let data;
    try {
      data = await api.get(query());
    } catch (error) {
      if (error.status === 404 && /no route/i.test(error.problem.detail || '')) return unavailable();
      mount(body, problemBox(error));
      mount(actions);
      return null;
    }
    const parts = [];
    const ignored = unsupportedFilters(operation, f);
    if (ignored.length) parts.push(h('p', { class: 'hint' }, `This report is not filtered by ${ignored.join(', ')}.`));
    if (report.svg && offersFormat(operation, 'svg')) {
      try {
        const res = await api.call(query({ format: 'svg' }));
        const chart = safeSvg(await res.text());
        if (chart) parts.push(h('figure', { class: 'chart', 'data-testid': `${report.id}-chart` }, chart, h('figcaption', { class: 'visually-hidden' }, report.title)));
      } catch { /* the figures below still show the data */ }
    }
    const figures = report.id === 'forgetting-risk' && Array.isArray(data?.risks)
      ? riskTable(data, { coach, onAssigned })
      : renderData(data, report.title);
    parts.push(parts.some((p) => p.tagName === 'FIGURE')
      ? h('details', {}, h('summary', {}, 'The figures as a table'), figures)
      : figures);
    mount(body, parts);
    const download = h('button', { type: 'button', 'data-testid': `${report.id}-csv` }, `Download ${report.title} (CSV)`);
    const note = h('span', { class: 'form-message' });
    download.addEventListener('click', busy(download, async () => {
      mount(note);
      try {
        const res = await api.call(query({ format: 'csv' }), { accept: 'text/csv' });
        const disposition = res.headers.get('content-disposition') || '';
        const name = disposition.match(/filename="?([^";]+)"?/)?.[1] || `${report.id}-${today()}.csv`;
        saveBlob(await res.blob(), name);
      } catch (error) {
        mount(note, problemBox(error));
      }
    }));
    mount(actions, offersFormat(operation, 'csv') ? download : null, note);
    return null;
  }
  return { element, load };
}

const PERCENT_KEYS = /proficien|recall|retention|rate|share|probab|predict|gain|risk|correct_ratio|accuracy/i;

function cell(key, value) {
  if (value === null || value === undefined) return h('td', {}, '—');
  if (typeof value === 'number') {
    const asPercent = PERCENT_KEYS.test(key) && Math.abs(value) <= 1;
    const td = h('td', { class: 'num' }, asPercent ? pct(value) : num(value));
    if (asPercent && value >= 0 && /proficien|recall|retention|predict/i.test(key)) {
      td.classList.add('heat');
      td.style.setProperty('--heat', String(value));
    }
    return td;
  }
  if (typeof value === 'string') {
    return h('td', {}, /^\d{4}-\d{2}-\d{2}/.test(value) ? date(value) : value);
  }
  if (typeof value === 'boolean') return h('td', {}, value ? 'yes' : 'no');
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== 'object' || v === null)) return h('td', {}, value.map((v) => (typeof v === 'number' ? num(v) : String(v))).join(', '));
    return h('td', {}, `${value.length} item${value.length === 1 ? '' : 's'}`);
  }
  return h('td', {}, Object.entries(value).map(([k, v]) => `${k}: ${typeof v === 'number' ? num(v) : JSON.stringify(v)}`).join('; '));
}

const label = (key) => key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());

/** Any JSON answer as readable tables: lists of records become tables, scalars a list. */
export function renderData(data, caption, depth = 0) {
  if (Array.isArray(data)) {
    if (!data.length) return empty('No data yet for these filters.');
    if (data.every((r) => r && typeof r === 'object' && !Array.isArray(r))) {
      const columns = [...new Set(data.flatMap((r) => Object.keys(r)))].slice(0, 14);
      return table(caption, columns.map(label), data.slice(0, 500).map((r) => h('tr', {},
        columns.map((c) => cell(c, r[c])))));
    }
    return h('p', {}, data.map((v) => (typeof v === 'number' ? num(v) : JSON.stringify(v))).join(', '));
  }
  if (!data || typeof data !== 'object') return h('p', {}, String(data ?? '—'));
  const scalars = Object.entries(data).filter(([, v]) => v === null || typeof v !== 'object');
  const nested = Object.entries(data).filter(([, v]) => v !== null && typeof v === 'object');
  const out = [];
  if (scalars.length) {
    out.push(h('dl', { class: 'figures' }, scalars.map(([k, v]) => h('div', { class: 'figure' },
      h('dt', {}, label(k)), h('dd', {}, cell(k, v).textContent)))));
  }
  for (const [k, v] of nested) {
    if (depth > 2) continue;
    out.push(h(depth ? 'h4' : 'h3', {}, label(k)), renderData(v, `${caption}: ${label(k)}`, depth + 1));
  }
  if (!out.length) return empty('No data yet for these filters.');
  return h('div', {}, out);
}

/**
 * A server-drawn SVG made safe to show inline: no scripts, event handlers, foreign content or
 * outside links. Inline `style` attributes and `<style>` sheets are re-applied through the CSSOM
 * (in a shadow root), which the console's Content-Security-Policy allows; markup styles it refuses.
 */
export function safeSvg(text) {
  // Markup is inert only if the parser never sees what the policy refuses: creating an element
  // with a `style` attribute already applies it, and Chromium checks an event-handler attribute
  // (`onload`, `onclick`, …) against `script-src` as soon as the attribute is set. So before
  // parsing, `<style>` elements become `<reprise-style>` and every `style` or `on…` attribute
  // name gets a `data-reprise-` prefix; the walk below drops or re-applies them. XML needs white
  // space before every attribute, so the rename cannot be dodged; a prefixed `x:on…` becomes an
  // undeclared prefix, which fails the parse. A DTD could add default attributes the rename never
  // sees, so markup with a document type or entity declarations is refused outright.
  const source = String(text);
  if (/<!(DOCTYPE|ENTITY|ATTLIST)/i.test(source)) return null;
  const renamed = source
    .replace(/<(\/?)style\b/gi, '<$1reprise-style')
    .replace(/(\s)((?:[\w.-]+:)?(?:style|on[\w.:-]*))(\s*=)/gi, '$1data-reprise-$2$3');
  const doc = new DOMParser().parseFromString(renamed, 'image/svg+xml');
  const svg = doc.documentElement;
  if (!svg || svg.localName !== 'svg' || doc.getElementsByTagName('parsererror').length) return null;
  const sheets = [];
  const inline = [];
  const all = [svg, ...svg.querySelectorAll('*')];
  for (const el of all) {
    const name = el.localName.toLowerCase();
    if (['script', 'foreignobject', 'iframe', 'object', 'embed', 'image', 'use'].includes(name) && !(name === 'use' && /^#/.test(el.getAttribute('href') || el.getAttribute('xlink:href') || ''))) {
      el.remove();
      continue;
    }
    if (name === 'reprise-style') {
      sheets.push(el.textContent || '');
      el.remove();
      continue;
    }
    for (const attr of [...el.attributes]) {
      const n = attr.name.toLowerCase();
      if (n.startsWith('on') || n.startsWith('data-reprise-on')) el.removeAttribute(attr.name);
      else if ((n === 'href' || n === 'xlink:href') && !attr.value.startsWith('#')) el.removeAttribute(attr.name);
      else if (n === 'data-reprise-style') {
        inline.push([el, attr.value]);
        el.removeAttribute(attr.name);
      }
    }
  }
  const kept = new Set(all.filter((el) => el === svg || svg.contains(el)));
  const order = [svg, ...svg.querySelectorAll('*')];
  const clone = document.importNode(svg, true);
  const cloned = [clone, ...clone.querySelectorAll('*')];
  for (const [el, css] of inline) {
    if (!kept.has(el)) continue;
    const target = cloned[order.indexOf(el)];
    if (target) target.style.cssText = css;
  }
  if (!clone.hasAttribute('role')) clone.setAttribute('role', 'img');
  if (!clone.getAttribute('width')) clone.setAttribute('width', '100%');
  const host = h('div', { class: 'svg-host' });
  const root = host.attachShadow({ mode: 'open' });
  const base = new CSSStyleSheet();
  base.replaceSync(':host{display:block;overflow-x:auto} svg{max-width:100%;height:auto}');
  const extra = sheets.map((css) => {
    const s = new CSSStyleSheet();
    s.replaceSync(css);
    return s;
  });
  root.adoptedStyleSheets = [base, ...extra];
  root.append(clone);
  return host;
}

function assignmentsCard(teams, packs) {
  const body = h('div', { 'data-testid': 'assignments' }, h('p', { class: 'loading' }, 'Loading…'));
  const section = h('section', { class: 'card', 'aria-labelledby': 'assignments-title' },
    h('h2', { id: 'assignments-title' }, 'Campaigns running'), body);
  api.get('/api/v1/assignments').then((list) => {
    const active = list.filter((a) => !a.ended_at);
    const teamName = (id) => teams.find((t) => t.id === id)?.name || 'Selected learners';
    mount(body, active.length
      ? table('Packs assigned to teams', ['Pack', 'Team', 'Since', 'A day', 'Target recall'],
        active.map((a) => h('tr', {}, h('th', { scope: 'row' }, packs.find((p) => p.slug === a.pack_slug)?.title || a.pack_slug), h('td', {}, teamName(a.team_id)),
          h('td', {}, date(a.starts_on)), h('td', {}, num(a.daily_cap)), h('td', {}, pct(a.desired_retention)))))
      : empty('No pack is assigned yet.'));
  }).catch((error) => mount(body, problemBox(error)));
  return section;
}

const signed = (x) => (x === null || x === undefined ? '—' : `${x > 0 ? '+' : ''}${(x * 100).toFixed(1)} pts`);
const interval = (ci, fmt) => (ci ? `${fmt(ci[0])} to ${fmt(ci[1])}` : '—');
const pValue = (p) => (p === null || p === undefined ? '—' : p < 0.001 ? '< 0.001' : p.toFixed(3));

/** One experiment: per arm its learners, questions, probe recall and difference from control. */
function experimentTable(e) {
  const rows = e.arms.map((a) => {
    const r = a.probe_recall;
    const d = r.difference;
    return h('tr', {},
      h('th', { scope: 'row' }, a.control ? `${a.name} (control)` : a.name),
      h('td', {}, a.desired_retention ? `${a.policy} ${pct(a.desired_retention)}` : a.policy),
      h('td', {}, num(a.learners)), h('td', {}, num(a.questions_per_learner)), h('td', {}, num(a.probes)),
      h('td', {}, pct(r.recall)), h('td', {}, interval(r.ci95, pct)),
      h('td', {}, d ? signed(d.estimate) : '—'), h('td', {}, d ? interval(d.ci95, signed) : '—'),
      h('td', {}, d ? pValue(d.p_value) : '—'));
  });
  const parts = [table(`${e.name}: probe recall by arm`,
    ['Arm', 'Policy', 'Learners', 'Questions each', 'Probes', 'Probe recall', '95 % interval', 'Difference', '95 % interval', 'p-value'],
    rows, { 'data-testid': 'experiment-arms' })];
  for (const k of e.kpis) {
    parts.push(table(`${e.name}: ${k.kpi} by arm`, ['Arm', 'Learners', 'Mean', '95 % interval', 'Difference', '95 % interval', 'p-value'],
      k.arms.map((a) => h('tr', {}, h('th', { scope: 'row' }, a.arm), h('td', {}, num(a.learners)), h('td', {}, num(a.mean)),
        h('td', {}, interval(a.ci95, num)), h('td', {}, a.difference ? num(a.difference.estimate) : '—'),
        h('td', {}, a.difference ? interval(a.difference.ci95, num) : '—'),
        h('td', {}, a.difference ? pValue(a.difference.p_value) : '—')))));
  }
  return parts;
}

function experimentsCard() {
  const body = h('div', { 'data-testid': 'experiments' }, h('p', { class: 'loading' }, 'Loading…'));
  const section = h('section', { class: 'card', 'aria-labelledby': 'experiments-title' },
    h('h2', { id: 'experiments-title' }, 'Experiments'),
    h('p', { class: 'muted' }, 'Arms of an assignment’s sellers scheduled by different policies. Probe recall is corrected for guessing; intervals are 95 % over sellers.'),
    body);
  api.get('/api/v1/experiments').then(async (list) => {
    if (!list.length) {
      mount(body, empty('No experiment yet.'));
      return;
    }
    const reports = await Promise.all(list.map((e) => api.get(`/api/v1/experiments/${e.id}`)));
    mount(body, reports.map((e) => h('details', { open: e.status === 'running' },
      h('summary', {}, `${e.name} · ${e.status} since ${date(e.started_at)}`),
      experimentTable(e))));
  }).catch((error) => mount(body, problemBox(error)));
  return section;
}
