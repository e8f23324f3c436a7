// The seller's view, mobile first: today's nuggets one at a time, feedback after each answer,
// pitches recorded on the device, progress and streak, their pitches and reviews, answering and
// recording offline, reminders, and vacation pauses.

import * as api from './api.js';
import * as outbox from './outbox.js';
import * as pitchOutbox from './pitch-outbox.js';
import { pitchCard, myPitchesCard, reviewNotice } from './pitch.js';
import { pitchesCard } from './pitch-review.js';
import * as offline from './offline.js';
import { remindersPanel } from './reminders.js';
import { standingCard, standingLine, standingPath } from './leaderboard.js';
import { h, mount, field, problemBox, announce, empty, pct, num, date, today, bar, busy, table, uid } from './ui.js';

const LETTERS = 'ABCDEF';
const RETRY_MS = 30_000;

export async function render(main, ctx) {
  const userId = ctx.me.user.id;
  const queueArea = h('div', { class: 'queue', 'data-testid': 'queue' });
  const progressArea = h('div', { 'data-testid': 'progress' });
  const syncArea = h('div', { class: 'sync-message', role: 'status' });
  const queueNote = h('div', { class: 'sync-message', 'data-testid': 'queue-note' });
  const pauseArea = h('div');
  const standing = standingCard(ctx);
  const myPitches = myPitchesCard(userId);
  // Teammates review each other's pitches where the organization allows it.
  const peerPitches = ctx.me.organization?.peer_review ? pitchesCard({ me: ctx.me, coach: false }) : null;
  mount(main,
    h('section', { class: 'seller', 'aria-labelledby': 'today-title' },
      h('h1', { id: 'today-title' }, 'Today’s nuggets'),
      syncArea,
      queueNote,
      queueArea),
    h('section', { class: 'card', 'aria-labelledby': 'progress-title' },
      h('h2', { id: 'progress-title' }, 'Your progress'), progressArea),
    myPitches.element,
    peerPitches?.element,
    standing.element,
    remindersPanel(),
    h('section', { class: 'card', 'aria-labelledby': 'pause-title' },
      h('h2', { id: 'pause-title' }, 'Take a break'), pauseArea));

  let nuggets = [];
  let index = 0;
  // The recorder on screen, if any: it lets go of the camera when the nugget changes.
  let shown = null;

  const pendingIds = async () => new Set([
    ...outbox.list(userId).map((a) => a.nugget_id),
    ...(await pitchOutbox.list(userId)).map((p) => p.nugget_id),
  ]);
  // The queue for offline use is kept by the service worker, not in localStorage: a copy left
  // there is removed.
  localStorage.removeItem(`reprise.queue.${userId}`);

  async function loadQueue() {
    let queue;
    try {
      // Without a connection the service worker answers with the queue it kept from the last load.
      queue = await api.get('/api/v1/me/queue');
    } catch (error) {
      mount(queueNote);
      mount(queueArea, error.network
        ? h('div', { class: 'card' }, empty('You are offline and today’s nuggets have not been loaded on this device yet. They will appear when you are back online.'))
        : problemBox(error));
      return;
    }
    mount(queueNote, !navigator.onLine && queue.date && queue.date < today()
      ? h('p', { class: 'notice' }, `These nuggets were kept on this device on ${date(queue.date)}. New ones arrive when you are back online.`)
      : null);
    const pending = await pendingIds();
    ctx.refreshStatus();
    nuggets = (queue.nuggets || []).filter((n) => !pending.has(n.nugget_id));
    index = 0;
    showCurrent();
  }

  function showCurrent() {
    shown?.dispose();
    shown = null;
    if (index >= nuggets.length) {
      mount(queueArea, h('div', { class: 'card done', 'data-testid': 'done' },
        h('h2', { tabindex: '-1' }, 'All done for today'),
        h('p', {}, outbox.count(userId) || pitchOutbox.count(userId)
          ? 'Your answers are saved on this device and will be sent when you are back online.'
          : 'Nothing more is due today. Your next nuggets arrive on their schedule.')));
      return;
    }
    const nugget = nuggets[index];
    if (nugget.kind === 'pitch') {
      shown = pitchCard(nugget, index, nuggets.length, sendPitch);
      mount(queueArea, shown.element);
    } else {
      const card = nuggetCard(nugget, index, nuggets.length, submit);
      // A review of the seller's pitch on this topic comes with the nugget until they have read it.
      if (nugget.pitch_review) card.querySelector('.meta').after(reviewNotice(nugget.pitch_review));
      mount(queueArea, card);
    }
    // A coach's note shown with the nugget is marked seen, so the next queue no longer carries it.
    if (nugget.coach_note && navigator.onLine) {
      api.post(`/api/v1/me/coach-notes/${encodeURIComponent(nugget.coach_note.id)}/seen`).catch(() => {});
    }
  }

  /** After an answer: this week's points and ranks, read once the answer is recorded. */
  async function showStanding(area) {
    if (!ctx.me.organization?.leaderboards) return;
    try {
      mount(area, standingLine(await api.get(standingPath(ctx.me))));
    } catch { /* the standing is a bonus; the feedback stands without it */ }
    standing.load();
  }

  async function submit(nugget, selected, confidence, shownAt) {
    const answer = {
      attempt_id: outbox.uuid(),
      nugget_id: nugget.nugget_id,
      selected,
      answered_at: new Date().toISOString(),
      response_ms: Math.max(0, Math.round(performance.now() - shownAt)),
    };
    if (confidence) answer.confidence = confidence;
    if (!navigator.onLine) return keepOffline(answer, nugget);
    try {
      const result = await api.post('/api/v1/me/answers', answer);
      offline.answered([nugget.nugget_id]);
      const card = feedbackCard(nugget, result, next, index + 1 < nuggets.length);
      mount(queueArea, card);
      focusHeading(queueArea);
      showStanding(card.querySelector('[data-testid=feedback-standing]'));
      announce(result.correct ? 'Correct' : 'Not quite');
      loadProgress();
      if (outbox.count(userId)) syncNow();
    } catch (error) {
      if (error.network) return keepOffline(answer, nugget);
      return error;
    }
    return null;
  }

  /**
   * A recording goes through the outbox (IndexedDB) first, so one that cannot be sent now waits
   * on the device; online, it is uploaded at once.
   */
  async function sendPitch(nugget, blob, type) {
    const item = {
      attempt_id: outbox.uuid(),
      user_id: userId,
      nugget_id: nugget.nugget_id,
      topic: nugget.topic,
      prompt: nugget.prompt,
      type,
      blob,
      bytes: blob.size,
      recorded_at: new Date().toISOString(),
    };
    try {
      await pitchOutbox.add(item);
    } catch {
      return { problem: { title: 'Not saved', detail: 'This device would not keep the recording (is its storage full?). Free some space and record again.' } };
    }
    ctx.refreshStatus();
    if (!navigator.onLine) return pitchKept(nugget);
    const outcome = await pitchOutbox.sync(userId);
    ctx.refreshStatus();
    const sent = outcome.sent.find((s) => s.item.attempt_id === item.attempt_id);
    const refused = outcome.rejected.find((r) => r.item.attempt_id === item.attempt_id);
    if (refused) return { problem: { title: 'The recording was not accepted', ...refused.problem } };
    if (!sent) return pitchKept(nugget);
    offline.answered(outcome.sent.map((s) => s.item.nugget_id));
    shown?.dispose();
    shown = null;
    mount(queueArea, h('section', { class: 'card feedback right', 'data-testid': 'pitch-sent' },
      h('h2', { tabindex: '-1', class: 'verdict' }, '✓ Pitch sent'),
      h('p', {}, `Your coach reviews your answer on “${nugget.topic}”; you see the scores and comment with a later nugget of this topic and under My pitches.`),
      h('button', { type: 'button', class: 'primary', onclick: next }, index + 1 < nuggets.length ? 'Next nugget' : 'Finish')));
    focusHeading(queueArea);
    announce('Pitch sent');
    myPitches.load();
    return null;
  }

  function pitchKept(nugget) {
    shown?.dispose();
    shown = null;
    mount(queueArea, h('div', { class: 'card feedback', 'data-testid': 'saved-offline' },
      h('h2', { tabindex: '-1' }, 'Saved on this device'),
      h('p', {}, navigator.onLine ? 'The server could not be reached. ' : 'You are offline. ',
        'Your recording on “', nugget.topic, '” is kept here and uploaded as soon as the connection is back.'),
      h('button', { type: 'button', class: 'primary', onclick: next },
        index + 1 < nuggets.length ? 'Next nugget' : 'Finish')));
    focusHeading(queueArea);
    announce('Saved on this device');
    myPitches.load();
    return null;
  }

  function keepOffline(answer, nugget) {
    outbox.add(userId, answer);
    ctx.refreshStatus();
    mount(queueArea, h('div', { class: 'card feedback', 'data-testid': 'saved-offline' },
      h('h2', { tabindex: '-1' }, 'Saved on this device'),
      h('p', {}, navigator.onLine ? 'The server could not be reached. ' : 'You are offline. ',
        'Your answer is kept here and sent as soon as the connection is back; the feedback for “',
        nugget.topic, '” comes then.'),
      h('button', { type: 'button', class: 'primary', onclick: next },
        index + 1 < nuggets.length ? 'Next nugget' : 'Finish')));
    focusHeading(queueArea);
    announce('Saved on this device');
    return null;
  }

  function next() {
    index += 1;
    showCurrent();
    const first = queueArea.querySelector('input, h2[tabindex]');
    first?.focus();
  }

  async function loadProgress() {
    if (!navigator.onLine) {
      if (!progressArea.childElementCount) mount(progressArea, empty('Your progress appears when you are online.'));
      return;
    }
    try {
      mount(progressArea, progressView(await api.get('/api/v1/me/progress')));
    } catch (error) {
      if (!error.network || !progressArea.childElementCount) mount(progressArea, problemBox(error));
    }
  }

  /** Uploads the recordings waiting on the device, and says what happened to them. */
  async function syncPitches() {
    if (!navigator.onLine || !(await pitchOutbox.list(userId)).length) return [];
    const outcome = await pitchOutbox.sync(userId);
    ctx.refreshStatus();
    if (outcome.sent.length) await offline.answered(outcome.sent.map((s) => s.item.nugget_id));
    const parts = [];
    if (outcome.sent.length) {
      parts.push(h('p', { class: 'notice success', 'data-testid': 'pitches-synced' },
        `${outcome.sent.length} recording${outcome.sent.length === 1 ? '' : 's'} made offline uploaded.`));
    }
    for (const { item, problem } of outcome.rejected) {
      parts.push(problemBox({ problem: { title: `Your recording on “${item.topic}” was not accepted`, ...problem } }));
    }
    if (outcome.error) parts.push(problemBox(outcome.error));
    if (outcome.sent.length || outcome.rejected.length) myPitches.load();
    return parts;
  }

  async function syncNow() {
    const pitchParts = await syncPitches();
    if (!outbox.count(userId) || !navigator.onLine) {
      if (pitchParts.length) mount(syncArea, pitchParts);
      return;
    }
    mount(syncArea, h('p', { class: 'notice' }, 'Sending the answers you gave offline…'));
    const outcome = await outbox.sync(userId);
    ctx.refreshStatus();
    const settled = [...outcome.recorded, ...outcome.rejected].map((r) => r.answer?.nugget_id).filter(Boolean);
    if (settled.length) await offline.answered(settled);
    const parts = [];
    if (outcome.recorded.length) {
      const right = outcome.recorded.filter((r) => r.result?.correct).length;
      parts.push(h('p', { class: 'notice success', 'data-testid': 'synced' },
        `${outcome.recorded.length} answer${outcome.recorded.length === 1 ? '' : 's'} given offline synced: ${right} correct.`));
    }
    for (const { problem } of outcome.rejected) {
      parts.push(problemBox({ problem: { title: 'An offline answer was not recorded', ...problem } }));
    }
    if (outcome.error) parts.push(problemBox(outcome.error));
    mount(syncArea, parts, pitchParts);
    if (outcome.recorded.length) {
      await loadProgress();
      if (index >= nuggets.length) await loadQueue();
    }
  }

  async function onOnline() {
    await syncNow();
    if (!progressArea.querySelector('dl')) await loadProgress();
    await myPitches.load();
  }
  function onOffline() {
    mount(syncArea, h('p', { class: 'notice' }, 'You are offline. Keep answering: your answers and recordings are saved on this device.'));
  }

  window.addEventListener('online', onOnline);
  window.addEventListener('offline', onOffline);
  // Answers kept after a failed request (while the browser thought it was online) are retried.
  const retry = setInterval(() => { if (outbox.count(userId) || pitchOutbox.count(userId)) syncNow(); }, RETRY_MS);
  mount(pauseArea, pauseForm());
  if (!navigator.onLine) onOffline();
  await syncNow();
  await Promise.all([loadQueue(), loadProgress(), standing.load(), myPitches.load(), peerPitches?.load()]);
  return () => {
    shown?.dispose();
    clearInterval(retry);
    window.removeEventListener('online', onOnline);
    window.removeEventListener('offline', onOffline);
  };
}

