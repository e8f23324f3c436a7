//! Passwords people look after themselves: an invitation to set a first one, a reset by e-mail,
//! and changing one's own. Setting a password ends every other session of the user (their auth
//! version rises and their refresh tokens are revoked) and returns a fresh pair for this one.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::access::AccessCache;
use super::passwords::Passwords;
use super::tokens::{Holder, Issuer, TokenPair};
use crate::auth::{refresh, Caller};
use crate::domain::accounts::{Email, LinkPurpose, NewPassword};
use crate::domain::ids::{OrgId, UserId};
use crate::error::{ApiError, ApiResult};
use crate::reach::letters::{self, Envelope};
use crate::reach::mail::Mailer;
use crate::store::accounts::{self as account_store, UserChanges};
use crate::store::audit::{self, Actor, Entry};
use crate::store::{self, links, Database, DbConnection};

/// Where account e-mail goes, and the console links in it lead.
#[derive(Clone)]
pub struct AccountMail {
    pub mailer: Arc<Mailer>,
    /// The console's public base URL.
    pub public_url: String,
    /// The host of `Message-ID`s.
    pub host: String,
}

impl AccountMail {
    fn envelope<'a>(&self, name: &'a str, email: &'a str, kind: &str) -> Envelope<'a> {
        Envelope {
            to_name: name,
            to_email: email,
            unsubscribe: None,
            message_id: format!("<{kind}-{}@{}>", uuid::Uuid::new_v4().simple(), self.host),
        }
    }
}

/// What setting a password works with: the database, the bounded password hasher, this
/// instance's access cache (told of the new auth version) and the token issuer.
pub struct Desk<'a> {
    pub database: &'a Database,
    pub passwords: &'a Passwords,
    pub access: &'a AccessCache,
    pub issuer: &'a Issuer,
}

/// Makes a one-time link of `purpose` for the user, kept hashed; returns the token.
fn new_link(
    conn: &mut DbConnection,
    org_id: &OrgId,
    user: &UserId,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let token = refresh::generate(org_id);
    links::insert(conn, org_id, user, purpose, &token.hash, now, purpose.ttl())?;
    Ok(token.token)
}

/// Mails the user an invitation to set their password (admins), valid once for 7 days. A
/// deactivated user is a conflict; a mail server that refuses is a 503, and the link is not kept.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id, subject_id = %user_id))]
pub async fn invite(
    database: &Database,
    mail: &AccountMail,
    caller: &Caller,
    user_id: UserId,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let actor = caller.clone();
    let (user, organization, token) = database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                let org = &actor.org_id;
                let user = account_store::get_user(conn, org, &user_id)?;
                if !user.active {
                    return Err(ApiError::Conflict(
                        "the user is deactivated: activate them first".into(),
                    ));
                }
                let organization = account_store::get_org(conn, org)?.name;
                let token = new_link(conn, org, &user.id, LinkPurpose::Invite, now)?;
                let entry = Entry::by(&actor, "user.invited", "user", user.id.as_str());
                audit::record(conn, org, &entry, now)?;
                Ok::<_, ApiError>((user, organization, token))
            })
        })
        .await?;
    let link = format!("{}/#/set-password/{token}", mail.public_url);
    let days = LinkPurpose::Invite.ttl().num_days();
    let letter = letters::invitation(
        mail.envelope(&user.name, &user.email, "invite"),
        &organization,
        &link,
        days,
    );
    let message = mail
        .mailer
        .compose(&letter)
        .map_err(|e| ApiError::Unavailable(format!("the invitation cannot be sent: {e}")))?;
    mail.mailer
        .send(message)
        .await
        .map_err(|e| ApiError::Unavailable(format!("the invitation was not sent: {e}")))?;
    tracing::info!("invitation sent");
    Ok(())
}

/// Mails a reset link (valid once, for an hour) to every active account of `email`. Says
/// nothing of whether there is one: the caller always answers the same, and the mail is sent
/// after the answer, so its time does not tell either.
#[tracing::instrument(skip_all)]
pub async fn request_reset(
    database: &Database,
    mail: &AccountMail,
    email: &str,
    now: DateTime<Utc>,
) {
    let Ok(email) = Email::parse("email", email) else {
        return;
    };
    let address = email.as_str().to_string();
    let made = database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                let mut made = Vec::new();
                for login in account_store::find_logins(conn, &address, None, 20)? {
                    let user = login.user;
                    if !user.active {
                        continue;
                    }
                    let token = new_link(conn, &user.org_id, &user.id, LinkPurpose::Reset, now)?;
                    made.push((user.name, user.email, token));
                }
                Ok::<_, ApiError>(made)
            })
        })
        .await;
    let made = match made {
        Ok(made) => made,
        Err(e) => {
            tracing::warn!(error = %e, "password reset links could not be made");
            return;
        }
    };
    let minutes = LinkPurpose::Reset.ttl().num_minutes();
    for (name, address, token) in made {
        let link = format!("{}/#/set-password/{token}", mail.public_url);
        let letter =
            letters::password_reset(mail.envelope(&name, &address, "reset"), &link, minutes);
        let sent = match mail.mailer.compose(&letter) {
            Ok(message) => mail.mailer.send(message).await,
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "a password reset e-mail was not sent");
        }
    }
}

