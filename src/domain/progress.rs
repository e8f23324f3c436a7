//! A learner's progress: proficiency (mean predicted recall now) against initial proficiency
//! (first-attempt correctness), per pack and topic; streaks; what falls due next.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

/// One memory state as progress needs it.
#[derive(Debug, Clone)]
pub struct NuggetProgress {
    pub pack: String,
    pub topic: String,
    /// Predicted recall now; `None` before the first answer.
    pub recall: Option<f64>,
    pub first_correct: Option<bool>,
    pub answers: u32,
    pub correct_answers: u32,
    pub mastered: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Mean predicted recall now, 0..=1 (null before any answer).
    pub proficiency: Option<f64>,
    /// Share of nuggets answered right the first time (null before any answer).
    pub initial_proficiency: Option<f64>,
    /// `proficiency - initial_proficiency`.
    pub knowledge_gain: Option<f64>,
    pub nuggets: usize,
    pub answers: u32,
    pub correct_answers: u32,
    pub mastered: usize,
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

pub fn figures<'a>(items: impl Iterator<Item = &'a NuggetProgress> + Clone) -> Figures {
    let proficiency = mean(items.clone().filter_map(|i| i.recall));
    let initial = mean(
        items
            .clone()
            .filter_map(|i| i.first_correct.map(|c| if c { 1.0 } else { 0.0 })),
    );
    Figures {
        proficiency,
        initial_proficiency: initial,
        knowledge_gain: proficiency.zip(initial).map(|(p, i)| p - i),
        nuggets: items.clone().count(),
        answers: items.clone().map(|i| i.answers).sum(),
        correct_answers: items.clone().map(|i| i.correct_answers).sum(),
        mastered: items.filter(|i| i.mastered).count(),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TopicProgress {
    pub topic: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackProgress {
    pub pack: String,
    #[serde(flatten)]
    pub figures: Figures,
    pub topics: Vec<TopicProgress>,
}

/// Groups by pack, then topic, in name order.
pub fn by_pack(items: &[NuggetProgress]) -> Vec<PackProgress> {
    let mut packs: BTreeMap<&str, BTreeMap<&str, Vec<&NuggetProgress>>> = BTreeMap::new();
    for i in items {
        packs
            .entry(&i.pack)
            .or_default()
            .entry(&i.topic)
            .or_default()
            .push(i);
    }
    packs
        .into_iter()
        .map(|(pack, topics)| PackProgress {
            pack: pack.to_string(),
            figures: figures(topics.values().flatten().copied()),
            topics: topics
                .into_iter()
                .map(|(topic, list)| TopicProgress {
                    topic: topic.to_string(),
                    figures: figures(list.into_iter()),
                })
                .collect(),
        })
        .collect()
}

/// Days in a row with at least one answer, ending today (or yesterday when nothing was
/// answered yet today). Days in `skipped` (quiet weekdays, pauses) neither count nor break it.
pub fn streak(
    answer_days: &[NaiveDate],
    today: NaiveDate,
    skipped: impl Fn(NaiveDate) -> bool,
) -> u32 {
    let mut day = if answer_days.contains(&today) {
        today
    } else {
        today - Duration::days(1)
    };
    let mut count = 0;
    for _ in 0..3660 {
        if answer_days.contains(&day) {
            count += 1;
        } else if !skipped(day) {
            break;
        }
        day -= Duration::days(1);
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pack: &str, topic: &str, recall: Option<f64>, first: Option<bool>) -> NuggetProgress {
        NuggetProgress {
            pack: pack.into(),
            topic: topic.into(),
            recall,
            first_correct: first,
            answers: u32::from(first.is_some()),
            correct_answers: u32::from(first == Some(true)),
            mastered: false,
        }
    }

    #[test]
    fn figures_average_recall_and_first_attempts() {
        let items = [
            item("p", "a", Some(0.9), Some(true)),
            item("p", "a", Some(0.5), Some(false)),
            item("p", "b", None, None),
        ];
        let f = figures(items.iter());
        assert_eq!(f.proficiency, Some(0.7));
        assert_eq!(f.initial_proficiency, Some(0.5));
        assert!((f.knowledge_gain.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!((f.nuggets, f.answers, f.correct_answers), (3, 2, 1));
        let packs = by_pack(&items);
        assert_eq!(packs.len(), 1);
        assert_eq!(packs[0].topics.len(), 2);
        assert_eq!(packs[0].topics[1].figures.proficiency, None);
    }

    #[test]
    fn streaks_skip_quiet_days_and_allow_today_pending() {
        let d = |n: u32| NaiveDate::from_ymd_opt(2026, 3, n).unwrap();
        // Fri 6, (Sat 7, Sun 8 quiet), Mon 9, Tue 10; today Wed 11 not answered yet.
        let days = [d(5), d(6), d(9), d(10)];
        let weekend = |x: NaiveDate| x == d(7) || x == d(8);
        assert_eq!(streak(&days, d(11), weekend), 4);
        assert_eq!(streak(&days, d(12), weekend), 0);
        assert_eq!(streak(&days, d(10), |_| false), 2);
    }
}
