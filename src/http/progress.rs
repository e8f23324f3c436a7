//! The seller's progress and vacation holds.

use std::collections::HashMap;

use actix_web::{get, post, web, HttpResponse};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::body::Json;
use super::caller::Caller;
use super::state::AppState;
use crate::domain::calendar::{local_day, local_midnight, weekday_code};
use crate::domain::progress::{self, Figures, NuggetProgress, PackProgress};
use crate::domain::scheduler::{self, CardStatus};
use crate::domain::validation::FieldError;
use crate::error::{ApiResult, Problem};
use crate::learning::queue::learner_settings;
use crate::store::{self, content as content_store, learning, new_id};

#[derive(Serialize, ToSchema)]
pub struct DueDay {
    pub date: NaiveDate,
    pub nuggets: usize,
}

#[derive(Serialize, ToSchema)]
pub struct Progress {
    pub overall: Figures,
    pub packs: Vec<PackProgress>,
    /// Days in a row with at least one answer, up to today (or yesterday while today is still
    /// open); quiet weekdays and paused days neither count nor break it.
    pub streak_days: u32,
    /// Nuggets falling due on each of the next 7 days (today first).
    pub due_next_7_days: Vec<DueDay>,
}

/// Proficiency per pack and topic, initial vs now, streak and the week ahead.
#[utoipa::path(
    tag = "learner",
    responses((status = 200, body = Progress), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[get("/api/v1/me/progress")]
pub async fn get_progress(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Progress>> {
    let st = state.clone();
    let progress = state
        .db(move |conn| {
            let now = st.clock.now();
            let org = caller.org_id.as_str();
            let (tz, settings) = learner_settings(conn, &caller)?;
            let states = learning::states(conn, org, &caller.user_id)?;
            let counts = learning::answer_counts(conn, org, &caller.user_id)?;
            let params = settings.fsrs_parameters;
            let slugs = learning::pack_slugs(conn, org)?;
            let mut versions: HashMap<String, HashMap<String, (String, String)>> = HashMap::new();
            let mut items = Vec::with_capacity(states.len());
            for s in &states {
                if !versions.contains_key(&s.pack_version_id) {
                    let nuggets = content_store::version_nuggets(conn, org, &s.pack_version_id)?;
                    let by_id = nuggets
                        .into_iter()
                        .map(|n| {
                            (
                                n.nugget_id,
                                (slugs.get(&n.pack_id).cloned().unwrap_or_default(), n.topic),
                            )
                        })
                        .collect();
                    versions.insert(s.pack_version_id.clone(), by_id);
                }
                let Some((pack, topic)) = versions[&s.pack_version_id].get(&s.nugget_id).cloned()
                else {
                    continue;
                };
                let (answers, correct_answers) =
                    counts.get(&s.nugget_id).copied().unwrap_or_default();
                items.push(NuggetProgress {
                    pack,
                    topic,
                    recall: scheduler::retrievability(&s.card, now, &params),
                    first_correct: s.first_correct,
                    answers,
                    correct_answers,
                    mastered: s.card.status == CardStatus::Mastered,
                });
            }
            let today = local_day(tz, now).date;
            let answer_days: Vec<NaiveDate> = learning::answer_times(conn, org, &caller.user_id)?
                .into_iter()
                .map(|t| t.and_utc().with_timezone(&tz).date_naive())
                .collect();
            let pauses = learning::pauses(conn, org, &caller.user_id)?;
            let skipped = |d: NaiveDate| {
                settings.quiet_weekdays.iter().any(|q| q == weekday_code(d))
                    || pauses
                        .iter()
                        .any(|(_, from, to)| (*from..=*to).contains(&d))
            };
            let due_next_7_days = (0..7)
                .map(|i| {
                    let date = today + Duration::days(i);
                    let (from, to) = (
                        local_midnight(tz, date),
                        local_midnight(tz, date + Duration::days(1)),
                    );
                    let nuggets = states
                        .iter()
                        .filter(|s| {
                            matches!(s.card.status, CardStatus::Learning | CardStatus::Review)
                        })
                        .filter(|s| s.card.due.is_some_and(|d| (i == 0 || d >= from) && d < to))
                        .count();
                    DueDay { date, nuggets }
                })
                .collect();
            Ok(Progress {
                overall: progress::figures(items.iter()),
                packs: progress::by_pack(&items),
                streak_days: progress::streak(&answer_days, today, skipped),
                due_next_7_days,
            })
        })
        .await?;
    Ok(web::Json(progress))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    /// First day off (today or later, in the learner's time zone).
    pub starts_on: NaiveDate,
    /// Last day off; at most 90 days after `starts_on`.
    pub ends_on: NaiveDate,
}

#[derive(Serialize, ToSchema)]
pub struct Pause {
    pub id: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// Hold nuggets for a vacation: nothing is due on those days, and due dates move later by the
/// pause's length.
#[utoipa::path(
    tag = "learner",
    request_body = PauseRequest,
    responses((status = 201, body = Pause), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []))
)]
#[post("/api/v1/me/pause")]
pub async fn post_pause(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<PauseRequest>,
) -> ApiResult<HttpResponse> {
    let PauseRequest { starts_on, ends_on } = body.0;
    let st = state.clone();
    let pause = state
        .db(move |conn| {
            let now = st.clock.now();
            let (tz, _) = learner_settings(conn, &caller)?;
            let today = local_day(tz, now).date;
            let mut errors = Vec::new();
            if starts_on < today {
                errors.push(FieldError::new("starts_on", "must be today or later"));
            }
            if ends_on < starts_on || ends_on > starts_on + Duration::days(90) {
                errors.push(FieldError::new(
                    "ends_on",
                    "must be between starts_on and 90 days after it",
                ));
            }
            if !errors.is_empty() {
                return Err(errors.into());
            }
            let id = new_id();
            store::write_tx(conn, |conn| {
                learning::add_pause(
                    conn,
                    &caller.org_id,
                    &caller.user_id,
                    learning::PauseSpan {
                        id: &id,
                        starts_on,
                        ends_on,
                        begins_at: local_midnight(tz, starts_on),
                    },
                    now,
                )
            })?;
            Ok(Pause {
                id,
                starts_on,
                ends_on,
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(pause))
}

/// The caller's pauses, newest first.
#[utoipa::path(tag = "learner", responses((status = 200, body = Vec<Pause>)), security(("bearer" = [])))]
#[get("/api/v1/me/pauses")]
pub async fn list_pauses(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<Pause>>> {
    let list = state
        .db(move |conn| {
            Ok(learning::pauses(conn, &caller.org_id, &caller.user_id)?
                .into_iter()
                .map(|(id, starts_on, ends_on)| Pause {
                    id,
                    starts_on,
                    ends_on,
                })
                .collect())
        })
        .await?;
    Ok(web::Json(list))
}