/// Sets the password of the user a reset or invitation link was made for, once, and signs
/// them in. An unknown, used or expired link is a 401; a password that fails the rules a 422
/// naming `new_password`.
#[tracing::instrument(skip_all)]
pub async fn set_with_link(
    desk: Desk<'_>,
    token: &str,
    new_password: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<TokenPair> {
    let refused = || ApiError::Unauthorized("the link is invalid, used or expired".into());
    let org_id = OrgId::new(refresh::org_of(token).ok_or_else(refused)?);
    let hash = refresh::digest(token);
    let checked = NewPassword::parse("new_password", new_password, None)
        .map_err(|e| ApiError::validation(vec![e]))?;
    let lowered = new_password.to_lowercase();
    let password_hash = desk.passwords.hash(checked).await?;
    let (issuer, org) = (desk.issuer.clone(), org_id.clone());
    let (user, pair) = desk
        .database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                let mut purpose = LinkPurpose::Reset;
                let mut user = links::redeem(conn, &org_id, purpose, &hash, now)?;
                if user.is_none() {
                    purpose = LinkPurpose::Invite;
                    user = links::redeem(conn, &org_id, purpose, &hash, now)?;
                }
                let user = user.ok_or_else(refused)?;
                let account = account_store::get_user(conn, &org_id, &user)?;
                if !account.active {
                    return Err(refused());
                }
                let local = account.email.split('@').next().unwrap_or_default();
                if lowered == account.email || lowered == local {
                    return Err(ApiError::field(
                        "new_password",
                        "must not be the e-mail address",
                    ));
                }
                let action = match purpose {
                    LinkPurpose::Invite => "user.invitation_accepted",
                    _ => "user.password_reset",
                };
                let actor = Actor::User {
                    id: user.clone(),
                    request_id,
                };
                let pair = set_password(
                    conn,
                    &issuer,
                    &org_id,
                    &user,
                    password_hash,
                    actor,
                    action,
                    now,
                )?;
                Ok::<_, ApiError>((user, pair))
            })
        })
        .await?;
    // This instance's brief record of the user's access predates the new auth version.
    desk.access.forget(&org, &user);
    Ok(pair)
}

/// Changes the caller's own password, given the current one (a 422 naming `current_password`
/// when it is wrong), and returns a new pair: every other session of theirs ends.
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn change_password(
    desk: Desk<'_>,
    caller: &Caller,
    current: &str,
    new_password: &str,
    now: DateTime<Utc>,
) -> ApiResult<TokenPair> {
    let (org, user) = (caller.org_id.clone(), caller.user_id.clone());
    let (stored, email) = desk
        .database
        .run(move |conn| {
            let stored = account_store::password_hash(conn, &org, &user)?;
            let email = account_store::get_user(conn, &org, &user)?.email;
            Ok::<_, ApiError>((stored, email))
        })
        .await?;
    if !desk.passwords.verify(current, Some(&stored)).await? {
        return Err(ApiError::field(
            "current_password",
            "is not the current password",
        ));
    }
    let email = Email::parse("email", &email).ok();
    let checked = NewPassword::parse("new_password", new_password, email.as_ref())
        .map_err(|e| ApiError::validation(vec![e]))?;
    let password_hash = desk.passwords.hash(checked).await?;
    let (issuer, actor) = (desk.issuer.clone(), caller.clone());
    let pair = desk
        .database
        .run(move |conn| {
            store::write_tx(conn, |conn| {
                set_password(
                    conn,
                    &issuer,
                    &actor.org_id,
                    &actor.user_id,
                    password_hash,
                    Actor::from(&actor),
                    "user.password_changed",
                    now,
                )
            })
        })
        .await?;
    // This instance's brief record of the user's access predates the new auth version.
    desk.access.forget(&caller.org_id, &caller.user_id);
    Ok(pair)
}

/// Stores a new password hash (which ends the user's logins), voids their other reset links,
/// records `action` and issues a fresh pair, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
fn set_password(
    conn: &mut DbConnection,
    issuer: &Issuer,
    org_id: &OrgId,
    user: &UserId,
    password_hash: String,
    actor: Actor,
    action: &str,
    now: DateTime<Utc>,
) -> ApiResult<TokenPair> {
    let changes = UserChanges {
        password_hash: Some(password_hash),
        ..Default::default()
    };
    let changed = account_store::update_user(conn, org_id, user, changes, now)?;
    links::void(conn, org_id, user, LinkPurpose::Reset, now)?;
    let entry = Entry::by(actor, action, "user", user.as_str())
        .after(serde_json::json!({"password": "(changed)"}));
    audit::record(conn, org_id, &entry, now)?;
    let access = account_store::user_access(conn, org_id, user)?
        .ok_or_else(|| ApiError::Unauthorized("the account is gone".into()))?;
    let holder = Holder {
        user_id: user,
        org_id,
        role: changed.user.role,
        version: access.version,
    };
    Ok(issuer.issue(conn, holder, None, now)?)
}
