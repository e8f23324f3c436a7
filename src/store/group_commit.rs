//! Group commit for SQLite: one writer thread applies the write transactions that are pending at
//! the same moment in a single database transaction, each inside its own savepoint, and hands
//! every result back only after the shared COMMIT returned.
//!
//! Why: with `synchronous=FULL` every commit waits for an fsync of the WAL, and SQLite allows one
//! writer at a time, so one transaction per answer caps answers at the disk's fsync rate. Sharing
//! the fsync keeps FULL's guarantee (nothing is acknowledged before it is durable) while the
//! rate grows with the number of concurrent answers. A write that fails rolls back to its own
//! savepoint and does not disturb the others; if the COMMIT itself fails, every write of the
//! group gets the error and none is acknowledged.
//!
//! PostgreSQL has concurrent writers and commits its WAL in groups by itself: it does not use
//! this.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Mutex;

use diesel::connection::{AnsiTransactionManager, TransactionManager};

use super::{DbConnection, DbPool, PooledConn, StoreError};

/// Most writes sharing one transaction.
const MAX_GROUP: usize = 128;
/// Writes waiting for the writer before submitters block (back-pressure).
const QUEUE: usize = 1024;

/// Called once the group's COMMIT is known: `None` when it succeeded, else why it failed.
type Deliver = Box<dyn FnOnce(Option<&str>) + Send>;
type Job = Box<dyn FnOnce(&mut DbConnection) -> Deliver + Send>;

/// The handle handlers submit writes through; the writer thread stops when it is dropped.
pub struct GroupCommit {
    jobs: Mutex<SyncSender<Job>>,
}

impl GroupCommit {
    /// Starts the writer on a connection of `pool`, which must be SQLite's.
    pub fn start(pool: &DbPool) -> Result<GroupCommit, StoreError> {
        let conn = pool.get()?;
        if !matches!(*conn, DbConnection::Sqlite(_)) {
            return Err(StoreError::Unavailable(
                "a group commit runs on SQLite only".into(),
            ));
        }
        let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
        std::thread::Builder::new()
            .name("sqlite-group-commit".into())
            .spawn(move || writer(conn, rx))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(GroupCommit {
            jobs: Mutex::new(tx),
        })
    }

    /// Runs `f` inside the next group's transaction and returns its result once the group is
    /// committed. `f` sees its own savepoint: returning an error undoes only its own writes.
    pub fn run<T, E>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        let (done_tx, done_rx) = mpsc::sync_channel::<Result<T, E>>(1);
        let job: Job = Box::new(move |conn| {
            let result = in_savepoint(conn, f);
            Box::new(move |commit_error: Option<&str>| {
                let outcome = match commit_error {
                    None => result,
                    Some(e) => Err(E::from(StoreError::Unavailable(format!(
                        "the write was not committed: {e}"
                    )))),
                };
                let _ = done_tx.send(outcome);
            })
        });
        let sender = self.jobs.lock().expect("sender lock").clone();
        let gone = || E::from(StoreError::Unavailable("the write did not complete".into()));
        sender.send(job).map_err(|_| gone())?;
        done_rx.recv().map_err(|_| gone())?
    }
}

fn in_savepoint<T, E: From<diesel::result::Error>>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    savepoint(conn)?;
    match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(Ok(value)) => {
            super::commit(conn)?;
            Ok(value)
        }
        Ok(Err(e)) => {
            super::roll_back(conn)?;
            Err(e)
        }
        Err(panic) => {
            let _ = super::roll_back(conn);
            std::panic::resume_unwind(panic)
        }
    }
}

/// Opens the savepoint one write runs in, inside the group's transaction.
fn savepoint(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction(c),
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c),
    }
}

/// Takes whatever is pending (at least one write), applies it in one transaction, commits,
/// then answers every submitter.
fn writer(mut conn: PooledConn, jobs: Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let conn: &mut DbConnection = &mut conn;
        if let Err(e) = super::begin_write(conn) {
            // Nothing ran: dropping the writes tells each submitter it did not complete.
            tracing::warn!(error = %e, "could not begin a group of writes");
            drop(group);
            continue;
        }
        let mut delivers = Vec::with_capacity(group.len());
        for job in group {
            // A panicking write drops its submitter's channel (the submitter sees an error);
            // its savepoint was rolled back, the others go on.
            if let Ok(d) = catch_unwind(AssertUnwindSafe(|| job(conn))) {
                delivers.push(d);
            }
        }
        match super::commit(conn) {
            Ok(()) => delivers.into_iter().for_each(|d| d(None)),
            Err(e) => {
                let _ = super::roll_back(conn);
                let why = e.to_string();
                delivers.into_iter().for_each(|d| d(Some(&why)));
            }
        }
    }
}
