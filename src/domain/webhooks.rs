//! Webhooks as the organization sees them: the events it can subscribe to, the two message
//! formats, what a webhook request must hold, and how long a delivery keeps being retried.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::validation::FieldError;

/// What happened, as the `type` of a message.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum Event {
    /// A learner answered a nugget (practice answers included, marked as such).
    #[serde(rename = "answer.created")]
    AnswerCreated,
    /// An answer retired a nugget for its learner: the policy asks no more of it.
    #[serde(rename = "nugget.mastered")]
    NuggetMastered,
    /// A learner's predicted recall of a topic falls below 0.8 within 7 days (at most once per
    /// learner and week).
    #[serde(rename = "learner.at_risk")]
    LearnerAtRisk,
    /// An answer mastered the last nugget of an assignment for its learner.
    #[serde(rename = "assignment.completed")]
    AssignmentCompleted,
    /// Monday's summary of the organization's week.
    #[serde(rename = "digest.weekly")]
    DigestWeekly,
}

impl Event {
    pub const ALL: [Event; 5] = [
        Event::AnswerCreated,
        Event::NuggetMastered,
        Event::LearnerAtRisk,
        Event::AssignmentCompleted,
        Event::DigestWeekly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::AnswerCreated => "answer.created",
            Event::NuggetMastered => "nugget.mastered",
            Event::LearnerAtRisk => "learner.at_risk",
            Event::AssignmentCompleted => "assignment.completed",
            Event::DigestWeekly => "digest.weekly",
        }
    }

    pub fn parse(text: &str) -> Option<Event> {
        Event::ALL.into_iter().find(|e| e.as_str() == text)
    }

    /// Whether answers are where this event comes from.
    pub fn from_answers(self) -> bool {
        matches!(
            self,
            Event::AnswerCreated | Event::NuggetMastered | Event::AssignmentCompleted
        )
    }
}

/// How a message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Standard Webhooks: the event as JSON, signed.
    Standard,
    /// An incoming-webhook message for a Slack or Microsoft Teams channel: `{"text": …}`.
    Slack,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Standard => "standard",
            Format::Slack => "slack",
        }
    }

    pub fn parse(text: &str) -> Option<Format> {
        [Format::Standard, Format::Slack]
            .into_iter()
            .find(|f| f.as_str() == text)
    }
}

/// A webhook as an admin asks for it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// Where messages are POSTed: an `https` URL (or `http` where the operator allows it)
    /// reaching an address the egress policy allows.
    #[schema(example = "https://hooks.example.com/reprise")]
    pub url: String,
    /// At least one event.
    pub events: Vec<Event>,
    /// Default `standard`.
    #[serde(default)]
    pub format: Option<Format>,
    /// A note for admins: what listens there.
    #[serde(default)]
    pub description: Option<String>,
}

/// A checked request.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    /// Sorted, without repeats.
    pub events: Vec<Event>,
    pub format: Format,
    pub description: String,
}

const MAX_URL: usize = 2000;
const MAX_DESCRIPTION: usize = 200;

