// The page's side of the service worker (`/sw.js`): registering it, and telling it what changes
// its copy of the seller's queue.

import * as api from './api.js';

const REPLY_WAIT_MS = 2000;

/** Registers the service worker for the whole console; browsers without one work online only. */
export function register() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((error) => {
    console.warn('Reprise works online only in this browser:', error.message);
  });
}

/** Sends `message` (with the caller's token) to the worker in charge, and waits for its reply. */
function tell(message) {
  const worker = navigator.serviceWorker?.controller;
  const token = api.tokens()?.access_token;
  if (!worker || !token) return Promise.resolve();
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(resolve, REPLY_WAIT_MS);
    channel.port1.onmessage = () => {
      clearTimeout(timer);
      resolve();
    };
    worker.postMessage({ ...message, token }, [channel.port2]);
  });
}

/** The server has recorded answers to these nuggets: they leave the queue kept for offline use. */
export const answered = (nuggetIds) => tell({ type: 'answered', nugget_ids: nuggetIds });

/** The seller signs out: the queue kept for them on this device goes. */
export const signedOut = () => tell({ type: 'signed-out' });
