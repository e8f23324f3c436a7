//! Coaching notes: written by a coach to a seller on a topic, read by the seller's queue until
//! seen.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{coaching_notes, users};
use super::{DbConnection, StoreResult};
use crate::domain::coaching::Note;
use crate::domain::ids::{NoteId, OrgId, UserId};

/// A note as stored, with its author's name.
#[derive(Queryable)]
struct NoteRow {
    id: String,
    learner_id: String,
    author_id: String,
    author_name: String,
    topic: String,
    body: String,
    created_at: NaiveDateTime,
    seen_at: Option<NaiveDateTime>,
}

impl From<NoteRow> for Note {
    fn from(r: NoteRow) -> Self {
        Note {
            id: r.id.into(),
            learner_id: r.learner_id.into(),
            author_id: r.author_id.into(),
            author_name: r.author_name,
            topic: r.topic,
            body: r.body,
            created_at: r.created_at.and_utc(),
            seen_at: r.seen_at.map(|t| t.and_utc()),
        }
    }
}

/// Notes joined with their authors, selecting a [`NoteRow`].
macro_rules! notes_with_authors {
    () => {
        coaching_notes::table
            .inner_join(
                users::table.on(users::org_id
                    .eq(coaching_notes::org_id)
                    .and(users::id.eq(coaching_notes::author_id))),
            )
            .select((
                coaching_notes::id,
                coaching_notes::learner_id,
                coaching_notes::author_id,
                users::name,
                coaching_notes::topic,
                coaching_notes::body,
                coaching_notes::created_at,
                coaching_notes::seen_at,
            ))
    };
}

/// A new note.
pub struct NewNote<'a> {
    pub id: &'a NoteId,
    pub learner_id: &'a UserId,
    pub author_id: &'a UserId,
    pub topic: &'a str,
    pub body: &'a str,
    pub at: DateTime<Utc>,
}

pub fn create(conn: &mut DbConnection, org_id: &OrgId, note: &NewNote<'_>) -> StoreResult<Note> {
    diesel::insert_into(coaching_notes::table)
        .values((
            coaching_notes::org_id.eq(org_id),
            coaching_notes::id.eq(note.id),
            coaching_notes::learner_id.eq(note.learner_id),
            coaching_notes::author_id.eq(note.author_id),
            coaching_notes::topic.eq(note.topic),
            coaching_notes::body.eq(note.body),
            coaching_notes::created_at.eq(note.at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(notes_with_authors!()
        .filter(coaching_notes::org_id.eq(org_id))
        .filter(coaching_notes::id.eq(note.id))
        .first::<NoteRow>(conn)?
        .into())
}

/// A learner's notes, newest first.
pub fn of_learner(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
) -> StoreResult<Vec<Note>> {
    Ok(notes_with_authors!()
        .filter(coaching_notes::org_id.eq(org_id))
        .filter(coaching_notes::learner_id.eq(learner_id))
        .order((coaching_notes::created_at.desc(), coaching_notes::id.desc()))
        .load::<NoteRow>(conn)?
        .into_iter()
        .map(Note::from)
        .collect())
}

/// A learner's notes not yet seen, oldest first (the queue reads them when it is built).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn unseen(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
) -> StoreResult<Vec<Note>> {
    Ok(notes_with_authors!()
        .filter(coaching_notes::org_id.eq(org_id))
        .filter(coaching_notes::learner_id.eq(learner_id))
        .filter(coaching_notes::seen_at.is_null())
        .order((coaching_notes::created_at.asc(), coaching_notes::id.asc()))
        .load::<NoteRow>(conn)?
        .into_iter()
        .map(Note::from)
        .collect())
}

/// Marks a learner's own note seen (once: a later call keeps the first time). `false` when the
/// learner has no such note.
pub fn mark_seen(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    id: &NoteId,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let mine = coaching_notes::table
        .filter(coaching_notes::org_id.eq(org_id))
        .filter(coaching_notes::id.eq(id))
        .filter(coaching_notes::learner_id.eq(learner_id));
    let exists: i64 = mine.count().get_result(conn)?;
    if exists == 0 {
        return Ok(false);
    }
    diesel::update(mine.filter(coaching_notes::seen_at.is_null()))
        .set(coaching_notes::seen_at.eq(at.naive_utc()))
        .execute(conn)?;
    Ok(true)
}
