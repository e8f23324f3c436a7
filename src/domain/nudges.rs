//! Daily nudges: what a learner chose, whether today's nudge is due, and what it says.
//!
//! A nudge is decided once per learner, channel and local day, at or after the learner's
//! reminder time: sent when nuggets wait, skipped (with the reason kept) on a quiet weekday,
//! during a pause, when nothing is due or when the learner already answered that day.

use chrono::{Duration, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::validation::FieldError;

/// A time of day written `HH:MM` (24-hour), in the learner's own time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClockTime(NaiveTime);

impl ClockTime {
    pub fn parse(field: &str, text: &str) -> Result<ClockTime, FieldError> {
        let bad = || FieldError::new(field, "must be a time of day written HH:MM, e.g. 09:00");
        let (h, m) = text.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        NaiveTime::from_hms_opt(h, m, 0)
            .map(ClockTime)
            .ok_or_else(bad)
    }

    pub fn time(self) -> NaiveTime {
        self.0
    }
}

/// 09:00: when learners are reminded unless they or their organization chose otherwise.
impl Default for ClockTime {
    fn default() -> Self {
        ClockTime(NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a time of day"))
    }
}

impl std::fmt::Display for ClockTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}

/// How a learner is reminded: by push on the devices they allowed, by e-mail, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotificationSettings {
    pub push: bool,
    pub email: bool,
    pub remind_at: ClockTime,
}

impl NotificationSettings {
    /// Whether a manager's weekly digest falls due at this local date and time: on Mondays,
    /// from the reminder time on, for those who take e-mail.
    pub fn digest_due(&self, local_date: NaiveDate, local_time: NaiveTime) -> bool {
        use chrono::Datelike;
        self.email
            && local_date.weekday() == chrono::Weekday::Mon
            && local_time >= self.remind_at.time()
    }

    /// The channels a decision is due on at `local_time`: none before the reminder time, then
    /// each channel chosen that has no decision yet today.
    pub fn channels_due(
        &self,
        local_time: NaiveTime,
        decided: impl Fn(Channel) -> bool,
    ) -> Vec<Channel> {
        if local_time < self.remind_at.time() {
            return Vec::new();
        }
        [(Channel::Push, self.push), (Channel::Email, self.email)]
            .into_iter()
            .filter(|&(channel, chosen)| chosen && !decided(channel))
            .map(|(channel, _)| channel)
            .collect()
    }
}

/// Reminder choices as the API shows and takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationChoice {
    /// Push notifications on the devices the learner allowed.
    pub push: bool,
    /// A daily e-mail.
    pub email: bool,
    /// Local time of day of the reminder, `HH:MM` (24-hour).
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "09:00")]
    pub remind_at: String,
}

impl NotificationChoice {
    /// Checks the time of day; a bad one is reported as `field` (where `remind_at` sits in the
    /// request).
    pub fn parse(&self, field: &str) -> Result<NotificationSettings, FieldError> {
        Ok(NotificationSettings {
            push: self.push,
            email: self.email,
            remind_at: ClockTime::parse(field, &self.remind_at)?,
        })
    }
}

impl From<NotificationSettings> for NotificationChoice {
    fn from(s: NotificationSettings) -> Self {
        NotificationChoice {
            push: s.push,
            email: s.email,
            remind_at: s.remind_at.to_string(),
        }
    }
}

/// The way a nudge reaches its reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Push,
    Email,
    /// A manager's weekly digest, by e-mail.
    Digest,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Push => "push",
            Channel::Email => "email",
            Channel::Digest => "digest",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        [Channel::Push, Channel::Email, Channel::Digest]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

/// Why no nudge goes out on a channel on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    QuietDay,
    Paused,
    NothingDue,
    AnsweredToday,
    /// Push was chosen but no device of the learner's is subscribed.
    NoDevice,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::QuietDay => "quiet_day",
            SkipReason::Paused => "paused",
            SkipReason::NothingDue => "nothing_due",
            SkipReason::AnsweredToday => "answered_today",
            SkipReason::NoDevice => "no_device",
        }
    }
}

