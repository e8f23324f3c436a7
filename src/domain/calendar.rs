//! Local days: learners live in time zones, and "today" is their day, not the server's.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The learner's local day: its date and its bounds in UTC.
pub struct LocalDay {
    pub date: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// When `date` begins in `tz` (the first valid instant, should midnight be skipped by DST).
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
