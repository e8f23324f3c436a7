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

pub mod mail;
pub mod push;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt;

use crate::auth::jwt::TokenKeys;
use crate::auth::Caller;
use crate::clock::Clock;
use crate::domain::accounts::Role;
use crate::domain::calendar::{local_day, weekday_code};
use crate::domain::ids::{NudgeId, OrgId, UserId};
use crate::domain::nudges::{
    self, decide, nudge_text, opening_words, Channel, LearnerDay, SkipReason,
};
use crate::error::{ApiError, ApiResult};
use crate::learning::queue as learner_queue;
use crate::outbound::{Outbound, OutboundError};
use crate::store::enrolments::EnrolmentCache;
use crate::store::nudges::{self as nudge_store, Claimed, Decision, Settled};
use crate::store::push_subscriptions::{self as subscriptions, Subscription};
use crate::store::{self, Database};

use mail::{Letter, MailError, Mailer};
use push::Vapid;

/// The console's view of today's nuggets.
const TODAY: &str = "#/seller";
/// How long a pass holds the nudges it claimed before another pass may take them.
const LEASE_SECS: i64 = 120;
/// Learners whose queues are built in one database call while planning.
const PLAN_CHUNK: usize = 500;
/// Days of decisions kept in the outbox (engagement figures read them).
const KEEP_DAYS: i64 = 62;
/// How long a one-tap sign-in link works.
const LINK_TTL_HOURS: i64 = 24;
/// The longest an opening of a prompt shown in a nudge.
const OPENING_CHARS: usize = 80;

/// The service, shared by the background task, `reprise remind` and the HTTP handlers that need
/// its keys.
pub struct Reach {
    pub database: Database,
    pub clock: Clock,
    pub outbound: Outbound,
    pub mailer: Mailer,
    pub vapid: Vapid,
    /// Signs unsubscribe links.
    pub keys: Arc<TokenKeys>,
    /// The console's public base URL, for links in messages.
    pub public_url: String,
    /// Organizations delivered to at once.
    pub tenants: usize,
    /// Sends in flight at once within one organization.
    pub per_tenant: usize,
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

/// What a claimed nudge's send came to, and what it did to devices.
struct Sent {
    id: NudgeId,
    channel: Channel,
    settled: Settled,
    devices_dropped: usize,
}

impl Reach {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        database: Database,
        clock: Clock,
        outbound: Outbound,
        mailer: Mailer,
        vapid: Vapid,
        keys: Arc<TokenKeys>,
        public_url: String,
        tenants: usize,
        per_tenant: usize,
    ) -> Reach {
        Reach {
            database,
            clock,
            outbound,
            mailer,
            vapid,
            keys,
            public_url,
            tenants: tenants.max(1),
            per_tenant: per_tenant.max(1),
            enrolments: Arc::new(EnrolmentCache::new(4 * 1024 * 1024)),
        }
    }

    /// Runs a pass every `interval` for as long as the server runs.
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

    /// Decides today's nudges for every learner whose reminder time has come.
    pub async fn plan(&self, at: DateTime<Utc>) -> ApiResult<PassReport> {
        let orgs = self.database.run(nudge_store::organizations).await?;
        let mut report = PassReport::default();
        for org in orgs {
            report.merge(self.plan_org(org, at).await?);
        }
        Ok(report)
    }

