//! Reads for HR analytics. Queries filter and stream plain facts, and the caller computes
//! predicted recall in Rust, because the forgetting curve is not expressible in SQL both engines
//! share. They are written once for both engines, except the memory-state scan: PostgreSQL
//! sends it packed per learner (see `packed_memory_slice`).
//!
//! Scopes are team lists (a manager's teams and every team nested below); `None` is the whole
//! organization. Learners are matched through a `team_members` sub-select so a scope of any size
//! is one query parameter list of team ids, never a list of learner ids.

use foldhash::{HashMap, HashMapExt};

use arrayvec::ArrayString;
use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::data_types::PgTimestamp;
use diesel::deserialize::FromSql;
use diesel::pg::{Pg, PgConnection, PgValue};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};
use diesel::sqlite::{Sqlite, SqliteValue};

use super::reader::{in_parallel_slices, LearnerRange, Reader};
use super::schema::{
    assignment_learners, assignments, kpis, nugget_versions, nuggets, pack_versions, packs,
    retention_stats, reviews, team_members, users,
};
use super::{prepared, DbConnection, StoreError, StoreResult};
use crate::domain::analytics::{PerLearner, RetentionTally};
use crate::domain::ids::{OrgId, PackId};
use crate::domain::scheduler::ForgettingCurve;

/// Who is who in an organization: users, and which teams they are direct members of.
#[derive(Debug, Default)]
pub struct Directory {
    /// By user id.
    pub users: HashMap<String, Person>,
    /// Every direct membership.
    pub members: Vec<Membership>,
}

/// A user as analytics name and count them.
#[derive(Debug)]
pub struct Person {
    pub name: String,
    pub email: String,
    pub role: String,
}

/// A user's direct membership of a team.
#[derive(Debug)]
pub struct Membership {
    pub team_id: String,
    pub user_id: String,
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn directory(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Directory> {
    let users = users::table
        .filter(users::org_id.eq(org_id))
        .select((users::id, users::name, users::email, users::role))
        .load::<(String, String, String, String)>(conn)?
        .into_iter()
        .map(|(id, name, email, role)| (id, Person { name, email, role }))
        .collect();
    let members = team_members::table
        .filter(team_members::org_id.eq(org_id))
        .select((team_members::team_id, team_members::user_id))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(team_id, user_id)| Membership { team_id, user_id })
        .collect();
    Ok(Directory { users, members })
}

/// What analytics need to know about a nugget.
#[derive(Debug, Clone)]
pub struct NuggetInfo {
    pub pack_id: String,
    /// The topic in the newest published version that has the nugget.
    pub topic: String,
}

/// Every nugget of the organization with its pack and current topic.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn nugget_catalog(
    conn: &mut DbConnection,
    org_id: &OrgId,
) -> StoreResult<HashMap<String, NuggetInfo>> {
    let rows: Vec<(String, String, String, i32)> = nugget_versions::table
        .inner_join(
            pack_versions::table.on(pack_versions::org_id
                .eq(nugget_versions::org_id)
                .and(pack_versions::id.eq(nugget_versions::pack_version_id))),
        )
        .filter(nugget_versions::org_id.eq(org_id))
        .select((
            nugget_versions::nugget_id,
            pack_versions::pack_id,
            nugget_versions::topic,
            pack_versions::version,
        ))
        .load(conn)?;
    let mut newest: HashMap<String, (i32, NuggetInfo)> = HashMap::new();
    for (nugget, pack_id, topic, version) in rows {
        match newest.get(&nugget) {
            Some((v, _)) if *v >= version => {}
            _ => {
                newest.insert(nugget, (version, NuggetInfo { pack_id, topic }));
            }
        }
    }
    Ok(newest.into_iter().map(|(k, (_, info))| (k, info)).collect())
}

/// How a pack is named: in URLs and CSV (`slug`) and to people (`title`).
#[derive(Debug, Clone)]
pub struct PackName {
    pub slug: String,
    pub title: String,
}

/// The organization's packs by id.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn packs(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<HashMap<String, PackName>> {
    Ok(packs::table
        .filter(packs::org_id.eq(org_id))
        .select((packs::id, packs::slug, packs::title))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, slug, title)| (id, PackName { slug, title }))
        .collect())
}

