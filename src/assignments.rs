//! Assignments as a service: a published pack for a team and/or learners, from a start date,
//! with the settings it is scheduled with.
//!
//! Managers act within their own teams (`accounts::scope`): they assign to a team of theirs (not
//! to learners one by one), and see, change and end only their teams' assignments; any other
//! assignment is a 404 to them, as another organization's would be.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::accounts::scope::TeamScope;
use crate::auth::Caller;
use crate::domain::assignments::{Assignment, Settings, SettingsInput};
use crate::domain::audit::changed_fields;
use crate::domain::ids::AssignmentId;
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self, Entry};
use crate::store::{self, assignments as assignment_store, new_id, DbConnection};

/// A new assignment, its settings checked.
pub struct NewAssignment {
    /// Slug of a published pack.
    pub pack: String,
    pub team_id: Option<String>,
    pub learner_ids: Vec<String>,
    pub settings: Settings,
}

/// Whether an assignment to `team_id` and `learner_ids` stays within `scope`.
fn within(scope: &TeamScope, team_id: Option<&str>, learner_ids: &[String]) -> bool {
    match scope {
        TeamScope::Organization => true,
        TeamScope::Teams(_) => learner_ids.is_empty() && scope.reaches(team_id),
    }
}

/// Assigns a published pack. A reference to something that does not exist is a 404 naming its
/// field; a pack with nothing published yet is a conflict with its state.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, pack = %new.pack, assignment_id = tracing::field::Empty))]
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    new: &NewAssignment,
    now: DateTime<Utc>,
) -> ApiResult<Assignment> {
    let scope = TeamScope::of(conn, caller)?;
    if !within(&scope, new.team_id.as_deref(), &new.learner_ids) {
        return Err(ApiError::Forbidden(
            "managers assign packs to their own teams only".into(),
        ));
    }
    let id = AssignmentId::new(new_id());
    let row = assignment_store::NewAssignment {
        id: &id,
        pack_slug: &new.pack,
        team_id: new.team_id.as_deref(),
        learner_ids: &new.learner_ids,
        settings: &new.settings,
        created_by: &caller.user_id,
    };
    let created = store::write_tx(conn, |conn| {
        let created =
            assignment_store::create(conn, &caller.org_id, row, now)?.map_err(|missing| {
                match missing {
                    assignment_store::MissingRef::Pack => ApiError::missing("pack", "no such pack"),
                    assignment_store::MissingRef::Unpublished => {
                        ApiError::Conflict("pack: the pack has no published version yet".into())
                    }
                    assignment_store::MissingRef::Team => {
                        ApiError::missing("team_id", "no such team")
                    }
                    assignment_store::MissingRef::Learner(id) => {
                        ApiError::missing("learner_ids", format!("no such user {id}"))
                    }
                }
            })?;
        let entry = Entry::by(caller, "assignment.created", "assignment", &created.id)
            .after(audited(&created));
        audit::record(conn, &caller.org_id, &entry, now)?;
        Ok::<_, ApiError>(created)
    })?;
    tracing::Span::current().record("assignment_id", tracing::field::display(&created.id));
    tracing::info!(learners = new.learner_ids.len(), "pack assigned");
    Ok(created)
}

/// What the audit log keeps of an assignment: everything but who made it and when.
fn audited(a: &Assignment) -> serde_json::Value {
    json!({
        "pack": a.pack_slug, "team_id": a.team_id, "learner_ids": a.learner_ids,
        "starts_on": a.starts_on, "ends_on": a.ends_on, "target_date": a.target_date,
        "daily_cap": a.daily_cap,
        "desired_retention": a.desired_retention, "policy": a.policy,
        "fast_ms": a.fast_ms, "slow_ms": a.slow_ms,
    })
}

/// The assignments the caller sees: all of the organization's, or a manager's teams'.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn list(conn: &mut DbConnection, caller: &Caller) -> ApiResult<Vec<Assignment>> {
    let scope = TeamScope::of(conn, caller)?;
    Ok(assignment_store::list(conn, &caller.org_id, scope.teams())?)
}

/// An assignment the caller's scope reaches; any other is a 404.
fn in_scope(conn: &mut DbConnection, caller: &Caller, id: &AssignmentId) -> ApiResult<Assignment> {
    let assignment = assignment_store::get(conn, &caller.org_id, id)?;
    if !TeamScope::of(conn, caller)?.reaches(assignment.team_id.as_deref()) {
        return Err(ApiError::NotFound("no such resource".into()));
    }
    Ok(assignment)
}

/// Changes an assignment's dates, cap, retention, policy or thresholds, checked against what
/// it has now, in one write transaction.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, assignment_id = %id))]
pub fn update(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &AssignmentId,
    changes: SettingsInput,
    now: DateTime<Utc>,
) -> ApiResult<Assignment> {
    let updated = store::write_tx(conn, |conn| {
        let current = in_scope(conn, caller, id)?;
        let next = current.settings().apply(changes)?;
        let updated = assignment_store::update(conn, &caller.org_id, id, &next)?;
        let (was, is) = changed_fields(&audited(&current), &audited(&updated));
        let entry = Entry::by(caller, "assignment.updated", "assignment", id.as_str())
            .before(was)
            .after(is);
        audit::record(conn, &caller.org_id, &entry, now)?;
        Ok::<_, ApiError>(updated)
    })?;
    tracing::info!("assignment changed");
    Ok(updated)
}

/// Ends an assignment: its nuggets leave the learners' queues; their history stays.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, assignment_id = %id))]
pub fn end(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &AssignmentId,
    now: DateTime<Utc>,
) -> ApiResult<Assignment> {
    let ended = store::write_tx(conn, |conn| {
        in_scope(conn, caller, id)?;
        let ended = assignment_store::end(conn, &caller.org_id, id, now)?;
        let entry = Entry::by(caller, "assignment.ended", "assignment", id.as_str())
            .after(json!({"ended_at": ended.ended_at}));
        audit::record(conn, &caller.org_id, &entry, now)?;
        Ok::<_, ApiError>(ended)
    })?;
    tracing::info!("assignment ended");
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_assign_to_their_teams_only() {
        let manager = TeamScope::Teams(vec!["north".into()]);
        let learners = vec!["sam".to_string()];
        assert!(within(&manager, Some("north"), &[]));
        assert!(!within(&manager, Some("south"), &[]));
        assert!(!within(&manager, Some("north"), &learners));
        assert!(!within(&manager, None, &learners));
        assert!(within(&TeamScope::Organization, None, &learners));
        assert!(within(&TeamScope::Organization, Some("south"), &[]));
    }
}
