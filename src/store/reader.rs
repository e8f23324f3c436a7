//! A read's connection, and the way to more connections to the same database: the widest
//! analytics reads (millions of memory states) split their learner slices over the machine's
//! cores, one connection each, all reading one snapshot where the engine can share it.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool};
use diesel::sql_types::Text;

use super::schema::users;
use super::{DbConnection, StoreResult};
use crate::domain::ids::OrgId;

/// A connection borrowed from a pool for a helper thread of a scan.
pub type Helper = Box<dyn DerefMut<Target = DbConnection> + Send>;

/// How long a scan waits for a helper connection before reading alone: a busy pool is better
/// left to the requests that need it.
const HELPER_WAIT: Duration = Duration::from_millis(100);

/// Hands out helper connections from a pool (any manager whose connections are ours).
pub trait Helpers: Sync {
    fn helper(&self) -> Option<Helper>;
}

impl<M> Helpers for Pool<M>
where
    M: ManageConnection<Connection = DbConnection>,
{
    fn helper(&self) -> Option<Helper> {
        self.get_timeout(HELPER_WAIT)
            .ok()
            .map(|c| Box::new(c) as Helper)
    }
}

/// Nobody to help: every scan reads on its one connection.
impl Helpers for () {
    fn helper(&self) -> Option<Helper> {
        None
    }
}

/// The connection a read runs on (it derefs to it), with the pool it came from.
pub struct Reader<'a> {
    conn: &'a mut DbConnection,
    pool: &'a dyn Helpers,
}

impl<'a> Reader<'a> {
    pub fn new(conn: &'a mut DbConnection, pool: &'a dyn Helpers) -> Self {
        Reader { conn, pool }
    }

    /// A read that never splits (its pool is not at hand, or tests).
    pub fn alone(conn: &'a mut DbConnection) -> Self {
        Reader { conn, pool: &() }
    }

    /// The connection, and where helpers come from.
    pub fn parts(&mut self) -> (&mut DbConnection, &'a dyn Helpers) {
        (self.conn, self.pool)
    }
}

impl Deref for Reader<'_> {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        self.conn
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut DbConnection {
        self.conn
    }
}

/// A contiguous range of learner ids: from (inclusive) to (exclusive), open where `None`.
pub type LearnerRange<'a> = (Option<&'a str>, Option<&'a str>);

/// The organization's user ids in order.
fn learner_ids(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Vec<String>> {
    Ok(users::table
        .filter(users::org_id.eq(org_id))
        .select(users::id)
        .order(users::id)
        .load(conn)?)
}

/// Consecutive ranges of the ordered `ids`, `per_slice` each, that together cover every id
/// (the first and last are open, so ids added since are covered too).
fn ranges(ids: Vec<String>, per_slice: usize) -> Vec<OwnedRange> {
    let mut ranges = Vec::new();
    let mut from = None;
    let starts = ids.into_iter().step_by(per_slice.max(1)).skip(1);
    for to in starts.map(Some).chain([None]) {
        ranges.push((from.take(), to.clone()));
        from = to;
    }
    ranges
}

/// A [`LearnerRange`] that owns its bounds.
type OwnedRange = (Option<String>, Option<String>);

fn borrowed((from, to): &OwnedRange) -> LearnerRange<'_> {
    (from.as_deref(), to.as_deref())
}

/// Runs `scan` in one read transaction on `conn`, or in the caller's when one is open.
fn in_snapshot<T>(
    conn: &mut DbConnection,
    scan: impl FnOnce(&mut DbConnection) -> StoreResult<T>,
) -> StoreResult<T> {
    if super::in_transaction(conn) {
        scan(conn)
    } else {
        super::read_tx(conn, scan)
    }
}

