// Pitch recordings: made on the device with the camera (or only the microphone) through
// MediaRecorder, and played back from the server with the caller's token.

import * as api from './api.js';
import { h, mount, problemBox } from './ui.js';

/** What MediaRecorder is asked to make, first supported wins; the server takes all of them. */
export const VIDEO_TYPES = ['video/webm;codecs=vp8,opus', 'video/webm', 'video/mp4'];
export const AUDIO_TYPES = ['audio/webm;codecs=opus', 'audio/webm', 'audio/mp4', 'audio/ogg'];

/** Whether this browser can record at all (a secure context with a camera or microphone API). */
export function canRecord() {
  return Boolean(window.isSecureContext && navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
}

/** The first type of `types` this browser's MediaRecorder makes; '' lets it choose. */
export function pickType(types) {
  return types.find((t) => window.MediaRecorder?.isTypeSupported?.(t)) || '';
}

/** Camera and microphone; the microphone alone where there is no camera. */
async function openStream() {
  try {
    return await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (error) {
    if (!['NotFoundError', 'OverconstrainedError', 'NotReadableError'].includes(error.name)) throw error;
    return navigator.mediaDevices.getUserMedia({ audio: true });
  }
}

/** A problem document for a failed getUserMedia or MediaRecorder, in the seller's words. */
function deviceProblem(error) {
  const detail = {
    NotAllowedError: 'The browser was not allowed to use the camera or microphone. Allow it in the site settings and try again.',
    NotFoundError: 'This device has no camera or microphone the browser can use.',
    NotReadableError: 'The camera or microphone is busy in another app.',
  }[error?.name] || String(error?.message || error);
  return { problem: { title: 'Recording could not start', detail } };
}

const clock = (seconds) => {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** A duration in milliseconds as m:ss. */
export const duration = (ms) => clock((ms || 0) / 1000);

/** Shows a recording (a Blob) in a video or audio element with controls. */
function mediaFor(blob, type, attrs = {}) {
  const url = URL.createObjectURL(blob);
  const tag = /^video\//.test(type || blob.type) ? 'video' : 'audio';
  const el = h(tag, { controls: true, playsinline: true, preload: 'metadata', class: 'recording', ...attrs });
  el.src = url;
  el.addEventListener('emptied', () => URL.revokeObjectURL(url), { once: true });
  return el;
}

/**
 * The recorder of one pitch: Record → live picture and a countdown that stops at `maxSeconds` →
 * the recording played back, with Send and Record again. `onSend(blob, type)` gets the
 * recording; it may return an error to show. `dispose()` lets go of the camera.
 */
export function recorder({ maxSeconds, onSend, label = 'your pitch' }) {
  const area = h('div', { class: 'recorder', 'data-testid': 'recorder' });
  const message = h('div', { class: 'form-message' });
  let stream = null;
  let media = null;
  let timer = null;
  let chunks = [];
  let disposed = false;

  function release() {
    clearInterval(timer);
    timer = null;
    for (const track of stream?.getTracks() || []) track.stop();
    stream = null;
  }

  function idle(again = false) {
    const record = h('button', { type: 'button', class: 'primary record' }, again ? 'Record again' : 'Record');
    record.addEventListener('click', start);
    mount(area,
      canRecord() ? null : h('p', { class: 'problem' }, 'This browser cannot record. Open Reprise in a current browser on your phone.'),
      h('p', { class: 'hint' }, `Up to ${clock(maxSeconds)}. The camera and microphone are used; without a camera, only sound is recorded.`),
      record, message);
    if (!canRecord()) record.disabled = true;
  }

  async function start() {
    mount(message);
    mount(area, h('p', { class: 'loading' }, 'Waiting for the camera and microphone…'));
    try {
      stream = await openStream();
    } catch (error) {
      release();
      idle();
      mount(message, problemBox(deviceProblem(error)));
      return;
    }
    const video = stream.getVideoTracks().length > 0;
    const wanted = pickType(video ? VIDEO_TYPES : AUDIO_TYPES);
    try {
      media = new MediaRecorder(stream, wanted ? { mimeType: wanted } : {});
    } catch (error) {
      release();
      idle();
      mount(message, problemBox(deviceProblem(error)));
      return;
    }
    chunks = [];
    media.addEventListener('dataavailable', (event) => { if (event.data?.size) chunks.push(event.data); });
    media.addEventListener('stop', () => {
      const type = media.mimeType || wanted || (video ? 'video/webm' : 'audio/webm');
      release();
      if (!disposed) recorded(new Blob(chunks, { type }), type);
    });

    const live = video
      ? h('video', { class: 'recording live', muted: true, autoplay: true, playsinline: true, 'aria-label': 'What the camera sees' })
      : h('p', { class: 'notice' }, 'No camera: recording sound only.');
    if (video) {
      live.muted = true;
      live.srcObject = stream;
    }
    const left = h('span', { class: 'countdown-time', 'data-testid': 'countdown' }, clock(maxSeconds));
    const progress = h('progress', { max: maxSeconds, value: 0, 'aria-label': 'Recording time used' });
    const stop = h('button', { type: 'button', class: 'primary stop' }, 'Stop');
    stop.addEventListener('click', () => { if (media.state !== 'inactive') media.stop(); });
    mount(area,
      h('p', { class: 'recording-state', role: 'status' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), 'Recording ', label),
      live,
      h('p', { class: 'countdown', role: 'timer', 'aria-live': 'off' }, left, ' left'),
      progress, stop);
    const began = performance.now();
    media.start(1000);
    stop.focus();
    timer = setInterval(() => {
      const used = (performance.now() - began) / 1000;
      left.textContent = clock(maxSeconds - used);
      progress.value = Math.min(maxSeconds, used);
      if (used >= maxSeconds && media.state === 'recording') media.stop();
    }, 250);
  }

  function recorded(blob, type) {
    const send = h('button', { type: 'button', class: 'primary' }, 'Send');
    const again = h('button', { type: 'button' }, 'Record again');
    const player = mediaFor(blob, type, { 'data-testid': 'preview' });
    again.addEventListener('click', () => {
      player.removeAttribute('src');
      player.load();
      start();
    });
    send.addEventListener('click', async () => {
      send.disabled = true;
      again.disabled = true;
      send.setAttribute('aria-busy', 'true');
      mount(message);
      const error = await onSend(blob, type);
      send.removeAttribute('aria-busy');
      if (error) {
        mount(message, problemBox(error));
        again.disabled = false;
      }
    });
    mount(area,
      h('p', { class: 'recording-state done', role: 'status' }, 'Your recording: watch it, then send it or record again.'),
      player,
      h('div', { class: 'actions' }, send, again),
      message);
    send.focus();
  }

  idle();
  return {
    element: area,
    dispose() {
      disposed = true;
      if (media && media.state !== 'inactive') {
        try { media.stop(); } catch { /* already stopped */ }
      }
      release();
    },
  };
}

/**
 * A pitch's recording, fetched with the caller's token when asked for (it is personal and may be
 * large) and played from memory.
 */
export function recordingPlayer(pitch, { label } = {}) {
  const area = h('div', { class: 'player', 'data-testid': 'player' });
  const play = h('button', { type: 'button', class: 'small play', 'aria-label': label || `Play the recording of ${pitch.learner_name} on ${pitch.topic}` },
    `▶ Play (${duration(pitch.duration_ms)})`);
  play.addEventListener('click', async () => {
    play.disabled = true;
    play.setAttribute('aria-busy', 'true');
    try {
      const res = await api.call(pitch.recording_url || `/api/v1/pitches/${encodeURIComponent(pitch.id)}/recording`);
      const blob = await res.blob();
      const el = mediaFor(blob, pitch.content_type || res.headers.get('content-type'), { autoplay: true });
      mount(area, el);
      el.focus();
    } catch (error) {
      play.disabled = false;
      play.removeAttribute('aria-busy');
      mount(area, play, problemBox(error));
    }
  });
  return mount(area, play);
}
