//! Recall weeks: the mean predicted recall of a scope at the end of each ISO week (UTC), over
//! every learner × nugget answered by then, from the last answer before the week's end. It is
//! the trends view's `proficiency`.
//!
//! A week is read at its end, the Monday midnight after it (answers at that instant included);
//! the current week is read now. An ended week changes only through answers back-dated into it
//! (offline sync), so it is kept as snapshots: per learner and week, the summed recall and the
//! number of memory states. The same name runs through the layers: the rules in
//! [`crate::domain::recall_weeks`], the snapshot tables in [`crate::store::recall_weeks`], and
//! here the two services over them:
//!
//! - [`keeper`]: the background task that completes missing weeks and recomputes learners an
//!   answer made stale;
//! - [`read`]: a view's weeks assembled from the snapshots, the memory states and, where a
//!   snapshot is missing, the answer log.

pub mod keeper;
pub mod read;

pub use keeper::{refresh, refresh_org, run, Refreshed};
pub use read::means;
