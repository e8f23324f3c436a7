//! Reaching learners once a day: the notification-delivery service.
//!
//! A pass has two halves. **Planning** reads each organization's active learners once, and for
//! every learner whose reminder time has come today (their own time zone) and who has no
//! decision yet for a channel, decides: send (nuggets wait) or skip (quiet weekday, pause,
//! already answered, nothing due, no device). Decisions go to the `nudges` outbox, whose unique
//! key (learner, channel, local day) makes a second planner's decision a no-op. **Delivery**
//! claims pending rows under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), sends them,
//! each organization with its own bound on sends in flight so one slow endpoint delays only its
//! own organization, and settles each outcome as soon as it is known: sent, retried later with
//! backoff, failed, or skipped when every device of the learner is gone.
//!
//! The same pass runs every minute in each instance (`REPRISE_REMIND_INTERVAL_SECS`) and on
//! demand with `reprise remind`. The one case where a message can go out twice is a crash after
//! the provider accepted it and before its row was settled; the push `Topic` and the e-mail
//! `Message-ID`, both fixed per nudge, let the receiving side fold such a repeat into one.

mod deliver;
pub mod letters;
pub mod mail;
mod plan;
pub mod push;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::auth::jwt::TokenKeys;
use crate::clock::Clock;
use crate::error::ApiResult;
use crate::outbound::Outbound;
use crate::store::enrolments::EnrolmentCache;
use crate::store::nudges as nudge_store;
use crate::store::Database;

use mail::Mailer;
use push::Vapid;

/// Days of decisions kept in the outbox.
const KEEP_DAYS: i64 = 62;
/// The console's view of today's nuggets, where every nudge leads.
const TODAY: &str = "#/seller";

/// The service, shared by the background task, `reprise remind` and the HTTP handlers that need
/// its public key.
pub struct Reach {
    database: Database,
    clock: Clock,
    outbound: Outbound,
    mailer: Arc<Mailer>,
    pub vapid: Vapid,
    /// Signs unsubscribe links.
    keys: Arc<TokenKeys>,
    /// The console's public base URL, for links in messages.
    public_url: String,
    /// The host in e-mails' `Message-ID`s: the public URL's.
    mail_host: String,
    /// Organizations delivered to at once.
    tenants: usize,
    /// Sends in flight at once within one organization.
    per_tenant: usize,
    /// Learners' enrolments, read while building the queues that decide nudges.
    enrolments: Arc<EnrolmentCache>,
}

/// What one pass did, for `reprise remind` to print and the log.
#[derive(Debug, Default)]
pub struct PassReport {
    /// New decisions, by channel and outcome (`send` or a skip reason).
    pub decided: BTreeMap<(&'static str, &'static str), usize>,
    /// Messages delivered, by channel.
    pub sent: BTreeMap<&'static str, usize>,
    pub retried: usize,
    pub failed: usize,
    /// Push subscriptions dropped because their service said they are gone.
    pub devices_dropped: usize,
    /// Learners looked at while planning.
    pub learners: usize,
}

impl std::fmt::Display for PassReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "learners considered: {}", self.learners)?;
        for ((channel, outcome), n) in &self.decided {
            writeln!(f, "decided {channel} {outcome}: {n}")?;
        }
        for (channel, n) in &self.sent {
            writeln!(f, "sent {channel}: {n}")?;
        }
        writeln!(
            f,
            "retried: {}, failed: {}, devices dropped: {}",
            self.retried, self.failed, self.devices_dropped
        )
    }
}

impl PassReport {
    fn merge(&mut self, other: PassReport) {
        for (k, v) in other.decided {
            *self.decided.entry(k).or_default() += v;
        }
        for (k, v) in other.sent {
            *self.sent.entry(k).or_default() += v;
        }
        self.retried += other.retried;
        self.failed += other.failed;
        self.devices_dropped += other.devices_dropped;
        self.learners += other.learners;
    }
}

/// Where `Reach` sends from, and how much at once.
pub struct Senders {
    pub outbound: Outbound,
    pub mailer: Arc<Mailer>,
    pub vapid: Vapid,
    /// Organizations delivered to at once.
    pub tenants: usize,
    /// Sends in flight at once within one organization.
    pub per_tenant: usize,
}

impl Reach {
    pub fn new(
        database: Database,
        clock: Clock,
        senders: Senders,
        keys: Arc<TokenKeys>,
        public_url: String,
    ) -> Reach {
        let mail_host = url::Url::parse(&public_url)
            .ok()
            .and_then(|u| u.host_str().map(String::from))
            .unwrap_or_else(|| "reprise.invalid".into());
        Reach {
            database,
            clock,
            outbound: senders.outbound,
            mailer: senders.mailer,
            vapid: senders.vapid,
            keys,
            public_url,
            mail_host,
            tenants: senders.tenants.max(1),
            per_tenant: senders.per_tenant.max(1),
            enrolments: Arc::new(EnrolmentCache::new(4 * 1024 * 1024)),
        }
    }

    /// The mailer, shared with the accounts' messages (invitations, resets).
    pub fn mailer(&self) -> Arc<Mailer> {
        self.mailer.clone()
    }

    /// The host in e-mails' `Message-ID`s.
    pub fn mail_host(&self) -> &str {
        &self.mail_host
    }

    /// Runs a pass every `interval` for as long as the server runs, and once a day forgets
    /// decisions older than [`KEEP_DAYS`].
    pub async fn run(self: Arc<Self>, interval: StdDuration) {
        let mut tick = tokio::time::interval(interval.max(StdDuration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pruned_on = None;
        loop {
            tick.tick().await;
            let now = self.clock.now();
            if pruned_on != Some(now.date_naive()) {
                pruned_on = Some(now.date_naive());
                let before = (now - Duration::days(KEEP_DAYS)).date_naive();
                if let Err(e) = self
                    .database
                    .run(move |conn| nudge_store::prune(conn, before, now))
                    .await
                {
                    tracing::warn!(error = %e, "pruning old nudges failed");
                }
            }
            match self.pass(now).await {
                Ok(report) if report.sent.values().sum::<usize>() > 0 => {
                    tracing::info!(%report, "reminder pass")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reminder pass failed"),
            }
        }
    }

    /// One pass at `at`: plan what is due, then deliver what is pending.
    pub async fn pass(&self, at: DateTime<Utc>) -> ApiResult<PassReport> {
        let mut report = self.plan(at).await?;
        report.merge(self.deliver(at).await?);
        Ok(report)
    }
}
