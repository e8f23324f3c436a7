//! The content rules every pack must satisfy, whatever format it came from.
//!
//! Rules produce [`Issue`]s keyed by a structured [`FieldPath`] rather than final
//! errors, so each format can translate the path into its own location (a YAML
//! line, a GIFT question line, a CSV row and column).

use std::collections::HashMap;
use std::fmt;

use super::{finish, ContentError, ImportMeta, Nugget, NuggetKind, Pack, Parsed, Severity};
use crate::domain::pitch::{self, MAX_SECONDS_RANGE};

const MAX_KEY_CHARS: usize = 64;
const MAX_TITLE_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 1000;
const MAX_TOPIC_CHARS: usize = 100;
const MAX_TAG_CHARS: usize = 64;
const MAX_PROMPT_CHARS: usize = 600;
const MAX_OPTION_CHARS: usize = 200;
const MAX_FEEDBACK_CHARS: usize = 600;
const MAX_EXPLANATION_CHARS: usize = 1200;
const MAX_URL_CHARS: usize = 2000;
const MIN_OPTIONS: usize = 2;
pub(crate) const MAX_OPTIONS: usize = 6;
const RETENTION_RANGE: std::ops::RangeInclusive<f64> = 0.7..=0.99;
const DAILY_CAP_RANGE: std::ops::RangeInclusive<u32> = 1..=20;
/// Characters a tag may not hold: CSV separates tags with `;`, GIFT wraps them in `[tag:…]`.
const TAG_FORBIDDEN: [char; 6] = [';', ',', '[', ']', '<', '>'];

/// One step of a field path: a mapping key or a list index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(&'static str),
    Index(usize),
}

/// Where in a pack a problem is, e.g. `nuggets[3].options[1].text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Segment>);

impl FieldPath {
    pub(crate) fn root(key: &'static str) -> Self {
        Self(vec![Segment::Key(key)])
    }

    pub(crate) fn nugget(index: usize) -> Self {
        Self::root("nuggets").index(index)
    }

    pub(crate) fn key(mut self, key: &'static str) -> Self {
        self.0.push(Segment::Key(key));
        self
    }

    pub(crate) fn index(mut self, index: usize) -> Self {
        self.0.push(Segment::Index(index));
        self
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A broken rule, located by path only.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Issue {
    pub(crate) path: FieldPath,
    pub(crate) message: String,
    pub(crate) severity: Severity,
}

impl Issue {
    fn new(path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            path,
            message: message.into(),
            severity: Severity::Error,
        }
    }

    fn warning(path: FieldPath, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::new(path, message)
        }
    }

    pub(crate) fn into_error(self, file: Option<&str>, line: Option<usize>) -> ContentError {
        self.into_error_named(file, line, |path| path.to_string())
    }

    /// The problem with its path rendered in the format's own terms.
    pub(crate) fn into_error_named(
        self,
        file: Option<&str>,
        line: Option<usize>,
        field_name: fn(&FieldPath) -> String,
    ) -> ContentError {
        ContentError {
            severity: self.severity,
            ..ContentError::new(file, line, field_name(&self.path), self.message)
        }
    }
}

/// Why a nugget may go without an explanation, and what the seller sees instead.
pub(crate) const NO_EXPLANATION: &str =
    "no explanation: sellers will see the options' feedback and the correct answer instead";

/// Checks every rule on a pack; an empty result means the pack is valid.
pub fn validate(pack: &Pack) -> Vec<ContentError> {
    let nuggets: Vec<(usize, &Nugget)> = pack.nuggets.iter().enumerate().collect();
    issues(Some(pack), &nuggets, pack.nuggets.len())
        .into_iter()
        .map(|issue| issue.into_error(None, None))
        .collect()
}

