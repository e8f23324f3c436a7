//! A generated organization at scale, for trying and timing the analytics views:
//! `reprise demo --learners 10000 --nuggets 200 --days 180`.
//!
//! Learners (in teams of 25 under regions of 10 teams) answer packs of 20 nuggets for `days`
//! days up to today: new nuggets a few a day, every nugget again when the FSRS-6 scheduler says
//! it is due (now and then a day or two late, and on about one day in seven not at all). Whether
//! an answer is right is drawn from the model's own predicted recall, scaled by the learner's
//! skill. Rows are written in multi-row INSERTs inside one transaction per batch of learners,
//! while two threads simulate the next batches; the weekly recall snapshots the trends view reads
//! are computed from the same simulated histories and written complete.

use std::collections::HashMap;
use std::sync::mpsc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::auth::password;
use crate::domain::accounts::Role;
use crate::domain::analytics::{bucket_of, on_time, Mean, RetentionTally, WeekActivity};
use crate::domain::assignments::Settings;
use crate::domain::content::{Nugget, NuggetKind, NuggetOption, Pack, PackDefaults};
use crate::domain::ids::{AssignmentId, OrgId, PackId, PackVersionId};
use crate::domain::recall_weeks::{kept_weeks, recall_at_ends, week_end};
use crate::domain::scheduler::{
    self, rating_for, CardState, ForgettingCurve, GradingThresholds, Policy, SchedulingContext,
};
use crate::store::bulk::{self, MemoryStateRow};
use crate::store::reviews::ReviewRow;
use crate::store::{
    self, accounts, activity, analytics, assignments, content, learning, recall_weeks,
    DbConnection, DbPool,
};

pub const TEAM_SIZE: usize = 25;
pub const TEAMS_PER_REGION: usize = 10;
pub const PACK_SIZE: usize = 20;
/// Topics across all packs: the heatmap's columns.
pub const TOPICS: [&str; 12] = [
    "Discovery",
    "Qualification",
    "Objection handling",
    "Negotiation",
    "Closing",
    "Pricing",
    "Product knowledge",
    "Competitors",
    "Compliance",
    "Follow-up",
    "Cross-selling",
    "Account planning",
];
/// Learners simulated per write transaction.
const BATCH: usize = 50;

#[derive(Debug, Clone)]
pub struct Plan {
    pub learners: usize,
    pub nuggets: usize,
    pub days: u32,
    pub org_slug: String,
    pub seed: u64,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub org_id: String,
    pub teams: usize,
    pub packs: usize,
    pub memory_states: usize,
    pub reviews: usize,
    /// `analyst@<slug>.example` and the managers share the demo password.
    pub analyst_email: String,
    pub analyst_id: String,
}

/// Where each generated nugget lives.
#[derive(Clone)]
struct NuggetRef {
    id: String,
    pack_id: String,
    version_id: String,
    /// The pack's assignment to each region, by region index.
    assignment_ids: Vec<String>,
}

/// One simulated learner's rows.
struct LearnerRows {
    reviews: Vec<ReviewRow>,
    states: Vec<MemoryStateRow>,
    retention: Vec<(String, usize, RetentionTally)>,
    /// The learner's weekly activity roll-up, by week start.
    weeks: HashMap<NaiveDate, WeekActivity>,
    /// Summed recall at the end of each kept week (the trends view's snapshots).
    recall_weeks: Vec<Mean>,
}

