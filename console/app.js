// The console's entry point: sign-in, the role's views, and hash routing between them.

import * as api from './api.js';
import { h, mount, field, problemBox, announce } from './ui.js';
import * as outbox from './outbox.js';
import * as pitchOutbox from './pitch-outbox.js';
import * as offline from './offline.js';
import * as seller from './seller.js';
import * as author from './author.js';
import * as hr from './hr.js';
import * as editor from './editor.js';
import * as exemplars from './pitch.js';

const VIEWS = {
  seller: { label: 'My nuggets', module: seller },
  author: { label: 'Packs', module: author },
  hr: { label: 'Analytics', module: hr },
  exemplars: { label: 'Exemplars', module: exemplars },
  // Reached from a pack's page, not the navigation.
  editor: { label: 'Pack editor', module: editor, nav: false },
};

/** The views each role may open, its home first. Every role can answer nuggets assigned to it. */
const ROLE_VIEWS = {
  learner: ['seller', 'exemplars'],
  author: ['author', 'seller', 'exemplars', 'editor'],
  manager: ['hr', 'exemplars'],
  analyst: ['hr'],
  admin: ['hr', 'author', 'seller', 'exemplars', 'editor'],
};

const main = document.getElementById('main');
let me = null;
let cleanup = null;

function route() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { name, params: rest.map(decodeURIComponent) };
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function renderAccount() {
  const account = document.getElementById('account');
  const nav = document.getElementById('nav');
  if (!me) {
    mount(account);
    mount(nav);
    return;
  }
  const views = (ROLE_VIEWS[me.user.role] || []).filter((v) => VIEWS[v].nav !== false);
  const current = route().name;
  mount(nav, views.length > 1
    ? h('ul', {}, views.map((v) => h('li', {},
      h('a', { href: `#/${v}`, 'aria-current': v === current ? 'page' : null }, VIEWS[v].label))))
    : null);
  const signOut = h('button', { type: 'button', class: 'link-button' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    await offline.signedOut();
    await api.logout();
    me = null;
    go('#/signin');
  });
  mount(account,
    h('span', { class: 'who' }, h('span', { class: 'name' }, me.user.name),
      h('span', { class: 'role' }, ` · ${me.user.role} · ${me.organization.name}`)),
    signOut);
}

function renderConnection() {
  const el = document.getElementById('connection');
  const pending = me ? outbox.count(me.user.id) : 0;
  const parts = [];
  if (!navigator.onLine) parts.push(h('span', { class: 'badge offline' }, 'Offline'));
  if (pending) {
    parts.push(h('span', { class: 'badge pending', 'data-testid': 'pending' },
      `${pending} answer${pending === 1 ? '' : 's'} waiting to sync`));
  }
  const recordings = me ? pitchOutbox.count(me.user.id) : 0;
  if (recordings) {
    parts.push(h('span', { class: 'badge pending', 'data-testid': 'pending-pitches' },
      `${recordings} recording${recordings === 1 ? '' : 's'} waiting to upload`));
  }
  mount(el, parts);
  el.classList.toggle('visible', parts.length > 0);
}

