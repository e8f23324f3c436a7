// Journeys through the web console in Debian's chromium, driven by playwright-core, against a
// running `reprise serve --demo` (REPRISE_URL). Screenshots go to ARTIFACTS_DIR.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.REPRISE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
const ARTIFACTS = process.env.ARTIFACTS_DIR || path.resolve(here, '../../target/browser-artifacts');
const PASSWORD = 'demo-password';
const MOBILE = { width: 360, height: 780 };
const DESKTOP = { width: 1280, height: 900 };
const TEST_TIMEOUT = 120_000;

fs.mkdirSync(ARTIFACTS, { recursive: true });

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // A fake camera and microphone (a test pattern and a tone), allowed without asking, for the
    // pitch recordings.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
});

after(async () => {
  await browser?.close();
});

// ---- API helpers (the checks go through the public API, as any client) ----

async function api(pathname, { token, method = 'GET', body } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${BASE}${pathname}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function token(email) {
  const res = await api('/api/v1/auth/login', { method: 'POST', body: { email, password: PASSWORD } });
  assert.equal(res.status, 200, `login ${email}`);
  return res.body.access_token;
}

async function answersCount(email) {
  const res = await api('/api/v1/me/progress', { token: await token(email) });
  assert.equal(res.status, 200);
  return res.body.overall.answers;
}

async function routeExists(route) {
  const spec = await api('/api/v1/openapi.json');
  return Boolean(spec.body?.paths?.[route]);
}

// ---- Browser helpers ----

/** A fresh browser context with console errors collected. */
async function open(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  return {
    context,
    page,
    /** Fails on any console error except resource loads answered with an expected status (or text). */
    assertNoConsoleErrors(expectedStatuses = []) {
      const unexpected = errors.filter((e) => !expectedStatuses.some((s) => e.includes(typeof s === 'number' ? `status of ${s}` : s)));
      assert.deepEqual(unexpected, [], 'console errors');
    },
  };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A screenshot of one part of the page (a card), for the manual. */
async function shotOf(locator, name) {
  await locator.scrollIntoViewIfNeeded();
  await locator.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

async function signIn(page, email) {
  await page.goto(`${BASE}/`);
  await page.getByLabel('E-mail', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  // The organization is optional; naming it must sign in the same.
  await page.getByLabel('Organization', { exact: true }).fill('demo-sales-co');
  await page.getByLabel('Password', { exact: true }).press('Enter');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Waits until the console's service worker controls the page. */
async function controlled(page) {
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  return page.evaluate(() => new URL(navigator.serviceWorker.controller.scriptURL).pathname);
}

/** The notifications the service worker shows, as plain objects. */
function notifications(page, filter = {}) {
  return page.evaluate(async (options) => {
    const registration = await navigator.serviceWorker.ready;
    return (await registration.getNotifications(options))
      .map(({ title, body, tag, icon, data }) => ({ title, body, tag, icon: new URL(icon).pathname, data }));
  }, filter);
}

/** Polls `read` until `done(value)` holds; returns the value (the last one on timeout). */
async function until(read, done, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < end) {
    await new Promise((resolve) => { setTimeout(resolve, 100); });
    value = await read();
  }
  return value;
}

/** Nothing makes the page scroll sideways (wide tables scroll inside their own region). */
async function assertFitsWidth(page) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `page is ${scroll}px wide in a ${width}px viewport`);
}

/** Every form control has an accessible name (a label or aria-label). */
async function assertLabelled(page) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter((el) => !el.labels?.length && !el.getAttribute('aria-label') && !el.closest('[hidden]'))
    .map((el) => el.outerHTML));
  assert.deepEqual(unlabelled, [], 'controls without a label');
}

/** Answers the nugget on screen by choosing its first option (and all options when multiple). */
async function answerShownNugget(page, { confidence, keyboard } = {}) {
  const nugget = page.getByTestId('nugget');
  await nugget.waitFor();
  const options = nugget.locator('.options input');
  const type = await options.first().getAttribute('type');
  if (keyboard) {
    // Tab to the first option, choose it with Space, answer with Enter.
    await options.first().focus();
    await page.keyboard.press('Space');
    if (type === 'checkbox') {
      for (const box of (await options.all()).slice(1)) await box.check();
    }
    await page.keyboard.press('Enter');
    return;
  }
  if (type === 'checkbox') {
    for (const box of await options.all()) await box.check();
  } else {
    await options.first().check();
  }
  if (confidence) await nugget.getByLabel(confidence === 'sure' ? 'Sure' : 'Unsure', { exact: true }).check();
  await nugget.getByRole('button', { name: 'Answer' }).click();
}

// ---- Journeys ----

test('the console installs as an app: Chromium reads its manifest and icons without errors', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await page.goto(`${BASE}/`);
  const cdp = await context.newCDPSession(page);
  const { url, errors, data } = await cdp.send('Page.getAppManifest');
  assert.equal(new URL(url).pathname, '/manifest.webmanifest');
  assert.deepEqual(errors, [], 'manifest parse errors');
  const manifest = JSON.parse(data);
  assert.equal(manifest.display, 'standalone');
  assert.equal(manifest.start_url, '/#/seller');
  for (const icon of manifest.icons) {
    const res = await page.request.get(`${BASE}${icon.src}`);
    assert.equal(res.status(), 200, icon.src);
    assert.equal(res.headers()['content-type'], 'image/png');
  }
  assert.equal(await page.locator('meta[name="theme-color"]').getAttribute('content'), manifest.theme_color);

  // The service worker installs with the app shell cached, and controls the console once reloaded.
  const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
  assert.equal(scope, `${BASE}/`);
  await page.reload();
  assert.equal(await controlled(page), '/sw.js');
  const shell = await page.evaluate(async () => {
    const names = await caches.keys();
    const cache = await caches.open(names.find((n) => n.startsWith('reprise-shell-')));
    return { names, files: (await cache.keys()).map((r) => new URL(r.url).pathname) };
  });
  assert.equal(shell.names.length, 1, 'one cache: the shell of this build');
  for (const file of ['/', '/app.js', '/seller.js', '/app.css', '/manifest.webmanifest', '/icon-192.png', '/icon-512.png']) {
    assert.ok(shell.files.includes(file), `${file} is cached`);
  }
  assert.ok(!shell.files.some((f) => f.startsWith('/api/')), 'no API response in the shell');
  assertNoConsoleErrors();
  await context.close();
});