fn simulate_learner(
    org_id: &OrgId,
    learner_id: &str,
    index: usize,
    nuggets: &[NuggetRef],
    first_day: NaiveDate,
    days: u32,
    seed: u64,
) -> LearnerRows {
    let region = index / TEAM_SIZE / TEAMS_PER_REGION;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9));
    let skill: f64 = rng.gen_range(0.0..1.0);
    let ctx = SchedulingContext::default();
    let thresholds = GradingThresholds::default();
    let new_per_day = nuggets.len().div_ceil((days as usize / 3).max(1)).max(1);
    let mut cards: Vec<CardState> = vec![CardState::default(); nuggets.len()];
    let mut first: Vec<Option<(bool, DateTime<Utc>)>> = vec![None; nuggets.len()];
    let mut introduced = 0usize;
    let mut out = LearnerRows {
        reviews: Vec::new(),
        states: Vec::new(),
        retention: Vec::new(),
        weeks: HashMap::new(),
        recall_weeks: Vec::new(),
    };
    for d in 0..days {
        // About one day in seven without practice.
        if rng.gen_bool(0.14) {
            continue;
        }
        let day = first_day + Duration::days(i64::from(d));
        let start =
            day.and_hms_opt(7, 0, 0).unwrap().and_utc() + Duration::minutes(rng.gen_range(0..600));
        let day_end = (day + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        let mut todo: Vec<usize> = (0..introduced)
            .filter(|&i| cards[i].due.is_some_and(|due| due < day_end))
            .collect();
        let fresh = new_per_day.min(nuggets.len() - introduced);
        todo.extend(introduced..introduced + fresh);
        introduced += fresh;
        for (k, i) in todo.into_iter().enumerate() {
            let at = start + Duration::seconds(40 * k as i64);
            let before = cards[i].clone();
            let p = match scheduler::retrievability(&before, at, &ctx.parameters) {
                Some(r) => (r * (0.85 + 0.25 * skill)).min(0.99),
                None => 0.3 + 0.55 * skill,
            };
            let correct = rng.gen_bool(p.clamp(0.01, 0.99));
            let response_ms: u32 = rng.gen_range(2_500..35_000);
            let rating = rating_for(correct, None, response_ms, &thresholds);
            let after = scheduler::review(
                &before,
                rating,
                at,
                &ctx,
                &Policy::Fsrs,
                scheduler::fuzz_seed(learner_id, &nuggets[i].id),
            );
            let memory = after.memory.expect("reviewed");
            let elapsed = before
                .last_review
                .map(|l| (at - l).num_seconds() as f64 / 86_400.0);
            if let (Some(e), Some(m)) = (elapsed, before.memory) {
                let mut t = RetentionTally::default();
                t.add(correct, scheduler::recall_after(m.stability, e, &[]));
                out.retention
                    .push((nuggets[i].pack_id.clone(), bucket_of(e), t));
            }
            let (week, answer) = WeekActivity::of_answer(
                at.naive_utc(),
                correct,
                on_time(at.naive_utc(), before.due.map(|d| d.naive_utc())),
                response_ms,
            );
            out.weeks.entry(week).or_default().merge(&answer);
            let n = &nuggets[i];
            out.reviews.push(ReviewRow {
                org_id: org_id.to_string(),
                id: uuid::Uuid::now_v7().to_string(),
                learner_id: learner_id.to_string(),
                nugget_id: n.id.clone(),
                pack_version_id: n.version_id.clone(),
                assignment_id: n.assignment_ids[region].clone(),
                attempt_id: uuid::Uuid::new_v4().to_string(),
                request_hash: "generated".into(),
                selected: if correct { "[\"b\"]" } else { "[\"a\"]" }.into(),
                correct,
                partial_credit: if correct { 1.0 } else { 0.0 },
                response_ms: response_ms as i32,
                confidence: None,
                rating: rating.as_u32() as i32,
                client_answered_at: at.naive_utc(),
                answered_at: at.naive_utc(),
                received_at: at.naive_utc(),
                clock_flag: None,
                elapsed_days: elapsed,
                stability_before: before.memory.map(|m| m.stability),
                difficulty_before: before.memory.map(|m| m.difficulty),
                stability_after: memory.stability,
                difficulty_after: memory.difficulty,
                status_after: after.status.as_str().into(),
                due_after: after.due.map(|t| t.naive_utc()),
                practice: None,
            });
            if first[i].is_none() {
                first[i] = Some((correct, at));
            }
            cards[i] = after;
        }
    }
    for (i, card) in cards.iter().enumerate().take(introduced) {
        let Some((first_correct, first_at)) = first[i] else {
            continue;
        };
        let n = &nuggets[i];
        out.states.push(MemoryStateRow {
            org_id: org_id.to_string(),
            learner_id: learner_id.to_string(),
            nugget_id: n.id.clone(),
            pack_version_id: n.version_id.clone(),
            assignment_id: n.assignment_ids[region].clone(),
            status: card.status.as_str().into(),
            stability: card.memory.map(|m| m.stability),
            difficulty: card.memory.map(|m| m.difficulty),
            reps: card.reps as i32,
            lapses: card.lapses as i32,
            correct_streak: card.correct_streak as i32,
            first_correct: Some(first_correct),
            first_answered_at: Some(first_at.naive_utc()),
            last_review_at: card.last_review.map(|t| t.naive_utc()),
            due_at: card.due.map(|t| t.naive_utc()),
            updated_at: card.last_review.unwrap_or(first_at).naive_utc(),
        });
    }
    out
}