function signIn() {
  document.title = 'Sign in · Reprise';
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const organization = h('input', { type: 'text', name: 'organization', autocomplete: 'organization', spellcheck: 'false' });
  const remember = h('input', { type: 'checkbox', name: 'remember', checked: api.installed() });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const message = h('div', { class: 'form-message' });
  const form = h('form', { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Use the account your organization gave you.'),
    field('E-mail', email), field('Password', password),
    field('Organization', organization,
      'Only if your e-mail address has accounts in several organizations: its short name, e.g. demo-sales-co.'),
    h('label', { class: 'check' }, remember, ' Keep me signed in on this device'),
    h('p', {}, h('a', { href: '#/forgot' }, 'Forgot your password?')),
    h('p', { class: 'muted' }, 'The app then opens with today’s nuggets even without a connection. Not on a shared computer.'),
    message, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!email.value || !password.value) {
      mount(message, problemBox({ problem: { title: 'Missing details', detail: 'Enter your e-mail and password.' } }));
      (email.value ? password : email).focus();
      return;
    }
    submit.disabled = true;
    mount(message);
    try {
      await api.login(email.value.trim(), password.value, organization.value.trim(), remember.checked);
      me = await api.me();
      announce(`Signed in as ${me.user.name}`);
      go(`#/${ROLE_VIEWS[me.user.role]?.[0] || 'seller'}`);
    } catch (error) {
      mount(message, problemBox(error, form));
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  mount(main, form, companySignIn(email));
  email.focus();
}

/**
 * Sign in with your company account: the address's domain names the organization, whose
 * identity provider signs the person in and sends them back to `#/sso/<code>`.
 */
function companySignIn(passwordEmail) {
  const email = h('input', { type: 'email', name: 'sso-email', autocomplete: 'username', required: true });
  const submit = h('button', { type: 'submit' }, 'Continue');
  const message = h('div', { class: 'form-message' });
  const form = h('form', { class: 'card narrow', novalidate: true, 'aria-labelledby': 'sso-title' },
    h('h2', { id: 'sso-title' }, 'Company account'),
    h('p', { class: 'muted' }, 'Sign in with your company account when your organization uses single sign-on (Okta, Microsoft, Google…): enter your work e-mail and continue there.'),
    field('Work e-mail', email), message, submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const address = (email.value || passwordEmail.value).trim();
    if (!address.includes('@')) {
      mount(message, problemBox({ problem: { title: 'Missing details', detail: 'Enter your work e-mail address.' } }));
      email.focus();
      return;
    }
    location.assign(api.ssoStartUrl(address));
  });
  return form;
}

/** The page an invitation or reset e-mail links to: choose a password, then in. */
function setPasswordPage(token) {
  document.title = 'Choose your password · Reprise';
  const password = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true, minlength: 10 });
  const again = h('input', { type: 'password', name: 'again', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Save and sign in');
  const message = h('div', { class: 'form-message' });
  const form = h('form', { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Choose your password'),
    h('p', { class: 'muted' }, 'At least 10 characters; not your e-mail address, not a common password.'),
    field('New password', password), field('Repeat it', again), message, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (password.value !== again.value) {
      mount(message, problemBox({ problem: { title: 'Not the same', detail: 'Type the same password twice.' } }));
      again.focus();
      return;
    }
    submit.disabled = true;
    mount(message);
    try {
      await api.setPassword(token, password.value);
      me = null;
      announce('Password saved');
      go('#/');
    } catch (error) {
      mount(message, problemBox(error, form));
    } finally {
      submit.disabled = false;
    }
  });
  mount(main, form);
  password.focus();
}

/** Asks for a reset link; says the same whether or not the address is known. */
function forgotPage() {
  document.title = 'Reset your password · Reprise';
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Send me a link');
  const message = h('div', { class: 'form-message' });
  const form = h('form', { class: 'card narrow', novalidate: true },
    h('h1', {}, 'Reset your password'),
    h('p', { class: 'muted' }, 'We will e-mail a link to choose a new password. It works once, for an hour.'),
    field('E-mail', email), message, submit,
    h('p', {}, h('a', { href: '#/signin' }, 'Back to sign in')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    mount(message);
    try {
      await api.requestPasswordReset(email.value.trim());
      mount(message, h('p', { role: 'status', 'data-testid': 'reset-sent' },
        'If an account uses this address, a link is on its way. Check your inbox.'));
    } catch (error) {
      mount(message, problemBox(error, form));
    } finally {
      submit.disabled = false;
    }
  });
  mount(main, form);
  email.focus();
}

async function render() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const { name, params } = route();
  if (name === 'link') {
    // A reminder e-mail's sign-in link: used once, then today's nuggets. The token stays in the
    // fragment, so it never reaches a server log; it leaves the address bar at once.
    history.replaceState(null, '', '#/seller');
    mount(main, h('p', { class: 'loading' }, 'Signing in…'));
    try {
      await api.signInWithLink(params[0] || '');
      me = null;
    } catch (error) {
      mount(main, h('section', { class: 'card narrow' }, h('h1', {}, 'This link has expired'),
        problemBox(error), h('p', {}, h('a', { href: '#/signin' }, 'Sign in with your password'))));
      return;
    }
    return render();
  }
  if (name === 'sso') {
    // Back from the company's identity provider with a one-time code: exchanged once, and
    // taken out of the address bar at once (it stays in the fragment, out of server logs).
    history.replaceState(null, '', '#/');
    mount(main, h('p', { class: 'loading' }, 'Signing in…'));
    try {
      await api.signInWithSso(params[0] || '');
      me = null;
    } catch (error) {
      mount(main, h('section', { class: 'card narrow' }, h('h1', {}, 'Single sign-on did not finish'),
        problemBox(error), h('p', {}, h('a', { href: '#/signin' }, 'Back to sign-in'))));
      return;
    }
    return render();
  }
  if (name === 'set-password' && params[0]) {
    // The token stays in memory only: it leaves the address bar (and the history) at once.
    history.replaceState(null, '', '#/set-password');
    setPasswordPage(params[0]);
    return;
  }
  if (name === 'forgot' && !api.tokens()) {
    forgotPage();
    return;
  }
  if (!api.tokens()) {
    me = null;
    renderAccount();
    renderConnection();
    if (name !== 'signin') {
      history.replaceState(null, '', '#/signin');
    }
    signIn();
    return;
  }
  if (!me) {
    mount(main, h('p', { class: 'loading' }, 'Loading…'));
    try {
      me = await api.me();
    } catch (error) {
      if (error.status === 401 || !api.tokens()) {
        api.clearTokens();
        return render();
      }
      mount(main, h('section', { class: 'card' }, h('h1', {}, 'Reprise'), problemBox(error),
        h('button', { type: 'button', onclick: () => render() }, 'Try again')));
      return;
    }
  }
  const allowed = ROLE_VIEWS[me.user.role] || ['seller'];
  if (!allowed.includes(name)) {
    history.replaceState(null, '', `#/${allowed[0]}`);
    return render();
  }
  renderAccount();
  renderConnection();
  document.title = `${VIEWS[name].label} · Reprise`;
  mount(main);
  const ctx = { me, params, go, refreshStatus: renderConnection };
  try {
    cleanup = (await VIEWS[name].module.render(main, ctx)) || null;
  } catch (error) {
    mount(main, h('section', { class: 'card' }, h('h1', {}, VIEWS[name].label), problemBox(error)));
  }
  if (document.activeElement === document.body || !main.contains(document.activeElement)) {
    main.focus({ preventScroll: true });
  }
}

api.onSignedOut(() => {
  me = null;
  go('#/signin');
});
window.addEventListener('hashchange', render);
window.addEventListener('online', renderConnection);
window.addEventListener('offline', renderConnection);
offline.register();
render();
