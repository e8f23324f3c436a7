//! The service's notion of "now". Production reads the system clock; tests drive a manual clock
//! so that days can pass without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Debug)]
pub enum Clock {
    System,
    /// Milliseconds since the Unix epoch, shared by every clone.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    pub fn manual(start: DateTime<Utc>) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(start.timestamp_millis())))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Manual(ms) => DateTime::from_timestamp_millis(ms.load(Ordering::SeqCst))
                .expect("manual clock holds a valid timestamp"),
        }
    }

    /// Moves a manual clock forward; the system clock cannot be moved.
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(ms) = self {
            ms.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
        }
    }

    pub fn set(&self, to: DateTime<Utc>) {
        if let Clock::Manual(ms) = self {
            ms.store(to.timestamp_millis(), Ordering::SeqCst);
        }
    }
}
