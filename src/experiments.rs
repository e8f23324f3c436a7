//! Experiments as a service: create one on an assignment (its current learners recorded in
//! their arms), list and read them with their statistics, upload KPIs, stop them.
//!
//! Authors and admins act on the whole organization; another organization's experiment is a 404.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::domain::experiments::kpis::KpiLine;
use crate::domain::experiments::stats::{self, Difference, Estimate};
use crate::domain::experiments::{seed_of, Arm, Design, Experiment};
use crate::domain::ids::{AssignmentId, ExperimentId, UserId};
use crate::domain::validation::FieldError;
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self, Entry};
use crate::store::experiments::{self as experiment_store, Member};
use crate::store::{
    self, analytics as analytics_store, assignments as assignment_store, new_id, DbConnection,
    StoreError,
};

/// An arm with who is in it and how it fares.
#[derive(Serialize, ToSchema)]
pub struct ArmReport {
    #[serde(flatten)]
    pub arm: Arm,
    /// Learners recorded in the arm.
    pub learners: usize,
    /// Counted answers to the assignment's nuggets since the experiment started, per learner of
    /// the arm (`null` without learners).
    pub questions_per_learner: Option<f64>,
    /// Probes answered by the arm's learners.
    pub probes: usize,
    pub probe_recall: ProbeRecall,
}

/// Recall measured by probes, corrected for guessing, over the learners with a probe.
#[derive(Serialize, ToSchema)]
pub struct ProbeRecall {
    /// Learners with at least one probe answered.
    pub learners: usize,
    /// The estimate clipped to [0, 1], for display.
    pub recall: Option<f64>,
    /// The mean over learners of their guess-corrected probe recall, unclipped (unbiased).
    pub estimate: Option<f64>,
    /// 95 % bootstrap interval of the estimate, over learners.
    pub ci95: Option<[f64; 2]>,
    /// Against the control arm (`null` for the control itself or without data).
    pub difference: Option<Difference>,
}

/// One uploaded KPI, per arm.
#[derive(Serialize, ToSchema)]
pub struct KpiReport {
    pub kpi: String,
    pub arms: Vec<KpiArm>,
}

#[derive(Serialize, ToSchema)]
pub struct KpiArm {
    pub arm: String,
    #[serde(flatten)]
    pub estimate: Estimate,
    /// Against the control arm (`null` for the control itself or without data).
    pub difference: Option<Difference>,
}

/// An experiment, as its list shows it: the design and the learners per arm.
#[derive(Serialize, ToSchema)]
pub struct ExperimentSummary {
    #[schema(value_type = String)]
    pub id: ExperimentId,
    pub name: String,
    #[schema(value_type = String)]
    pub assignment_id: AssignmentId,
    pub probes_per_week: u32,
    /// `running` or `stopped`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub arms: Vec<Arm>,
}

/// An experiment with its statistics per arm and per KPI.
#[derive(Serialize, ToSchema)]
pub struct ExperimentReport {
    #[schema(value_type = String)]
    pub id: ExperimentId,
    pub name: String,
    #[schema(value_type = String)]
    pub assignment_id: AssignmentId,
    pub probes_per_week: u32,
    /// `running` or `stopped`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// The arms in the order of the design, with their figures.
    pub arms: Vec<ArmReport>,
    /// Uploaded KPIs, by name.
    pub kpis: Vec<KpiReport>,
}

impl From<Experiment> for ExperimentSummary {
    fn from(e: Experiment) -> Self {
        ExperimentSummary {
            status: if e.stopped_at.is_some() {
                "stopped"
            } else {
                "running"
            }
            .into(),
            id: e.id,
            name: e.name,
            assignment_id: e.assignment_id,
            probes_per_week: e.probes_per_week,
            started_at: e.started_at,
            stopped_at: e.stopped_at,
            arms: e.arms,
        }
    }
}

