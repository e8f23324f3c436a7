//! The weekly activity roll-up (`learner_weeks`): each learner's answers per ISO week, written
//! with every answer so engagement and trends read learners × weeks rows, not the answer log.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::reader::{in_parallel_slices, LearnerRange, Reader};
use super::schema::learner_weeks;
use super::{prepared, DbConnection, StoreError, StoreResult};
use crate::domain::analytics::{ResponseTimes, WeekActivity, RESPONSE_BUCKETS};
use crate::domain::ids::{OrgId, UserId};

/// Rows per multi-row INSERT: 57 columns × 500 stays under SQLite's 32,766 bound parameters.
const CHUNK: usize = 500;

/// The table's histogram columns are spelt out once here, with their bucket index: the row
/// type, its conversions and the increment of an answer are generated from this list.
macro_rules! learner_week_rows {
    ($($col:ident = $k:literal),* $(,)?) => {
        /// A `learner_weeks` row as stored.
        #[derive(Queryable, Selectable, Insertable)]
        #[diesel(table_name = learner_weeks)]
        struct LearnerWeekRow {
            org_id: String,
            #[diesel(embed)]
            totals: WeekTotals,
            $($col: i32,)*
        }

        impl LearnerWeekRow {
            fn new(org_id: &OrgId, learner_id: &str, week_start: NaiveDate, a: &WeekActivity) -> Self {
                let t = &a.response_times.0;
                LearnerWeekRow {
                    org_id: org_id.to_string(),
                    totals: WeekTotals {
                        learner_id: learner_id.to_string(),
                        week_start,
                        answers: a.answers as i64,
                        correct: a.correct as i64,
                        on_time: a.on_time as i64,
                        days: i32::from(a.days),
                    },
                    $($col: t[$k] as i32,)*
                }
            }

            fn activity(&self) -> WeekActivity {
                let mut t = [0u64; RESPONSE_BUCKETS];
                $(t[$k] = self.$col.max(0) as u64;)*
                WeekActivity {
                    response_times: ResponseTimes(t),
                    ..self.totals.activity()
                }
            }
        }

        /// Adds `a` to an existing row; false when there is none. Every column is set, adding
        /// 0 to most, so the statement has one shape and is kept prepared.
        fn add_to_row(
            conn: &mut DbConnection,
            org_id: &OrgId,
            learner_id: &UserId,
            week_start: NaiveDate,
            a: &WeekActivity,
        ) -> StoreResult<bool> {
            use learner_weeks as w;
            let t = &a.response_times.0;
            let days = i32::from(a.days).into_sql::<diesel::sql_types::Integer>();
            let updated = prepared::update(
                w::table,
                (
                    w::answers.eq(w::answers + a.answers as i64),
                    w::correct.eq(w::correct + a.correct as i64),
                    w::on_time.eq(w::on_time + a.on_time as i64),
                    w::days.eq(BitOr::new(w::days, days)),
                    $(w::$col.eq(w::$col + t[$k] as i32),)*
                ),
                w::org_id
                    .eq(org_id)
                    .and(w::learner_id.eq(learner_id))
                    .and(w::week_start.eq(week_start)),
            )
            .execute(conn)?;
            Ok(updated > 0)
        }
    };
}

diesel::infix_operator!(BitOr, " | ", diesel::sql_types::Integer);

learner_week_rows!(
    rt_00 = 0,
    rt_01 = 1,
    rt_02 = 2,
    rt_03 = 3,
    rt_04 = 4,
    rt_05 = 5,
    rt_06 = 6,
    rt_07 = 7,
    rt_08 = 8,
    rt_09 = 9,
    rt_10 = 10,
    rt_11 = 11,
    rt_12 = 12,
    rt_13 = 13,
    rt_14 = 14,
    rt_15 = 15,
    rt_16 = 16,
    rt_17 = 17,
    rt_18 = 18,
    rt_19 = 19,
    rt_20 = 20,
    rt_21 = 21,
    rt_22 = 22,
    rt_23 = 23,
    rt_24 = 24,
    rt_25 = 25,
    rt_26 = 26,
    rt_27 = 27,
    rt_28 = 28,
    rt_29 = 29,
    rt_30 = 30,
    rt_31 = 31,
    rt_32 = 32,
    rt_33 = 33,
    rt_34 = 34,
    rt_35 = 35,
    rt_36 = 36,
    rt_37 = 37,
    rt_38 = 38,
    rt_39 = 39,
    rt_40 = 40,
    rt_41 = 41,
    rt_42 = 42,
    rt_43 = 43,
    rt_44 = 44,
    rt_45 = 45,
    rt_46 = 46,
    rt_47 = 47,
    rt_48 = 48,
    rt_49 = 49
);