/// Checks a possibly partial parse: `head` carries the pack-level fields (its
/// nuggets are ignored), `nuggets` the nuggets that parsed, each with its index
/// in the source, and `source_count` how many nuggets the source declared.
pub(crate) fn issues(
    head: Option<&Pack>,
    nuggets: &[(usize, &Nugget)],
    source_count: usize,
) -> Vec<Issue> {
    let mut out = Vec::new();
    if let Some(pack) = head {
        pack_issues(pack, &mut out);
    }
    if source_count == 0 {
        out.push(Issue::new(
            FieldPath::root("nuggets"),
            "a pack needs at least one nugget",
        ));
    }
    let mut first_use: HashMap<&str, usize> = HashMap::new();
    for &(index, nugget) in nuggets {
        nugget_issues(index, nugget, &mut out);
        if let Some(first) = first_use.get(nugget.key.as_str()) {
            out.push(Issue::new(
                FieldPath::nugget(index).key("key"),
                format!(
                    "duplicate key \"{}\" (already used by nuggets[{first}])",
                    nugget.key
                ),
            ));
        } else {
            first_use.insert(&nugget.key, index);
        }
    }
    out
}

/// A nugget read from a question-only file (GIFT, Aiken, CSV) and where it was:
/// `index` is its position among the file's questions, `line` its first line.
pub(crate) struct Sourced {
    pub(crate) index: usize,
    pub(crate) nugget: Nugget,
    pub(crate) line: usize,
    pub(crate) option_lines: Vec<usize>,
}

/// Validates what a question-only file yielded and builds the pack, adding the
/// rule violations to the `errors` the reader already found. `declared` is how
/// many questions the file held (parsed or not); `field_name` renders a path in
/// the format's own terms.
pub(crate) fn validate_sourced(
    meta: &ImportMeta,
    sourced: Vec<Sourced>,
    declared: usize,
    mut errors: Vec<ContentError>,
    file: Option<&str>,
    field_name: fn(&FieldPath) -> String,
) -> Parsed {
    let head = meta.pack(Vec::new());
    let indexed: Vec<(usize, &Nugget)> = sourced.iter().map(|s| (s.index, &s.nugget)).collect();
    for issue in issues(Some(&head), &indexed, declared) {
        let line = match issue.path.segments() {
            [Segment::Key("nuggets"), Segment::Index(index), rest @ ..] => sourced
                .iter()
                .find(|s| s.index == *index)
                .map(|s| match rest {
                    [Segment::Key("options"), Segment::Index(option), ..] => {
                        s.option_lines.get(*option).copied().unwrap_or(s.line)
                    }
                    _ => s.line,
                }),
            _ => None,
        };
        errors.push(issue.into_error_named(file, line, field_name));
    }
    finish(
        meta.pack(sourced.into_iter().map(|s| s.nugget).collect()),
        errors,
    )
}

fn pack_issues(pack: &Pack, out: &mut Vec<Issue>) {
    check_slug(out, FieldPath::root("slug"), &pack.slug);
    check_text(out, FieldPath::root("title"), &pack.title, MAX_TITLE_CHARS);
    check_single_line(out, FieldPath::root("title"), &pack.title);
    check_length(
        out,
        FieldPath::root("description"),
        &pack.description,
        MAX_DESCRIPTION_CHARS,
    );
    if !is_language_tag(&pack.language) {
        out.push(Issue::new(
            FieldPath::root("language"),
            format!(
                "must be a language code like en or pt-BR (got \"{}\")",
                pack.language
            ),
        ));
    }
    if let Some(retention) = pack.defaults.desired_retention {
        if !RETENTION_RANGE.contains(&retention) {
            out.push(Issue::new(
                FieldPath::root("defaults").key("desired_retention"),
                format!("must be between 0.7 and 0.99 (got {retention})"),
            ));
        }
    }
    if let Some(cap) = pack.defaults.daily_cap {
        if !DAILY_CAP_RANGE.contains(&cap) {
            out.push(Issue::new(
                FieldPath::root("defaults").key("daily_cap"),
                format!("must be between 1 and 20 (got {cap})"),
            ));
        }
    }
}