/// What a learner's day looks like when their reminder time has come.
pub struct LearnerDay {
    pub quiet: bool,
    pub paused: bool,
    pub answered_today: bool,
    /// Nuggets in today's queue (built only when [`LearnerDay::may_be_nudged`]).
    pub waiting: usize,
}

impl LearnerDay {
    /// Whether anything but the queue could still stop a nudge: only then is the queue worth
    /// building.
    pub fn may_be_nudged(&self) -> bool {
        !(self.quiet || self.paused || self.answered_today)
    }

    /// The day's decision on `channel`: send (`Ok`) or the first reason to skip that holds.
    pub fn decide(&self, channel: Channel, has_device: bool) -> Result<(), SkipReason> {
        if self.quiet {
            Err(SkipReason::QuietDay)
        } else if self.paused {
            Err(SkipReason::Paused)
        } else if self.answered_today {
            Err(SkipReason::AnsweredToday)
        } else if self.waiting == 0 {
            Err(SkipReason::NothingDue)
        } else if channel == Channel::Push && !has_device {
            Err(SkipReason::NoDevice)
        } else {
            Ok(())
        }
    }
}

/// The first words of a prompt, at most `max` characters, cut at a word and marked with an
/// ellipsis when shortened.
pub fn opening_words(prompt: &str, max: usize) -> String {
    let words: Vec<&str> = prompt.split_whitespace().collect();
    let mut out = String::new();
    let mut len = 0;
    for word in &words {
        let needed = word.chars().count() + usize::from(len > 0);
        if len + needed > max {
            if len == 0 {
                out.extend(word.chars().take(max));
            }
            out.push('…');
            return out;
        }
        if len > 0 {
            out.push(' ');
        }
        out.push_str(word);
        len += needed;
    }
    out
}

/// The nudge's text: a title saying how many nuggets wait and the first prompt's opening.
pub struct NudgeText {
    pub title: String,
    pub body: String,
}

pub fn nudge_text(waiting: usize, opening: &str) -> NudgeText {
    let title = match waiting {
        1 => "1 nugget is waiting for you".to_string(),
        n => format!("{n} nuggets are waiting for you"),
    };
    NudgeText {
        title,
        body: format!("“{opening}”"),
    }
}

/// Attempts at sending one nudge before it is given up.
pub const MAX_ATTEMPTS: i32 = 8;

/// When a send that failed for the `attempts`-th time is tried again: after 1, 2, 4 … minutes,
/// at most an hour; `None` once [`MAX_ATTEMPTS`] are spent.
pub fn retry_delay(attempts: i32) -> Option<Duration> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let exponent = attempts.clamp(1, 7) - 1;
    Some(Duration::minutes((1i64 << exponent).min(60)))
}

/// How long after a nudge an answer counts as a response to it: long enough for a reader who
/// sees the message at the next break, short enough that the day's routine practice (which
/// would have happened without the nudge) is mostly left out.
pub const RESPONSE_WINDOW: Duration = Duration::hours(2);

/// One learner's sent nudges in one week: how many per channel, and whether an answer followed
/// one of them within [`RESPONSE_WINDOW`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LearnerNudges {
    pub push: u64,
    pub email: u64,
    pub answered: bool,
}

impl LearnerNudges {
    pub fn add(&mut self, channel: Channel, answered_within_window: bool) {
        match channel {
            Channel::Push => self.push += 1,
            Channel::Email => self.email += 1,
            // Managers' digests are not counted as learners' reminders.
            Channel::Digest => return,
        }
        self.answered |= answered_within_window;
    }
}

/// Nudges of a group of learners in one week. Learners, not nudges, are the unit of the
/// response share: a learner nudged on both channels, or on several days, counts once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NudgeWeek {
    pub push: u64,
    pub email: u64,
    /// Learners with at least one sent nudge.
    pub nudged: u64,
    /// Of those, learners who answered within the window after one.
    pub answered: u64,
}

impl NudgeWeek {
    pub fn add(&mut self, learner: &LearnerNudges) {
        self.push += learner.push;
        self.email += learner.email;
        self.nudged += 1;
        self.answered += u64::from(learner.answered);
    }

