//! Pitch practice as a service: a seller's recording is checked, kept in media storage and
//! scheduled; reviewers score it on the nugget's rubric; good ones are shared with the seller's
//! teams as exemplars.
//!
//! Who sees a recording (`domain::pitch::Viewer`): the seller; their coaches (an admin, or a
//! manager of one of their teams); their teammates once it is shared, or while the organization
//! lets teammates review. Anyone else, in this organization or another, gets the same 404 as for
//! a pitch that does not exist.
//!
//! A recording's bytes and its row are kept so that a failure leaves neither: the bytes go to
//! storage first, then the row and the schedule in one transaction; if that fails (or a
//! concurrent upload of the same attempt won), the bytes are deleted again.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::blobs::Blobs;
use crate::domain::accounts::Role;
use crate::domain::ids::{NuggetId, OrgId, PitchId, PitchReviewId, TeamId, UserId};
use crate::domain::pitch::{self, PitchReview, RubricCriterion, Scores, Viewer};
use crate::domain::recording::{self, Container, Probe};
use crate::error::{ApiError, ApiResult};
use crate::learning::pitch_practice::{self, AssignedPitch};
use crate::learning::Learning;
use crate::store::audit::{self, Entry};
use crate::store::pitches::{self as pitch_store, NewPitch, NewReview, PitchFilter, PitchRow};
use crate::store::{self, accounts as account_store, content as content_store, new_id};
use crate::store::{DbConnection, StoreError};

/// Most pitches one list returns, newest first.
pub const LIST_LIMIT: i64 = 200;

/// Whether a pitch has been reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PitchStatus {
    Pending,
    Reviewed,
}

/// A pitch with its situation, rubric and reviews.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Pitch {
    #[schema(value_type = String)]
    pub id: PitchId,
    #[schema(value_type = String)]
    pub learner_id: UserId,
    pub learner_name: String,
    #[schema(value_type = String)]
    pub nugget_id: NuggetId,
    pub topic: String,
    /// The client situation the seller answered.
    pub prompt: String,
    pub rubric: Vec<RubricCriterion>,
    pub max_seconds: u32,
    /// `video/webm`, `video/mp4`, `audio/webm`, `audio/mp4` or `audio/ogg`: read from the bytes.
    pub content_type: String,
    pub bytes: i64,
    pub duration_ms: i32,
    pub recorded_at: DateTime<Utc>,
    pub status: PitchStatus,
    /// Shared with the seller's teams as an exemplar.
    pub shared: bool,
    /// Where to play it: `GET` with the caller's bearer token.
    pub recording_url: String,
    pub reviews: Vec<PitchReview>,
}

/// What the upload route does before it reads the body.
pub enum Upload {
    /// This attempt was kept before: nothing more is read or stored.
    Replayed(Box<Pitch>),
    /// A pitch assigned to the learner, ready to take its recording.
    Ready(Box<AssignedPitch>),
}

/// Checks the pitch nugget and the attempt before a byte of the recording is read: an attempt
/// kept before is answered from the database; a nugget not assigned to the learner is a 404, a
/// choice nugget a 422.
pub async fn prepare(
    learning: Arc<Learning>,
    caller: Caller,
    nugget_id: NuggetId,
    attempt_id: uuid::Uuid,
) -> ApiResult<Upload> {
    let database = learning.database().clone();
    database
        .run(move |conn| {
            let attempt = attempt_id.to_string();
            if let Some(row) =
                pitch_store::by_attempt(conn, &caller.org_id, &caller.user_id, &attempt)?
            {
                if row.nugget_id != nugget_id.as_str() {
                    return Err(ApiError::field(
                        "attempt_id",
                        "this attempt id was used for another nugget's pitch",
                    ));
                }
                return Ok(Upload::Replayed(Box::new(render_one(conn, &caller, row)?)));
            }
            let assigned = pitch_practice::assigned_pitch(
                conn,
                learning.enrolments(),
                &caller,
                &nugget_id,
                learning.now(),
            )?;
            Ok(Upload::Ready(Box::new(assigned)))
        })
        .await
}

/// The key a recording is kept under: beside its seller's others, so erasure deletes them all.
pub fn recording_key(org: &OrgId, learner: &UserId, id: &PitchId, extension: &str) -> String {
    format!(
        "{}{id}.{extension}",
        crate::blobs::recordings_prefix(org, learner)
    )
}

