//! The organization's settings as admins change them: name, time zone, quiet days, reminder
//! defaults, and the LRS answers are forwarded to; each change recorded in the audit log in the
//! same transaction.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::auth::Caller;
use crate::domain::accounts::Organization;
use crate::domain::audit::changed_fields;
use crate::error::{ApiError, ApiResult};
use crate::store::accounts::{self as account_store, OrgUpdate};
use crate::store::audit::{self, Entry};
use crate::store::xapi::{self, LrsSettings};
use crate::store::{self, DbConnection};

/// Applies `update` to the caller's organization.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn update(
    conn: &mut DbConnection,
    caller: &Caller,
    update: OrgUpdate,
    now: DateTime<Utc>,
) -> ApiResult<Organization> {
    store::write_tx(conn, |conn| {
        let before = account_store::get_org(conn, &caller.org_id)?;
        let after = account_store::update_org(conn, &caller.org_id, update)?;
        let (was, is) = changed_fields(&json!(before), &json!(after));
        let entry = Entry::by(
            caller,
            "organization.updated",
            "organization",
            caller.org_id.as_str(),
        )
        .before(was)
        .after(is);
        audit::record(conn, &caller.org_id, &entry, now)?;
        Ok::<_, ApiError>(after)
    })
}

/// Sets (or with `None` removes) the LRS answers are forwarded to; its password arrives sealed.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub fn set_lrs(
    conn: &mut DbConnection,
    caller: &Caller,
    settings: Option<&LrsSettings>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let shown = |s: Option<&LrsSettings>| json!({"endpoint": s.map(|s| &s.endpoint), "username": s.map(|s| &s.username)});
    store::write_tx(conn, |conn| {
        let before = xapi::lrs(conn, &caller.org_id)?;
        xapi::set_lrs(conn, &caller.org_id, settings)?;
        let action = if settings.is_some() {
            "lrs.set"
        } else {
            "lrs.removed"
        };
        let mut after = shown(settings);
        if settings.is_some() {
            after["password"] = json!("(sealed)");
        }
        let entry = Entry::by(caller, action, "organization", caller.org_id.as_str())
            .before(shown(before.as_ref()))
            .after(after);
        audit::record(conn, &caller.org_id, &entry, now)?;
        Ok::<_, ApiError>(())
    })
}