    /// Share of nudged learners who answered within the window; `None` when nobody was nudged.
    pub fn answered_share(&self) -> Option<f64> {
        (self.nudged > 0).then(|| self.answered as f64 / self.nudged as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_are_hh_mm() {
        assert_eq!(ClockTime::parse("t", "09:30").unwrap().to_string(), "09:30");
        assert_eq!(ClockTime::parse("t", "23:59").unwrap().to_string(), "23:59");
        assert_eq!(ClockTime::default().to_string(), "09:00");
        for bad in [
            "9:30", "24:00", "12:60", "noon", "", "12:3", "-1:00", "12:00:00", " 09:00",
        ] {
            let e = ClockTime::parse("remind_at", bad).unwrap_err();
            assert_eq!(e.field, "remind_at", "{bad}");
        }
    }

    #[test]
    fn channels_come_due_at_the_reminder_time_once_a_day() {
        let settings = NotificationSettings {
            push: true,
            email: false,
            remind_at: ClockTime::parse("t", "08:30").unwrap(),
        };
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(settings.channels_due(at(8, 29), |_| false).is_empty());
        assert_eq!(settings.channels_due(at(8, 30), |_| false), [Channel::Push]);
        assert!(settings
            .channels_due(at(17, 0), |c| c == Channel::Push)
            .is_empty());
        let both = NotificationSettings {
            email: true,
            ..settings
        };
        assert_eq!(
            both.channels_due(at(9, 0), |c| c == Channel::Push),
            [Channel::Email]
        );
    }

    #[test]
    fn a_day_is_skipped_for_the_first_reason_that_holds() {
        let day = |quiet, paused, answered_today, waiting| LearnerDay {
            quiet,
            paused,
            answered_today,
            waiting,
        };
        let email = |d: LearnerDay| d.decide(Channel::Email, false);
        assert_eq!(email(day(false, false, false, 3)), Ok(()));
        assert_eq!(email(day(true, false, false, 3)), Err(SkipReason::QuietDay));
        assert_eq!(email(day(false, true, false, 3)), Err(SkipReason::Paused));
        assert_eq!(
            email(day(false, false, true, 3)),
            Err(SkipReason::AnsweredToday)
        );
        assert_eq!(
            email(day(false, false, false, 0)),
            Err(SkipReason::NothingDue)
        );
        let ready = day(false, false, false, 2);
        assert_eq!(
            ready.decide(Channel::Push, false),
            Err(SkipReason::NoDevice)
        );
        assert_eq!(ready.decide(Channel::Push, true), Ok(()));
        assert!(ready.may_be_nudged());
        assert!(!day(false, true, false, 0).may_be_nudged());
    }

    #[test]
    fn openings_are_cut_at_a_word() {
        assert_eq!(
            opening_words("Short  prompt\nhere", 40),
            "Short prompt here"
        );
        assert_eq!(
            opening_words("The buyer says your price is far too high for them", 24),
            "The buyer says your…"
        );
        assert_eq!(opening_words("Supercalifragilistic", 5), "Super…");
    }

    #[test]
    fn retries_back_off_to_an_hour_then_stop() {
        assert_eq!(retry_delay(1), Some(Duration::minutes(1)));
        assert_eq!(retry_delay(3), Some(Duration::minutes(4)));
        assert_eq!(retry_delay(7), Some(Duration::minutes(60)));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
    }

    #[test]
    fn a_learner_counts_once_in_the_response_share_whatever_the_nudges() {
        let mut both = LearnerNudges::default();
        both.add(Channel::Push, false);
        both.add(Channel::Email, true);
        both.add(Channel::Email, false);
        let mut silent = LearnerNudges::default();
        silent.add(Channel::Push, false);
        let mut week = NudgeWeek::default();
        assert_eq!(week.answered_share(), None, "nobody nudged");
        week.add(&both);
        week.add(&silent);
        assert_eq!(
            (week.push, week.email, week.nudged, week.answered),
            (2, 2, 2, 1)
        );
        assert_eq!(week.answered_share(), Some(0.5));
    }
}
