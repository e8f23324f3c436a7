// The author's view: packs and their versions, uploading a pack file with its validation errors
// by line, previewing nuggets as a seller sees them, publishing, assigning, and item analysis.

import * as api from './api.js';
import { h, mount, field, problemBox, announce, empty, pct, num, dateTime, today, busy, table } from './ui.js';
import { nuggetCard, feedbackCard } from './seller.js';

/** Upload content type and query by file extension; `meta` formats need a slug and a title. */
const FORMATS = {
  yaml: { type: 'application/yaml', label: 'YAML pack' },
  yml: { type: 'application/yaml', label: 'YAML pack' },
  json: { type: 'application/json', label: 'JSON pack' },
  gift: { type: 'text/plain', query: { format: 'gift' }, meta: true, label: 'GIFT questions' },
  csv: { type: 'text/csv', meta: true, label: 'CSV, one row per nugget' },
  txt: { type: 'text/plain', query: { format: 'aiken' }, meta: true, label: 'Aiken questions' },
};

const FLAGS = {
  too_easy: 'Too easy',
  too_hard: 'Too hard',
  distractor_beats_answer: 'A wrong option beats the answer',
  negative_discrimination: 'Strong sellers miss it',
};

const extension = (name) => (name.match(/\.([a-z0-9]+)$/i)?.[1] || '').toLowerCase();
const packPath = (slug) => `/api/v1/packs/${encodeURIComponent(slug)}`;

export async function render(main, ctx) {
  const slug = ctx.params[0];
  if (slug) return packPage(main, slug, ctx);
  return listPage(main);
}

async function listPage(main) {
  const listArea = h('div', { 'data-testid': 'packs' }, h('p', { class: 'loading' }, 'Loading packs…'));
  async function loadList() {
    try {
      const packs = await api.get('/api/v1/packs');
      mount(listArea, packs.length
        ? table('Packs of your organization', ['Pack', 'Slug', 'Published version', 'Draft', 'Updated'],
          packs.map((p) => h('tr', {},
            h('th', { scope: 'row' }, h('a', { href: `#/author/${encodeURIComponent(p.slug)}` }, p.title)),
            h('td', {}, h('code', {}, p.slug)),
            h('td', {}, p.latest_version ? `v${p.latest_version}` : 'not yet'),
            h('td', {}, p.has_draft ? h('span', { class: 'tag draft' }, 'Unpublished changes') : '—'),
            h('td', {}, dateTime(p.updated_at)))))
        : empty('No packs yet: upload your first pack file above.'));
    } catch (error) {
      mount(listArea, problemBox(error));
    }
  }
  mount(main,
    h('h1', {}, 'Packs'),
    h('p', {}, h('a', { href: '#/editor', class: 'button primary' }, 'Write a new pack in the editor')),
    h('section', { class: 'card', 'aria-labelledby': 'upload-title' },
      h('h2', { id: 'upload-title' }, 'Upload a pack file'),
      uploadForm(loadList)),
    h('section', { class: 'card', 'aria-labelledby': 'packs-title' },
      h('h2', { id: 'packs-title' }, 'All packs'), listArea));
  await loadList();
}