/// Adds one answer's week (or any activity) to a learner's row, inside the answer's
/// transaction. Portable upsert: update, and insert when no row was there.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn add_week(
    conn: &mut DbConnection,
    org_id: &OrgId,
    learner_id: &UserId,
    week_start: NaiveDate,
    activity: &WeekActivity,
) -> StoreResult<()> {
    if !add_to_row(conn, org_id, learner_id, week_start, activity)? {
        diesel::insert_into(learner_weeks::table)
            .values(LearnerWeekRow::new(
                org_id,
                learner_id.as_str(),
                week_start,
                activity,
            ))
            .execute(conn)
            // Another answer of this learner created the row first: the answer is retried.
            .map_err(|e| StoreError::created_concurrently(e, "learner week"))?;
    }
    Ok(())
}

/// Inserts whole rows of learners with no row yet for those weeks (generated data sets).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn insert_weeks(
    conn: &mut DbConnection,
    org_id: &OrgId,
    weeks: &[(String, NaiveDate, WeekActivity)],
) -> StoreResult<()> {
    let rows: Vec<LearnerWeekRow> = weeks
        .iter()
        .map(|(learner, week, a)| LearnerWeekRow::new(org_id, learner, *week, a))
        .collect();
    for chunk in rows.chunks(CHUNK) {
        execute_on_backend!(
            conn,
            diesel::insert_into(learner_weeks::table).values(chunk)
        )?;
    }
    Ok(())
}

/// Learners per read of [`weeks_since`]: up to 104 wide rows each (see
/// [`in_parallel_slices`]; one read of 10,000 learners' 8 weeks cost PostgreSQL's client 300 MB).
const WEEK_SLICE: usize = 500;

/// How much of a week [`weeks_since`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeekDetail {
    /// Counts and active days, response times left empty: a tenth of the columns.
    Totals,
    /// Everything, response-time histogram included (for medians).
    WithResponseTimes,
}

/// The counts of a `learner_weeks` row (all of it but the organization and the histogram).
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = learner_weeks)]
struct WeekTotals {
    learner_id: String,
    week_start: NaiveDate,
    answers: i64,
    correct: i64,
    on_time: i64,
    days: i32,
}

impl WeekTotals {
    fn activity(&self) -> WeekActivity {
        WeekActivity {
            answers: self.answers.max(0) as u64,
            correct: self.correct.max(0) as u64,
            on_time: self.on_time.max(0) as u64,
            days: self.days as u8,
            response_times: ResponseTimes::default(),
        }
    }
}

