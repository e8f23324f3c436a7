//! The demo organization "Demo Sales Co": one account per role and twenty sellers in two teams,
//! all with the password `demo-password`, so a newcomer can try every view at once.

use chrono::{DateTime, Utc};

use crate::auth::password;
use crate::domain::accounts::{Role, User};
use crate::domain::catalog::DraftOutcome;
use crate::domain::content::Pack;
use crate::domain::ids::{AssignmentId, NuggetId, OrgId, PackVersionId, TeamId};
use crate::store::{accounts, assignments, content, new_id, DbConnection, StoreError, StoreResult};

pub const ORG_NAME: &str = "Demo Sales Co";
pub const ORG_SLUG: &str = "demo-sales-co";
pub const PASSWORD: &str = "demo-password";
pub const TEAMS: [&str; 2] = ["Field Sales North", "Field Sales South"];

/// E-mail and role of every demo account, staff first.
pub fn accounts() -> Vec<(String, Role)> {
    let mut list: Vec<(String, Role)> = [
        ("admin", Role::Admin),
        ("author", Role::Author),
        ("manager", Role::Manager),
        ("analyst", Role::Analyst),
    ]
    .into_iter()
    .map(|(name, role)| (format!("{name}@demo.example"), role))
    .collect();
    list.extend((1..=20).map(|i| (format!("seller{i:02}@demo.example"), Role::Learner)));
    list
}

fn display_name(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    let mut chars = local.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => local.to_string(),
    }
}

/// Creates the demo organization unless it exists; returns whether it was created.
pub fn ensure(conn: &mut DbConnection, now: DateTime<Utc>) -> StoreResult<bool> {
    match accounts::find_org_by_slug(conn, ORG_SLUG) {
        Ok(_) => return Ok(false),
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e),
    }
    // One hash for all demo accounts: they share a published password anyway, and argon2 is
    // deliberately slow.
    let hash = password::hash(PASSWORD);
    let all = accounts();
    let (admin_email, _) = &all[0];
    let new_user = |email: &str, role: Role| accounts::NewUser {
        id: new_id(),
        email: email.to_string(),
        name: display_name(email),
        password_hash: hash.clone(),
        role,
        timezone: None,
    };
    let (org, _) = accounts::create_org_with_admin(
        conn,
        accounts::NewOrg {
            id: new_id(),
            slug: ORG_SLUG.into(),
            name: ORG_NAME.into(),
            timezone: "Europe/Brussels".into(),
        },
        new_user(admin_email, Role::Admin),
        now,
    )?;
    let teams: Vec<TeamId> = TEAMS
        .iter()
        .map(|name| {
            accounts::create_team(conn, &org.id, &new_id(), name, None, now).map(|t| t.id.into())
        })
        .collect::<StoreResult<_>>()?;
    for (i, (email, role)) in all.iter().enumerate().skip(1) {
        let team_ids = match role {
            Role::Manager => teams.clone(),
            // Sellers 01–10 in the first team, 11–20 in the second.
            Role::Learner => vec![teams[usize::from(i - 4 >= 10)].clone()],
            _ => Vec::new(),
        };
        accounts::create_user(conn, &org.id, new_user(email, *role), &team_ids, now)?;
    }
    Ok(true)
}