/// Reads the spooled recording's container and duration (off the async workers) and checks
/// them against what was declared and what the pitch allows.
async fn check_recording(
    spooled: &Path,
    declared: (Container, bool),
    max_seconds: u32,
) -> ApiResult<Probe> {
    let path = spooled.to_path_buf();
    let probed = actix_web::web::block(move || {
        let file = std::fs::File::open(path)?;
        Ok::<_, std::io::Error>(recording::probe(std::io::BufReader::new(file)))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(format!("reading the spooled recording: {e}")))?;
    let probe = probed.map_err(|e| {
        if e.is_client_error() {
            ApiError::field("body", e.to_string())
        } else {
            ApiError::Internal(format!("reading the spooled recording: {e}"))
        }
    })?;
    if probe.kind.container != declared.0 {
        return Err(ApiError::Unsupported(format!(
            "the recording is {} but was sent as {}",
            probe.kind.content_type(),
            recording::RecordingKind {
                container: declared.0,
                video: declared.1
            }
            .content_type()
        )));
    }
    let limit = pitch::duration_limit(max_seconds);
    if probe.duration > limit {
        return Err(ApiError::field(
            "body",
            format!(
                "the recording is {:.1} s long; this pitch allows {max_seconds} s (up to {:.1} s)",
                probe.duration.as_secs_f64(),
                limit.as_secs_f64()
            ),
        ));
    }
    Ok(probe)
}

/// Keeps a recording spooled to `spooled` (`bytes` long) for the learner's pitch: checked,
/// put in storage, then recorded and scheduled in one transaction. Returns the pitch and whether
/// it is new (`false`: a concurrent upload of the same attempt was kept first).
#[allow(clippy::too_many_arguments)]
pub async fn record(
    learning: Arc<Learning>,
    blobs: &Blobs,
    caller: Caller,
    assigned: AssignedPitch,
    attempt_id: uuid::Uuid,
    declared: (Container, bool),
    spooled: &Path,
    bytes: u64,
) -> ApiResult<(Pitch, bool)> {
    if bytes == 0 {
        return Err(ApiError::field("body", "the recording is empty"));
    }
    let probe = check_recording(spooled, declared, assigned.nugget.pitch_seconds()).await?;
    let id = PitchId::new(new_id());
    let key = recording_key(&caller.org_id, &caller.user_id, &id, probe.kind.extension());
    blobs
        .put_file(&key, spooled)
        .await
        .map_err(|e| ApiError::Unavailable(format!("media storage: {e}")))?;
    let now = learning.now();
    let database = learning.database().clone();
    let recorded = Recorded {
        id,
        attempt_id,
        probe,
        bytes,
        key: key.clone(),
    };
    let kept = database
        .run(move |conn| keep(conn, &caller, &assigned, &recorded, now))
        .await;
    match kept {
        Ok((pitch, true)) => {
            tracing::info!(pitch_id = %pitch.id, bytes, "pitch recorded");
            Ok((pitch, true))
        }
        Ok((pitch, false)) => {
            delete_quietly(blobs, &key).await;
            Ok((pitch, false))
        }
        Err(e) => {
            delete_quietly(blobs, &key).await;
            Err(e)
        }
    }
}

/// A recording in storage, to keep as a pitch.
pub struct Recorded {
    pub id: PitchId,
    pub attempt_id: uuid::Uuid,
    pub probe: Probe,
    pub bytes: u64,
    pub key: String,
}

/// Records a stored recording as the learner's pitch and schedules the nugget, in one
/// transaction. Returns the pitch and whether it is new (`false`: the attempt was kept before).
pub fn keep(
    conn: &mut DbConnection,
    caller: &Caller,
    assigned: &AssignedPitch,
    recorded: &Recorded,
    now: DateTime<Utc>,
) -> ApiResult<(Pitch, bool)> {
    store::write_tx(conn, |conn| {
        let attempt = recorded.attempt_id.to_string();
        let nugget = &assigned.nugget;
        let inserted = pitch_store::insert(
            conn,
            &caller.org_id,
            &NewPitch {
                id: &recorded.id,
                learner_id: &caller.user_id,
                nugget_id: &nugget.nugget_id,
                pack_version_id: nugget.pack_version_id.as_str(),
                topic: &nugget.topic,
                attempt_id: &attempt,
                content_type: recorded.probe.kind.content_type(),
                bytes: recorded.bytes,
                duration_ms: recorded.probe.duration.as_millis().min(u32::MAX as u128) as u32,
                storage_key: &recorded.key,
                at: now,
            },
        )?;
        if !inserted {
            let row = pitch_store::by_attempt(conn, &caller.org_id, &caller.user_id, &attempt)?
                .ok_or(StoreError::NotFound)?;
            return Ok::<_, ApiError>((render_one(conn, caller, row)?, false));
        }
        pitch_practice::practiced(conn, caller, assigned, now)?;
        let row =
            pitch_store::get(conn, &caller.org_id, &recorded.id)?.ok_or(StoreError::NotFound)?;
        Ok((render_one(conn, caller, row)?, true))
    })
}

async fn delete_quietly(blobs: &Blobs, key: &str) {
    if let Err(e) = blobs.delete(key).await {
        tracing::warn!(key, error = %e, "could not delete a recording that was not kept");
    }
}

/// How the caller stands to a seller: coach, teammate, themself.
fn viewer_of(
    conn: &mut DbConnection,
    caller: &Caller,
    learner: &UserId,
    shared: bool,
) -> ApiResult<Viewer> {
    let is_learner = *learner == caller.user_id;
    let theirs = account_store::list_user_teams(conn, &caller.org_id, learner)?;
    let coaches = !is_learner
        && match caller.role {
            Role::Admin => true,
            Role::Manager => {
                let scope = account_store::team_scope(conn, &caller.org_id, &caller.user_id)?;
                theirs.iter().any(|t| scope.contains(t))
            }
            _ => false,
        };
    let mine = account_store::list_user_teams(conn, &caller.org_id, &caller.user_id)?;
    let teammate = !is_learner && theirs.iter().any(|t| mine.contains(t));
    let peer_review = account_store::get_org(conn, &caller.org_id)?.peer_review;
    Ok(Viewer {
        is_learner,
        coaches,
        teammate,
        peer_review,
        shared,
    })
}

/// The pitch `id` if the caller may watch it (else the 404 of a pitch that does not exist).
fn watchable(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &PitchId,
) -> ApiResult<(PitchRow, Viewer)> {
    let row = pitch_store::get(conn, &caller.org_id, id)?.ok_or(StoreError::NotFound)?;
    let viewer = viewer_of(
        conn,
        caller,
        &UserId::new(row.learner_id.clone()),
        row.shared_at.is_some(),
    )?;
    if !viewer.may_watch() {
        return Err(StoreError::NotFound.into());
    }
    Ok((row, viewer))
}

/// Renders pitches with their nuggets' situations and their reviews.
fn render(conn: &mut DbConnection, org: &OrgId, rows: Vec<PitchRow>) -> ApiResult<Vec<Pitch>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut reviews: HashMap<String, Vec<PitchReview>> = HashMap::new();
    for r in pitch_store::reviews_of(conn, org, &ids)? {
        reviews
            .entry(r.pitch_id.clone())
            .or_default()
            .push(r.into());
    }
    let mut names: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if !names.contains_key(&row.learner_id) {
            let name =
                account_store::get_user(conn, org, &UserId::new(row.learner_id.clone()))?.name;
            names.insert(row.learner_id.clone(), name);
        }
        let nugget = content_store::nugget_in_version(
            conn,
            org,
            &NuggetId::new(row.nugget_id.clone()),
            &row.pack_version_id.clone().into(),
        )?;
        let reviews = reviews.remove(&row.id).unwrap_or_default();
        out.push(Pitch {
            recording_url: format!("/api/v1/pitches/{}/recording", row.id),
            learner_name: names[&row.learner_id].clone(),
            status: if reviews.is_empty() {
                PitchStatus::Pending
            } else {
                PitchStatus::Reviewed
            },
            id: row.id.into(),
            learner_id: row.learner_id.into(),
            nugget_id: row.nugget_id.into(),
            topic: row.topic,
            max_seconds: nugget.pitch_seconds(),
            prompt: nugget.prompt,
            rubric: nugget.rubric,
            content_type: row.content_type,
            bytes: row.bytes,
            duration_ms: row.duration_ms,
            recorded_at: row.created_at.and_utc(),
            shared: row.shared_at.is_some(),
            reviews,
        });
    }
    Ok(out)
}

