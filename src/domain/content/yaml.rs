//! YAML and JSON packs.
//!
//! Reading goes through `marked_yaml`, which keeps the source position of every
//! node: structural errors (unknown fields, wrong types) come with the line of
//! the offending value, and rule violations found by [`validate`](super::validate)
//! are mapped back to the line of the field they name. Each nugget is decoded on
//! its own, so one broken nugget does not hide the errors of the others.
//!
//! YAML semantics kept on top of `marked_yaml`: quoted scalars are always text
//! (`'true'` is not a boolean), an unquoted `null`, `~` or empty value means the
//! field is absent, and duplicate keys are errors rather than silently
//! overwriting each other. Anchors, aliases and tags are rejected.
//!
//! JSON is checked with `serde_json` first, so only real JSON is accepted, and then
//! read through the same YAML path for line numbers. JSON that the YAML reader
//! cannot load (escaped UTF-16 surrogate pairs) is decoded by `serde_json` alone,
//! still fully validated but with fewer line numbers.
//!
//! Writing uses `serde_norway` (a maintained `serde_yaml` fork) and `serde_json`.

use marked_yaml::types::{MarkedMappingNode, MarkedSequenceNode};
use marked_yaml::{LoadError, LoaderOptions, Marker, Node, Span};

use super::validate::{issues, FieldPath, Segment};
use super::{by_line, finish, strip_bom, ContentError, Nugget, Pack, Parsed};

/// Parses and validates a YAML pack.
pub fn parse_yaml(text: &str, file: Option<&str>) -> Parsed {
    match load(strip_bom(text)) {
        Ok(root) => from_tree(&root, file),
        Err(error) => Err(vec![load_error(&error, file)]),
    }
}

/// Parses and validates a JSON pack.
pub fn parse_json(text: &str, file: Option<&str>) -> Parsed {
    let text = strip_bom(text);
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
        vec![ContentError::new(
            file,
            Some(error.line()),
            "",
            format!("JSON syntax error: {error}"),
        )]
    })?;
    match load(text) {
        Ok(root) => from_tree(&root, file),
        Err(_) => {
            let pack: Pack = serde_json::from_value(value)
                .map_err(|error| vec![ContentError::new(file, None, "", error.to_string())])?;
            let errors = super::validate(&pack)
                .into_iter()
                .map(|error| ContentError {
                    file: file.map(str::to_string),
                    ..error
                })
                .collect();
            finish(pack, errors)
        }
    }
}

/// Writes a pack as YAML that [`parse_yaml`] reads back to an equal pack.
pub fn to_yaml(pack: &Pack) -> String {
    serde_norway::to_string(pack).expect("a Pack always serializes to YAML")
}

/// Writes a pack as pretty JSON that [`parse_json`] reads back to an equal pack.
pub fn to_json(pack: &Pack) -> String {
    serde_json::to_string_pretty(pack).expect("a Pack always serializes to JSON")
}

fn load(text: &str) -> Result<Node, LoadError> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let mut root = marked_yaml::parse_yaml_with_options(0, text, options)?;
    drop_nulls(&mut root);
    Ok(root)
}

/// Decodes the pack-level fields and each nugget separately, then validates
/// whatever decoded, so every independent problem is reported at once.
fn from_tree(root: &Node, file: Option<&str>) -> Parsed {
    let mut errors = Vec::new();
    let mapping = root
        .as_mapping()
        .expect("the loader only accepts a top-level mapping");
    let nugget_nodes = mapping.get_sequence("nuggets");

    // Decode the head with an empty nugget list; nuggets are decoded one by one below.
    let mut head_node = mapping.clone();
    if let Some(sequence) = nugget_nodes {
        let empty = MarkedSequenceNode::new_empty(*sequence.span());
        head_node.insert("nuggets".into(), Node::Sequence(empty));
    }
    let head = decode::<Pack>(&Node::Mapping(head_node), None, file, &mut errors);

    let mut nuggets = Vec::new();
    for (index, node) in nugget_nodes.into_iter().flat_map(|s| s.iter()).enumerate() {
        if let Some(nugget) = decode::<Nugget>(node, Some(index), file, &mut errors) {
            nuggets.push((index, nugget));
        }
    }

    // A missing or mistyped `nuggets` is already a structural error: count it as
    // declared so the "needs at least one nugget" rule does not repeat it.
    let declared = nugget_nodes.map_or(1, |sequence| sequence.len());
    let indexed: Vec<(usize, &Nugget)> = nuggets.iter().map(|(i, n)| (*i, n)).collect();
    errors.extend(
        issues(head.as_ref(), &indexed, declared)
            .into_iter()
            .map(|issue| {
                let line = line_of(root, &issue.path);
                issue.into_error(file, line)
            }),
    );

    match head {
        Some(mut pack) => {
            pack.nuggets = nuggets.into_iter().map(|(_, nugget)| nugget).collect();
            finish(pack, errors)
        }
        None => Err(by_line(errors)),
    }
}

