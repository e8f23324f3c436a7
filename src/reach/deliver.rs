//! Delivery: claiming pending nudges, sending them by push or e-mail, settling each outcome.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

use super::mail::{Letter, MailError};
use super::{letters, push, PassReport, Reach, TODAY};
use crate::analytics::digest::digest;
use crate::auth::Caller;
use crate::domain::accounts::LinkPurpose;
use crate::domain::accounts::Role;
use crate::domain::ids::{NudgeId, OrgId, UserId};
use crate::domain::nudges::{self, nudge_text, Channel, SkipReason};
use crate::error::{ApiError, ApiResult};
use crate::store;
use crate::store::links;
use crate::store::nudges::{self as nudge_store, Claimed, Settled};
use crate::store::push_subscriptions::{self as subscriptions, Subscription};
use crate::store::reader::Reader;

/// How long a pass holds the nudges it claimed before another pass may take them.
const LEASE_SECS: i64 = 120;
/// Outcomes settled in one transaction at most.
const SETTLE_BATCH: usize = 256;

/// What a claimed nudge's send came to, and what it did to devices.
struct Sent {
    id: NudgeId,
    channel: Channel,
    settled: Settled,
    devices_dropped: usize,
}

/// What the claimed nudges of one round need: each push learner's devices, and each e-mail's
/// sign-in link.
struct Prepared {
    devices: HashMap<String, Vec<Subscription>>,
    links: HashMap<String, String>,
}

/// A failed send: tried again later with backoff, or given up once its attempts are spent.
fn failed(attempts: i32, at: DateTime<Utc>, why: String) -> Settled {
    match nudges::retry_delay(attempts) {
        Some(delay) => Settled::Retry(at + delay),
        None => Settled::Failed(why),
    }
}

