//! Property tests: no reader panics on arbitrary text, and every valid pack
//! survives an export/import round trip through each writable format.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::string::string_regex;

use super::*;

/// Fragments that exercise the syntax of every format.
const FRAGMENTS: [&str; 40] = [
    "{",
    "}",
    "~",
    "=",
    "#",
    ":",
    "\\",
    "%",
    "\n",
    "\n\n",
    " ",
    "\t",
    "::",
    "####",
    "{=",
    "~%50%",
    "%-100%",
    "->",
    "{T}",
    "{FALSE#",
    "[html]",
    "$CATEGORY: a//b/c\n",
    "// [tag:x] [media:",
    "]",
    "A) ",
    "B. ",
    "ANSWER: A\n",
    "ANSWER:",
    "key,topic,prompt,option_1,option_2,correct,explanation\n",
    ",",
    "\"",
    ";",
    "- ",
    ": ",
    "&a",
    "*a",
    "!!str",
    "nuggets:\n  - ",
    "{\"slug\":",
    "\\ud83d",
];

fn noise() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        select(FRAGMENTS.to_vec()).prop_map(str::to_string),
        "\\PC{1,3}"
    ];
    vec(piece, 0..150).prop_map(|pieces| pieces.concat())
}

/// Every reported line must exist in the input (or be the one just past its end).
fn assert_lines_in_range(text: &str, result: &Parsed) {
    let last = text.lines().count() + 1;
    if let Err(errors) = result {
        assert!(!errors.is_empty());
        for error in errors {
            if let Some(line) = error.line {
                assert!((1..=last).contains(&line), "{error} outside 1..={last}");
            }
        }
    }
}

fn meta() -> ImportMeta {
    ImportMeta {
        slug: "noise".into(),
        title: "Noise".into(),
        description: String::new(),
        language: "en".into(),
    }
}

/// A trimmed, non-empty text using every character class the formats escape.
fn text(max_inner: usize, multi_line: bool) -> impl Strategy<Value = String> {
    let edge = "[a-zA-Z0-9é✓{}~=#:\\\\%\\[\\]/\"'<>&*!?|@,;$-]";
    let inner = if multi_line {
        "[a-zA-Z0-9é✓{}~=#:\\\\%\\[\\]/\"'<>&*!?|@,;$ \n-]"
    } else {
        "[a-zA-Z0-9é✓{}~=#:\\\\%\\[\\]/\"'<>&*!?|@,;$ -]"
    };
    string_regex(&format!("{edge}({inner}{{0,{max_inner}}}{edge})?")).expect("valid regex")
}

fn option_set() -> impl Strategy<Value = Vec<NuggetOption>> {
    vec(
        (
            text(30, true),
            any::<bool>(),
            proptest::option::of(text(30, true)),
        ),
        2..=6,
    )
    .prop_filter("option texts are unique", |options| {
        options
            .iter()
            .enumerate()
            .all(|(i, option)| options[..i].iter().all(|other| other.0 != option.0))
    })
    .prop_map(|options| {
        let any_correct = options.iter().any(|option| option.1);
        options
            .into_iter()
            .enumerate()
            .map(|(position, (text, correct, feedback))| NuggetOption {
                text,
                correct: correct || (!any_correct && position == 0),
                feedback,
            })
            .collect()
    })
}

fn tag_set() -> impl Strategy<Value = Vec<String>> {
    vec("[a-zA-Z0-9é]([a-zA-Z0-9é _-]{0,10}[a-zA-Z0-9é])?", 0..3).prop_map(|tags| {
        let mut unique: Vec<String> = Vec::new();
        for tag in tags {
            if !unique.contains(&tag) {
                unique.push(tag);
            }
        }
        unique
    })
}

fn nugget() -> impl Strategy<Value = Nugget> {
    (
        "[a-z0-9-]{0,20}",
        text(20, false),
        tag_set(),
        text(80, true),
        option_set(),
        text(80, true),
        proptest::option::of("https://example\\.com/[a-z0-9]{1,10}"),
    )
        .prop_map(
            |(key, topic, tags, prompt, options, explanation, media_url)| Nugget {
                kind: NuggetKind::Choice,
                rubric: Vec::new(),
                max_seconds: None,
                key,
                topic,
                tags,
                prompt,
                options,
                explanation,
                media_url,
            },
        )
}

