// Coaching for managers and admins: a refresher assigned from the forgetting-risk list in one
// action, the refreshers' status, and coaching notes on a person.

import * as api from './api.js';
import { h, mount, field, problemBox, empty, pct, num, date, dateTime, busy, table } from './ui.js';

/** Days a refresher assigned from the risk list is spread over. */
export const RISK_REFRESHER_DAYS = 7;

export const isCoach = (me) => ['manager', 'admin'].includes(me.user.role);

/**
 * The forgetting-risk pairs as a table, each with an "Assign refresher" button for coaches that
 * plans the seller's nuggets of that topic over the next days.
 */
export function riskTable(report, { coach, onAssigned }) {
  if (!report.risks?.length) return empty('Nobody is about to forget a topic.');
  const rows = report.risks.map((r) => {
    const status = h('span', { class: 'form-message' });
    let action = null;
    if (coach) {
      const button = h('button', { type: 'button', 'aria-label': `Assign a refresher on ${r.topic} to ${r.learner}` }, 'Assign refresher');
      button.addEventListener('click', busy(button, async () => {
        mount(status);
        try {
          const created = await api.post('/api/v1/refreshers', { learner_ids: [r.learner_id], topic: r.topic, days: RISK_REFRESHER_DAYS });
          mount(status, h('span', { class: 'notice success', role: 'status', 'data-testid': 'refresher-assigned' },
            `Refresher planned: ${created.items.length} nugget${created.items.length === 1 ? '' : 's'} over ${created.days} days.`));
          button.disabled = true;
          button.textContent = 'Refresher assigned';
          onAssigned?.();
        } catch (error) {
          mount(status, problemBox(error));
        }
      }));
      action = h('td', {}, button, status);
    }
    return h('tr', {},
      h('th', { scope: 'row' }, r.learner), h('td', {}, r.topic),
      h('td', { class: 'num' }, pct(r.recall_now)), h('td', { class: 'num' }, pct(r.recall_at_horizon)),
      h('td', { class: 'num' }, pct(r.initial_proficiency)), h('td', {}, r.suggestion), action);
  });
  const head = ['Seller', 'Topic', 'Recall now', `In ${report.days} days`, 'First try', 'Suggestion'];
  if (coach) head.push('Action');
  return h('div', {},
    h('p', { class: 'muted' }, `${num(report.total)} seller × topic pair${report.total === 1 ? '' : 's'} fall below ${pct(report.threshold)} within ${report.days} days.`),
    table('Sellers about to forget a topic', head, rows, { 'data-testid': 'risk-table' }));
}

/** The refreshers (a manager's own, an admin's organization's) with how many were answered. */
export function refreshersCard() {
  const body = h('div', { 'data-testid': 'refreshers' }, h('p', { class: 'loading' }, 'Loading…'));
  const section = h('section', { class: 'card', 'aria-labelledby': 'refreshers-title' },
    h('h2', { id: 'refreshers-title' }, 'Refreshers'),
    h('p', { class: 'muted' }, 'Nuggets put back into sellers’ queues, one planned day each within their daily cap. A nugget counts as answered at the seller’s first counted answer after the refresher was made.'),
    body);

  async function load() {
    try {
      const list = await api.get('/api/v1/refreshers');
      if (!list.length) {
        mount(body, empty('No refresher yet. Assign one from the forgetting-risk list.'));
        return;
      }
      const details = await Promise.all(list.slice(0, 10).map((r) => api.get(`/api/v1/refreshers/${r.id}`)));
      mount(body,
        table('Refreshers, newest first', ['Made', 'Topic', 'Sellers', 'Nuggets', 'Answered', 'Until'],
          list.map((r) => h('tr', {},
            h('th', { scope: 'row' }, dateTime(r.created_at)), h('td', {}, r.topic || '—'),
            h('td', { class: 'num' }, num(r.learners)), h('td', { class: 'num' }, num(r.planned)),
            h('td', { class: 'num' }, `${num(r.answered)} of ${num(r.planned)}`), h('td', {}, date(r.last_day)))),
          { 'data-testid': 'refresher-list' }),
        details.map((d) => h('details', {},
          h('summary', {}, `${dateTime(d.created_at)}${d.topic ? ` on ${d.topic}` : ''}: ${d.answered} of ${d.planned} answered`),
          table('Each seller and nugget', ['Seller', 'Topic', 'Planned', 'Answered', 'Right'],
            d.items.map((i) => h('tr', {},
              h('th', { scope: 'row' }, i.learner_name), h('td', {}, i.topic), h('td', {}, date(i.planned_on)),
              h('td', {}, i.answered_at ? dateTime(i.answered_at) : 'not yet'),
              h('td', {}, i.correct === null || i.correct === undefined ? '—' : i.correct ? 'yes' : 'no')))))));
    } catch (error) {
      mount(body, problemBox(error));
    }
  }
  return { element: section, load };
}

/** A note to one of the caller's people on a topic, and the notes they have. */
export function notesCard(topics) {
  const person = h('select', { name: 'learner', required: true }, h('option', { value: '' }, 'Choose a seller'));
  const topic = h('select', { name: 'topic', required: true }, h('option', { value: '' }, 'Choose a topic'),
    topics.map((t) => h('option', { value: t }, t)));
  const bodyInput = h('textarea', { name: 'body', rows: 3, maxlength: 2000, required: true });
  const send = h('button', { type: 'submit', class: 'primary' }, 'Send note');
  const message = h('div', { class: 'form-message' });
  const list = h('div', { 'data-testid': 'notes' });
  const form = h('form', { class: 'inline-form', novalidate: true },
    h('div', { class: 'row' }, field('Seller', person), field('Topic', topic)),
    field('Note', bodyInput, 'Shown to the seller with their next nugget of this topic.'),
    message, send);
  const section = h('section', { class: 'card', 'aria-labelledby': 'notes-title' },
    h('h2', { id: 'notes-title' }, 'Coaching notes'), form, list);

  async function showNotes() {
    if (!person.value) {
      mount(list);
      return;
    }
    try {
      const notes = await api.get(`/api/v1/users/${encodeURIComponent(person.value)}/notes`);
      mount(list, notes.length
        ? table('Notes to this seller', ['Written', 'By', 'Topic', 'Note', 'Seen'],
          notes.map((n) => h('tr', {}, h('th', { scope: 'row' }, dateTime(n.created_at)), h('td', {}, n.author_name),
            h('td', {}, n.topic), h('td', { class: 'note-body' }, n.body), h('td', {}, n.seen_at ? dateTime(n.seen_at) : 'not yet'))),
          { 'data-testid': 'notes-table' })
        : empty('No note to this seller yet.'));
    } catch (error) {
      mount(list, problemBox(error));
    }
  }
  person.addEventListener('change', showNotes);
  form.addEventListener('submit', busy(send, async () => {
    mount(message);
    try {
      await api.post(`/api/v1/users/${encodeURIComponent(person.value)}/notes`, { topic: topic.value, body: bodyInput.value });
      bodyInput.value = '';
      mount(message, h('p', { class: 'notice success', role: 'status', 'data-testid': 'note-sent' }, 'Note sent.'));
      await showNotes();
    } catch (error) {
      mount(message, problemBox(error, form));
    }
  }));

  async function load() {
    try {
      const users = await api.get('/api/v1/users?role=learner&limit=500');
      users.sort((a, b) => a.name.localeCompare(b.name));
      for (const u of users) person.append(h('option', { value: u.id }, u.name));
    } catch (error) {
      mount(list, problemBox(error));
    }
  }
  return { element: section, load };
}
