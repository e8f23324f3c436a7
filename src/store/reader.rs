//! A read's connection, and the way to more connections to the same database: the widest
//! analytics scans (millions of memory states) split their learner slices over the machine's
//! cores, one connection each, all reading one snapshot where the engine can share it.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use diesel::r2d2::{ManageConnection, Pool};

use super::DbConnection;

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

    /// A read with no helpers (tests, tools, one-learner reads).
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