function focusHeading(area) {
  area.querySelector('h2[tabindex]')?.focus();
}

/** One nugget as a seller sees it; `onAnswer` gets (nugget, selected ids, confidence, shownAt). */
/** Where this server serves the images it keeps: organization and content hash. */
const KEPT_IMAGE = /^\/media\/[^/]+\/[0-9a-f]{64}\.(png|jpg|webp)$/;

/**
 * A nugget's picture when it is one this server keeps (shown inline, loaded from this server
 * whatever host name its address was written with), else a link to the media.
 */
function mediaOf(nugget) {
  if (!nugget.media_url) return null;
  let url;
  try {
    url = new URL(nugget.media_url, location.href);
  } catch {
    return null;
  }
  if (KEPT_IMAGE.test(url.pathname)) {
    return h('img', { class: 'nugget-image', src: url.pathname, alt: '', loading: 'lazy', 'data-testid': 'nugget-image' });
  }
  return h('p', {}, h('a', { href: nugget.media_url, rel: 'noopener noreferrer', target: '_blank' }, 'Open the attached media'));
}

export function nuggetCard(nugget, position, total, onAnswer) {
  const shownAt = performance.now();
  const type = nugget.multiple ? 'checkbox' : 'radio';
  const name = uid('option');
  const promptId = uid('prompt');
  const message = h('div', { class: 'form-message' });
  const options = nugget.options.map((o, i) => h('label', { class: 'option' },
    h('input', { type, name, value: o.id }),
    h('span', { class: 'letter', 'aria-hidden': 'true' }, LETTERS[i] || ''),
    h('span', { class: 'option-text' }, o.text)));
  const confidenceName = uid('confidence');
  const submitButton = h('button', { type: 'submit', class: 'primary' }, 'Answer');
  const form = h('form', { class: 'nugget-form', novalidate: true },
    h('fieldset', { class: 'options' },
      h('legend', { id: promptId, class: 'prompt' }, nugget.prompt),
      nugget.multiple ? h('p', { class: 'hint' }, 'Choose every answer that applies.') : null,
      mediaOf(nugget),
      options),
    h('fieldset', { class: 'confidence' },
      h('legend', {}, 'How sure are you? (optional)'),
      h('label', { class: 'chip' }, h('input', { type: 'radio', name: confidenceName, value: 'sure' }), ' Sure'),
      h('label', { class: 'chip' }, h('input', { type: 'radio', name: confidenceName, value: 'unsure' }), ' Unsure')),
    message,
    submitButton);
  // Enter on an option or a confidence choice answers, as it does in a text field.
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && event.target instanceof HTMLInputElement) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', busy(submitButton, async () => {
    const selected = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
    if (!selected.length) {
      mount(message, h('p', { class: 'field-error', role: 'alert' }, nugget.multiple ? 'Choose at least one answer.' : 'Choose an answer.'));
      form.querySelector(`input[name="${name}"]`).focus();
      return;
    }
    mount(message);
    const confidence = form.querySelector(`input[name="${confidenceName}"]:checked`)?.value;
    const error = await onAnswer(nugget, selected, confidence, shownAt);
    if (error) mount(message, problemBox(error));
  }));
  const note = nugget.coach_note;
  return h('article', { class: 'card nugget', 'aria-labelledby': promptId, 'data-testid': 'nugget' },
    h('p', { class: 'meta' },
      h('span', {}, `${position + 1} of ${total}`),
      h('span', {}, nugget.topic),
      h('span', { class: 'tag' }, nugget.review ? 'Review' : 'New')),
    note ? h('aside', { class: 'coach-note', 'data-testid': 'coach-note', 'aria-label': `Note from ${note.author}` },
      h('p', { class: 'coach-note-title' }, `Note from ${note.author} on ${note.topic}`),
      h('p', { class: 'coach-note-body' }, note.body)) : null,
    form);
}