/// Which memory states or reviews to read.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only learners who are direct members of these teams (`None`: everyone in the org).
    pub teams: Option<Vec<String>>,
    /// Only nuggets of this pack (id).
    pub pack_id: Option<String>,
    pub assignment_id: Option<String>,
    /// Only this learner (id).
    pub learner_id: Option<String>,
}

/// What a fold over memory states reads beside recall (stability and last review).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryRead {
    Recall,
    /// Also whether the first attempt was correct (`MemoryFact::first_correct`).
    WithFirstAttempt,
}

/// One learner × nugget memory that has been answered at least once. The ids borrow from the
/// scan's row buffers: a scan reads millions of them and copies none onto the heap.
#[derive(Debug, Clone, Copy)]
pub struct MemoryFact<'a> {
    pub learner_id: &'a str,
    pub nugget_id: &'a str,
    pub stability: f64,
    /// When it was last reviewed, in microseconds since the Unix epoch (UTC): views subtract it
    /// from the request time millions of times, cheaper on integers than on calendar dates.
    pub last_review_us: i64,
    /// `None` when unknown or not read ([`MemoryRead::Recall`]).
    pub first_correct: Option<bool>,
}

impl MemoryFact<'_> {
    /// Predicted recall at `at_us` (microseconds since the Unix epoch).
    pub fn recall_at(&self, curve: &ForgettingCurve, at_us: i64) -> f64 {
        curve.recall_after_seconds(self.stability, (at_us - self.last_review_us) / 1_000_000)
    }
}

/// A text column of the memory-state scans decoded without a heap allocation when it fits
/// (ids are 36-character UUIDs): diesel's `String` costs an allocation and a free per value, a
/// large share of reading millions of rows. Longer text still decodes, on the heap.
#[derive(diesel::deserialize::FromSqlRow)]
struct ShortText(Result<ArrayString<40>, Box<str>>);

impl ShortText {
    fn as_str(&self) -> &str {
        match &self.0 {
            Ok(inline) => inline,
            Err(heap) => heap,
        }
    }
}

impl From<&str> for ShortText {
    fn from(text: &str) -> Self {
        ShortText(ArrayString::from(text).map_err(|_| Box::<str>::from(text)))
    }
}

impl FromSql<Text, Sqlite> for ShortText {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> diesel::deserialize::Result<Self> {
        with_text(value, |text| ShortText::from(text))
    }
}

impl FromSql<Text, Pg> for ShortText {
    fn from_sql(value: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        Ok(ShortText::from(std::str::from_utf8(value.as_bytes())?))
    }
}

/// Reads the text of a SQLite value without copying it.
fn with_text<T>(
    value: SqliteValue<'_, '_, '_>,
    read: impl FnOnce(&str) -> T,
) -> diesel::deserialize::Result<T> {
    let text = <*const str as FromSql<Text, Sqlite>>::from_sql(value)?;
    // SAFETY: `*const str` points into the row value `from_sql` was given, which lives until
    // this function returns; `read` gets it for no longer than that.
    Ok(read(unsafe { &*text }))
}

/// `last_review_at` as SQLite's memory-state scan reads it, in microseconds since the Unix
/// epoch: stored as `YYYY-MM-DD HH:MM:SS[.ffffff]` text, parsed by hand (chrono's general parser
/// was the largest cost of reading millions of states). `None` when the text is not a timestamp.
#[derive(diesel::deserialize::FromSqlRow)]
struct ReviewedAt(Option<i64>);

impl FromSql<Timestamp, Sqlite> for ReviewedAt {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> diesel::deserialize::Result<Self> {
        with_text(value, |text| {
            ReviewedAt(parse_timestamp(text).map(|t| t.and_utc().timestamp_micros()))
        })
    }
}

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_US: i64 = 946_684_800_000_000;

fn unix_micros(t: PgTimestamp) -> i64 {
    t.0 + PG_EPOCH_US
}

