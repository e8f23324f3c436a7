// Pitch practice for sellers: a pitch nugget (the client situation, the rubric, the recorder),
// a review of their pitch shown with a nugget of its topic, their pitches with status and
// reviews, and the exemplars shared with their teams.

import * as api from './api.js';
import * as pitchOutbox from './pitch-outbox.js';
import { recorder, recordingPlayer, duration } from './recording.js';
import { h, mount, problemBox, empty, num, dateTime, announce } from './ui.js';

/** What each score means, as the rubric's reviewers are told. */
export const SCORE_LABELS = { 1: 'Not shown', 2: 'Partly', 3: 'Shown', 4: 'Exemplary' };

/** The rubric: what reviewers will score. */
export function rubricList(rubric) {
  return h('dl', { class: 'rubric', 'data-testid': 'rubric' }, (rubric || []).map((c) => h('div', { class: 'criterion' },
    h('dt', {}, c.criterion), h('dd', {}, c.description))));
}

/** A review's scores per criterion (in the rubric's order where it is known), mean and comment. */
export function reviewView(review, rubric = []) {
  const order = rubric.map((c) => c.criterion);
  const names = [...order.filter((c) => c in review.scores), ...Object.keys(review.scores).filter((c) => !order.includes(c))];
  return h('div', { class: 'review', 'data-testid': 'review' },
    h('p', { class: 'review-by' }, `${review.reviewer_name}, ${dateTime(review.created_at)} · mean ${num(review.mean_score)} of 4`),
    h('ul', { class: 'scores' }, names.map((c) => {
      const score = review.scores[c];
      return h('li', { class: `score s${score}` },
        h('span', { class: 'score-criterion' }, c),
        h('span', { class: 'score-value' }, `${score} · ${SCORE_LABELS[score] || ''}`));
    })),
    review.comment ? h('p', { class: 'review-comment' }, review.comment) : null);
}

/**
 * A review of one of the seller's pitches, shown above a nugget of its topic until they press
 * "Got it" (`POST /api/v1/me/pitch-reviews/{id}/seen`).
 */
export function reviewNotice(review) {
  const message = h('div', { class: 'form-message' });
  const gotIt = h('button', { type: 'button', class: 'small' }, 'Got it');
  const aside = h('aside', { class: 'pitch-review-notice', 'data-testid': 'pitch-review', 'aria-label': `Review of your pitch by ${review.reviewer_name}` },
    h('p', { class: 'coach-note-title' }, `${review.reviewer_name} reviewed your pitch on ${review.topic}`),
    reviewView(review), gotIt, message);
  gotIt.addEventListener('click', async () => {
    gotIt.disabled = true;
    try {
      await api.call(`/api/v1/me/pitch-reviews/${encodeURIComponent(review.id)}/seen`, { method: 'POST' });
      aside.remove();
      announce('Review marked as read');
    } catch (error) {
      gotIt.disabled = false;
      mount(message, problemBox(error.network
        ? { problem: { title: 'Offline', detail: 'It is shown again until you press Got it online.' } }
        : error));
    }
  });
  return aside;
}

/**
 * A pitch nugget: the situation, the rubric and the recorder. `onSend(nugget, blob, type)` sends
 * the recording (through the outbox) and may return an error to show. Returns the card and a
 * `dispose` that lets go of the camera.
 */
export function pitchCard(nugget, position, total, onSend) {
  const promptId = `pitch-${nugget.nugget_id}`;
  const rec = recorder({
    maxSeconds: nugget.max_seconds || 90,
    label: `your answer on ${nugget.topic}`,
    onSend: (blob, type) => onSend(nugget, blob, type),
  });
  const element = h('article', { class: 'card nugget pitch', 'aria-labelledby': promptId, 'data-testid': 'pitch' },
    h('p', { class: 'meta' },
      h('span', {}, `${position + 1} of ${total}`),
      h('span', {}, nugget.topic),
      h('span', { class: 'tag pitch-tag' }, 'Pitch'),
      h('span', { class: 'tag' }, nugget.review ? 'Again' : 'New')),
    nugget.pitch_review ? reviewNotice(nugget.pitch_review) : null,
    h('h2', { class: 'situation-title' }, 'The situation'),
    h('p', { id: promptId, class: 'prompt situation' }, nugget.prompt),
    h('h3', {}, 'What your coach will look for'),
    rubricList(nugget.rubric),
    rec.element);
  return { element, dispose: rec.dispose };
}