/** The graded answer: right or wrong, every option with its feedback, the why, and the team. */
export function feedbackCard(nugget, result, onNext, more) {
  const letter = (id) => LETTERS[result.options.findIndex((o) => o.id === id)] || id;
  const peers = (label, group) => {
    if (!group || !group.answers) return null;
    return h('div', { class: 'peers' },
      h('h3', {}, `${label} (${group.answers} answer${group.answers === 1 ? '' : 's'})`),
      h('ul', { class: 'bars' }, result.options.map((o) => {
        const share = group.options.find((s) => s.id === o.id)?.share || 0;
        return h('li', { class: o.correct ? 'is-correct' : '' },
          h('span', { class: 'bar-label' }, `${letter(o.id)}${o.correct ? ' ✓' : ''}`),
          bar(share, o.correct ? 'correct' : ''),
          h('span', { class: 'bar-value' }, pct(share)),
          h('span', { class: 'visually-hidden' }, ` chose “${o.text}”`));
      })));
  };
  return h('section', { class: `card feedback ${result.correct ? 'right' : 'wrong'}`, 'data-testid': 'feedback' },
    h('h2', { tabindex: '-1', class: 'verdict' }, result.correct ? '✓ Correct' : '✗ Not quite'),
    h('p', { class: 'prompt' }, nugget.prompt),
    h('ul', { class: 'options-feedback' }, result.options.map((o) => h('li', {
      class: [o.correct ? 'correct' : '', o.chosen ? 'chosen' : ''].join(' ').trim(),
    },
    h('p', {}, h('span', { class: 'letter', 'aria-hidden': 'true' }, letter(o.id)), ' ', o.text),
    h('p', { class: 'marks' },
      o.correct ? h('span', { class: 'tag correct' }, 'Correct answer') : null,
      o.chosen ? h('span', { class: 'tag chosen' }, 'Your answer') : null),
    o.feedback ? h('p', { class: 'option-feedback' }, o.feedback) : null))),
    // A nugget imported without an explanation: the options' feedback above carries the
    // why, and the correct answer is named in words.
    result.explanation ? h('h3', {}, 'Why') : null,
    result.explanation
      ? h('p', { class: 'explanation' }, result.explanation)
      : h('p', { class: 'explanation', 'data-testid': 'correct-answer' },
        `The correct answer: ${result.options.filter((o) => o.correct).map((o) => o.text).join('; ')}`),
    peers('How your team answered', result.team),
    result.team?.answers ? null : peers('How your organization answered', result.org),
    result.proficiency
      ? h('p', { class: 'muted' },
        `Your proficiency in “${result.proficiency.topic}”: ${pct(result.proficiency.topic_proficiency)}. `,
        result.next_due ? `This nugget comes back ${date(result.next_due)}.` : 'You have mastered this nugget.')
      : null,
    h('div', { 'data-testid': 'feedback-standing' }),
    onNext ? h('button', { type: 'button', class: 'primary', onclick: onNext }, more ? 'Next nugget' : 'Finish') : null);
}