/// What the audit log keeps of an experiment's design.
fn audited(e: &Experiment) -> serde_json::Value {
    json!({
        "name": e.name, "assignment_id": e.assignment_id, "arms": e.arms,
        "probes_per_week": e.probes_per_week,
    })
}

/// Starts an experiment on an assignment: its learners now are recorded in the arms they draw
/// (later ones at their first answer), and each arm's learners are scheduled by the arm's policy
/// from their next answer on. All checks come before anything is written.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, assignment_id = %assignment_id))]
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    assignment_id: &AssignmentId,
    design: Design,
    now: DateTime<Utc>,
) -> ApiResult<ExperimentReport> {
    let org = &caller.org_id;
    let experiment = store::write_tx(conn, |conn| {
        let assignment = match assignment_store::get(conn, org, assignment_id) {
            Err(StoreError::NotFound) => {
                return Err(ApiError::missing("assignment_id", "no such assignment"))
            }
            other => other?,
        };
        if assignment.ended_at.is_some() {
            return Err(ApiError::Conflict(
                "assignment_id: the assignment has ended".into(),
            ));
        }
        if experiment_store::running_on(conn, org, assignment_id)?.is_some() {
            return Err(ApiError::Conflict(
                "assignment_id: an experiment already runs on this assignment; stop it first"
                    .into(),
            ));
        }
        let experiment = Experiment {
            id: ExperimentId::new(new_id()),
            name: design.name,
            assignment_id: assignment_id.clone(),
            arms: design.arms,
            probes_per_week: design.probes_per_week,
            created_by: caller.user_id.clone(),
            started_at: now,
            stopped_at: None,
        };
        let members: Vec<Member> = assignment_store::learners_of(conn, org, &assignment)?
            .into_iter()
            .map(|learner| Member {
                arm: experiment.arm_for(&learner).name.clone(),
                learner_id: UserId::from(learner),
            })
            .collect();
        experiment_store::create(conn, org, &experiment, &members).map_err(|e| match e {
            StoreError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => ApiError::Conflict(
                "assignment_id: an experiment already runs on this assignment".into(),
            ),
            other => other.into(),
        })?;
        let entry = Entry::by(
            caller,
            "experiment.created",
            "experiment",
            experiment.id.as_str(),
        )
        .after(audited(&experiment));
        audit::record(conn, org, &entry, now)?;
        Ok::<_, ApiError>(experiment)
    })?;
    tracing::info!(experiment_id = %experiment.id, "experiment started");
    report_of(conn, caller, experiment)
}

/// The organization's experiments, newest first.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn list(conn: &mut DbConnection, caller: &Caller) -> ApiResult<Vec<ExperimentSummary>> {
    Ok(experiment_store::list(conn, &caller.org_id)?
        .into_iter()
        .map(ExperimentSummary::from)
        .collect())
}

/// One experiment with its statistics.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, experiment_id = %id))]
pub fn report(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &ExperimentId,
) -> ApiResult<ExperimentReport> {
    let experiment = experiment_store::get(conn, &caller.org_id, id)?;
    report_of(conn, caller, experiment)
}

/// Ends an experiment: its learners go back to the assignment's policy; its figures stay.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, experiment_id = %id))]
pub fn stop(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &ExperimentId,
    now: DateTime<Utc>,
) -> ApiResult<ExperimentReport> {
    let org = &caller.org_id;
    let stopped = store::write_tx(conn, |conn| {
        let current = experiment_store::get(conn, org, id)?;
        if current.stopped_at.is_some() {
            return Err(ApiError::Conflict(
                "the experiment has already stopped".into(),
            ));
        }
        let stopped = experiment_store::stop(conn, org, id, now)?;
        let entry = Entry::by(caller, "experiment.stopped", "experiment", id.as_str())
            .after(json!({"stopped_at": stopped.stopped_at}));
        audit::record(conn, org, &entry, now)?;
        Ok::<_, ApiError>(stopped)
    })?;
    tracing::info!("experiment stopped");
    report_of(conn, caller, stopped)
}