const statusTag = (p) => (p.status === 'reviewed'
  ? h('span', { class: 'tag correct' }, 'Reviewed')
  : h('span', { class: 'tag draft' }, 'Waiting for review'));

/** One pitch as its seller (or a teammate, for exemplars) sees it. */
function pitchItem(p, { owner }) {
  return h('li', { class: 'pitch-item', 'data-testid': 'pitch-item', dataset: { pitchId: p.id } },
    h('p', { class: 'meta' },
      // Exemplars are listed under their topic: there the seller's name leads.
      h('span', { class: 'pitch-topic' }, owner ? p.topic : p.learner_name),
      h('span', {}, dateTime(p.recorded_at)),
      h('span', {}, duration(p.duration_ms)),
      owner ? statusTag(p) : null,
      p.shared && owner ? h('span', { class: 'tag chosen' }, 'Shared as exemplar') : null),
    h('p', { class: 'situation' }, p.prompt),
    recordingPlayer(p, { label: owner ? `Play your pitch on ${p.topic}` : `Play ${p.learner_name}’s pitch on ${p.topic}` }),
    owner && p.reviews.length ? p.reviews.map((r) => reviewView(r, p.rubric)) : null);
}

/** "My pitches": the seller's recordings with status and reviews, and those still on the device. */
export function myPitchesCard(userId) {
  const body = h('div', { 'data-testid': 'my-pitches' }, h('p', { class: 'loading' }, 'Loading…'));
  const element = h('section', { class: 'card', 'aria-labelledby': 'my-pitches-title' },
    h('h2', { id: 'my-pitches-title' }, 'My pitches'), body);
  async function load() {
    const waiting = await pitchOutbox.list(userId);
    const local = waiting.length
      ? h('ul', { class: 'pitch-list waiting', 'data-testid': 'pitches-waiting' }, waiting.map((w) => h('li', { class: 'pitch-item' },
        h('p', { class: 'meta' }, h('span', { class: 'pitch-topic' }, w.topic), h('span', {}, dateTime(w.recorded_at)),
          h('span', { class: 'tag draft' }, 'On this device, waiting to upload')),
        h('p', { class: 'situation' }, w.prompt))))
      : null;
    if (!navigator.onLine) {
      mount(body, local, empty('Your pitches appear when you are online.'));
      return;
    }
    try {
      const mine = await api.get('/api/v1/me/pitches');
      mount(body, local, mine.length
        ? h('ul', { class: 'pitch-list' }, mine.map((p) => pitchItem(p, { owner: true })))
        : (local ? null : empty('Pitch nuggets ask you to record your answer to a client situation; your recordings and their reviews appear here.')));
    } catch (error) {
      mount(body, local, error.network ? empty('Your pitches appear when you are online.') : problemBox(error));
    }
  }
  return { element, load };
}

/** The Exemplars view: pitches shared with the seller's teams, by topic, to watch. */
export async function render(main) {
  const body = h('div', { 'data-testid': 'exemplars' }, h('p', { class: 'loading' }, 'Loading…'));
  mount(main, h('section', { class: 'seller', 'aria-labelledby': 'exemplars-title' },
    h('h1', { id: 'exemplars-title' }, 'Exemplars'),
    h('p', { class: 'muted' }, 'Pitches your coaches shared with your team: how others answered the same client situations.'),
    body));
  let topics;
  try {
    topics = await api.get('/api/v1/me/exemplars');
  } catch (error) {
    mount(body, error.network ? empty('Exemplars can be watched when you are online.') : problemBox(error));
    return;
  }
  mount(body, topics.length
    ? topics.map((t) => h('section', { class: 'card', 'aria-label': t.topic },
      h('h2', {}, t.topic),
      h('ul', { class: 'pitch-list' }, t.pitches.map((p) => pitchItem(p, { owner: false })))))
    : h('div', { class: 'card' }, empty('No exemplar shared with your team yet.')));
}