macro_rules! scoped {
    ($q:expr, $table:ident, $org:expr, $filter:expr) => {{
        let mut q = $q;
        if let Some(teams) = &$filter.teams {
            let members = team_members::table
                .filter(team_members::org_id.eq($org))
                .filter(team_members::team_id.eq_any(teams.clone()))
                .select(team_members::user_id);
            q = q.filter($table::learner_id.eq_any(members));
        }
        if let Some(pack) = &$filter.pack_id {
            let of_pack = nuggets::table
                .filter(nuggets::org_id.eq($org))
                .filter(nuggets::pack_id.eq(pack.clone()))
                .select(nuggets::id);
            q = q.filter($table::nugget_id.eq_any(of_pack));
        }
        if let Some(a) = &$filter.assignment_id {
            q = q.filter($table::assignment_id.eq(a.clone()));
        }
        if let Some(l) = &$filter.learner_id {
            q = q.filter($table::learner_id.eq(l.clone()));
        }
        q
    }};
}

/// Learners per read of the memory-state scan: some 50,000 states of 200 nuggets each.
/// PostgreSQL's client library holds a whole result in memory before the first row is read, so
/// one query over 2 M states cost the server 400 MB; a slice of learners costs some 10 MB.
const SCAN_LEARNERS: usize = 250;

/// Calls `flush` with the sums `add` folds from the answered memory states in `filter`, per
/// learner, and returns when every state has been folded. `add` runs on the worker threads of
/// [`in_parallel_slices`], `flush` on the caller's; a learner may reach `flush` in more than
/// one part, so sums must merge.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn fold_memory<T, A, F>(
    reader: &mut Reader<'_>,
    org_id: &OrgId,
    filter: &Filter,
    reads: MemoryRead,
    add: A,
    mut flush: F,
) -> StoreResult<()>
where
    T: Default + Send,
    A: Fn(&mut T, MemoryFact<'_>) + Sync,
    F: FnMut(&str, T),
{
    let read = |conn: &mut DbConnection, range: LearnerRange<'_>, out: &mut Vec<(String, T)>| {
        let mut keep = |learner: &str, t: T| out.push((learner.to_string(), t));
        let mut learner = PerLearner::<T>::default();
        memory_slice(conn, org_id, filter, range, reads, &mut |f| {
            add(learner.of(f.learner_id, &mut keep), f)
        })?;
        learner.finish(&mut keep);
        Ok(())
    };
    let mut take = |sums: Vec<(String, T)>| {
        for (learner, t) in sums {
            flush(&learner, t);
        }
    };
    if filter.learner_id.is_some() {
        let mut sums = Vec::new();
        read(reader, (None, None), &mut sums)?;
        take(sums);
        return Ok(());
    }
    in_parallel_slices(reader, org_id, SCAN_LEARNERS, read, take)
}

/// The answered memory states of `$org` in `$filter` whose learner lies in `[$from, $to)` (open
/// where `None`), shaped by the method calls `$shape` (a select, or a grouping and a select) and
/// boxed for `$db`: the one query both engines' scans are built on.
macro_rules! answered_states {
    ($db:ty, $org:expr, $filter:expr, ($from:expr, $to:expr), $($shape:tt)*) => {{
        use super::schema::memory_states;
        let mut q = memory_states::table
            .filter(memory_states::org_id.eq($org))
            .filter(memory_states::stability.is_not_null())
            .filter(memory_states::last_review_at.is_not_null())
            $($shape)*
            .into_boxed::<$db>();
        if let Some(from) = $from {
            q = q.filter(memory_states::learner_id.ge(from));
        }
        if let Some(to) = $to {
            q = q.filter(memory_states::learner_id.lt(to));
        }
        scoped!(q, memory_states, $org, $filter)
    }};
}

