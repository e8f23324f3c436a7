// Reviewing pitches: a coach (or, where the organization allows peer review, a teammate) lists
// the pitches waiting or reviewed, watches one, scores it 1–4 on each rubric criterion with a
// comment, and shares a good one with the seller's teams as an exemplar.

import * as api from './api.js';
import { recordingPlayer, duration } from './recording.js';
import { SCORE_LABELS, rubricList, reviewView } from './pitch.js';
import { h, mount, field, problemBox, empty, dateTime, busy, uid, announce } from './ui.js';

/**
 * Marks the criteria a problem names (`scores.<criterion>`) on their fieldsets, and the comment;
 * the problem box lists them all.
 */
function markScores(form, errors) {
  for (const el of form.querySelectorAll('.invalid')) el.classList.remove('invalid');
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const e of errors) {
    const inputs = form.querySelectorAll(`[name="${CSS.escape(e.field || '')}"]`);
    for (const input of inputs) input.setAttribute('aria-invalid', 'true');
    inputs[0]?.closest('fieldset')?.classList.add('invalid');
  }
}

/** The scoring form of one pitch; `onReviewed(review)` once the server has kept it. */
function scoringForm(pitch, onReviewed) {
  const message = h('div', { class: 'form-message' });
  const comment = h('textarea', { name: 'comment', rows: 3, maxlength: 2000 });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Send review');
  const groups = pitch.rubric.map((c) => {
    const name = `scores.${c.criterion}`;
    const descId = uid('crit');
    return h('fieldset', { class: 'score-choice', 'aria-describedby': descId },
      h('legend', {}, c.criterion),
      h('p', { class: 'hint', id: descId }, c.description),
      h('div', { class: 'score-options' }, [1, 2, 3, 4].map((n) => h('label', { class: 'chip' },
        h('input', { type: 'radio', name, value: n, required: true }), ` ${n} ${SCORE_LABELS[n]}`))));
  });
  const form = h('form', { class: 'scoring', novalidate: true, 'aria-label': `Score ${pitch.learner_name}’s pitch` },
    groups, field('Comment for the seller', comment, 'What went well, and one thing to try next time.'), message, submit);
  // A criterion scored after a refusal is no longer marked.
  form.addEventListener('change', (event) => {
    const group = event.target.closest('fieldset.invalid');
    if (!group) return;
    group.classList.remove('invalid');
    for (const input of group.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
    if (!form.querySelector('fieldset.invalid')) mount(message);
  });
  form.addEventListener('submit', busy(submit, async () => {
    mount(message);
    const scores = {};
    const missing = [];
    for (const c of pitch.rubric) {
      const checked = form.querySelector(`input[name="${CSS.escape(`scores.${c.criterion}`)}"]:checked`);
      if (checked) scores[c.criterion] = Number(checked.value);
      else missing.push(c.criterion);
    }
    if (missing.length) {
      const errors = missing.map((c) => ({ field: `scores.${c}`, message: 'Choose a score from 1 to 4.' }));
      markScores(form, errors);
      mount(message, problemBox({ problem: {
        title: 'Not scored yet', detail: `Give a score from 1 to 4 for ${missing.join(', ')}.`, errors,
      } }));
      form.querySelector(`input[name="${CSS.escape(`scores.${missing[0]}`)}"]`)?.focus();
      return;
    }
    markScores(form, []);
    try {
      const review = await api.post(`/api/v1/pitches/${encodeURIComponent(pitch.id)}/reviews`, { scores, comment: comment.value.trim() });
      announce('Review sent');
      onReviewed(review);
    } catch (error) {
      markScores(form, error.fieldErrors || []);
      mount(message, problemBox(error));
    }
  }));
  return form;
}

/** One pitch to review: who, what, the situation, the player, the reviews, the form, sharing. */
function pitchEntry(pitch, { coach, me }) {
  const titleId = uid('pitch');
  const tags = h('span', { class: 'tags' });
  const reviews = h('div', { class: 'reviews' });
  const formArea = h('div');
  const shareArea = h('div', { class: 'actions' });

  const paintTags = () => mount(tags,
    pitch.status === 'reviewed' ? h('span', { class: 'tag correct' }, 'Reviewed') : h('span', { class: 'tag draft' }, 'Waiting for review'),
    pitch.shared ? h('span', { class: 'tag chosen', 'data-testid': 'shared' }, 'Shared as exemplar') : null);
  const paintReviews = () => mount(reviews, pitch.reviews.map((r) => reviewView(r, pitch.rubric)));
  const mine = () => pitch.reviews.some((r) => r.reviewer_id === me.user.id);

  function paintForm() {
    mount(formArea, mine() || pitch.learner_id === me.user.id ? null : scoringForm(pitch, (review) => {
      pitch.reviews = [...pitch.reviews, review];
      pitch.status = 'reviewed';
      paintTags();
      paintReviews();
      mount(formArea, h('p', { class: 'notice success', role: 'status', 'data-testid': 'review-sent' },
        `Review sent: ${pitch.learner_name} sees it with their next nugget on ${pitch.topic}.`));
    }));
  }

  function paintShare() {
    if (!coach) return;
    const share = h('button', { type: 'button', disabled: pitch.shared }, pitch.shared ? 'Shared with the team' : 'Share as exemplar');
    const note = h('span', { class: 'form-message' });
    share.addEventListener('click', busy(share, async () => {
      mount(note);
      try {
        Object.assign(pitch, await api.post(`/api/v1/pitches/${encodeURIComponent(pitch.id)}/share`));
        paintTags();
        paintShare();
        announce('Shared as exemplar');
      } catch (error) {
        mount(note, problemBox(error));
      }
    }));
    mount(shareArea, share, note);
  }

  paintTags();
  paintReviews();
  paintForm();
  paintShare();
  return h('article', { class: 'pitch-entry', 'aria-labelledby': titleId, 'data-testid': 'pitch-entry', dataset: { pitchId: pitch.id } },
    h('h3', { id: titleId }, `${pitch.learner_name} · ${pitch.topic}`),
    h('p', { class: 'meta' }, h('span', {}, dateTime(pitch.recorded_at)), h('span', {}, `${duration(pitch.duration_ms)} of ${duration(pitch.max_seconds * 1000)}`), tags),
    h('p', { class: 'situation' }, pitch.prompt),
    recordingPlayer(pitch),
    h('details', {}, h('summary', {}, 'The rubric'), rubricList(pitch.rubric)),
    reviews, formArea, shareArea);
}

/**
 * The Pitches section: pending or reviewed, of one team or all, each to watch, score and share.
 * `coach` (managers and admins) may share; `teams` fills the team filter (none: no filter).
 */
export function pitchesCard({ me, teams = [], coach = true, admin = false, peerReview = false }) {
  const status = h('select', { name: 'status' },
    h('option', { value: 'pending' }, 'Waiting for review'),
    h('option', { value: 'reviewed' }, 'Reviewed'),
    h('option', { value: '' }, 'All'));
  const team = teams.length
    ? h('select', { name: 'team_id' }, h('option', { value: '' }, 'All teams'), teams.map((t) => h('option', { value: t.id }, t.name)))
    : null;
  const body = h('div', { 'data-testid': 'pitches' }, h('p', { class: 'loading' }, 'Loading…'));
  const peer = admin ? h('input', { type: 'checkbox', name: 'peer_review', checked: peerReview }) : null;
  const peerNote = h('span', { class: 'form-message' });
  const element = h('section', { class: 'card pitches', 'aria-labelledby': 'pitches-title' },
    h('h2', { id: 'pitches-title' }, coach ? 'Pitches' : 'Teammates’ pitches'),
    h('p', { class: 'muted' }, coach
      ? 'Recorded answers of your sellers to client situations: watch, score each criterion from 1 (not shown) to 4 (exemplary), and share the good ones with their team. A 1 or 2 brings the pitch back to the seller sooner.'
      : 'Your organization lets teammates review each other’s pitches: watch one and score it on its rubric.'),
    h('form', { class: 'filters', 'aria-label': 'Pitch filters', novalidate: true },
      h('div', { class: 'row' }, field('Show', status), team ? field('Team', team) : null)),
    peer ? h('p', {}, h('label', { class: 'check' }, peer, ' Teammates review each other’s pitches'), peerNote) : null,
    body);

  async function load() {
    mount(body, h('p', { class: 'loading' }, 'Loading…'));
    const q = new URLSearchParams();
    if (status.value) q.set('status', status.value);
    if (team?.value) q.set('team_id', team.value);
    try {
      const list = await api.get(`/api/v1/pitches${q.toString() ? `?${q}` : ''}`);
      mount(body, list.length
        ? list.map((p) => pitchEntry(p, { coach, me }))
        : empty(status.value === 'pending' ? 'No pitch is waiting for a review.' : 'No pitch here yet.'));
    } catch (error) {
      mount(body, problemBox(error));
    }
  }
  status.addEventListener('change', load);
  team?.addEventListener('change', load);
  peer?.addEventListener('change', async () => {
    mount(peerNote);
    try {
      await api.json('/api/v1/org', { method: 'PATCH', body: { peer_review: peer.checked } });
      mount(peerNote, h('span', { class: 'notice success', role: 'status' }, peer.checked ? 'Teammates can now review pitches.' : 'Only coaches review pitches now.'));
    } catch (error) {
      peer.checked = !peer.checked;
      mount(peerNote, problemBox(error));
    }
  });
  return { element, load };
}