fn render_one(conn: &mut DbConnection, caller: &Caller, row: PitchRow) -> ApiResult<Pitch> {
    Ok(render(conn, &caller.org_id, vec![row])?
        .pop()
        .expect("one pitch rendered"))
}

/// One pitch, for whoever may watch it.
pub fn get(conn: &mut DbConnection, caller: &Caller, id: &PitchId) -> ApiResult<Pitch> {
    let (row, _) = watchable(conn, caller, id)?;
    render_one(conn, caller, row)
}

/// Where a recording is and what it is, for whoever may watch it.
pub fn recording(conn: &mut DbConnection, caller: &Caller, id: &PitchId) -> ApiResult<PitchRow> {
    Ok(watchable(conn, caller, id)?.0)
}

/// Members of these teams.
fn members_of(conn: &mut DbConnection, org: &OrgId, teams: &[String]) -> ApiResult<Vec<String>> {
    let mut members: Vec<String> = Vec::new();
    for team in teams {
        for m in account_store::team_member_ids(conn, org, team)? {
            if !members.contains(&m) {
                members.push(m);
            }
        }
    }
    Ok(members)
}

/// Pitches to review: a manager's teams' (or one of them), an admin's organization (or one
/// team), a seller's teammates' when the organization lets teammates review; newest first.
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    status: Option<PitchStatus>,
    team: Option<&TeamId>,
) -> ApiResult<Vec<Pitch>> {
    let org = &caller.org_id;
    let reach: Option<Vec<String>> = match caller.role {
        Role::Admin => None,
        Role::Manager => Some(account_store::team_scope(conn, org, &caller.user_id)?),
        _ => {
            if !account_store::get_org(conn, org)?.peer_review {
                return Err(ApiError::Forbidden(
                    "reviewing pitches is for managers and admins (and teammates when the organization allows peer review)"
                        .into(),
                ));
            }
            Some(account_store::list_user_teams(conn, org, &caller.user_id)?)
        }
    };
    let teams: Option<Vec<String>> = match (team, reach) {
        (Some(t), Some(reach)) => {
            if !reach.iter().any(|r| r == t.as_str()) {
                return Err(ApiError::field("team_id", "not one of your teams"));
            }
            Some(vec![t.to_string()])
        }
        (Some(t), None) => {
            account_store::get_team(conn, org, t).map_err(|e| match e {
                StoreError::NotFound => ApiError::field("team_id", "no such team"),
                other => other.into(),
            })?;
            Some(vec![t.to_string()])
        }
        (None, reach) => reach,
    };
    let learners = match &teams {
        Some(teams) => {
            let mut m = members_of(conn, org, teams)?;
            m.retain(|id| *id != caller.user_id.as_str());
            Some(m)
        }
        None => None,
    };
    let rows = pitch_store::list(
        conn,
        org,
        &PitchFilter {
            learners: learners.as_deref(),
            shared: false,
            limit: LIST_LIMIT,
        },
    )?;
    let mut pitches = render(conn, org, rows)?;
    if let Some(status) = status {
        pitches.retain(|p| p.status == status);
    }
    Ok(pitches)
}