impl Reach {
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
    /// as they come (those that arrive while a settlement commits go together in the next).
    async fn deliver_org(&self, org_id: OrgId, at: DateTime<Utc>) -> ApiResult<PassReport> {
        let (tx, mut rx) = unbounded_channel::<Sent>();
        let settler = async {
            let mut report = PassReport::default();
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < SETTLE_BATCH {
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

    /// Claims and sends rounds of pending nudges until none is left.
    async fn send_all(
        &self,
        org_id: &OrgId,
        at: DateTime<Utc>,
        tx: &UnboundedSender<Sent>,
    ) -> ApiResult<()> {
        let limit = (self.per_tenant * 8) as i64;
        loop {
            let claimed = {
                let org_id = org_id.clone();
                let lease = Duration::seconds(LEASE_SECS);
                self.database
                    .run(move |conn| nudge_store::claim(conn, &org_id, at, lease, limit))
                    .await?
            };
            if claimed.is_empty() {
                return Ok(());
            }
            let prepared = self.prepare(org_id, &claimed, at).await?;
            futures_util::stream::iter(claimed)
                .for_each_concurrent(self.per_tenant, |nudge| {
                    let prepared = &prepared;
                    async move {
                        let (settled, devices_dropped) = match nudge.channel {
                            Channel::Push => {
                                let devices = prepared
                                    .devices
                                    .get(nudge.learner_id.as_str())
                                    .map_or(&[][..], Vec::as_slice);
                                self.push(org_id, &nudge, devices, at).await
                            }
                            Channel::Email => {
                                let link = prepared.links.get(nudge.id.as_str());
                                (self.email(org_id, &nudge, link, at).await, 0)
                            }
                            Channel::Digest => (self.digest(org_id, &nudge, at).await, 0),
                        };
                        let _ = tx.send(Sent {
                            id: nudge.id,
                            channel: nudge.channel,
                            settled,
                            devices_dropped,
                        });
                    }
                })
                .await;
        }
    }

    /// Reads the devices of the claimed push nudges' learners, and makes a sign-in link for
    /// each claimed e-mail (kept hashed, in one transaction).
    async fn prepare(
        &self,
        org_id: &OrgId,
        claimed: &[Claimed],
        at: DateTime<Utc>,
    ) -> ApiResult<Prepared> {
        let of = |c: Channel| claimed.iter().filter(move |n| n.channel == c);
        let pushes: Vec<String> = of(Channel::Push)
            .map(|n| n.learner_id.to_string())
            .collect();
        let emails: Vec<(NudgeId, UserId)> = of(Channel::Email)
            .map(|n| (n.id.clone(), n.learner_id.clone()))
            .collect();
        let org_id = org_id.clone();
        self.database
            .run(move |conn| {
                let ids: Vec<&str> = pushes.iter().map(String::as_str).collect();
                let mut devices: HashMap<String, Vec<Subscription>> = HashMap::new();
                for s in subscriptions::of_learners(conn, &org_id, &ids)? {
                    devices.entry(s.learner_id.to_string()).or_default().push(s);
                }
                let links = store::write_tx(conn, |conn| {
                    let mut links = HashMap::new();
                    for (nudge, user) in emails {
                        let token = crate::auth::refresh::generate(&org_id);
                        let ttl = LinkPurpose::SignIn.ttl();
                        links::insert(
                            conn,
                            &org_id,
                            &user,
                            LinkPurpose::SignIn,
                            &token.hash,
                            at,
                            ttl,
                        )?;
                        links.insert(nudge.into_string(), token.token);
                    }
                    Ok::<_, ApiError>(links)
                })?;
                Ok(Prepared { devices, links })
            })
            .await
    }

    /// Sends a push nudge to each of the learner's devices: sent when one took it; skipped when
    /// every device is gone (and forgotten); retried when a push service failed otherwise.
    async fn push(
        &self,
        org_id: &OrgId,
        nudge: &Claimed,
        devices: &[Subscription],
        at: DateTime<Utc>,
    ) -> (Settled, usize) {
        let text = nudge_text(nudge.waiting as usize, &nudge.opening);
        let payload = serde_json::json!({
            "title": text.title,
            "body": text.body,
            "url": format!("/{TODAY}"),
            "count": nudge.waiting,
            "tag": push::TOPIC,
        })
        .to_string();
        let (mut delivered, mut gone, mut failures) = (0, 0, Vec::new());
        for device in devices {
            let request = match self.vapid.request(
                &device.endpoint,
                &device.p256dh,
                &device.auth,
                payload.as_bytes(),
                at,
            ) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(e.to_string());
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
                    let dropped = self
                        .database
                        .run(move |conn| subscriptions::drop_gone(conn, &org_id, &id))
                        .await;
                    gone += usize::from(dropped.is_ok());
                }
                Ok(r) => failures.push(format!("push service answered {}", r.status)),
                Err(e) => failures.push(e.to_string()),
            }
        }
        let settled = if delivered > 0 {
            Settled::Sent
        } else if failures.is_empty() {
            Settled::Skipped(SkipReason::NoDevice)
        } else {
            failed(nudge.attempts, at, failures.join("; "))
        };
        (settled, gone)
    }

    /// Sends an e-mail nudge with its sign-in link and a one-click unsubscribe.
    async fn email(
        &self,
        org_id: &OrgId,
        nudge: &Claimed,
        link: Option<&String>,
        at: DateTime<Utc>,
    ) -> Settled {
        let sign_in = match link {
            Some(token) => format!("{}/#/link/{token}", self.public_url),
            None => format!("{}/{TODAY}", self.public_url),
        };
        let unsubscribe = self.unsubscribe_url(org_id, nudge, at);
        let words = nudge_text(nudge.waiting as usize, &nudge.opening);
        let letter = letters::nudge(self.envelope(nudge, &unsubscribe), &words, &sign_in);
        self.mail(nudge, letter, at).await
    }

    /// Sends a manager the digest of their teams, read now; skipped when they have nobody.
    async fn digest(&self, org_id: &OrgId, nudge: &Claimed, at: DateTime<Utc>) -> Settled {
        let caller = Caller {
            user_id: nudge.learner_id.clone(),
            org_id: org_id.clone(),
            role: Role::Manager,
            request_id: None,
        };
        let read = self
            .database
            .run(move |conn| digest(&mut Reader::alone(conn), &caller, at))
            .await;
        let d = match read {
            Ok(d) if d.everyone.learners == 0 => return Settled::Skipped(SkipReason::NothingDue),
            Ok(d) => d,
            Err(e) => return failed(nudge.attempts, at, e.to_string()),
        };
        let unsubscribe = self.unsubscribe_url(org_id, nudge, at);
        let letter = letters::digest(self.envelope(nudge, &unsubscribe), &d, &self.public_url);
        self.mail(nudge, letter, at).await
    }

    /// The one-click link that turns the reader's e-mail off.
    fn unsubscribe_url(&self, org_id: &OrgId, nudge: &Claimed, at: DateTime<Utc>) -> String {
        format!(
            "{}/api/v1/unsubscribe?token={}",
            self.public_url,
            self.keys
                .unsubscribe_token(&nudge.learner_id, org_id, at.timestamp())
        )
    }

    fn envelope<'a>(&self, nudge: &'a Claimed, unsubscribe: &'a str) -> letters::Envelope<'a> {
        letters::Envelope {
            to_name: &nudge.name,
            to_email: &nudge.email,
            unsubscribe: Some(unsubscribe),
            message_id: format!("<nudge-{}@{}>", nudge.id, self.mail_host),
        }
    }

    async fn mail(&self, nudge: &Claimed, letter: Letter, at: DateTime<Utc>) -> Settled {
        let sent = match self.mailer.compose(&letter) {
            Ok(message) => self.mailer.send(message).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(()) => Settled::Sent,
            Err(MailError::Permanent(why)) => Settled::Failed(why),
            Err(MailError::Transient(why)) => failed(nudge.attempts, at, why),
        }
    }
}
