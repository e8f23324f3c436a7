//! HR analytics, the pure part: averaging predicted recall into groups, retention-curve buckets,
//! forgetting-risk ranking, weekly calendars, correlations and the KPI upload format.
//!
//! Nothing here reads the database or the clock: the store hands over plain facts and `now`.

use std::collections::{BTreeSet, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use utoipa::ToSchema;

use super::validation::FieldError;

/// A running mean.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mean {
    pub sum: f64,
    pub n: u64,
}

impl Mean {
    pub fn add(&mut self, value: f64) {
        self.sum += value;
        self.n += 1;
    }

    pub fn merge(&mut self, other: Mean) {
        self.sum += other.sum;
        self.n += other.n;
    }

    /// `None` when nothing was added.
    pub fn value(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

/// Sums kept per small index (a topic's or a pack's number) in a vector grown on demand: what
/// a fold adds to for each of millions of states, without hashing a key each time.
#[derive(Debug, Clone)]
pub struct Slots<T>(Vec<Option<T>>);

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots(Vec::new())
    }
}

impl<T: Default> Slots<T> {
    pub fn at(&mut self, index: usize) -> &mut T {
        if self.0.len() <= index {
            self.0.resize_with(index + 1, || None);
        }
        self.0[index].get_or_insert_with(T::default)
    }

    /// The slots added to, by index.
    pub fn into_filled(self) -> impl Iterator<Item = (usize, T)> {
        self.0
            .into_iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
    }
}

/// A nugget's pack and topic as indexes into [`NuggetIndex::pack_ids`] and
/// [`NuggetIndex::topics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopedNugget {
    pub pack: usize,
    pub topic: usize,
}

/// An organization's nuggets with their topics and packs numbered (in sorted order), so folds
/// over millions of states keep their sums in [`Slots`] by number, not in maps keyed by text.
#[derive(Debug, Default)]
pub struct NuggetIndex {
    nuggets: foldhash::HashMap<String, ScopedNugget>,
    pub topics: Vec<String>,
    pub pack_ids: Vec<String>,
}

impl NuggetIndex {
    /// From (nugget id, pack id, topic) of every nugget.
    pub fn new<'a>(nuggets: impl Iterator<Item = (&'a str, &'a str, &'a str)> + Clone) -> Self {
        let sorted = |values: BTreeSet<&str>| values.into_iter().map(str::to_string).collect();
        let topics: Vec<String> = sorted(nuggets.clone().map(|(_, _, t)| t).collect());
        let pack_ids: Vec<String> = sorted(nuggets.clone().map(|(_, p, _)| p).collect());
        let number = |list: &[String], key: &str| {
            list.binary_search_by(|x| x.as_str().cmp(key))
                .expect("listed above")
        };
        let nuggets = nuggets
            .map(|(id, pack, topic)| {
                let scoped = ScopedNugget {
                    pack: number(&pack_ids, pack),
                    topic: number(&topics, topic),
                };
                (id.to_string(), scoped)
            })
            .collect();
        NuggetIndex {
            nuggets,
            topics,
            pack_ids,
        }
    }

    pub fn get(&self, nugget_id: &str) -> Option<ScopedNugget> {
        self.nuggets.get(nugget_id).copied()
    }

    /// The numbers of the topics the nuggets of a pack (id) have.
    pub fn topics_of_pack(&self, pack_id: &str) -> BTreeSet<usize> {
        let Ok(pack) = self.pack_ids.binary_search_by(|x| x.as_str().cmp(pack_id)) else {
            return BTreeSet::new();
        };
        self.nuggets
            .values()
            .filter(|n| n.pack == pack)
            .map(|n| n.topic)
            .collect()
    }

    /// A view's `topic` parameter as a topic number.
    pub fn topic_filter(&self, topic: Option<&str>) -> TopicFilter {
        TopicFilter(topic.map(|t| self.topics.binary_search_by(|x| x.as_str().cmp(t)).ok()))
    }
}

/// Which topic a view keeps: every one (no filter), one number, or none (a topic no nugget has).
#[derive(Debug, Clone, Copy)]
pub struct TopicFilter(Option<Option<usize>>);