test('offline start: a seller who loaded today’s nuggets opens the console with no connection and answers', { timeout: TEST_TIMEOUT }, async () => {
  const email = 'seller07@demo.example';
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await page.goto(`${BASE}/`);
  await controlled(page);
  await signIn(page, email);
  const nugget = page.getByTestId('nugget');
  await nugget.waitFor();
  await page.getByTestId('answers-count').waitFor();
  const first = await nugget.locator('.prompt').innerText();
  const total = Number((await nugget.locator('.meta span').first().innerText()).split(' of ')[1]);
  assert.ok(total >= 2, 'the demo seller has at least two nuggets today');
  const kept = await page.evaluate(async () => {
    const names = await caches.keys();
    const queue = await caches.open(names.find((n) => n.startsWith('reprise-queue-')));
    return (await queue.keys()).map((r) => new URL(r.url).pathname);
  });
  assert.deepEqual(kept, ['/api/v1/me/queue'], 'one queue copy: this seller’s');

  await context.setOffline(true);
  await page.reload();
  await page.getByRole('heading', { name: 'Today’s nuggets' }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  assert.equal(await page.locator('.badge.offline').innerText(), 'Offline');
  assert.equal(await nugget.locator('.prompt').innerText(), first, 'the first nugget seen online');
  assert.equal(await nugget.locator('.meta span').first().innerText(), `1 of ${total}`);
  await page.getByTestId('progress').getByText('appears when you are online').waitFor();
  await page.getByTestId('reminders').getByText('can be changed when you are online').waitFor();
  await shot(page, 'seller-offline-start');

  // Answered offline, the nugget waits in the outbox and is not offered again on the next start.
  await answerShownNugget(page);
  await page.getByTestId('saved-offline').waitFor();
  await page.goto(`${BASE}/`);
  await nugget.waitFor();
  const second = await nugget.locator('.prompt').innerText();
  assert.notEqual(second, first);
  assert.equal(await nugget.locator('.meta span').first().innerText(), `1 of ${total - 1}`);

  // Once synced, it leaves the kept queue too: still not offered offline.
  await context.setOffline(false);
  await page.getByTestId('synced').waitFor();
  await page.getByTestId('pending').waitFor({ state: 'detached' });
  await context.setOffline(true);
  await page.reload();
  await nugget.waitFor();
  assert.equal(await nugget.locator('.prompt').innerText(), second);
  assert.equal(await page.getByTestId('pending').count(), 0);

  // Signing out takes the seller's queue off the device.
  await context.setOffline(false);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  const left = await page.evaluate(async () => {
    const names = await caches.keys();
    const queue = await caches.open(names.find((n) => n.startsWith('reprise-queue-')));
    return (await queue.keys()).length;
  });
  assert.equal(left, 0);
  assertNoConsoleErrors(['ERR_INTERNET_DISCONNECTED']);
  await context.close();
});

test('a push reminder shows a notification, and a click brings the console to today’s nuggets', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page, assertNoConsoleErrors } = await open(DESKTOP);
  // Playwright grants it with the CDP command Browser.grantPermissions for this context.
  await context.grantPermissions(['notifications'], { origin: BASE });
  // An admin reading analytics: the click has to take the window to another view.
  await page.goto(`${BASE}/`);
  await controlled(page);
  await signIn(page, 'admin@demo.example');
  await page.getByRole('heading', { name: 'Retention analytics' }).waitFor();

  const cdp = await context.newCDPSession(page);
  const registered = new Promise((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r) => r.scopeURL === `${BASE}/` && !r.isDeleted);
      if (ours) resolve(ours.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  const registrationId = await registered;
  const push = (data) => cdp.send('ServiceWorker.deliverPushMessage', { origin: BASE, registrationId, data });

  // Only our own pages are opened: a URL elsewhere becomes the today view.
  await push(JSON.stringify({ title: '3 nuggets are waiting', body: 'Three minutes today.', url: 'https://elsewhere.example/login', count: 3, tag: 'today' }));
  let shown = await until(() => notifications(page), (n) => n.length === 1);
  assert.equal(shown[0].data.url, '/#/seller');
  // A newer reminder with the same tag replaces the older one.
  const reminder = { title: '2 nuggets are waiting', body: 'Two minutes keep your objection handling sharp.', url: '/#/seller', count: 2, tag: 'today' };
  await push(JSON.stringify(reminder));
  shown = await until(() => notifications(page), (n) => n.length === 1 && n[0].title === reminder.title);
  assert.deepEqual(shown, [{ title: reminder.title, body: reminder.body, tag: 'today', icon: '/icon-192.png', data: { url: '/#/seller' } }]);
  // A payload that cannot be read still reminds.
  await push('not json');
  shown = await until(() => notifications(page, { tag: 'reprise-today' }), (n) => n.length === 1);
  assert.equal(shown[0].title, 'Today’s nuggets are waiting');
  assert.equal(shown[0].data.url, '/#/seller');

  // The click. Headless chromium shows no notification to click, and no CDP command clicks one,
  // so the worker's own handler runs on a NotificationEvent made from the notification it shows.
  // A script-made event is untrusted: its waitUntil would throw, so the handler's promise is
  // collected instead and awaited. Focusing a window needs a real click and is skipped; the open
  // console window is navigated.
  const [worker] = context.serviceWorkers();
  assert.equal(new URL(worker.url()).pathname, '/sw.js');
  const handled = await worker.evaluate(async () => {
    const [notification] = await self.registration.getNotifications({ tag: 'today' });
    const event = new NotificationEvent('notificationclick', { notification });
    const work = [];
    Object.defineProperty(event, 'waitUntil', { value: (promise) => work.push(promise) });
    self.dispatchEvent(event);
    await Promise.all(work);
    return work.length;
  });
  assert.equal(handled, 1);
  await page.getByRole('heading', { name: 'Today’s nuggets' }).waitFor();
  assert.equal(new URL(page.url()).hash, '#/seller');
  assert.equal(context.pages().length, 1, 'the open window was used');
  assert.deepEqual(await notifications(page, { tag: 'today' }), [], 'the clicked notification is closed');
  assert.equal((await notifications(page)).length, 1, 'the other one stays');
  assertNoConsoleErrors();
  await context.close();
});

test('reminders: settings load and save, push degrades where the browser cannot subscribe', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  // The server's own settings first: the organization's defaults until the seller chooses.
  await signIn(page, 'seller09@demo.example');
  const served = page.getByTestId('reminders').getByLabel('Remind me at');
  await served.waitFor();
  assert.equal(await served.inputValue(), '09:00');

  // The routes stubbed in the browser from here on, so the calls the card makes can be read.
  const calls = [];
  let settings = { push: false, email: true, remind_at: '08:30' };
  const record = (route) => {
    const request = route.request();
    const call = { method: request.method(), url: new URL(request.url()), body: request.postData() ? request.postDataJSON() : null };
    calls.push(call);
    return call;
  };
  await context.route('**/api/v1/me/notification-settings', (route) => {
    const call = record(route);
    if (call.method === 'PUT') settings = call.body;
    return route.fulfill({ json: settings });
  });
  const serverKey = crypto.createECDH('prime256v1');
  serverKey.generateKeys();
  await context.route('**/api/v1/push/vapid-public-key', (route) => {
    record(route);
    return route.fulfill({ json: { key: serverKey.getPublicKey().toString('base64url') } });
  });
  await context.route('**/api/v1/me/push-subscriptions**', (route) => {
    record(route);
    return route.fulfill({ status: route.request().method() === 'POST' ? 201 : 204, body: '' });
  });
  await context.grantPermissions(['notifications'], { origin: BASE });
  await page.reload();

  const panel = page.getByTestId('reminders');
  const pushBox = panel.getByLabel('Push on this device');
  const emailBox = panel.getByLabel('E-mail');
  const time = panel.getByLabel('Remind me at');
  await time.waitFor();
  await assertLabelled(page);
  assert.equal(await pushBox.isChecked(), false);
  assert.equal(await emailBox.isChecked(), true);
  assert.equal(await time.inputValue(), '08:30');
  await time.fill('07:45');
  await time.press('Tab');
  await panel.getByText('Reminders come at 07:45.').waitFor();
  await emailBox.uncheck();
  await panel.getByText('No more e-mail reminders.').waitFor();
  assert.deepEqual(calls.filter((c) => c.method === 'PUT').map((c) => c.body), [
    { push: false, email: true, remind_at: '07:45' },
    { push: false, email: false, remind_at: '07:45' },
  ]);

  // Playwright's contexts are incognito-like, where Chromium offers no push service: subscribing
  // is refused, the seller is told, and nothing is sent.
  await pushBox.click();
  await panel.getByText('Push is not available in this browser.').waitFor();
  assert.equal(await pushBox.isChecked(), false);
  assert.ok(calls.some((c) => c.url.pathname === '/api/v1/push/vapid-public-key'), 'the server key was read');
  assert.ok(!calls.some((c) => c.url.pathname === '/api/v1/me/push-subscriptions'));
  await shot(page, 'seller-reminders');

  // What the console sends once the browser does subscribe, with a stand-in for the push service
  // (the page's PushManager answers with a subscription of its own making).
  await context.addInitScript(() => {
    let current = null;
    PushManager.prototype.getSubscription = async () => current;
    PushManager.prototype.subscribe = async (options) => {
      const endpoint = 'https://push.example/send/device-1';
      const keys = { p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', auth: 'tBHItJI5svbpez7KI4CCXg' };
      current = {
        endpoint,
        options: { userVisibleOnly: options.userVisibleOnly, applicationServerKey: new Uint8Array(options.applicationServerKey).buffer },
        toJSON: () => ({ endpoint, expirationTime: null, keys }),
        unsubscribe: async () => { current = null; return true; },
      };
      return current;
    };
  });
  await page.reload();
  await time.waitFor();
  calls.length = 0;
  await pushBox.click();
  await panel.getByText('Push reminders are on for this device.').waitFor();
  assert.equal(await pushBox.isChecked(), true);
  const posted = calls.find((c) => c.method === 'POST');
  assert.equal(posted.url.pathname, '/api/v1/me/push-subscriptions');
  assert.equal(posted.body.endpoint, 'https://push.example/send/device-1');
  assert.ok(posted.body.keys.p256dh && posted.body.keys.auth);
  assert.deepEqual(calls.at(-1).body, { push: true, email: false, remind_at: '07:45' });
  calls.length = 0;
  await pushBox.click();
  await panel.getByText('Push reminders are off.').waitFor();
  assert.equal(await pushBox.isChecked(), false);
  const deleted = calls.find((c) => c.method === 'DELETE');
  assert.equal(deleted.url.pathname, '/api/v1/me/push-subscriptions');
  assert.equal(deleted.url.searchParams.get('endpoint'), 'https://push.example/send/device-1');
  assert.deepEqual(calls.at(-1).body, { push: false, email: false, remind_at: '07:45' });
  assertNoConsoleErrors(['does not support the Push API in incognito mode']);
  await context.close();
});

