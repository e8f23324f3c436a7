//! A cap on how fast one learner's answers are taken, per organization and learner (GCRA from
//! `governor`, the login throttle's quotas). Practice answers change no figure, but each is a
//! stored row and a write; the cap keeps a script or a broken app from filling the answer log.
//! The burst is sized for a phone syncing what it collected offline (a full batch of 100 fits);
//! past it, answers are taken at the refill rate. State is per instance, like the login throttle.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, RateLimiter};

use super::login_limits::{quota, take_n};
use crate::domain::ids::{OrgId, UserId};
use crate::error::ApiError;

pub struct AnswerLimiter {
    /// `None`: no cap (a burst of 0).
    by_learner: Option<DefaultKeyedRateLimiter<(String, String)>>,
    burst: u32,
}

impl AnswerLimiter {
    /// `burst` answers at once per learner, then `per_second` more each second; a burst of 0
    /// switches the cap off.
    pub fn new(burst: u32, per_second: u32) -> AnswerLimiter {
        let refill = Duration::from_secs(1) / per_second.max(1);
        AnswerLimiter {
            by_learner: (burst > 0).then(|| RateLimiter::keyed(quota(burst, refill))),
            burst,
        }
    }

    /// Takes `answers` from the learner's quota, or refuses them all with 429 and the seconds to
    /// wait. A batch larger than the burst takes the whole burst, so it passes when the quota
    /// is full rather than never.
    pub fn check(
        &self,
        org_id: &OrgId,
        learner_id: &UserId,
        answers: usize,
    ) -> Result<(), ApiError> {
        let Some(limiter) = &self.by_learner else {
            return Ok(());
        };
        let n = (answers.clamp(1, self.burst as usize)) as u32;
        let n = NonZeroU32::new(n).expect("at least one answer");
        let key = (org_id.to_string(), learner_id.to_string());
        take_n(limiter, &key, n)
            .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_learner_has_a_burst_then_the_refill_rate() {
        let limiter = AnswerLimiter::new(5, 1);
        assert!(limiter.check(&"acme".into(), &"ann".into(), 3).is_ok());
        assert!(limiter.check(&"acme".into(), &"ann".into(), 2).is_ok());
        let refused = limiter.check(&"acme".into(), &"ann".into(), 1).unwrap_err();
        assert!(matches!(
            refused,
            ApiError::TooManyRequests {
                retry_after_secs: 1
            }
        ));
        // Another learner, or the same id in another organization, has a quota of their own.
        assert!(limiter.check(&"acme".into(), &"bob".into(), 5).is_ok());
        assert!(limiter.check(&"globex".into(), &"ann".into(), 1).is_ok());
    }

    #[test]
    fn a_batch_past_the_burst_passes_on_a_full_quota_only() {
        let limiter = AnswerLimiter::new(5, 1);
        assert!(limiter.check(&"acme".into(), &"ann".into(), 100).is_ok());
        assert!(limiter.check(&"acme".into(), &"ann".into(), 100).is_err());
    }

    #[test]
    fn a_burst_of_zero_switches_the_cap_off() {
        let limiter = AnswerLimiter::new(0, 1);
        for _ in 0..1000 {
            assert!(limiter.check(&"acme".into(), &"ann".into(), 100).is_ok());
        }
    }
}