impl TopicFilter {
    pub fn keeps(self, topic: usize) -> bool {
        self.0.is_none_or(|kept| kept == Some(topic))
    }
}

/// Folds consecutive rows of one learner together before they reach a view's groups. The
/// memory-state scan reads learner by learner (its primary key's order), so a learner's teams
/// are looked up and their groups added to once per learner, not once per state (2 M states at
/// 10,000 learners). Any order stays correct: a learner met again is simply flushed again.
#[derive(Default)]
pub struct PerLearner<T> {
    learner: Option<String>,
    acc: T,
}

impl<T: Default> PerLearner<T> {
    /// The sums of `learner`, after handing the previous learner's to `flush`.
    pub fn of(&mut self, learner: &str, flush: &mut impl FnMut(&str, T)) -> &mut T {
        match &mut self.learner {
            Some(current) if current == learner => {}
            Some(current) => {
                flush(current, std::mem::take(&mut self.acc));
                current.clear();
                current.push_str(learner);
            }
            None => self.learner = Some(learner.to_string()),
        }
        &mut self.acc
    }

    /// Hands the last learner's sums to `flush`.
    pub fn finish(self, flush: &mut impl FnMut(&str, T)) {
        if let Some(learner) = self.learner {
            flush(&learner, self.acc);
        }
    }
}

/// Rounds for display (6 decimals): keeps JSON and CSV short without hiding differences HR
/// could act on.
pub fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// A share or mean as views show it: rounded by [`round6`]; `None` (nothing behind it) stays.
pub fn share(v: Option<f64>) -> Option<f64> {
    v.map(round6)
}

/// One bucket of the retention curve: reviews whose time since the previous review of the same
/// nugget lies in `[from_days, to_days)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetentionBucket {
    pub label: &'static str,
    pub from_days: f64,
    /// `None` for the open last bucket.
    pub to_days: Option<f64>,
}

/// The retention curve's buckets. Stored roll-ups are keyed by the index into this list, so it
/// may only ever grow at the end.
pub const RETENTION_BUCKETS: [RetentionBucket; 8] = [
    bucket("0-1", 0.0, Some(1.0)),
    bucket("1-2", 1.0, Some(2.0)),
    bucket("2-4", 2.0, Some(4.0)),
    bucket("4-7", 4.0, Some(7.0)),
    bucket("7-14", 7.0, Some(14.0)),
    bucket("14-30", 14.0, Some(30.0)),
    bucket("30-60", 30.0, Some(60.0)),
    bucket("60+", 60.0, None),
];

const fn bucket(label: &'static str, from_days: f64, to_days: Option<f64>) -> RetentionBucket {
    RetentionBucket {
        label,
        from_days,
        to_days,
    }
}

/// Index of the bucket holding `elapsed_days` (negative values, from clock skew, go to the first).
pub fn bucket_of(elapsed_days: f64) -> usize {
    RETENTION_BUCKETS
        .iter()
        .position(|b| b.to_days.is_none_or(|to| elapsed_days < to))
        .unwrap_or(RETENTION_BUCKETS.len() - 1)
}

/// Observed against predicted recall in one bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RetentionTally {
    pub reviews: u64,
    pub correct: u64,
    pub predicted_sum: f64,
}

impl RetentionTally {
    pub fn add(&mut self, correct: bool, predicted: f64) {
        self.reviews += 1;
        self.correct += u64::from(correct);
        self.predicted_sum += predicted;
    }

    pub fn merge(&mut self, other: RetentionTally) {
        self.reviews += other.reviews;
        self.correct += other.correct;
        self.predicted_sum += other.predicted_sum;
    }

    pub fn observed(&self) -> Option<f64> {
        (self.reviews > 0).then(|| self.correct as f64 / self.reviews as f64)
    }

    pub fn predicted(&self) -> Option<f64> {
        (self.reviews > 0).then(|| self.predicted_sum / self.reviews as f64)
    }
}

