//! CSV packs: one row per nugget, for authors who work in spreadsheets.
//!
//! The header row is required; columns may come in any order:
//!
//! | column                   | required | content                                                   |
//! |--------------------------|----------|-----------------------------------------------------------|
//! | `key`                    | yes      | nugget key, e.g. `vw-01`                                  |
//! | `topic`                  | yes      | topic name                                                |
//! | `tags`                   | no       | tags separated by `;`, e.g. `pricing;basics`              |
//! | `prompt`                 | yes      | the question                                              |
//! | `option_1` … `option_6`  | 1 and 2  | option texts, filled from `option_1` on without gaps      |
//! | `correct`                | yes      | 1-based numbers of the correct options: `2` or `1;3`      |
//! | `explanation`            | no       | shown after answering; without it, a warning             |
//! | `media_url`              | no       | http(s) URL of an image                                   |
//! | `feedback_1` … `feedback_6` | no    | feedback for option N                                     |
//!
//! Cells are trimmed and an empty cell means "absent". Errors name the record's
//! line (the header is line 1; a record with quoted line breaks is named by its
//! first line) and the column. Export writes every column in the order above.

use csv::{ErrorKind, ReaderBuilder, StringRecord, Trim, WriterBuilder};
use serde::Deserialize;

use super::validate::{validate_sourced, FieldPath, Segment, Sourced, MAX_OPTIONS};
use super::{ContentError, ImportMeta, Nugget, NuggetKind, NuggetOption, Pack, Parsed};
use crate::domain::spreadsheet::{restore_cell, safe_cell};

const COLUMNS: [&str; 19] = [
    "key",
    "topic",
    "tags",
    "prompt",
    "option_1",
    "option_2",
    "option_3",
    "option_4",
    "option_5",
    "option_6",
    "correct",
    "explanation",
    "media_url",
    "feedback_1",
    "feedback_2",
    "feedback_3",
    "feedback_4",
    "feedback_5",
    "feedback_6",
];
const REQUIRED: [&str; 6] = ["key", "topic", "prompt", "option_1", "option_2", "correct"];

/// One CSV record; field order is the export column order.
#[derive(Debug, Default, Deserialize)]
struct Row {
    key: String,
    topic: String,
    #[serde(default)]
    tags: String,
    prompt: String,
    option_1: String,
    option_2: String,
    #[serde(default)]
    option_3: String,
    #[serde(default)]
    option_4: String,
    #[serde(default)]
    option_5: String,
    #[serde(default)]
    option_6: String,
    correct: String,
    #[serde(default)]
    explanation: String,
    #[serde(default)]
    media_url: String,
    #[serde(default)]
    feedback_1: String,
    #[serde(default)]
    feedback_2: String,
    #[serde(default)]
    feedback_3: String,
    #[serde(default)]
    feedback_4: String,
    #[serde(default)]
    feedback_5: String,
    #[serde(default)]
    feedback_6: String,
}

impl Row {
    fn options(&self) -> [&str; MAX_OPTIONS] {
        [
            &self.option_1,
            &self.option_2,
            &self.option_3,
            &self.option_4,
            &self.option_5,
            &self.option_6,
        ]
        .map(String::as_str)
    }

    fn feedbacks(&self) -> [&str; MAX_OPTIONS] {
        [
            &self.feedback_1,
            &self.feedback_2,
            &self.feedback_3,
            &self.feedback_4,
            &self.feedback_5,
            &self.feedback_6,
        ]
        .map(String::as_str)
    }

    /// The cells in [`COLUMNS`] order.
    fn cells(&self) -> [&str; COLUMNS.len()] {
        let [o1, o2, o3, o4, o5, o6] = self.options();
        let [f1, f2, f3, f4, f5, f6] = self.feedbacks();
        [
            &self.key,
            &self.topic,
            &self.tags,
            &self.prompt,
            o1,
            o2,
            o3,
            o4,
            o5,
            o6,
            &self.correct,
            &self.explanation,
            &self.media_url,
            f1,
            f2,
            f3,
            f4,
            f5,
            f6,
        ]
    }
}

