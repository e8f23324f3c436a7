//! Coaching notes: a manager's words to a seller on a topic, shown with the seller's next nugget
//! of that topic until the seller has seen them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ids::{NoteId, UserId};
use super::validation::{self, Errors, FieldError};

/// Longest topic a note names, in characters.
pub const MAX_TOPIC: usize = 200;
/// Longest note, in characters.
pub const MAX_BODY: usize = 2000;

/// A coaching note as its readers see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Note {
    #[schema(value_type = String)]
    pub id: NoteId,
    #[schema(value_type = String)]
    pub learner_id: UserId,
    #[schema(value_type = String)]
    pub author_id: UserId,
    pub author_name: String,
    pub topic: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// When the seller saw it with a nugget of its topic (`null`: not yet).
    pub seen_at: Option<DateTime<Utc>>,
}

/// A note as written, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteText {
    pub topic: String,
    pub body: String,
}

impl NoteText {
    /// Checks both fields, reporting every problem. The body may span lines; no other control
    /// character is taken.
    pub fn parse(topic: &str, body: &str) -> Result<NoteText, Vec<FieldError>> {
        let mut errs = Errors::default();
        let topic = errs.check(validation::text("topic", topic, 1, MAX_TOPIC));
        let body = errs.check(body_text(body));
        errs.into_result(|| NoteText {
            topic: topic.unwrap_or_default(),
            body: body.unwrap_or_default(),
        })
    }
}

fn body_text(body: &str) -> Result<String, FieldError> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new("body", "must have at least 1 character"));
    }
    if body.chars().count() > MAX_BODY {
        return Err(FieldError::new(
            "body",
            format!("must have at most {MAX_BODY} characters"),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(FieldError::new(
            "body",
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(trimmed.to_string())
}

/// Which unseen note goes with which nugget of a queue: each note, oldest first, with the first
/// nugget of its topic not already carrying one. `topics` are the queue's nuggets' topics in
/// queue order, `notes` the unseen notes' topics oldest first; the result holds, per nugget, the
/// index of its note. Topics compare without regard to case.
pub fn attach(topics: &[&str], notes: &[&str]) -> Vec<Option<usize>> {
    let mut carried: Vec<Option<usize>> = vec![None; topics.len()];
    for (n, topic) in notes.iter().enumerate() {
        if let Some(slot) = topics
            .iter()
            .enumerate()
            .position(|(i, t)| carried[i].is_none() && t.eq_ignore_ascii_case(topic))
        {
            carried[slot] = Some(n);
        }
    }
    carried
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_note_goes_with_the_next_nugget_of_its_topic() {
        let topics = ["Discovery", "Closing", "Discovery", "Closing"];
        assert_eq!(
            attach(&topics, &["closing", "Discovery", "Closing", "Pricing"]),
            vec![Some(1), Some(0), None, Some(2)]
        );
        assert_eq!(attach(&[], &["Closing"]), Vec::<Option<usize>>::new());
    }

    #[test]
    fn notes_are_checked() {
        let ok = NoteText::parse(" Closing ", "Ask for the order.\nThen wait.").unwrap();
        assert_eq!(ok.topic, "Closing");
        let errs = NoteText::parse("", &"x".repeat(MAX_BODY + 1)).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["topic", "body"]);
        assert!(NoteText::parse("Closing", "a\u{7}b").is_err());
    }
}