/// Reads every learner of the organization slice by slice, on up to one connection per core at
/// once, and hands each slice's results to `take` on the caller's thread.
///
/// `read` runs on the worker threads with a contiguous range of learner ids, at most
/// `max_per_slice` learners (fewer in a small organization, which splits into a few slices per
/// worker all the same, so every scan takes this path); the ranges cover every id. Slicing keeps
/// results small (PostgreSQL's client library holds a whole result in memory before the first
/// row is read); splitting keeps every core busy rather than one.
///
/// Every connection reads in one transaction (the caller's, when one is open on the read's own
/// connection). On PostgreSQL the helpers import the read's snapshot (`SET TRANSACTION
/// SNAPSHOT`), so the whole read sees one instant. SQLite cannot share a snapshot between
/// connections: a helper's begins when it starts reading, an instant after the read's own, and
/// an answer committed in between counts only if its learner's slice is read by a helper. Either
/// way a learner is read whole on one connection.
pub fn in_parallel_slices<R, F, T>(
    reader: &mut Reader<'_>,
    org_id: &OrgId,
    max_per_slice: usize,
    read: F,
    mut take: T,
) -> StoreResult<()>
where
    R: Send,
    F: Fn(&mut DbConnection, LearnerRange<'_>, &mut Vec<R>) -> StoreResult<()> + Sync,
    T: FnMut(Vec<R>),
{
    let (conn, pool) = reader.parts();
    in_snapshot(conn, |conn| {
        let ids = learner_ids(conn, org_id)?;
        let workers = scan_workers();
        let per_slice = ids.len().div_ceil(4 * workers).clamp(1, max_per_slice);
        let ranges = ranges(ids, per_slice);
        let wanted = workers.min(ranges.len()) - 1;
        let mut helpers = if wanted == 0 {
            Vec::new()
        } else {
            joined_helpers(conn, pool, wanted)
        };
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let slices = Slices {
            ranges: &ranges,
            next: &next,
            failed: &failed,
            read: &read,
        };
        std::thread::scope(|scope| {
            let (sender, results) = mpsc::sync_channel::<Vec<R>>(2 * (1 + helpers.len()));
            let mut workers = Vec::new();
            for helper in &mut helpers {
                let sender = sender.clone();
                workers.push(scope.spawn(move || {
                    let conn = &mut **helper;
                    let scanned = slices.scan(conn, &sender);
                    super::rollback(conn);
                    scanned
                }));
            }
            workers.push(scope.spawn(move || slices.scan(conn, &sender)));
            results.into_iter().for_each(&mut take);
            workers
                .into_iter()
                .try_for_each(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
        })
    })
}

/// Connections a read splits its slices over: one per core (the read's own and helpers), and
/// at most [`MAX_SCAN_WORKERS`] so that one view does not take the pool.
fn scan_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_SCAN_WORKERS)
}

const MAX_SCAN_WORKERS: usize = 4;

/// Helper connections that have opened a read transaction on `conn`'s snapshot (PostgreSQL) or
/// a fresh one (SQLite). A helper that cannot is let go: the read goes on with fewer.
fn joined_helpers(conn: &mut DbConnection, pool: &dyn Helpers, n: usize) -> Vec<Helper> {
    let snapshot = match conn {
        DbConnection::Pg(_) => {
            match diesel::select(diesel::dsl::sql::<Text>("pg_export_snapshot()"))
                .get_result::<String>(conn)
            {
                Ok(id) if id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') => Some(id),
                Ok(id) => {
                    tracing::warn!(id, "unexpected snapshot id; reading on one connection");
                    return Vec::new();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot export the snapshot; reading on one connection");
                    return Vec::new();
                }
            }
        }
        DbConnection::Sqlite(_) => None,
    };
    let mut helpers = Vec::new();
    for mut helper in (0..n).map_while(|_| pool.helper()) {
        let joined = super::begin_read(&mut helper).and_then(|()| match &snapshot {
            Some(id) => helper.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{id}'")),
            None => Ok(()),
        });
        match joined {
            Ok(()) => helpers.push(helper),
            Err(e) => {
                super::rollback(&mut helper);
                tracing::warn!(error = %e, "a helper connection cannot join the read");
            }
        }
    }
    helpers
}

/// The shared work list of [`in_parallel_slices`]: threads take the next slice until none is
/// left.
struct Slices<'s, F> {
    ranges: &'s [OwnedRange],
    next: &'s AtomicUsize,
    /// Set by the first thread that fails, so that the others stop.
    failed: &'s AtomicBool,
    read: &'s F,
}

impl<F> Clone for Slices<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F> Copy for Slices<'_, F> {}

impl<F> Slices<'_, F> {
    /// Reads slices on `conn` and sends each one's results, until none is left.
    fn scan<R>(self, conn: &mut DbConnection, out: &mpsc::SyncSender<Vec<R>>) -> StoreResult<()>
    where
        F: Fn(&mut DbConnection, LearnerRange<'_>, &mut Vec<R>) -> StoreResult<()>,
    {
        while !self.failed.load(Ordering::Relaxed) {
            let Some(range) = self.ranges.get(self.next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            let mut results = Vec::new();
            if let Err(e) = (self.read)(conn, borrowed(range), &mut results) {
                self.failed.store(true, Ordering::Relaxed);
                return Err(e);
            }
            if out.send(results).is_err() {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn learner_ranges_cover_every_id_once_and_ids_added_later() {
        let ids: Vec<String> = ["a", "c", "e", "g", "i"].map(String::from).into();
        let r = ranges(ids.clone(), 2);
        let bounds: Vec<(Option<&str>, Option<&str>)> = r
            .iter()
            .map(|(f, t)| (f.as_deref(), t.as_deref()))
            .collect();
        assert_eq!(
            bounds,
            [(None, Some("e")), (Some("e"), Some("i")), (Some("i"), None)]
        );
        // Every id, listed or added since (before, between, after them), is in exactly one range.
        for id in ["0", "a", "b", "e", "f", "i", "z"] {
            let holding = bounds
                .iter()
                .filter(|(f, t)| f.is_none_or(|f| id >= f) && t.is_none_or(|t| id < t))
                .count();
            assert_eq!(holding, 1, "{id}");
        }
        assert_eq!(ranges(Vec::new(), 250), [(None, None)]);
        assert_eq!(ranges(ids, 250).len(), 1);
    }
}
