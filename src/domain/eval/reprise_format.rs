//! Reprise's own review log format: the CSV of `GET /api/v1/reviews/export`, one row per stored
//! answer. The export writes [`ReviewRecord`]s; `reprise eval --format reprise` reads the file
//! back into [`LearnerHistories`] (only `learner_id`, `nugget_id`, `answered_at` and `rating` are
//! needed, so hand-made files with just those columns load too).

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ItemHistory, LearnerHistories, Model, ObservedReview};
use crate::domain::scheduler::Rating;

/// Column names, in order (the field names of [`ReviewRecord`]).
pub const HEADER: [&str; 22] = [
    "attempt_id",
    "learner_id",
    "learner_email",
    "nugget_id",
    "nugget_key",
    "pack_slug",
    "client_answered_at",
    "answered_at",
    "received_at",
    "selected",
    "correct",
    "rating",
    "response_ms",
    "confidence",
    "clock_flag",
    "elapsed_days",
    "stability_before",
    "difficulty_before",
    "stability_after",
    "difficulty_after",
    "status_after",
    "due_after",
];

/// One stored answer as exported. Times are RFC 3339 UTC; empty cells are absent values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewRecord {
    /// The client's idempotency key (also the xAPI statement id).
    pub attempt_id: String,
    pub learner_id: String,
    pub learner_email: String,
    pub nugget_id: String,
    /// The nugget's key within its pack.
    pub nugget_key: String,
    pub pack_slug: String,
    /// When the phone said the learner answered.
    pub client_answered_at: DateTime<Utc>,
    /// The answer time the scheduler used (the client's, clamped when untrusted).
    pub answered_at: DateTime<Utc>,
    /// When the server recorded the answer.
    pub received_at: DateTime<Utc>,
    /// Chosen option ids, sorted, joined with `;` (e.g. `a;c`).
    pub selected: String,
    pub correct: bool,
    /// FSRS rating: 1 Again, 2 Hard, 3 Good, 4 Easy.
    pub rating: u8,
    pub response_ms: u32,
    /// `sure`, `unsure` or empty.
    pub confidence: Option<String>,
    /// `future`, `before_start` or `before_previous` when the client time was moved; else empty.
    pub clock_flag: Option<String>,
    /// Days since the previous answer to this nugget; empty on the first.
    pub elapsed_days: Option<f64>,
    pub stability_before: Option<f64>,
    pub difficulty_before: Option<f64>,
    pub stability_after: f64,
    pub difficulty_after: f64,
    /// `learning`, `review`, `mastered` or `suspended`.
    pub status_after: String,
    /// When the nugget comes back; empty when not scheduled.
    pub due_after: Option<DateTime<Utc>>,
}

/// CSV text of `records`, after the header line when `header` is set.
pub fn write_records(records: &[ReviewRecord], header: bool) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(records.len() * 400 + 400));
    // Writing into a Vec cannot fail, and every field serializes as a plain cell.
    if header {
        writer.write_record(HEADER).expect("write to memory");
    }
    for record in records {
        // Text an author or a user typed reaches analysts' spreadsheets: no cell may run.
        let safe = |s: &str| crate::domain::spreadsheet::safe_cell(s).into_owned();
        let record = ReviewRecord {
            learner_email: safe(&record.learner_email),
            nugget_key: safe(&record.nugget_key),
            pack_slug: safe(&record.pack_slug),
            selected: safe(&record.selected),
            ..record.clone()
        };
        writer.serialize(&record).expect("write to memory");
    }
    writer.into_inner().expect("flush to memory")
}

/// The models `eval` can score on this format: it holds no source-system prediction, so
/// [`Model::SuperMemo`] has nothing to score.
pub const MODELS: [Model; 5] = [
    Model::FsrsFitted,
    Model::FsrsDefault,
    Model::Sm2,
    Model::Leitner,
    Model::Qstream,
];

#[derive(Debug, thiserror::Error)]
pub enum RepriseFormatError {
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("line {line}: rating {value} is not 1 (Again) to 4 (Easy)")]
    Rating { line: u64, value: u32 },
}

/// The columns the evaluation reads.
#[derive(Debug, Deserialize)]
struct EvalRow {
    learner_id: String,
    nugget_id: String,
    answered_at: DateTime<Utc>,
    rating: u32,
}

/// Parses an export held in memory.
pub fn parse(text: &str) -> Result<Vec<LearnerHistories>, RepriseFormatError> {
    load(text.as_bytes())
}