/// The answered memory states of `filter` whose learner lies in `[from, to)` (open where
/// `None`): a row per state on SQLite, a row per learner on PostgreSQL.
fn memory_slice(
    conn: &mut DbConnection,
    org_id: &OrgId,
    filter: &Filter,
    (from, to): LearnerRange<'_>,
    reads: MemoryRead,
    f: &mut impl FnMut(MemoryFact<'_>),
) -> StoreResult<()> {
    let conn = match conn {
        DbConnection::Pg(pg) => {
            return packed_memory_slice(pg, org_id, filter, (from, to), reads, f)
        }
        DbConnection::Sqlite(sqlite) => sqlite,
    };
    let q = answered_states!(Sqlite, org_id, filter, (from, to), .select((
        memory_states::learner_id,
        memory_states::nugget_id,
        memory_states::stability.assume_not_null(),
        memory_states::last_review_at.assume_not_null(),
        memory_states::first_correct,
    )));
    let rows = q
        .load_iter::<(ShortText, ShortText, f64, ReviewedAt, Option<bool>), DefaultLoadingMode>(
            conn,
        )?;
    for row in rows {
        let (learner_id, nugget_id, stability, ReviewedAt(last_review), first_correct) = row?;
        let Some(last_review_us) = last_review else {
            continue;
        };
        f(MemoryFact {
            learner_id: learner_id.as_str(),
            nugget_id: nugget_id.as_str(),
            stability,
            last_review_us,
            first_correct: first_correct.filter(|_| reads == MemoryRead::WithFirstAttempt),
        });
    }
    Ok(())
}

diesel::define_sql_function! {
    /// PostgreSQL's `array_agg`: the group's values as one array, in the group's row order.
    #[aggregate]
    fn array_agg<ST: diesel::sql_types::SingleValue>(value: ST) -> Array<ST>;
}

diesel::define_sql_function! {
    /// PostgreSQL's `string_agg`: the group's texts joined by `delimiter`, in the group's row
    /// order.
    #[aggregate]
    fn string_agg(value: Text, delimiter: Text) -> Text;
}

/// Separates the nugget ids of a learner in PostgreSQL's per-learner read. Ids are UUIDs,
/// which never hold a space; a count that disagrees with the other columns is an error.
const ID_SEPARATOR: char = ' ';

/// [`memory_slice`] on PostgreSQL: one row per learner holding their states' columns joined
/// (ids in one text, numbers in arrays) instead of one row per state. Sending and decoding 2 M
/// rows a value at a time (per-field send calls, per-row messages, libpq and diesel row
/// handling) cost the server and Reprise about as much as the scan itself; a learner's 200
/// states joined cost a fraction. Every aggregate of a group reads the same rows in the same
/// order, so the columns stay aligned.
fn packed_memory_slice(
    conn: &mut PgConnection,
    org_id: &OrgId,
    filter: &Filter,
    (from, to): LearnerRange<'_>,
    reads: MemoryRead,
    f: &mut impl FnMut(MemoryFact<'_>),
) -> StoreResult<()> {
    use super::schema::memory_states::{
        first_correct, last_review_at, learner_id, nugget_id, stability,
    };
    let ids = string_agg(nugget_id, ID_SEPARATOR.to_string());
    let stabilities = array_agg(stability.assume_not_null());
    let reviewed = array_agg(last_review_at.assume_not_null());
    match reads {
        MemoryRead::Recall => {
            let select = (learner_id, ids, stabilities, reviewed);
            let q = answered_states!(Pg, org_id, filter, (from, to), .group_by(learner_id).select(select));
            type Row = (ShortText, String, Vec<f64>, Vec<PgTimestamp>);
            for row in q.load_iter::<Row, DefaultLoadingMode>(conn)? {
                let (learner, ids, stabilities, reviewed) = row?;
                unpack(learner.as_str(), &ids, &stabilities, &reviewed, None, f)?;
            }
        }
        MemoryRead::WithFirstAttempt => {
            let firsts = array_agg(first_correct);
            let select = (learner_id, ids, stabilities, reviewed, firsts);
            let q = answered_states!(Pg, org_id, filter, (from, to), .group_by(learner_id).select(select));
            type Row = (
                ShortText,
                String,
                Vec<f64>,
                Vec<PgTimestamp>,
                Vec<Option<bool>>,
            );
            for row in q.load_iter::<Row, DefaultLoadingMode>(conn)? {
                let (learner, ids, stabilities, reviewed, firsts) = row?;
                unpack(
                    learner.as_str(),
                    &ids,
                    &stabilities,
                    &reviewed,
                    Some(&firsts),
                    f,
                )?;
            }
        }
    }
    Ok(())
}

/// Hands one learner's joined columns to `f` a state at a time.
fn unpack(
    learner_id: &str,
    ids: &str,
    stabilities: &[f64],
    reviewed: &[PgTimestamp],
    firsts: Option<&[Option<bool>]>,
    f: &mut impl FnMut(MemoryFact<'_>),
) -> StoreResult<()> {
    let n = stabilities.len();
    if ids.split(ID_SEPARATOR).count() != n
        || reviewed.len() != n
        || firsts.is_some_and(|v| v.len() != n)
    {
        return Err(StoreError::Unavailable(format!(
            "the memory states of learner {learner_id} arrived with columns of unequal length"
        )));
    }
    let states = ids
        .split(ID_SEPARATOR)
        .zip(stabilities.iter().zip(reviewed));
    for (i, (nugget_id, (&stability, &at))) in states.enumerate() {
        f(MemoryFact {
            learner_id,
            nugget_id,
            stability,
            last_review_us: unix_micros(at),
            first_correct: firsts.and_then(|v| v[i]),
        });
    }
    Ok(())
}

/// Parses `YYYY-MM-DD HH:MM:SS[.f…]` (how both engines render a TIMESTAMP as text).
fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok();
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let mut nanos = 0u32;
    if b.len() > 20 && b[19] == b'.' {
        let digits = &b[20..b.len().min(29)];
        for (i, &c) in digits.iter().enumerate() {
            if !c.is_ascii_digit() {
                return None;
            }
            nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
        }
    } else if b.len() != 19 {
        return NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok();
    }
    date.and_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)
}

/// One answer, as the replay of the recall weeks reads it: who, which nugget, when, and
/// the stability it left (nothing more: the replay reads millions of them).
#[derive(Debug, Clone)]
pub struct AnswerFact {
    pub learner_id: String,
    pub nugget_id: String,
    pub answered_at: NaiveDateTime,
    pub stability_after: f64,
}

/// Calls `f` with every answer in `filter` answered before `until`, ordered by learner, nugget
/// and time (so a learner × nugget history arrives in one run).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn for_each_answer(
    conn: &mut DbConnection,
    org_id: &OrgId,
    filter: &Filter,
    until: NaiveDateTime,
    mut f: impl FnMut(AnswerFact),
) -> StoreResult<()> {
    let q = reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::practice.is_null())
        .filter(reviews::answered_at.lt(until))
        .order((
            reviews::learner_id.asc(),
            reviews::nugget_id.asc(),
            reviews::answered_at.asc(),
        ))
        .select((
            reviews::learner_id,
            reviews::nugget_id,
            reviews::answered_at,
            reviews::stability_after,
        ))
        .into_boxed();
    let q = scoped!(q, reviews, org_id, filter);
    for row in q.load_iter::<(String, String, NaiveDateTime, f64), DefaultLoadingMode>(conn)? {
        let (learner_id, nugget_id, answered_at, stability_after) = row?;
        f(AnswerFact {
            learner_id,
            nugget_id,
            answered_at,
            stability_after,
        });
    }
    Ok(())
}