test('sign-in shows problem details for a wrong password', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await page.goto(`${BASE}/`);
  await assertLabelled(page);
  await page.getByLabel('E-mail', { exact: true }).fill('seller05@demo.example');
  await page.getByLabel('Password', { exact: true }).fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /password|credentials|invalid/i);
  await shot(page, 'sign-in-error');
  assertNoConsoleErrors([401]);
  await context.close();
});

test('journey 1: a seller answers three nuggets and sees feedback and progress change', { timeout: TEST_TIMEOUT }, async () => {
  const email = 'seller01@demo.example';
  const before = await answersCount(email);
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await signIn(page, email);
  await page.getByRole('heading', { name: 'Today’s nuggets' }).waitFor();
  await page.getByTestId('answers-count').waitFor();
  await assertLabelled(page);
  await shot(page, 'seller-queue');
  for (let i = 0; i < 3; i += 1) {
    await answerShownNugget(page, { confidence: i === 0 ? 'sure' : undefined, keyboard: i === 1 });
    const feedback = page.getByTestId('feedback');
    await feedback.waitFor();
    assert.match(await feedback.locator('.verdict').innerText(), /Correct|Not quite/);
    assert.ok((await feedback.locator('.explanation').innerText()).length > 10, 'explanation shown');
    assert.ok(await feedback.locator('.tag.correct').count() >= 1, 'the correct answer is marked');
    await feedback.getByRole('heading', { name: /How your team answered/ }).waitFor();
    assert.ok(await feedback.locator('.bars li').count() >= 2, 'team bars per option');
    await page.waitForFunction((n) => document.querySelector('[data-testid=answers-count]')?.textContent === String(n), before + i + 1);
    if (i === 0) {
      await assertFitsWidth(page);
      await shot(page, 'seller-feedback');
    }
    await feedback.getByRole('button', { name: /Next nugget|Finish/ }).click();
  }
  assert.equal(await answersCount(email), before + 3);
  await page.getByTestId('progress').locator('table').waitFor();
  await assertFitsWidth(page);
  await shot(page, 'seller-progress');
  // The pause form reports field errors from the problem document.
  await page.getByLabel('First day off', { exact: true }).fill('2020-01-01');
  await page.getByRole('button', { name: 'Pause my nuggets' }).click();
  await page.locator('.field-error').first().waitFor();
  assert.match(await page.locator('.field-error').first().innerText(), /today or later/);
  assertNoConsoleErrors([422]);
  await context.close();
});

