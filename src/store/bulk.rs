//! Multi-row writes for generated data sets (`reprise demo --learners …`): thousands of rows per
//! statement, inside the caller's transaction. Not used by the request path.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::reviews::ReviewRow;
use super::schema::{choice_counts, logins, memory_states, reviews, team_members, users};
use super::{DbConnection, StoreResult};
use crate::domain::ids::OrgId;

/// Rows per INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters at 25 columns.
const CHUNK: usize = 1000;

/// A user to insert: (id, e-mail, name, role).
pub type NewUserRow = (String, String, String, String);

/// Inserts users (and their logins) sharing one password hash.
pub fn insert_users(
    conn: &mut DbConnection,
    org_id: &OrgId,
    rows: &[NewUserRow],
    password_hash: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    for chunk in rows.chunks(CHUNK) {
        let logins: Vec<_> = chunk
            .iter()
            .map(|(id, email, _, _)| {
                (
                    logins::email.eq(email),
                    logins::org_id.eq(org_id),
                    logins::user_id.eq(id),
                )
            })
            .collect();
        execute_on_backend!(conn, diesel::insert_into(logins::table).values(&logins))?;
        let users: Vec<_> = chunk
            .iter()
            .map(|(id, email, name, role)| {
                (
                    users::org_id.eq(org_id),
                    users::id.eq(id),
                    users::email.eq(email),
                    users::name.eq(name),
                    users::password_hash.eq(password_hash),
                    users::role.eq(role),
                    users::active.eq(true),
                    users::created_at.eq(now),
                    users::updated_at.eq(now),
                    users::auth_version.eq(super::accounts::FIRST_AUTH_VERSION),
                )
            })
            .collect();
        execute_on_backend!(conn, diesel::insert_into(users::table).values(&users))?;
    }
    Ok(())
}

/// Inserts (team, user) memberships.
pub fn insert_members(
    conn: &mut DbConnection,
    org_id: &OrgId,
    rows: &[(String, String)],
) -> StoreResult<()> {
    for chunk in rows.chunks(CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(team, user)| {
                (
                    team_members::org_id.eq(org_id),
                    team_members::team_id.eq(team),
                    team_members::user_id.eq(user),
                )
            })
            .collect();
        execute_on_backend!(
            conn,
            diesel::insert_into(team_members::table).values(&values)
        )?;
    }
    Ok(())
}

pub fn insert_reviews(conn: &mut DbConnection, rows: &[ReviewRow]) -> StoreResult<()> {
    for chunk in rows.chunks(CHUNK) {
        execute_on_backend!(conn, diesel::insert_into(reviews::table).values(chunk))?;
    }
    Ok(())
}

/// A memory state as stored.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = memory_states)]
pub struct MemoryStateRow {
    pub org_id: String,
    pub learner_id: String,
    pub nugget_id: String,
    pub pack_version_id: String,
    pub assignment_id: String,
    pub status: String,
    pub stability: Option<f64>,
    pub difficulty: Option<f64>,
    pub reps: i32,
    pub lapses: i32,
    pub correct_streak: i32,
    pub first_correct: Option<bool>,
    pub first_answered_at: Option<NaiveDateTime>,
    pub last_review_at: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
    pub updated_at: NaiveDateTime,
}

pub fn insert_states(conn: &mut DbConnection, rows: &[MemoryStateRow]) -> StoreResult<()> {
    for chunk in rows.chunks(CHUNK) {
        execute_on_backend!(
            conn,
            diesel::insert_into(memory_states::table).values(chunk)
        )?;
    }
    Ok(())
}

/// Inserts an organization's choice counts, keyed (nugget, team or "", option or ""), shard 0.
pub fn insert_choice_counts(
    conn: &mut DbConnection,
    org_id: &OrgId,
    counts: &HashMap<(String, String, String), u64>,
) -> StoreResult<()> {
    let rows: Vec<_> = counts
        .iter()
        .map(|((nugget, team, option), n)| {
            (
                choice_counts::org_id.eq(org_id),
                choice_counts::nugget_id.eq(nugget),
                choice_counts::team_id.eq(team),
                choice_counts::option_id.eq(option),
                choice_counts::shard.eq(0),
                choice_counts::answers.eq(*n as i64),
            )
        })
        .collect();
    for chunk in rows.chunks(CHUNK) {
        execute_on_backend!(
            conn,
            diesel::insert_into(choice_counts::table).values(chunk)
        )?;
    }
    Ok(())
}
