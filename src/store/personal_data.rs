//! Everything stored about one person, read for an export (GDPR article 15) or removed for an
//! erasure (article 17). Erasure keeps the person's answers, memory states, memberships, KPIs,
//! experiment arms and probe results under their user id, a random UUID that nothing left in the database ties to them, so the
//! organization's figures do not change; everything that names or reaches them goes.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{
    audit_events, coaching_notes, experiment_kpis, experiment_members, idempotency_keys, kpis,
    logins, memory_states, notification_settings, nudges, nugget_versions, observations, pauses,
    pitch_reviews, pitches, push_subscriptions, refresh_tokens, refresher_items, reviews,
    sign_in_links, sso_codes, team_members, teams, users, webhook_attempts, webhook_deliveries,
    xapi_outbox,
};
use super::{DbConnection, StoreResult};
use crate::domain::ids::{OrgId, UserId};

#[derive(Debug, Serialize, Queryable)]
pub struct AnswerRecord {
    pub nugget_id: String,
    pub prompt: String,
    /// Option ids chosen, as JSON.
    pub selected: String,
    pub correct: bool,
    pub response_ms: i32,
    pub confidence: Option<String>,
    pub answered_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub practice: Option<String>,
}

#[derive(Debug, Serialize, Queryable)]
pub struct MemoryRecord {
    pub nugget_id: String,
    pub status: String,
    pub stability: Option<f64>,
    pub difficulty: Option<f64>,
    pub reps: i32,
    pub lapses: i32,
    pub last_review_at: Option<NaiveDateTime>,
    pub due_at: Option<NaiveDateTime>,
}

#[derive(Debug, Serialize, Queryable)]
pub struct NudgeRecord {
    pub channel: String,
    pub local_day: NaiveDate,
    pub status: String,
    pub reason: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
}

#[derive(Debug, Serialize, Queryable)]
pub struct KpiRecord {
    pub period: String,
    pub metric: String,
    pub value: f64,
    pub uploaded_at: NaiveDateTime,
}

#[derive(Debug, Serialize, Queryable)]
pub struct AuditRecord {
    pub at: NaiveDateTime,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
}

/// What is kept about a person beyond their account record.
#[derive(Debug, Serialize)]
pub struct Holdings {
    /// Team ids and names.
    pub teams: Vec<(String, String)>,
    /// Their own reminder choices: (push, e-mail, time), when they made any.
    pub notification_settings: Option<(bool, bool, String)>,
    /// Push endpoints of their devices, with when each was kept.
    pub push_subscriptions: Vec<(String, NaiveDateTime)>,
    /// Pauses: first and last day.
    pub pauses: Vec<(NaiveDate, NaiveDate)>,
    pub answers: Vec<AnswerRecord>,
    pub memory: Vec<MemoryRecord>,
    pub reminders: Vec<NudgeRecord>,
    pub kpis: Vec<KpiRecord>,
    /// Experiments they were in: (experiment id, arm, since).
    pub experiments: Vec<(String, String, NaiveDateTime)>,
    /// Experiments' KPIs uploaded about them: (experiment id, KPI, value).
    pub experiment_kpis: Vec<(String, String, f64)>,
    /// What the planner learnt of how fast they forget: (log stability factor, inverse
    /// variance), once they answered in a planner assignment.
    pub planner_estimate: Option<(f64, f64)>,
    /// Changes they made, or that were made to their account.
    pub audit: Vec<AuditRecord>,
    /// What the organization's identity provider sent about them by SCIM.
    pub provisioned: ProvisionedRecord,
    /// The name they appear under on leaderboards, if they chose one.
    pub leaderboard_name: Option<String>,
    /// Coaching notes written to them: (topic, note, written, seen).
    pub coaching_notes: Vec<(String, String, NaiveDateTime, Option<NaiveDateTime>)>,
    /// Refreshers that planned nuggets for them: (refresher id, nugget id, planned day).
    pub refreshers: Vec<(String, String, NaiveDate)>,
    /// Pitches they recorded: (pitch id, topic, content type, bytes, milliseconds, recorded,
    /// shared). The recordings themselves are served at `/api/v1/pitches/{id}/recording`.
    pub pitches: Vec<PitchRecord>,
    /// Reviews of their pitches: (pitch id, scores as JSON, comment, reviewed).
    pub pitch_reviews: Vec<(String, String, String, NaiveDateTime)>,
    /// Field observations of them: (day, topic, applied 1..4, note, observer's id).
    pub observations: Vec<(NaiveDate, String, i32, Option<String>, String)>,
}