/// Decodes one node, turning a failure into a located error under `nuggets[index]`.
fn decode<T: serde::de::DeserializeOwned>(
    node: &Node,
    nugget: Option<usize>,
    file: Option<&str>,
    errors: &mut Vec<ContentError>,
) -> Option<T> {
    match marked_yaml::from_node::<T>(node) {
        Ok(value) => Some(value),
        Err(error) => {
            let inner = error.path().map(str::to_string);
            let field = match (nugget, inner) {
                (Some(index), Some(path)) => format!("nuggets[{index}].{path}"),
                (Some(index), None) => format!("nuggets[{index}]"),
                (None, Some(path)) => path,
                (None, None) => String::new(),
            };
            let line = error
                .start_mark()
                .map(|mark| mark.line())
                .or_else(|| start_line(node.span()));
            errors.push(ContentError::new(
                file,
                line,
                field,
                error.into_inner().to_string(),
            ));
            None
        }
    }
}

/// The line a field path points at: the line of the deepest key or list item
/// that exists, so `nuggets[2].options` lands on that nugget's `options:` line.
fn line_of(root: &Node, path: &FieldPath) -> Option<usize> {
    let mut node = root;
    let mut line = start_line(node.span());
    for segment in path.segments() {
        let next = match (segment, node) {
            (Segment::Key(key), Node::Mapping(mapping)) => entry(mapping, key),
            (Segment::Index(index), Node::Sequence(sequence)) => sequence
                .get(*index)
                .map(|item| (start_line(item.span()), item)),
            _ => None,
        };
        match next {
            Some((found, child)) => {
                line = found.or(line);
                node = child;
            }
            None => break,
        }
    }
    line
}

fn entry<'a>(mapping: &'a MarkedMappingNode, key: &str) -> Option<(Option<usize>, &'a Node)> {
    mapping
        .iter()
        .find(|(name, _)| name.as_str() == key)
        .map(|(name, value)| (start_line(name.span()), value))
}

/// Removes mapping entries whose value is an unquoted YAML null, so that
/// `feedback: null` or `media_url:` read as an absent field.
fn drop_nulls(node: &mut Node) {
    match node {
        Node::Mapping(mapping) => {
            mapping.retain(|_, value| !is_null(value));
            for (_, value) in mapping.iter_mut() {
                drop_nulls(value);
            }
        }
        Node::Sequence(sequence) => sequence.iter_mut().for_each(drop_nulls),
        Node::Scalar(_) => {}
    }
}

fn is_null(node: &Node) -> bool {
    node.as_scalar().is_some_and(|scalar| {
        scalar.may_coerce() && matches!(scalar.as_str(), "" | "~" | "null" | "Null" | "NULL")
    })
}

fn load_error(error: &LoadError, file: Option<&str>) -> ContentError {
    let (line, message) = match error {
        LoadError::TopLevelMustBeMapping(mark) | LoadError::TopLevelMustBeSequence(mark) => (
            Some(mark.line()),
            "a pack file must be a mapping of fields".to_string(),
        ),
        LoadError::DuplicateKey(inner) => (
            start_line(inner.key.span()),
            format!("duplicate field \"{}\"", inner.key.as_str()),
        ),
        LoadError::UnexpectedAnchor(mark) | LoadError::UnexpectedTag(mark) => (
            Some(mark.line()),
            "YAML anchors, aliases and tags are not supported".to_string(),
        ),
        LoadError::MappingKeyMustBeScalar(mark) => (
            Some(mark.line()),
            "field names must be plain text".to_string(),
        ),
        LoadError::ScanError(mark, scan) => (
            Some(mark.line()),
            format!("YAML syntax error: {}", scan.info()),
        ),
    };
    ContentError::new(file, line, "", message)
}

