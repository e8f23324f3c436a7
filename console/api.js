// The public API, as any client uses it: bearer tokens kept for the session (sessionStorage) or,
// when the user asked to stay signed in on this device, until they sign out (localStorage); one
// refresh on a 401, problem documents turned into ApiError.

const TOKENS = 'reprise.tokens';
const PROFILE = 'reprise.me';

/** A failed call: `status` 0 means the server could not be reached. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
  get network() {
    return this.status === 0;
  }
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** Where the current tokens are kept: this session's storage, else the device's, else none. */
function keeper() {
  try {
    if (sessionStorage.getItem(TOKENS)) return sessionStorage;
    if (localStorage.getItem(TOKENS)) return localStorage;
  } catch { /* storage refused */ }
  return null;
}

export function tokens() {
  try {
    return JSON.parse(keeper()?.getItem(TOKENS) ?? 'null');
  } catch {
    return null;
  }
}

/** Keeps a new pair where the old one was, or where `remember` says for a new session. */
function saveTokens(pair, remember) {
  const store = remember === undefined ? (keeper() || sessionStorage) : (remember ? localStorage : sessionStorage);
  store.setItem(TOKENS, JSON.stringify({
    access_token: pair.access_token,
    refresh_token: pair.refresh_token,
  }));
}

export function clearTokens() {
  for (const store of [sessionStorage, localStorage]) {
    store.removeItem(TOKENS);
    store.removeItem(PROFILE);
  }
}

/** Whether the console runs as the installed app, where staying signed in is the default. */
export const installed = () => window.matchMedia?.('(display-mode: standalone)').matches === true;

/**
 * The signed-in user (`GET /api/v1/me`); when the server cannot be reached, the last answer kept
 * beside the tokens, so a console opened offline still knows who is signed in. It lives and goes
 * with the tokens.
 */
export async function me() {
  try {
    const profile = await get('/api/v1/me');
    keeper()?.setItem(PROFILE, JSON.stringify(profile));
    return profile;
  } catch (error) {
    if (!error.network) throw error;
    let kept = null;
    try {
      kept = JSON.parse(keeper()?.getItem(PROFILE) ?? 'null');
    } catch { /* nothing kept */ }
    if (kept && tokens()) return kept;
    throw error;
  }
}

let signedOutHandler = () => {};
/** Called when the session cannot be renewed (refresh token expired or revoked). */
export function onSignedOut(handler) {
  signedOutHandler = handler;
}

async function send(path, { method = 'GET', body, type, auth = true, accept } = {}) {
  const headers = {};
  if (accept) headers.accept = accept;
  let payload = body;
  if (body !== undefined && type === undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  } else if (type) {
    headers['content-type'] = type;
  }
  const t = tokens();
  if (auth && t) headers.authorization = `Bearer ${t.access_token}`;
  try {
    return await fetch(path, { method, headers, body: payload, cache: 'no-store' });
  } catch {
    throw new ApiError(0, {
      title: 'No connection',
      detail: 'The server could not be reached. Check your connection and try again.',
    });
  }
}

async function problemOf(res) {
  const text = await res.text();
  try {
    const doc = JSON.parse(text);
    if (doc && typeof doc === 'object') return doc;
  } catch { /* not JSON */ }
  return { title: res.statusText || `HTTP ${res.status}`, detail: text.slice(0, 300) };
}

let refreshing = null;

/** Trades the refresh token for a new pair; concurrent callers share one request. */
function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const t = tokens();
      if (!t) return false;
      const res = await send('/api/v1/auth/refresh', {
        method: 'POST', body: { refresh_token: t.refresh_token }, auth: false,
      });
      if (!res.ok) return false;
      saveTokens(await res.json());
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

/**
 * Calls the API and returns the raw Response when it succeeded (2xx or 304). A 401 is retried once
 * after refreshing the tokens; any other failure throws ApiError with the problem document.
 */
