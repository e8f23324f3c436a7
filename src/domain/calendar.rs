//! Local days: learners live in time zones, and "today" is their day, not the server's.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::validation::FieldError;

/// The learner's local day: its date and its bounds in UTC.
pub struct LocalDay {
    pub date: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// When `date` begins in `tz` (the first valid instant, should midnight be skipped by DST).
/// Whether both database engines can store and compare `at`: years 1 to 9999 (PostgreSQL's
/// timestamps end in 294276 and begin in 4713 BC, SQLite's text sorts only with four-digit
/// years). Times given as filters outside that range are refused rather than sent to a query.
pub fn storable(field: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, FieldError> {
    use chrono::Datelike;
    if (1..=9999).contains(&at.year()) {
        Ok(at)
    } else {
        Err(FieldError::new(
            field,
            "must be between the years 1 and 9999",
        ))
    }
}

pub fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(midnight + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

pub fn local_day(tz: Tz, at: DateTime<Utc>) -> LocalDay {
    let date = at.with_timezone(&tz).date_naive();
    LocalDay {
        date,
        start: local_midnight(tz, date),
        end: local_midnight(tz, date + Duration::days(1)),
    }
}

/// Three-letter lowercase weekday, as organizations list quiet days.
pub fn weekday_code(date: NaiveDate) -> &'static str {
    use chrono::Datelike;
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        [date.weekday().num_days_from_monday() as usize]
}

/// The answer time to trust from a phone: its clock, unless it lies ahead of the server by more
/// than 5 minutes (then `now`) or before the previous answer or the assignment's start (then
/// that bound). Returns the time and, when it was moved, why: `future`, `before_previous` or
/// `before_start`.
pub fn trusted_answer_time(
    client: DateTime<Utc>,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    previous: Option<DateTime<Utc>>,
) -> (DateTime<Utc>, Option<String>) {
    if client > now + Duration::minutes(5) {
        return (now, Some("future".into()));
    }
    if let Some(prev) = previous.filter(|p| client < *p) {
        return (prev, Some("before_previous".into()));
    }
    if client < start {
        return (start, Some("before_start".into()));
    }
    (client, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_four_digit_years_are_storable() {
        let ok = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
        assert!(storable("until", ok).is_ok());
        let early = Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(storable("since", early).unwrap_err().field, "since");
        assert!(storable("since", DateTime::<Utc>::MAX_UTC).is_err());
    }

    #[test]
    fn phone_times_are_trusted_within_bounds_only() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let previous = Utc.with_ymd_and_hms(2026, 3, 9, 8, 0, 0).unwrap();
        let prev = Some(previous);
        let ok = now - Duration::hours(3);
        assert_eq!(trusted_answer_time(ok, now, start, prev), (ok, None));
        let skew = now + Duration::minutes(4);
        assert_eq!(trusted_answer_time(skew, now, start, prev), (skew, None));
        let ahead = now + Duration::hours(2);
        assert_eq!(
            trusted_answer_time(ahead, now, start, prev),
            (now, Some("future".into()))
        );
        let early = Utc.with_ymd_and_hms(2026, 3, 9, 7, 0, 0).unwrap();
        assert_eq!(
            trusted_answer_time(early, now, start, prev),
            (previous, Some("before_previous".into()))
        );
        let before = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(
            trusted_answer_time(before, now, start, None),
            (start, Some("before_start".into()))
        );
    }
}