    async fn plan_org(
        &self,
        org: nudge_store::OrgReach,
        at: DateTime<Utc>,
    ) -> ApiResult<PassReport> {
        let org_id = org.id.clone();
        let org_tz: Tz = org.timezone.parse().unwrap_or(Tz::UTC);
        // Every local day that can be "today" somewhere, with a day's margin.
        let since = (at - Duration::days(2)).date_naive();
        let (recipients, decided, pauses, answers, devices) = {
            let org_id = org_id.clone();
            self.database
                .run(move |conn| {
                    let defaults = nudge_store::org_defaults(conn, &org_id)?;
                    Ok::<_, ApiError>((
                        nudge_store::recipients(conn, &org_id, &defaults)?,
                        nudge_store::decided_since(conn, &org_id, since)?,
                        nudge_store::pauses_from(conn, &org_id, since)?,
                        nudge_store::last_answers(conn, &org_id, at - Duration::days(2))?,
                        subscriptions::subscribed_learners(conn, &org_id)?,
                    ))
                })
                .await?
        };
        let mut report = PassReport {
            learners: recipients.len(),
            ..Default::default()
        };
        // Who is due a decision now, with the channels still undecided today.
        struct Due {
            learner: UserId,
            day: crate::domain::calendar::LocalDay,
            channels: Vec<Channel>,
            quiet: bool,
            paused: bool,
            answered: bool,
        }
        let mut due = Vec::new();
        for r in recipients {
            let tz: Tz = r
                .timezone
                .as_deref()
                .and_then(|t| t.parse().ok())
                .unwrap_or(org_tz);
            let day = local_day(tz, at);
            if at.with_timezone(&tz).time() < r.settings.remind_at.time() {
                continue;
            }
            let key = |c: Channel, d| (r.id.to_string(), c, d);
            let channels: Vec<Channel> = if r.role == Role::Learner.as_str() {
                [
                    (Channel::Push, r.settings.push),
                    (Channel::Email, r.settings.email),
                ]
                .into_iter()
                .filter(|(c, on)| *on && !decided.contains(&key(*c, day.date)))
                .map(|(c, _)| c)
                .collect()
            } else {
                Vec::new()
            };
            if channels.is_empty() {
                continue;
            }
            let quiet = org
                .quiet_weekdays
                .iter()
                .any(|d| d == weekday_code(day.date));
            let paused = pauses
                .iter()
                .any(|(l, from, to)| *l == r.id.as_str() && (*from..=*to).contains(&day.date));
            let answered = answers
                .get(r.id.as_str())
                .is_some_and(|last| *last >= day.start.naive_utc());
            due.push(Due {
                learner: r.id,
                day,
                channels,
                quiet,
                paused,
                answered,
            });
        }
        for chunk in due.chunks(PLAN_CHUNK) {
            let chunk: Vec<_> = chunk
                .iter()
                .map(|d| {
                    (
                        d.learner.clone(),
                        d.day.date,
                        d.channels.clone(),
                        LearnerDay {
                            quiet: d.quiet,
                            paused: d.paused,
                            answered_today: d.answered,
                            waiting: 0,
                        },
                        devices.contains(d.learner.as_str()),
                    )
                })
                .collect();
            let org_id = org_id.clone();
            let enrolments = self.enrolments.clone();
            let decided = self
                .database
                .run(move |conn| {
                    let mut rows = Vec::new();
                    for (learner, date, channels, mut day, has_device) in chunk {
                        let mut opening = String::new();
                        // Only a day that could get a nudge is worth building a queue for.
                        if !(day.quiet || day.paused || day.answered_today) {
                            let caller = Caller {
                                user_id: learner.clone(),
                                org_id: org_id.clone(),
                                role: Role::Learner,
                            };
                            let (_, queue) = learner_queue::build(conn, &enrolments, &caller, at)?;
                            day.waiting = queue.nuggets.len();
                            if let Some(first) = queue.nuggets.first() {
                                opening = opening_words(&first.prompt, OPENING_CHARS);
                            }
                        }
                        let verdict = decide(&day);
                        for channel in channels {
                            let skip = match verdict {
                                Err(reason) => Some(reason),
                                Ok(()) if channel == Channel::Push && !has_device => {
                                    Some(SkipReason::NoDevice)
                                }
                                Ok(()) => None,
                            };
                            rows.push((
                                learner.clone(),
                                channel,
                                date,
                                skip,
                                day.waiting,
                                opening.clone(),
                            ));
                        }
                    }
                    let decisions: Vec<Decision<'_>> = rows
                        .iter()
                        .map(
                            |(learner, channel, date, skip, waiting, opening)| Decision {
                                learner_id: learner,
                                channel: *channel,
                                local_day: *date,
                                skip: skip.map(SkipReason::as_str),
                                waiting: *waiting as i32,
                                opening,
                            },
                        )
                        .collect();
                    store::write_tx(conn, |conn| {
                        nudge_store::record(conn, &org_id, &decisions, at)
                    })?;
                    Ok::<_, ApiError>(
                        rows.into_iter()
                            .map(|(_, c, _, skip, _, _)| {
                                (c.as_str(), skip.map_or("send", SkipReason::as_str))
                            })
                            .collect::<Vec<_>>(),
                    )
                })
                .await?;
            for key in decided {
                *report.decided.entry(key).or_default() += 1;
            }
        }
        Ok(report)
    }

    /// Sends every pending nudge due at `at`, organizations side by side.
    pub async fn deliver(&self, at: DateTime<Utc>) -> ApiResult<PassReport> {
        let orgs = self
            .database
            .run(move |conn| nudge_store::orgs_with_pending(conn, at))
            .await?;
        let reports: Vec<ApiResult<PassReport>> = futures_util::stream::iter(orgs)
            .map(|org| self.deliver_org(org, at))
            .buffer_unordered(self.tenants)
            .collect()
            .await;
        let mut report = PassReport::default();
        for r in reports {
            report.merge(r?);
        }
        Ok(report)
    }