/// A learner's summed recall at each of `ends` from their answers (in time order), as the
/// snapshot task would compute it from the log.
fn recall_at_week_ends(
    reviews: &[ReviewRow],
    curve: &ForgettingCurve,
    ends: &[DateTime<Utc>],
) -> Vec<Mean> {
    let mut histories: HashMap<&str, Vec<&ReviewRow>> = HashMap::new();
    for r in reviews {
        histories.entry(r.nugget_id.as_str()).or_default().push(r);
    }
    let mut sums = vec![Mean::default(); ends.len()];
    for history in histories.values() {
        let at = |r: &&ReviewRow| (r.answered_at, r.stability_after);
        recall_at_ends(curve, history, at, ends, |i, r| sums[i].add(r));
    }
    sums
}

fn generated_pack(p: usize, size: usize) -> Pack {
    Pack {
        slug: format!("pack-{:03}", p + 1),
        title: format!("Generated pack {}", p + 1),
        description: "Generated for analytics at scale.".into(),
        language: "en".into(),
        defaults: PackDefaults::default(),
        nuggets: (0..size)
            .map(|k| Nugget {
                kind: NuggetKind::Choice,
                rubric: Vec::new(),
                max_seconds: None,
                key: format!("n{:03}", k + 1),
                topic: TOPICS[(p * 3 + k % 4) % TOPICS.len()].into(),
                tags: Vec::new(),
                prompt: format!("Pack {} question {}?", p + 1, k + 1),
                options: vec![
                    NuggetOption {
                        text: "A plausible but wrong answer".into(),
                        correct: false,
                        feedback: None,
                    },
                    NuggetOption {
                        text: "The right answer".into(),
                        correct: true,
                        feedback: None,
                    },
                    NuggetOption {
                        text: "Another wrong answer".into(),
                        correct: false,
                        feedback: None,
                    },
                ],
                explanation: "Because it is right.".into(),
                media_url: None,
            })
            .collect(),
    }
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Creates the organization, its people, packs and assignments; returns the nuggets and the
/// learner ids.
fn build_org(
    conn: &mut DbConnection,
    plan: &Plan,
    now: DateTime<Utc>,
    first_day: NaiveDate,
    outcome: &mut Outcome,
) -> anyhow::Result<(Vec<NuggetRef>, Vec<String>, Vec<String>)> {
    let hash = password::hash(super::PASSWORD);
    let slug = &plan.org_slug;
    let user = |email: String, role: Role| accounts::NewUser {
        id: new_id(),
        name: email.split('@').next().unwrap_or_default().to_string(),
        email,
        password_hash: hash.clone(),
        role,
        timezone: None,
    };
    let (org, admin) = accounts::create_org_with_admin(
        conn,
        accounts::NewOrg {
            id: new_id(),
            slug: slug.clone(),
            name: format!("Generated {slug}"),
            timezone: "UTC".into(),
        },
        user(format!("admin@{slug}.example"), Role::Admin),
        now,
    )?;
    outcome.org_id = org.id.to_string();
    outcome.analyst_email = format!("analyst@{slug}.example");
    let teams = plan.learners.div_ceil(TEAM_SIZE).max(1);
    let regions = teams.div_ceil(TEAMS_PER_REGION);
    outcome.teams = teams + regions;
    let now_naive = now.naive_utc();
    outcome.analyst_id = new_id();
    let mut users: Vec<bulk::NewUserRow> = vec![(
        outcome.analyst_id.clone(),
        outcome.analyst_email.clone(),
        "Analyst".into(),
        "analyst".into(),
    )];
    let mut members = Vec::new();
    let mut region_ids = Vec::new();
    let mut team_ids = Vec::new();
    for r in 0..regions {
        let id = new_id();
        accounts::create_team(
            conn,
            &org.id,
            &id,
            &format!("Region {:02}", r + 1),
            None,
            now,
        )?;
        let manager = new_id();
        users.push((
            manager.clone(),
            format!("manager{:02}@{slug}.example", r + 1),
            format!("Manager {:02}", r + 1),
            "manager".into(),
        ));
        members.push((id.clone(), manager));
        region_ids.push(id);
    }
    for t in 0..teams {
        let id = new_id();
        let region = &region_ids[t / TEAMS_PER_REGION];
        accounts::create_team(
            conn,
            &org.id,
            &id,
            &format!("Team {:03}", t + 1),
            Some(region),
            now,
        )?;
        team_ids.push(id);
    }
    let mut learners = Vec::with_capacity(plan.learners);
    for i in 0..plan.learners {
        let id = new_id();
        users.push((
            id.clone(),
            format!("learner{:05}@{slug}.example", i + 1),
            format!("Learner {:05}", i + 1),
            "learner".into(),
        ));
        members.push((team_ids[i / TEAM_SIZE].clone(), id.clone()));
        learners.push(id);
    }
    store::write_tx(conn, |conn| -> store::StoreResult<()> {
        bulk::insert_users(conn, &org.id, &users, &hash, now_naive)?;
        bulk::insert_members(conn, &org.id, &members)
    })?;
    let packs = plan.nuggets.div_ceil(PACK_SIZE).max(1);
    outcome.packs = packs;
    let settings = Settings::defaults(first_day);
    let mut nuggets = Vec::with_capacity(plan.nuggets);
    for p in 0..packs {
        let size = PACK_SIZE.min(plan.nuggets - p * PACK_SIZE);
        let pack = generated_pack(p, size);
        let version = store::write_tx(conn, |conn| -> anyhow::Result<_> {
            content::save_draft(conn, &org.id, &pack, now)?;
            let v = content::publish(conn, &org.id, &pack.slug, &admin.id, now)?;
            let mut assignment_ids = Vec::new();
            for region in &region_ids {
                let id = AssignmentId::new(new_id());
                assignments::create(
                    conn,
                    &org.id,
                    assignments::NewAssignment {
                        id: &id,
                        pack_slug: &pack.slug,
                        team_id: Some(region),
                        learner_ids: &[],
                        settings: &settings,
                        created_by: &admin.id,
                    },
                    now,
                )?
                .map_err(|m| anyhow::anyhow!("cannot assign {}: {m:?}", pack.slug))?;
                assignment_ids.push(id.into_string());
            }
            Ok((v, assignment_ids))
        })?;
        let (version, assignment_ids) = version;
        let pack_id = pack_id_of(conn, &org.id, &pack.slug)?;
        let version_id = PackVersionId::from(version.id.as_str());
        for n in content::version_nuggets(conn, &org.id, &version_id)? {
            nuggets.push(NuggetRef {
                id: n.nugget_id.into(),
                pack_id: pack_id.clone(),
                version_id: version.id.clone(),
                assignment_ids: assignment_ids.clone(),
            });
        }
    }
    let learner_teams = (0..plan.learners)
        .map(|i| team_ids[i / TEAM_SIZE].clone())
        .collect();
    Ok((nuggets, learners, learner_teams))
}

fn pack_id_of(conn: &mut DbConnection, org_id: &OrgId, slug: &str) -> anyhow::Result<String> {
    analytics::packs(conn, org_id)?
        .into_iter()
        .find(|(_, p)| p.slug == slug)
        .map(|(id, _)| id)
        .ok_or_else(|| anyhow::anyhow!("no pack {slug}"))
}

/// Generates the organization `plan` describes, with `days` of history ending `now`.
pub fn generate(
    pool: &DbPool,
    plan: &Plan,
    now: DateTime<Utc>,
    mut progress: impl FnMut(usize, usize),
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    let conn = &mut pool.get()?;
    let first_day = (now - Duration::days(i64::from(plan.days))).date_naive();
    let (nuggets, learners, learner_teams) = build_org(conn, plan, now, first_day, &mut outcome)?;
    let org_id = OrgId::new(outcome.org_id.clone());
    // One writer: the roll-up needs no shards here (the answer path spreads its writes).
    let mut retention: HashMap<(String, usize), RetentionTally> = HashMap::new();
    // Choice counts per (nugget, team or "" for the organization, option or "" for answers).
    let mut choices: HashMap<(String, String, String), u64> = HashMap::new();
    // The history is written in bulk, so its weekly recall snapshots are complete too: the
    // trends view reads them as it would after the background task's first pass.
    let curve = ForgettingCurve::new(&learning::fsrs_parameters(conn, &org_id)?);
    let weeks = kept_weeks(now);
    let ends: Vec<DateTime<Utc>> = weeks.iter().map(|w| week_end(*w)).collect();
    let mut recall_weeks: Vec<Vec<(String, Mean)>> = vec![Vec::new(); weeks.len()];
    let batches: Vec<(usize, &[String])> = learners
        .chunks(BATCH)
        .enumerate()
        .map(|(b, c)| (b * BATCH, c))
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let (tx, rx) = mpsc::sync_channel::<(usize, usize, Vec<LearnerRows>)>(workers * 2);
        for _ in 0..workers {
            let tx = tx.clone();
            let (batches, nuggets, next, org_id) = (&batches, &nuggets, &next, &org_id);
            let (curve, ends) = (&curve, &ends);
            scope.spawn(move || loop {
                let b = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some((offset, ids)) = batches.get(b) else {
                    break;
                };
                let rows = ids
                    .iter()
                    .enumerate()
                    .map(|(k, id)| {
                        let mut rows = simulate_learner(
                            org_id,
                            id,
                            offset + k,
                            nuggets,
                            first_day,
                            plan.days,
                            plan.seed,
                        );
                        rows.recall_weeks = recall_at_week_ends(&rows.reviews, curve, ends);
                        rows
                    })
                    .collect();
                if tx.send((*offset, ids.len(), rows)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut done = 0;
        for (offset, count, rows) in rx {
            let reviews: Vec<ReviewRow> = rows
                .iter()
                .flat_map(|r| r.reviews.iter().cloned())
                .collect();
            let states: Vec<MemoryStateRow> =
                rows.iter().flat_map(|r| r.states.iter().cloned()).collect();
            // Each learner is simulated whole in one batch: their weeks are complete here.
            let weeks: Vec<_> = rows
                .iter()
                .zip(&learners[offset..offset + count])
                .flat_map(|(r, id)| r.weeks.iter().map(move |(w, a)| (id.clone(), *w, *a)))
                .collect();
            store::write_tx(conn, |conn| -> store::StoreResult<()> {
                bulk::insert_states(conn, &states)?;
                bulk::insert_reviews(conn, &reviews)?;
                activity::insert_weeks(conn, &org_id, &weeks)
            })?;
            outcome.reviews += reviews.len();
            outcome.memory_states += states.len();
            for (k, r) in rows.into_iter().enumerate() {
                let team = &learner_teams[offset + k];
                for review in &r.reviews {
                    let selected: Vec<String> = serde_json::from_str(&review.selected)?;
                    for scope in ["", team.as_str()] {
                        for option in std::iter::once("").chain(selected.iter().map(String::as_str))
                        {
                            *choices
                                .entry((review.nugget_id.clone(), scope.into(), option.into()))
                                .or_default() += 1;
                        }
                    }
                }
                for (i, m) in r.recall_weeks.iter().enumerate().filter(|(_, m)| m.n > 0) {
                    recall_weeks[i].push((learners[offset + k].clone(), *m));
                }
                for (pack, bucket, t) in r.retention {
                    retention.entry((pack, bucket)).or_default().merge(t);
                }
            }
            done += count;
            progress(done, learners.len());
        }
        Ok(())
    })?;
    store::write_tx(conn, |conn| -> store::StoreResult<()> {
        for ((pack, bucket), t) in &retention {
            analytics::add_to_retention(
                conn,
                &org_id,
                &PackId::from(pack.as_str()),
                *bucket,
                0,
                *t,
            )?;
        }
        bulk::insert_choice_counts(conn, &org_id, &choices)?;
        for (week, rows) in weeks.iter().zip(&recall_weeks) {
            recall_weeks::complete_week(conn, &org_id, *week, curve.decay(), rows)?;
        }
        Ok(())
    })?;
    Ok(outcome)
}
