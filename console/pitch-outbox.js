// Pitch recordings waiting to be uploaded, kept in IndexedDB (recordings are too large for
// localStorage) per user until `POST /api/v1/me/pitches` has taken them. Each keeps the
// attempt_id it was given when the seller pressed Send, so an upload retried after a lost answer
// is stored once.

import * as api from './api.js';

const DB = 'reprise-pitches';
const STORE = 'uploads';

let opening = null;

function db() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => {
        const store = req.result.createObjectStore(STORE, { keyPath: 'attempt_id' });
        store.createIndex('user_id', 'user_id');
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }).catch((error) => {
      opening = null;
      throw error;
    });
  }
  return opening;
}

/** Runs `work(store)` in one transaction; resolves with the value of the request it returns. */
async function inStore(mode, work) {
  const conn = await db();
  return new Promise((resolve, reject) => {
    const tx = conn.transaction(STORE, mode);
    const req = work(tx.objectStore(STORE));
    let value;
    if (req) req.onsuccess = () => { value = req.result; };
    tx.oncomplete = () => resolve(value);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

// How many wait per user, as last read or written: the header's badge reads it synchronously.
const counts = new Map();

/** The recordings waiting for `userId`, oldest first. */
export async function list(userId) {
  let items = [];
  try {
    items = (await inStore('readonly', (s) => s.index('user_id').getAll(userId))) || [];
  } catch {
    items = [];
  }
  items.sort((a, b) => a.recorded_at.localeCompare(b.recorded_at));
  counts.set(userId, items.length);
  return items;
}

/** The number waiting, as last known (0 before the first `list`). */
export const count = (userId) => counts.get(userId) || 0;

/**
 * Keeps a recording: `{attempt_id, user_id, nugget_id, topic, prompt, type, blob, recorded_at}`.
 * Throws when the device refuses to keep it (storage full, private mode).
 */
export async function add(item) {
  await inStore('readwrite', (s) => s.put(item));
  await list(item.user_id);
}

async function forget(userId, attemptId) {
  await inStore('readwrite', (s) => s.delete(attemptId));
  await list(userId);
}

const uploadPath = (item) => `/api/v1/me/pitches?nugget_id=${encodeURIComponent(item.nugget_id)}&attempt_id=${encodeURIComponent(item.attempt_id)}`;

/** A refusal that sending again cannot change (the server read it and said no). */
const refusedForGood = (status) => status >= 400 && status < 500 && ![401, 408, 425, 429].includes(status);

let syncing = null;

/**
 * Uploads the waiting recordings one at a time. Kept (201) or kept before (200): it leaves the
 * device; refused for good (4xx): it leaves too, reported in `rejected` with the problem; on a
 * network or server error the rest stay for the next try. One sync runs at a time.
 */
export function sync(userId) {
  if (!syncing) {
    syncing = run(userId).finally(() => { syncing = null; });
  }
  return syncing;
}

async function run(userId) {
  const outcome = { sent: [], rejected: [], error: null };
  for (const item of await list(userId)) {
    if (!navigator.onLine) break;
    try {
      const res = await api.call(uploadPath(item), { method: 'POST', body: item.blob, type: item.type });
      outcome.sent.push({ item, pitch: await res.json() });
    } catch (error) {
      if (!refusedForGood(error.status)) {
        outcome.error = error;
        break;
      }
      outcome.rejected.push({ item, problem: error.problem || {} });
    }
    await forget(userId, item.attempt_id);
  }
  return outcome;
}