/// The caller's own pitches, newest first, with their reviews.
pub fn mine(conn: &mut DbConnection, caller: &Caller) -> ApiResult<Vec<Pitch>> {
    let learner = [caller.user_id.to_string()];
    let rows = pitch_store::list(
        conn,
        &caller.org_id,
        &PitchFilter {
            learners: Some(&learner),
            shared: false,
            limit: LIST_LIMIT,
        },
    )?;
    render(conn, &caller.org_id, rows)
}

/// Exemplars shared with a topic's pitches of the caller's teams.
#[derive(Debug, Serialize, ToSchema)]
pub struct TopicExemplars {
    pub topic: String,
    pub pitches: Vec<Pitch>,
}

/// The exemplars shared within the caller's teams, by topic (topics in name order).
pub fn exemplars(conn: &mut DbConnection, caller: &Caller) -> ApiResult<Vec<TopicExemplars>> {
    let org = &caller.org_id;
    let teams = account_store::list_user_teams(conn, org, &caller.user_id)?;
    let learners = members_of(conn, org, &teams)?;
    let rows = pitch_store::list(
        conn,
        org,
        &PitchFilter {
            learners: Some(&learners),
            shared: true,
            limit: LIST_LIMIT,
        },
    )?;
    let mut by_topic: BTreeMap<String, Vec<Pitch>> = BTreeMap::new();
    for p in render(conn, org, rows)? {
        by_topic.entry(p.topic.clone()).or_default().push(p);
    }
    Ok(by_topic
        .into_iter()
        .map(|(topic, pitches)| TopicExemplars { topic, pitches })
        .collect())
}

