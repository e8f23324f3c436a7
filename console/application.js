// Knowledge × application for managers, analysts and admins: sellers × topics, each cell
// coloured by its quadrant (what the seller knows beside what their manager saw them apply) with
// the next step written in it; and, for managers and admins, a form to record a field
// observation, which a click on a cell fills in.

import * as api from './api.js';
import { h, mount, field, problemBox, empty, pct, num, busy, table, today, uid } from './ui.js';

const VIEW = '/api/v1/analytics/knowledge-application';

/** Quadrants in reading order, with what each asks of the manager. */
export const QUADRANTS = [
  { id: 'knows_and_applies', label: 'Knows and applies', hint: 'recognise it' },
  { id: 'knows_not_applied', label: 'Knows, not applied', hint: 'coach the behaviour' },
  { id: 'applies_without_knowing', label: 'Applies without knowing', hint: 'reinforce the why' },
  { id: 'neither', label: 'Neither', hint: 'train' },
  { id: 'not_observed', label: 'Not observed', hint: 'go and look' },
];

export const ACTIONS = { none: 'Recognise', pitch: 'Ask for a pitch', refresher: 'Refresher', ride_along: 'Ride-along' };

const RATINGS = [
  ['4', '4: fully, unprompted'],
  ['3', '3: mostly'],
  ['2', '2: partly, prompted'],
  ['1', '1: not at all'],
];

/**
 * The matrix card. `coach`: the caller may record observations (managers and admins).
 * `teams`, `packs`: the lists the filters offer.
 */
export function applicationCard({ coach, teams, packs }) {
  const titleId = uid('application');
  const team = h('select', { name: 'application-team' }, h('option', { value: '' }, 'All teams'),
    teams.map((t) => h('option', { value: t.id }, t.name)));
  const pack = h('select', { name: 'application-pack' }, h('option', { value: '' }, 'All packs'),
    packs.map((p) => h('option', { value: p.slug }, p.title)));
  const topicsShown = h('select', { name: 'application-topics' },
    h('option', { value: 'observed' }, 'Topics someone observed'),
    h('option', { value: 'all' }, 'Every topic'));
  const legend = h('ul', { class: 'quadrant-legend', 'aria-label': 'Quadrants' });
  const body = h('div', { 'data-testid': 'application-matrix' }, h('p', { class: 'loading' }, 'Loading…'));
  const form = coach ? observationForm(() => load()) : null;
  const filters = h('div', { class: 'row' }, field('Team', team), field('Pack', pack), field('Show', topicsShown));
  const element = h('section', { class: 'card', 'aria-labelledby': titleId, 'data-testid': 'application-card' },
    h('h2', { id: titleId }, 'Knowledge × application'),
    h('p', { class: 'muted' }, 'What each seller knows (predicted recall now) beside what was seen applied in customer meetings (observations, each weighing half as much every 60 days). Every cell names the next step.'),
    filters, legend, body, form?.element);

  async function load() {
    const q = new URLSearchParams();
    if (team.value) q.set('team_id', team.value);
    if (pack.value) q.set('pack', pack.value);
    const path = `${VIEW}${q.toString() ? `?${q}` : ''}`;
    let view;
    try {
      view = await api.get(path);
    } catch (error) {
      mount(body, problemBox(error));
      return;
    }
    mount(legend, QUADRANTS.map((quad) => {
      const n = view.quadrants.find((c) => c.quadrant === quad.id)?.cells || 0;
      return h('li', { class: `quad quad-${quad.id}` }, h('strong', {}, quad.label), ` → ${quad.hint} (${num(n)})`);
    }));
    const observed = new Set(view.cells.filter((c) => c.evidence > 0).map((c) => c.topic));
    const topics = topicsShown.value === 'all' ? view.topics : view.topics.filter((t) => observed.has(t));
    form?.offerTopics(view.topics, view.learners);
    if (!view.cells.length) {
      mount(body, empty('No seller in view has answered or been observed yet.'));
      return;
    }
    if (!topics.length) {
      mount(body, empty('Nobody was observed on these topics yet. Choose “Every topic”, or record an observation below.'));
      return;
    }
    const byKey = new Map(view.cells.map((c) => [`${c.learner_id}\u0000${c.topic}`, c]));
    const rows = view.learners.map((l) => h('tr', {},
      h('th', { scope: 'row' }, l.name),
      topics.map((t) => matrixCell(byKey.get(`${l.id}\u0000${t}`), l, t, form))));
    mount(body, table(`Sellers × topics: the quadrant and next step (${view.learners.length} seller${view.learners.length === 1 ? '' : 's'})`,
      ['Seller', ...topics], rows, { class: 'matrix' }));
  }

  for (const el of [team, pack, topicsShown]) el.addEventListener('change', () => load());
  return { element, load };
}

