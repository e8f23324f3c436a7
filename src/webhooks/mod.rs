//! Telling the organization's other systems what happens: the webhook service.
//!
//! A round has two halves, like reminders. **Events** are made from what is already stored:
//! answers read in the order they were received, past each webhook's cursor (answers, masteries
//! and completed assignments), forgetting risk once a local day and the digest once a week.
//! They go to the `webhook_deliveries` outbox together with the cursor's move, in one
//! transaction, and a unique key per webhook and happening makes a second writer's insert a
//! no-op. Nothing is added to the answer's own write. **Delivery** claims due rows under a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), signs and POSTs them through the guarded outbound
//! client, organizations side by side with a bound per organization, and records every attempt.
//! A delivery is retried with backoff for a day, then it fails and its webhook is marked failing
//! (one delivery a round is then tried, until one gets through).
//!
//! Delivery is at least once: a crash after the receiver answered and before the outcome was
//! saved sends the message again, with the same `webhook-id` for the receiver to drop it.

mod events;
mod send;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;

use serde_json::json;

use crate::auth::Caller;
use crate::clock::Clock;
use crate::domain::ids::{OrgId, WebhookId};
use crate::domain::webhooks::NewWebhook;
use crate::error::ApiResult;
use crate::outbound::Outbound;
use crate::secrets::SecretBox;
use crate::store::audit::{self, Entry};
use crate::store::webhooks::{self as store, Webhook};
use crate::store::Database;

/// Days finished deliveries stay visible.
const KEEP_DAYS: i64 = 30;

/// The service, shared by the background task and the HTTP handlers.
pub struct Webhooks {
    database: Database,
    clock: Clock,
    outbound: Outbound,
    secrets: Arc<SecretBox>,
    /// The console's public base URL, for links in chat messages.
    public_url: String,
    /// Organizations delivered to at once.
    tenants: usize,
    /// Deliveries in flight at once within one organization.
    per_tenant: usize,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    pub queued: usize,
    pub delivered: usize,
    pub retried: usize,
    pub failed: usize,
}

impl RoundReport {
    fn merge(&mut self, o: RoundReport) {
        self.queued += o.queued;
        self.delivered += o.delivered;
        self.retried += o.retried;
        self.failed += o.failed;
    }
}

/// The secret's context in the secret box: bound to its webhook.
pub fn secret_context(org_id: &OrgId, id: &WebhookId) -> String {
    format!("organizations/{org_id}/webhooks/{id}/secret")
}

impl Webhooks {
    pub fn new(
        database: Database,
        clock: Clock,
        outbound: Outbound,
        secrets: Arc<SecretBox>,
        public_url: String,
        tenants: usize,
        per_tenant: usize,
    ) -> Webhooks {
        Webhooks {
            database,
            clock,
            outbound,
            secrets,
            public_url,
            tenants: tenants.max(1),
            per_tenant: per_tenant.max(1),
        }
    }

    /// Keeps a webhook and returns it with its signing secret, which is shown this once.
    pub async fn create(&self, caller: &Caller, hook: NewWebhook) -> ApiResult<(Webhook, String)> {
        let (org_id, created_by, actor) = (
            caller.org_id.clone(),
            caller.user_id.clone(),
            caller.clone(),
        );
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(key)
        );
        let now = self.clock.now();
        let secrets = self.secrets.clone();
        let plain = secret.clone();
        let webhook = self
            .database
            .run(move |conn| {
                // The id is made by the store; the secret is sealed for it inside the same
                // transaction, so it can only be opened as this webhook's.
                crate::store::write_tx(conn, |conn| {
                    let made = store::create(conn, &org_id, &hook, "", &created_by, now)?;
                    let sealed = secrets.seal(&secret_context(&org_id, &made.id), &plain);
                    store::replace_secret(conn, &org_id, &made.id, &sealed)?;
                    let after =
                        json!({"url": made.url, "events": made.events, "format": made.format});
                    let entry = Entry::by(&actor, "webhook.created", "webhook", made.id.as_str())
                        .after(after);
                    audit::record(conn, &org_id, &entry, now)?;
                    Ok::<_, crate::error::ApiError>(Webhook {
                        sealed_secret: sealed,
                        ..made
                    })
                })
            })
            .await?;
        Ok((webhook, secret))
    }

    /// Deletes a webhook with its deliveries, recording who did.
    pub async fn delete(&self, caller: &Caller, id: WebhookId) -> ApiResult<()> {
        let now = self.clock.now();
        let actor = caller.clone();
        self.database
            .run(move |conn| {
                crate::store::write_tx(conn, |conn| {
                    let org = &actor.org_id;
                    let gone = store::find(conn, org, &id)?;
                    store::delete(conn, org, &id)?;
                    let before =
                        json!({"url": gone.url, "events": gone.events, "format": gone.format});
                    let entry =
                        Entry::by(&actor, "webhook.deleted", "webhook", id.as_str()).before(before);
                    audit::record(conn, org, &entry, now)?;
                    Ok::<_, crate::error::ApiError>(())
                })
            })
            .await
    }

    /// Runs a round every `interval` for as long as the server runs, and once a day forgets
    /// deliveries older than [`KEEP_DAYS`].
    pub async fn run(self: Arc<Self>, interval: StdDuration) {
        let mut tick = tokio::time::interval(interval.max(StdDuration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pruned_on = None;
        loop {
            tick.tick().await;
            let now = self.clock.now();
            if pruned_on != Some(now.date_naive()) {
                pruned_on = Some(now.date_naive());
                let before = now - Duration::days(KEEP_DAYS);
                if let Err(e) = self
                    .database
                    .run(move |conn| store::prune(conn, before))
                    .await
                {
                    tracing::warn!(error = %e, "pruning old webhook deliveries failed");
                }
            }
            match self.round(now).await {
                Ok(r) if r != RoundReport::default() => {
                    tracing::debug!(?r, "webhook round")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook round failed"),
            }
        }
    }

    /// One round at `at`: make the events that are due, then deliver what is pending.
    pub async fn round(&self, at: DateTime<Utc>) -> ApiResult<RoundReport> {
        let mut report = self.make_events(at).await?;
        report.merge(self.deliver(at).await?);
        Ok(report)
    }
}
