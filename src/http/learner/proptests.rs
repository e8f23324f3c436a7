//! Property tests of the offline batch body: whatever bytes arrive, reading them as a
//! `BatchRequest` (the exact decoding of `POST /api/v1/me/answers/batch`) never panics, answers
//! quickly, refuses with a small problem naming the field at fault, and accepts only batches
//! within the documented limits.

use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

use super::{BatchRequest, MAX_BATCH_ANSWERS};
use crate::error::ApiError;
use crate::http::body::parse_json;

/// A refusal never echoes a large input back.
const MAX_PROBLEM_BYTES: usize = 2048;

/// The fields of a batch a problem may name, and where an unknown field may be named (by its
/// name, shortened when long). serde also reads a struct from a list of its fields in order,
/// so `[0]` may stand for `answers` and `[2]` for an answer's `selected`.
fn field_patterns() -> (regex::Regex, regex::Regex) {
    let field = r"(\.(attempt_id|nugget_id|answered_at|response_ms|confidence|selected)|\[[0-5]\])";
    let known = format!(r"^(body|(answers|\[0\])(\[\d+\]({field}(\[\d+\])?)?)?)$");
    let unknown = r"(?s)^((answers|\[0\])\[\d+\]\.)?.{0,201}$";
    (
        regex::Regex::new(&known).unwrap(),
        regex::Regex::new(unknown).unwrap(),
    )
}

/// Decodes `bytes` as the handler does and checks the outcome.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let result = parse_json::<BatchRequest>(bytes);
    let elapsed = started.elapsed();
    prop_assert!(
        elapsed < Duration::from_secs(1),
        "decoding {} bytes took {elapsed:?}",
        bytes.len()
    );
    match result {
        Ok(batch) => {
            prop_assert!(
                serde_json::from_slice::<Value>(bytes).is_ok(),
                "not JSON, accepted"
            );
            prop_assert!((1..=MAX_BATCH_ANSWERS).contains(&batch.answers.len()));
            for answer in &batch.answers {
                prop_assert!(!answer.selected.is_empty());
                let mut ids = answer.selected.clone();
                ids.sort();
                ids.dedup();
                prop_assert_eq!(ids.len(), answer.selected.len(), "an option chosen twice");
                prop_assert!(answer.response_ms <= i32::MAX as u32);
            }
        }
        Err(e) => {
            let problem = e.problem();
            let size = serde_json::to_vec(&problem).unwrap().len();
            prop_assert!(
                size <= MAX_PROBLEM_BYTES,
                "a {size}-byte problem: {}",
                &problem.detail[..problem.detail.len().min(300)]
            );
            // A wrong shape is reported as soon as it is read, so a body refused for its
            // shape may also be damaged further on; one refused as not JSON must not be JSON.
            match e {
                ApiError::BadRequest(_) => prop_assert!(
                    serde_json::from_slice::<Value>(bytes).is_err(),
                    "valid JSON refused as syntax"
                ),
                ApiError::Validation { errors, .. } => {
                    prop_assert!(!errors.is_empty());
                    let (known, unknown) = field_patterns();
                    for error in &errors {
                        let pattern = match error.message.starts_with("unknown field") {
                            true => &unknown,
                            false => &known,
                        };
                        prop_assert!(
                            pattern.is_match(&error.field),
                            "not a field of the batch: {:?} ({})",
                            error.field,
                            error.message
                        );
                    }
                }
                other => prop_assert!(false, "unexpected refusal {other:?}"),
            }
        }
    }
    Ok(())
}

