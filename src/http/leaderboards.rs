//! Leaderboards (every role): points for learning, ranked for people and teams.

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::caller::Caller;
use super::query::Query;
use super::state::AppState;
use crate::domain::ids::AssignmentId;
use crate::error::{ApiError, ApiResult, Problem};
use crate::leaderboards::{self, Leaderboard, Period, Scope};

#[derive(Deserialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeName {
    Team,
    Org,
}

#[derive(Deserialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PeriodName {
    Week,
    Month,
    Assignment,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LeaderboardQuery {
    /// `team` (default): the people of a team and the teams below it; `org`: everyone.
    #[param(value_type = Option<ScopeName>)]
    pub scope: Option<ScopeName>,
    /// `week` (default): this ISO week; `month`: this calendar month (both in the
    /// organization's time zone); `assignment`: answers to an assignment's nuggets since its start.
    #[param(value_type = Option<PeriodName>)]
    pub period: Option<PeriodName>,
    /// With `scope=team`: the team (default: the caller's own teams).
    pub team_id: Option<String>,
    /// With `period=assignment`: the assignment.
    #[param(value_type = Option<String>)]
    pub assignment_id: Option<AssignmentId>,
}

impl LeaderboardQuery {
    fn parse(self) -> ApiResult<(Scope, Period)> {
        let scope = match (self.scope.unwrap_or(ScopeName::Team), self.team_id) {
            (ScopeName::Team, team) => Scope::Team(team),
            (ScopeName::Org, None) => Scope::Organization,
            (ScopeName::Org, Some(_)) => {
                return Err(ApiError::field("team_id", "only with scope=team"))
            }
        };
        let period = match (self.period.unwrap_or(PeriodName::Week), self.assignment_id) {
            (PeriodName::Assignment, Some(id)) => Period::Assignment(id),
            (PeriodName::Assignment, None) => {
                return Err(ApiError::field(
                    "assignment_id",
                    "name the assignment with period=assignment",
                ))
            }
            (_, Some(_)) => {
                return Err(ApiError::field(
                    "assignment_id",
                    "only with period=assignment",
                ))
            }
            (PeriodName::Week, None) => Period::Week,
            (PeriodName::Month, None) => Period::Month,
        };
        Ok((scope, period))
    }
}

/// Leaderboard of points for learning (every role), computed from the counted answers when read.
///
/// **Points.** Only answers that count earn (the queue's nuggets; practice answers, repeats the
/// same day, nuggets not due and new nuggets past the daily cap earn nothing), at most one answer
/// per nugget and local day. A counted answer earns 10 points when given on or before the
/// learner's local day on which the nugget was due (never before the day after the previous
/// answer to it, since a nugget is asked once a day; a first answer to a new nugget is on time);
/// a right answer to a nugget answered before earns `round(5 × ln(1 + d))` more, `d` the days
/// since the previous counted answer to it (1 day 3, a week 10, a month 17); the first right
/// answer to a nugget first answered wrong earns 15 more (knowledge gained).
///
/// **Ranks.** People by points (ties share a rank); teams by the mean points of their active
/// learners, the learners of the teams below included and those who earned nothing counting as
/// zero, so small and large teams compete fairly.
///
/// **Names.** A seller may appear under a pseudonym (`leaderboard_name` of
/// `PUT /api/v1/me/notification-settings`): other sellers see it, with no `user_id`; managers see
/// the real names of the people in their teams, admins and analysts everyone's.
///
/// **Off.** Leaderboards are off until an admin turns them on (`PATCH /api/v1/org`
/// `{"leaderboards": true}`); while off the answer is 200 with `enabled: false` and empty lists.
#[utoipa::path(
    tag = "leaderboards",
    params(LeaderboardQuery),
    responses(
        (status = 200, body = Leaderboard),
        (status = 404, description = "no such team or assignment: `errors` names `team_id` or `assignment_id`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a bad parameter, named in `errors`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/leaderboards")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn leaderboard(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<LeaderboardQuery>,
) -> ApiResult<web::Json<Leaderboard>> {
    let (scope, period) = query.into_inner().parse()?;
    let now = state.clock.now();
    // The primary answers: a seller reads their points right after an answer.
    let board = state
        .db(move |conn| leaderboards::read(conn, &caller, &scope, &period, now))
        .await?;
    Ok(web::Json(board))
}