fn start_line(span: &Span) -> Option<usize> {
    span.start().map(Marker::line)
}

#[cfg(test)]
mod tests {
    use super::super::PackDefaults;
    use super::*;

    const GOOD: &str = "\
slug: value-wedge
title: The value wedge
description: Why customers pay
language: en
defaults: { desired_retention: 0.9, daily_cap: 3 }
nuggets:
  - key: vw-01
    topic: Value wedge
    tags: [pricing, basics]
    prompt: \"What is the value wedge?\"
    options:
      - { text: \"The gap between value and price\", correct: true, feedback: \"Yes.\" }
      - { text: \"The price\" }
    explanation: |
      The wedge is the room
      between value and price.
    media_url: https://example.com/wedge.png
  - key: vw-02
    topic: Value wedge
    prompt: Pick the true ones
    options:
      - text: A
        correct: true
      - text: B
        correct: true
      - text: 'null'
        feedback: null
    explanation: Both A and B.
";

    fn messages(errors: &[ContentError]) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn reads_the_documented_format() {
        let pack = parse_yaml(GOOD, Some("p.yaml")).unwrap().pack;
        assert_eq!(pack.slug, "value-wedge");
        assert_eq!(pack.defaults.desired_retention, Some(0.9));
        assert_eq!(pack.defaults.daily_cap, Some(3));
        let first = &pack.nuggets[0];
        assert_eq!(first.tags, ["pricing", "basics"]);
        assert_eq!(first.options[0].feedback.as_deref(), Some("Yes."));
        assert!(!first.options[1].correct);
        assert_eq!(
            first.explanation,
            "The wedge is the room\nbetween value and price.\n"
        );
        let second = &pack.nuggets[1];
        assert!(second.tags.is_empty());
        assert_eq!(second.media_url, None);
        assert_eq!(second.options[2].text, "null", "quoted null is text");
        assert_eq!(second.options[2].feedback, None, "unquoted null is absent");
        assert_eq!(second.options.iter().filter(|o| o.correct).count(), 2);
    }

    #[test]
    fn applies_defaults_for_optional_pack_fields() {
        let text =
            "slug: s\ntitle: T\nnuggets:\n  - {key: k, topic: t, prompt: p, explanation: e, \
                    options: [{text: a, correct: true}, {text: b}]}\n";
        let pack = parse_yaml(text, None).unwrap().pack;
        assert_eq!(pack.language, "en");
        assert_eq!(pack.description, "");
        assert_eq!(pack.defaults, PackDefaults::default());
    }

    #[test]
    fn semantic_errors_carry_the_line_of_the_field() {
        let text = GOOD
            .replace("- text: A\n        correct: true", "- text: A")
            .replace("- text: B\n        correct: true", "- text: B");
        let errors = parse_yaml(&text, Some("p.yaml")).unwrap_err();
        assert_eq!(
            messages(&errors),
            ["p.yaml:21: nuggets[1].options: no option is marked correct"]
        );
    }

    #[test]
    fn collects_structural_and_semantic_errors_from_every_nugget() {
        let text = GOOD
            .replace("slug: value-wedge", "slug: Value Wedge")
            .replace(
                "tags: [pricing, basics]",
                "tags: [pricing, basics]\n    colour: red",
            )
            .replace("key: vw-02", "key: vw-02\n    prompt2: x")
            .replace("daily_cap: 3", "daily_cap: 30");
        let errors = messages(&parse_yaml(&text, Some("p.yaml")).unwrap_err());
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(
            errors[0].starts_with("p.yaml:1: slug: must be"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("p.yaml:5: defaults.daily_cap: must be between 1 and 20"),
            "{errors:?}"
        );
        assert!(
            errors[2].starts_with("p.yaml:10: nuggets[0].colour: Unknown field `colour`"),
            "{errors:?}"
        );
        assert!(
            errors[3].starts_with("p.yaml:20: nuggets[1].prompt2: Unknown field"),
            "{errors:?}"
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_are_located() {
        let text = GOOD.replace("correct: true, feedback", "correct: maybe, feedback");
        let errors = messages(&parse_yaml(&text, None).unwrap_err());
        assert_eq!(
            errors,
            ["line 12: nuggets[0].options[0].correct: Value was not a boolean"]
        );

        let text = GOOD.replace("    prompt: Pick the true ones\n", "");
        let errors = messages(&parse_yaml(&text, None).unwrap_err());
        assert_eq!(errors, ["line 18: nuggets[1]: missing field `prompt`"]);

        let text = GOOD.replace("daily_cap: 3", "daily_cap: lots");
        let errors = messages(&parse_yaml(&text, None).unwrap_err());
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("line 5: defaults.daily_cap:"),
            "{errors:?}"
        );
    }

    #[test]
    fn duplicate_keys_across_nuggets_point_at_the_second_key() {
        let text = GOOD.replace("key: vw-02", "key: vw-01");
        let errors = messages(&parse_yaml(&text, None).unwrap_err());
        assert_eq!(
            errors,
            ["line 18: nuggets[1].key: duplicate key \"vw-01\" (already used by nuggets[0])"]
        );
    }

    #[test]
    fn syntax_and_shape_errors() {
        let errors = parse_yaml("slug: a\ntitle: [unclosed\n", Some("x.yaml")).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.starts_with("YAML syntax error"),
            "{}",
            errors[0]
        );
        assert!(errors[0].line.is_some());

        let errors = parse_yaml("- a\n- b\n", None).unwrap_err();
        assert_eq!(
            messages(&errors),
            ["line 1: a pack file must be a mapping of fields"]
        );

        let errors = parse_yaml("slug: a\nslug: b\n", None).unwrap_err();
        assert_eq!(messages(&errors), ["line 2: duplicate field \"slug\""]);

        let errors = parse_yaml("slug: &x a\ntitle: *x\n", None).unwrap_err();
        assert_eq!(
            messages(&errors),
            ["line 1: YAML anchors, aliases and tags are not supported"]
        );

        let errors = parse_yaml("slug: a\ntitle: b\nnuggets: {}\n", None).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "nuggets");
    }

    #[test]
    fn empty_nugget_list_is_an_error() {
        let errors = parse_yaml("slug: a\ntitle: b\nnuggets: []\n", None).unwrap_err();
        assert_eq!(
            messages(&errors),
            ["line 3: nuggets: a pack needs at least one nugget"]
        );
    }

    #[test]
    fn byte_order_marks_are_ignored() {
        let pack = parse_yaml(GOOD, None).unwrap().pack;
        assert_eq!(
            parse_yaml(&format!("\u{feff}{GOOD}"), None).unwrap().pack,
            pack
        );
        assert_eq!(
            parse_json(&format!("\u{feff}{}", to_json(&pack)), None)
                .unwrap()
                .pack,
            pack
        );
    }

    #[test]
    fn yaml_and_json_round_trip() {
        let pack = parse_yaml(GOOD, None).unwrap().pack;
        assert_eq!(parse_yaml(&to_yaml(&pack), None).unwrap().pack, pack);
        assert_eq!(parse_json(&to_json(&pack), None).unwrap().pack, pack);
    }

    #[test]
    fn json_errors_are_located() {
        let pack = parse_yaml(GOOD, None).unwrap().pack;
        let json = to_json(&pack).replacen("\"correct\": true", "\"correct\": false", 1);
        let errors = parse_json(&json, Some("p.json")).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "nuggets[0].options");
        let line = errors[0].line.unwrap();
        assert!(
            json.lines().nth(line - 1).unwrap().contains("\"options\""),
            "{}",
            errors[0]
        );

        let errors = parse_json("{\"slug\": \"a\",\n\"title\": }", None).unwrap_err();
        assert_eq!(errors[0].line, Some(2));
        assert!(errors[0].message.starts_with("JSON syntax error"));

        let errors = parse_json("slug: a\ntitle: b\n", None).unwrap_err();
        assert!(
            errors[0].message.starts_with("JSON syntax error"),
            "YAML is not JSON"
        );
    }

    #[test]
    fn json_with_surrogate_escapes_falls_back_to_serde_json() {
        let pack = parse_yaml(GOOD, None).unwrap().pack;
        let json =
            to_json(&pack).replace("What is the value wedge?", "Value wedge \\ud83d\\ude00?");
        let parsed = parse_json(&json, None).unwrap().pack;
        assert_eq!(parsed.nuggets[0].prompt, "Value wedge \u{1F600}?");

        let broken = json.replacen("\"correct\": true", "\"correct\": false", 1);
        let errors = parse_json(&broken, Some("p.json")).unwrap_err();
        assert_eq!(
            messages(&errors),
            ["p.json: nuggets[0].options: no option is marked correct"]
        );
    }
}