/// Raw JSON text of a value: well-formed, damaged or hostile.
fn raw(choices: Vec<String>) -> impl Strategy<Value = String> {
    select(choices)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn long(n: usize, c: char) -> String {
    format!("\"{}\"", c.to_string().repeat(n))
}

fn deep(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Values that fit no field, or fit in shape but not in range.
fn hostile_any() -> Vec<String> {
    let mut v = strings(&[
        "null",
        "true",
        "0",
        "-1",
        "1e308",
        "-1e308",
        "99999999999999999999",
        "-99999999999999999999",
        "1.5",
        "\"\"",
        "\" \"",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\"\\ud83d\\ude00\"",
        "[]",
        "{}",
        "[null]",
        "{\"a\":1}",
    ]);
    v.push(long(5000, 'x'));
    v.push(long(3000, 'é'));
    v.push(format!("\"missing field `{}`\"", "z".repeat(50)));
    v.push(deep(40));
    v.push(deep(200));
    v
}

fn attempt_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<u128>().prop_map(|n| format!("\"{}\"", uuid::Uuid::from_u128(n))),
        1 => raw(strings(&[
            "\"00000000-0000-0000-0000-000000000000\"",
            "\"urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8\"",
            "\"{67e55044-10b1-426f-9247-bb680e5fe0c8}\"",
            "\"67e5504410b1426f9247bb680e5fe0c8\"",
            "\"67e55044-10b1-426f-9247-bb680e5fe0c\"",
            "\"67e55044-10b1-426f-9247-bb680e5fe0c8-\"",
            "\"ZZe55044-10b1-426f-9247-bb680e5fe0c8\"",
            "\"not-a-uuid\"",
        ])),
        1 => raw(hostile_any()),
    ]
}

fn option_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => raw(strings(&["\"a\"", "\"b\"", "\"c\"", "\"d\""])),
        1 => "\\PC{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        1 => raw(hostile_any()),
    ]
}

fn selected() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => vec(option_id(), 0..6).prop_map(|ids| format!("[{}]", ids.join(","))),
        1 => (2usize..5000).prop_map(|n| {
            let ids: Vec<String> = (0..n).map(|i| format!("\"{i}\"")).collect();
            format!("[{}]", ids.join(","))
        }),
        1 => raw(hostile_any()),
    ]
}

fn answered_at() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0i64..4_102_444_800).prop_map(|s| {
            let t = chrono::DateTime::from_timestamp(s, 0).unwrap();
            format!("\"{}\"", t.to_rfc3339())
        }),
        2 => raw(strings(&[
            "\"2026-03-10T12:00:00Z\"",
            "\"2026-03-10T12:00:00.123456789+05:30\"",
            "\"2026-03-10t12:00:00z\"",
            "\"2026-03-10 12:00:00Z\"",
            "\"2026-02-30T12:00:00Z\"",
            "\"2026-03-10T24:00:00Z\"",
            "\"2026-12-31T23:59:60Z\"",
            "\"2026-03-10T12:00:00\"",
            "\"2026-03-10\"",
            "\"9999-12-31T23:59:59Z\"",
            "\"9999-12-31T23:59:59-23:59\"",
            "\"0000-01-01T00:00:00Z\"",
            "\"0000-01-01T00:00:00+23:59\"",
            "\"-0001-01-01T00:00:00Z\"",
            "\"+275760-09-13T00:00:00Z\"",
            "\"1970-01-01T00:00:00+24:00\"",
            "\"yesterday\"",
            "1773144000",
        ])),
        1 => raw(hostile_any()),
    ]
}

fn response_ms() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0u32..=i32::MAX as u32).prop_map(|n| n.to_string()),
        2 => raw(strings(&[
            "2147483647",
            "2147483648",
            "4294967296",
            "-5",
            "-0",
            "-0.0",
            "7.0",
            "7.5",
            "2147483647.0",
            "2147483647.5",
            "1e9",
            "1E2",
            "1e-7",
            "\"5000\"",
        ])),
        1 => any::<f64>().prop_map(|f| {
            serde_json::to_string(&f).unwrap()
        }),
        1 => raw(hostile_any()),
    ]
}

fn confidence() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => raw(strings(&["\"sure\"", "\"unsure\"", "null"])),
        1 => raw(strings(&["\"Sure\"", "\"maybe\"", "\"\""])),
        1 => raw(hostile_any()),
    ]
}

