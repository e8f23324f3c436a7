// The seller's reminders: push on this device, e-mail, and the time of day. The choices are kept
// on the server (`/api/v1/me/notification-settings`); push also needs this browser's
// subscription, made with the server's public key and registered with
// `/api/v1/me/push-subscriptions`. Every change is saved at once.

import * as api from './api.js';
import { h, mount, field, problemBox, empty } from './ui.js';

const SETTINGS = '/api/v1/me/notification-settings';
const SUBSCRIPTIONS = '/api/v1/me/push-subscriptions';
const PUBLIC_KEY = '/api/v1/push/vapid-public-key';
const WORKER_WAIT_MS = 10_000;
const NO_PUSH = 'Push is not available in this browser.';

/** A reason push cannot be turned on, said to the seller as it is. */
class Refusal extends Error {}

/** The Reminders card; its content loads on its own and never throws. */
export function remindersPanel() {
  const body = h('div', { 'data-testid': 'reminders' }, h('p', { class: 'loading' }, 'Loading…'));
  load(body);
  return h('section', { class: 'card', 'aria-labelledby': 'reminders-title' },
    h('h2', { id: 'reminders-title' }, 'Reminders'), body);
}

const offlineNote = () => empty('Your reminders can be changed when you are online.');

async function load(body) {
  if (!navigator.onLine) {
    mount(body, offlineNote());
    return;
  }
  let settings;
  try {
    settings = await api.get(SETTINGS);
  } catch (error) {
    mount(body, error.network ? offlineNote() : problemBox(error));
    return;
  }
  mount(body, await settingsForm(settings || {}));
}

async function settingsForm(initial) {
  let saved = {
    push: Boolean(initial.push),
    email: Boolean(initial.email),
    remind_at: /^\d{2}:\d{2}$/.test(initial.remind_at) ? initial.remind_at : '09:00',
  };
  const push = h('input', { type: 'checkbox', name: 'push' });
  const email = h('input', { type: 'checkbox', name: 'email' });
  const time = h('input', { type: 'time', name: 'remind_at', step: 60, required: true });
  const message = h('div', { class: 'form-message', role: 'status', 'data-testid': 'reminders-message' });
  const form = h('form', { class: 'reminders', novalidate: true },
    h('p', { class: 'muted' }, 'A nudge when nuggets are waiting for you, at the time you choose.'),
    h('div', { class: 'checks' },
      h('label', { class: 'check' }, push, 'Push on this device'),
      h('label', { class: 'check' }, email, 'E-mail')),
    field('Remind me at', time),
    message);
  const controls = [push, email, time];

  // Push is on for this device when the seller wants it and this browser holds a subscription.
  const show = async () => {
    push.checked = saved.push && Boolean(await subscription().catch(() => null));
    email.checked = saved.email;
    time.value = saved.remind_at;
  };
  const say = (text) => mount(message, h('p', { class: 'notice' }, text));

  async function save(changes) {
    const next = { ...saved, ...changes };
    await api.json(SETTINGS, { method: 'PUT', body: next });
    saved = next;
  }

  /** Runs one change with the controls disabled; what fails is said, and the form shows what is saved. */
  async function change(action, done) {
    controls.forEach((c) => { c.disabled = true; });
    mount(message);
    try {
      await action();
      say(done);
    } catch (error) {
      if (error instanceof Refusal) say(error.message);
      else mount(message, problemBox(error, form));
    } finally {
      await show();
      controls.forEach((c) => { c.disabled = false; });
    }
  }

  push.addEventListener('change', () => (push.checked
    ? change(async () => {
      const sub = await subscribe();
      try {
        await api.post(SUBSCRIPTIONS, sub.toJSON());
      } catch (error) {
        await sub.unsubscribe().catch(() => {});
        throw error;
      }
      await save({ push: true });
    }, 'Push reminders are on for this device.')
    : change(async () => {
      await unsubscribe();
      await save({ push: false });
    }, 'Push reminders are off.')));
  email.addEventListener('change', () => change(() => save({ email: email.checked }),
    email.checked ? 'Reminders will come by e-mail too.' : 'No more e-mail reminders.'));
  time.addEventListener('change', () => {
    if (!/^\d{2}:\d{2}$/.test(time.value)) {
      say('Choose a time, e.g. 08:30.');
      return;
    }
    change(() => save({ remind_at: time.value }), `Reminders come at ${time.value}.`);
  });
  form.addEventListener('submit', (event) => event.preventDefault());
  await show();
  return form;
}

/** The service worker's registration once it is active, or null (none, or not in time). */
async function registration() {
  if (!('serviceWorker' in navigator)) return null;
  if (!(await navigator.serviceWorker.getRegistration('/'))) return null;
  return Promise.race([
    navigator.serviceWorker.ready,
    new Promise((resolve) => { setTimeout(resolve, WORKER_WAIT_MS, null); }),
  ]);
}

async function subscription() {
  const reg = await registration();
  return reg?.pushManager ? reg.pushManager.getSubscription() : null;
}

/** The P-256 public key from its base64url form (65 bytes, uncompressed). */
function keyBytes(text) {
  if (typeof text !== 'string') return null;
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  try {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    return bytes.length === 65 && bytes[0] === 4 ? bytes : null;
  } catch {
    return null;
  }
}

const sameBytes = (a, b) => a && b && a.byteLength === b.byteLength
  && new Uint8Array(a).every((x, i) => x === b[i]);

/** This browser's push subscription for the server's key, asking for permission first. */
async function subscribe() {
  if (!('PushManager' in window) || !('Notification' in window)) throw new Refusal(NO_PUSH);
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') {
    throw new Refusal('Notifications are blocked for this site. Allow them in the browser’s site settings to get reminders here.');
  }
  const key = keyBytes((await api.get(PUBLIC_KEY))?.key);
  if (!key) throw new Refusal(NO_PUSH);
  const reg = await registration();
  if (!reg?.pushManager) throw new Refusal(NO_PUSH);
  try {
    const existing = await reg.pushManager.getSubscription();
    if (existing && sameBytes(existing.options.applicationServerKey, key)) return existing;
    // Made for another key (the server's changed): it could not carry this server's pushes.
    await existing?.unsubscribe();
    return await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  } catch {
    // No push service (e.g. a browser built without one) or one that refused.
    throw new Refusal(NO_PUSH);
  }
}

/** Ends this browser's subscription and asks the server to forget it. */
async function unsubscribe() {
  const sub = await subscription().catch(() => null);
  if (!sub) return;
  const { endpoint } = sub;
  await sub.unsubscribe().catch(() => {});
  try {
    await api.call(`${SUBSCRIPTIONS}?endpoint=${encodeURIComponent(endpoint)}`, { method: 'DELETE' });
  } catch (error) {
    // Unknown to the server: nothing is sent to this device either way.
    if (error.status !== 404) throw error;
  }
}