/// A reviewer's scores, as sent.
pub struct ReviewInput {
    pub scores: BTreeMap<String, serde_json::Value>,
    pub comment: String,
}

/// Scores a pitch on its rubric (coaches; teammates when peer review is on). A score of 1 or 2
/// on any criterion brings the pitch back sooner. One review per reviewer: a second is a 409.
pub fn review(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &PitchId,
    input: ReviewInput,
    now: DateTime<Utc>,
) -> ApiResult<PitchReview> {
    if input.comment.chars().count() > pitch::MAX_COMMENT_CHARS {
        return Err(ApiError::field(
            "comment",
            format!("must be at most {} characters", pitch::MAX_COMMENT_CHARS),
        ));
    }
    store::write_tx(conn, |conn| {
        let (row, viewer) = watchable(conn, caller, id)?;
        if !viewer.may_review() {
            return Err(ApiError::Forbidden(if viewer.is_learner {
                "sellers do not review their own pitches".into()
            } else {
                "reviewing this pitch is for the seller's managers (and teammates when the organization allows peer review)".into()
            }));
        }
        let nugget = content_store::nugget_in_version(
            conn,
            &caller.org_id,
            &NuggetId::new(row.nugget_id.clone()),
            &row.pack_version_id.clone().into(),
        )?;
        let scores = Scores::check(&nugget.rubric, &input.scores)
            .map_err(|e| ApiError::field(&e.field, e.message))?;
        let review_id = PitchReviewId::new(new_id());
        let learner = UserId::new(row.learner_id.clone());
        let scores_json = serde_json::to_string(scores.as_map()).expect("scores serialize");
        let inserted = pitch_store::insert_review(
            conn,
            &caller.org_id,
            &NewReview {
                id: &review_id,
                pitch_id: id,
                learner_id: &learner,
                reviewer_id: &caller.user_id,
                topic: &row.topic,
                scores: &scores_json,
                mean_score: scores.mean(),
                comment: input.comment.trim(),
                at: now,
            },
        )?;
        if !inserted {
            return Err(ApiError::Conflict("you reviewed this pitch before".into()));
        }
        if scores.brings_back_sooner() {
            pitch_practice::bring_back(
                conn,
                &caller.org_id,
                &learner,
                &NuggetId::new(row.nugget_id.clone()),
                now,
            )?;
        }
        // Scores and the topic only: what a reviewer wrote about a person stays out of the log.
        let entry = Entry::by(caller, "pitch.reviewed", "pitch", id.as_str()).after(
            serde_json::json!({"learner_id": learner, "topic": row.topic, "mean_score": scores.mean()}),
        );
        audit::record(conn, &caller.org_id, &entry, now)?;
        let review = pitch_store::reviews_of(conn, &caller.org_id, &[id.as_str()])?
            .into_iter()
            .find(|r| r.id == review_id.as_str())
            .ok_or(StoreError::NotFound)?;
        Ok(review.into())
    })
}

/// Shares a pitch with its seller's teams as an exemplar (its coaches). Sharing twice is
/// harmless.
pub fn share(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &PitchId,
    now: DateTime<Utc>,
) -> ApiResult<Pitch> {
    store::write_tx(conn, |conn| {
        let (_, viewer) = watchable(conn, caller, id)?;
        if !viewer.coaches {
            return Err(ApiError::Forbidden(
                "sharing a pitch as an exemplar is for the seller's managers and admins".into(),
            ));
        }
        if pitch_store::share(conn, &caller.org_id, id, &caller.user_id, now)? {
            let entry = Entry::by(caller, "pitch.shared", "pitch", id.as_str());
            audit::record(conn, &caller.org_id, &entry, now)?;
        }
        let row = pitch_store::get(conn, &caller.org_id, id)?.ok_or(StoreError::NotFound)?;
        render_one(conn, caller, row)
    })
}

/// The seller marks a review of their pitch seen; their queue no longer carries it.
pub fn mark_review_seen(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &PitchReviewId,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let found = store::write_tx(conn, |conn| {
        pitch_store::mark_review_seen(conn, &caller.org_id, &caller.user_id, id, now)
    })?;
    if found {
        Ok(())
    } else {
        Err(StoreError::NotFound.into())
    }
}