export async function call(path, options = {}) {
  let res = await send(path, options);
  if (res.status === 401 && options.auth !== false && tokens()) {
    const renewed = await refresh().catch(() => false);
    if (renewed) {
      res = await send(path, options);
    } else {
      clearTokens();
      signedOutHandler();
    }
  }
  if (!res.ok && res.status !== 304) throw new ApiError(res.status, await problemOf(res));
  return res;
}

/** Calls the API and parses a JSON answer (null for empty bodies). */
export async function json(path, options = {}) {
  const res = await call(path, options);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path) => json(path);
export const post = (path, body) => json(path, { method: 'POST', body });

/**
 * Logs in; `organization` (a slug) is sent only when given. With `remember` the session outlives
 * the browser tab, so the app opens signed in (and offline) until the user signs out.
 */
export async function login(email, password, organization = '', remember = false) {
  const body = organization ? { email, password, organization } : { email, password };
  const pair = await json('/api/v1/auth/login', { method: 'POST', body, auth: false });
  clearTokens();
  saveTokens(pair, remember);
}

/** Signs in with the one-tap link of a reminder e-mail (single use): replaces any session. */
export async function signInWithLink(token) {
  const pair = await json('/api/v1/auth/link', { method: 'POST', body: { token }, auth: false });
  clearTokens();
  saveTokens(pair, installed());
}

/** Sets a new password with an invitation or reset link's token (single use); signs in. */
export async function setPassword(token, newPassword) {
  const pair = await json('/api/v1/auth/password-reset/confirm', {
    method: 'POST', body: { token, new_password: newPassword }, auth: false,
  });
  clearTokens();
  saveTokens(pair, installed());
}

/** Asks for a reset link by e-mail; the server answers the same whether the address is known. */
export async function requestPasswordReset(email) {
  await call('/api/v1/auth/password-reset', { method: 'POST', body: { email }, auth: false });
}

/** Exchanges the one-time code a finished single sign-on left in the address for a token pair. */
export async function signInWithSso(code) {
  const pair = await json('/api/v1/auth/sso/exchange', { method: 'POST', body: { code }, auth: false });
  clearTokens();
  saveTokens(pair, installed());
}

/** Where the browser goes to sign in with the identity provider of this address's organization. */
export function ssoStartUrl(email) {
  return `/api/v1/auth/sso/start?email=${encodeURIComponent(email)}`;
}

export async function logout() {
  const t = tokens();
  clearTokens();
  if (t) {
    await send('/api/v1/auth/logout', {
      method: 'POST', body: { refresh_token: t.refresh_token }, auth: false,
    }).catch(() => {});
  }
}

let specPromise = null;

/** The server's OpenAPI document (public), fetched once; null when it cannot be read. */
export function spec() {
  if (!specPromise) {
    specPromise = send('/api/v1/openapi.json', { auth: false })
      .then((res) => (res.ok ? res.json() : null))
      .catch(() => { specPromise = null; return null; });
  }
  return specPromise;
}

/**
 * The documented GET operation of a path (e.g. `/api/v1/analytics/heatmap`), or null when this
 * server does not offer it: routes built on other branches light up once they are deployed.
 */
export async function operation(path) {
  const doc = await spec();
  if (!doc) return undefined; // unknown: the caller tries the route and handles a 404
  const op = doc.paths?.[path]?.get;
  if (!op) return null;
  // Parameters and their schemas may be references to the document's components.
  const resolve = (node) => {
    let n = node;
    for (let i = 0; n && n.$ref && i < 5; i += 1) {
      n = n.$ref.replace(/^#\//, '').split('/').reduce((o, k) => o?.[k], doc);
    }
    return n || {};
  };
  const parameters = (op.parameters || []).map((p) => {
    const param = resolve(p);
    return { ...param, schema: resolve(param.schema) };
  });
  return { ...op, parameters };
}