/// Parses a CSV file into a validated pack with the given metadata.
pub fn parse_csv(text: &str, meta: &ImportMeta, file: Option<&str>) -> Parsed {
    let mut reader = ReaderBuilder::new()
        .trim(Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| vec![csv_error(&error, file)])?
        .clone();
    let header_errors = check_headers(&headers, file);
    if !header_errors.is_empty() {
        return Err(header_errors);
    }

    let mut errors = Vec::new();
    let mut sourced = Vec::new();
    let mut declared = 0;
    for result in reader.records() {
        let index = declared;
        declared += 1;
        let record = match result {
            Ok(record) => record,
            Err(error) => {
                errors.push(csv_error(&error, file));
                continue;
            }
        };
        let line = record
            .position()
            .map_or(0, |position| position.line() as usize);
        // Cells an export neutralised against spreadsheet formulas read back as they were.
        let record: StringRecord = record.iter().map(restore_cell).collect();
        let row: Row = match record.deserialize(Some(&headers)) {
            Ok(row) => row,
            Err(error) => {
                errors.push(ContentError::new(file, Some(line), "", error.to_string()));
                continue;
            }
        };
        match read_row(&row) {
            Ok(nugget) => {
                let option_lines = vec![line; nugget.options.len()];
                sourced.push(Sourced {
                    index,
                    nugget,
                    line,
                    option_lines,
                });
            }
            Err(problems) => errors.extend(
                problems
                    .into_iter()
                    .map(|(column, message)| ContentError::new(file, Some(line), column, message)),
            ),
        }
    }
    validate_sourced(meta, sourced, declared, errors, file, column_of)
}

/// Writes a pack as CSV that [`parse_csv`] reads back to an equal pack given
/// the same metadata. Expects a valid pack (at most six options per nugget). Text a spreadsheet
/// would run as a formula is written with an apostrophe in front, which the import takes off.
pub fn to_csv(pack: &Pack) -> String {
    let mut writer = WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer
        .write_record(COLUMNS)
        .expect("writing to memory cannot fail");
    for nugget in &pack.nuggets {
        let row = row_of(nugget);
        writer
            .write_record(row.cells().map(|cell| safe_cell(cell).into_owned()))
            .expect("writing to memory cannot fail");
    }
    let bytes = writer.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8")
}

fn check_headers(headers: &StringRecord, file: Option<&str>) -> Vec<ContentError> {
    let header_error =
        |column: &str, message: String| ContentError::new(file, Some(1), column, message);
    let mut errors = Vec::new();
    for (position, name) in headers.iter().enumerate() {
        if !COLUMNS.contains(&name) {
            errors.push(header_error(
                name,
                format!("unknown column; expected some of: {}", COLUMNS.join(", ")),
            ));
        } else if headers.iter().take(position).any(|earlier| earlier == name) {
            errors.push(header_error(name, "column appears twice".into()));
        }
    }
    for required in REQUIRED {
        if !headers.iter().any(|name| name == required) {
            errors.push(header_error(required, "required column is missing".into()));
        }
    }
    errors
}