/// What an upload stored.
#[derive(Serialize, ToSchema)]
pub struct KpiUploaded {
    pub rows: usize,
    pub learners: usize,
    pub kpis: Vec<String>,
}

/// Stores KPI values for an experiment's learners: all or nothing, every e-mail must name a
/// learner recorded in the experiment (else each is reported with its line).
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, experiment_id = %id, lines = lines.len()))]
pub fn upload_kpis(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &ExperimentId,
    lines: &[KpiLine],
    now: DateTime<Utc>,
) -> ApiResult<KpiUploaded> {
    let org = &caller.org_id;
    store::write_tx(conn, |conn| {
        experiment_store::get(conn, org, id)?;
        let members: HashMap<String, String> = experiment_store::members(conn, org, id)?
            .into_iter()
            .map(|m| (m.learner_id.to_string(), m.arm))
            .collect();
        let dir = analytics_store::directory(conn, org)?;
        let by_email: HashMap<&str, &str> = dir
            .users
            .iter()
            .map(|(id, p)| (p.email.as_str(), id.as_str()))
            .collect();
        let mut errors = Vec::new();
        let mut values = Vec::with_capacity(lines.len());
        for l in lines {
            match by_email.get(l.email.as_str()) {
                Some(user) if members.contains_key(*user) => {
                    values.push((UserId::from(*user), l.kpi.clone(), l.value))
                }
                found => errors.push(FieldError {
                    line: Some(l.line),
                    ..FieldError::new(
                        "email",
                        match found {
                            Some(_) => format!("{} is not a learner of this experiment", l.email),
                            None => format!("no user {} in this organization", l.email),
                        },
                    )
                }),
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        experiment_store::replace_kpis(conn, org, id, &values, now)?;
        let mut kpis: Vec<String> = values.iter().map(|v| v.1.clone()).collect();
        kpis.sort();
        kpis.dedup();
        let mut learners: Vec<&UserId> = values.iter().map(|v| &v.0).collect();
        learners.sort();
        learners.dedup();
        let uploaded = KpiUploaded {
            rows: values.len(),
            learners: learners.len(),
            kpis,
        };
        let entry = Entry::by(
            caller,
            "experiment.kpis_uploaded",
            "experiment",
            id.as_str(),
        )
        .after(
            json!({"rows": uploaded.rows, "learners": uploaded.learners, "kpis": uploaded.kpis}),
        );
        audit::record(conn, org, &entry, now)?;
        Ok(uploaded)
    })
}

/// One measure of an experiment (probe recall, or a KPI): figures from values per arm, one per
/// learner, each resampled from a seed of the experiment, the measure and the arm(s), so the same
/// data always gives the same figures.
struct Compared<'a> {
    experiment: &'a Experiment,
    measure: &'a str,
}

impl Compared<'_> {
    fn estimate(&self, arm: &str, values: &[f64]) -> Estimate {
        let seed = seed_of(&[self.experiment.id.as_str(), self.measure, arm]);
        stats::estimate(values, seed)
    }

    fn difference(&self, arm: &Arm, by_arm: &BTreeMap<&str, Vec<f64>>) -> Option<Difference> {
        let control = self.experiment.control();
        if arm.control {
            return None;
        }
        let seed = seed_of(&[
            self.experiment.id.as_str(),
            self.measure,
            &arm.name,
            &control.name,
        ]);
        let none = Vec::new();
        stats::difference(
            by_arm.get(arm.name.as_str()).unwrap_or(&none),
            by_arm.get(control.name.as_str()).unwrap_or(&none),
            seed,
        )
    }
}

