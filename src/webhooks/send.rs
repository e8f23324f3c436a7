//! Delivery: claiming due messages, signing and POSTing them, recording every attempt.

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use standardwebhooks::{HEADER_WEBHOOK_ID, HEADER_WEBHOOK_SIGNATURE, HEADER_WEBHOOK_TIMESTAMP};

use super::{secret_context, RoundReport, Webhooks};
use crate::domain::ids::OrgId;
use crate::domain::webhooks::{accepted, next_attempt, Format};
use crate::error::ApiResult;
use crate::store::webhooks::{self as store, Attempt, Claimed, Outcome};

/// How long a round holds the deliveries it claimed before another round may take them.
const LEASE_SECS: i64 = 120;

impl Webhooks {
    /// Sends every delivery due at `at`, organizations side by side.
    pub(super) async fn deliver(&self, at: DateTime<Utc>) -> ApiResult<RoundReport> {
        let orgs = self
            .database
            .run(move |conn| store::orgs_with_pending(conn, at))
            .await?;
        let reports: Vec<ApiResult<RoundReport>> = futures_util::stream::iter(orgs)
            .map(|org| self.deliver_org(org, at))
            .buffer_unordered(self.tenants)
            .collect()
            .await;
        let mut report = RoundReport::default();
        for r in reports {
            report.merge(r?);
        }
        Ok(report)
    }

    /// Sends one organization's due deliveries, at most `per_tenant` at once, claim by claim.
    async fn deliver_org(&self, org_id: OrgId, at: DateTime<Utc>) -> ApiResult<RoundReport> {
        let mut report = RoundReport::default();
        let limit = (self.per_tenant * 8) as i64;
        loop {
            let org = org_id.clone();
            let lease = Duration::seconds(LEASE_SECS);
            let claimed = self
                .database
                .run(move |conn| store::claim(conn, &org, at, lease, limit))
                .await?;
            if claimed.is_empty() {
                return Ok(report);
            }
            // A short claim took all that was due (or all a failing webhook may try this
            // round): the next round sees the rest.
            let last = (claimed.len() as i64) < limit;
            let attempts: Vec<Attempt> = futures_util::stream::iter(claimed)
                .map(|d| self.attempt(&org_id, d, at))
                .buffer_unordered(self.per_tenant)
                .collect()
                .await;
            for a in &attempts {
                match a.outcome {
                    Outcome::Delivered => report.delivered += 1,
                    Outcome::Retry(_) => report.retried += 1,
                    Outcome::Failed => report.failed += 1,
                }
            }
            let org = org_id.clone();
            self.database
                .run(move |conn| store::settle(conn, &org, &attempts))
                .await?;
            if last {
                return Ok(report);
            }
        }
    }

    /// One POST of a claimed delivery, and what it came to.
    async fn attempt(&self, org_id: &OrgId, d: Claimed, at: DateTime<Utc>) -> Attempt {
        let started = std::time::Instant::now();
        let result = match self.headers(org_id, &d, at) {
            Ok(headers) => {
                let headers: Vec<(&str, &str)> =
                    headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                self.outbound
                    .post(&d.url, None, &headers, d.payload.clone().into_bytes())
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e),
        };
        let (status_code, error) = match &result {
            Ok(r) => (Some(r.status), None),
            Err(e) => (None, Some(e.clone())),
        };
        let outcome = match status_code {
            Some(s) if accepted(s) => Outcome::Delivered,
            _ => match next_attempt(d.created_at, d.attempts, at) {
                Some(next) => Outcome::Retry(next),
                None => Outcome::Failed,
            },
        };
        if let Some(e) = &error {
            tracing::debug!(delivery = %d.id, error = %e, "webhook delivery failed");
        }
        Attempt {
            id: d.id,
            webhook_id: d.webhook_id,
            attempt: d.attempts,
            at,
            status_code,
            error,
            duration_ms: started.elapsed().as_millis() as i64,
            outcome,
        }
    }

    /// The request's headers: JSON, and for the standard format the Standard Webhooks
    /// signature over the id, the timestamp and the body with the webhook's secret.
    fn headers(
        &self,
        org_id: &OrgId,
        d: &Claimed,
        at: DateTime<Utc>,
    ) -> Result<Vec<(&'static str, String)>, String> {
        let mut headers = vec![("content-type", "application/json".to_string())];
        if d.format == Format::Standard {
            let secret = self
                .secrets
                .open(&secret_context(org_id, &d.webhook_id), &d.sealed_secret)
                .map_err(|e| format!("the webhook's secret cannot be opened: {e}"))?;
            let signer = standardwebhooks::Webhook::new(&secret).map_err(|e| e.to_string())?;
            let timestamp = at.timestamp();
            let signature = signer
                .sign(d.id.as_str(), timestamp, d.payload.as_bytes())
                .map_err(|e| e.to_string())?;
            headers.push((HEADER_WEBHOOK_ID, d.id.to_string()));
            headers.push((HEADER_WEBHOOK_TIMESTAMP, timestamp.to_string()));
            headers.push((HEADER_WEBHOOK_SIGNATURE, signature));
        }
        Ok(headers)
    }
}