/// A learner × topic whose predicted recall falls below the threshold within the horizon.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Risk {
    pub learner_id: String,
    pub learner: String,
    pub topic: String,
    /// Mean predicted recall over the topic's answered nuggets now.
    pub recall_now: f64,
    /// The same at the horizon, with no practice in between.
    pub recall_at_horizon: f64,
    /// Share of the topic's nuggets answered right the first time.
    pub initial_proficiency: Option<f64>,
    /// Memory states behind the figures.
    pub n: u64,
    pub suggestion: String,
}

/// Below this first-attempt share a topic was never really learnt: a refresher question will
/// not fix it, a conversation with the manager may.
pub const COACH_BELOW_INITIAL: f64 = 0.5;

/// What to do about a learner's fading topic.
pub fn suggestion(topic: &str, initial_proficiency: Option<f64>) -> String {
    match initial_proficiency {
        Some(p) if p < COACH_BELOW_INITIAL => {
            format!("coach on {topic}: most first answers were wrong")
        }
        _ => format!("assign a refresher on {topic}"),
    }
}

/// Keeps the risks below `threshold` at the horizon and orders them most urgent first (lowest
/// recall at the horizon; ties by learner, then topic, so the order is stable).
pub fn rank_risks(mut risks: Vec<Risk>, threshold: f64) -> Vec<Risk> {
    risks.retain(|r| r.recall_at_horizon < threshold);
    risks.sort_by(|a, b| {
        a.recall_at_horizon
            .total_cmp(&b.recall_at_horizon)
            .then_with(|| a.learner.cmp(&b.learner))
            .then_with(|| a.topic.cmp(&b.topic))
    });
    risks
}

/// The Monday starting the ISO week of `date`.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

/// `2026-W10`.
pub fn iso_week_label(date: NaiveDate) -> String {
    let w = date.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The Mondays of the `weeks` ISO weeks ending with the one holding `today`, oldest first.
pub fn recent_weeks(today: NaiveDate, weeks: u32) -> Vec<NaiveDate> {
    let last = week_start(today);
    (0..i64::from(weeks))
        .rev()
        .map(|i| last - Duration::weeks(i))
        .collect()
}

/// Median of `values` (mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// Where the response-time buckets of the weekly roll-up part, in ms: 250 · 2^(k/4) rounded,
/// quarter-octave steps from 250 ms to 1,024,000 ms (17 min). Bucket 0 holds the times below the
/// first edge, bucket k those from edge k-1 up to edge k, the last one everything from the last
/// edge. Log spacing keeps the relative precision the same for a quick tap and a long think.
/// The `learner_weeks` migrations spell out the same edges to back-fill in SQL.
pub const RESPONSE_EDGES_MS: [u32; 49] = [
    250, 297, 354, 420, 500, 595, 707, 841, 1000, 1189, 1414, 1682, 2000, 2378, 2828, 3364, 4000,
    4757, 5657, 6727, 8000, 9514, 11_314, 13_454, 16_000, 19_027, 22_627, 26_909, 32_000, 38_055,
    45_255, 53_817, 64_000, 76_109, 90_510, 107_635, 128_000, 152_219, 181_019, 215_269, 256_000,
    304_437, 362_039, 430_539, 512_000, 608_874, 724_077, 861_078, 1_024_000,
];

/// Buckets of [`ResponseTimes`]: one more than edges.
pub const RESPONSE_BUCKETS: usize = RESPONSE_EDGES_MS.len() + 1;

/// The bucket of a response time.
pub fn response_bucket(ms: u32) -> usize {
    RESPONSE_EDGES_MS.partition_point(|edge| *edge <= ms)
}

/// A histogram of response times: counts per bucket of [`RESPONSE_EDGES_MS`]. Unlike the list
/// of times it sums over learners and weeks, so a weekly roll-up can hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseTimes(pub [u64; RESPONSE_BUCKETS]);

impl Default for ResponseTimes {
    fn default() -> Self {
        ResponseTimes([0; RESPONSE_BUCKETS])
    }
}

impl ResponseTimes {
    pub fn add(&mut self, ms: u32) {
        self.0[response_bucket(ms)] += 1;
    }

    pub fn merge(&mut self, other: &ResponseTimes) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// The median, interpolated within the bucket holding it (geometrically, as the buckets
    /// are log-spaced; linearly in the first, which starts at 0), so it lies in the same bucket
    /// as the exact median: within a factor 2^¼ (19 %) of it from 250 ms to 17 min, within
    /// 250 ms below that, and reported as 1,024,000 ms above. `None` when empty.
    pub fn median(&self) -> Option<f64> {
        let n: u64 = self.0.iter().sum();
        if n == 0 {
            return None;
        }
        let half = n as f64 / 2.0;
        let mut below = 0u64;
        for (k, &count) in self.0.iter().enumerate() {
            if count == 0 || ((below + count) as f64) < half {
                below += count;
                continue;
            }
            let f = (half - below as f64) / count as f64;
            let last = RESPONSE_EDGES_MS.len();
            return Some(match k {
                0 => f * f64::from(RESPONSE_EDGES_MS[0]),
                k if k == last => f64::from(RESPONSE_EDGES_MS[last - 1]),
                k => {
                    let (lo, hi) = (
                        f64::from(RESPONSE_EDGES_MS[k - 1]),
                        f64::from(RESPONSE_EDGES_MS[k]),
                    );
                    lo * (hi / lo).powf(f)
                }
            });
        }
        unreachable!("half of a positive count lies in some bucket")
    }
}

/// Whether an answer was on time: given by the day after the nugget fell due. First answers,
/// and answers to a nugget with nothing due, always are.
pub fn on_time(answered_at: NaiveDateTime, previous_due: Option<NaiveDateTime>) -> bool {
    previous_due.is_none_or(|due| answered_at <= due + Duration::days(1))
}

/// Answers of one learner (or summed over a group) in one ISO week: what engagement and trends
/// read instead of the answers themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WeekActivity {
    pub answers: u64,
    pub correct: u64,
    pub on_time: u64,
    /// Bit d set when an answer was given on the week's day d (Monday = 0).
    pub days: u8,
    pub response_times: ResponseTimes,
}