impl WebhookRequest {
    /// The request's form (the URL's destination is the outbound client's to judge), every
    /// fault named by its field.
    pub fn check(self) -> Result<NewWebhook, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.url.len() > MAX_URL {
            errors.push(FieldError::new("url", "must be at most 2000 characters"));
        } else if !matches!(url::Url::parse(&self.url), Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some())
        {
            errors.push(FieldError::new("url", "must be an http(s) URL"));
        }
        let mut events = self.events;
        events.sort();
        events.dedup();
        if events.is_empty() {
            errors.push(FieldError::new("events", "must name at least one event"));
        }
        let description = self.description.unwrap_or_default();
        if description.chars().count() > MAX_DESCRIPTION
            || description.chars().any(char::is_control)
        {
            errors.push(FieldError::new(
                "description",
                "must be at most 200 characters, without control characters",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewWebhook {
            url: self.url,
            events,
            format: self.format.unwrap_or(Format::Standard),
            description,
        })
    }
}

/// The comma list events are stored as.
pub fn event_list(events: &[Event]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The stored comma list read back (names no longer known are left out).
pub fn parse_event_list(text: &str) -> Vec<Event> {
    text.split(',').filter_map(Event::parse).collect()
}

/// How long a delivery keeps being retried before it fails and marks its webhook failing.
pub const RETRY_FOR_HOURS: i64 = 24;

/// Waits after the 1st, 2nd, … failed attempt (Standard Webhooks' suggested schedule); the
/// last one repeats until the day is over.
const RETRY_WAITS_SECS: [i64; 7] = [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600];

/// When a delivery made at `created_at` that has now failed `attempts` times is tried again;
/// `None` once that would be more than [`RETRY_FOR_HOURS`] after it was made.
pub fn next_attempt(
    created_at: DateTime<Utc>,
    attempts: i32,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let i = (attempts.max(1) as usize - 1).min(RETRY_WAITS_SECS.len() - 1);
    let at = now + Duration::seconds(RETRY_WAITS_SECS[i]);
    (at <= created_at + Duration::hours(RETRY_FOR_HOURS)).then_some(at)
}

/// Whether a response's status means the message arrived.
pub fn accepted(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The Standard Webhooks body: `{"type", "timestamp", "data"}`.
pub fn envelope(event: Event, at: DateTime<Utc>, data: Value) -> Value {
    json!({"type": event.as_str(), "timestamp": at, "data": data})
}

/// A channel message for `event`, in the incoming-webhook form Slack and Teams both read.
/// `console` is the console's base URL, for a link to the view that shows more.
pub fn chat_message(event: Event, data: &Value, console: &str) -> Value {
    let s = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    let text = match event {
        Event::AnswerCreated => format!(
            "{} answered \"{}\": {}",
            s("learner_name"),
            s("prompt"),
            if data["correct"].as_bool() == Some(true) {
                "right"
            } else {
                "wrong"
            }
        ),
        Event::NuggetMastered => {
            format!("{} mastered \"{}\" ({})", s("learner_name"), s("prompt"), s("topic"))
        }
        Event::AssignmentCompleted => {
            format!("{} completed the pack \"{}\"", s("learner_name"), s("pack"))
        }
        Event::LearnerAtRisk => {
            let topics: Vec<&str> = data["topics"]
                .as_array()
                .map(|ts| ts.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!(
                "{} is at risk of forgetting: {}. Suggest a refresher: {console}/#/analytics",
                s("learner_name"),
                topics.join(", ")
            )
        }
        Event::DigestWeekly => format!(
            "Week of {}: proficiency {}, {} of {} learners active, {} at risk. {console}/#/analytics",
            s("week_start"),
            percent(&data["everyone"]["proficiency"]),
            data["everyone"]["active_learners"].as_u64().unwrap_or(0),
            data["everyone"]["learners"].as_u64().unwrap_or(0),
            data["at_risk_total"].as_u64().unwrap_or(0),
        ),
    };
    json!({ "text": text })
}

fn percent(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "–".into(), |p| format!("{:.0} %", p * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    #[test]
    fn retries_follow_the_schedule_and_stop_after_a_day() {
        let made = at(0);
        assert_eq!(
            next_attempt(made, 1, made),
            Some(made + Duration::seconds(5))
        );
        assert_eq!(
            next_attempt(made, 2, made),
            Some(made + Duration::minutes(5))
        );
        // The tenth failure, 20 hours in: the next try would come after the day.
        assert_eq!(next_attempt(made, 10, at(20)), None);
        assert_eq!(next_attempt(made, 10, at(13)), Some(at(23)));
    }

    #[test]
    fn a_request_is_checked_field_by_field() {
        let bad = WebhookRequest {
            url: "ftp://x".into(),
            events: vec![],
            format: None,
            description: Some("a\u{7}".into()),
        };
        let fields: Vec<String> = bad
            .check()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["url", "events", "description"]);
        let good = WebhookRequest {
            url: "https://hooks.example.com/x".into(),
            events: vec![
                Event::DigestWeekly,
                Event::AnswerCreated,
                Event::DigestWeekly,
            ],
            format: None,
            description: None,
        }
        .check()
        .unwrap();
        assert_eq!(event_list(&good.events), "answer.created,digest.weekly");
        assert_eq!(
            parse_event_list("answer.created,gone,digest.weekly"),
            good.events
        );
        assert_eq!(good.format, Format::Standard);
    }

    #[test]
    fn chat_messages_say_what_happened() {
        let m = chat_message(
            Event::NuggetMastered,
            &json!({"learner_name": "Ada", "prompt": "Which tier?", "topic": "Pricing"}),
            "https://r.example",
        );
        assert_eq!(m["text"], "Ada mastered \"Which tier?\" (Pricing)");
    }
}