/// One answer as JSON text: its fields in any order, some missing, repeated or unknown.
fn answer() -> impl Strategy<Value = String> {
    let fields = (
        attempt_id(),
        "\\PC{0,20}".prop_map(|s| serde_json::to_string(&s).unwrap()),
        selected(),
        answered_at(),
        response_ms(),
        proptest::option::of(confidence()),
    );
    let damage = prop_oneof![
        8 => Just(None),
        1 => (0usize..6).prop_map(|i| Some(("drop", i))),
        1 => (0usize..6).prop_map(|i| Some(("repeat", i))),
        1 => (0usize..6).prop_map(|i| Some(("unknown", i))),
    ];
    (fields, damage, any::<prop::sample::Index>()).prop_map(
        |((attempt, nugget, selected, at, ms, confidence), damage, shuffle)| {
            let mut pairs = vec![
                ("attempt_id".to_string(), attempt),
                ("nugget_id".to_string(), nugget),
                ("selected".to_string(), selected),
                ("answered_at".to_string(), at),
                ("response_ms".to_string(), ms),
            ];
            if let Some(c) = confidence {
                pairs.push(("confidence".to_string(), c));
            }
            match damage {
                Some(("drop", i)) if i < pairs.len() => {
                    pairs.remove(i);
                }
                Some(("repeat", i)) if i < pairs.len() => {
                    let again = pairs[i].clone();
                    pairs.push(again);
                }
                Some(("unknown", i)) => {
                    let name = ["extra", "ATTEMPT_ID", "", "selected ", "answers"][i % 5];
                    pairs.push((name.to_string(), "1".to_string()));
                }
                _ => {}
            }
            let at = shuffle.index(pairs.len());
            pairs.rotate_left(at);
            let body: Vec<String> = pairs
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::to_string(&k).unwrap()))
                .collect();
            format!("{{{}}}", body.join(","))
        },
    )
}

/// A batch as JSON text, from empty to beyond the limit, sometimes with a top-level extra.
fn batch() -> impl Strategy<Value = String> {
    let count = prop_oneof![
        6 => 0usize..8,
        1 => (MAX_BATCH_ANSWERS - 2)..(MAX_BATCH_ANSWERS + 30),
    ];
    let extra = prop_oneof![
        6 => Just(String::new()),
        1 => raw(strings(&[",\"answers\":[]", ",\"extra\":1", ",\"\":null"])),
    ];
    (count, extra).prop_flat_map(|(n, extra)| {
        vec(answer(), n)
            .prop_map(move |answers| format!("{{\"answers\":[{}]{extra}}}", answers.join(",")))
    })
}

/// Damage to JSON text: cut short, a fragment spliced in, or a byte overwritten.
fn mutate(text: &str, how: u8, at: prop::sample::Index, fragment: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    let i = at.index(bytes.len() + 1);
    match how % 4 {
        0 => bytes.truncate(i),
        1 => {
            bytes.splice(i..i, fragment.bytes());
        }
        2 if i < bytes.len() => bytes[i] = fragment.bytes().next().unwrap_or(0xff),
        _ => {}
    }
    bytes
}

const FRAGMENTS: [&str; 16] = [
    "{", "}", "[", "]", ",", ":", "\"", "\\", "null", "-", "e", "\u{0}", "\u{feff}", "\\u",
    "\"a\":", "\u{ff}",
];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        timeout: 20_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_are_refused_cleanly(bytes in vec(any::<u8>(), 0..512)) {
        check(&bytes)?;
    }

    #[test]
    fn json_noise_is_refused_cleanly(pieces in vec(select(FRAGMENTS.to_vec()), 0..80)) {
        check(pieces.concat().as_bytes())?;
    }

    #[test]
    fn hostile_batches_are_accepted_within_limits_or_refused_by_field(text in batch()) {
        check(text.as_bytes())?;
    }

    #[test]
    fn damaged_batches_are_refused_cleanly(
        text in batch(),
        how in any::<u8>(),
        at in any::<prop::sample::Index>(),
        fragment in select(FRAGMENTS.to_vec()),
    ) {
        check(&mutate(&text, how, at, fragment))?;
    }
}

fn valid_answer(i: usize) -> String {
    format!(
        r#"{{"attempt_id":"{}","nugget_id":"n-{i}","selected":["a"],"answered_at":"2026-03-10T12:00:00Z","response_ms":4000}}"#,
        uuid::Uuid::from_u128(i as u128)
    )
}

fn batch_of(n: usize) -> String {
    let answers: Vec<String> = (0..n).map(valid_answer).collect();
    format!("{{\"answers\":[{}]}}", answers.join(","))
}

fn fields_of(e: ApiError) -> Vec<String> {
    e.problem().errors.into_iter().map(|e| e.field).collect()
}