/// The demo organization's sellers (its learners).
fn sellers(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Vec<User>> {
    accounts::list_users(
        conn,
        org_id,
        &accounts::UserFilter {
            role: Some(Role::Learner),
            limit: 1000,
            ..Default::default()
        },
    )
}

/// Days of generated history before today.
pub const HISTORY_DAYS: i64 = 60;

/// The packs of a folder (`--content DIR`), or the compiled-in samples without one. A folder
/// that does not exist is an error naming it, not an empty demo.
pub fn sample_packs(content_dir: Option<&std::path::Path>) -> anyhow::Result<Vec<Pack>> {
    let Some(dir) = content_dir else {
        return samples::packs();
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "the content folder {} does not exist (--content / REPRISE_CONTENT_DIR); leave it \
             unset to load the sample packs built into reprise",
            dir.display()
        );
    }
    let files = crate::catalog_files::collect(&[dir.to_path_buf()])?;
    Ok(crate::catalog_files::parse_all(&files, Default::default())
        .map_err(|errors| {
            anyhow::anyhow!(errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"))
        })?
        .packs)
}

/// Publishes `packs` into the demo organization and assigns them to the demo teams in turn (one
/// nugget a day per pack), starting `HISTORY_DAYS` ago.
pub fn load_content(
    conn: &mut DbConnection,
    packs: &[Pack],
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let org = accounts::find_org_by_slug(conn, ORG_SLUG)?;
    let author = accounts::find_logins(conn, "author@demo.example", Some(ORG_SLUG), 1)?
        .into_iter()
        .next()
        .map(|login| login.user.id)
        .ok_or_else(|| anyhow::anyhow!("the demo organization has no author"))?;
    let teams = accounts::list_teams(conn, &org.id)?;
    let settings = crate::domain::assignments::Settings {
        daily_cap: 1,
        ..crate::domain::assignments::Settings::defaults(
            now.date_naive() - chrono::Duration::days(HISTORY_DAYS),
        )
    };
    crate::store::write_tx(conn, |conn| -> anyhow::Result<()> {
        for (i, pack) in packs.iter().enumerate() {
            if content::save_draft(conn, &org.id, pack, now)? == DraftOutcome::Unchanged {
                continue;
            }
            content::publish(conn, &org.id, &pack.slug, &author, now)?;
            if assignments::list(conn, &org.id, None)?
                .iter()
                .any(|a| a.pack_slug == pack.slug)
            {
                continue;
            }
            // Each team gets every other pack, so the two teams' figures differ.
            for team in teams.iter().skip(i % teams.len()).step_by(teams.len()) {
                let id = AssignmentId::new(new_id());
                let new = assignments::NewAssignment {
                    id: &id,
                    pack_slug: &pack.slug,
                    team_id: Some(&team.id),
                    learner_ids: &[],
                    settings: &settings,
                    created_by: &author,
                };
                assignments::create(conn, &org.id, new, now)?.map_err(|missing| {
                    anyhow::anyhow!("cannot assign {}: {missing:?}", pack.slug)
                })?;
            }
        }
        Ok(())
    })?;
    Ok(packs.len())
}

/// Starts the demo's experiment, once: the first pack's first assignment split between FSRS
/// (control) and the planner from the first day of the history, so the experiments view has
/// arms, probes and figures on first start. Returns whether it started one.
pub fn start_experiment(conn: &mut DbConnection, now: DateTime<Utc>) -> anyhow::Result<bool> {
    use crate::domain::assignments::PolicyName;
    use crate::domain::experiments::{Arm, Experiment, DEFAULT_PROBES_PER_WEEK};
    use crate::domain::ids::{ExperimentId, UserId};
    use crate::store::experiments::{self as experiment_store, Member};

    let org = accounts::find_org_by_slug(conn, ORG_SLUG)?;
    if !experiment_store::list(conn, &org.id)?.is_empty() {
        return Ok(false);
    }
    let Some(assignment) = assignments::list(conn, &org.id, None)?
        .into_iter()
        .min_by_key(|a| a.created_at)
    else {
        return Ok(false);
    };
    let arm = |name: &str, policy, control| Arm {
        name: name.into(),
        policy,
        desired_retention: None,
        control,
        share: 0.5,
    };
    let experiment = Experiment {
        id: ExperimentId::new(new_id()),
        name: "FSRS against the planner".into(),
        assignment_id: assignment.id.clone().into(),
        arms: vec![
            arm("FSRS", PolicyName::Fsrs, true),
            arm("Planner", PolicyName::Planner, false),
        ],
        probes_per_week: DEFAULT_PROBES_PER_WEEK,
        created_by: assignment.created_by.clone().into(),
        started_at: now - chrono::Duration::days(HISTORY_DAYS + 1),
        stopped_at: None,
    };
    let members: Vec<Member> = assignments::learners_of(conn, &org.id, &assignment)?
        .into_iter()
        .map(|learner| Member {
            arm: experiment.arm_for(&learner).name.clone(),
            learner_id: UserId::from(learner),
        })
        .collect();
    experiment_store::create(conn, &org.id, &experiment, &members)?;
    Ok(true)
}

/// Generates `HISTORY_DAYS` of answers for the demo sellers through the real grading and
/// scheduling path, so queue, progress and analytics show figures on first start. Each seller
/// has an ability; recall follows the model's prediction shaded by it; some days are skipped.
/// Seeded, so every demo database looks the same.
pub fn generate_history(conn: &mut DbConnection, now: DateTime<Utc>) -> anyhow::Result<usize> {
    use rand::{Rng, SeedableRng};

    use crate::auth::Caller;
    use crate::domain::calendar;
    use crate::domain::scheduler::{self, Confidence};
    use crate::learning::answer::{apply_with_retry, AnswerRequest};
    use crate::learning::queue;
    use crate::store::enrolments::EnrolmentCache;

    let org = accounts::find_org_by_slug(conn, ORG_SLUG)?;
    let learners = sellers(conn, &org.id)?;
    if learners.iter().any(|l| {
        !crate::store::learning::states(conn, &org.id, &l.id)
            .map(|s| s.is_empty())
            .unwrap_or(true)
    }) {
        return Ok(0);
    }
    let tz = org
        .timezone
        .parse::<chrono_tz::Tz>()
        .unwrap_or(chrono_tz::Tz::UTC);
    let today = calendar::local_day(tz, now).date;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let params = crate::store::learning::fsrs_parameters(conn, &org.id)?;
    let mut answered = 0;
    let enrolments = EnrolmentCache::new(4 << 20);
    let abilities: Vec<f64> = learners.iter().map(|_| rng.gen_range(0.55..0.95)).collect();
    for day in (1..=HISTORY_DAYS).rev() {
        for (learner, ability) in learners.iter().zip(&abilities) {
            if !rng.gen_bool(0.55 + 0.4 * ability) {
                continue;
            }
            let caller = Caller {
                user_id: learner.id.clone(),
                org_id: org.id.clone(),
                role: Role::Learner,
                request_id: None,
            };
            // Between 08:00 and 18:00 of a past day in the organization's zone, so today's
            // queue is whole whatever the hour the demo starts.
            let mut at = calendar::local_midnight(tz, today - chrono::Duration::days(day))
                + chrono::Duration::hours(8)
                + chrono::Duration::minutes(rng.gen_range(0..600));
            let (_, queue) =
                queue::build(conn, &enrolments, &caller, at).map_err(|e| anyhow::anyhow!("{e}"))?;
            for nugget in queue.nuggets {
                let state =
                    crate::store::learning::state(conn, &org.id, &learner.id, &nugget.nugget_id)?;
                let version = match &state {
                    Some(s) => s.pack_version_id.clone(),
                    None => latest_version_of(conn, &org.id, &nugget.nugget_id)?,
                };
                let recall = state
                    .and_then(|s| scheduler::retrievability(&s.card, at, &params))
                    .map_or(*ability * 0.8, |r| r.powf(1.0 / ability));
                let stored = crate::store::content::nugget_in_version(
                    conn,
                    &org.id,
                    &nugget.nugget_id,
                    &version,
                )?;
                let correct: Vec<String> = stored
                    .options
                    .iter()
                    .filter(|o| o.correct)
                    .map(|o| o.id.clone())
                    .collect();
                let wrong: Vec<String> = stored
                    .options
                    .iter()
                    .filter(|o| !o.correct)
                    .map(|o| o.id.clone())
                    .collect();
                let selected = if rng.gen_bool(recall.clamp(0.05, 0.99)) || wrong.is_empty() {
                    correct
                } else {
                    vec![wrong[rng.gen_range(0..wrong.len())].clone()]
                };
                let req = AnswerRequest {
                    attempt_id: uuid::Uuid::from_u128(rng.gen()),
                    nugget_id: nugget.nugget_id.clone(),
                    selected,
                    answered_at: at,
                    response_ms: rng.gen_range(3_000..40_000),
                    confidence: Some(if rng.gen_bool(*ability) {
                        Confidence::Sure
                    } else {
                        Confidence::Unsure
                    }),
                };
                apply_with_retry(conn, None, &enrolments, &caller, &req, at)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                answered += 1;
                at += chrono::Duration::seconds(rng.gen_range(20..120));
            }
        }
    }
    Ok(answered)
}

/// The newest published version of a nugget's pack.
fn latest_version_of(
    conn: &mut DbConnection,
    org_id: &OrgId,
    nugget_id: &NuggetId,
) -> StoreResult<PackVersionId> {
    let pack_id = crate::store::content::pack_of_nugget(conn, org_id, nugget_id)?;
    crate::store::content::latest_version_id(conn, org_id, &pack_id)?.ok_or(StoreError::NotFound)
}
pub mod coaching;
pub mod experiment;
pub mod kpis;
pub mod observations;
pub mod samples;
pub mod scale;