/// Every learner's weeks from `from` on: (learner, week start, activity), in no particular order.
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn weeks_since(
    reader: &mut Reader<'_>,
    org_id: &OrgId,
    from: NaiveDate,
    detail: WeekDetail,
) -> StoreResult<Vec<(String, NaiveDate, WeekActivity)>> {
    type Week = (String, NaiveDate, WeekActivity);
    let read = |conn: &mut DbConnection, (first, end): LearnerRange<'_>, out: &mut Vec<Week>| {
        let mut q = learner_weeks::table
            .filter(learner_weeks::org_id.eq(org_id))
            .filter(learner_weeks::week_start.ge(from))
            .into_boxed();
        if let Some(first) = first {
            q = q.filter(learner_weeks::learner_id.ge(first));
        }
        if let Some(end) = end {
            q = q.filter(learner_weeks::learner_id.lt(end));
        }
        use diesel::connection::DefaultLoadingMode as Rows;
        match detail {
            WeekDetail::Totals => {
                let q = q.select(WeekTotals::as_select());
                for row in q.load_iter::<WeekTotals, Rows>(conn)? {
                    let row = row?;
                    let a = row.activity();
                    out.push((row.learner_id, row.week_start, a));
                }
            }
            WeekDetail::WithResponseTimes => {
                let q = q.select(LearnerWeekRow::as_select());
                for row in q.load_iter::<LearnerWeekRow, Rows>(conn)? {
                    let row = row?;
                    let a = row.activity();
                    out.push((row.totals.learner_id, row.totals.week_start, a));
                }
            }
        }
        Ok(())
    };
    let mut weeks = Vec::new();
    in_parallel_slices(reader, org_id, WEEK_SLICE, read, |rows| weeks.extend(rows))?;
    Ok(weeks)
}

