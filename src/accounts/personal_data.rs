//! A person's data rights: an export of everything kept about them (GDPR article 15) and its
//! erasure (article 17), which keeps their answers only under a pseudonym (see
//! `store::personal_data`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::access::AccessCache;
use crate::auth::Caller;
use crate::blobs::{self, Blobs};
use crate::domain::accounts::{Role, User};
use crate::domain::ids::UserId;
use crate::error::{ApiError, ApiResult};
use crate::store::accounts as account_store;
use crate::store::audit::{self, Entry};
use crate::store::personal_data::{self, Holdings};
use crate::store::{self, Database, DbConnection};

/// Everything kept about a person.
#[derive(Serialize, ToSchema)]
pub struct DataExport {
    pub exported_at: DateTime<Utc>,
    pub user: User,
    /// Teams, reminder choices, devices, pauses, every answer with its prompt, memory states,
    /// reminders sent or skipped, KPIs, coaching notes, field observations, and the audit
    /// records naming them.
    #[schema(value_type = Object)]
    pub held: Holdings,
}

/// The export of `id`, for an admin or the person themself (the route admits both).
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub fn export(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &UserId,
    now: DateTime<Utc>,
) -> ApiResult<DataExport> {
    let user = account_store::get_user(conn, &caller.org_id, id)?;
    let held = personal_data::holdings(conn, &caller.org_id, id)?;
    Ok(DataExport {
        exported_at: now,
        user,
        held,
    })
}

/// Erases `id` (admins), confirmed by their current e-mail address: what names or reaches them
/// is removed, their answers stay under their id with nothing left to tie it to them, and their
/// recordings are deleted from the media storage once the database has committed. An admin
/// cannot erase themself; a person already erased is a 409, after their recordings are deleted
/// again (so asking again finishes an erasure whose storage did not answer).
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %id))]
pub async fn erase(
    database: &Database,
    blobs: &Blobs,
    access: &AccessCache,
    caller: &Caller,
    id: UserId,
    confirm_email: String,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    if id == caller.user_id {
        return Err(ApiError::Forbidden("admins cannot erase themselves".into()));
    }
    let actor = caller.clone();
    let target = id.clone();
    let removed = database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                let org = &actor.org_id;
                let user = account_store::get_user(conn, org, &target)?;
                if user.email.ends_with("@erased.invalid") {
                    return Ok(None);
                }
                if !user.email.eq_ignore_ascii_case(confirm_email.trim()) {
                    return Err(ApiError::field(
                        "confirm_email",
                        "must be the e-mail address of the person to erase",
                    ));
                }
                if user.role == Role::Admin && user.active {
                    // Only a deactivated admin can be erased: an organization keeps an admin.
                    return Err(ApiError::Conflict(
                        "deactivate this admin before erasing them".into(),
                    ));
                }
                let removed = personal_data::erase(conn, org, &target, now)?;
                let entry = Entry::by(&actor, "user.erased", "user", target.as_str())
                    .after(serde_json::json!({"active": false, "erased": true}));
                audit::record(conn, org, &entry, now)?;
                Ok::<_, ApiError>(Some(removed))
            })
        })
        .await?;
    access.forget(&caller.org_id, &id);
    let recordings = blobs::recordings_prefix(&caller.org_id, &id);
    if let Err(e) = blobs.delete_prefix(&recordings).await {
        tracing::error!(error = %e, "the person's recordings could not be deleted");
        return Err(ApiError::Unavailable(
            "the person is erased but the media storage did not delete their recordings; \
             erase them again to finish"
                .into(),
        ));
    }
    match removed {
        Some(removed) => {
            tracing::info!(rows_removed = removed, "person erased");
            Ok(())
        }
        None => Err(ApiError::Conflict("this person is already erased".into())),
    }
}