#[test]
fn the_batch_limit_is_enforced_while_reading() {
    let full = parse_json::<BatchRequest>(batch_of(MAX_BATCH_ANSWERS).as_bytes()).unwrap();
    assert_eq!(full.answers.len(), MAX_BATCH_ANSWERS);
    for n in [0, MAX_BATCH_ANSWERS + 1, 10_000] {
        let Err(e) = parse_json::<BatchRequest>(batch_of(n).as_bytes()) else {
            panic!("a batch of {n} answers accepted");
        };
        assert_eq!(fields_of(e), vec!["answers"], "a batch of {n}");
    }
    // The answers past the limit are not read: an unreadable one there changes nothing.
    let over = format!(
        "{{\"answers\":[{},{}]}}",
        (0..MAX_BATCH_ANSWERS)
            .map(valid_answer)
            .collect::<Vec<_>>()
            .join(","),
        r#"{"attempt_id": 7}, {"what": "ever"}"#
    );
    let e = parse_json::<BatchRequest>(over.as_bytes())
        .err()
        .expect("refused");
    assert_eq!(fields_of(e), vec!["answers"]);
}

#[test]
fn many_distinct_options_are_read_in_linear_time() {
    let ids: Vec<String> = (0..200_000).map(|i| format!("\"o{i}\"")).collect();
    let body = format!(
        r#"{{"answers":[{{"attempt_id":"{}","nugget_id":"n","selected":[{}],"answered_at":"2026-03-10T12:00:00Z","response_ms":1}}]}}"#,
        uuid::Uuid::nil(),
        ids.join(",")
    );
    let started = Instant::now();
    let batch = parse_json::<BatchRequest>(body.as_bytes()).unwrap();
    assert_eq!(batch.answers[0].selected.len(), 200_000);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn refusals_quote_long_values_shortly() {
    let huge = "x".repeat(100_000);
    let cases = [
        format!(r#"{{"answers":[{{"confidence":"{huge}"}}]}}"#),
        format!(r#"{{"answers":[{{"{huge}":1}}]}}"#),
        format!(r#"{{"{huge}":1}}"#),
        format!(r#"{{"answers":[{{"selected":["{huge}","{huge}"]}}]}}"#),
        format!(r#"{{"answers":[{{"answered_at":"{huge}"}}]}}"#),
        format!(r#"{{"answers":[{{"attempt_id":"{huge}"}}]}}"#),
    ];
    for body in cases {
        let e = parse_json::<BatchRequest>(body.as_bytes())
            .err()
            .expect("refused");
        let problem = serde_json::to_string(&e.problem()).unwrap();
        assert!(problem.len() < MAX_PROBLEM_BYTES, "{}", &problem[..300]);
    }
}

#[test]
fn a_field_named_in_a_message_is_not_taken_for_the_field_at_fault() {
    let body = r#"{"answers":[{"selected":["missing field `x`","missing field `x`"]}]}"#;
    let e = parse_json::<BatchRequest>(body.as_bytes())
        .err()
        .expect("refused");
    assert_eq!(fields_of(e), vec!["answers[0].selected"]);
}

#[test]
fn text_after_the_batch_is_refused_as_not_json() {
    for tail in ["x", "{}", "\u{0}", ",", "]"] {
        let body = format!("{}{tail}", batch_of(1));
        let e = parse_json::<BatchRequest>(body.as_bytes())
            .err()
            .expect("refused");
        assert!(matches!(e, ApiError::BadRequest(_)), "{tail:?}: {e:?}");
    }
    let spaced = format!(" \n{}\r\n\t ", batch_of(1));
    assert!(parse_json::<BatchRequest>(spaced.as_bytes()).is_ok());
}

#[test]
fn a_confidence_of_the_wrong_type_is_named() {
    for value in ["true", "0", "[]", "{}", "-1e308"] {
        let body = batch_of(1).replace(
            r#""response_ms":4000"#,
            &format!(r#""response_ms":4000,"confidence":{value}"#),
        );
        let e = parse_json::<BatchRequest>(body.as_bytes())
            .err()
            .expect("refused");
        assert_eq!(fields_of(e), vec!["answers[0].confidence"], "{value}");
    }
}
