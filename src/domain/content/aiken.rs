//! Aiken, Moodle's simplest multiple-choice format: import only.
//!
//! ```text
//! What is the value wedge?          <- question text, one or more lines
//! A) The price
//! B. The gap between value and price   <- options: a capital letter, `)` or `.`, a space
//! ANSWER: B
//! ```
//!
//! Decisions:
//! - Aiken has no feedback, explanation, title, topic or tags. The explanation
//!   falls back to "The correct answer is: <option text>." so the nugget still
//!   teaches something; keys are `q-001`, `q-002`, … by position; the topic is
//!   "General".
//! - Blank lines are optional between questions; a question ends at its
//!   `ANSWER:` line, which names exactly one option letter.
//! - Each problem is reported with its line and reading goes on with the next
//!   question, so one pass shows every error.

use winnow::ascii::{space0, space1};
use winnow::combinator::{alt, delimited, eof, preceded};
use winnow::token::{one_of, rest};
use winnow::{ModalResult, Parser};

use super::validate::{validate_sourced, Sourced};
#[cfg(test)]
use super::Pack;
use super::{strip_bom, ContentError, ImportMeta, Nugget, NuggetKind, NuggetOption, Parsed};

const TOPIC: &str = "General";

/// What one line of an Aiken file is.
#[derive(Clone, Debug, PartialEq)]
enum Line<'a> {
    Blank,
    Answer(&'a str),
    Option(char, &'a str),
    Text(&'a str),
}

fn line<'a>(input: &mut &'a str) -> ModalResult<Line<'a>> {
    alt((
        eof.value(Line::Blank),
        preceded(("ANSWER", space0, ':'), rest).map(Line::Answer),
        (
            one_of(|c: char| c.is_ascii_uppercase()),
            one_of(['.', ')']),
            space1,
            rest,
        )
            .map(|(letter, _, _, text)| Line::Option(letter, text)),
        rest.map(Line::Text),
    ))
    .parse_next(input)
}

fn answer_letter(input: &mut &str) -> ModalResult<char> {
    delimited(
        space0,
        one_of(|c: char| c.is_ascii_uppercase()),
        (space0, eof),
    )
    .parse_next(input)
}

/// A question being read: its first line, text lines and `(letter, text, line)` options.
struct Pending<'a> {
    line: usize,
    prompt: Vec<&'a str>,
    options: Vec<(char, &'a str, usize)>,
}

/// Parses an Aiken file into a validated pack with the given metadata.
pub fn parse_aiken(text: &str, meta: &ImportMeta, file: Option<&str>) -> Parsed {
    let mut errors = Vec::new();
    let mut sourced = Vec::new();
    let mut declared = 0;
    let mut pending: Option<Pending> = None;
    let mut fail = |line: usize, index: usize, message: &str| {
        errors.push(ContentError::new(
            file,
            Some(line),
            format!("nuggets[{index}]"),
            message,
        ));
    };
    for (position, raw) in strip_bom(text).lines().enumerate() {
        let number = position + 1;
        let kind = line
            .parse(raw.trim())
            .expect("every line is blank, an option, an answer or text");
        match (kind, pending.as_mut()) {
            (Line::Blank, _) => {}
            (Line::Text(text), Some(question)) if question.options.is_empty() => {
                question.prompt.push(text)
            }
            (Line::Text(text), current) => {
                if let Some(question) = current {
                    fail(question.line, declared, "question has no ANSWER line");
                    declared += 1;
                }
                pending = Some(Pending {
                    line: number,
                    prompt: vec![text],
                    options: Vec::new(),
                });
            }
            (Line::Option(..), None) => {
                fail(number, declared, "option without a question above it")
            }
            (Line::Option(letter, _), Some(question))
                if question.options.iter().any(|o| o.0 == letter) =>
            {
                fail(number, declared, &format!("option {letter} appears twice"));
            }
            (Line::Option(letter, text), Some(question)) => {
                question.options.push((letter, text, number))
            }
            (Line::Answer(_), None) => fail(number, declared, "ANSWER without a question above it"),
            (Line::Answer(answer), Some(_)) => {
                let question = pending.take().expect("matched Some");
                match finish_question(&question, answer, declared) {
                    Ok(found) => sourced.push(found),
                    Err(message) => fail(number, declared, &message),
                }
                declared += 1;
            }
        }
    }
    if let Some(question) = pending {
        fail(question.line, declared, "question has no ANSWER line");
        declared += 1;
    }
    validate_sourced(meta, sourced, declared, errors, file, ToString::to_string)
}

fn finish_question(question: &Pending, answer: &str, index: usize) -> Result<Sourced, String> {
    if question.options.is_empty() {
        return Err("ANSWER comes before any option".into());
    }
    let letter = answer_letter.parse(answer).map_err(|_| {
        format!(
            "ANSWER must name one option letter, like `ANSWER: B` (got `{}`)",
            answer.trim()
        )
    })?;
    let Some(&(_, correct_text, _)) = question.options.iter().find(|option| option.0 == letter)
    else {
        return Err(format!("ANSWER {letter} names no option of this question"));
    };
    let options = question
        .options
        .iter()
        .map(|&(option, text, _)| NuggetOption {
            text: text.trim().to_string(),
            correct: option == letter,
            feedback: None,
        })
        .collect();
    let nugget = Nugget {
        kind: NuggetKind::Choice,
        rubric: Vec::new(),
        max_seconds: None,
        key: format!("q-{:03}", index + 1),
        topic: TOPIC.to_string(),
        tags: Vec::new(),
        prompt: question.prompt.join("\n"),
        options,
        explanation: fallback_explanation(correct_text.trim()),
        media_url: None,
    };
    Ok(Sourced {
        index,
        nugget,
        line: question.line,
        option_lines: question.options.iter().map(|option| option.2).collect(),
    })
}