/// Calls `f(elapsed_days, stability_before, correct)` for every answer in `filter` that follows
/// an earlier answer to the same nugget (the raw material of the retention curve).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn for_each_repeat(
    conn: &mut DbConnection,
    org_id: &OrgId,
    filter: &Filter,
    mut f: impl FnMut(f64, f64, bool),
) -> StoreResult<()> {
    let q = reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::practice.is_null())
        .filter(reviews::elapsed_days.is_not_null())
        .filter(reviews::stability_before.is_not_null())
        .select((
            reviews::elapsed_days.assume_not_null(),
            reviews::stability_before.assume_not_null(),
            reviews::correct,
        ))
        .into_boxed();
    let q = scoped!(q, reviews, org_id, filter);
    for row in q.load_iter::<(f64, f64, bool), DefaultLoadingMode>(conn)? {
        let (elapsed, stability, correct) = row?;
        f(elapsed, stability, correct);
    }
    Ok(())
}

/// Number of shards of each retention roll-up row: concurrent answers in one organization and
/// pack update different rows instead of queueing on one.
pub const RETENTION_SHARDS: u32 = 16;

/// Adds one repeat answer to the organization's retention roll-up (inside the answer's
/// transaction). Portable upsert: update, and insert when no row was there.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn add_to_retention(
    conn: &mut DbConnection,
    org_id: &OrgId,
    pack_id: &PackId,
    bucket: usize,
    shard: u32,
    tally: RetentionTally,
) -> StoreResult<()> {
    let key = (
        org_id,
        pack_id,
        bucket as i32,
        (shard % RETENTION_SHARDS) as i32,
    );
    let updated = prepared::update(
        retention_stats::table,
        (
            retention_stats::reviews.eq(retention_stats::reviews + tally.reviews as i64),
            retention_stats::correct.eq(retention_stats::correct + tally.correct as i64),
            retention_stats::predicted_sum.eq(retention_stats::predicted_sum + tally.predicted_sum),
        ),
        retention_stats::org_id
            .eq(key.0)
            .and(retention_stats::pack_id.eq(key.1))
            .and(retention_stats::bucket.eq(key.2))
            .and(retention_stats::shard.eq(key.3)),
    )
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(retention_stats::table)
            .values((
                retention_stats::org_id.eq(key.0),
                retention_stats::pack_id.eq(key.1),
                retention_stats::bucket.eq(key.2),
                retention_stats::shard.eq(key.3),
                retention_stats::reviews.eq(tally.reviews as i64),
                retention_stats::correct.eq(tally.correct as i64),
                retention_stats::predicted_sum.eq(tally.predicted_sum),
            ))
            .execute(conn)
            // Another answer created the row first: the answer is retried.
            .map_err(|e| StoreError::created_concurrently(e, "retention row"))?;
    }
    Ok(())
}