/// One recorded pitch in an export.
pub type PitchRecord = (
    String,
    String,
    String,
    i64,
    i32,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// A person as the identity provider knows them (all empty for people it did not provision).
#[derive(Debug, Serialize, Queryable)]
pub struct ProvisionedRecord {
    pub external_id: Option<String>,
    pub user_name: Option<String>,
    /// Their name's parts and addresses as sent, as JSON.
    pub profile: Option<String>,
}

/// Reads everything kept about `user`.
pub fn holdings(conn: &mut DbConnection, org: &OrgId, user: &UserId) -> StoreResult<Holdings> {
    let teams = team_members::table
        .inner_join(
            teams::table.on(teams::org_id
                .eq(team_members::org_id)
                .and(teams::id.eq(team_members::team_id))),
        )
        .filter(team_members::org_id.eq(org))
        .filter(team_members::user_id.eq(user))
        .select((teams::id, teams::name))
        .load(conn)?;
    let notification_settings = notification_settings::table
        .find((org, user))
        .select((
            notification_settings::push,
            notification_settings::email,
            notification_settings::remind_at,
        ))
        .first(conn)
        .optional()?;
    let push_subscriptions = push_subscriptions::table
        .filter(push_subscriptions::org_id.eq(org))
        .filter(push_subscriptions::learner_id.eq(user))
        .select((push_subscriptions::endpoint, push_subscriptions::created_at))
        .load(conn)?;
    let pauses = pauses::table
        .filter(pauses::org_id.eq(org))
        .filter(pauses::learner_id.eq(user))
        .order(pauses::starts_on)
        .select((pauses::starts_on, pauses::ends_on))
        .load(conn)?;
    let answers = reviews::table
        .inner_join(
            nugget_versions::table.on(nugget_versions::org_id
                .eq(reviews::org_id)
                .and(nugget_versions::pack_version_id.eq(reviews::pack_version_id))
                .and(nugget_versions::nugget_id.eq(reviews::nugget_id))),
        )
        .filter(reviews::org_id.eq(org))
        .filter(reviews::learner_id.eq(user))
        .order(reviews::answered_at)
        .select((
            reviews::nugget_id,
            nugget_versions::prompt,
            reviews::selected,
            reviews::correct,
            reviews::response_ms,
            reviews::confidence,
            reviews::answered_at,
            reviews::received_at,
            reviews::practice,
        ))
        .load(conn)?;
    let memory = memory_states::table
        .filter(memory_states::org_id.eq(org))
        .filter(memory_states::learner_id.eq(user))
        .select((
            memory_states::nugget_id,
            memory_states::status,
            memory_states::stability,
            memory_states::difficulty,
            memory_states::reps,
            memory_states::lapses,
            memory_states::last_review_at,
            memory_states::due_at,
        ))
        .load(conn)?;
    let reminders = nudges::table
        .filter(nudges::org_id.eq(org))
        .filter(nudges::learner_id.eq(user))
        .order(nudges::local_day)
        .select((
            nudges::channel,
            nudges::local_day,
            nudges::status,
            nudges::reason,
            nudges::sent_at,
        ))
        .load(conn)?;
    let kpis = kpis::table
        .filter(kpis::org_id.eq(org))
        .filter(kpis::user_id.eq(user))
        .select((kpis::period, kpis::metric, kpis::value, kpis::uploaded_at))
        .load(conn)?;
    let experiments = experiment_members::table
        .filter(experiment_members::org_id.eq(org))
        .filter(experiment_members::learner_id.eq(user))
        .select((
            experiment_members::experiment_id,
            experiment_members::arm,
            experiment_members::joined_at,
        ))
        .load(conn)?;
    let experiment_kpis = experiment_kpis::table
        .filter(experiment_kpis::org_id.eq(org))
        .filter(experiment_kpis::learner_id.eq(user))
        .select((
            experiment_kpis::experiment_id,
            experiment_kpis::kpi,
            experiment_kpis::value,
        ))
        .load(conn)?;
    let planner_estimate = super::learning::planner_estimate(conn, org, user)?;
    let audit = audit_events::table
        .filter(audit_events::org_id.eq(org))
        .filter(
            audit_events::actor_id
                .eq(user.as_str())
                .or(audit_events::target_id.eq(user.as_str())),
        )
        .order(audit_events::at)
        .select((
            audit_events::at,
            audit_events::actor_kind,
            audit_events::actor_id,
            audit_events::action,
            audit_events::target_type,
            audit_events::target_id,
        ))
        .load(conn)?;
    let provisioned = users::table
        .find((org, user))
        .select((users::external_id, users::user_name, users::scim_profile))
        .first(conn)?;
    let leaderboard_name = users::table
        .find((org, user))
        .select(users::leaderboard_name)
        .first(conn)?;
    let coaching_notes = coaching_notes::table
        .filter(coaching_notes::org_id.eq(org))
        .filter(coaching_notes::learner_id.eq(user))
        .order(coaching_notes::created_at.asc())
        .select((
            coaching_notes::topic,
            coaching_notes::body,
            coaching_notes::created_at,
            coaching_notes::seen_at,
        ))
        .load(conn)?;
    let refreshers = refresher_items::table
        .filter(refresher_items::org_id.eq(org))
        .filter(refresher_items::learner_id.eq(user))
        .order(refresher_items::planned_on.asc())
        .select((
            refresher_items::refresher_id,
            refresher_items::nugget_id,
            refresher_items::planned_on,
        ))
        .load(conn)?;
    let pitches = pitches::table
        .filter(pitches::org_id.eq(org))
        .filter(pitches::learner_id.eq(user))
        .order(pitches::created_at.asc())
        .select((
            pitches::id,
            pitches::topic,
            pitches::content_type,
            pitches::bytes,
            pitches::duration_ms,
            pitches::created_at,
            pitches::shared_at,
        ))
        .load(conn)?;
    let pitch_reviews = pitch_reviews::table
        .filter(pitch_reviews::org_id.eq(org))
        .filter(pitch_reviews::learner_id.eq(user))
        .order(pitch_reviews::created_at.asc())
        .select((
            pitch_reviews::pitch_id,
            pitch_reviews::scores,
            pitch_reviews::comment,
            pitch_reviews::created_at,
        ))
        .load(conn)?;
    let observations = observations::table
        .filter(observations::org_id.eq(org))
        .filter(observations::learner_id.eq(user))
        .order((
            observations::observed_on.asc(),
            observations::created_at.asc(),
        ))
        .select((
            observations::observed_on,
            observations::topic,
            observations::applied,
            observations::note,
            observations::observer_id,
        ))
        .load(conn)?;
    Ok(Holdings {
        pitches,
        pitch_reviews,
        observations,
        provisioned,
        leaderboard_name,
        coaching_notes,
        refreshers,
        teams,
        notification_settings,
        push_subscriptions,
        pauses,
        answers,
        memory,
        reminders,
        kpis,
        experiments,
        experiment_kpis,
        planner_estimate,
        audit,
    })
}

/// Removes what names or reaches `user`: their e-mail address (and its login), name, password,
/// what the identity provider sent about them (userName, externalId, name's parts, addresses),
/// zone, leaderboard pseudonym, coaching notes written to them, their pitches and reviews of
/// them, field observations of them, sessions, devices, reminder choices
/// and history, pauses, one-time links, stored replies
/// of repeated requests, webhook messages about them, and the statements of theirs not yet
/// forwarded to the LRS. Their account
/// stays, deactivated, as "Erased user". Returns the rows removed; run it in the caller's
/// transaction.
pub fn erase(
    conn: &mut DbConnection,
    org: &OrgId,
    user: &UserId,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let mut removed = 0;
    removed += diesel::delete(
        logins::table
            .filter(logins::org_id.eq(org))
            .filter(logins::user_id.eq(user)),
    )
    .execute(conn)?;
    removed += diesel::delete(
        refresh_tokens::table
            .filter(refresh_tokens::org_id.eq(org))
            .filter(refresh_tokens::user_id.eq(user)),
    )
    .execute(conn)?;
    removed += diesel::delete(
        push_subscriptions::table
            .filter(push_subscriptions::org_id.eq(org))
            .filter(push_subscriptions::learner_id.eq(user)),
    )
    .execute(conn)?;
    removed += diesel::delete(notification_settings::table.find((org, user))).execute(conn)?;
    // What coaches wrote about them, and what managers saw them do.
    removed += diesel::delete(
        coaching_notes::table
            .filter(coaching_notes::org_id.eq(org))
            .filter(coaching_notes::learner_id.eq(user)),
    )
    .execute(conn)?;
    // Their pitches and what reviewers said of them; the recordings go from media storage once
    // this commits (`pitches::erase_recordings`).
    removed += diesel::delete(
        pitch_reviews::table
            .filter(pitch_reviews::org_id.eq(org))
            .filter(pitch_reviews::learner_id.eq(user)),
    )
    .execute(conn)?;
    removed += diesel::delete(
        pitches::table
            .filter(pitches::org_id.eq(org))
            .filter(pitches::learner_id.eq(user)),
    )
    .execute(conn)?;
    removed += diesel::delete(
        observations::table
            .filter(observations::org_id.eq(org))
            .filter(observations::learner_id.eq(user)),
    )
    .execute(conn)?;
    removed += diesel::delete(
        nudges::table
            .filter(nudges::org_id.eq(org))
            .filter(nudges::learner_id.eq(user)),
    )
    .execute(conn)?;
    removed += diesel::delete(
        pauses::table
            .filter(pauses::org_id.eq(org))
            .filter(pauses::learner_id.eq(user)),
    )
    .execute(conn)?;
    removed += diesel::delete(
        sign_in_links::table
            .filter(sign_in_links::org_id.eq(org))
            .filter(sign_in_links::user_id.eq(user)),
    )
    .execute(conn)?;
    // Single sign-on codes not yet exchanged would still sign them in.
    removed += diesel::delete(
        sso_codes::table
            .filter(sso_codes::org_id.eq(org))
            .filter(sso_codes::user_id.eq(user)),
    )
    .execute(conn)?;
    removed += diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::org_id.eq(org))
            .filter(idempotency_keys::user_id.eq(user)),
    )
    .execute(conn)?;
    let theirs = reviews::table
        .filter(reviews::org_id.eq(org))
        .filter(reviews::learner_id.eq(user))
        .select(reviews::attempt_id);
    removed += diesel::delete(
        xapi_outbox::table
            .filter(xapi_outbox::org_id.eq(org))
            .filter(xapi_outbox::sent_at.is_null())
            .filter(xapi_outbox::statement_id.eq_any(theirs)),
    )
    .execute(conn)?;
    // Webhook messages carry the learner's name and address; their copies here go, delivered
    // or not (the id, a UUID, appears in nothing else).
    let mentioning = webhook_deliveries::table
        .filter(webhook_deliveries::org_id.eq(org))
        .filter(webhook_deliveries::payload.like(format!("%{user}%")))
        .select(webhook_deliveries::id);
    let ids: Vec<String> = mentioning.load(conn)?;
    if !ids.is_empty() {
        diesel::delete(
            webhook_attempts::table
                .filter(webhook_attempts::org_id.eq(org))
                .filter(webhook_attempts::delivery_id.eq_any(&ids)),
        )
        .execute(conn)?;
        removed += diesel::delete(
            webhook_deliveries::table
                .filter(webhook_deliveries::org_id.eq(org))
                .filter(webhook_deliveries::id.eq_any(&ids)),
        )
        .execute(conn)?;
    }
    diesel::update(users::table.find((org, user)))
        .set((
            users::email.eq(format!("erased-{user}@erased.invalid")),
            users::name.eq("Erased user"),
            // Not a hash any password verifies against.
            users::password_hash.eq("!erased"),
            users::timezone.eq(None::<String>),
            users::daily_max.eq(None::<i32>),
            users::external_id.eq(None::<String>),
            users::user_name.eq(None::<String>),
            users::scim_profile.eq(None::<String>),
            users::leaderboard_name.eq(None::<String>),
            users::active.eq(false),
            users::auth_version.eq(users::auth_version + 1),
            users::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(removed)
}