/** One cell: the quadrant's colour, the next step, and the two measures. */
function matrixCell(c, learner, topic, form) {
  if (!c) return h('td', { class: 'quad-none', 'data-learner': learner.id, 'data-topic': topic }, h('span', { class: 'visually-hidden' }, 'no data'), '—');
  const quad = QUADRANTS.find((q) => q.id === c.quadrant);
  const measures = `knows ${pct(c.proficiency)} · applies ${c.application === null ? '—' : pct(c.application)}`;
  const label = form
    ? h('button', { type: 'button', class: 'link-button cell-action', title: c.advice, 'aria-label': `${c.advice} Record an observation of ${learner.name} on ${topic}.` }, ACTIONS[c.next_action])
    : h('span', { class: 'cell-action', title: c.advice }, ACTIONS[c.next_action]);
  if (form) label.addEventListener('click', () => form.prefill(learner.id, topic));
  return h('td', { class: `quad quad-${c.quadrant}`, 'data-learner': learner.id, 'data-topic': topic, 'data-quadrant': c.quadrant },
    label, h('span', { class: 'cell-measures' }, measures), h('span', { class: 'visually-hidden' }, ` ${quad?.label || c.quadrant}`));
}

/** Records an observation of one of the caller's people; `onRecorded` reloads the matrix. */
function observationForm(onRecorded) {
  const person = h('select', { name: 'learner_id', required: true }, h('option', { value: '' }, 'Choose a seller'));
  const topic = h('select', { name: 'topic', required: true }, h('option', { value: '' }, 'Choose a topic'));
  const applied = h('select', { name: 'applied', required: true }, RATINGS.map(([v, text]) => h('option', { value: v }, text)));
  const day = h('input', { type: 'date', name: 'observed_on', required: true, max: today(), value: today() });
  const note = h('textarea', { name: 'note', rows: 2, maxlength: 2000 });
  const save = h('button', { type: 'submit', class: 'primary' }, 'Record observation');
  const message = h('div', { class: 'form-message' });
  const element = h('form', { class: 'inline-form observation-form', 'data-testid': 'observation-form', novalidate: true, 'aria-label': 'Record an observation' },
    h('h3', {}, 'Record an observation'),
    h('div', { class: 'row' }, field('Seller', person), field('Topic', topic), field('Applied', applied, 'How far they applied it in the meeting.'), field('Day', day)),
    field('What you saw', note, 'Optional. The seller can read it.'),
    message, save);

  let loaded = false;
  async function loadPeople(fallback) {
    if (loaded) return;
    loaded = true;
    try {
      const users = await api.get('/api/v1/users?role=learner&limit=500');
      users.sort((a, b) => a.name.localeCompare(b.name));
      for (const u of users) person.append(h('option', { value: u.id }, u.name));
    } catch {
      for (const l of fallback) person.append(h('option', { value: l.id }, l.name));
    }
  }

  function offerTopics(topics, learners) {
    const chosen = topic.value;
    const known = [...topic.options].map((o) => o.value);
    for (const t of topics) if (!known.includes(t)) topic.append(h('option', { value: t }, t));
    topic.value = chosen;
    loadPeople(learners);
  }

  async function offerAllTopics() {
    try {
      const groups = await api.get('/api/v1/analytics/proficiency?group_by=topic');
      offerTopics(groups.groups.map((g) => g.label), []);
    } catch { /* the matrix's topics remain */ }
  }
  offerAllTopics();

  function prefill(learnerId, t) {
    person.value = learnerId;
    if (![...topic.options].some((o) => o.value === t)) topic.append(h('option', { value: t }, t));
    topic.value = t;
    mount(message);
    applied.focus();
  }

  element.addEventListener('submit', busy(save, async () => {
    mount(message);
    try {
      await api.post('/api/v1/observations', {
        learner_id: person.value,
        topic: topic.value,
        applied: Number(applied.value),
        note: note.value.trim() ? note.value : undefined,
        observed_on: day.value,
      });
      note.value = '';
      mount(message, h('p', { class: 'notice success', role: 'status', 'data-testid': 'observation-recorded' },
        `Observation of ${person.selectedOptions[0]?.textContent || 'the seller'} on ${topic.value} recorded.`));
      await onRecorded();
    } catch (error) {
      mount(message, problemBox(error, element));
    }
  }));
  return { element, prefill, offerTopics };
}
