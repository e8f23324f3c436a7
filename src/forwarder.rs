//! Forwards answers to organizations' Learning Record Stores as xAPI statements: batches of up
//! to 100 per organization and round, `POST {endpoint}/statements` with basic auth and
//! `X-Experience-API-Version`. A failed batch is retried with exponential backoff; a statement is
//! marked sent only after the LRS accepted it, and statement ids (the attempt ids) make a
//! repeated delivery harmless, so nothing is lost while the LRS is down and nothing is counted
//! twice after it returns. Runs in every instance; concurrent instances may deliver a statement
//! twice, which the LRS deduplicates by id.
//!
//! Organizations are served concurrently, a bounded number at a time (`Deliveries`), so one slow
//! or hanging LRS holds up only its own organization; its statements back off on their own
//! schedule. Every request goes through the guarded [`Outbound`] client.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::domain::ids::OrgId;
use crate::domain::xapi::VERSION;
use crate::error::ApiError;
use crate::outbound::Outbound;
use crate::secrets::SecretBox;
use crate::store::{self, xapi, Database};

const BATCH: i64 = 100;

/// What forwarding needs, taken from the running service.
#[derive(Clone)]
pub struct Forwarder {
    pub database: Database,
    pub clock: Clock,
    pub outbound: Outbound,
    /// Base of the statements' identifiers.
    pub public_url: String,
    /// Organizations delivered to at once.
    pub concurrency: usize,
    /// Opens the stored LRS passwords.
    pub secrets: Arc<SecretBox>,
}

impl Forwarder {
    /// Starts a round every `interval`, for as long as the server runs.
    pub async fn run(self, interval: Duration) {
        let deliveries = Arc::new(Deliveries {
            permits: tokio::sync::Semaphore::new(self.concurrency.max(1)),
            forwarder: self,
            in_flight: Default::default(),
        });
        let mut tick = tokio::time::interval(interval.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = deliveries.clone().start_round().await {
                tracing::warn!(error = %e, "xAPI forwarding round failed");
            }
        }
    }

    /// Delivers one batch of an organization's due statements.
    #[tracing::instrument(level = "debug", skip(self))]
    async fn forward_org(&self, org_id: OrgId) -> Result<usize, ApiError> {
        let (org, clock, public_url) =
            (org_id.clone(), self.clock.clone(), self.public_url.clone());
        let batch = self
            .database
            .run(move |conn| {
                let now = clock.now();
                let due = store::write_tx(conn, |conn| {
                    xapi::enqueue_new(conn, &org, now, 10 * BATCH)?;
                    xapi::due(conn, &org, now, BATCH)
                })?;
                let Some(lrs) = xapi::lrs(conn, &org)? else {
                    return Ok::<_, ApiError>(None);
                };
                if due.is_empty() {
                    return Ok(None);
                }
                let ids: Vec<String> = due.iter().map(|(id, _)| id.clone()).collect();
                let query = xapi::StatementQuery {
                    attempt_ids: Some(ids),
                    limit: BATCH,
                    ..Default::default()
                };
                let page = xapi::statements(conn, &org, &public_url, query)?;
                Ok(Some((lrs, due, page.statements)))
            })
            .await?;
        let Some((lrs, due, statements)) = batch else {
            return Ok(0);
        };
        let password = self
            .secrets
            .open(&xapi::lrs_password_context(&org_id), &lrs.password)
            .map_err(|e| ApiError::Internal(format!("the LRS password does not open: {e}")))?;
        let url = format!("{}/statements", lrs.endpoint.trim_end_matches('/'));
        let outcome = self
            .outbound
            .post_json(
                &url,
                Some((&lrs.username, &password)),
                &[("X-Experience-API-Version", VERSION)],
                &statements,
            )
            .await;
        let failure = match outcome {
            Ok(res) if (200..300).contains(&res.status) => None,
            Ok(res) => Some(format!("LRS answered {}", res.status)),
            Err(e) => Some(format!("LRS not reached: {e}")),
        };
        let count = if failure.is_none() { due.len() } else { 0 };
        let clock = self.clock.clone();
        self.database
            .run(move |conn| {
                let now = clock.now();
                match &failure {
                    None => {
                        let ids: Vec<String> = due.into_iter().map(|(id, _)| id).collect();
                        xapi::mark_sent(conn, &org_id, &ids, now)?
                    }
                    Some(error) => xapi::mark_failed(conn, &org_id, &due, now, error)?,
                }
                Ok::<_, ApiError>(())
            })
            .await?;
        Ok(count)
    }
}

/// Deliveries under way: at most `concurrency` organizations at once, and never two of one
/// organization. A round starts a delivery for each forwarding organization that has none in
/// flight, so an LRS that hangs holds up only its own organization, for as long as the request
/// time limit, while every other organization is served round after round.
struct Deliveries {
    forwarder: Forwarder,
    permits: tokio::sync::Semaphore,
    in_flight: Mutex<HashSet<OrgId>>,
}

impl Deliveries {
    async fn start_round(self: Arc<Self>) -> Result<(), ApiError> {
        let orgs = self
            .forwarder
            .database
            .run(|conn| Ok::<_, ApiError>(xapi::forwarding_orgs(conn)?))
            .await?;
        for org in orgs {
            if !self
                .in_flight
                .lock()
                .expect("in-flight lock")
                .insert(org.clone())
            {
                continue;
            }
            let Ok(permit) = self.permits.try_acquire() else {
                self.in_flight.lock().expect("in-flight lock").remove(&org);
                break;
            };
            permit.forget();
            let deliveries = self.clone();
            tokio::task::spawn_local(async move {
                if let Err(e) = deliveries.forwarder.forward_org(org.clone()).await {
                    tracing::warn!(error = %e, org = %org, "xAPI forwarding failed");
                }
                deliveries
                    .in_flight
                    .lock()
                    .expect("in-flight lock")
                    .remove(&org);
                deliveries.permits.add_permits(1);
            });
        }
        Ok(())
    }
}
