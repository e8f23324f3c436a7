//! Throttling of the anonymous ways in (GCRA from `governor`): login per account and per client
//! address, so passwords cannot be guessed at speed, and organization sign-up per client address,
//! so nobody creates organizations (and password hashes) in bulk. State is per instance: behind N
//! instances the bound is N times higher, which is still slow for an abuser and needs no shared
//! store.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct LoginLimiter {
    by_account: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    signups_by_address: DefaultKeyedRateLimiter<IpAddr>,
}

/// Keys kept before forgotten ones are swept out.
const SWEEP_ABOVE: usize = 10_000;

/// `burst` cells at once, then one more every `refill_every`.
pub(super) fn quota(burst: u32, refill_every: Duration) -> Quota {
    Quota::with_period(refill_every)
        .expect("refill period is non-zero")
        .allow_burst(NonZeroU32::new(burst.max(1)).expect("burst is at least 1"))
}

impl LoginLimiter {
    /// `account_burst` login attempts per e-mail address, then one more every 30 s;
    /// `address_burst` per client address, then two a second; `signup_burst` sign-ups per client
    /// address, then one more every 10 minutes.
    pub fn new(account_burst: u32, address_burst: u32, signup_burst: u32) -> LoginLimiter {
        LoginLimiter {
            by_account: RateLimiter::keyed(quota(account_burst, Duration::from_secs(30))),
            by_address: RateLimiter::keyed(quota(address_burst, Duration::from_millis(500))),
            signups_by_address: RateLimiter::keyed(quota(signup_burst, Duration::from_secs(600))),
        }
    }

    /// `Err(seconds to wait)` when the client address has signed up too many organizations.
    /// Without an address (no peer) nothing is limited.
    pub fn check_signup(&self, address: Option<IpAddr>) -> Result<(), u64> {
        match address {
            Some(ip) => take(&self.signups_by_address, &ip),
            None => Ok(()),
        }
    }

    /// `Err(seconds to wait)` when either the account or the address is over its quota.
    pub fn check(&self, account: &str, address: Option<IpAddr>) -> Result<(), u64> {
        if let Some(ip) = address {
            take(&self.by_address, &ip)?;
        }
        take(&self.by_account, &account.to_lowercase())
    }
}

/// Takes one cell of `key`'s quota, or `Err(seconds to wait)`.
fn take<K: Hash + Eq + Clone>(limiter: &DefaultKeyedRateLimiter<K>, key: &K) -> Result<(), u64> {
    take_n(limiter, key, NonZeroU32::MIN)
}

/// Takes `n` cells of `key`'s quota (at most its burst), or `Err(seconds to wait)`. Keys not
/// seen for a while are swept out once the limiter holds many.
pub(super) fn take_n<K: Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    n: NonZeroU32,
) -> Result<(), u64> {
    let taken = limiter
        .check_key_n(key, n)
        .expect("callers take at most the burst")
        .map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        });
    if limiter.len() > SWEEP_ABOVE {
        limiter.retain_recent();
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_addresses_are_limited_separately() {
        let limiter = LoginLimiter::new(3, 5, 1);
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check("Ann@x.example", Some(ip)).is_ok());
        }
        let wait = limiter.check("ann@x.example", Some(ip)).unwrap_err();
        assert!((1..=30).contains(&wait));
        // Another account from the same address still has room, until the address runs out.
        assert!(limiter.check("bob@x.example", Some(ip)).is_ok());
        assert!(limiter.check("cid@x.example", None).is_ok());
        assert!(limiter.check("dan@x.example", Some(ip)).is_err());
        // Sign-ups are counted apart from logins.
        assert!(limiter.check_signup(Some(ip)).is_ok());
        let wait = limiter.check_signup(Some(ip)).unwrap_err();
        assert!((1..=600).contains(&wait));
        assert!(limiter
            .check_signup(Some("10.9.9.9".parse().unwrap()))
            .is_ok());
    }
}
