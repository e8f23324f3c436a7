// The console's service worker: the app shell and the seller's queue for use without a
// connection, and the reminders sent by push.
//
// What it keeps, and why only that:
// - the shell (the files of `console/`), so the app opens offline;
// - each signed-in learner's last queue (`GET /api/v1/me/queue`), so today's nuggets can be
//   answered offline (answers themselves go through the page's outbox and batch sync).
// No other API response is ever stored: they carry personal data of other people for the author
// and HR roles. Requests other than GET are never touched.
//
// Both are served network first: the server answers the shell with an ETag and `no-cache`, so
// online the page always runs the files of the binary it talks to (a cached shell could call an
// API that has changed), and the check costs a 304. The copy answers when the network fails, or
// when it has not answered within NETWORK_WAIT_MS (the response still refreshes the copy when it
// comes).

// Written in by the server from the console's files: a new build installs a new shell.
const VERSION = '%SHELL_VERSION%';
const SHELL_CACHE = `reprise-shell-${VERSION}`;
// The queue copies outlive a shell version, so an update does not lose them.
const QUEUE_CACHE = 'reprise-queue-v1';
const SHELL = [
  '/',
  '/app.css',
  '/app.js',
  '/api.js',
  '/ui.js',
  '/outbox.js',
  '/offline.js',
  '/reminders.js',
  '/leaderboard.js',
  '/coaching.js',
  '/recording.js',
  '/pitch-outbox.js',
  '/pitch.js',
  '/pitch-review.js',
  '/application.js',
  '/seller.js',
  '/author.js',
  '/editor.js',
  '/hr.js',
  '/favicon.svg',
  '/manifest.webmanifest',
  '/icon-192.png',
  '/icon-512.png',
];
const QUEUE_PATH = '/api/v1/me/queue';
// Where a reminder opens the console: the seller's nuggets for today.
const TODAY = '/#/seller';
const NETWORK_WAIT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    // `reload`: the files of this build, not what the HTTP cache kept from the one before.
    await cache.addAll(SHELL.map((path) => new Request(path, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const keep = new Set([SHELL_CACHE, QUEUE_CACHE]);
    const names = await caches.keys();
    await Promise.all(names.filter((name) => !keep.has(name)).map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === QUEUE_PATH && !url.search) {
    const key = queueKey(request.headers.get('authorization'));
    // Without a learner to file it under, the queue is not kept (nor answered from a copy).
    if (key) event.respondWith(networkFirst(event, QUEUE_CACHE, key));
    return;
  }
  if (SHELL.includes(url.pathname)) event.respondWith(networkFirst(event, SHELL_CACHE, url.pathname));
});

/** The network's answer, kept under `key` when it is a success; the kept copy when the network fails or is slow. */
async function networkFirst(event, cacheName, key) {
  const cache = await caches.open(cacheName);
  const network = fetch(event.request).then(async (response) => {
    if (response.ok && response.type === 'basic') await cache.put(key, response.clone());
    return response;
  });
  event.waitUntil(network.then(() => {}, () => {}));
  let timer;
  const slow = new Promise((resolve) => { timer = setTimeout(resolve, NETWORK_WAIT_MS, null); });
  try {
    const first = await Promise.race([network, slow]);
    if (first) return first;
    return (await cache.match(key)) || network;
  } catch (error) {
    const copy = await cache.match(key);
    if (copy) return copy;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The cache key of a learner's queue copy: organization and user from the access token's claims.
 * The token is not verified here (the server does that); the key only keeps one person's copy
 * from being shown to another who signs in on the same browser.
 */
function queueKey(authorization) {
  const token = /^Bearer (.+)$/.exec(authorization || '')?.[1];
  if (!token) return null;
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload));
    if (typeof claims.org !== 'string' || typeof claims.sub !== 'string') return null;
    return `${QUEUE_PATH}?learner=${encodeURIComponent(claims.org)}/${encodeURIComponent(claims.sub)}`;
  } catch {
    return null;
  }
}

// Messages from the console: { type, token } plus what the type needs; answered on the port sent
// along, if any, once done.
//  - `answered` (nugget_ids): drop nuggets the server has recorded answers for from the copy, so
//    they are not offered again offline;
//  - `signed-out`: drop the learner's copy.
self.addEventListener('message', (event) => {
  const message = event.data || {};
  const done = handleMessage(message)
    .catch(() => {})
    .then(() => event.ports[0]?.postMessage({ done: message.type }));
  event.waitUntil(done);
});

async function handleMessage(message) {
  const key = queueKey(`Bearer ${message.token || ''}`);
  if (!key) return;
  const cache = await caches.open(QUEUE_CACHE);
  if (message.type === 'signed-out') {
    await cache.delete(key);
  } else if (message.type === 'answered' && Array.isArray(message.nugget_ids)) {
    const copy = await cache.match(key);
    if (!copy) return;
    const queue = await copy.json();
    const answered = new Set(message.nugget_ids);
    queue.nuggets = (queue.nuggets || []).filter((n) => !answered.has(n.nugget_id));
    await cache.put(key, new Response(JSON.stringify(queue), {
      headers: { 'content-type': 'application/json' },
    }));
  }
}

// ---- Reminders ----

/** A same-origin path to open, or the today view for anything else (other sites, bad values). */
function consolePath(url) {
  if (typeof url !== 'string' || !url) return TODAY;
  try {
    const target = new URL(url, self.location.origin);
    if (target.origin !== self.location.origin) return TODAY;
    return target.pathname + target.search + target.hash;
  } catch {
    return TODAY;
  }
}

/** The push payload: `{title, body, url, count, tag}`, every field optional. */
function reminderOf(data) {
  let payload = {};
  try {
    const parsed = data ? data.json() : null;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) payload = parsed;
  } catch { /* not JSON: the generic reminder */ }
  const text = (value) => (typeof value === 'string' && value.trim() ? value : null);
  const count = Number.isInteger(payload.count) && payload.count > 0 ? payload.count : null;
  return {
    title: text(payload.title) || 'Today’s nuggets are waiting',
    body: text(payload.body) || (count
      ? `${count} nugget${count === 1 ? '' : 's'} to answer: a few minutes keep what you learned.`
      : 'A few minutes keep what you learned.'),
    tag: text(payload.tag) || 'reprise-today',
    url: consolePath(payload.url),
  };
}

self.addEventListener('push', (event) => {
  const reminder = reminderOf(event.data);
  event.waitUntil(self.registration.showNotification(reminder.title, {
    body: reminder.body,
    icon: '/icon-192.png',
    // One reminder at a time: a newer one with the same tag replaces the older, and alerts again.
    tag: reminder.tag,
    renotify: true,
    data: { url: reminder.url },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openConsole(consolePath(event.notification.data?.url)));
});

/** Brings an open console window to `path`, or opens one there. */
async function openConsole(path) {
  const url = new URL(path, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
  if (open) {
    // Focusing is allowed only while the click is being handled; the navigation is what matters.
    await open.focus().catch(() => {});
    // `navigate` works for windows this worker controls; any other window is left as it is.
    const navigated = await open.navigate(url).catch(() => null);
    if (navigated) return;
  }
  await self.clients.openWindow(url);
}