test('kept signed in: the installed app opened again with no connection shows today’s nuggets', { timeout: TEST_TIMEOUT }, async () => {
  const email = 'seller08@demo.example';
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await page.goto(`${BASE}/`);
  await controlled(page);
  await page.getByLabel('E-mail', { exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Keep me signed in on this device').check();
  await page.getByLabel('Password', { exact: true }).press('Enter');
  const nugget = page.getByTestId('nugget');
  await nugget.waitFor();
  await page.getByTestId('answers-count').waitFor();
  const first = await nugget.locator('.prompt').innerText();
  assertNoConsoleErrors();
  await page.close();

  // The app closed and opened again (a new page: nothing in its session storage), offline.
  await context.setOffline(true);
  const again = await context.newPage();
  await again.goto(`${BASE}/`);
  await again.getByRole('heading', { name: 'Today’s nuggets' }).waitFor();
  assert.equal(await again.getByTestId('nugget').locator('.prompt').innerText(), first);
  assert.equal(await again.locator('.badge.offline').innerText(), 'Offline');

  // Signing out forgets the device's session: the next start asks to sign in.
  await context.setOffline(false);
  await again.getByRole('button', { name: 'Sign out' }).click();
  await again.getByRole('heading', { name: 'Sign in' }).waitFor();
  await again.close();
  const third = await context.newPage();
  await third.goto(`${BASE}/`);
  await third.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(await third.getByLabel('Keep me signed in on this device').isChecked(), false,
    'a browser tab does not keep the session unless asked');
  await context.close();
});

/** The plain text of the newest e-mail to `to` in the server's mail folder (quoted-printable decoded). */
async function newestMailTo(to) {
  const dir = process.env.REPRISE_MAIL_DIR;
  assert.ok(dir, 'REPRISE_MAIL_DIR names the server\'s mail folder');
  for (let i = 0; i < 100; i++) {
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.eml')) : [];
    const mails = files.map((f) => ({ f, at: fs.statSync(path.join(dir, f)).mtimeMs, text: fs.readFileSync(path.join(dir, f), 'utf8') }))
      .filter((m) => m.text.includes(`To: ${to}`) || m.text.includes(`<${to}>`))
      .sort((a, b) => b.at - a.at);
    if (mails.length) {
      return mails[0].text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, x) => String.fromCharCode(parseInt(x, 16)));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no e-mail to ${to}`);
}

test('forgot password: a seller asks for a link, follows it from the e-mail and is signed in', { timeout: TEST_TIMEOUT }, async () => {
  const email = 'seller11@demo.example';
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await page.goto(`${BASE}/#/signin`);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByLabel('E-mail', { exact: true }).fill(email);
  await page.getByRole('button', { name: 'Send me a link' }).click();
  await page.getByTestId('reset-sent').waitFor();
  const mail = await newestMailTo(email);
  const link = mail.match(/https?:\/\/\S+\/#\/set-password\/[A-Za-z0-9._~-]+/)[0];
  const token = link.split('/#/set-password/')[1];
  await page.goto(`${BASE}/#/set-password/${token}`);
  await page.getByRole('heading', { name: 'Choose your password' }).waitFor();
  assert.equal(new URL(page.url()).hash, '#/set-password', 'the token leaves the address bar');
  await page.getByLabel('New password', { exact: true }).fill('a-fresh-password-11');
  await page.getByLabel('Repeat it', { exact: true }).fill('a-fresh-password-11');
  await page.getByRole('button', { name: 'Save and sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  const login = await api('/api/v1/auth/login', { method: 'POST', body: { email, password: 'a-fresh-password-11' } });
  assert.equal(login.status, 200);
  // The link worked once.
  const again = await api('/api/v1/auth/password-reset/confirm', { method: 'POST', body: { token, new_password: 'another-password-11' } });
  assert.equal(again.status, 401);
  assertNoConsoleErrors();
  await context.close();
});

test('journey 2: answers given offline are synced once when back online', { timeout: TEST_TIMEOUT }, async () => {
  const email = 'seller02@demo.example';
  const before = await answersCount(email);
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await signIn(page, email);
  await page.getByTestId('nugget').waitFor();
  await page.getByTestId('answers-count').waitFor();

  await context.setOffline(true);
  await page.waitForFunction(() => !navigator.onLine);
  for (let i = 0; i < 2; i += 1) {
    await answerShownNugget(page, { confidence: 'unsure' });
    await page.getByTestId('saved-offline').waitFor();
    await page.getByTestId('saved-offline').getByRole('button').click();
  }
  await page.getByTestId('pending').waitFor();
  assert.match(await page.getByTestId('pending').innerText(), /2 answers waiting to sync/);
  const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('reprise.outbox.'))
    .flatMap((k) => JSON.parse(localStorage.getItem(k))));
  assert.equal(stored.length, 2);
  for (const a of stored) {
    assert.match(a.attempt_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(!Number.isNaN(Date.parse(a.answered_at)));
  }
  await shot(page, 'seller-offline');
  assert.equal(await answersCount(email), before, 'nothing reached the server while offline');

  await context.setOffline(false);
  await page.getByTestId('synced').waitFor();
  assert.match(await page.getByTestId('synced').innerText(), /2 answers given offline synced/);
  await page.getByTestId('pending').waitFor({ state: 'detached' });
  assert.equal(await answersCount(email), before + 2);

  // A reload syncs on load as well: nothing is left to send, and nothing is counted twice.
  await page.reload();
  await page.getByTestId('answers-count').waitFor();
  await page.waitForFunction((n) => document.querySelector('[data-testid=answers-count]')?.textContent === String(n), before + 2);
  assert.equal(await answersCount(email), before + 2);

  // Online, but the request fails on the way: the answer is kept and sent on the next load.
  await page.route('**/api/v1/me/answers', (route) => route.abort('internetdisconnected'));
  await answerShownNugget(page);
  await page.getByTestId('saved-offline').waitFor();
  assert.match(await page.getByTestId('saved-offline').innerText(), /could not be reached/);
  await page.getByTestId('pending').waitFor();
  await page.unroute('**/api/v1/me/answers');
  await page.reload();
  await page.getByTestId('synced').waitFor();
  assert.equal(await answersCount(email), before + 3);
  assertNoConsoleErrors(['ERR_INTERNET_DISCONNECTED']);
  await context.close();
});

test('journey 3: an author uploads a broken GIFT file, then a good one, publishes and assigns it', { timeout: TEST_TIMEOUT }, async () => {
  const slug = `objection-handling-${Date.now().toString(36)}`;
  const { context, page, assertNoConsoleErrors } = await open(DESKTOP);
  await signIn(page, 'author@demo.example');
  await page.getByRole('heading', { name: 'Packs', exact: true }).waitFor();
  await page.getByTestId('packs').locator('table').waitFor();
  await assertLabelled(page);

  const upload = async (fixture) => {
    await page.getByLabel('Pack file', { exact: true }).setInputFiles({
      name: `${slug}.gift`, mimeType: 'text/plain', buffer: fs.readFileSync(path.join(here, 'fixtures', fixture)),
    });
    await page.getByLabel('Pack slug', { exact: true }).waitFor();
    assert.equal(await page.getByLabel('Pack slug', { exact: true }).inputValue(), slug, 'slug proposed from the file name');
    await page.getByLabel('Pack title', { exact: true }).fill('Objection handling');
    await page.getByRole('button', { name: 'Upload' }).click();
  };

  await upload('broken.gift');
  const errors = page.getByTestId('upload-errors');
  await errors.waitFor();
  const text = await errors.innerText();
  assert.match(text, /Line 3/);
  assert.match(text, /no option is marked correct/);
  assert.match(text, /Line 8/);
  assert.match(text, /Line 10/);
  await shot(page, 'author-upload-errors');

  await upload('objection-handling.gift');
  const result = page.getByTestId('upload-result');
  await result.getByText('New pack created as a draft').waitFor();
  await result.getByRole('link', { name: /Review, publish and assign/ }).click();

  await page.getByRole('heading', { name: 'Objection handling' }).waitFor();
  await page.getByRole('button', { name: 'Preview obj-01' }).click();
  const preview = page.getByTestId('preview');
  await preview.getByTestId('nugget').waitFor();
  await preview.getByLabel(/Ask what the price is being compared with/).check();
  await preview.getByRole('button', { name: 'Answer' }).click();
  await preview.getByText('✓ Correct').waitFor();
  await shot(page, 'author-preview');

  await page.getByRole('button', { name: 'Publish this draft' }).click();
  await page.getByRole('heading', { name: 'Assign to a team' }).waitFor();
  await page.getByRole('cell', { name: 'v1' }).or(page.getByRole('rowheader', { name: 'v1' })).waitFor();
  await page.getByLabel('Team', { exact: true }).selectOption({ label: 'Field Sales North' });
  await page.getByLabel('Nuggets a day', { exact: true }).fill('2');
  await page.getByLabel('Spacing', { exact: true }).selectOption('planner');
  const readyBy = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('Ready by', { exact: true }).fill(readyBy);
  await page.getByRole('button', { name: 'Assign', exact: true }).click();
  await page.getByTestId('assign-result').getByText(/Assigned to Field Sales North/).waitFor();
  await page.getByText('Current assignments').waitFor();
  await page.getByTestId('analysis').locator('p').first().waitFor();
  await shot(page, 'author-pack');

  const assignments = await api('/api/v1/assignments', { token: await token('author@demo.example') });
  const mine = assignments.body.filter((a) => a.pack_slug === slug);
  assert.equal(mine.length, 1);
  assert.equal(mine[0].daily_cap, 2);
  assert.equal(mine[0].policy, 'planner');
  assert.equal(mine[0].target_date, readyBy);
  assertNoConsoleErrors([422]);
  await context.close();
});

test('journey 4: an analyst opens the HR view and downloads a CSV', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page, assertNoConsoleErrors } = await open(DESKTOP);
  await signIn(page, 'analyst@demo.example');
  await page.getByRole('heading', { name: 'Retention analytics' }).waitFor();
  await assertLabelled(page);
  await page.getByTestId('assignments').locator('table').waitFor();

  // Server-drawn SVG is shown inline without scripts or handlers, and without CSP violations.
  const cleaned = await page.evaluate(async () => {
    const { safeSvg } = await import('/hr.js');
    const host = safeSvg('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)">'
      + '<style>rect{fill:#0b5cad}</style><script>alert(2)</script>'
      + '<rect width="10" height="10" style="stroke:red" onclick="alert(3)"/><a href="https://example.com"><text>x</text></a></svg>');
    document.body.append(host);
    const svg = host.shadowRoot.querySelector('svg');
    // A document type could add handler attributes by default: such markup is refused whole.
    const withDoctype = safeSvg('<!DOCTYPE svg [<!ATTLIST svg onload CDATA "alert(4)">]>'
      + '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>');
    const result = {
      doctype: withDoctype,
      scripts: svg.querySelectorAll('script').length,
      onload: svg.hasAttribute('onload'),
      onclick: [...svg.querySelector('rect').attributes].some((a) => /on/i.test(a.name)),
      href: svg.querySelector('a').hasAttribute('href'),
      stroke: svg.querySelector('rect').style.stroke,
      fill: getComputedStyle(svg.querySelector('rect')).fill,
    };
    host.remove();
    return result;
  });
  assert.deepEqual(cleaned, { doctype: null, scripts: 0, onload: false, onclick: false, href: false, stroke: 'red', fill: 'rgb(11, 92, 173)' });

  const body = page.getByTestId('heatmap-body');
  await body.locator('svg').first().waitFor();
  await shot(page, 'hr-view');
  const download = page.waitForEvent('download');
  await page.getByTestId('heatmap-csv').click();
  const file = await download;
  const saved = path.join(ARTIFACTS, 'heatmap.csv');
  await file.saveAs(saved);
  const csv = fs.readFileSync(saved, 'utf8').trim().split('\n');
  assert.ok(csv[0].includes(','), 'a CSV header row');
  assert.ok(csv.length > 1, 'the demo history gives the heatmap rows');
  // Filters apply with the keyboard too.
  await page.getByRole('form', { name: 'Filters' }).getByLabel('Team', { exact: true }).selectOption({ label: 'Field Sales South' });
  await page.getByRole('button', { name: 'Apply filters' }).press('Enter');
  await page.getByTestId('heatmap-body').locator('svg, table, .empty, .unavailable, .problem').first().waitFor();
  assertNoConsoleErrors();
  await context.close();
});

test('roles: an admin can open every view; a seller cannot open the author view', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page, assertNoConsoleErrors } = await open(DESKTOP);
  await signIn(page, 'admin@demo.example');
  const nav = page.getByRole('navigation', { name: 'Views' });
  for (const name of ['Analytics', 'Packs', 'My nuggets']) await nav.getByRole('link', { name }).waitFor();
  await nav.getByRole('link', { name: 'Packs' }).click();
  await page.getByRole('heading', { name: 'Packs', exact: true }).waitFor();
  await nav.getByRole('link', { name: 'My nuggets' }).click();
  await page.getByRole('heading', { name: 'Today’s nuggets' }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('reprise.tokens')), null);

  await signIn(page, 'seller03@demo.example');
  await page.goto(`${BASE}/#/author`);
  await page.getByRole('heading', { name: 'Today’s nuggets' }).waitFor();
  assert.equal(new URL(page.url()).hash, '#/seller');
  assertNoConsoleErrors();
  await context.close();
});

test('an expired access token is refreshed without bothering the user', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await signIn(page, 'seller04@demo.example');
  await page.getByTestId('answers-count').waitFor();
  await page.evaluate(() => {
    const t = JSON.parse(sessionStorage.getItem('reprise.tokens'));
    sessionStorage.setItem('reprise.tokens', JSON.stringify({ ...t, access_token: 'expired.token.value' }));
  });
  await page.reload();
  await page.getByTestId('answers-count').waitFor();
  const t = await page.evaluate(() => JSON.parse(sessionStorage.getItem('reprise.tokens')));
  assert.notEqual(t.access_token, 'expired.token.value');
  assertNoConsoleErrors([401]);
  await context.close();
});