    /// Sends one organization's pending nudges, at most `per_tenant` at once, settling outcomes
    /// as they come (gathered into one transaction while the previous one commits).
    async fn deliver_org(&self, org_id: OrgId, at: DateTime<Utc>) -> ApiResult<PassReport> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Sent>();
        let settler = async {
            let mut report = PassReport::default();
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < 256 {
                    match rx.try_recv() {
                        Ok(more) => batch.push(more),
                        Err(_) => break,
                    }
                }
                for s in &batch {
                    report.devices_dropped += s.devices_dropped;
                    match s.settled {
                        Settled::Sent => *report.sent.entry(s.channel.as_str()).or_default() += 1,
                        Settled::Retry(_) => report.retried += 1,
                        Settled::Failed(_) => report.failed += 1,
                        Settled::Skipped(_) => {}
                    }
                }
                let org_id = org_id.clone();
                let outcomes: Vec<(NudgeId, Settled)> =
                    batch.into_iter().map(|s| (s.id, s.settled)).collect();
                self.database
                    .run(move |conn| nudge_store::settle(conn, &org_id, &outcomes, at))
                    .await?;
            }
            Ok::<_, ApiError>(report)
        };
        let sender = async {
            let result = self.send_all(&org_id, at, &tx).await;
            drop(tx);
            result
        };
        let (sent, settled) = futures_util::future::join(sender, settler).await;
        sent?;
        settled
    }

    async fn send_all(
        &self,
        org_id: &OrgId,
        at: DateTime<Utc>,
        tx: &tokio::sync::mpsc::UnboundedSender<Sent>,
    ) -> ApiResult<()> {
        let limit = (self.per_tenant * 8) as i64;
        loop {
            let claimed = {
                let org_id = org_id.clone();
                self.database
                    .run(move |conn| {
                        nudge_store::claim(conn, &org_id, at, Duration::seconds(LEASE_SECS), limit)
                    })
                    .await?
            };
            if claimed.is_empty() {
                return Ok(());
            }
            let (devices, links) = self.prepare(org_id, &claimed, at).await?;
            futures_util::stream::iter(claimed)
                .for_each_concurrent(self.per_tenant, |nudge| {
                    let devices = devices
                        .get(nudge.learner_id.as_str())
                        .cloned()
                        .unwrap_or_default();
                    let link = links.get(nudge.id.as_str()).cloned();
                    async move {
                        let sent = self.send_one(org_id, nudge, devices, link, at).await;
                        let _ = tx.send(sent);
                    }
                })
                .await;
        }
    }

    /// What the claimed nudges need before sending: the learners' devices, and a fresh sign-in
    /// link for each e-mail (kept hashed, made in one transaction).
    async fn prepare(
        &self,
        org_id: &OrgId,
        claimed: &[Claimed],
        at: DateTime<Utc>,
    ) -> ApiResult<(HashMap<String, Vec<Subscription>>, HashMap<String, String>)> {
        let pushes: Vec<String> = claimed
            .iter()
            .filter(|n| n.channel == Channel::Push)
            .map(|n| n.learner_id.to_string())
            .collect();
        let emails: Vec<(String, UserId)> = claimed
            .iter()
            .filter(|n| n.channel != Channel::Push)
            .map(|n| (n.id.to_string(), n.learner_id.clone()))
            .collect();
        let org_id = org_id.clone();
        self.database
            .run(move |conn| {
                let refs: Vec<&str> = pushes.iter().map(String::as_str).collect();
                let mut devices: HashMap<String, Vec<Subscription>> = HashMap::new();
                for s in subscriptions::of_learners(conn, &org_id, &refs)? {
                    devices.entry(s.learner_id.to_string()).or_default().push(s);
                }
                let mut links = HashMap::new();
                store::write_tx(conn, |conn| {
                    for (nudge, user) in &emails {
                        let token = crate::auth::refresh::generate(&org_id);
                        nudge_store::insert_link(
                            conn,
                            &org_id,
                            user,
                            &token.hash,
                            at,
                            Duration::hours(LINK_TTL_HOURS),
                        )?;
                        links.insert(nudge.clone(), token.token);
                    }
                    Ok::<_, ApiError>(())
                })?;
                Ok::<_, ApiError>((devices, links))
            })
            .await
    }

    async fn send_one(
        &self,
        org_id: &OrgId,
        nudge: Claimed,
        devices: Vec<Subscription>,
        link: Option<String>,
        at: DateTime<Utc>,
    ) -> Sent {
        let retry_or_fail = |attempts: i32, why: String| {
            if attempts >= nudges::MAX_ATTEMPTS {
                Settled::Failed(why)
            } else {
                Settled::Retry(at + nudges::retry_delay(attempts))
            }
        };
        let (settled, devices_dropped) = match nudge.channel {
            Channel::Push => self.push(org_id, &nudge, devices, at).await,
            Channel::Email | Channel::Digest => match self.email(org_id, &nudge, link, at).await {
                Ok(()) => (Settled::Sent, 0),
                Err(MailError::Permanent(why)) => (Settled::Failed(why), 0),
                Err(MailError::Transient(why)) => (retry_or_fail(nudge.attempts, why), 0),
            },
        };
        Sent {
            id: nudge.id,
            channel: nudge.channel,
            settled,
            devices_dropped,
        }
    }

    /// Today's view of the console, where every nudge leads.
    fn today_url(&self) -> String {
        format!("{}/{TODAY}", self.public_url)
    }

    async fn push(
        &self,
        org_id: &OrgId,
        nudge: &Claimed,
        devices: Vec<Subscription>,
        at: DateTime<Utc>,
    ) -> (Settled, usize) {
        if devices.is_empty() {
            return (Settled::Skipped(SkipReason::NoDevice.as_str()), 0);
        }
        let text = nudge_text(nudge.waiting as usize, &nudge.opening);
        let payload = serde_json::json!({
            "title": text.title,
            "body": text.body,
            "url": format!("/{TODAY}"),
            "count": nudge.waiting,
            "tag": push::TOPIC,
        })
        .to_string();
        let (mut delivered, mut gone, mut transient) = (0, 0, Vec::new());
        for device in &devices {
            let request = match self.vapid.request(
                &device.endpoint,
                &device.p256dh,
                &device.auth,
                payload.as_bytes(),
                at,
            ) {
                Ok(r) => r,
                Err(e) => {
                    transient.push(e.to_string());
                    continue;
                }
            };
            let headers: Vec<(&str, &str)> = request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            match self
                .outbound
                .post(&request.url, None, &headers, request.body)
                .await
            {
                Ok(r) if (200..300).contains(&r.status) => delivered += 1,
                Ok(r) if r.status == 404 || r.status == 410 => {
                    let (org_id, id) = (org_id.clone(), device.id.clone());
                    if self
                        .database
                        .run(move |conn| subscriptions::drop_gone(conn, &org_id, &id))
                        .await
                        .is_ok()
                    {
                        gone += 1;
                    }
                }
                Ok(r) => transient.push(format!("push service answered {}", r.status)),
                Err(e @ OutboundError::Refused(_)) => transient.push(e.to_string()),
                Err(e) => transient.push(e.to_string()),
            }
        }
        let settled = if delivered > 0 {
            Settled::Sent
        } else if transient.is_empty() {
            Settled::Skipped(SkipReason::NoDevice.as_str())
        } else if nudge.attempts >= nudges::MAX_ATTEMPTS {
            Settled::Failed(transient.join("; "))
        } else {
            Settled::Retry(at + nudges::retry_delay(nudge.attempts))
        };
        (settled, gone)
    }

    async fn email(
        &self,
        org_id: &OrgId,
        nudge: &Claimed,
        link: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<(), MailError> {
        let sign_in = match &link {
            Some(token) => format!("{}/#/link/{token}", self.public_url),
            None => self.today_url(),
        };
        let unsubscribe = format!(
            "{}/api/v1/unsubscribe?token={}",
            self.public_url,
            self.keys
                .unsubscribe_token(&nudge.learner_id, org_id, at.timestamp())
        );
        let text = nudge_text(nudge.waiting as usize, &nudge.opening);
        let esc = |s: &str| html_escape::encode_text(s).to_string();
        let host = url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| u.host_str().map(String::from))
            .unwrap_or_else(|| "reprise.invalid".into());
        let letter = Letter {
            to_name: &nudge.name,
            to_email: &nudge.email,
            subject: &text.title,
            text: format!(
                "Hello {name},\n\n{title}. The first one:\n{body}\n\nAnswer now (this link signs you in once, for 24 hours):\n{sign_in}\n\nNo more e-mails like this: {unsubscribe}\n",
                name = nudge.name,
                title = text.title,
                body = text.body,
            ),
            html: format!(
                "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Hello {name},</p>\
                 <p><strong>{title}.</strong> The first one:</p><blockquote>{body}</blockquote>\
                 <p><a href=\"{sign_in}\">Answer today's nuggets</a> (the link signs you in once, for 24 hours).</p>\
                 <p style=\"color:#666;font-size:small\"><a href=\"{unsubscribe}\">No more e-mails like this</a></p>\
                 </body></html>",
                name = esc(&nudge.name),
                title = esc(&text.title),
                body = esc(&text.body),
                sign_in = html_escape::encode_double_quoted_attribute(&sign_in),
                unsubscribe = html_escape::encode_double_quoted_attribute(&unsubscribe),
            ),
            unsubscribe: &unsubscribe,
            message_id: format!("<nudge-{}@{host}>", nudge.id),
        };
        let message = self.mailer.compose(&letter)?;
        self.mailer.send(message).await
    }
}