impl WeekActivity {
    /// Counts an answer given at `answered_at` (within this week).
    pub fn add(&mut self, answered_at: NaiveDateTime, correct: bool, on_time: bool, ms: u32) {
        self.answers += 1;
        self.correct += u64::from(correct);
        self.on_time += u64::from(on_time);
        self.days |= 1 << answered_at.weekday().num_days_from_monday();
        self.response_times.add(ms);
    }

    /// One answer's week and its contribution: what recording it adds to the roll-up.
    pub fn of_answer(
        answered_at: NaiveDateTime,
        correct: bool,
        on_time: bool,
        ms: u32,
    ) -> (NaiveDate, WeekActivity) {
        let mut w = WeekActivity::default();
        w.add(answered_at, correct, on_time, ms);
        (week_start(answered_at.date()), w)
    }

    pub fn merge(&mut self, other: &WeekActivity) {
        self.answers += other.answers;
        self.correct += other.correct;
        self.on_time += other.on_time;
        self.days |= other.days;
        self.response_times.merge(&other.response_times);
    }

    /// The days of the week starting `week_start` with an answer.
    pub fn active_days(&self, week_start: NaiveDate) -> impl Iterator<Item = NaiveDate> + '_ {
        (0..7u8)
            .filter(|d| self.days & (1 << d) != 0)
            .map(move |d| week_start + Duration::days(i64::from(d)))
    }
}

/// Fewer pairs than this and a correlation says little: it is still reported, flagged
/// `too_small`. Eight pairs give a 95 % interval of roughly ±0.7 around r = 0.
pub const MIN_CORRELATION_PAIRS: usize = 8;