test('item analysis lights up once its route exists (stubbed in the browser)', { timeout: TEST_TIMEOUT }, async () => {
  const { context, page, assertNoConsoleErrors } = await open(DESKTOP);
  await context.route('**/api/v1/openapi.json', async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    json.paths['/api/v1/packs/{slug}/analysis'] = { get: { parameters: [{ name: 'slug', in: 'path', required: true, schema: { type: 'string' } }] } };
    await route.fulfill({ response, json });
  });
  const option = (id, text, correct, chosen, share) => ({ id, text, correct, chosen, share });
  await context.route('**/api/v1/packs/value-wedge/analysis', (route) => route.fulfill({
    json: {
      slug: 'value-wedge', title: 'The value wedge', latest_version: 1, learners: 12, attempts: 30,
      nuggets: [
        { nugget_id: 'n1', key: 'vw-01', topic: 'Value wedge', prompt: 'What is the value wedge?', retired: false,
          attempts: 14, learners: 12, first_attempt_correct_rate: 0.25, discrimination: -0.31, median_response_ms: 14500,
          option_shares: [option('a', 'Right', true, 3, 0.25), option('b', 'Tempting', false, 8, 0.67), option('c', 'Other', false, 1, 0.08)],
          flags: ['distractor_beats_answer', 'negative_discrimination'] },
        { nugget_id: 'n2', key: 'vw-02', topic: 'Value wedge', prompt: 'Which proof point?', retired: true,
          attempts: 16, learners: 12, first_attempt_correct_rate: 1, discrimination: null, median_response_ms: 4000,
          option_shares: [option('a', 'Right', true, 12, 1), option('b', 'Wrong', false, 0, 0)], flags: ['too_easy'] },
      ],
    },
  }));
  await signIn(page, 'author@demo.example');
  await page.goto(`${BASE}/#/author/value-wedge`);
  const analysis = page.getByTestId('analysis');
  await analysis.locator('table').waitFor();
  const text = await analysis.innerText();
  for (const expected of ['12 learners, 30 answers', 'vw-01', '25 %', '-0.31', '14.5 s', 'A wrong option beats the answer',
    'Strong sellers miss it', 'retired', 'Too easy', 'B 67 %']) {
    assert.ok(text.includes(expected), `item analysis shows ${expected}`);
  }
  await analysis.scrollIntoViewIfNeeded();
  await shot(page, 'author-item-analysis-sample-data');
  assertNoConsoleErrors();
  await context.close();
});

test('journey 5: an admin reads the demo experiment’s arms, intervals and p-values in the HR view', { timeout: TEST_TIMEOUT }, async () => {
  const admin = await token('admin@demo.example');
  const experiments = await api('/api/v1/experiments', { token: admin });
  assert.equal(experiments.status, 200);
  assert.ok(experiments.body.some((e) => e.name === 'FSRS against the planner'), JSON.stringify(experiments.body));
  const { context, page, assertNoConsoleErrors } = await open(DESKTOP);
  await signIn(page, 'admin@demo.example');
  const table = page.getByRole('table', { name: /FSRS against the planner: probe recall/ });
  await table.waitFor();
  assert.equal(await table.locator('tbody tr').count(), 2);
  await table.getByRole('rowheader', { name: 'FSRS (control)' }).waitFor();
  await table.getByRole('rowheader', { name: 'Planner' }).waitFor();
  assert.match(await table.innerText(), /\d+ %/, 'probe recall per arm');
  await assertLabelled(page);
  await shot(page, 'hr-experiments');
  assertNoConsoleErrors();
  await context.close();
});

test('journey 6: an author writes a pack in the editor, checked as they type, with an image, and publishes it', { timeout: TEST_TIMEOUT }, async () => {
  const slug = `discovery-${Date.now().toString(36)}`;
  const { context, page, assertNoConsoleErrors } = await open(DESKTOP);
  await signIn(page, 'author@demo.example');
  await page.getByRole('link', { name: 'Write a new pack in the editor' }).click();
  await page.getByRole('heading', { name: 'New pack' }).waitFor();
  const status = page.getByTestId('editor-status');
  // An empty nugget is not a pack yet: the server's own messages say why.
  await status.getByText(/to fix before saving/).waitFor();
  await page.getByTestId('editor-errors').getByText('nuggets[0].prompt').waitFor();

  await page.getByLabel('Pack slug', { exact: true }).fill(slug);
  await page.getByLabel('Title', { exact: true }).fill('Discovery questions');
  await page.getByLabel('Topic', { exact: true }).fill('Discovery');
  await page.getByLabel('Prompt', { exact: true }).fill('A buyer says the budget is fixed. What do you ask first?');
  await page.getByLabel('Option 1', { exact: true }).fill('What would have to be true to find more budget?');
  await page.getByLabel('Option 2', { exact: true }).fill('Can we lower our price?');
  await page.getByLabel('Feedback for option 2', { exact: true }).fill('Discounting first gives value away.');
  await page.getByLabel('Explanation', { exact: true }).fill('Open the budget conversation before any price move.');
  await status.getByText('Ready to save: 1 nugget.').waitFor();
  await assertLabelled(page);

  // An image, cleaned by the server and shown in the seller's preview.
  await page.getByLabel('Image', { exact: true }).setInputFiles({
    name: 'chart.png', mimeType: 'image/png', buffer: fs.readFileSync(path.join(here, 'fixtures', 'chart.png')),
  });
  await page.getByText(/Image attached \(48 × 32\)/).waitFor();
  const preview = page.getByTestId('editor-preview');
  const picture = preview.getByTestId('nugget-image');
  await picture.waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="nugget-image"]')?.naturalWidth === 48);
  await preview.getByLabel(/What would have to be true/).check();
  await preview.getByRole('button', { name: 'Answer' }).click();
  await preview.getByText('✓ Correct').waitFor();

  // A second nugget without an explanation: a warning, as an upload would give.
  await page.getByRole('button', { name: 'Add nugget' }).click();
  await page.getByRole('heading', { name: 'Nugget 2 of 2' }).waitFor();
  await page.getByLabel('Topic', { exact: true }).fill('Discovery');
  await page.getByLabel('Prompt', { exact: true }).fill('Who else decides?');
  await page.getByLabel('Option 1', { exact: true }).fill('Ask who signs and who is affected');
  await page.getByLabel('Option 2', { exact: true }).fill('Assume the contact decides');
  await status.getByText('Ready to save: 2 nuggets, 1 warning.').waitFor();
  await page.getByTestId('editor-warnings').getByText('nuggets[1].explanation').waitFor();
  await shot(page, 'author-editor');

  await page.getByRole('button', { name: 'Save and publish' }).click();
  await page.getByRole('heading', { name: 'Discovery questions' }).waitFor();
  const author = await token('author@demo.example');
  const detail = await api(`/api/v1/packs/${slug}`, { token: author });
  assert.equal(detail.body.pack.latest_version, 1);
  const exported = await api(`/api/v1/packs/${slug}/export?format=json`, { token: author });
  assert.equal(exported.body.nuggets.length, 2);
  const media = new URL(exported.body.nuggets[0].media_url);
  assert.match(media.pathname, /^\/media\/[^/]+\/[0-9a-f]{64}\.png$/);
  const served = await fetch(`${BASE}${media.pathname}`);
  assert.equal(served.status, 200);
  assert.match(served.headers.get('cache-control'), /immutable/);
  assert.ok(!Buffer.from(await served.arrayBuffer()).includes('made for the editor journey'), 'metadata removed');
  assertNoConsoleErrors([422]);
  await context.close();
});