/// The organization's retention roll-up per bucket index (optionally one pack).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn retention_rollup(
    conn: &mut DbConnection,
    org_id: &OrgId,
    pack_id: Option<&str>,
) -> StoreResult<HashMap<usize, RetentionTally>> {
    let mut q = retention_stats::table
        .filter(retention_stats::org_id.eq(org_id))
        .select((
            retention_stats::bucket,
            retention_stats::reviews,
            retention_stats::correct,
            retention_stats::predicted_sum,
        ))
        .into_boxed();
    if let Some(p) = pack_id {
        q = q.filter(retention_stats::pack_id.eq(p.to_string()));
    }
    let mut out: HashMap<usize, RetentionTally> = HashMap::new();
    for (bucket, reviews, correct, predicted_sum) in q.load::<(i32, i64, i64, f64)>(conn)? {
        out.entry(bucket as usize)
            .or_default()
            .merge(RetentionTally {
                reviews: reviews as u64,
                correct: correct as u64,
                predicted_sum,
            });
    }
    Ok(out)
}

/// Learners reached by assignments, with the day the assignment starts: (learner, team of the
/// assignment or `None` for named learners, starts_on). Team assignments are expanded by the
/// caller (they reach nested teams).
pub struct Reach {
    pub team_assignments: Vec<(String, chrono::NaiveDate)>,
    pub named: Vec<(String, chrono::NaiveDate)>,
}

#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn reach(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<Reach> {
    let team_assignments = assignments::table
        .filter(assignments::org_id.eq(org_id))
        .filter(assignments::team_id.is_not_null())
        .select((
            assignments::team_id.assume_not_null(),
            assignments::starts_on,
        ))
        .load(conn)?;
    let named = assignment_learners::table
        .inner_join(
            assignments::table.on(assignments::org_id
                .eq(assignment_learners::org_id)
                .and(assignments::id.eq(assignment_learners::assignment_id))),
        )
        .filter(assignment_learners::org_id.eq(org_id))
        .select((assignment_learners::learner_id, assignments::starts_on))
        .load(conn)?;
    Ok(Reach {
        team_assignments,
        named,
    })
}

/// Replaces KPI values: every (user, period, metric) in `rows` is deleted and inserted again,
/// in the caller's transaction (no ON CONFLICT: the MultiConnection backend has none).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn replace_kpis(
    conn: &mut DbConnection,
    org_id: &OrgId,
    rows: &[KpiValue],
    now: NaiveDateTime,
) -> StoreResult<()> {
    for r in rows {
        let key = (org_id, &r.user_id, &r.period, &r.metric);
        diesel::delete(kpis::table.find(key)).execute(conn)?;
    }
    for chunk in rows.chunks(500) {
        let values: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    kpis::org_id.eq(org_id),
                    kpis::user_id.eq(&r.user_id),
                    kpis::period.eq(&r.period),
                    kpis::metric.eq(&r.metric),
                    kpis::value.eq(r.value),
                    kpis::uploaded_at.eq(now),
                )
            })
            .collect();
        super::execute_on_backend!(conn, diesel::insert_into(kpis::table).values(&values))?;
    }
    Ok(())
}