/// Reads an export: one learner per `learner_id`, one item per `nugget_id` (both in order of
/// first appearance), reviews sorted by `answered_at` and kept one per UTC day (the first), as
/// FSRS models day-level intervals. Every answer counts, the first included: a nugget's first
/// answer is a real test here, not SuperMemo's memorisation step.
pub fn load(reader: impl Read) -> Result<Vec<LearnerHistories>, RepriseFormatError> {
    let mut learners: Vec<(String, Vec<ItemHistory>)> = Vec::new();
    let mut index: HashMap<(String, String), (usize, usize)> = HashMap::new();
    let mut csv = csv::Reader::from_reader(reader);
    let headers = csv.headers()?.clone();
    let mut record = csv::StringRecord::new();
    while csv.read_record(&mut record)? {
        let row: EvalRow = record.deserialize(Some(&headers))?;
        let rating = Rating::from_u32(row.rating).ok_or_else(|| RepriseFormatError::Rating {
            line: record.position().map_or(0, |p| p.line()),
            value: row.rating,
        })?;
        let key = (row.learner_id, row.nugget_id);
        let (l, i) = match index.get(&key) {
            Some(&found) => found,
            None => {
                let l = match learners.iter().position(|(id, _)| *id == key.0) {
                    Some(l) => l,
                    None => {
                        learners.push((key.0.clone(), Vec::new()));
                        learners.len() - 1
                    }
                };
                learners[l].1.push(ItemHistory {
                    item: key.1.clone(),
                    reviews: Vec::new(),
                });
                let found = (l, learners[l].1.len() - 1);
                index.insert(key, found);
                found
            }
        };
        learners[l].1[i].reviews.push(ObservedReview {
            at: row.answered_at,
            rating,
            source_recall: None,
        });
    }
    Ok(learners
        .into_iter()
        .map(|(learner, mut items)| {
            for item in &mut items {
                item.reviews.sort_by_key(|r| r.at);
                item.reviews.dedup_by_key(|r| r.at.date_naive());
            }
            LearnerHistories { learner, items }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::domain::eval::{evaluate, SplitOrder, OVERALL};
    use crate::domain::scheduler::{retrievability, review, CardState, Policy, SchedulingContext};

    fn at(day: i64, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, hour, 0, 0).unwrap() + Duration::days(day)
    }

    /// An export of `learners` × `nuggets` whose answers follow FSRS-default recall, each
    /// nugget answered `answers` times on its FSRS schedule (rows in received order).
    fn generated_export(learners: usize, nuggets: usize, answers: usize, seed: u64) -> Vec<u8> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let ctx = SchedulingContext::default();
        let mut records = Vec::new();
        for l in 0..learners {
            for n in 0..nuggets {
                let mut state = CardState::default();
                let mut when = at((n % 10) as i64, 9);
                for _ in 0..answers {
                    let p = retrievability(&state, when, &[]).unwrap_or(0.75);
                    let correct = rng.gen_bool(p);
                    let rating = match (correct, rng.gen_range(0..4)) {
                        (false, _) => Rating::Again,
                        (true, 0) => Rating::Hard,
                        (true, 1) => Rating::Easy,
                        (true, _) => Rating::Good,
                    };
                    let before = state.clone();
                    state = review(&state, rating, when, &ctx, &Policy::Fsrs, n as u64);
                    let memory = state.memory.unwrap();
                    records.push(ReviewRecord {
                        attempt_id: format!("{l}-{n}-{}", state.reps),
                        learner_id: format!("learner-{l}"),
                        learner_email: format!("l{l}@acme.example"),
                        nugget_id: format!("nugget-{n}"),
                        nugget_key: format!("q{n}"),
                        pack_slug: "sample".into(),
                        client_answered_at: when,
                        answered_at: when,
                        received_at: when + Duration::seconds(2),
                        selected: if correct { "b".into() } else { "a;c".into() },
                        correct,
                        rating: rating.as_u32() as u8,
                        response_ms: 9000,
                        confidence: None,
                        clock_flag: None,
                        elapsed_days: before
                            .last_review
                            .map(|t| (when - t).num_seconds() as f64 / 86_400.0),
                        stability_before: before.memory.map(|m| m.stability),
                        difficulty_before: before.memory.map(|m| m.difficulty),
                        stability_after: memory.stability,
                        difficulty_after: memory.difficulty,
                        status_after: state.status.as_str().into(),
                        due_after: state.due,
                    });
                    let next = state.due.unwrap_or(when + Duration::days(120));
                    when = next.max(when + Duration::days(1));
                }
            }
        }
        records.sort_by_key(|r| r.received_at);
        write_records(&records, true)
    }

    #[test]
    fn the_header_names_every_record_field_in_order() {
        let text = String::from_utf8(generated_export(1, 1, 1, 1)).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(first, HEADER.join(","));
        let mut with_serde_header = csv::Writer::from_writer(Vec::new());
        let record: ReviewRecord = csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .next()
            .unwrap()
            .unwrap();
        with_serde_header.serialize(&record).unwrap();
        let serde_text = String::from_utf8(with_serde_header.into_inner().unwrap()).unwrap();
        assert_eq!(serde_text.lines().next().unwrap(), first);
        assert_eq!(
            write_records(&[], true),
            format!("{}\n", HEADER.join(",")).into_bytes()
        );
    }

    #[test]
    fn records_round_trip_with_empty_cells_for_absent_values() {
        let text = String::from_utf8(generated_export(1, 1, 2, 2)).unwrap();
        let rows: Vec<ReviewRecord> = csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].stability_before, None);
        assert!(rows[1].stability_before.is_some());
        let line = text.lines().nth(1).unwrap();
        assert!(line.contains(",2026-03-02T09:00:00Z,"), "{line}");
        assert!(line.contains(",,,,,"), "empty optional cells: {line}");
        assert_eq!(write_records(&rows, true), text.into_bytes());
    }

    #[test]
    fn groups_by_learner_and_nugget_sorted_one_per_day() {
        let text = "learner_id,nugget_id,answered_at,rating,extra
ann,n1,2026-03-03T09:00:00Z,3,x
ann,n1,2026-03-02T09:00:00Z,1,x
bob,n1,2026-03-02T10:00:00Z,4,x
ann,n2,2026-03-02T11:00:00Z,2,x
ann,n1,2026-03-03T18:00:00Z,1,x
ann,n1,2026-03-10T09:00:00+01:00,4,x
";
        let learners = parse(text).unwrap();
        let names: Vec<_> = learners.iter().map(|l| l.learner.as_str()).collect();
        assert_eq!(names, ["ann", "bob"]);
        let ann = &learners[0];
        assert_eq!(ann.items.len(), 2);
        assert_eq!(ann.items[0].item, "n1");
        let ratings: Vec<_> = ann.items[0].reviews.iter().map(|r| r.rating).collect();
        // Sorted by time, the second answer on 3 March dropped, the first kept.
        assert_eq!(ratings, [Rating::Again, Rating::Good, Rating::Easy]);
        assert_eq!(ann.items[0].reviews[2].at, at(8, 8));
        assert!(ann.items[0]
            .reviews
            .iter()
            .all(|r| r.source_recall.is_none()));
        assert_eq!(learners[1].items[0].reviews[0].rating, Rating::Easy);
    }

    #[test]
    fn reports_bad_ratings_and_missing_columns() {
        let bad = "learner_id,nugget_id,answered_at,rating\na,n,2026-03-02T09:00:00Z,3\na,n,2026-03-03T09:00:00Z,7\n";
        assert!(matches!(
            parse(bad),
            Err(RepriseFormatError::Rating { line: 3, value: 7 })
        ));
        let missing = "learner_id,nugget_id,answered_at\na,n,2026-03-02T09:00:00Z\n";
        let err = parse(missing).unwrap_err().to_string();
        assert!(err.contains("rating"), "{err}");
        let bad_time = "learner_id,nugget_id,answered_at,rating\na,n,yesterday,3\n";
        assert!(matches!(parse(bad_time), Err(RepriseFormatError::Csv(_))));
    }

    #[test]
    fn evaluates_a_generated_export_leak_free_without_supermemo() {
        let mut export = String::from_utf8(generated_export(3, 30, 6, 7)).unwrap();
        // A newcomer with one answer: nothing to predict, so no rows of their own.
        let newcomer = String::from_utf8(generated_export(1, 1, 1, 8)).unwrap();
        export += &newcomer
            .lines()
            .nth(1)
            .unwrap()
            .replace("learner-0", "newcomer");
        let learners = parse(&export).unwrap();
        assert_eq!(learners.len(), 4);
        assert!(learners[..3].iter().all(|l| l.items.len() == 30));
        let report = evaluate(&learners, &MODELS, SplitOrder::ReviewTime).unwrap();
        assert_eq!(report.rows.len(), 4 * MODELS.len());
        assert!(report.rows.iter().all(|r| r.learner != "newcomer"));
        // No source prediction in this format: SuperMemo would score nothing at all.
        let supermemo = evaluate(&learners, &[Model::SuperMemo], SplitOrder::ReviewTime).unwrap();
        assert!(supermemo.rows.is_empty());
        assert!(report.rows.iter().all(|r| r.model != Model::SuperMemo));
        // Every answer after a nugget's first is predicted: 30 × 5 per learner.
        assert_eq!(report.get("learner-0", Model::FsrsDefault).unwrap().n, 150);
        assert_eq!(
            report.get("learner-0", Model::FsrsFitted).unwrap().n,
            150 - 150 / 6
        );
        assert_eq!(report.get(OVERALL, Model::Sm2).unwrap().n, 450);
        for row in &report.rows {
            assert!(row.log_loss.is_finite() && row.log_loss > 0.0, "{row:?}");
        }
        let ll = |m| report.get(OVERALL, m).unwrap().log_loss;
        assert!(ll(Model::FsrsDefault) < ll(Model::Sm2));
        assert!(ll(Model::FsrsDefault) < ll(Model::Qstream));
    }
}