test('journey 6: a seller sees this week’s points, their rank and their team’s rank after answering', { timeout: TEST_TIMEOUT }, async () => {
  const email = 'seller06@demo.example';
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await signIn(page, email);
  await page.getByRole('heading', { name: 'Today’s nuggets' }).waitFor();
  await page.getByTestId('standing').waitFor();
  await answerShownNugget(page);
  const feedback = page.getByTestId('feedback');
  await feedback.waitFor();
  const line = feedback.getByTestId('standing-line');
  await line.waitFor();
  const text = await line.innerText();
  assert.match(text, /^This week: \d+ points? · #\d+ of \d+ in your team · Field Sales (North|South) is #\d of 2 teams$/);
  // The same figures as the API gives the seller.
  const board = await api('/api/v1/leaderboards?scope=team&period=week', { token: await token(email) });
  assert.equal(board.status, 200);
  assert.ok(text.includes(`This week: ${board.body.me.points.total} point`), `${text} vs ${JSON.stringify(board.body.me)}`);
  assert.ok(board.body.me.points.answers >= 1, 'the answer counted');
  await assertLabelled(page);
  await assertFitsWidth(page);
  await shotOf(feedback, 'seller-standing');
  assertNoConsoleErrors();
  await context.close();
});

test('journey 7: a manager assigns a refresher from the forgetting-risk list, follows it, and writes a coaching note the seller sees', { timeout: TEST_TIMEOUT }, async () => {
  const manager = await token('manager@demo.example');
  const before = await api('/api/v1/refreshers', { token: manager });
  assert.equal(before.status, 200);
  const { context, page, assertNoConsoleErrors } = await open(DESKTOP);
  await signIn(page, 'manager@demo.example');
  // The leaderboard: teams by mean points, sellers with pseudonyms marked.
  await page.getByTestId('leaderboard-teams').waitFor();
  assert.equal(await page.getByTestId('leaderboard-teams').locator('tbody tr').count(), 2);
  await page.getByTestId('leaderboard-people').waitFor();
  // The manager manages both teams, so sees real names: no pseudonym is shown to them.
  assert.equal(await page.getByTestId('leaderboard-people').getByText('(pseudonym)').count(), 0);
  await shotOf(page.locator('section').filter({ has: page.getByTestId('leaderboard') }), 'hr-leaderboard');

  // One action on the risk list plans the refresher.
  const risks = page.getByTestId('risk-table');
  await risks.waitFor();
  const first = risks.getByRole('button', { name: /^Assign a refresher on / }).first();
  const seller = (await risks.locator('tbody tr').first().locator('th').innerText()).trim();
  await first.click();
  await page.getByTestId('refresher-assigned').first().waitFor();
  const after = await until(
    async () => (await api('/api/v1/refreshers', { token: manager })).body,
    (list) => list.length === before.body.length + 1,
  );
  assert.equal(after.length, before.body.length + 1);
  const newest = await api(`/api/v1/refreshers/${after[0].id}`, { token: manager });
  assert.ok(newest.body.items.length >= 1);
  assert.ok(newest.body.items.every((i) => i.learner_name === seller && i.answered_at === null));
  // The status list shows it, newest first, with nothing answered yet.
  const list = page.getByTestId('refresher-list');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=refresher-list] tbody tr').length === n, after.length);
  assert.match(await list.locator('tbody tr').first().innerText(), new RegExp(`0 of ${newest.body.planned}`));
  assert.equal(newest.body.planned, newest.body.items.length);
  await shotOf(page.locator('section').filter({ has: page.getByTestId('refreshers') }), 'hr-refreshers');
  await shotOf(page.locator('section[data-report=forgetting-risk]'), 'hr-risk-refresher');

  // A note to a seller on the topic of their next nugget.
  const sellerEmail = 'seller10@demo.example';
  const sellerToken = await token(sellerEmail);
  const queue = await api('/api/v1/me/queue', { token: sellerToken });
  assert.ok(queue.body.nuggets.length > 0, 'seller10 has nuggets today');
  const topic = queue.body.nuggets[0].topic;
  const notes = page.locator('section[aria-labelledby=notes-title]');
  await notes.getByLabel('Seller', { exact: true }).selectOption({ label: 'Seller10' });
  await notes.getByLabel('Topic', { exact: true }).selectOption({ label: topic });
  await notes.getByLabel('Note', { exact: true }).fill('Open with the customer’s numbers.');
  await notes.getByRole('button', { name: 'Send note' }).click();
  await page.getByTestId('note-sent').waitFor();
  await page.getByTestId('notes-table').waitFor();
  assert.match(await page.getByTestId('notes-table').innerText(), /Open with the customer’s numbers\.\s+not yet/);
  await assertLabelled(page);
  await shotOf(page.locator('section[aria-labelledby=notes-title]'), 'hr-notes');
  await assertFitsWidth(page);
  assertNoConsoleErrors();
  await context.close();

  // The seller sees it with that nugget, and it is marked seen.
  const s = await open(MOBILE);
  await signIn(s.page, sellerEmail);
  const note = s.page.getByTestId('coach-note');
  await note.waitFor();
  assert.match(await note.innerText(), /Note from Manager on .*\nOpen with the customer’s numbers\./s);
  await shotOf(s.page.getByTestId('nugget'), 'seller-coach-note');
  const sellerId = (await api('/api/v1/me', { token: sellerToken })).body.user.id;
  const seen = await until(
    async () => (await api(`/api/v1/users/${sellerId}/notes`, { token: manager })).body,
    (list) => Boolean(list[0]?.seen_at),
  );
  assert.ok(seen[0].seen_at, 'marked seen once shown');
  s.assertNoConsoleErrors();
  await s.context.close();
});

// ---- Pitch practice ----

/** A recording as Chromium's MediaRecorder makes it (VP8 and Opus in WebM). */
const RECORDING = fs.readFileSync(path.join(here, '../fixtures/recordings/chromium-vp8-opus.webm'));

const RUBRIC = [
  { criterion: 'Empathy', description: 'Acknowledges the concern before answering it.' },
  { criterion: 'Value', description: 'Ties the price to the value the buyer said they need.' },
];

/**
 * A pack of two pitch nuggets on one new topic, published and assigned to `email` alone; the
 * seller's other nuggets of today are answered through the API, so the pitches come first.
 * Returns the seller's token, the topic and the two pitch nuggets as the queue gives them.
 */
async function assignPitches(email, topic) {
  const author = await token('author@demo.example');
  const seller = await token(email);
  const slug = `pitching-${Date.now().toString(36)}-${crypto.randomInt(1_000_000)}`;
  const nugget = (key, prompt) => [
    `  - key: ${key}`, '    kind: pitch', `    topic: ${topic}`, `    prompt: ${prompt}`, '    rubric:',
    ...RUBRIC.flatMap((c) => [`      - criterion: ${c.criterion}`, `        description: ${c.description}`]),
    '    max_seconds: 60'].join('\n');
  const yaml = [`slug: ${slug}`, 'title: Pitch practice', 'nuggets:',
    nugget('price', 'The buyer says your price is 20 % above the competitor’s. Answer them.'),
    nugget('delay', 'The buyer wants to wait until next quarter. Answer them.'), ''].join('\n');
  const uploaded = await fetch(`${BASE}/api/v1/packs`, {
    method: 'POST', headers: { authorization: `Bearer ${author}`, 'content-type': 'application/yaml' }, body: yaml,
  });
  assert.equal(uploaded.status, 201, await uploaded.text());
  assert.equal((await api(`/api/v1/packs/${slug}/publish`, { token: author, method: 'POST', body: {} })).status, 201);
  const me = (await api('/api/v1/me', { token: seller })).body;
  const day = (await api('/api/v1/me/queue', { token: seller })).body.date;
  const assigned = await api('/api/v1/assignments', {
    token: author, method: 'POST', body: { pack: slug, learner_ids: [me.user.id], starts_on: day, daily_cap: 3 },
  });
  assert.equal(assigned.status, 201, JSON.stringify(assigned.body));
  let queue = (await api('/api/v1/me/queue', { token: seller })).body;
  for (const n of queue.nuggets.filter((x) => x.kind !== 'pitch')) {
    const answered = await api('/api/v1/me/answers', {
      token: seller, method: 'POST',
      body: { attempt_id: crypto.randomUUID(), nugget_id: n.nugget_id, selected: [n.options[0].id], answered_at: new Date().toISOString(), response_ms: 8000 },
    });
    assert.ok([200, 201].includes(answered.status), JSON.stringify(answered.body));
  }
  queue = (await api('/api/v1/me/queue', { token: seller })).body;
  const pitches = queue.nuggets.filter((n) => n.pack === slug);
  assert.equal(pitches.length, 2, `both pitches are in today’s queue: ${JSON.stringify(queue.nuggets.map((n) => [n.kind, n.topic]))}`);
  assert.equal(queue.nuggets[0].kind, 'pitch');
  return { seller, sellerId: me.user.id, topic, pitches, queue };
}

/** Records with the fake camera for about `seconds`, stops, and waits for the preview. */
async function recordPitch(page, { seconds = 2, shotName } = {}) {
  const card = page.getByTestId('pitch');
  await card.getByRole('button', { name: 'Record', exact: true }).click();
  await card.getByRole('button', { name: 'Stop' }).waitFor();
  // The camera's picture is live and the countdown runs.
  await page.waitForFunction(() => document.querySelector('video.live')?.readyState >= 2);
  const start = await card.getByTestId('countdown').innerText();
  assert.equal(start, '1:00');
  await page.waitForFunction(() => document.querySelector('[data-testid=countdown]')?.textContent !== '1:00');
  await page.waitForTimeout(seconds * 1000);
  if (shotName) await shotOf(card, shotName);
  await card.getByRole('button', { name: 'Stop' }).click();
  await card.getByTestId('preview').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=preview]')?.readyState >= 1);
  await card.getByRole('button', { name: 'Record again' }).waitFor();
}