/// Builds a nugget from a row; problems are `(column, message)`.
fn read_row(row: &Row) -> Result<Nugget, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let texts = row.options();
    let count = texts
        .iter()
        .rposition(|text| !text.is_empty())
        .map_or(0, |last| last + 1);
    for (position, text) in texts.iter().enumerate().take(count) {
        if text.is_empty() {
            problems.push((
                format!("option_{}", position + 1),
                "is empty but a later option is filled".into(),
            ));
        }
    }
    for (position, feedback) in row.feedbacks().iter().enumerate().skip(count) {
        if !feedback.is_empty() {
            problems.push((
                format!("feedback_{}", position + 1),
                format!("has no option_{}", position + 1),
            ));
        }
    }
    let mut correct = vec![false; count];
    if row.correct.is_empty() {
        problems.push((
            "correct".into(),
            "must list the correct option numbers, like 1 or 1;3".into(),
        ));
    }
    for part in row
        .correct
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        match part.parse::<usize>() {
            Ok(number) if (1..=count).contains(&number) => correct[number - 1] = true,
            _ => problems.push((
                "correct".into(),
                format!("`{part}` is not an option number from 1 to {count}"),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let feedbacks = row.feedbacks();
    let options = texts
        .iter()
        .zip(feedbacks)
        .zip(correct)
        .map(|((text, feedback), correct)| NuggetOption {
            text: text.to_string(),
            correct,
            feedback: (!feedback.is_empty()).then(|| feedback.to_string()),
        })
        .collect();
    Ok(Nugget {
        kind: NuggetKind::Choice,
        rubric: Vec::new(),
        max_seconds: None,
        key: row.key.clone(),
        topic: row.topic.clone(),
        tags: row
            .tags
            .split(';')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
            .map(str::to_string)
            .collect(),
        prompt: row.prompt.clone(),
        options,
        explanation: row.explanation.clone(),
        media_url: (!row.media_url.is_empty()).then(|| row.media_url.clone()),
    })
}

fn row_of(nugget: &Nugget) -> Row {
    let text = |position: usize| {
        nugget
            .options
            .get(position)
            .map(|o| o.text.clone())
            .unwrap_or_default()
    };
    let feedback = |position: usize| {
        nugget
            .options
            .get(position)
            .and_then(|o| o.feedback.clone())
            .unwrap_or_default()
    };
    let correct: Vec<String> = nugget
        .options
        .iter()
        .enumerate()
        .filter(|(_, option)| option.correct)
        .map(|(position, _)| (position + 1).to_string())
        .collect();
    Row {
        key: nugget.key.clone(),
        topic: nugget.topic.clone(),
        tags: nugget.tags.join(";"),
        prompt: nugget.prompt.clone(),
        option_1: text(0),
        option_2: text(1),
        option_3: text(2),
        option_4: text(3),
        option_5: text(4),
        option_6: text(5),
        correct: correct.join(";"),
        explanation: nugget.explanation.clone(),
        media_url: nugget.media_url.clone().unwrap_or_default(),
        feedback_1: feedback(0),
        feedback_2: feedback(1),
        feedback_3: feedback(2),
        feedback_4: feedback(3),
        feedback_5: feedback(4),
        feedback_6: feedback(5),
    }
}

/// The CSV column a rule violation is about (pack-level paths stay as they are).
fn column_of(path: &FieldPath) -> String {
    use Segment::{Index, Key};
    match path.segments() {
        [Key("nuggets"), Index(_), Key("options"), Index(option), Key("text")] => {
            format!("option_{}", option + 1)
        }
        [Key("nuggets"), Index(_), Key("options"), Index(option), Key("feedback")] => {
            format!("feedback_{}", option + 1)
        }
        [Key("nuggets"), Index(_), Key("options"), ..] => "option_1..option_6".into(),
        [Key("nuggets"), Index(_), Key(column), ..] => column.to_string(),
        _ => path.to_string(),
    }
}

fn csv_error(error: &csv::Error, file: Option<&str>) -> ContentError {
    let line = error.position().map(|position| position.line() as usize);
    let message = match error.kind() {
        ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("record has {len} cells but the header has {expected_len}")
        }
        _ => error.to_string(),
    };
    ContentError::new(file, line, "", message)
}

#[cfg(test)]
mod tests {
    use super::super::tests::meta;
    use super::*;

    const HEADER: &str =
        "key,topic,tags,prompt,option_1,option_2,option_3,correct,explanation,media_url,feedback_1";

    fn parse(text: &str) -> Result<Pack, Vec<ContentError>> {
        parse_csv(text, &meta(), Some("pack.csv")).map(|imported| imported.pack)
    }

    fn rendered(errors: Vec<ContentError>) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn reads_rows_into_nuggets() {
        let text = format!(
            "{HEADER}\n\
             vw-01,Value wedge,pricing; basics ,\"What is the\nvalue wedge?\",The gap,The price,,1,Because.,https://x.io/a.png,Yes!\n\
             vw-02, Value wedge ,,Pick two,A,B,C,1;3,A and C.,,\n"
        );
        let pack = parse(&text).unwrap();
        let first = &pack.nuggets[0];
        assert_eq!(first.tags, ["pricing", "basics"]);
        assert_eq!(first.prompt, "What is the\nvalue wedge?");
        assert_eq!(first.options.len(), 2);
        assert!(first.options[0].correct && !first.options[1].correct);
        assert_eq!(first.options[0].feedback.as_deref(), Some("Yes!"));
        assert_eq!(first.media_url.as_deref(), Some("https://x.io/a.png"));
        let second = &pack.nuggets[1];
        assert_eq!(second.topic, "Value wedge", "cells are trimmed");
        assert!(second.tags.is_empty());
        let correct: Vec<bool> = second.options.iter().map(|o| o.correct).collect();
        assert_eq!(correct, [true, false, true]);
        assert_eq!(second.media_url, None);
    }

    #[test]
    fn header_problems_are_reported_on_line_one() {
        let errors = parse("key,topic,prompt,option_1,colour,key\nx\n").unwrap_err();
        assert_eq!(
            rendered(errors),
            [
                format!(
                    "pack.csv:1: colour: unknown column; expected some of: {}",
                    COLUMNS.join(", ")
                ),
                "pack.csv:1: key: column appears twice".to_string(),
                "pack.csv:1: option_2: required column is missing".to_string(),
                "pack.csv:1: correct: required column is missing".to_string(),
            ]
        );
    }

    #[test]
    fn row_problems_name_line_and_column() {
        let text = format!(
            "{HEADER}\n\
             a,T,,P,x,,z,1,E,,\n\
             b,T,,P,x,y,,,E,,\n\
             c,T,,P,x,y,,1;4;z,E,,\n\
             d,T,,P,x,y\n\
             e,T,,\"multi\nline\",x,x,,1,E,,\n\
             Bad Key,T,,P,x,y,,2,,ftp://x,\n"
        );
        assert_eq!(
            rendered(parse(&text).unwrap_err()),
            [
                "pack.csv:2: option_2: is empty but a later option is filled",
                "pack.csv:3: correct: must list the correct option numbers, like 1 or 1;3",
                "pack.csv:4: correct: `4` is not an option number from 1 to 2",
                "pack.csv:4: correct: `z` is not an option number from 1 to 2",
                "pack.csv:5: record has 6 cells but the header has 11",
                "pack.csv:6: option_2: duplicate option text (same as options[0])",
                "pack.csv:8: key: must be 1 to 64 lowercase letters, digits or dashes, \
                 starting with a letter or digit (got \"Bad Key\")",
                "pack.csv:8: media_url: must be an http:// or https:// URL without spaces (got \"ftp://x\")",
            ]
        );
    }

    #[test]
    fn feedback_without_option_is_an_error() {
        let text =
            "key,topic,prompt,option_1,option_2,correct,explanation,feedback_3\nk,T,P,a,b,1,E,fb\n";
        assert_eq!(
            rendered(parse(text).unwrap_err()),
            ["pack.csv:2: feedback_3: has no option_3"]
        );
    }

    #[test]
    fn too_few_options_name_the_option_columns() {
        let text = "key,topic,prompt,option_1,option_2,correct,explanation\nk,T,P,a,,1,E\n";
        assert_eq!(
            rendered(parse(text).unwrap_err()),
            ["pack.csv:2: option_1..option_6: must have 2 to 6 options (got 1)"]
        );
    }

    #[test]
    fn spreadsheet_exports_with_bom_and_crlf_are_read() {
        let text =
            "\u{feff}key,topic,prompt,option_1,option_2,correct,explanation\r\nk,T,P,a,b,2,E\r\n";
        let pack = parse(text).unwrap();
        assert_eq!(pack.nuggets[0].key, "k");
        assert!(pack.nuggets[0].options[1].correct);
    }

    #[test]
    fn header_only_file_has_no_nuggets() {
        let errors = parse(&format!("{HEADER}\n")).unwrap_err();
        assert_eq!(
            rendered(errors),
            ["pack.csv: nuggets: a pack needs at least one nugget"]
        );
    }

    #[test]
    fn export_writes_every_column_and_round_trips() {
        let text = format!(
            "{HEADER}\nvw-01,Value wedge,a;b,\"Q, \"\"quoted\"\"\nnext\",x,y,z,2;3,E,,fb\n"
        );
        let pack = parse(&text).unwrap();
        let exported = to_csv(&pack);
        assert_eq!(exported.lines().next().unwrap(), COLUMNS.join(","));
        assert_eq!(parse(&exported).unwrap(), pack);
    }

    #[test]
    fn export_carries_no_formulas_and_reads_back_the_same_text() {
        let text = format!(
            "{HEADER}\nvw-01,\"=HYPERLINK(\"\"http://x\"\")\",a,@cmd,+x,''=quoted,-y,2,E,,\n"
        );
        let pack = parse(&text).unwrap();
        assert_eq!(pack.nuggets[0].topic, "=HYPERLINK(\"http://x\")");
        // An apostrophe before formula-like text is the spreadsheet's escape and is taken off.
        assert_eq!(pack.nuggets[0].options[1].text, "'=quoted");
        let exported = to_csv(&pack);
        let record = exported.lines().nth(1).unwrap();
        for cell in ["\"'=HYPERLINK(", "'@cmd", "'+x", "''=quoted", "'-y"] {
            assert!(record.contains(cell), "{cell} missing from {record}");
        }
        assert_eq!(parse(&exported).unwrap(), pack);
    }
}
