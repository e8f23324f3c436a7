// Answers given without a connection, kept in localStorage per user until the batch endpoint has
// taken them. Each answer keeps the attempt_id and answered_at it was given when the seller
// answered, so sending it twice records it once.

import * as api from './api.js';

const key = (userId) => `reprise.outbox.${userId}`;
const BATCH_LIMIT = 100;

export function list(userId) {
  try {
    const items = JSON.parse(localStorage.getItem(key(userId)));
    return Array.isArray(items) ? items : [];
  } catch {
    return [];
  }
}

function save(userId, items) {
  if (items.length) localStorage.setItem(key(userId), JSON.stringify(items));
  else localStorage.removeItem(key(userId));
}

export const count = (userId) => list(userId).length;

export function add(userId, answer) {
  const items = list(userId);
  if (!items.some((a) => a.attempt_id === answer.attempt_id)) items.push(answer);
  save(userId, items);
}

/** A random (version 4) UUID; works outside secure contexts too. */
export function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

let syncing = null;

/**
 * Sends the waiting answers through `POST /api/v1/me/answers/batch`, 100 at a time. Answers the
 * server recorded (201) or had already recorded (200) leave the outbox, and so do answers it
 * refused for good (4xx: reported in `rejected`); on a network or server error the rest stay for
 * the next try. One sync runs at a time.
 */
export function sync(userId) {
  if (!syncing) {
    syncing = run(userId).finally(() => { syncing = null; });
  }
  return syncing;
}

async function run(userId) {
  const outcome = { recorded: [], rejected: [], error: null };
  while (navigator.onLine) {
    const chunk = list(userId).slice(0, BATCH_LIMIT);
    if (!chunk.length) break;
    let response;
    try {
      response = await api.post('/api/v1/me/answers/batch', { answers: chunk });
    } catch (error) {
      if (error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 429) {
        // The batch as a whole was refused (e.g. an answer the server cannot read): drop it
        // rather than retry it forever, and say so.
        outcome.rejected.push(...chunk.map((a) => ({ answer: a, problem: error.problem })));
        forget(userId, chunk.map((a) => a.attempt_id));
        continue;
      }
      outcome.error = error;
      break;
    }
    const done = [];
    for (const item of response.results || []) {
      const answer = chunk.find((a) => a.attempt_id === item.attempt_id);
      if (item.status === 200 || item.status === 201) {
        outcome.recorded.push({ answer, result: item.result });
        done.push(item.attempt_id);
      } else if (item.status >= 400 && item.status < 500) {
        outcome.rejected.push({ answer, problem: item.problem || {} });
        done.push(item.attempt_id);
      }
    }
    if (!done.length) break;
    forget(userId, done);
  }
  return outcome;
}

function forget(userId, attemptIds) {
  save(userId, list(userId).filter((a) => !attemptIds.includes(a.attempt_id)));
}