/** Waits until the media element in `locator` has played a little: the recording is real. */
async function assertPlays(locator) {
  const media = locator.locator('video, audio').first();
  await media.waitFor();
  await media.evaluate(async (el) => {
    el.muted = true;
    await el.play();
    await new Promise((resolve, reject) => {
      const end = Date.now() + 15_000;
      (function check() {
        if (el.currentTime > 0) resolve();
        else if (el.error || Date.now() > end) reject(new Error(`not playing: ${el.error?.message || el.readyState}`));
        else setTimeout(check, 50);
      }());
    });
  });
}

test('pitch (a): a seller records a pitch with the camera and sends it; it leaves the queue and waits for review in My pitches', { timeout: TEST_TIMEOUT }, async () => {
  const email = 'seller12@demo.example';
  const { seller, topic, pitches } = await assignPitches(email, 'Price objections');
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await signIn(page, email);
  const card = page.getByTestId('pitch');
  await card.waitFor();
  assert.equal(await card.locator('.situation').innerText(), pitches[0].prompt);
  assert.match(await card.getByTestId('rubric').innerText(), /Empathy\s+Acknowledges the concern before answering it\.\s+Value/);
  await assertLabelled(page);
  await recordPitch(page, { shotName: 'pitch-recording' });
  await assertPlays(card.getByTestId('recorder'));
  await assertFitsWidth(page);

  await card.getByRole('button', { name: 'Send' }).click();
  await page.getByTestId('pitch-sent').waitFor();
  const mine = (await api('/api/v1/me/pitches', { token: seller })).body;
  assert.equal(mine.length, 1);
  assert.equal(mine[0].nugget_id, pitches[0].nugget_id);
  assert.equal(mine[0].status, 'pending');
  assert.equal(mine[0].content_type, 'video/webm');
  assert.ok(mine[0].bytes > 1000, `a real recording: ${mine[0].bytes} bytes`);

  // It has left the queue: the next nugget is the other pitch, also after a reload.
  await page.getByTestId('pitch-sent').getByRole('button', { name: /Next nugget|Finish/ }).click();
  await card.waitFor();
  assert.equal(await card.locator('.situation').innerText(), pitches[1].prompt);
  const queue = (await api('/api/v1/me/queue', { token: seller })).body;
  assert.ok(!queue.nuggets.some((n) => n.nugget_id === pitches[0].nugget_id), 'the recorded pitch is not asked again today');
  await page.reload();
  await card.waitFor();
  assert.equal(await card.locator('.situation').innerText(), pitches[1].prompt);

  // My pitches: the recording, waiting for review, and it plays.
  const item = page.getByTestId('my-pitches').getByTestId('pitch-item');
  await item.waitFor();
  assert.match(await item.innerText(), new RegExp(`${topic}[\\s\\S]*Waiting for review`));
  await item.getByRole('button', { name: `Play your pitch on ${topic}` }).click();
  await assertPlays(item);
  assert.equal(await page.getByTestId('pending-pitches').count(), 0);
  assertNoConsoleErrors();
  await context.close();
});

test('pitch (b): a pitch recorded offline waits on the device, through a reload, and uploads once when back online', { timeout: TEST_TIMEOUT }, async () => {
  const email = 'seller13@demo.example';
  const { seller, topic, pitches } = await assignPitches(email, 'Renewals');
  const { context, page, assertNoConsoleErrors } = await open(MOBILE);
  await page.goto(`${BASE}/`);
  await controlled(page);
  await signIn(page, email);
  const card = page.getByTestId('pitch');
  await card.waitFor();
  await page.getByTestId('my-pitches').getByText(/your recordings and their reviews appear here/).waitFor();

  await context.setOffline(true);
  await page.waitForFunction(() => !navigator.onLine);
  await recordPitch(page);
  await card.getByRole('button', { name: 'Send' }).click();
  await page.getByTestId('saved-offline').waitFor();
  assert.match(await page.getByTestId('saved-offline').innerText(), /You are offline\. Your recording on “Renewals” is kept here/);
  assert.equal(await page.getByTestId('pending-pitches').innerText(), '1 recording waiting to upload');
  const kept = await page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('reprise-pitches');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const all = req.result.transaction('uploads').objectStore('uploads').getAll();
      all.onsuccess = () => resolve(all.result.map((r) => ({ attempt_id: r.attempt_id, nugget_id: r.nugget_id, type: r.type, size: r.blob.size })));
    };
  }));
  assert.equal(kept.length, 1);
  assert.match(kept[0].attempt_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(kept[0].nugget_id, pitches[0].nugget_id);
  assert.match(kept[0].type, /^video\/webm/);
  assert.ok(kept[0].size > 1000);
  assert.equal((await api('/api/v1/me/pitches', { token: seller })).body.length, 0, 'nothing reached the server while offline');

  // Reloaded offline: the recording is still waiting, and its pitch is not offered again.
  await page.reload();
  await card.waitFor();
  assert.equal(await card.locator('.situation').innerText(), pitches[1].prompt);
  await page.getByTestId('pending-pitches').waitFor();
  await page.getByTestId('pitches-waiting').getByText('On this device, waiting to upload').waitFor();
  await shot(page, 'pitch-offline');

  await context.setOffline(false);
  await page.getByTestId('pitches-synced').waitFor();
  assert.match(await page.getByTestId('pitches-synced').innerText(), /1 recording made offline uploaded/);
  await page.getByTestId('pending-pitches').waitFor({ state: 'detached' });
  const mine = (await api('/api/v1/me/pitches', { token: seller })).body;
  assert.equal(mine.length, 1);
  assert.equal(mine[0].nugget_id, pitches[0].nugget_id);
  await page.getByTestId('my-pitches').getByTestId('pitch-item').getByText('Waiting for review').waitFor();
  assert.equal(await page.getByTestId('pitches-waiting').count(), 0);

  // The same attempt sent again is the same pitch, kept once.
  const replay = await fetch(`${BASE}/api/v1/me/pitches?nugget_id=${kept[0].nugget_id}&attempt_id=${kept[0].attempt_id}`, {
    method: 'POST', headers: { authorization: `Bearer ${seller}`, 'content-type': 'video/webm' }, body: RECORDING,
  });
  assert.equal(replay.status, 200);
  assert.equal((await replay.json()).id, mine[0].id);
  assert.equal((await api('/api/v1/me/pitches', { token: seller })).body.length, 1);
  assert.ok(topic);
  assertNoConsoleErrors(['ERR_INTERNET_DISCONNECTED']);
  await context.close();
});

