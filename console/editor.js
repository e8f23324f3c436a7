// The pack editor: authors write and change nuggets in the browser instead of a file. The draft is
// checked by the server as they type (the same rules and messages as an upload), previewed as a
// seller sees it, saved as the pack's draft and published. Images are uploaded beside a nugget.

import * as api from './api.js';
import { h, mount, field, problemBox, announce, busy } from './ui.js';
import { asQueueNuggets, showPreview } from './author.js';

const packPath = (slug) => `/api/v1/packs/${encodeURIComponent(slug)}`;
const MAX_OPTIONS = 6;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

const blankNugget = (n) => ({
  key: `q${n}`,
  topic: '',
  tags: [],
  prompt: '',
  options: [{ text: '', correct: true }, { text: '', correct: false }],
  explanation: '',
});

/** `#/editor` (a new pack) or `#/editor/{slug}` (its draft, else its newest version). */
export async function render(main, ctx) {
  const slug = ctx.params[0];
  let pack = { slug: '', title: '', description: '', language: 'en', nuggets: [blankNugget(1)] };
  if (slug) {
    try {
      const detail = await api.get(packPath(slug));
      pack = detail.draft || (detail.pack.latest_version ? await api.get(`${packPath(slug)}/export?format=json`) : null) || pack;
    } catch (error) {
      mount(main, h('h1', {}, 'Pack editor'), problemBox(error));
      return undefined;
    }
  }
  return editor(main, structuredClone(pack), Boolean(slug), ctx);
}