/// "The correct answer is: <text>." without doubling the text's own final punctuation.
fn fallback_explanation(correct: &str) -> String {
    let stop = if correct.ends_with(['.', '!', '?']) {
        ""
    } else {
        "."
    };
    format!("The correct answer is: {correct}{stop}")
}

#[cfg(test)]
mod tests {
    use super::super::tests::meta;
    use super::*;

    fn parse(text: &str) -> Result<Pack, Vec<ContentError>> {
        parse_aiken(text, &meta(), Some("quiz.txt")).map(|imported| imported.pack)
    }

    fn rendered(errors: Vec<ContentError>) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn reads_questions_with_both_option_styles() {
        let text = "What is the value wedge?\nA) The price\nB) The gap between value and price\nANSWER: B\n\n\
                    Which city\nis the capital of France?\nA. Lyon\nB. Paris.\nC. Nice\nANSWER:A\n";
        let pack = parse(text).unwrap();
        assert_eq!(pack.slug, "imported");
        let first = &pack.nuggets[0];
        assert_eq!(first.key, "q-001");
        assert_eq!(first.topic, "General");
        assert_eq!(first.prompt, "What is the value wedge?");
        assert_eq!(
            first.options,
            [
                NuggetOption {
                    text: "The price".into(),
                    correct: false,
                    feedback: None
                },
                NuggetOption {
                    text: "The gap between value and price".into(),
                    correct: true,
                    feedback: None
                },
            ]
        );
        assert_eq!(
            first.explanation,
            "The correct answer is: The gap between value and price."
        );
        let second = &pack.nuggets[1];
        assert_eq!(second.key, "q-002");
        assert_eq!(second.prompt, "Which city\nis the capital of France?");
        assert_eq!(second.options.len(), 3);
        assert!(second.options[0].correct);
        assert_eq!(second.explanation, "The correct answer is: Lyon.");
        assert_eq!(
            fallback_explanation("Paris."),
            "The correct answer is: Paris."
        );
    }

    #[test]
    fn questions_need_no_blank_line_between_them() {
        let pack = parse("Q1\nA) a\nB) b\nANSWER: A\nQ2\nA) c\nB) d\nANSWER: B").unwrap();
        assert_eq!(pack.nuggets.len(), 2);
    }

    #[test]
    fn reports_every_broken_question_by_line() {
        let text = "\
A) orphan option
Q1
A) a
B) b
Q2 starts before Q1 has an ANSWER
A) a
A) again
ANSWER: C
Q3
ANSWER: A
ANSWER: B
Q4
A) x
B) y
ANSWER: A or B
Q5
A) same
B) same
ANSWER: A
Q6
A) only one";
        assert_eq!(
            rendered(parse(text).unwrap_err()),
            [
                "quiz.txt:1: nuggets[0]: option without a question above it",
                "quiz.txt:2: nuggets[0]: question has no ANSWER line",
                "quiz.txt:7: nuggets[1]: option A appears twice",
                "quiz.txt:8: nuggets[1]: ANSWER C names no option of this question",
                "quiz.txt:10: nuggets[2]: ANSWER comes before any option",
                "quiz.txt:11: nuggets[3]: ANSWER without a question above it",
                "quiz.txt:15: nuggets[3]: ANSWER must name one option letter, like `ANSWER: B` (got `A or B`)",
                "quiz.txt:18: nuggets[4].options[1].text: duplicate option text (same as options[0])",
                "quiz.txt:20: nuggets[5]: question has no ANSWER line",
            ]
        );
    }

    #[test]
    fn too_many_options_are_a_rule_violation_on_the_question_line() {
        let options: String = "ABCDEFG"
            .chars()
            .map(|c| format!("{c}) option {c}\n"))
            .collect();
        let errors = parse(&format!("\n\nPick\n{options}ANSWER: A\n")).unwrap_err();
        assert_eq!(
            rendered(errors),
            ["quiz.txt:3: nuggets[0].options: must have 2 to 6 options (got 7)"]
        );
    }

    #[test]
    fn windows_files_read_like_unix_ones() {
        let unix = "Q\nA) a\nB) b\nANSWER: B\n";
        assert_eq!(
            parse(&format!("\u{feff}{}", unix.replace('\n', "\r\n"))).unwrap(),
            parse(unix).unwrap()
        );
    }

    #[test]
    fn empty_input_has_no_nuggets() {
        let errors = parse("\n\n").unwrap_err();
        assert_eq!(
            rendered(errors),
            ["quiz.txt: nuggets: a pack needs at least one nugget"]
        );
    }

    #[test]
    fn classifies_lines() {
        let classify = |text: &'static str| line.parse(text).unwrap();
        assert_eq!(classify(""), Line::Blank);
        assert_eq!(classify("ANSWER: B"), Line::Answer(" B"));
        assert_eq!(classify("B) text"), Line::Option('B', "text"));
        assert_eq!(classify("C. text"), Line::Option('C', "text"));
        assert_eq!(classify("A.B. testing"), Line::Text("A.B. testing"));
        assert_eq!(classify("a) lower"), Line::Text("a) lower"));
    }
}
