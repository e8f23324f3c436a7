//! What each user may do now, checked on every authenticated request: an access token is signed,
//! but the role it names and the account behind it can change during its life, and a demoted or
//! deactivated admin must lose their rights at once, not when the token expires.
//!
//! Every token carries the auth version its user had when it was issued (`ver`). A change to
//! what the user may do (role, activation, password: `store::accounts::update_user`) raises the
//! version and revokes their refresh tokens in one transaction, so the token is refused and
//! cannot be exchanged for another: the user logs in again, promoted users included. A request
//! acts with the role read from the database, never the token's. Team memberships raise
//! nothing: a manager's reach is read from the database whenever it is needed
//! (`accounts::scope::TeamScope`).
//!
//! Reading the user on every request would add a database round trip to the learner's hottest
//! routes, so each instance keeps what it read for a few seconds ([`AccessCache`]). The
//! instance that makes a change drops its entry once the change is committed, so there the
//! change takes effect at once; other instances see it when their entry expires, within the
//! time to live.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::auth::jwt::Claims;
use crate::auth::Caller;
use crate::domain::ids::{OrgId, UserId};
use crate::error::{ApiError, ApiResult};
use crate::store::accounts::{self as account_store, UserAccess};
use crate::store::Database;

/// Most users an instance keeps: some 100 bytes each, so about 10 MB when full. An instance
/// serving more distinct users within one time to live reads some of them again.
pub const CAPACITY: usize = 100_000;

type Key = (String, String);

struct Entry {
    /// `None`: no such user.
    access: Option<UserAccess>,
    read_at_ms: i64,
}

struct Entries {
    by_user: HashMap<Key, Entry>,
    /// Raised by every [`AccessCache::forget`], so a read that began before a change cannot
    /// keep what it read after the change dropped the entry.
    generation: u64,
    /// When a full cache may next be swept of expired entries (at most once per time to live).
    next_sweep_ms: i64,
}

/// Users' access as read from the database, kept for a brief time to live on the service clock.
pub struct AccessCache {
    ttl_ms: i64,
    capacity: usize,
    entries: Mutex<Entries>,
}

/// What the cache says of a token's user.
pub enum Lookup {
    /// The user was cached: the token is admitted (as this caller) or refused.
    Known(ApiResult<Caller>),
    /// The user was not: [`check_stored`] reads them.
    Unknown(Unknown),
}

/// A token whose user was not in the cache.
pub struct Unknown {
    claims: Claims,
    generation: u64,
}

