//! UPDATE statements of a fixed shape that stay prepared.
//!
//! Diesel never caches an UPDATE statement, because a changeset whose `Option` fields are
//! skipped when `None` changes the SQL from one call to the next. The rows an answer updates (its
//! memory state and the roll-up counters) are written with every answer by statements whose
//! shape never changes, and compiling them again each time was a tenth of the answer path's CPU.
//! [`update`] builds the same `UPDATE … SET … WHERE …` from parts whose SQL is fixed by their
//! types, so the statement cache keeps it like a SELECT.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AsChangeset, AstPass, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl, Table};

/// `UPDATE table SET changes WHERE filter`, prepared once per connection. `V` is the changes as given
/// (`column.eq(value)` tuples), whose type identifies the statement in the cache.
pub struct PreparedUpdate<F, C, W, V> {
    from: F,
    changes: C,
    filter: W,
    given: PhantomData<V>,
}

/// An update of the rows of `table` matching `filter`. `changes` must not skip `None` fields
/// (tuples of `column.eq(value)` never do): its SQL must follow from its type.
pub fn update<T, V, W>(
    table: T,
    changes: V,
    filter: W,
) -> PreparedUpdate<T::FromClause, V::Changeset, W, V>
where
    T: Table,
    V: AsChangeset<Target = T>,
{
    PreparedUpdate {
        from: table.from_clause(),
        changes: changes.as_changeset(),
        filter,
        given: PhantomData,
    }
}

impl<F: 'static, C, W: QueryId, V: QueryId> QueryId for PreparedUpdate<F, C, W, V> {
    type QueryId = PreparedUpdate<F, (), W::QueryId, V::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = V::HAS_STATIC_QUERY_ID && W::HAS_STATIC_QUERY_ID;
}

impl<F, C, W, V, DB> QueryFragment<DB> for PreparedUpdate<F, C, W, V>
where
    DB: Backend,
    F: QueryFragment<DB>,
    C: QueryFragment<DB>,
    W: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("UPDATE ");
        self.from.walk_ast(out.reborrow())?;
        out.push_sql(" SET ");
        self.changes.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        self.filter.walk_ast(out.reborrow())
    }
}

impl<F, C, W, V, Conn> RunQueryDsl<Conn> for PreparedUpdate<F, C, W, V> {}