fn nugget_issues(index: usize, nugget: &Nugget, out: &mut Vec<Issue>) {
    let at = || FieldPath::nugget(index);
    check_slug(out, at().key("key"), &nugget.key);
    check_text(out, at().key("topic"), &nugget.topic, MAX_TOPIC_CHARS);
    check_single_line(out, at().key("topic"), &nugget.topic);
    for (position, tag) in nugget.tags.iter().enumerate() {
        let path = at().key("tags").index(position);
        check_text(out, path.clone(), tag, MAX_TAG_CHARS);
        if tag.trim() != tag {
            out.push(Issue::new(
                path.clone(),
                "must not start or end with spaces",
            ));
        }
        if tag
            .chars()
            .any(|c| c.is_control() || TAG_FORBIDDEN.contains(&c))
        {
            out.push(Issue::new(
                path.clone(),
                "must not contain ; , [ ] < > or line breaks",
            ));
        }
        if nugget.tags[..position].contains(tag) {
            out.push(Issue::new(path, format!("duplicate tag \"{tag}\"")));
        }
    }
    check_text(out, at().key("prompt"), &nugget.prompt, MAX_PROMPT_CHARS);
    match nugget.kind {
        NuggetKind::Choice => {
            option_issues(index, nugget, out);
            if !nugget.rubric.is_empty() {
                out.push(Issue::new(
                    at().key("rubric"),
                    "only a pitch (kind: pitch) has a rubric",
                ));
            }
            if nugget.max_seconds.is_some() {
                out.push(Issue::new(
                    at().key("max_seconds"),
                    "only a pitch (kind: pitch) has a recording time",
                ));
            }
        }
        NuggetKind::Pitch => pitch_issues(index, nugget, out),
    }
    if nugget.kind == NuggetKind::Pitch {
        // A pitch's explanation is optional: what a strong answer covers, shown after recording.
        check_length(
            out,
            at().key("explanation"),
            &nugget.explanation,
            MAX_EXPLANATION_CHARS,
        );
    } else if nugget.explanation.trim().is_empty() {
        out.push(Issue::warning(at().key("explanation"), NO_EXPLANATION));
    } else {
        check_length(
            out,
            at().key("explanation"),
            &nugget.explanation,
            MAX_EXPLANATION_CHARS,
        );
    }
    if let Some(url) = &nugget.media_url {
        if !is_http_url(url) {
            out.push(Issue::new(
                at().key("media_url"),
                format!("must be an http:// or https:// URL without spaces (got \"{url}\")"),
            ));
        }
    }
}

/// A pitch: no options, a rubric of 2 to 6 criteria, a recording time within range.
fn pitch_issues(index: usize, nugget: &Nugget, out: &mut Vec<Issue>) {
    let at = || FieldPath::nugget(index);
    if !nugget.options.is_empty() {
        out.push(Issue::new(
            at().key("options"),
            "a pitch has no options: the seller answers by recording",
        ));
    }
    for (criterion, field, message) in pitch::rubric_issues(&nugget.rubric) {
        let path = match criterion {
            None => at().key("rubric"),
            Some(i) => at().key("rubric").index(i).key(field),
        };
        out.push(Issue::new(path, message));
    }
    if let Some(seconds) = nugget.max_seconds {
        if !MAX_SECONDS_RANGE.contains(&seconds) {
            out.push(Issue::new(
                at().key("max_seconds"),
                format!(
                    "must be between {} and {} seconds (got {seconds})",
                    MAX_SECONDS_RANGE.start(),
                    MAX_SECONDS_RANGE.end()
                ),
            ));
        }
    }
}

fn option_issues(index: usize, nugget: &Nugget, out: &mut Vec<Issue>) {
    let options = &nugget.options;
    let path = || FieldPath::nugget(index).key("options");
    if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&options.len()) {
        out.push(Issue::new(
            path(),
            format!(
                "must have {MIN_OPTIONS} to {MAX_OPTIONS} options (got {})",
                options.len()
            ),
        ));
    }
    if !options.is_empty() && !options.iter().any(|option| option.correct) {
        out.push(Issue::new(path(), "no option is marked correct"));
    }
    for (position, option) in options.iter().enumerate() {
        let text_path = path().index(position).key("text");
        check_text(out, text_path.clone(), &option.text, MAX_OPTION_CHARS);
        if let Some(first) = options[..position]
            .iter()
            .position(|o| o.text == option.text)
        {
            out.push(Issue::new(
                text_path,
                format!("duplicate option text (same as options[{first}])"),
            ));
        }
        if let Some(feedback) = &option.feedback {
            check_text(
                out,
                path().index(position).key("feedback"),
                feedback,
                MAX_FEEDBACK_CHARS,
            );
        }
    }
}

