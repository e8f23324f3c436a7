//! Coaching notes as a service: a manager (for their own teams' people) or an admin writes a
//! note to a seller on a topic; the seller's queue carries it with their next nugget of that
//! topic until the seller has seen it.
//!
//! The queue reads a learner's unseen notes only when it is built; a note written or seen moves
//! the learner's queue counter (a trigger), so cached queues are rebuilt then and the queue read
//! costs what it did.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::accounts;
use crate::auth::Caller;
pub use crate::domain::coaching::Note;
use crate::domain::coaching::NoteText;
use crate::domain::ids::{NoteId, UserId};
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{self, Entry};
use crate::store::coaching::{self as note_store, NewNote};
use crate::store::{self, analytics as analytics_store, new_id, DbConnection};

/// Writes a note to a learner in the caller's reach (others are a 404, as if absent). The topic
/// must be one of the organization's nuggets' topics, and is stored as the content spells it.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %learner))]
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    learner: &UserId,
    text: NoteText,
    now: DateTime<Utc>,
) -> ApiResult<Note> {
    let org = &caller.org_id;
    let note = store::write_tx(conn, |conn| {
        accounts::users::get(conn, caller, learner)?;
        let topic = analytics_store::nugget_catalog(conn, org)?
            .into_values()
            .map(|n| n.topic)
            .find(|t| t.eq_ignore_ascii_case(&text.topic))
            .ok_or_else(|| ApiError::field("topic", "no nugget has this topic"))?;
        let id = NoteId::new(new_id());
        let note = note_store::create(
            conn,
            org,
            &NewNote {
                id: &id,
                learner_id: learner,
                author_id: &caller.user_id,
                topic: &topic,
                body: &text.body,
                at: now,
            },
        )?;
        // The topic only: what a note says about a person stays out of the audit log.
        let entry = Entry::by(caller, "coaching_note.created", "user", learner.as_str())
            .after(json!({"note_id": id, "topic": topic}));
        audit::record(conn, org, &entry, now)?;
        Ok::<_, ApiError>(note)
    })?;
    Ok(note)
}

/// A learner's notes, newest first: their own, or a coach's within reach.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %learner))]
pub fn list(conn: &mut DbConnection, caller: &Caller, learner: &UserId) -> ApiResult<Vec<Note>> {
    accounts::users::get(conn, caller, learner)?;
    Ok(note_store::of_learner(conn, &caller.org_id, learner)?)
}

/// The caller marks one of their notes seen; their queue no longer carries it.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, note_id = %id))]
pub fn mark_seen(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &NoteId,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let found = store::write_tx(conn, |conn| {
        note_store::mark_seen(conn, &caller.org_id, &caller.user_id, id, now)
    })?;
    if found {
        Ok(())
    } else {
        Err(ApiError::NotFound("no such note".into()))
    }
}