/// One seller's value of one business metric in one period, as uploaded.
#[derive(Debug, Clone)]
pub struct KpiValue {
    pub user_id: String,
    pub period: String,
    pub metric: String,
    pub value: f64,
}

/// KPI values, optionally of one metric and/or period.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn kpis(
    conn: &mut DbConnection,
    org_id: &OrgId,
    metric: Option<&str>,
    period: Option<&str>,
) -> StoreResult<Vec<KpiValue>> {
    let mut q = kpis::table
        .filter(kpis::org_id.eq(org_id))
        .select((kpis::user_id, kpis::period, kpis::metric, kpis::value))
        .into_boxed();
    if let Some(m) = metric {
        q = q.filter(kpis::metric.eq(m.to_string()));
    }
    if let Some(p) = period {
        q = q.filter(kpis::period.eq(p.to_string()));
    }
    Ok(q.load::<(String, String, String, f64)>(conn)?
        .into_iter()
        .map(|(user_id, period, metric, value)| KpiValue {
            user_id,
            period,
            metric,
            value,
        })
        .collect())
}

/// An organization's right answers, counted by the database in one pass over its answer log
/// without sending rows to the application: the floor under any view that reads every answer.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn count_correct_answers(conn: &mut DbConnection, org_id: &OrgId) -> StoreResult<i64> {
    Ok(reviews::table
        .filter(reviews::org_id.eq(org_id))
        .filter(reviews::practice.is_null())
        .filter(reviews::correct.eq(true))
        .count()
        .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learners_joined_columns_unpack_in_step() {
        let at = |us| PgTimestamp(us);
        let mut seen = Vec::new();
        let mut keep = |f: MemoryFact<'_>| {
            seen.push((
                f.nugget_id.to_string(),
                f.stability,
                f.last_review_us,
                f.first_correct,
            ))
        };
        let firsts = [Some(true), None];
        unpack(
            "l",
            "a b",
            &[1.5, 2.5],
            &[at(0), at(7)],
            Some(&firsts),
            &mut keep,
        )
        .unwrap();
        unpack("l", "c", &[3.5], &[at(1)], None, &mut keep).unwrap();
        assert_eq!(
            seen,
            vec![
                ("a".into(), 1.5, PG_EPOCH_US, Some(true)),
                ("b".into(), 2.5, PG_EPOCH_US + 7, None),
                ("c".into(), 3.5, PG_EPOCH_US + 1, None),
            ]
        );
        // A count that disagrees is refused before anything is folded.
        let mut folded = 0;
        let mut keep = |_: MemoryFact<'_>| folded += 1;
        assert!(unpack("l", "a b c", &[1.0, 2.0], &[at(0), at(0)], None, &mut keep).is_err());
        assert!(unpack("l", "a b", &[1.0, 2.0], &[at(0)], None, &mut keep).is_err());
        assert!(unpack("l", "a", &[1.0], &[at(0)], Some(&[]), &mut keep).is_err());
        assert_eq!(folded, 0);
    }

    #[test]
    fn timestamps_as_both_engines_render_them() {
        let t = |s: &str| parse_timestamp(s).map(|d| d.to_string());
        assert_eq!(
            t("2026-03-02 08:00:00").as_deref(),
            Some("2026-03-02 08:00:00")
        );
        assert_eq!(
            t("2026-03-02 08:00:00.25").as_deref(),
            Some("2026-03-02 08:00:00.250")
        );
        assert_eq!(
            t("2026-03-02 08:00:00.123456").as_deref(),
            Some("2026-03-02 08:00:00.123456")
        );
        assert_eq!(t("2026-02-30 08:00:00"), None);
        assert_eq!(t("yesterday"), None);
    }
}