function editor(main, pack, existing, ctx) {
  let selected = 0;
  let timer = null;
  let checks = 0;
  const status = h('div', { class: 'checks-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'editor-status' });
  const issues = h('div', { 'data-testid': 'editor-issues' });
  const list = h('ul', { class: 'nugget-list', 'aria-label': 'Nuggets' });
  const form = h('form', { novalidate: true, 'data-testid': 'nugget-form' });
  const preview = h('div', { class: 'preview', 'data-testid': 'editor-preview' });
  const message = h('div', { class: 'form-message', 'data-testid': 'editor-result' });

  const slug = h('input', { type: 'text', name: 'slug', value: pack.slug, pattern: '[a-z0-9][a-z0-9-]*', autocomplete: 'off', spellcheck: 'false', readonly: existing || null });
  const title = h('input', { type: 'text', name: 'title', value: pack.title, autocomplete: 'off' });
  const description = h('textarea', { name: 'description', rows: '2' }, pack.description || '');
  slug.addEventListener('input', () => { pack.slug = slug.value.trim(); changed(); });
  title.addEventListener('input', () => { pack.title = title.value; changed(); });
  description.addEventListener('input', () => { pack.description = description.value; changed(); });
  const meta = h('form', { novalidate: true, class: 'row', 'data-testid': 'pack-form' },
    field('Pack slug', slug, existing ? 'The pack\'s address; it cannot change.' : 'Lower-case letters, digits and dashes, e.g. objection-handling.'),
    field('Title', title),
    field('Description', description));

  /** Asks the server whether the pack as it stands would be accepted, a moment after typing. */
  function changed() {
    renderList();
    mount(status, 'Checking…');
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  }

  async function check() {
    const mine = ++checks;
    try {
      const result = await api.json('/api/v1/packs/validate', { method: 'POST', body: pack });
      if (mine !== checks) return;
      markAll([]);
      const warnings = result.warnings || [];
      mount(status, h('span', { class: 'ok' }, `Ready to save: ${result.nuggets} nugget${result.nuggets === 1 ? '' : 's'}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : ''}.`));
      mount(issues, warnings.length
        ? h('ul', { class: 'issue-list', 'data-testid': 'editor-warnings' }, warnings.map((w) => h('li', {}, h('code', {}, w.field), ` ${w.message}`)))
        : null);
    } catch (error) {
      if (mine !== checks) return;
      const errors = error?.problem?.errors || [];
      markAll(errors);
      mount(status, h('span', { class: 'bad' }, errors.length ? `${errors.length} problem${errors.length === 1 ? '' : 's'} to fix before saving.` : 'The pack cannot be checked right now.'));
      const box = problemBox(error);
      box.setAttribute('data-testid', 'editor-errors');
      mount(issues, box);
    }
  }

  function markAll(errors) {
    const inMeta = errors.filter((e) => !String(e.field).startsWith('nuggets'));
    problemBox({ problem: { errors: inMeta } }, meta);
    problemBox({ problem: { errors: errors.filter((e) => String(e.field).startsWith(`nuggets[${selected}]`)) } }, form);
  }

  function renderList() {
    mount(list, pack.nuggets.map((n, i) => {
      const b = h('button', { type: 'button', class: 'small', 'aria-current': i === selected ? 'true' : null }, `${n.key || `#${i + 1}`}: ${n.prompt ? n.prompt.slice(0, 40) : 'no prompt yet'}`);
      b.addEventListener('click', () => { selected = i; renderForm(); renderList(); check(); });
      return h('li', {}, b);
    }));
  }

  function renderForm() {
    const n = pack.nuggets[selected];
    const at = `nuggets[${selected}]`;
    const input = (name, value, update, attrs = {}) => {
      const el = h(attrs.rows ? 'textarea' : 'input', { type: attrs.rows ? null : 'text', name: `${at}.${name}`, autocomplete: 'off', ...attrs }, attrs.rows ? value : null);
      if (!attrs.rows) el.value = value;
      el.addEventListener('input', () => { update(el.value); changed(); showNuggetPreview(); });
      return el;
    };
    const optionRows = n.options.map((o, j) => {
      const text = input(`options[${j}].text`, o.text, (v) => { o.text = v; });
      text.setAttribute('aria-label', `Option ${j + 1}`);
      const correct = h('input', { type: 'checkbox', name: `${at}.options[${j}].correct`, checked: o.correct || null });
      correct.addEventListener('change', () => { o.correct = correct.checked; changed(); showNuggetPreview(); });
      const feedback = input(`options[${j}].feedback`, o.feedback || '', (v) => { o.feedback = v || undefined; }, { placeholder: 'Feedback when chosen (optional)' });
      feedback.setAttribute('aria-label', `Feedback for option ${j + 1}`);
      const remove = h('button', { type: 'button', class: 'link-button', disabled: n.options.length <= 2 || null }, 'Remove');
      remove.setAttribute('aria-label', `Remove option ${j + 1}`);
      remove.addEventListener('click', () => { n.options.splice(j, 1); renderForm(); changed(); });
      return h('div', { class: 'option-row' }, text,
        h('label', { class: 'check' }, correct, ' Correct'),
        h('div', { class: 'feedback' }, feedback), remove);
    });
    const addOption = h('button', { type: 'button', class: 'small', disabled: n.options.length >= MAX_OPTIONS || null }, 'Add option');
    addOption.addEventListener('click', () => { n.options.push({ text: '', correct: false }); renderForm(); changed(); });
    const tags = input('tags', (n.tags || []).join(', '), (v) => { n.tags = v.split(',').map((t) => t.trim()).filter(Boolean); });
    const mediaUrl = input('media_url', n.media_url || '', (v) => { n.media_url = v.trim() || undefined; });
    const image = h('input', { type: 'file', name: 'image', accept: IMAGE_TYPES.join(',') });
    const imageMessage = h('div', { class: 'form-message' });
    image.addEventListener('change', async () => {
      const file = image.files[0];
      if (!file) return;
      mount(imageMessage, 'Uploading…');
      try {
        const kept = await api.json('/api/v1/media', { method: 'POST', body: file, type: file.type || 'application/octet-stream' });
        n.media_url = kept.url;
        mediaUrl.value = kept.url;
        mount(imageMessage, h('p', { class: 'notice success', role: 'status' }, `Image attached (${kept.width} × ${kept.height}).`));
        changed();
        showNuggetPreview();
      } catch (error) {
        mount(imageMessage, problemBox(error));
      }
    });
    const removeNugget = h('button', { type: 'button', class: 'link-button', disabled: pack.nuggets.length <= 1 || null }, 'Remove this nugget');
    removeNugget.addEventListener('click', () => {
      pack.nuggets.splice(selected, 1);
      selected = Math.max(0, selected - 1);
      renderForm();
      changed();
    });
    mount(form,
      h('h2', {}, `Nugget ${selected + 1} of ${pack.nuggets.length}`),
      h('div', { class: 'row' },
        field('Key', input('key', n.key, (v) => { n.key = v.trim(); }), 'Unique in the pack; keeps answers attached across versions.'),
        field('Topic', input('topic', n.topic, (v) => { n.topic = v; })),
        field('Tags', tags, 'Comma-separated.')),
      field('Prompt', input('prompt', n.prompt, (v) => { n.prompt = v; }, { rows: '3' }), 'The client situation and the question.'),
      h('fieldset', {}, h('legend', {}, 'Options (2 to 6; mark every correct one)'),
        h('div', { 'data-field': `${at}.options`, name: `${at}.options` }, optionRows), addOption),
      field('Explanation', input('explanation', n.explanation || '', (v) => { n.explanation = v; }, { rows: '3' }), 'Shown after answering, right or wrong.'),
      h('div', { class: 'row' },
        field('Image', image, 'PNG, JPEG or WebP up to 2 MB; metadata is removed.'),
        field('Media link', mediaUrl, 'Filled by an upload, or any https:// address.')),
      imageMessage, removeNugget);
    showNuggetPreview();
  }

  function showNuggetPreview() {
    const n = asQueueNuggets({ slug: pack.slug, nuggets: [pack.nuggets[selected]] })[0];
    if (n && n.prompt && n.options.every((o) => o.text)) showPreview(preview, n, { focus: false });
    else mount(preview, h('p', { class: 'hint' }, 'The preview appears once the prompt and every option have text.'));
  }

  const addNugget = h('button', { type: 'button', class: 'small' }, 'Add nugget');
  addNugget.addEventListener('click', () => {
    pack.nuggets.push(blankNugget(pack.nuggets.length + 1));
    selected = pack.nuggets.length - 1;
    renderForm();
    changed();
  });

  async function save() {
    const result = await api.json('/api/v1/packs', { method: 'POST', body: pack });
    return result;
  }
  const saveButton = h('button', { type: 'button' }, 'Save draft');
  saveButton.addEventListener('click', busy(saveButton, async () => {
    try {
      const result = await save();
      const said = { created: 'New pack saved as a draft', updated: 'Draft saved', unchanged: 'No changes to save' }[result.outcome] || 'Saved';
      mount(message, h('p', { class: 'notice success', role: 'status' }, `${said}: ${result.pack.title}.`));
      announce(said);
    } catch (error) {
      markAll(error?.problem?.errors || []);
      mount(message, problemBox(error));
    }
  }));
  const publishButton = h('button', { type: 'button', class: 'primary' }, 'Save and publish');
  publishButton.addEventListener('click', busy(publishButton, async () => {
    try {
      await save();
      const version = await api.post(`${packPath(pack.slug)}/publish`, {});
      announce(`Published version ${version.version}`);
      ctx.go(`#/author/${encodeURIComponent(pack.slug)}`);
    } catch (error) {
      markAll(error?.problem?.errors || []);
      mount(message, problemBox(error));
    }
  }));

  mount(main,
    h('p', {}, h('a', { href: existing ? `#/author/${encodeURIComponent(pack.slug)}` : '#/author' }, existing ? '← Back to the pack' : '← All packs')),
    h('h1', {}, existing ? `Edit ${pack.title}` : 'New pack'),
    h('section', { class: 'card' }, meta, status, issues),
    h('div', { class: 'editor' },
      h('section', { class: 'card', 'aria-label': 'Nuggets' }, list, addNugget),
      h('section', { class: 'card' }, form),
      h('section', { class: 'card', 'aria-label': 'Preview as a seller sees it' }, h('h2', {}, 'Preview'), preview)),
    h('section', { class: 'card' }, message, h('div', { class: 'actions' }, saveButton, ' ', publishButton)));
  renderList();
  renderForm();
  check();
  return () => clearTimeout(timer);
}
