//! xAPI 1.0.3 statements for answers: each answer is "<learner> answered <nugget>" with the
//! result, so an organization's Learning Record Store sees the same history Reprise does.
//! The statement id is the answer's attempt id, which makes re-sending a statement harmless.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::StoredOption;

pub const VERSION: &str = "1.0.3";
pub const ANSWERED: &str = "http://adlnet.gov/expapi/verbs/answered";
pub const INTERACTION: &str = "http://adlnet.gov/expapi/activities/cmi.interaction";
pub const COURSE: &str = "http://adlnet.gov/expapi/activities/course";
const LANG: &str = "en-US";

type LanguageMap = std::collections::BTreeMap<&'static str, String>;

fn lang(text: &str) -> LanguageMap {
    LanguageMap::from([(LANG, text.to_string())])
}

/// An xAPI 1.0.3 statement: "<learner> answered <nugget>" with the result.
// `XapiStatement` in the API document: client generators name a type's result `<Type>Result`,
// and would take a plain `Statement`'s for the page of statements.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = XapiStatement)]
pub struct Statement {
    pub id: String,
    #[schema(value_type = Object)]
    pub actor: serde_json::Value,
    #[schema(value_type = Object)]
    pub verb: serde_json::Value,
    #[schema(value_type = Object)]
    pub object: serde_json::Value,
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
    #[schema(value_type = Object)]
    pub context: serde_json::Value,
    pub timestamp: String,
    pub stored: String,
    pub version: &'static str,
}

/// Everything a statement says about one answer.
pub struct AnswerFacts<'a> {
    pub attempt_id: &'a str,
    /// Base IRI of this Reprise installation, e.g. `https://reprise.example.com`.
    pub base: &'a str,
    pub org_slug: &'a str,
    pub learner_id: &'a str,
    pub nugget_id: &'a str,
    pub pack_slug: &'a str,
    pub prompt: &'a str,
    pub options: &'a [StoredOption],
    pub selected: &'a [String],
    pub correct: bool,
    pub partial_credit: f64,
    pub response_ms: i64,
    pub answered_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

/// ISO 8601 duration of a response time, e.g. `PT12.5S` (xAPI requires this form).
pub fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    let (secs, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        format!("PT{secs}S")
    } else {
        let frac = format!("{frac:03}");
        format!("PT{secs}.{}S", frac.trim_end_matches('0'))
    }
}

/// The cmi.interaction response pattern for a choice: option ids joined by `[,]`.
pub fn response_pattern(ids: &[String]) -> String {
    let mut ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.join("[,]")
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn statement(a: &AnswerFacts) -> Statement {
    let correct: Vec<String> = a
        .options
        .iter()
        .filter(|o| o.correct)
        .map(|o| o.id.clone())
        .collect();
    let choices: Vec<serde_json::Value> = a
        .options
        .iter()
        .map(|o| serde_json::json!({"id": o.id, "description": lang(&o.text)}))
        .collect();
    let name: String = a.prompt.chars().take(80).collect();
    Statement {
        id: a.attempt_id.to_string(),
        actor: serde_json::json!({
            "objectType": "Agent",
            "account": {"homePage": format!("{}/orgs/{}", a.base, a.org_slug), "name": a.learner_id},
        }),
        verb: serde_json::json!({"id": ANSWERED, "display": lang("answered")}),
        object: serde_json::json!({
            "objectType": "Activity",
            "id": format!("{}/orgs/{}/nuggets/{}", a.base, a.org_slug, a.nugget_id),
            "definition": {
                "type": INTERACTION,
                "name": lang(&name),
                "description": lang(a.prompt),
                "interactionType": "choice",
                "correctResponsesPattern": [response_pattern(&correct)],
                "choices": choices,
            },
        }),
        result: serde_json::json!({
            "success": a.correct,
            "completion": true,
            "response": response_pattern(a.selected),
            "score": {"scaled": a.partial_credit, "raw": a.partial_credit, "min": 0, "max": 1},
            "duration": duration(a.response_ms),
        }),
        context: serde_json::json!({
            "platform": "Reprise",
            "language": LANG,
            "contextActivities": {
                "parent": [{"objectType": "Activity", "id": format!("{}/orgs/{}/packs/{}", a.base, a.org_slug, a.pack_slug),
                            "definition": {"type": COURSE}}],
            },
        }),
        timestamp: time(a.answered_at),
        stored: time(a.received_at),
        version: VERSION,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn durations_are_iso_8601() {
        assert_eq!(duration(12_000), "PT12S");
        assert_eq!(duration(12_500), "PT12.5S");
        assert_eq!(duration(1_005), "PT1.005S");
        assert_eq!(duration(0), "PT0S");
        assert_eq!(duration(-3), "PT0S");
    }

    #[test]
    fn statements_carry_the_answer() {
        let options = vec![
            StoredOption {
                id: "a".into(),
                text: "One".into(),
                correct: true,
                feedback: None,
            },
            StoredOption {
                id: "b".into(),
                text: "Two".into(),
                correct: false,
                feedback: None,
            },
            StoredOption {
                id: "c".into(),
                text: "Three".into(),
                correct: true,
                feedback: None,
            },
        ];
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        let s = statement(&AnswerFacts {
            attempt_id: "0b9a5f3e-4b7c-4a43-8a8a-1d2f3c4b5a6e",
            base: "https://reprise.example",
            org_slug: "acme",
            learner_id: "u1",
            nugget_id: "n1",
            pack_slug: "sample",
            prompt: "Select all that apply.",
            options: &options,
            selected: &["c".to_string(), "a".to_string()],
            correct: true,
            partial_credit: 1.0,
            response_ms: 4200,
            answered_at: at,
            received_at: at + chrono::Duration::seconds(3),
        });
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["object"]["definition"]["correctResponsesPattern"][0],
            "a[,]c"
        );
        assert_eq!(v["result"]["response"], "a[,]c");
        assert_eq!(v["result"]["duration"], "PT4.2S");
        assert_eq!(v["timestamp"], "2026-03-02T08:00:00.000Z");
        assert_eq!(v["stored"], "2026-03-02T08:00:03.000Z");
        assert_eq!(
            v["actor"]["account"]["homePage"],
            "https://reprise.example/orgs/acme"
        );
        assert_eq!(v["verb"]["id"], ANSWERED);
    }
}