function figureList(f, streak) {
  const item = (label, value, testid) => h('div', { class: 'figure' },
    h('dt', {}, label), h('dd', { 'data-testid': testid || null }, value));
  return h('dl', { class: 'figures' },
    item('Proficiency now', pct(f.proficiency), 'proficiency'),
    item('At first attempt', pct(f.initial_proficiency)),
    item('Knowledge gain', f.knowledge_gain === null || f.knowledge_gain === undefined
      ? '—' : `${f.knowledge_gain >= 0 ? '+' : '−'}${Math.abs(Math.round(f.knowledge_gain * 100))} pts`),
    item('Answers', num(f.answers), 'answers-count'),
    item('Right', num(f.correct_answers)),
    item('Mastered', `${num(f.mastered)} of ${num(f.nuggets)}`),
    streak === undefined ? null : item('Streak', `${streak} day${streak === 1 ? '' : 's'}`, 'streak'));
}

function progressView(p) {
  if (!p.overall.answers && !p.packs.length) {
    return h('div', {}, figureList(p.overall, p.streak_days), empty('Answer your first nugget to see your progress by pack and topic.'));
  }
  const rows = [];
  for (const pack of p.packs) {
    rows.push(h('tr', { class: 'group' },
      h('th', { scope: 'row' }, pack.pack), h('td', {}, pct(pack.proficiency)),
      h('td', {}, pct(pack.initial_proficiency)), h('td', {}, num(pack.answers)), h('td', {}, `${pack.mastered}/${pack.nuggets}`)));
    for (const t of pack.topics || []) {
      rows.push(h('tr', {},
        h('th', { scope: 'row', class: 'sub' }, t.topic), h('td', {}, pct(t.proficiency)),
        h('td', {}, pct(t.initial_proficiency)), h('td', {}, num(t.answers)), h('td', {}, `${t.mastered}/${t.nuggets}`)));
    }
  }
  const week = (p.due_next_7_days || []).filter((d) => d.nuggets > 0);
  return h('div', {},
    figureList(p.overall, p.streak_days),
    table('By pack and topic', ['Pack / topic', 'Now', 'First try', 'Answers', 'Mastered'], rows),
    h('h3', {}, 'Coming back this week'),
    week.length
      ? h('ul', { class: 'week' }, week.map((d) => h('li', {}, `${date(d.date)}: ${d.nuggets} nugget${d.nuggets === 1 ? '' : 's'}`)))
      : empty('Nothing you have seen is due in the next 7 days.'));
}

