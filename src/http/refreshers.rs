//! Refreshers (managers for their own teams' people, admins): nuggets put back into learners'
//! queues over the next days, and when each was answered.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::body::Json;
use super::caller::{Authorized, Coaches};
use super::query::Query;
use super::state::AppState;
use crate::domain::ids::{NuggetId, RefresherId, TeamId, UserId};
use crate::domain::refreshers::{check_days, check_lists, MAX_DAYS};
use crate::domain::validation::{self, Errors};
use crate::error::{ApiError, ApiResult, Problem};
use crate::refreshers::{self, Learners, NewRefresher, Nuggets, RefresherReport, RefresherSummary};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefresherRequest {
    /// The learners (or `team_id`, not both).
    #[schema(value_type = Option<Vec<String>>, min_items = 1, max_items = 500)]
    pub learner_ids: Option<Vec<UserId>>,
    /// Every active learner of this team and the teams below it (or `learner_ids`).
    #[schema(value_type = Option<String>)]
    pub team_id: Option<TeamId>,
    /// The nuggets (or `topic`, not both).
    #[schema(value_type = Option<Vec<String>>, min_items = 1, max_items = 100)]
    pub nugget_ids: Option<Vec<NuggetId>>,
    /// Every nugget of this topic (compared without regard to case).
    #[schema(min_length = 1, max_length = 200)]
    pub topic: Option<String>,
    /// Days to spread the nuggets over, from the learner's today (1..=30).
    #[serde(default, deserialize_with = "super::body::whole::optional_i32")]
    #[schema(value_type = i32, minimum = 1, maximum = 30)]
    pub days: Option<i32>,
}

impl CreateRefresherRequest {
    /// Every problem of the shape at once; what the names refer to is checked by the service.
    fn parse(self) -> ApiResult<NewRefresher> {
        let mut errs = Errors::default();
        check_lists(
            &mut errs,
            self.learner_ids.as_ref().map(Vec::len),
            self.nugget_ids.as_ref().map(Vec::len),
        );
        let learners = match (self.learner_ids, self.team_id) {
            (Some(ids), None) => Some(Learners::Ids(ids)),
            (None, Some(team)) => Some(Learners::Team(team)),
            (Some(_), Some(_)) => {
                errs.add("team_id", "give learner_ids or team_id, not both");
                None
            }
            (None, None) => {
                errs.add(
                    "learner_ids",
                    "name the learners (learner_ids) or a team (team_id)",
                );
                None
            }
        };
        let nuggets = match (self.nugget_ids, self.topic) {
            (Some(ids), None) => Some(Nuggets::Ids(ids)),
            (None, Some(topic)) => errs
                .check(validation::text("topic", &topic, 1, 200))
                .map(Nuggets::Topic),
            (Some(_), Some(_)) => {
                errs.add("topic", "give nugget_ids or topic, not both");
                None
            }
            (None, None) => {
                errs.add(
                    "nugget_ids",
                    "name the nuggets (nugget_ids) or a topic (topic)",
                );
                None
            }
        };
        let days = match self.days {
            Some(d) => errs.check(check_days(d as i64)),
            None => {
                errs.add(
                    "days",
                    format!("how many days to spread over, 1 to {MAX_DAYS}"),
                );
                None
            }
        };
        let result = errs.into_result(|| ());
        match (result, learners, nuggets, days) {
            (Ok(()), Some(learners), Some(nuggets), Some(days)) => Ok(NewRefresher {
                learners,
                nuggets,
                days,
            }),
            (Err(errors), ..) => Err(ApiError::validation(errors)),
            _ => Err(ApiError::Internal(
                "refresher request checked without errors".into(),
            )),
        }
    }
}

/// Put nuggets back into learners' queues over the next `days` (managers for the people of their
/// own teams, admins). Each learner × nugget they have met in an assignment reaching them now is
/// planned on a local day from today, spread evenly within their daily cap, and made due that day
/// (earlier if it already was; a mastered nugget comes back as a review): the queue serves it
/// like any due review. Pairs not assigned, not yet met or retired are left out and listed in
/// `skipped`. Every check comes before anything is written; the refresher is audited.
#[utoipa::path(
    tag = "coaching",
    request_body = CreateRefresherRequest,
    responses(
        (status = 201, body = RefresherReport),
        (status = 404, description = "an unknown (or, for managers, out-of-team) learner, team or nugget: `errors` names the field (`learner_ids[2]`, `team_id`, `nugget_ids[0]`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a learner answered while the refresher was planned; send it again", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a bad request, or nothing to refresh, or too few days for the nuggets within the daily cap: `errors` names each field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/refreshers")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn create_refresher(
    state: web::Data<AppState>,
    caller: Authorized<Coaches>,
    body: Json<CreateRefresherRequest>,
) -> ApiResult<HttpResponse> {
    let (request, now) = (body.0.parse()?, state.clock.now());
    let created = state
        .db(move |conn| refreshers::create(conn, &caller, request, now))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RefresherListQuery {
    /// Most refreshers returned, newest first (1..=200, default 50).
    pub limit: Option<u32>,
}

/// Refreshers, newest first, with how many of their items were answered (admins: the
/// organization's; managers: their own).
#[utoipa::path(
    tag = "coaching",
    params(RefresherListQuery),
    responses(
        (status = 200, body = Vec<RefresherSummary>),
        (status = 422, description = "`limit` out of range", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/refreshers")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn list_refreshers(
    state: web::Data<AppState>,
    caller: Authorized<Coaches>,
    query: Query<RefresherListQuery>,
) -> ApiResult<web::Json<Vec<RefresherSummary>>> {
    let limit = query.into_inner().limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::field("limit", "must be between 1 and 200"));
    }
    let list = state
        .db(move |conn| refreshers::list(conn, &caller, limit as i64))
        .await?;
    Ok(web::Json(list))
}

/// A refresher with every learner × nugget: the planned day and when it was answered (the first
/// counted answer received after the refresher was created).
#[utoipa::path(
    tag = "coaching",
    params(("id" = String, Path, description = "refresher id")),
    responses(
        (status = 200, body = RefresherReport),
        (status = 404, description = "no such refresher (for managers: not one of theirs)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/refreshers/{id}")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, refresher_id = %id))]
pub async fn get_refresher(
    state: web::Data<AppState>,
    caller: Authorized<Coaches>,
    id: web::Path<RefresherId>,
) -> ApiResult<web::Json<RefresherReport>> {
    let id = id.into_inner();
    let report = state
        .db(move |conn| refreshers::get(conn, &caller, &id))
        .await?;
    Ok(web::Json(report))
}