/// Required text: not blank and at most `max` characters.
fn check_text(out: &mut Vec<Issue>, path: FieldPath, value: &str, max: usize) {
    if value.trim().is_empty() {
        out.push(Issue::new(path, "must not be empty"));
    } else {
        check_length(out, path, value, max);
    }
}

fn check_length(out: &mut Vec<Issue>, path: FieldPath, value: &str, max: usize) {
    let count = value.chars().count();
    if count > max {
        out.push(Issue::new(
            path,
            format!("must be at most {max} characters (got {count})"),
        ));
    }
}

fn check_single_line(out: &mut Vec<Issue>, path: FieldPath, value: &str) {
    if value.contains(['\n', '\r']) {
        out.push(Issue::new(path, "must be a single line"));
    }
}

/// Keys and slugs: `^[a-z0-9][a-z0-9-]{0,63}$`, stable in URLs and exports.
fn check_slug(out: &mut Vec<Issue>, path: FieldPath, value: &str) {
    if !is_slug(value) {
        out.push(Issue::new(
            path,
            format!(
                "must be 1 to {MAX_KEY_CHARS} lowercase letters, digits or dashes, \
                 starting with a letter or digit (got \"{value}\")"
            ),
        ));
    }
}

pub(crate) fn is_slug(value: &str) -> bool {
    let slug_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    value.len() <= MAX_KEY_CHARS
        && value.starts_with(slug_char)
        && value.chars().all(|c| slug_char(c) || c == '-')
}

/// A BCP 47 shape such as `en`, `pt-BR` or `zh-Hant`.
fn is_language_tag(value: &str) -> bool {
    let mut parts = value.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|part| {
            (2..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
        })
}