function pauseForm() {
  const starts = h('input', { type: 'date', name: 'starts_on', required: true, value: today(1), min: today() });
  const ends = h('input', { type: 'date', name: 'ends_on', required: true, value: today(7), min: today() });
  const submit = h('button', { type: 'submit' }, 'Pause my nuggets');
  const message = h('div', { class: 'form-message' });
  const list = h('div');
  const form = h('form', { class: 'inline-form', novalidate: true },
    h('p', { class: 'muted' }, 'Going on holiday? Nothing is due on those days, and your schedule moves later by the same number of days.'),
    h('div', { class: 'row' }, field('First day off', starts), field('Last day off', ends)),
    message, submit, list);
  async function loadPauses() {
    if (!navigator.onLine) return;
    try {
      const pauses = await api.get('/api/v1/me/pauses');
      mount(list, pauses.length
        ? [h('h3', {}, 'Your pauses'), h('ul', {}, pauses.map((p) => h('li', {}, `${date(p.starts_on)} – ${date(p.ends_on)}`)))]
        : null);
    } catch (error) {
      if (!error.network) mount(list, problemBox(error));
    }
  }
  form.addEventListener('submit', busy(submit, async () => {
    mount(message);
    try {
      const pause = await api.post('/api/v1/me/pause', { starts_on: starts.value, ends_on: ends.value });
      mount(message, h('p', { class: 'notice success', role: 'status' }, `Paused from ${date(pause.starts_on)} to ${date(pause.ends_on)}.`));
      loadPauses();
    } catch (error) {
      mount(message, problemBox(error, form));
    }
  }));
  loadPauses();
  return form;
}
