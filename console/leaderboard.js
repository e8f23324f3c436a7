// Leaderboards: the seller's standing this week (points, their rank, their team's rank) with the
// name they appear under, and the full board for managers, analysts and admins.

import * as api from './api.js';
import { h, mount, field, problemBox, empty, num, busy, table, uid } from './ui.js';

const SETTINGS = '/api/v1/me/notification-settings';

/** The query of the seller's own board: their team's people this week (everyone without a team). */
export function standingPath(me) {
  return `/api/v1/leaderboards?scope=${me.team_ids?.length ? 'team' : 'org'}&period=week`;
}

/** One line: this week's points, the seller's rank and their team's. */
export function standingLine(board) {
  const me = board?.me;
  if (!board?.enabled || !me) return null;
  const parts = [`This week: ${num(me.points.total)} point${me.points.total === 1 ? '' : 's'}`,
    `#${me.rank} of ${me.of} ${board.scope === 'team' ? 'in your team' : 'in your organization'}`];
  if (me.team) parts.push(`${me.team.name} is #${me.team.rank} of ${me.team.of} teams`);
  return h('p', { class: 'standing', 'data-testid': 'standing-line' }, parts.join(' · '));
}

/** The seller's card: the standing, how points are earned, and the name to appear under. */
export function standingCard(ctx) {
  const body = h('div', { 'data-testid': 'standing' });
  const section = h('section', { class: 'card', 'aria-labelledby': 'standing-title' },
    h('h2', { id: 'standing-title' }, 'Your week'), body);
  const nameInput = h('input', { type: 'text', name: 'leaderboard_name', maxlength: 40, autocomplete: 'nickname' });
  const save = h('button', { type: 'submit' }, 'Save name');
  const message = h('div', { class: 'form-message' });
  const form = h('form', { class: 'inline-form', novalidate: true },
    field('Name on leaderboards (optional)', nameInput, 'Other sellers see this name instead of yours; your manager still sees your own.'),
    message, save);
  form.addEventListener('submit', busy(save, async () => {
    mount(message);
    try {
      const current = await api.get(SETTINGS);
      const value = nameInput.value.trim();
      const saved = await api.json(SETTINGS, {
        method: 'PUT',
        body: { push: current.push, email: current.email, remind_at: current.remind_at, leaderboard_name: value || null },
      });
      nameInput.value = saved.leaderboard_name || '';
      mount(message, h('p', { class: 'notice success', role: 'status' },
        saved.leaderboard_name ? `Other sellers now see you as “${saved.leaderboard_name}”.` : 'Other sellers now see your name.'));
      await load();
    } catch (error) {
      mount(message, problemBox(error, form));
    }
  }));

  async function load() {
    if (!navigator.onLine) return;
    try {
      const board = await api.get(standingPath(ctx.me));
      if (!board.enabled) {
        section.hidden = true;
        return;
      }
      section.hidden = false;
      const p = board.me?.points;
      mount(body,
        standingLine(board) || empty('Answer today’s nuggets to earn points.'),
        p ? h('dl', { class: 'figures' },
          [['On time', p.on_time], ['Remembered', p.recall], ['Learnt', p.knowledge_gained], ['Answers', p.answers]]
            .map(([k, v]) => h('div', { class: 'figure' }, h('dt', {}, k), h('dd', {}, num(v))))) : null,
        h('p', { class: 'muted' }, 'Points come from today’s nuggets answered on time, right answers after a longer gap, and nuggets put right after a wrong first answer. Extra answers earn nothing.'),
        form);
    } catch (error) {
      if (!error.network) mount(body, problemBox(error));
    }
  }

  if (!ctx.me.organization?.leaderboards) section.hidden = true;
  api.get(SETTINGS).then((s) => { nameInput.value = s.leaderboard_name || ''; }).catch(() => {});
  return { element: section, load };
}

/** The board for managers, analysts and admins: people and teams, by scope and period. */
export function leaderboardCard(ctx) {
  const body = h('div', { 'data-testid': 'leaderboard' }, h('p', { class: 'loading' }, 'Loading…'));
  const scope = h('select', { name: 'scope' },
    h('option', { value: 'org' }, 'Whole organization'), h('option', { value: 'team' }, 'My teams'));
  const period = h('select', { name: 'period' },
    h('option', { value: 'week' }, 'This week'), h('option', { value: 'month' }, 'This month'));
  const show = h('button', { type: 'submit' }, 'Show');
  const form = h('form', { class: 'inline-form', 'aria-label': 'Leaderboard', novalidate: true },
    h('div', { class: 'row' }, field('Scope', scope), field('Period', period)), show);
  const titleId = uid('leaderboard');
  const section = h('section', { class: 'card', 'aria-labelledby': titleId },
    h('h2', { id: titleId }, 'Leaderboard'),
    h('p', { class: 'muted' }, 'Points for learning: 10 for each nugget answered on or before its due day, 5 × ln(1 + days since the last answer) for a right review, 15 for a nugget put right after a wrong first answer; extra answers earn nothing. Teams rank by their sellers’ mean, non-starters counting as zero.'),
    form, body);

  async function turnOn(button) {
    try {
      await api.json('/api/v1/org', { method: 'PATCH', body: { leaderboards: true } });
      await load();
    } catch (error) {
      mount(body, problemBox(error));
    }
    return button;
  }

  async function load() {
    mount(body, h('p', { class: 'loading' }, 'Loading…'));
    let board;
    try {
      board = await api.get(`/api/v1/leaderboards?scope=${scope.value}&period=${period.value}`);
    } catch (error) {
      mount(body, problemBox(error));
      return;
    }
    if (!board.enabled) {
      const on = h('button', { type: 'button', class: 'primary' }, 'Turn leaderboards on');
      on.addEventListener('click', busy(on, () => turnOn(on)));
      mount(body, h('p', { class: 'empty', 'data-testid': 'leaderboard-off' }, 'Leaderboards are off for your organization.'),
        ctx.me.user.role === 'admin' ? on : h('p', { class: 'muted' }, 'An admin turns them on in the organization’s settings.'));
      return;
    }
    const people = board.people.length
      ? table(`Sellers, ${period.value === 'week' ? 'this week' : 'this month'}`, ['Rank', 'Seller', 'Points', 'On time', 'Remembered', 'Learnt', 'Answers'],
        board.people.map((p) => h('tr', {},
          h('td', { class: 'num' }, num(p.rank)),
          h('th', { scope: 'row' }, p.pseudonym ? `${p.name} (pseudonym)` : p.name),
          h('td', { class: 'num' }, num(p.points.total)), h('td', { class: 'num' }, num(p.points.on_time)),
          h('td', { class: 'num' }, num(p.points.recall)), h('td', { class: 'num' }, num(p.points.knowledge_gained)),
          h('td', { class: 'num' }, num(p.points.answers)))), { 'data-testid': 'leaderboard-people' })
      : empty('No seller in this scope.');
    const teams = board.teams.length
      ? table('Teams by mean points per seller', ['Rank', 'Team', 'Sellers', 'Mean points', 'Total'],
        board.teams.map((t) => h('tr', {},
          h('td', { class: 'num' }, num(t.rank)), h('th', { scope: 'row' }, t.name),
          h('td', { class: 'num' }, num(t.learners)), h('td', { class: 'num' }, num(t.mean_points)),
          h('td', { class: 'num' }, num(t.total_points)))), { 'data-testid': 'leaderboard-teams' })
      : null;
    mount(body, teams, people);
  }
  form.addEventListener('submit', busy(show, load));
  return { element: section, load };
}