/// The week of each learner's first answer (a pass over the primary key: learners × weeks of
/// history, never the answers).
#[tracing::instrument(level = "trace", skip_all, fields(org = %org_id))]
pub fn first_weeks(
    conn: &mut DbConnection,
    org_id: &OrgId,
) -> StoreResult<HashMap<String, NaiveDate>> {
    Ok(learner_weeks::table
        .filter(learner_weeks::org_id.eq(org_id))
        .group_by(learner_weeks::learner_id)
        .select((
            learner_weeks::learner_id,
            diesel::dsl::min(learner_weeks::week_start).assume_not_null(),
        ))
        .load::<(String, NaiveDate)>(conn)?
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, NaiveDateTime};
    use diesel::connection::SimpleConnection;
    use diesel::sqlite::SqliteConnection;
    use diesel_migrations::MigrationHarness;

    use super::*;
    use crate::domain::analytics::{on_time, RESPONSE_EDGES_MS};
    use crate::store::reviews::{self, ReviewRow};

    fn at(day: i64, hour: u32, minute: u32) -> NaiveDateTime {
        // Monday 2 March 2026.
        (NaiveDate::from_ymd_opt(2026, 3, 2).unwrap() + Duration::days(day))
            .and_hms_opt(hour, minute, 0)
            .unwrap()
    }

    fn review(
        learner: &str,
        nugget: &str,
        answered_at: NaiveDateTime,
        correct: bool,
        ms: i32,
        due: Option<NaiveDateTime>,
    ) -> ReviewRow {
        ReviewRow {
            org_id: "org".into(),
            id: uuid::Uuid::new_v4().to_string(),
            learner_id: learner.into(),
            nugget_id: nugget.into(),
            pack_version_id: "v".into(),
            assignment_id: "a".into(),
            attempt_id: uuid::Uuid::new_v4().to_string(),
            request_hash: "h".into(),
            selected: "[\"a\"]".into(),
            correct,
            partial_credit: if correct { 1.0 } else { 0.0 },
            response_ms: ms,
            confidence: None,
            rating: 3,
            client_answered_at: answered_at,
            answered_at,
            received_at: answered_at,
            clock_flag: None,
            elapsed_days: None,
            stability_before: None,
            difficulty_before: None,
            stability_after: 1.0,
            difficulty_after: 5.0,
            status_after: "review".into(),
            due_after: due,
            practice: None,
        }
    }

    /// The migration's back-fill in SQL gives the rows the answer path would have written.
    #[test]
    fn migration_back_fills_what_answers_would_have_written() {
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        let DbConnection::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        let pending = c
            .pending_migrations(super::super::SQLITE_MIGRATIONS)
            .unwrap();
        let at_roll_up = pending
            .iter()
            .position(|m| m.name().to_string().ends_with("learner_weeks"))
            .unwrap();
        let (earlier, from_roll_up) = pending.split_at(at_roll_up);
        for m in earlier {
            c.run_migration(m).unwrap();
        }
        let mut rows = vec![
            // Due on Tuesday 10:00, answered Wednesday 10:00 and 10:01: on time, then late.
            review("ann", "n1", at(0, 10, 0), false, 4_000, Some(at(1, 10, 0))),
            review("ann", "n1", at(2, 10, 0), true, 5_000, Some(at(1, 10, 0))),
            review("ann", "n1", at(2, 10, 1), true, 6_000, None),
            // Nothing was due: on time, on the week's Sunday.
            review("ann", "n1", at(6, 23, 59), true, 100, Some(at(20, 9, 0))),
            // The next week, before it fell due.
            review("ann", "n1", at(9, 8, 0), false, 2_000_000, None),
            review("bob", "n2", at(8, 8, 0), true, 12_000, Some(at(9, 8, 0))),
        ];
        // Either side of every bucket edge, so the SQL thresholds match `response_bucket`.
        for (k, edge) in RESPONSE_EDGES_MS.iter().enumerate() {
            for ms in [*edge - 1, *edge] {
                let nugget = format!("edge-{k}-{ms}");
                rows.push(review("cid", &nugget, at(3, 12, 0), true, ms as i32, None));
            }
        }
        // Answers alone, without the organization, nuggets and assignments they refer to. Today's
        // insert names `practice`, which a later migration adds: the column is there only while
        // they are written.
        c.batch_execute("PRAGMA foreign_keys = OFF; ALTER TABLE reviews ADD COLUMN practice TEXT")
            .unwrap();
        for r in &rows {
            reviews::insert(&mut conn, r).unwrap();
        }
        let DbConnection::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        c.batch_execute("ALTER TABLE reviews DROP COLUMN practice")
            .unwrap();
        for m in from_roll_up {
            c.run_migration(m).unwrap();
        }

        let mut expected: HashMap<(String, NaiveDate), WeekActivity> = HashMap::new();
        let mut previous_due: HashMap<(&str, &str), Option<NaiveDateTime>> = HashMap::new();
        for r in &rows {
            let key = (r.learner_id.as_str(), r.nugget_id.as_str());
            let due = previous_due.insert(key, r.due_after).flatten();
            let (week, a) = WeekActivity::of_answer(
                r.answered_at,
                r.correct,
                on_time(r.answered_at, due),
                r.response_ms as u32,
            );
            expected
                .entry((r.learner_id.clone(), week))
                .or_default()
                .merge(&a);
        }
        let stored: HashMap<(String, NaiveDate), WeekActivity> = weeks_since(
            &mut Reader::alone(&mut conn),
            &"org".into(),
            at(-30, 0, 0).date(),
            WeekDetail::WithResponseTimes,
        )
        .unwrap()
        .into_iter()
        .map(|(learner, week, a)| ((learner, week), a))
        .collect();
        assert_eq!(stored, expected);
        let ann = &stored[&("ann".to_string(), at(0, 0, 0).date())];
        assert_eq!((ann.answers, ann.on_time, ann.days), (4, 3, 0b100_0101));

        // The answer path adds to the same rows, and starts new ones.
        let (week, a) = WeekActivity::of_answer(at(9, 9, 0), true, true, 3_000);
        add_week(&mut conn, &"org".into(), &"ann".into(), week, &a).unwrap();
        let (week, a) = WeekActivity::of_answer(at(14, 9, 0), true, true, 3_000);
        add_week(&mut conn, &"org".into(), &"ann".into(), week, &a).unwrap();
        let after = weeks_since(
            &mut Reader::alone(&mut conn),
            &"org".into(),
            at(7, 0, 0).date(),
            WeekDetail::Totals,
        )
        .unwrap();
        let ann: Vec<_> = after.iter().filter(|(l, _, _)| l == "ann").collect();
        assert_eq!(ann.len(), 2);
        let next = ann
            .iter()
            .find(|(_, w, _)| *w == at(7, 0, 0).date())
            .unwrap();
        assert_eq!((next.2.answers, next.2.correct, next.2.days), (2, 1, 0b100));
        let firsts = first_weeks(&mut conn, &"org".into()).unwrap();
        assert_eq!(firsts["ann"], at(0, 0, 0).date());
        assert_eq!(firsts["bob"], at(7, 0, 0).date());
    }
}