fn valid_pack() -> impl Strategy<Value = Pack> {
    (
        "[a-z0-9][a-z0-9-]{0,30}",
        text(40, false),
        prop_oneof![Just(String::new()), text(60, true)],
        select(vec!["en", "pt-BR", "de"]),
        proptest::option::of(0.7f64..=0.99),
        proptest::option::of(1u32..=20),
        vec(nugget(), 1..5),
    )
        .prop_map(
            |(slug, title, description, language, retention, cap, nuggets)| Pack {
                slug,
                title,
                description,
                language: language.to_string(),
                defaults: PackDefaults {
                    desired_retention: retention,
                    daily_cap: cap,
                },
                nuggets: nuggets
                    .into_iter()
                    .enumerate()
                    .map(|(position, nugget)| Nugget {
                        key: format!("n{position}-{}", nugget.key),
                        ..nugget
                    })
                    .collect(),
            },
        )
}

/// The pack as a question-only format brings it back: no scheduling defaults.
fn without_defaults(pack: &Pack) -> Pack {
    Pack {
        defaults: PackDefaults::default(),
        ..pack.clone()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn gift_reader_never_panics(text in noise()) {
        assert_lines_in_range(&text, &parse_gift(&text, &meta(), None));
    }

    #[test]
    fn aiken_reader_never_panics(text in noise()) {
        assert_lines_in_range(&text, &parse_aiken(&text, &meta(), None));
    }

    #[test]
    fn csv_reader_never_panics(text in noise()) {
        assert_lines_in_range(&text, &parse_csv(&text, &meta(), None));
    }

    #[test]
    fn yaml_and_json_readers_never_panic(text in noise()) {
        assert_lines_in_range(&text, &parse_yaml(&text, None));
        assert_lines_in_range(&text, &parse_json(&text, None));
    }
}

/// `text` with `noise` spliced in at a char boundary chosen by `at`.
fn splice(text: &str, noise: &str, at: prop::sample::Index) -> String {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let cut = boundaries[at.index(boundaries.len())];
    format!("{}{noise}{}", &text[..cut], &text[cut..])
}

const AIKEN: &str = "What is the value wedge?\nA) The price\nB) The gap\nANSWER: B\n\nPick\nA. x\nB. y\nANSWER: A\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Damage near-valid documents, where readers get deepest before failing.
    #[test]
    fn damaged_exports_never_panic(pack in valid_pack(), noise in noise(), at in any::<prop::sample::Index>()) {
        let meta = ImportMeta::from(&pack);
        let gift = splice(&to_gift(&pack), &noise, at);
        assert_lines_in_range(&gift, &parse_gift(&gift, &meta, None));
        let csv = splice(&to_csv(&pack), &noise, at);
        assert_lines_in_range(&csv, &parse_csv(&csv, &meta, None));
        let yaml = splice(&to_yaml(&pack), &noise, at);
        assert_lines_in_range(&yaml, &parse_yaml(&yaml, None));
        let json = splice(&to_json(&pack), &noise, at);
        assert_lines_in_range(&json, &parse_json(&json, None));
        let aiken = splice(AIKEN, &noise, at);
        assert_lines_in_range(&aiken, &parse_aiken(&aiken, &meta, None));
    }

    #[test]
    fn valid_packs_round_trip(pack in valid_pack()) {
        prop_assert_eq!(validate(&pack), Vec::new(), "generator made an invalid pack");
        let meta = ImportMeta::from(&pack);

        let yaml = to_yaml(&pack);
        prop_assert_eq!(parse_yaml(&yaml, None).map(|i| i.pack), Ok(pack.clone()), "YAML:\n{}", yaml);
        let json = to_json(&pack);
        prop_assert_eq!(parse_json(&json, None).map(|i| i.pack), Ok(pack.clone()), "JSON:\n{}", json);

        let gift = to_gift(&pack);
        prop_assert_eq!(parse_gift(&gift, &meta, None).map(|i| i.pack), Ok(without_defaults(&pack)), "GIFT:\n{}", gift);
        let csv = to_csv(&pack);
        prop_assert_eq!(parse_csv(&csv, &meta, None).map(|i| i.pack), Ok(without_defaults(&pack)), "CSV:\n{}", csv);

        prop_assert_eq!(content_hash(&pack), content_hash(&parse_yaml(&yaml, None).unwrap().pack));
    }
}