/// Pearson's r; `None` for fewer than two pairs or when either side does not vary.
pub fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let n = xs.len().min(ys.len());
    if n < 2 {
        return None;
    }
    let mx = xs[..n].iter().sum::<f64>() / n as f64;
    let my = ys[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs[..n].iter().zip(&ys[..n]) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    if sxx <= f64::EPSILON || syy <= f64::EPSILON {
        return None;
    }
    Some((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Ranks 1..=n, ties sharing the mean of their ranks.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// Spearman's rho: Pearson's r of the ranks (ties averaged).
pub fn spearman(xs: &[f64], ys: &[f64]) -> Option<f64> {
    let n = xs.len().min(ys.len());
    pearson(&ranks(&xs[..n]), &ranks(&ys[..n]))
}

/// One line of a KPI upload.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiLine {
    pub line: usize,
    pub email: String,
    pub period: String,
    pub metric: String,
    pub value: f64,
}

/// The header a KPI upload starts with.
pub const KPI_HEADER: [&str; 4] = ["email", "period", "metric", "value"];

fn line_error(line: usize, field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        line: Some(line),
        ..FieldError::new(field, message)
    }
}

/// 1-based line number of byte `offset` of `text`.
fn line_at(text: &str, offset: u64) -> usize {
    // A record's position is where reading resumed, before any blank lines the reader skipped.
    let mut end = (offset as usize).min(text.len());
    while end < text.len() && matches!(text.as_bytes()[end], b'\n' | b'\r') {
        end += 1;
    }
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// One row of a file of figures per person: its line, the person's address, the values of the
/// file's key columns (in their order) and the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureRow {
    pub line: usize,
    pub email: String,
    pub keys: Vec<String>,
    pub value: f64,
}

/// Reads a CSV of figures per person, `email,<keys…>,value` under that header (any case): the
/// organization's KPIs (`period`, `metric`) and an experiment's (`kpi`) alike. Key values are 1
/// to 64 characters; a person with the same keys twice is an error. Every problem is reported
/// with its line; all or nothing.
pub fn parse_figures(text: &str, keys: &[&str]) -> Result<Vec<FigureRow>, Vec<FieldError>> {
    let header: Vec<&str> = std::iter::once("email")
        .chain(keys.iter().copied())
        .chain(std::iter::once("value"))
        .collect();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    let mut header_done = false;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(text, p.byte()));
                errors.push(line_error(line, "body", format!("not valid CSV: {e}")));
                break;
            }
        };
        let line = record.position().map_or(0, |p| line_at(text, p.byte()));
        if record.iter().all(str::is_empty) {
            continue;
        }
        if !header_done {
            header_done = true;
            let found: Vec<String> = record.iter().map(str::to_lowercase).collect();
            if found != header {
                errors.push(line_error(
                    line,
                    "header",
                    format!("the first line must be the header {}", header.join(",")),
                ));
                break;
            }
            continue;
        }
        if record.len() != header.len() {
            errors.push(line_error(
                line,
                "body",
                format!("expected {} columns, found {}", header.len(), record.len()),
            ));
            continue;
        }
        let before = errors.len();
        let email = match super::accounts::Email::parse("email", &record[0]) {
            Ok(e) => e.as_str().to_string(),
            Err(e) => {
                errors.push(line_error(line, "email", e.message));
                String::new()
            }
        };
        let values: Vec<String> = (1..=keys.len()).map(|i| record[i].to_string()).collect();
        for (field, v) in keys.iter().zip(&values) {
            if v.is_empty() || v.chars().count() > 64 || v.chars().any(char::is_control) {
                errors.push(line_error(line, field, "must be 1 to 64 characters"));
            }
        }
        let value = match record[header.len() - 1].parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ => {
                errors.push(line_error(line, "value", "must be a number"));
                0.0
            }
        };
        if errors.len() > before {
            continue;
        }
        if !seen.insert((email.clone(), values.clone())) {
            errors.push(line_error(
                line,
                "body",
                format!(
                    "{email} already has a value for {} in this file",
                    values.join(" ")
                ),
            ));
            continue;
        }
        rows.push(FigureRow {
            line,
            email,
            keys: values,
            value,
        });
    }
    if !header_done && errors.is_empty() {
        errors.push(line_error(1, "body", "the upload is empty"));
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Parses a KPI upload (`email,period,metric,value`, one row per seller, period and metric).
pub fn parse_kpis(text: &str) -> Result<Vec<KpiLine>, Vec<FieldError>> {
    let rows = parse_figures(text, &KPI_HEADER[1..3])?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let [period, metric]: [String; 2] = r.keys.try_into().expect("two key columns");
            KpiLine {
                line: r.line,
                email: r.email,
                period,
                metric,
                value: r.value,
            }
        })
        .collect())
}

