//! What every handler shares: the pool(s), token keys and users' access, the clock and settings.

use std::sync::Arc;

use actix_web::web;

use crate::accounts::access::AccessCache;
use crate::accounts::tokens::Issuer;
use crate::auth::jwt::TokenKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::store::reader::Reader;
use crate::store::replica::{self, ReadReplica, ReadSource};
use crate::store::{Database, DbConnection};

pub struct AppState {
    pub database: Database,
    /// Where analytics views and exports read (`REPRISE_READ_DATABASE_URL`), if set.
    pub replica: Option<Arc<ReadReplica>>,
    pub keys: Arc<TokenKeys>,
    /// Reminders: push keys, mail, the outbox.
    pub reach: Arc<crate::reach::Reach>,
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// Where invitations and password resets are mailed from.
    pub account_mail: crate::accounts::credentials::AccountMail,
    /// Users' current access, which every access token is checked against.
    pub access: AccessCache,
    pub clock: Clock,
    pub settings: Arc<Settings>,
    /// Bounded password hashing and verification.
    pub passwords: crate::accounts::passwords::Passwords,
    pub login_limiter: super::login_limits::LoginLimiter,
    /// The cap on each learner's answer rate.
    pub answer_limiter: super::answer_limits::AnswerLimiter,
    /// The guarded client for requests made on a customer's behalf.
    pub outbound: crate::outbound::Outbound,
    /// Seals and opens third-party secrets stored for organizations.
    pub secrets: Arc<crate::secrets::SecretBox>,
    /// Single sign-on through organizations' identity providers.
    pub sso: Arc<crate::sso::Sso>,
    /// Where media bytes live: nugget images, recordings (`REPRISE_MEDIA_URL`).
    pub blobs: crate::blobs::Blobs,
}

impl AppState {
    /// What sign-up, login and refresh issue token pairs with.
    pub fn issuer(&self) -> Issuer {
        Issuer {
            keys: self.keys.clone(),
            refresh_ttl_secs: self.settings.refresh_ttl_secs,
        }
    }

    /// Runs blocking database work on the blocking thread pool with a pooled connection.
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&mut DbConnection) -> ApiResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.database.run(f).await
    }

    /// Runs blocking read-only work of an analytics view or export: on the read replica when one
    /// is configured and answers, else on the primary (see [`replica::read`]). `f` may run
    /// twice, once on each, so it must not write.
    /// What setting a password works with, on this server.
    pub fn credential_desk<'a>(
        &'a self,
        issuer: &'a crate::accounts::tokens::Issuer,
    ) -> crate::accounts::credentials::Desk<'a> {
        crate::accounts::credentials::Desk {
            database: &self.database,
            passwords: &self.passwords,
            access: &self.access,
            issuer,
        }
    }

    pub async fn read_db<T, F>(&self, f: F) -> ApiResult<(T, ReadSource)>
    where
        F: FnOnce(&mut Reader<'_>) -> ApiResult<T> + Clone + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.database.pool().clone();
        let standby = self.replica.clone();
        let span = tracing::Span::current();
        web::block(move || span.in_scope(|| replica::read(&pool, standby.as_deref(), f)))
            .await
            .map_err(ApiError::from)?
    }
}