function uploadForm(onUploaded) {
  const file = h('input', { type: 'file', name: 'file', required: true, accept: Object.keys(FORMATS).map((e) => `.${e}`).join(',') });
  const slug = h('input', { type: 'text', name: 'slug', pattern: '[a-z0-9][a-z0-9-]*', autocomplete: 'off', spellcheck: 'false' });
  const title = h('input', { type: 'text', name: 'title', autocomplete: 'off' });
  const meta = h('div', { class: 'row', hidden: true },
    field('Pack slug', slug, 'Lower-case letters, digits and dashes, e.g. objection-handling.'),
    field('Pack title', title, 'Optional: a GIFT file is titled after its first category, others after the slug.'));
  const skip = h('input', { type: 'checkbox', name: 'skip_unsupported' });
  const strict = h('input', { type: 'checkbox', name: 'strict' });
  const leniency = h('div', { class: 'checks' },
    h('label', { class: 'check' }, skip, ' Skip GIFT question types Reprise does not ask (matching, short answer, numerical, essay)'),
    h('label', { class: 'check' }, strict, ' Strict: refuse nuggets without an explanation'));
  const detected = h('p', { class: 'hint', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload');
  const message = h('div', { class: 'form-message', 'data-testid': 'upload-result' });
  const form = h('form', { novalidate: true },
    field('Pack file', file, 'YAML or JSON in the pack format, GIFT (.gift), CSV (.csv) or Aiken (.txt).'),
    detected, meta, leniency, message, submit);
  file.addEventListener('change', () => {
    const f = file.files[0];
    const fmt = f && FORMATS[extension(f.name)];
    meta.hidden = !fmt?.meta;
    detected.textContent = f ? (fmt ? `Format: ${fmt.label}.` : 'This file type is not supported.') : '';
    if (fmt?.meta && !slug.value) {
      slug.value = f.name.replace(/\.[^.]+$/, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
    }
  });
  form.addEventListener('submit', busy(submit, async () => {
    mount(message);
    const f = file.files[0];
    const fmt = f && FORMATS[extension(f.name)];
    const missing = [];
    if (!f) missing.push({ field: 'file', message: 'choose a pack file' });
    else if (!fmt) missing.push({ field: 'file', message: 'use a .yaml, .yml, .json, .gift, .csv or .txt file' });
    if (fmt?.meta && !slug.value.trim()) missing.push({ field: 'slug', message: 'a pack slug is needed for this format' });
    if (missing.length) {
      mount(message, problemBox({ problem: { title: 'Check the form', detail: 'Some details are missing.', errors: missing } }, form));
      form.querySelector('[aria-invalid]')?.focus();
      return;
    }
    const query = new URLSearchParams(fmt.query || {});
    if (fmt.meta) {
      query.set('slug', slug.value.trim());
      if (title.value.trim()) query.set('title', title.value.trim());
    }
    if (skip.checked) query.set('skip_unsupported', 'true');
    if (strict.checked) query.set('strict', 'true');
    const qs = query.toString();
    try {
      const result = await api.json(`/api/v1/packs${qs ? `?${qs}` : ''}`, {
        method: 'POST', body: await f.text(), type: fmt.type,
      });
      const said = { created: 'New pack created as a draft', updated: 'Draft updated', unchanged: 'No changes: the draft is identical' }[result.outcome] || 'Saved';
      mount(message, h('div', { class: 'notice success', role: 'status' },
        h('p', {}, `${said}: `, h('strong', {}, result.pack.title), ` (${result.pack.slug}).`),
        warningList(result.warnings),
        h('p', {}, h('a', { href: `#/author/${encodeURIComponent(result.pack.slug)}` }, 'Review, publish and assign this pack'))));
      announce(said);
      onUploaded();
    } catch (error) {
      const box = problemBox(error, form);
      box.setAttribute('data-testid', 'upload-errors');
      mount(message, box);
    }
  }));
  return form;
}

/** What an upload let through (no explanation, skipped questions), by line; nothing when clean. */
function warningList(warnings) {
  if (!warnings?.length) return null;
  return h('details', { class: 'warnings', 'data-testid': 'upload-warnings' },
    h('summary', {}, `${warnings.length} warning${warnings.length === 1 ? '' : 's'}`),
    h('ul', {}, warnings.map((w) => h('li', {},
      w.line ? `Line ${w.line}: ` : '', w.field ? `${w.field}: ` : '', w.message))));
}

/** The nuggets of a pack file as the queue would send them (option ids `a`…`f` by position). */
export function asQueueNuggets(pack) {
  return (pack?.nuggets || []).map((n) => ({
    nugget_id: n.key,
    key: n.key,
    pack: pack.slug,
    topic: n.topic,
    prompt: n.prompt,
    media_url: n.media_url,
    multiple: n.options.filter((o) => o.correct).length > 1,
    review: false,
    explanation: n.explanation,
    source: n.options.map((o, i) => ({ ...o, id: 'abcdef'[i] })),
    options: n.options.map((o, i) => ({ id: 'abcdef'[i], text: o.text })),
  }));
}

async function packPage(main, slug, ctx) {
  let detail;
  try {
    detail = await api.get(packPath(slug));
  } catch (error) {
    mount(main, h('p', {}, h('a', { href: '#/author' }, '← All packs')), h('h1', {}, 'Pack'), problemBox(error));
    return;
  }
  const { pack, versions, draft } = detail;
  const draftArea = h('div');
  const previewArea = h('div', { class: 'preview', 'data-testid': 'preview' });
  const assignArea = h('div');
  const analysisArea = h('div', { 'data-testid': 'analysis' });

  mount(main,
    h('p', {}, h('a', { href: '#/author' }, '← All packs')),
    h('h1', {}, pack.title),
    h('p', {}, h('a', { href: `#/editor/${encodeURIComponent(pack.slug)}`, class: 'button' }, 'Edit in the editor')),
    h('p', { class: 'meta' },
      h('code', {}, pack.slug),
      h('span', {}, pack.latest_version ? `published v${pack.latest_version}` : 'never published'),
      pack.has_draft ? h('span', { class: 'tag draft' }, 'Unpublished changes') : null),
    h('section', { class: 'card', 'aria-labelledby': 'draft-title' },
      h('h2', { id: 'draft-title' }, draft ? 'Draft' : 'Nuggets'), draftArea, previewArea),
    h('section', { class: 'card', 'aria-labelledby': 'versions-title' },
      h('h2', { id: 'versions-title' }, 'Published versions'),
      versions.length
        ? table('Versions, newest first', ['Version', 'Title', 'Nuggets', 'Published'],
          versions.map((v) => h('tr', {}, h('th', { scope: 'row' }, `v${v.version}`), h('td', {}, v.title),
            h('td', {}, num(v.nugget_count)), h('td', {}, dateTime(v.published_at)))))
        : empty('Not published yet: publish the draft to make it assignable.')),
    h('section', { class: 'card', 'aria-labelledby': 'assign-title' },
      h('h2', { id: 'assign-title' }, 'Assign to a team'), assignArea),
    h('section', { class: 'card', 'aria-labelledby': 'analysis-title' },
      h('h2', { id: 'analysis-title' }, 'Item analysis'), analysisArea));

  // The draft (or else the newest version) with a seller's-eye preview of each nugget.
  let shown = draft;
  if (!shown && pack.latest_version) {
    shown = await api.get(`${packPath(slug)}/export?format=json`).catch(() => null);
  }
  const nuggets = asQueueNuggets(shown);
  const publish = h('button', { type: 'button', class: 'primary' }, 'Publish this draft');
  const publishMessage = h('div', { class: 'form-message' });
  publish.addEventListener('click', busy(publish, async () => {
    try {
      const version = await api.post(`${packPath(slug)}/publish`, {});
      announce(`Published version ${version.version}`);
      ctx.go(`#/author/${encodeURIComponent(slug)}`);
    } catch (error) {
      mount(publishMessage, problemBox(error));
    }
  }));
  mount(draftArea,
    draft ? h('p', {}, `${nuggets.length} nugget${nuggets.length === 1 ? '' : 's'} waiting to be published. Learners keep answering the published version until then.`) : null,
    draft ? [publish, publishMessage] : null,
    nuggets.length
      ? table(draft ? 'Nuggets in the draft' : `Nuggets of v${pack.latest_version}`, ['Key', 'Topic', 'Prompt', 'Preview'], nuggets.map((n) => {
        const button = h('button', { type: 'button', class: 'small' }, 'Preview');
        button.setAttribute('aria-label', `Preview ${n.key}`);
        button.addEventListener('click', () => showPreview(previewArea, n));
        return h('tr', {}, h('th', { scope: 'row' }, h('code', {}, n.key)), h('td', {}, n.topic),
          h('td', { class: 'prompt-cell' }, n.prompt), h('td', {}, button));
      }))
      : empty('This pack has no nuggets to show.'));

  assignForm(assignArea, pack);
  itemAnalysis(analysisArea, slug);
}

/** Shows `nugget` as a seller sees it, answerable; `focus: false` leaves the focus where it is
 * (the editor refreshes the preview as the author types). */
export function showPreview(area, nugget, { focus = true } = {}) {
  const close = h('button', { type: 'button', class: 'link-button' }, 'Close preview');
  close.addEventListener('click', () => mount(area));
  const onAnswer = (n, selected) => {
    const correctIds = n.source.filter((o) => o.correct).map((o) => o.id);
    const correct = correctIds.length === selected.length && correctIds.every((id) => selected.includes(id));
    mount(area, h('h3', { tabindex: '-1' }, `Preview of ${n.key}: after answering`),
      feedbackCard(n, {
        correct,
        explanation: n.explanation,
        options: n.source.map((o) => ({ ...o, chosen: selected.includes(o.id) })),
      }, null, false), close);
    area.querySelector('h3').focus();
    return null;
  };
  mount(area, h('h3', { tabindex: '-1' }, `Preview of ${nugget.key}: as a seller sees it`),
    h('div', { class: 'phone' }, nuggetCard(nugget, 0, 1, onAnswer)), close);
  if (focus) area.querySelector('h3').focus();
}

async function assignForm(area, pack) {
  if (!pack.latest_version) {
    mount(area, empty('Publish the pack first: only published versions can be assigned.'));
    return;
  }
  let teams = [];
  try {
    teams = await api.get('/api/v1/teams');
  } catch (error) {
    mount(area, problemBox(error));
    return;
  }
  if (!teams.length) {
    mount(area, empty('Your organization has no teams yet. An admin creates them.'));
    return;
  }
  const team = h('select', { name: 'team_id', required: true },
    teams.map((t) => h('option', { value: t.id }, t.name)));
  const starts = h('input', { type: 'date', name: 'starts_on', required: true, value: today() });
  const cap = h('input', { type: 'number', name: 'daily_cap', min: '1', max: '20', value: '3', required: true, inputmode: 'numeric' });
  const policy = h('select', { name: 'policy' },
    h('option', { value: 'fsrs' }, 'FSRS: ask when recall falls to 90 %'),
    h('option', { value: 'planner' }, 'Planner: most recall for the fewest questions'),
    h('option', { value: 'qstream' }, 'Fixed rule: 21 days if wrong, 42 if right'));
  const ready = h('input', { type: 'date', name: 'target_date' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Assign');
  const message = h('div', { class: 'form-message', 'data-testid': 'assign-result' });
  const current = h('div');
  const form = h('form', { novalidate: true },
    h('div', { class: 'row' },
      field('Team', team),
      field('Starts on', starts, 'Usually the day of the training event.'),
      field('Nuggets a day', cap, 'From this pack, 1 to 20.')),
    h('div', { class: 'row' },
      field('Spacing', policy, 'How questions are spaced after the training.'),
      field('Ready by', ready, 'Optional, for the planner: a launch or certification day to aim recall at.')),
    message, submit, current);
  const teamName = (id) => teams.find((t) => t.id === id)?.name || id;
  async function loadAssignments() {
    try {
      const all = (await api.get('/api/v1/assignments')).filter((a) => a.pack_slug === pack.slug && !a.ended_at);
      mount(current, all.length
        ? [h('h3', {}, 'Current assignments'), h('ul', {}, all.map((a) => h('li', {},
          `${a.team_id ? teamName(a.team_id) : `${a.learner_ids.length} learners`} from ${a.starts_on}, ${a.daily_cap} a day, ${a.policy}${a.target_date ? `, ready by ${a.target_date}` : ''}`)))]
        : empty('Not assigned to anyone yet.'));
    } catch (error) {
      mount(current, problemBox(error));
    }
  }
  form.addEventListener('submit', busy(submit, async () => {
    mount(message);
    try {
      const a = await api.post('/api/v1/assignments', {
        pack: pack.slug, team_id: team.value, starts_on: starts.value, daily_cap: Number(cap.value),
        policy: policy.value, ...(ready.value ? { target_date: ready.value } : {}),
      });
      mount(message, h('p', { class: 'notice success', role: 'status' },
        `Assigned to ${teamName(a.team_id)} from ${a.starts_on}, ${a.daily_cap} a day.`));
      loadAssignments();
    } catch (error) {
      mount(message, problemBox(error, form));
    }
  }));
  mount(area, form);
  loadAssignments();
}

async function itemAnalysis(area, slug) {
  const path = '/api/v1/packs/{slug}/analysis';
  const notAvailable = () => mount(area, h('p', { class: 'unavailable', 'data-testid': 'analysis-unavailable' },
    'Item analysis is not available on this server yet.'));
  if ((await api.operation(path)) === null) return notAvailable();
  let report;
  try {
    report = await api.get(`${packPath(slug)}/analysis`);
  } catch (error) {
    if (error.status === 404 && /no route/i.test(error.problem.detail || '')) return notAvailable();
    mount(area, problemBox(error));
    return;
  }
  const items = report.nuggets || [];
  if (!items.length || !report.attempts) {
    mount(area, empty('No answers yet: item analysis appears once sellers have answered this pack.'));
    return;
  }
  mount(area,
    h('p', {}, `${num(report.learners)} learners, ${num(report.attempts)} answers. Figures are over each learner’s first attempt.`),
    table('Nuggets with their first-attempt figures', ['Nugget', 'Learners', 'Right first time', 'Discrimination', 'Median time', 'Options chosen', 'Flags'],
      items.map((n) => h('tr', { class: n.flags?.length ? 'flagged' : '' },
        h('th', { scope: 'row' }, h('code', {}, n.key), n.retired ? h('span', { class: 'tag' }, 'retired') : null,
          h('span', { class: 'prompt-cell block' }, n.prompt)),
        h('td', {}, num(n.learners)),
        h('td', {}, pct(n.first_attempt_correct_rate)),
        h('td', {}, n.discrimination === null || n.discrimination === undefined ? '—' : n.discrimination.toFixed(2)),
        h('td', {}, n.median_response_ms ? `${(n.median_response_ms / 1000).toFixed(1)} s` : '—'),
        h('td', {}, h('ul', { class: 'plain' }, (n.option_shares || []).map((o, i) => h('li', {},
          `${'ABCDEF'[i] || o.id}${o.correct ? ' ✓' : ''} ${pct(o.share)}`)))),
        h('td', {}, (n.flags || []).length
          ? (n.flags || []).map((f) => h('span', { class: 'tag flag' }, FLAGS[f] || f))
          : '—')))));
}
