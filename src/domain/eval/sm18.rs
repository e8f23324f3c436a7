//! Loader for SuperMemo 18 "Repetition history" exports in the CSV layout of
//! `shared/data/revlogs` (`user,ElNo,Rep,Laps,Date,Hour,Int,Grade,Priority,Difficulty,expFI`),
//! applying the fsrs-vs-sm15 conversion so results compare with published figures.

use std::collections::HashMap;
use std::io::Read;

use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::{ItemHistory, LearnerHistories, ObservedReview};
use crate::domain::scheduler::Rating;

#[derive(Debug, thiserror::Error)]
pub enum Sm18Error {
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("row {row}: bad date {value:?} (want dd.mm.yyyy)")]
    Date { row: usize, value: String },
}

#[derive(Debug, Deserialize)]
struct Row {
    user: String,
    #[serde(rename = "ElNo")]
    element: String,
    #[serde(rename = "Rep")]
    rep: u32,
    #[serde(rename = "Laps")]
    laps: u32,
    #[serde(rename = "Date")]
    date: String,
    #[serde(rename = "Hour")]
    hour: Option<f64>,
    #[serde(rename = "Grade")]
    grade: u32,
    #[serde(rename = "expFI")]
    expected_forgetting: Option<f64>,
}

struct Parsed {
    date: NaiveDate,
    hour: f64,
    row: Row,
}

/// Parses an export held in memory.
pub fn parse(text: &str) -> Result<Vec<LearnerHistories>, Sm18Error> {
    load(text.as_bytes())
}

/// Reads an export and converts it per item: rows sorted by date then hour; only items whose
/// first row is `Rep=1, Laps=0` (full history known), minus that first (learning) row; items
/// with a grade above 5 (memorise/reset events) or a missing or 100 expFI are skipped; one
/// review per day. Grades 0–2 → Again, 3 → Hard, 4 → Good, 5 → Easy. Learners and items keep
/// their order of first appearance.
pub fn load(reader: impl Read) -> Result<Vec<LearnerHistories>, Sm18Error> {
    let mut learners: Vec<(String, Vec<Vec<Parsed>>)> = Vec::new();
    let mut index: HashMap<(String, String), (usize, usize)> = HashMap::new();
    for (i, record) in csv::Reader::from_reader(reader)
        .deserialize::<Row>()
        .enumerate()
    {
        let row = record?;
        let date =
            NaiveDate::parse_from_str(&row.date, "%d.%m.%Y").map_err(|_| Sm18Error::Date {
                row: i + 2,
                value: row.date.clone(),
            })?;
        let key = (row.user.clone(), row.element.clone());
        let (l, e) = *index.entry(key).or_insert_with(|| {
            let l = match learners.iter().position(|(name, _)| *name == row.user) {
                Some(l) => l,
                None => {
                    learners.push((row.user.clone(), Vec::new()));
                    learners.len() - 1
                }
            };
            learners[l].1.push(Vec::new());
            (l, learners[l].1.len() - 1)
        });
        let hour = row.hour.unwrap_or(0.0);
        learners[l].1[e].push(Parsed { date, hour, row });
    }
    Ok(learners
        .into_iter()
        .map(|(learner, elements)| LearnerHistories {
            learner,
            items: elements.into_iter().filter_map(convert_item).collect(),
        })
        .collect())
}

fn convert_item(mut rows: Vec<Parsed>) -> Option<ItemHistory> {
    rows.sort_by(|a, b| a.date.cmp(&b.date).then(a.hour.total_cmp(&b.hour)));
    let first = &rows.first()?.row;
    if first.rep != 1 || first.laps != 0 {
        return None;
    }
    let item = first.element.clone();
    let rest = &rows[1..];
    let usable =
        |p: &Parsed| p.row.grade <= 5 && p.row.expected_forgetting.is_some_and(|fi| fi != 100.0);
    if !rest.iter().all(usable) {
        return None;
    }
    let mut reviews: Vec<ObservedReview> = Vec::with_capacity(rest.len());
    let mut last_date = None;
    for p in rest {
        if last_date == Some(p.date) {
            continue;
        }
        last_date = Some(p.date);
        let rating = match p.row.grade {
            0..=2 => Rating::Again,
            3 => Rating::Hard,
            4 => Rating::Good,
            _ => Rating::Easy,
        };
        reviews.push(ObservedReview {
            at: Utc.from_utc_datetime(&p.date.and_hms_opt(0, 0, 0)?),
            rating,
            source_recall: p.row.expected_forgetting.map(|fi| 1.0 - fi / 100.0),
        });
    }
    Some(ItemHistory { item, reviews })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "user,ElNo,Rep,Laps,Date,Hour,Int,Grade,Priority,Difficulty,expFI
a,1,2,0,03.01.2023,10.5,2,4,1,0.5,10
a,1,1,0,01.01.2023,9.0,0,4,1,,99
a,1,3,0,03.01.2023,11.0,0,2,1,0.5,5
a,1,4,0,10.01.2023,9.0,7,5,1,0.5,20
a,2,1,0,01.01.2023,9.0,0,4,1,,99
a,2,2,0,02.01.2023,9.0,1,12,1,,
a,3,2,0,02.01.2023,9.0,1,4,1,,10
b,7,1,0,01.01.2023,9.0,0,4,1,,99
b,7,2,0,05.01.2023,9.0,4,1,1,0.5,30
";

    #[test]
    fn applies_the_conversion_rules() {
        let learners = parse(SAMPLE).unwrap();
        assert_eq!(learners.len(), 2);
        let a = &learners[0];
        // Item 2 has a reset grade, item 3 lacks its first repetition.
        assert_eq!(a.items.len(), 1);
        let reviews = &a.items[0].reviews;
        let ratings: Vec<_> = reviews.iter().map(|r| r.rating).collect();
        // Same-day second review dropped; grade 4 -> Good, 5 -> Easy.
        assert_eq!(ratings, [Rating::Good, Rating::Easy]);
        assert!((reviews[0].source_recall.unwrap() - 0.9).abs() < 1e-12);
        assert_eq!(learners[1].items[0].reviews[0].rating, Rating::Again);
    }

    #[test]
    fn reports_bad_dates() {
        let bad = "user,ElNo,Rep,Laps,Date,Hour,Int,Grade,Priority,Difficulty,expFI\na,1,1,0,2023-01-01,1,0,4,1,,9\n";
        assert!(matches!(parse(bad), Err(Sm18Error::Date { row: 2, .. })));
    }
}
