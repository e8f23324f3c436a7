//! A generated experiment with a known truth: `reprise demo --experiment`.
//!
//! Learners of a new team are split in half (by the seed) between two arms of an experiment that
//! started `weeks` ago: a control scheduled by FSRS and a Qstream arm. Each learner has a true recall (their arm's,
//! spread by ±0.05 per learner, so each arm's mean is the arm's truth); every week they answer a
//! few scheduled questions and `probes_per_week` probes, right when they recall and otherwise
//! right by a guess with probability 1/K. The experiment's estimate of the difference between
//! the arms can then be checked against the true one, which the outcome reports.

use chrono::{DateTime, Duration, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::auth::password;
use crate::domain::accounts::Role;
use crate::domain::assignments::{PolicyName, Settings};
use crate::domain::calendar::local_day;
use crate::domain::content::{Nugget, NuggetKind, NuggetOption, Pack, PackDefaults};
use crate::domain::experiments::{Arm, Experiment};
use crate::domain::ids::{AssignmentId, ExperimentId, OrgId, PackVersionId, UserId};
use crate::store::experiments::{self as experiment_store, Member, ProbeResult};
use crate::store::reviews::ReviewRow;
use crate::store::{self, accounts, assignments, bulk, content, new_id, DbConnection};

/// What to generate.
#[derive(Debug, Clone)]
pub struct ExperimentPlan {
    /// The organization (it must exist); the demo organization, created if missing, when absent.
    pub org_slug: Option<String>,
    pub learners: usize,
    /// Weeks the experiment has run up to now.
    pub weeks: u32,
    /// True recall of the control's learners and of the other arm's.
    pub true_recall: [f64; 2],
    /// Options per nugget (K): a guess is right with probability 1/K.
    pub options: usize,
    pub probes_per_week: u32,
    pub seed: u64,
}

impl Default for ExperimentPlan {
    fn default() -> Self {
        ExperimentPlan {
            org_slug: None,
            learners: 400,
            weeks: 8,
            true_recall: [0.80, 0.86],
            options: 4,
            probes_per_week: 1,
            seed: 2024,
        }
    }
}

/// What was generated, with the truth to check the estimate against.
#[derive(Debug)]
pub struct ExperimentOutcome {
    pub org_id: OrgId,
    pub experiment_id: ExperimentId,
    pub learners: usize,
    pub probes: usize,
    /// The other arm's true recall less the control's.
    pub true_difference: f64,
}

const PACK_SIZE: usize = 20;
/// Scheduled questions a week per learner, by arm (FSRS asks more early on than Qstream).
const QUESTIONS_PER_WEEK: [u32; 2] = [3, 2];

fn pack(slug: &str, options: usize) -> Pack {
    Pack {
        slug: slug.into(),
        title: "Experiment pack".into(),
        description: "Generated for an experiment with a known truth.".into(),
        language: "en".into(),
        defaults: PackDefaults::default(),
        nuggets: (0..PACK_SIZE)
            .map(|k| Nugget {
                kind: NuggetKind::Choice,
                rubric: Vec::new(),
                max_seconds: None,
                key: format!("n{:02}", k + 1),
                topic: "Discovery".into(),
                tags: Vec::new(),
                prompt: format!("Experiment question {}?", k + 1),
                options: (0..options)
                    .map(|o| NuggetOption {
                        text: if o == 0 {
                            "The right answer".into()
                        } else {
                            format!("Wrong answer {o}")
                        },
                        correct: o == 0,
                        feedback: None,
                    })
                    .collect(),
                explanation: "Because it is right.".into(),
                media_url: None,
            })
            .collect(),
    }
}

/// Generates the experiment and its history up to `now`, in one transaction.
pub fn generate(
    conn: &mut DbConnection,
    plan: &ExperimentPlan,
    now: DateTime<Utc>,
) -> anyhow::Result<ExperimentOutcome> {
    anyhow::ensure!(
        plan.learners >= 2,
        "an experiment needs at least 2 learners"
    );
    anyhow::ensure!(
        (2..=6).contains(&plan.options),
        "nuggets have 2 to 6 options"
    );
    anyhow::ensure!(
        plan.true_recall.iter().all(|r| (0.05..=0.95).contains(r)),
        "true recall must be between 0.05 and 0.95 (learners spread ±0.05 around it)"
    );
    let org = match &plan.org_slug {
        Some(slug) => accounts::find_org_by_slug(conn, slug)
            .map_err(|_| anyhow::anyhow!("no organization {slug}"))?,
        None => {
            super::ensure(conn, now)?;
            accounts::find_org_by_slug(conn, super::ORG_SLUG)?
        }
    };
    let mut staff = |role| {
        accounts::list_users(
            conn,
            &org.id,
            &accounts::UserFilter {
                role: Some(role),
                limit: 1,
                ..Default::default()
            },
        )
    };
    let author: UserId = match staff(Role::Author)?.into_iter().next() {
        Some(u) => u.id,
        None => {
            staff(Role::Admin)?
                .into_iter()
                .next()
                .ok_or_else(|| anyhow::anyhow!("the organization has no author or admin"))?
                .id
        }
    };
    let tag = &new_id()[24..];
    let start = now - Duration::weeks(i64::from(plan.weeks));
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    let hash = password::hash(super::PASSWORD);
    let outcome = store::write_tx(conn, |conn| -> anyhow::Result<ExperimentOutcome> {
        let team = accounts::create_team(
            conn,
            &org.id,
            &new_id(),
            &format!("Experiment {tag}"),
            None,
            now,
        )?;
        let learners: Vec<bulk::NewUserRow> = (0..plan.learners)
            .map(|i| {
                let email = format!("trial{i:04}-{tag}@demo.example");
                (
                    new_id(),
                    email,
                    format!("Trial seller {}", i + 1),
                    Role::Learner.as_str().to_string(),
                )
            })
            .collect();
        bulk::insert_users(conn, &org.id, &learners, &hash, start.naive_utc())?;
        let memberships: Vec<(String, String)> = learners
            .iter()
            .map(|l| (team.id.clone(), l.0.clone()))
            .collect();
        bulk::insert_members(conn, &org.id, &memberships)?;
        let slug = format!("experiment-{tag}");
        content::save_draft(conn, &org.id, &pack(&slug, plan.options), start)?;
        let version = content::publish(conn, &org.id, &slug, &author, start)?;
        let version_id = PackVersionId::from(version.id.as_str());
        let nuggets: Vec<String> = content::version_nuggets(conn, &org.id, &version_id)?
            .into_iter()
            .map(|n| n.nugget_id.to_string())
            .collect();
        let assignment_id = AssignmentId::new(new_id());
        let settings = Settings::defaults(start.date_naive());
        assignments::create(
            conn,
            &org.id,
            assignments::NewAssignment {
                id: &assignment_id,
                pack_slug: &slug,
                team_id: Some(&team.id),
                learner_ids: &[],
                settings: &settings,
                created_by: &author,
            },
            start,
        )?
        .map_err(|m| anyhow::anyhow!("cannot assign the experiment pack: {m:?}"))?;
        let arms = vec![
            Arm {
                name: "FSRS".into(),
                policy: PolicyName::Fsrs,
                desired_retention: None,
                control: true,
                share: 0.5,
            },
            Arm {
                name: "Qstream".into(),
                policy: PolicyName::Qstream,
                desired_retention: None,
                control: false,
                share: 0.5,
            },
        ];
        let experiment = Experiment {
            id: ExperimentId::new(new_id()),
            name: format!("FSRS against Qstream ({tag})"),
            assignment_id: assignment_id.clone(),
            arms,
            probes_per_week: plan.probes_per_week,
            created_by: author.clone(),
            started_at: start,
            stopped_at: None,
        };
        // Split exactly in half by the seed, not by the hash of the (random) experiment id, so
        // the same seed gives the same history and the same figures.
        let mut order: Vec<usize> = (0..learners.len()).collect();
        order.shuffle(&mut rng);
        let mut arm_of = vec![0; learners.len()];
        for &i in &order[learners.len() / 2..] {
            arm_of[i] = 1;
        }
        let members: Vec<Member> = learners
            .iter()
            .zip(&arm_of)
            .map(|(l, &arm)| Member {
                learner_id: UserId::from(l.0.as_str()),
                arm: experiment.arms[arm].name.clone(),
            })
            .collect();
        experiment_store::create(conn, &org.id, &experiment, &members)?;
        let guess = 1.0 / plan.options as f64;
        let (mut reviews, mut probes) = (Vec::new(), Vec::new());
        for (m, &arm) in members.iter().zip(&arm_of) {
            let recall = plan.true_recall[arm] + rng.gen_range(-0.05..=0.05);
            for week in 0..plan.weeks {
                let questions = QUESTIONS_PER_WEEK[arm] + plan.probes_per_week;
                for q in 0..questions {
                    let at = start
                        + Duration::days(i64::from(week) * 7 + rng.gen_range(0..7))
                        + Duration::minutes(rng.gen_range(8 * 60..18 * 60));
                    if at >= now {
                        continue;
                    }
                    let nugget = &nuggets[rng.gen_range(0..nuggets.len())];
                    let correct = rng.gen_bool(recall) || rng.gen_bool(guess);
                    reviews.push(review(
                        &org.id,
                        m,
                        nugget,
                        &version_id,
                        &assignment_id,
                        correct,
                        at,
                    ));
                    if q < plan.probes_per_week {
                        probes.push(ProbeResult {
                            experiment_id: experiment.id.clone(),
                            learner_id: m.learner_id.clone(),
                            nugget_id: nugget.as_str().into(),
                            day: local_day(chrono_tz::Tz::UTC, at).date,
                            arm: m.arm.clone(),
                            correct,
                            options: plan.options as u32,
                            answered_at: at,
                        });
                    }
                }
            }
        }
        bulk::insert_reviews(conn, &reviews)?;
        experiment_store::record_probes(conn, &org.id, &probes)?;
        Ok(ExperimentOutcome {
            org_id: org.id.clone(),
            experiment_id: experiment.id,
            learners: members.len(),
            probes: probes.len(),
            true_difference: plan.true_recall[1] - plan.true_recall[0],
        })
    })?;
    Ok(outcome)
}

fn review(
    org_id: &OrgId,
    m: &Member,
    nugget: &str,
    version: &PackVersionId,
    assignment: &AssignmentId,
    correct: bool,
    at: DateTime<Utc>,
) -> ReviewRow {
    ReviewRow {
        org_id: org_id.to_string(),
        id: uuid::Uuid::now_v7().to_string(),
        learner_id: m.learner_id.to_string(),
        nugget_id: nugget.to_string(),
        pack_version_id: version.to_string(),
        assignment_id: assignment.to_string(),
        attempt_id: uuid::Uuid::new_v4().to_string(),
        request_hash: "generated".into(),
        selected: "[]".into(),
        correct,
        partial_credit: if correct { 1.0 } else { 0.0 },
        response_ms: 12_000,
        confidence: None,
        rating: if correct { 3 } else { 1 },
        client_answered_at: at.naive_utc(),
        answered_at: at.naive_utc(),
        received_at: at.naive_utc(),
        clock_flag: None,
        elapsed_days: None,
        stability_before: None,
        difficulty_before: None,
        stability_after: 0.0,
        difficulty_after: 0.0,
        status_after: "review".into(),
        due_after: None,
        practice: None,
    }
}