test('pitch (c): a manager plays a pitch, scores it and shares it; the seller sees the review with the next pitch of the topic and the exemplar', { timeout: TEST_TIMEOUT }, async () => {
  const email = 'seller14@demo.example';
  const { seller, topic, pitches } = await assignPitches(email, 'Closing');
  const sent = await fetch(`${BASE}/api/v1/me/pitches?nugget_id=${pitches[0].nugget_id}&attempt_id=${crypto.randomUUID()}`, {
    method: 'POST', headers: { authorization: `Bearer ${seller}`, 'content-type': 'video/webm;codecs=vp8,opus' }, body: RECORDING,
  });
  const pitch = JSON.parse(await sent.text());
  assert.equal(sent.status, 201, JSON.stringify(pitch));

  const { context, page, assertNoConsoleErrors } = await open(DESKTOP);
  await signIn(page, 'manager@demo.example');
  const section = page.locator('section.pitches');
  const entry = section.getByTestId('pitch-entry').filter({ hasText: `Seller14 · ${topic}` });
  await entry.waitFor();
  assert.equal(await section.getByLabel('Show', { exact: true }).inputValue(), 'pending');
  assert.match(await entry.innerText(), /Waiting for review/);
  assert.match(await entry.locator('.situation').innerText(), /20 % above the competitor/);
  await entry.getByRole('button', { name: `Play the recording of Seller14 on ${topic}` }).click();
  await assertPlays(entry.getByTestId('player'));

  // Sending without every criterion scored says which one is missing.
  const form = entry.getByRole('form', { name: 'Score Seller14’s pitch' });
  await form.getByRole('group', { name: 'Empathy' }).getByLabel('4 Exemplary').check();
  await form.getByRole('button', { name: 'Send review' }).click();
  await form.getByText('Give a score from 1 to 4 for Value.').waitFor();
  await form.getByRole('group', { name: 'Value' }).getByLabel('2 Partly').check();
  await form.getByText('Give a score from 1 to 4 for Value.').waitFor({ state: 'detached' });
  await form.getByLabel('Comment for the seller', { exact: true }).fill('Great empathy. Tie the price to the savings they named.');
  await form.getByLabel('Comment for the seller', { exact: true }).blur();
  await assertLabelled(page);
  await shotOf(entry, 'pitch-review');
  await form.getByRole('button', { name: 'Send review' }).click();
  await entry.getByTestId('review-sent').waitFor();
  const shown = entry.getByTestId('review');
  assert.match(await shown.innerText(), /Manager[\s\S]*mean 3 of 4[\s\S]*Empathy\s*4 · Exemplary[\s\S]*Value\s*2 · Partly[\s\S]*Tie the price/);
  assert.match(await entry.innerText(), /Reviewed/);

  await entry.getByRole('button', { name: 'Share as exemplar' }).click();
  await entry.getByTestId('shared').waitFor();
  await entry.getByRole('button', { name: 'Shared with the team' }).waitFor();
  const manager = await token('manager@demo.example');
  const kept = (await api(`/api/v1/pitches/${pitch.id}`, { token: manager })).body;
  assert.equal(kept.status, 'reviewed');
  assert.equal(kept.shared, true);
  assert.deepEqual(kept.reviews[0].scores, { Empathy: 4, Value: 2 });

  // The filters: reviewed, of the seller's team.
  await section.getByLabel('Show', { exact: true }).selectOption('reviewed');
  await section.getByLabel('Team', { exact: true }).selectOption({ label: 'Field Sales South' });
  await entry.waitFor();
  await section.getByLabel('Team', { exact: true }).selectOption({ label: 'Field Sales North' });
  await entry.waitFor({ state: 'detached' });
  await assertFitsWidth(page);
  assertNoConsoleErrors();
  await context.close();

  // The seller: the review with the next pitch of that topic, read with "Got it".
  const s = await open(MOBILE);
  await signIn(s.page, email);
  const card = s.page.getByTestId('pitch');
  await card.waitFor();
  assert.equal(await card.locator('.situation').innerText(), pitches[1].prompt);
  const notice = card.getByTestId('pitch-review');
  await notice.waitFor();
  assert.match(await notice.innerText(), new RegExp(`Manager reviewed your pitch on ${topic}[\\s\\S]*Empathy\\s*4 · Exemplary[\\s\\S]*Value\\s*2 · Partly[\\s\\S]*Tie the price to the savings they named\\.`));
  await shotOf(card, 'pitch-seller-review');
  await notice.getByRole('button', { name: 'Got it' }).click();
  await notice.waitFor({ state: 'detached' });
  const queue = (await api('/api/v1/me/queue', { token: seller })).body;
  assert.ok(!queue.nuggets.some((n) => n.pitch_review), 'the review is not carried again once read');

  // My pitches: reviewed, with the scores and the comment, and shared.
  const item = s.page.getByTestId('my-pitches').getByTestId('pitch-item').filter({ hasText: topic });
  await item.getByText('Reviewed', { exact: true }).waitFor();
  assert.match(await item.innerText(), /Shared as exemplar[\s\S]*Value\s*2 · Partly/);

  // Exemplars: the topic with the shared pitch, which plays; a teammate sees it too.
  await s.page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Exemplars' }).click();
  const topicSection = s.page.getByTestId('exemplars').getByRole('region', { name: topic });
  await topicSection.waitFor();
  await topicSection.getByRole('button', { name: `Play Seller14’s pitch on ${topic}` }).click();
  await assertPlays(topicSection);
  await shot(s.page, 'pitch-exemplars');
  const teammate = (await api('/api/v1/me/exemplars', { token: await token('seller15@demo.example') })).body;
  assert.ok(teammate.find((t) => t.topic === topic)?.pitches.some((p) => p.id === pitch.id), 'a teammate sees the exemplar');
  s.assertNoConsoleErrors();
  await s.context.close();

  // With peer review on, a teammate scores it too from their own view (and cannot share it).
  const admin = await token('admin@demo.example');
  assert.equal((await api('/api/v1/org', { token: admin, method: 'PATCH', body: { peer_review: true } })).status, 200);
  try {
    const peer = await open(MOBILE);
    await signIn(peer.page, 'seller15@demo.example');
    const card = peer.page.locator('section.pitches');
    await card.getByRole('heading', { name: 'Teammates’ pitches' }).waitFor();
    await card.getByLabel('Show', { exact: true }).selectOption('');
    const theirs = card.getByTestId('pitch-entry').filter({ hasText: `Seller14 · ${topic}` });
    await theirs.waitFor();
    assert.equal(await theirs.getByRole('button', { name: 'Share as exemplar' }).count(), 0);
    const peerForm = theirs.getByRole('form', { name: 'Score Seller14’s pitch' });
    await peerForm.getByRole('group', { name: 'Empathy' }).getByLabel('3 Shown').check();
    await peerForm.getByRole('group', { name: 'Value' }).getByLabel('3 Shown').check();
    await peerForm.getByRole('button', { name: 'Send review' }).click();
    await theirs.getByTestId('review-sent').waitFor();
    assert.equal(await theirs.getByTestId('review').count(), 2);
    await assertLabelled(peer.page);
    await assertFitsWidth(peer.page);
    peer.assertNoConsoleErrors();
    await peer.context.close();
  } finally {
    await api('/api/v1/org', { token: admin, method: 'PATCH', body: { peer_review: false } });
  }
});

test('journey 8: a manager reads the knowledge × application matrix, records an observation from a cell, and sees the cell change', { timeout: TEST_TIMEOUT }, async () => {
  const manager = await token('manager@demo.example');
  const { context, page, assertNoConsoleErrors } = await open(DESKTOP);
  await signIn(page, 'manager@demo.example');
  const card = page.getByTestId('application-card');
  const matrix = page.getByTestId('application-matrix');
  await matrix.locator('table').waitFor();
  // The demo's observations fill more than one quadrant; the legend counts each.
  const filled = await matrix.locator('td[data-quadrant]').evaluateAll((tds) => [...new Set(tds.map((td) => td.dataset.quadrant))]);
  assert.ok(filled.length >= 2, `quadrants shown: ${filled}`);
  assert.equal(await card.locator('.quadrant-legend li').count(), 5);
  await shotOf(card, 'knowledge-application');

  // A cell nobody observed yet: its button fills the form with the seller and the topic.
  const open_ = matrix.locator('td[data-quadrant=not_observed]').first();
  const learner = await open_.getAttribute('data-learner');
  const topic = await open_.getAttribute('data-topic');
  assert.match(await open_.innerText(), /Ride-along/);
  await open_.getByRole('button').click();
  const form = page.getByTestId('observation-form');
  assert.equal(await form.getByLabel('Seller', { exact: true }).inputValue(), learner);
  assert.equal(await form.getByLabel('Topic', { exact: true }).inputValue(), topic);
  await form.getByLabel('Applied', { exact: true }).selectOption('4');
  await form.getByLabel('What you saw', { exact: true }).fill('Led with the customer’s numbers, unprompted.');
  await form.getByRole('button', { name: 'Record observation' }).click();
  await page.getByTestId('observation-recorded').waitFor();
  const quadrantOf = () => page.evaluate(([l, t]) => [...document.querySelectorAll('[data-testid=application-matrix] td')]
    .find((td) => td.dataset.learner === l && td.dataset.topic === t)?.dataset.quadrant, [learner, topic]);
  const now = await until(quadrantOf, (q) => q && q !== 'not_observed');
  assert.ok(['knows_and_applies', 'applies_without_knowing'].includes(now), `the cell is now ${now}`);
  const recorded = await api(`/api/v1/users/${learner}/observations`, { token: manager });
  assert.equal(recorded.status, 200);
  assert.equal(recorded.body[0].topic, topic);
  assert.equal(recorded.body[0].applied, 4);

  // The team filter: North's sellers only.
  const north = (await api('/api/v1/teams', { token: manager })).body.find((t) => t.name === 'Field Sales North');
  const members = (await api(`/api/v1/users?team_id=${north.id}&role=learner&limit=100`, { token: manager })).body.map((u) => u.name);
  await card.getByLabel('Team', { exact: true }).selectOption({ label: 'Field Sales North' });
  const rows = await until(
    () => matrix.locator('tbody th').allInnerTexts(),
    (names) => names.length > 0 && names.every((n) => members.includes(n)),
  );
  assert.ok(rows.length > 0 && rows.every((n) => members.includes(n)), `rows: ${rows}`);
  await assertLabelled(page);
  await assertFitsWidth(page);
  assertNoConsoleErrors();
  await context.close();
});