fn is_http_url(value: &str) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    value.chars().count() <= MAX_URL_CHARS
        && host.is_some_and(|host| !host.is_empty())
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::super::{NuggetOption, PackDefaults, RubricCriterion};
    use super::*;

    fn option(text: &str, correct: bool) -> NuggetOption {
        NuggetOption {
            text: text.into(),
            correct,
            feedback: None,
        }
    }

    fn nugget(key: &str) -> Nugget {
        Nugget {
            kind: NuggetKind::Choice,
            rubric: Vec::new(),
            max_seconds: None,
            key: key.into(),
            topic: "Value wedge".into(),
            tags: vec!["pricing".into()],
            prompt: "Which is the value wedge?".into(),
            options: vec![option("The gap", true), option("The price", false)],
            explanation: "Because.".into(),
            media_url: Some("https://example.com/a.png".into()),
        }
    }

    fn pack() -> Pack {
        Pack {
            slug: "value-wedge".into(),
            title: "The value wedge".into(),
            description: String::new(),
            language: "pt-BR".into(),
            defaults: PackDefaults {
                desired_retention: Some(0.9),
                daily_cap: Some(3),
            },
            nuggets: vec![nugget("vw-01"), nugget("vw-02")],
        }
    }

    /// Validates `pack` after `change` and returns `field: message` lines.
    fn errors_after(change: impl FnOnce(&mut Pack)) -> Vec<String> {
        let mut pack = pack();
        change(&mut pack);
        validate(&pack)
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect()
    }

    fn assert_single(errors: Vec<String>, field: &str, fragment: &str) {
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(&format!("{field}: ")) && errors[0].contains(fragment),
            "{errors:?}"
        );
    }

    #[test]
    fn valid_pack_has_no_errors() {
        assert!(validate(&pack()).is_empty());
    }

    #[test]
    fn slug_and_key_shapes() {
        for bad in ["", "-a", "Value", "a_b", "a b", &"a".repeat(65)] {
            assert_single(errors_after(|p| p.slug = bad.into()), "slug", "lowercase");
            assert_single(
                errors_after(|p| p.nuggets[1].key = bad.into()),
                "nuggets[1].key",
                "lowercase",
            );
        }
        assert!(errors_after(|p| p.slug = "0-a--b-".into()).is_empty());
        assert!(errors_after(|p| p.slug = "a".repeat(64)).is_empty());
    }

    #[test]
    fn text_lengths() {
        assert_single(
            errors_after(|p| p.title = " ".into()),
            "title",
            "must not be empty",
        );
        assert_single(
            errors_after(|p| p.title = "t".repeat(201)),
            "title",
            "at most 200",
        );
        assert!(errors_after(|p| p.title = "é".repeat(200)).is_empty());
        assert_single(
            errors_after(|p| p.description = "d".repeat(1001)),
            "description",
            "at most 1000",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].topic = "t".repeat(101)),
            "nuggets[0].topic",
            "at most 100",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].topic = String::new()),
            "nuggets[0].topic",
            "empty",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].prompt = "p".repeat(601)),
            "nuggets[0].prompt",
            "at most 600",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].prompt = "\n".into()),
            "nuggets[0].prompt",
            "empty",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].explanation = "e".repeat(1201)),
            "nuggets[0].explanation",
            "at most 1200",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].explanation = String::new()),
            "nuggets[0].explanation",
            "no explanation",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].options[1].text = "o".repeat(201)),
            "nuggets[0].options[1].text",
            "at most 200",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].options[1].feedback = Some(" ".into())),
            "nuggets[0].options[1].feedback",
            "empty",
        );
    }

    #[test]
    fn single_line_fields() {
        assert_single(
            errors_after(|p| p.title = "a\nb".into()),
            "title",
            "single line",
        );
        assert_single(
            errors_after(|p| p.nuggets[1].topic = "a\nb".into()),
            "nuggets[1].topic",
            "single line",
        );
    }

    #[test]
    fn language_codes() {
        for good in ["en", "pt-BR", "zh-Hant", "gsw"] {
            assert!(
                errors_after(|p| p.language = good.into()).is_empty(),
                "{good}"
            );
        }
        for bad in ["", "EN", "english", "en_US", "en-"] {
            assert_single(
                errors_after(|p| p.language = bad.into()),
                "language",
                "language code",
            );
        }
    }

    #[test]
    fn defaults_ranges() {
        assert!(errors_after(|p| p.defaults = PackDefaults::default()).is_empty());
        for retention in [0.69, 0.995, f64::NAN] {
            assert_single(
                errors_after(|p| p.defaults.desired_retention = Some(retention)),
                "defaults.desired_retention",
                "between 0.7 and 0.99",
            );
        }
        for cap in [0, 21] {
            assert_single(
                errors_after(|p| p.defaults.daily_cap = Some(cap)),
                "defaults.daily_cap",
                "between 1 and 20",
            );
        }
    }

    #[test]
    fn pitch_rules() {
        let pitch = |p: &mut Pack| {
            let n = &mut p.nuggets[0];
            n.kind = NuggetKind::Pitch;
            n.options.clear();
            n.rubric = ["Opening", "Close"]
                .iter()
                .map(|c| RubricCriterion {
                    criterion: c.to_string(),
                    description: "Done well".into(),
                })
                .collect();
        };
        assert!(errors_after(pitch).is_empty());
        assert_single(
            errors_after(|p| {
                pitch(p);
                p.nuggets[0].rubric.truncate(1);
            }),
            "nuggets[0].rubric",
            "2 to 6 rubric criteria",
        );
        assert_single(
            errors_after(|p| {
                pitch(p);
                p.nuggets[0].rubric[1].criterion = "opening".into();
            }),
            "nuggets[0].rubric[1].criterion",
            "duplicate",
        );
        assert_single(
            errors_after(|p| {
                pitch(p);
                p.nuggets[0].max_seconds = Some(5);
            }),
            "nuggets[0].max_seconds",
            "between 10 and 600",
        );
        assert_single(
            errors_after(|p| {
                pitch(p);
                p.nuggets[0].options = vec![option("A", true), option("B", false)];
            }),
            "nuggets[0].options",
            "no options",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].max_seconds = Some(60)),
            "nuggets[0].max_seconds",
            "only a pitch",
        );
    }

    #[test]
    fn option_rules() {
        assert_single(
            errors_after(|p| p.nuggets[0].options.truncate(1)),
            "nuggets[0].options",
            "2 to 6 options (got 1)",
        );
        assert_single(
            errors_after(|p| {
                p.nuggets[0].options = (0..7).map(|i| option(&i.to_string(), true)).collect()
            }),
            "nuggets[0].options",
            "(got 7)",
        );
        assert_single(
            errors_after(|p| p.nuggets[1].options[0].correct = false),
            "nuggets[1].options",
            "no option is marked correct",
        );
        assert_single(
            errors_after(|p| p.nuggets[1].options[1].text = "The gap".into()),
            "nuggets[1].options[1].text",
            "duplicate option text (same as options[0])",
        );
        assert!(
            errors_after(|p| p.nuggets[1].options[1].correct = true).is_empty(),
            "multi-select is valid"
        );
    }

    #[test]
    fn empty_options_report_only_the_count() {
        let errors = errors_after(|p| p.nuggets[0].options.clear());
        assert_single(errors, "nuggets[0].options", "(got 0)");
    }

    #[test]
    fn duplicate_keys_and_empty_packs() {
        assert_single(
            errors_after(|p| p.nuggets[1].key = "vw-01".into()),
            "nuggets[1].key",
            "duplicate key \"vw-01\" (already used by nuggets[0])",
        );
        assert_single(
            errors_after(|p| p.nuggets.clear()),
            "nuggets",
            "at least one nugget",
        );
    }

    #[test]
    fn tag_rules() {
        assert_single(
            errors_after(|p| p.nuggets[0].tags = vec![String::new()]),
            "nuggets[0].tags[0]",
            "empty",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].tags = vec!["a;b".into()]),
            "nuggets[0].tags[0]",
            "must not contain",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].tags = vec![" a".into()]),
            "nuggets[0].tags[0]",
            "spaces",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].tags = vec!["t".repeat(65)]),
            "nuggets[0].tags[0]",
            "at most 64",
        );
        assert_single(
            errors_after(|p| p.nuggets[0].tags = vec!["a".into(), "a".into()]),
            "nuggets[0].tags[1]",
            "duplicate tag",
        );
        assert!(
            errors_after(|p| p.nuggets[0].tags = vec!["value wedge".into(), "B2B".into()])
                .is_empty()
        );
    }

    #[test]
    fn media_urls() {
        for good in ["http://x.io", "https://cdn.example.com/a.png?x=1"] {
            assert!(
                errors_after(|p| p.nuggets[0].media_url = Some(good.into())).is_empty(),
                "{good}"
            );
        }
        for bad in [
            "ftp://x.io/a",
            "https://",
            "https:///a",
            "example.com/a.png",
            "https://x.io/a b",
        ] {
            assert_single(
                errors_after(|p| p.nuggets[0].media_url = Some(bad.into())),
                "nuggets[0].media_url",
                "URL",
            );
        }
    }

    #[test]
    fn a_missing_explanation_is_a_warning_only() {
        let mut pack = pack();
        pack.nuggets[1].explanation = " ".into();
        let problems = validate(&pack);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].is_warning());
        assert_eq!(problems[0].field, "nuggets[1].explanation");
        let imported = super::super::parse_json(&super::super::to_json(&pack), None).unwrap();
        assert_eq!(imported.warnings.len(), 1);
        let strict = imported.strict().unwrap_err();
        assert!(!strict[0].is_warning(), "strictness makes it an error");
    }

    #[test]
    fn every_error_is_collected() {
        let errors = errors_after(|p| {
            p.slug = "Bad".into();
            p.nuggets[0].options[0].correct = false;
            p.nuggets[1].explanation.clear();
        });
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn paths_render_like_field_accessors() {
        let path = FieldPath::nugget(3).key("options").index(1).key("text");
        assert_eq!(path.to_string(), "nuggets[3].options[1].text");
        assert_eq!(FieldPath::root("slug").to_string(), "slug");
    }
}
