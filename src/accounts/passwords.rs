//! Password work: hashing new passwords and verifying given ones. An argon2id hash is the
//! costliest thing an anonymous request can ask for (19 MiB of memory and tens of milliseconds of
//! CPU each, on purpose), so this instance runs at most a core's worth at once and lets only a
//! short queue wait for them; beyond that a request is refused with 503 and `Retry-After` at
//! once, instead of memory growing with every request that arrives.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::auth::password;
use crate::domain::accounts::NewPassword;
use crate::error::{ApiError, ApiResult};
use crate::offload;

/// How long a client refused for a full queue is asked to wait.
const RETRY_AFTER_SECS: u64 = 1;

/// Bounded password hashing and verification for this instance. Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    /// Permits to hash or verify now: one per core given to the work.
    running: Arc<Semaphore>,
    /// Permits to be running or waiting: the running ones plus a short queue.
    admitted: Arc<Semaphore>,
    /// A real hash of a random password, verified against when a login names no account, so
    /// that the answer takes as long as for a wrong password.
    decoy_hash: Arc<str>,
}

impl Passwords {
    /// `concurrency` hashes at once (at least one), and up to `queue` more requests waiting.
    pub fn new(concurrency: usize, queue: usize, decoy_hash: String) -> Passwords {
        let concurrency = concurrency.max(1);
        Passwords {
            running: Arc::new(Semaphore::new(concurrency)),
            admitted: Arc::new(Semaphore::new(concurrency + queue)),
            decoy_hash: decoy_hash.into(),
        }
    }

    /// The argon2id hash of a new password.
    pub async fn hash(&self, new: NewPassword) -> ApiResult<String> {
        self.bounded(move || password::hash(new.expose())).await
    }

    /// Whether `given` is the password of `stored`; with no stored hash, the decoy is verified
    /// so the time taken does not tell that no account was found, and the answer is `false`.
    pub async fn verify(&self, given: &str, stored: Option<&str>) -> ApiResult<bool> {
        let found = stored.is_some();
        let stored = stored.map_or_else(|| self.decoy_hash.to_string(), String::from);
        let given = given.to_string();
        let matches = self
            .bounded(move || password::verify(&given, &stored))
            .await?;
        Ok(found && matches)
    }

    /// Runs `work` on the blocking pool once a permit is free; refuses at once when the queue
    /// for permits is full.
    async fn bounded<T, F>(&self, work: F) -> ApiResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let _admitted = self
            .admitted
            .try_acquire()
            .map_err(|_| ApiError::Overloaded {
                retry_after_secs: RETRY_AFTER_SECS,
            })?;
        let _running = self
            .running
            .acquire()
            .await
            .map_err(|_| ApiError::Internal("password work is shut down".into()))?;
        offload::cpu(work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_password(text: &str) -> NewPassword {
        NewPassword::parse("password", text, None).unwrap()
    }

    #[actix_web::test]
    async fn verification_needs_a_stored_hash_and_the_right_password() {
        let passwords = Passwords::new(1, 0, password::hash("decoy password text"));
        let stored = passwords
            .hash(new_password("correct horse battery"))
            .await
            .unwrap();
        assert!(passwords
            .verify("correct horse battery", Some(&stored))
            .await
            .unwrap());
        assert!(!passwords.verify("wrong", Some(&stored)).await.unwrap());
        // No account: false even for the decoy's own password.
        assert!(!passwords.verify("decoy password text", None).await.unwrap());
    }

    #[actix_web::test]
    async fn work_beyond_the_queue_is_refused_at_once() {
        let passwords = Passwords::new(1, 1, password::hash("decoy"));
        let attempts = (0..6).map(|_| passwords.verify("guess", None));
        let results = futures_util::future::join_all(attempts).await;
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(ApiError::Overloaded { .. })))
            .count();
        // One runs, one waits, the rest are refused without waiting.
        assert_eq!(refused, 4, "{results:?}");
        assert!(results.iter().all(|r| !matches!(r, Ok(true))));
    }
}