fn report_of(
    conn: &mut DbConnection,
    caller: &Caller,
    experiment: Experiment,
) -> ApiResult<ExperimentReport> {
    let org = &caller.org_id;
    let members = experiment_store::members(conn, org, &experiment.id)?;
    let answers = experiment_store::answers_per_learner(
        conn,
        org,
        &experiment.assignment_id,
        experiment.started_at,
        experiment.stopped_at,
    )?;
    // Each learner's guess-corrected probe answers, by the arm they were answered in.
    let mut probes: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for (learner, arm, correct, options) in experiment_store::probes(conn, org, &experiment.id)? {
        probes
            .entry((arm, learner))
            .or_default()
            .push(stats::guess_corrected(correct, options));
    }
    let mut recall_by_arm: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut probes_by_arm: HashMap<&str, usize> = HashMap::new();
    for ((arm, _), answers) in &probes {
        let mean = answers.iter().sum::<f64>() / answers.len() as f64;
        recall_by_arm.entry(arm.as_str()).or_default().push(mean);
        *probes_by_arm.entry(arm.as_str()).or_default() += answers.len();
    }
    let recall = Compared {
        experiment: &experiment,
        measure: "probe_recall",
    };
    let arm_results: Vec<ArmReport> = experiment
        .arms
        .iter()
        .map(|arm| {
            let learners: Vec<&Member> = members.iter().filter(|m| m.arm == arm.name).collect();
            let questions: i64 = learners
                .iter()
                .map(|m| answers.get(m.learner_id.as_str()).copied().unwrap_or(0))
                .sum();
            let values = recall_by_arm
                .get(arm.name.as_str())
                .cloned()
                .unwrap_or_default();
            let estimate = recall.estimate(&arm.name, &values);
            ArmReport {
                arm: arm.clone(),
                learners: learners.len(),
                questions_per_learner: (!learners.is_empty())
                    .then(|| questions as f64 / learners.len() as f64),
                probes: probes_by_arm.get(arm.name.as_str()).copied().unwrap_or(0),
                probe_recall: ProbeRecall {
                    learners: estimate.learners,
                    recall: estimate.mean.map(|m| m.clamp(0.0, 1.0)),
                    estimate: estimate.mean,
                    ci95: estimate.ci95,
                    difference: recall.difference(arm, &recall_by_arm),
                },
            }
        })
        .collect();
    let kpis = kpi_reports(conn, caller, &experiment, &members)?;
    let summary = ExperimentSummary::from(experiment);
    Ok(ExperimentReport {
        id: summary.id,
        name: summary.name,
        assignment_id: summary.assignment_id,
        probes_per_week: summary.probes_per_week,
        status: summary.status,
        started_at: summary.started_at,
        stopped_at: summary.stopped_at,
        arms: arm_results,
        kpis,
    })
}

fn kpi_reports(
    conn: &mut DbConnection,
    caller: &Caller,
    experiment: &Experiment,
    members: &[Member],
) -> ApiResult<Vec<KpiReport>> {
    let arm_of: HashMap<&str, &str> = members
        .iter()
        .map(|m| (m.learner_id.as_str(), m.arm.as_str()))
        .collect();
    let mut by_kpi: BTreeMap<String, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
    for (learner, kpi, value) in experiment_store::kpis(conn, &caller.org_id, &experiment.id)? {
        if let Some(arm) = arm_of.get(learner.as_str()) {
            by_kpi
                .entry(kpi)
                .or_default()
                .entry(arm)
                .or_default()
                .push(value);
        }
    }
    Ok(by_kpi
        .iter()
        .map(|(kpi, by_arm)| {
            let measure = format!("kpi:{kpi}");
            let compared = Compared {
                experiment,
                measure: &measure,
            };
            KpiReport {
                kpi: kpi.clone(),
                arms: experiment
                    .arms
                    .iter()
                    .map(|arm| KpiArm {
                        arm: arm.name.clone(),
                        estimate: compared.estimate(
                            &arm.name,
                            by_arm.get(arm.name.as_str()).map_or(&[][..], Vec::as_slice),
                        ),
                        difference: compared.difference(arm, by_arm),
                    })
                    .collect(),
            }
        })
        .collect())
}
