// Small DOM helpers. Everything from the API is inserted as text, never as markup.

/**
 * Builds an element: `h('p', {class: 'x', onclick: fn}, 'text', child)`. Attributes set to
 * null/false are skipped; `on…` keys add listeners; children may be strings, nodes or arrays.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the content of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
export const uid = (prefix = 'id') => `${prefix}-${++ids}`;

/** A labelled form control; `input` is an element whose id is set here. */
export function field(label, input, hint) {
  const id = input.id || uid('f');
  input.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field', dataset: { field: input.name || '' } },
    h('label', { for: id }, label), input, hintEl);
}

/** Says `text` to screen readers (and nothing on screen). */
export function announce(text) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 50);
}

/**
 * Shows an ApiError (or any error): the problem's title and detail, and its field errors with
 * their line numbers. Field errors are also attached to the matching controls of `form`.
 */
export function problemBox(error, form) {
  const problem = error?.problem || { title: 'Something went wrong', detail: String(error?.message || error) };
  const errors = Array.isArray(problem.errors) ? problem.errors : [];
  if (form) markFields(form, errors);
  const box = h('div', { class: 'problem', role: 'alert' },
    h('p', { class: 'problem-title' }, problem.title || 'Error'),
    problem.detail ? h('p', {}, problem.detail) : null,
    errors.length
      ? h('ul', { class: 'field-errors' }, errors.map((e) => h('li', {},
        e.line ? h('span', { class: 'line' }, `Line ${e.line}`) : null,
        e.field ? h('code', {}, e.field) : null,
        ` ${e.message}`)))
      : null);
  return box;
}

function markFields(form, errors) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  for (const e of errors) {
    const input = form.querySelector(`[name="${CSS.escape(e.field || '')}"]`);
    if (!input) continue;
    input.setAttribute('aria-invalid', 'true');
    const msg = h('p', { class: 'field-error', id: uid('err') }, e.message);
    input.setAttribute('aria-describedby', msg.id);
    input.after(msg);
  }
}

/** A placeholder for a section with nothing to show. */
export const empty = (text) => h('p', { class: 'empty' }, text);

export const pct = (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : `${Math.round(x * 100)} %`);

export function num(x) {
  if (x === null || x === undefined) return '—';
  if (typeof x !== 'number') return String(x);
  return Number.isInteger(x) ? x.toLocaleString('en') : x.toLocaleString('en', { maximumFractionDigits: 3 });
}

export function date(s) {
  if (!s) return '—';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  return d.toLocaleDateString('en', { weekday: 'short', day: 'numeric', month: 'short' });
}

export function dateTime(s) {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });
}

/** Today as YYYY-MM-DD in the browser's time zone. */
export function today(offsetDays = 0) {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A horizontal bar (decorative: the number is always written beside it). */
export function bar(share, kind = '') {
  const fill = h('span', { class: `bar-fill ${kind}` });
  fill.style.setProperty('width', `${Math.max(0, Math.min(1, share || 0)) * 100}%`);
  return h('span', { class: 'bar', 'aria-hidden': 'true' }, fill);
}

/** Saves a Blob as a file through a temporary link. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A table from rows of cells; `head` is a list of column titles. */
export function table(caption, head, rows, attrs = {}) {
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h('table', attrs,
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows)));
}

/** A button that disables itself while `action` runs. */
export function busy(button, action) {
  return async (event) => {
    event?.preventDefault?.();
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      await action(event);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  };
}