impl AccessCache {
    /// A cache keeping entries `ttl_secs` seconds (0 keeps none: every request reads the
    /// database) and at most `capacity` of them.
    pub fn new(ttl_secs: u64, capacity: usize) -> AccessCache {
        AccessCache {
            ttl_ms: i64::try_from(ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            capacity,
            entries: Mutex::new(Entries {
                by_user: HashMap::new(),
                generation: 0,
                next_sweep_ms: i64::MIN,
            }),
        }
    }

    fn fresh(&self, entry: &Entry, now_ms: i64) -> bool {
        (entry.read_at_ms..entry.read_at_ms.saturating_add(self.ttl_ms)).contains(&now_ms)
    }

    /// The caller a verified token speaks for, when the cache knows its user: the request is
    /// then admitted or refused without the database.
    pub fn check(&self, claims: Claims, now: DateTime<Utc>) -> Lookup {
        let entries = self.entries.lock().expect("access cache lock");
        let key = (claims.org, claims.sub);
        let known = entries
            .by_user
            .get(&key)
            .filter(|e| self.fresh(e, now.timestamp_millis()))
            .map(|e| e.access);
        let generation = entries.generation;
        drop(entries);
        let (org, sub) = key;
        let claims = Claims { org, sub, ..claims };
        match known {
            Some(access) => Lookup::Known(admit(claims, access)),
            None => Lookup::Unknown(Unknown { claims, generation }),
        }
    }

    /// Keeps what was read for a user, unless an entry was dropped since the read began.
    fn keep(&self, key: Key, access: Option<UserAccess>, since: u64, now: DateTime<Utc>) {
        if self.ttl_ms == 0 || self.capacity == 0 {
            return;
        }
        let now_ms = now.timestamp_millis();
        let mut entries = self.entries.lock().expect("access cache lock");
        if entries.generation != since {
            return;
        }
        if entries.by_user.len() >= self.capacity && !entries.by_user.contains_key(&key) {
            if now_ms >= entries.next_sweep_ms {
                entries.by_user.retain(|_, e| self.fresh(e, now_ms));
                entries.next_sweep_ms = now_ms.saturating_add(self.ttl_ms);
            }
            if entries.by_user.len() >= self.capacity {
                let evicted = entries.by_user.keys().next().cloned();
                if let Some(evicted) = evicted {
                    entries.by_user.remove(&evicted);
                }
            }
        }
        let entry = Entry {
            access,
            read_at_ms: now_ms,
        };
        entries.by_user.insert(key, entry);
    }

    /// Drops a user's entry: called once a change to their access is committed, so the next
    /// request on this instance reads it afresh.
    pub fn forget(&self, org_id: &OrgId, user_id: &UserId) {
        let mut entries = self.entries.lock().expect("access cache lock");
        entries.generation += 1;
        entries
            .by_user
            .remove(&(org_id.to_string(), user_id.to_string()));
    }
}

/// Reads the user of a token the cache did not know, keeps what was read, and admits or refuses
/// the token as [`AccessCache::check`] would have.
pub async fn check_stored(
    database: &Database,
    cache: &AccessCache,
    unknown: Unknown,
    now: DateTime<Utc>,
) -> ApiResult<Caller> {
    let Unknown { claims, generation } = unknown;
    let (org_id, user_id) = (
        OrgId::new(claims.org.clone()),
        UserId::new(claims.sub.clone()),
    );
    let access = database
        .quick_read(move |conn| {
            Ok::<_, ApiError>(account_store::user_access(conn, &org_id, &user_id)?)
        })
        .await?;
    cache.keep(
        (claims.org.clone(), claims.sub.clone()),
        access,
        generation,
        now,
    );
    admit(claims, access)
}

/// The caller of a token whose user stands as `access`: refused unless the user exists, is
/// active and has the token's version, and then acting with their current role.
fn admit(claims: Claims, access: Option<UserAccess>) -> ApiResult<Caller> {
    match access {
        Some(access) if access.active && access.version == claims.ver => Ok(Caller {
            user_id: claims.sub.into(),
            org_id: claims.org.into(),
            role: access.role,
            request_id: None,
        }),
        _ => Err(ApiError::Unauthorized(
            "the access token is no longer valid: the account changed; log in again".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::domain::accounts::Role;

    fn claims(user: &str, ver: i64) -> Claims {
        Claims {
            sub: user.into(),
            org: "acme".into(),
            role: Role::Admin,
            ver,
            iss: "reprise".into(),
            aud: "reprise-api".into(),
            iat: 0,
            nbf: 0,
            exp: 0,
        }
    }

    fn access(version: i64, role: Role, active: bool) -> Option<UserAccess> {
        Some(UserAccess {
            version,
            role,
            active,
        })
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
    }

    /// Looks `user` up at `now`, keeping `stored` on a miss as `check_stored` would: whether
    /// the cache answered, and the role the token was admitted with.
    fn look_up(
        cache: &AccessCache,
        user: &str,
        ver: i64,
        stored: Option<UserAccess>,
        now: DateTime<Utc>,
    ) -> (bool, Option<Role>) {
        let (hit, result) = match cache.check(claims(user, ver), now) {
            Lookup::Known(result) => (true, result),
            Lookup::Unknown(unknown) => {
                let key = (unknown.claims.org.clone(), unknown.claims.sub.clone());
                cache.keep(key, stored, unknown.generation, now);
                (false, admit(unknown.claims, stored))
            }
        };
        (hit, result.ok().map(|caller| caller.role))
    }

    #[test]
    fn tokens_act_with_the_current_role_and_stop_at_a_new_version() {
        let caller = admit(claims("ada", 2), access(2, Role::Learner, true)).unwrap();
        assert_eq!(caller.role, Role::Learner);
        assert!(admit(claims("ada", 1), access(2, Role::Admin, true)).is_err());
        assert!(admit(claims("ada", 2), access(2, Role::Admin, false)).is_err());
        assert!(admit(claims("ada", 2), None).is_err());
    }

    #[test]
    fn entries_are_kept_for_their_time_to_live() {
        let cache = AccessCache::new(5, 10);
        let stored = access(0, Role::Admin, true);
        assert!(!look_up(&cache, "ada", 0, stored, t0()).0);
        let soon = t0() + Duration::seconds(4);
        assert_eq!(
            look_up(&cache, "ada", 0, None, soon),
            (true, Some(Role::Admin))
        );
        // Expired: read again, and what is read now decides.
        let later = t0() + Duration::seconds(5);
        let changed = access(1, Role::Admin, true);
        assert_eq!(look_up(&cache, "ada", 0, changed, later), (false, None));
        // A clock set back does not make an entry live longer.
        assert!(!look_up(&cache, "ada", 1, stored, t0()).0);
    }

    #[test]
    fn forgetting_drops_the_entry_and_any_read_begun_before() {
        let cache = AccessCache::new(5, 10);
        look_up(&cache, "ada", 0, access(0, Role::Admin, true), t0());
        assert!(
            look_up(&cache, "ada", 0, None, t0()).0,
            "kept before the change"
        );
        let Lookup::Unknown(racing) = cache.check(claims("sam", 0), t0()) else {
            panic!("sam was never read");
        };
        cache.forget(&"acme".into(), &"ada".into());
        let demoted = access(1, Role::Learner, true);
        assert_eq!(look_up(&cache, "ada", 0, demoted, t0()), (false, None));
        // A read of another user that began before the change is not kept either.
        let key = (racing.claims.org.clone(), racing.claims.sub.clone());
        cache.keep(key, access(0, Role::Learner, true), racing.generation, t0());
        assert!(matches!(
            cache.check(claims("sam", 0), t0()),
            Lookup::Unknown(_)
        ));
    }

    #[test]
    fn the_cache_holds_at_most_its_capacity() {
        let cache = AccessCache::new(5, 3);
        for user in ["a", "b", "c", "d", "e"] {
            look_up(&cache, user, 0, access(0, Role::Learner, true), t0());
        }
        assert_eq!(cache.entries.lock().unwrap().by_user.len(), 3);
        assert!(
            look_up(&cache, "e", 0, None, t0()).0,
            "the newest entry stays"
        );
        // Once the others expired, a sweep makes room without evicting fresh entries.
        let later = t0() + Duration::seconds(6);
        look_up(&cache, "f", 0, access(0, Role::Learner, true), later);
        look_up(&cache, "g", 0, access(0, Role::Learner, true), later);
        assert!(look_up(&cache, "f", 0, None, later).0);
        assert!(look_up(&cache, "g", 0, None, later).0);
    }

    #[test]
    fn a_time_to_live_of_zero_keeps_nothing() {
        let cache = AccessCache::new(0, 10);
        look_up(&cache, "ada", 0, access(0, Role::Admin, true), t0());
        assert!(!look_up(&cache, "ada", 0, access(0, Role::Admin, true), t0()).0);
    }
}