/// A colour-blind-safe sequential colour (viridis) for `t` in 0..=1, as RGB.
pub fn viridis(t: f64) -> (u8, u8, u8) {
    // Nine evenly spaced anchors of matplotlib's viridis, linearly interpolated.
    const ANCHORS: [(f64, f64, f64); 9] = [
        (68.0, 1.0, 84.0),
        (71.0, 44.0, 122.0),
        (59.0, 81.0, 139.0),
        (44.0, 113.0, 142.0),
        (33.0, 144.0, 141.0),
        (39.0, 173.0, 129.0),
        (92.0, 200.0, 99.0),
        (170.0, 220.0, 50.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (ANCHORS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(ANCHORS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (ANCHORS[i], ANCHORS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nuggets_are_numbered_by_sorted_topic_and_pack() {
        let index = NuggetIndex::new(
            [
                ("n1", "p2", "Closing"),
                ("n2", "p1", "Discovery"),
                ("n3", "p2", "Discovery"),
            ]
            .into_iter(),
        );
        assert_eq!(index.topics, vec!["Closing", "Discovery"]);
        assert_eq!(index.pack_ids, vec!["p1", "p2"]);
        assert_eq!(index.get("n3"), Some(ScopedNugget { pack: 1, topic: 1 }));
        assert_eq!(index.get("n1"), Some(ScopedNugget { pack: 1, topic: 0 }));
        assert_eq!(index.get("n9"), None);
        let all = index.topic_filter(None);
        assert!(all.keeps(0) && all.keeps(1));
        let discovery = index.topic_filter(Some("Discovery"));
        assert!(!discovery.keeps(0) && discovery.keeps(1));
        let nowhere = index.topic_filter(Some("Nowhere"));
        assert!(!nowhere.keeps(0) && !nowhere.keeps(1));
    }

    #[test]
    fn slots_hand_back_only_what_was_added_to() {
        let mut s = Slots::<Mean>::default();
        s.at(3).add(0.5);
        s.at(0).add(1.0);
        s.at(3).add(1.0);
        let filled: Vec<(usize, Mean)> = s.into_filled().collect();
        assert_eq!(
            filled,
            vec![(0, Mean { sum: 1.0, n: 1 }), (3, Mean { sum: 1.5, n: 2 })]
        );
    }

    #[test]
    fn buckets_are_half_open_and_cover_everything() {
        assert_eq!(bucket_of(-0.1), 0);
        assert_eq!(bucket_of(0.0), 0);
        assert_eq!(bucket_of(0.999), 0);
        assert_eq!(bucket_of(1.0), 1);
        assert_eq!(bucket_of(3.9), 2);
        assert_eq!(bucket_of(7.0), 4);
        assert_eq!(bucket_of(59.99), 6);
        assert_eq!(bucket_of(60.0), 7);
        assert_eq!(bucket_of(10_000.0), 7);
        for pair in RETENTION_BUCKETS.windows(2) {
            assert_eq!(pair[0].to_days, Some(pair[1].from_days));
        }
    }

    #[test]
    fn pearson_and_spearman_match_a_hand_computed_case() {
        // x = 1..5, y = 2,4,5,4,5: mean y = 4, sxy = 6, sxx = 10, syy = 6 → r = 6/√60.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [2.0, 4.0, 5.0, 4.0, 5.0];
        let r = pearson(&x, &y).unwrap();
        assert!((r - 6.0 / 60f64.sqrt()).abs() < 1e-12);
        // Ranks of y: 1, 2.5, 4.5, 2.5, 4.5 → mean 3, sxy = 7, sxx = 10, syy = 9 → 7/√90.
        assert_eq!(ranks(&y), vec![1.0, 2.5, 4.5, 2.5, 4.5]);
        let rho = spearman(&x, &y).unwrap();
        assert!((rho - 7.0 / 90f64.sqrt()).abs() < 1e-12);
        // A monotone but non-linear relation is perfect for Spearman only.
        let cubes: Vec<f64> = x.iter().map(|v| v * v * v).collect();
        assert_eq!(spearman(&x, &cubes), Some(1.0));
        assert!(pearson(&x, &cubes).unwrap() < 1.0);
        assert_eq!(pearson(&[1.0], &[2.0]), None);
        assert_eq!(pearson(&[1.0, 1.0], &[2.0, 3.0]), None);
    }

    fn risk(learner: &str, topic: &str, at_horizon: f64) -> Risk {
        Risk {
            learner_id: learner.into(),
            learner: learner.into(),
            topic: topic.into(),
            recall_now: 0.95,
            recall_at_horizon: at_horizon,
            initial_proficiency: Some(1.0),
            n: 1,
            suggestion: suggestion(topic, Some(1.0)),
        }
    }

    #[test]
    fn risks_below_threshold_come_lowest_first() {
        let ranked = rank_risks(
            vec![
                risk("bo", "Closing", 0.7),
                risk("al", "Discovery", 0.85),
                risk("al", "Closing", 0.5),
                risk("cy", "Closing", 0.7),
            ],
            0.8,
        );
        let order: Vec<(&str, &str)> = ranked
            .iter()
            .map(|r| (r.learner.as_str(), r.topic.as_str()))
            .collect();
        assert_eq!(
            order,
            vec![("al", "Closing"), ("bo", "Closing"), ("cy", "Closing")]
        );
        assert_eq!(
            suggestion("Closing", Some(1.0)),
            "assign a refresher on Closing"
        );
        assert!(suggestion("Closing", Some(0.25)).starts_with("coach on Closing"));
    }

    #[test]
    fn weeks_and_medians() {
        let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        // 4 March 2026 is a Wednesday in ISO week 10.
        assert_eq!(week_start(d(3, 4)), d(3, 2));
        assert_eq!(iso_week_label(d(3, 4)), "2026-W10");
        assert_eq!(recent_weeks(d(3, 4), 3), vec![d(2, 16), d(2, 23), d(3, 2)]);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn kpi_uploads_are_checked_line_by_line() {
        let ok = parse_kpis("email,period,metric,value\nAnn@x.example,2026-Q1,revenue,1200.5\n\nbo@x.example,2026-Q1,revenue,-3\n").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].email, "ann@x.example");
        assert_eq!((ok[1].line, ok[1].value), (4, -3.0));
        let errors = parse_kpis(
            "email,period,metric,value\nnot-an-email,2026-Q1,revenue,1\nann@x.example,,revenue,abc\nann@x.example,Q1,m,1\nann@x.example,Q1,m,2\nann@x.example,Q1\n",
        )
        .unwrap_err();
        let got: Vec<(Option<usize>, &str)> =
            errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Some(2), "email"),
                (Some(3), "period"),
                (Some(3), "value"),
                (Some(5), "body"),
                (Some(6), "body"),
            ]
        );
        assert_eq!(parse_kpis("name,value\n").unwrap_err()[0].field, "header");
        assert_eq!(parse_kpis("").unwrap_err()[0].field, "body");
    }

    #[test]
    fn viridis_runs_dark_purple_to_yellow() {
        assert_eq!(viridis(0.0), (68, 1, 84));
        assert_eq!(viridis(1.0), (253, 231, 37));
        assert_eq!(viridis(2.0), viridis(1.0));
        let mid = viridis(0.5);
        assert_eq!(mid, (33, 144, 141));
    }

    #[test]
    fn means_merge() {
        let mut a = Mean::default();
        assert_eq!(a.value(), None);
        a.add(1.0);
        let mut b = Mean::default();
        b.add(0.0);
        a.merge(b);
        assert_eq!(a.value(), Some(0.5));
    }

    #[test]
    fn response_buckets_are_quarter_octaves_from_250_ms() {
        for (k, edge) in RESPONSE_EDGES_MS.iter().enumerate() {
            let exact = 250.0 * 2f64.powf(k as f64 / 4.0);
            assert!((f64::from(*edge) - exact).abs() <= 0.5, "edge {k}");
        }
        assert_eq!(response_bucket(0), 0);
        assert_eq!(response_bucket(249), 0);
        assert_eq!(response_bucket(250), 1);
        assert_eq!(response_bucket(296), 1);
        assert_eq!(response_bucket(297), 2);
        assert_eq!(response_bucket(12_000), 23);
        assert_eq!(response_bucket(1_023_999), 48);
        assert_eq!(response_bucket(1_024_000), 49);
        assert_eq!(response_bucket(u32::MAX), RESPONSE_BUCKETS - 1);
    }

    fn times(ms: &[u32]) -> ResponseTimes {
        let mut t = ResponseTimes::default();
        for m in ms {
            t.add(*m);
        }
        t
    }

    #[test]
    fn histogram_median_is_interpolated_within_its_bucket() {
        assert_eq!(ResponseTimes::default().median(), None);
        // One answer: the geometric middle of [11,314, 13,454).
        let one = times(&[12_000]).median().unwrap();
        assert!((one - (11_314f64 * 13_454.0).sqrt()).abs() < 1e-6, "{one}");
        // Below 250 ms the bucket starts at 0 and is read linearly.
        assert!((times(&[100]).median().unwrap() - 125.0).abs() < 1e-9);
        // Beyond 17 min only a floor is known.
        assert_eq!(times(&[2_000_000]).median(), Some(1_024_000.0));
        // Three of four answers in one bucket: the median is a third of the way into it.
        let m = times(&[1_000, 5_000, 5_100, 5_200]).median().unwrap();
        assert!(
            (m - 4_757f64 * (5_657f64 / 4_757.0).powf(1.0 / 3.0)).abs() < 1e-6,
            "{m}"
        );
        // Spread over many buckets, it stays within a bucket of the exact median.
        let spread: Vec<u32> = (0..101).map(|i| 2_500 + i * 325).collect();
        let exact = f64::from(spread[50]);
        let m = times(&spread).median().unwrap();
        assert!(
            m / exact < 2f64.powf(0.25) && exact / m < 2f64.powf(0.25),
            "{m}"
        );
    }

    #[test]
    fn week_activity_sums_answers_and_ors_days() {
        let monday = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let at = |d: i64, h: u32| (monday + Duration::days(d)).and_hms_opt(h, 0, 0).unwrap();
        let (start, mut w) = WeekActivity::of_answer(at(2, 9), true, true, 4_000);
        assert_eq!(start, monday);
        let (sunday_start, other) = WeekActivity::of_answer(at(6, 23), false, false, 6_000);
        assert_eq!(sunday_start, monday);
        w.merge(&other);
        w.add(at(2, 18), true, false, 4_100);
        assert_eq!((w.answers, w.correct, w.on_time), (3, 2, 1));
        assert_eq!(w.days, 0b100_0100);
        assert_eq!(
            w.active_days(monday).collect::<Vec<_>>(),
            vec![monday + Duration::days(2), monday + Duration::days(6)]
        );
        assert_eq!(w.response_times.0.iter().sum::<u64>(), 3);
    }

    #[test]
    fn on_time_until_the_day_after_due() {
        let due = NaiveDate::from_ymd_opt(2026, 3, 2)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        assert!(on_time(due - Duration::days(3), Some(due)));
        assert!(on_time(due + Duration::days(1), Some(due)));
        assert!(!on_time(
            due + Duration::days(1) + Duration::seconds(1),
            Some(due)
        ));
        assert!(on_time(due + Duration::days(30), None));
    }

    /// Runs `rows` (learner, value) through a `PerLearner` sum and returns each flush.
    fn flushes(rows: &[(&str, u32)]) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        let mut flush = |learner: &str, sum: u32| out.push((learner.to_string(), sum));
        let mut per = PerLearner::<u32>::default();
        for &(learner, v) in rows {
            *per.of(learner, &mut flush) += v;
        }
        per.finish(&mut flush);
        out
    }

    #[test]
    fn rows_of_one_learner_reach_the_groups_once() {
        assert_eq!(
            flushes(&[("a", 1), ("a", 2), ("b", 5), ("b", 1), ("c", 7)]),
            vec![("a".into(), 3), ("b".into(), 6), ("c".into(), 7)]
        );
    }

    #[test]
    fn a_learner_met_again_is_flushed_again_and_nothing_is_lost() {
        let out = flushes(&[("a", 1), ("b", 2), ("a", 4)]);
        assert_eq!(out, vec![("a".into(), 1), ("b".into(), 2), ("a".into(), 4)]);
        assert!(flushes(&[]).is_empty());
    }
}
