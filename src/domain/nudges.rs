//! Daily nudges: what a learner chose, whether today's nudge is due, and what it says.
//!
//! A nudge is decided once per learner, channel and local day, at or after the learner's
//! reminder time: sent when nuggets wait, skipped (with the reason kept) on a quiet weekday,
//! during a pause, when nothing is due or when the learner already answered that day.

use chrono::{Duration, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::validation::FieldError;

/// When learners are reminded unless they or their organization chose otherwise.
pub const DEFAULT_REMIND_AT: &str = "09:00";

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
    /// Checks the time of day; `field` names where the choice sits in the request.
    pub fn parse(&self, field: &str) -> Result<NotificationSettings, FieldError> {
        Ok(NotificationSettings {
            push: self.push,
            email: self.email,
            remind_at: ClockTime::parse(&format!("{field}remind_at"), &self.remind_at)?,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Push,
    Email,
    /// A manager's weekly digest (e-mail).
    Digest,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Push, Channel::Email, Channel::Digest];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Push => "push",
            Channel::Email => "email",
            Channel::Digest => "digest",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == text)
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
    pub const ALL: [SkipReason; 5] = [
        SkipReason::QuietDay,
        SkipReason::Paused,
        SkipReason::NothingDue,
        SkipReason::AnsweredToday,
        SkipReason::NoDevice,
    ];

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
    /// Nuggets in today's queue.
    pub waiting: usize,
}

/// The day's decision, the same for every channel but `NoDevice`, which the caller adds.
pub fn decide(day: &LearnerDay) -> Result<(), SkipReason> {
    if day.quiet {
        Err(SkipReason::QuietDay)
    } else if day.paused {
        Err(SkipReason::Paused)
    } else if day.answered_today {
        Err(SkipReason::AnsweredToday)
    } else if day.waiting == 0 {
        Err(SkipReason::NothingDue)
    } else {
        Ok(())
    }
}

/// The first words of a prompt, at most `max` characters, cut at a word and marked with an
/// ellipsis when shortened.
pub fn opening_words(prompt: &str, max: usize) -> String {
    let flat = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out = String::new();
    for word in flat.split(' ') {
        let next = if out.is_empty() {
            word.chars().count()
        } else {
            out.chars().count() + 1 + word.chars().count()
        };
        if next > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = flat.chars().take(max).collect();
    }
    out.push('…');
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

/// How long a failed send waits before its next attempt: 1, 2, 4 … minutes, at most an hour.
pub fn retry_delay(attempts: i32) -> Duration {
    let exponent = attempts.clamp(1, 7) - 1;
    Duration::minutes((1i64 << exponent).min(60))
}

/// Sends stop being retried once the day they were for is over (a nudge for yesterday is
/// noise) or after this many attempts.
pub const MAX_ATTEMPTS: i32 = 8;

/// The Monday of the week of `date` (the digest's day).
pub fn week_start(date: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    date - Duration::days(date.weekday().num_days_from_monday() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_are_hh_mm() {
        assert_eq!(ClockTime::parse("t", "09:30").unwrap().to_string(), "09:30");
        assert_eq!(ClockTime::parse("t", "23:59").unwrap().to_string(), "23:59");
        for bad in [
            "9:30", "24:00", "12:60", "noon", "", "12:3", "-1:00", "12:00:00",
        ] {
            let e = ClockTime::parse("remind_at", bad).unwrap_err();
            assert_eq!(e.field, "remind_at", "{bad}");
        }
    }

    #[test]
    fn a_day_is_skipped_for_the_first_reason_that_holds() {
        let day = |quiet, paused, answered_today, waiting| LearnerDay {
            quiet,
            paused,
            answered_today,
            waiting,
        };
        assert_eq!(decide(&day(false, false, false, 3)), Ok(()));
        assert_eq!(
            decide(&day(true, false, false, 3)),
            Err(SkipReason::QuietDay)
        );
        assert_eq!(decide(&day(false, true, false, 3)), Err(SkipReason::Paused));
        assert_eq!(
            decide(&day(false, false, true, 3)),
            Err(SkipReason::AnsweredToday)
        );
        assert_eq!(
            decide(&day(false, false, false, 0)),
            Err(SkipReason::NothingDue)
        );
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
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay(1), Duration::minutes(1));
        assert_eq!(retry_delay(3), Duration::minutes(4));
        assert_eq!(retry_delay(20), Duration::minutes(60));
    }

    #[test]
    fn digests_fall_on_mondays() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(week_start(d("2026-12-09")), d("2026-12-07"));
        assert_eq!(week_start(d("2026-12-07")), d("2026-12-07"));
        assert_eq!(week_start(d("2026-12-13")), d("2026-12-07"));
    }
}
