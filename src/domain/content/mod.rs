//! Content packs: the pure model authors write, its validation rules, and the
//! formats packs are imported from and exported to (YAML, JSON, GIFT, Aiken, CSV).
//!
//! Everything here is pure: functions take text or a [`Pack`] and return values,
//! so the HTTP and storage layers decide where text comes from and where packs go.
//! Every parser returns *all* the errors it can find, each with the line it
//! points at where the format allows, so an author can fix a file in one pass.

mod aiken;
pub mod bundle;
mod csv_format;
mod gift;
#[cfg(test)]
mod proptests;
mod validate;
mod yaml;

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::domain::pitch::{NuggetKind, RubricCriterion};
pub use aiken::parse_aiken;
pub use csv_format::{parse_csv, to_csv};
pub use gift::{parse_gift, to_gift};
pub use validate::validate;
pub use yaml::{parse_json, parse_yaml, to_json, to_yaml};

/// A pack: a titled set of nuggets that a learner is enrolled in as a whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_language")]
    pub language: String,
    #[serde(default)]
    pub defaults: PackDefaults,
    pub nuggets: Vec<Nugget>,
}

/// Scheduling defaults a pack suggests; `None` leaves the platform default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_retention: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_cap: Option<u32>,
}

/// One short multiple-choice question (several correct options make it multi-select), or a
/// client situation the seller answers by recording a pitch (`kind: pitch`, with a rubric and
/// no options).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nugget {
    pub key: String,
    #[serde(default, skip_serializing_if = "NuggetKind::is_choice")]
    pub kind: NuggetKind,
    pub topic: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub prompt: String,
    /// A choice nugget's options; a pitch has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<NuggetOption>,
    /// A pitch's rubric: what its reviewers score, 2 to 6 criteria.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rubric: Vec<RubricCriterion>,
    /// A pitch's recording time limit in seconds (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seconds: Option<u32>,
    /// Empty when the source had none: a warning, not an error (see [`Severity`]).
    #[serde(default)]
    pub explanation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
}

/// One answer of a nugget, with the feedback shown when it is picked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NuggetOption {
    pub text: String,
    #[serde(default)]
    pub correct: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

fn default_language() -> String {
    "en".to_string()
}

/// One problem found in a pack file.
///
/// `field` is a path such as `nuggets[3].options` (or a CSV column name for CSV
/// imports); `line` is 1-based and present whenever the format lets us locate it.
/// A warning lets the pack import (see [`Imported`]); an error stops it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentError {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Severity::is_error")]
    pub severity: Severity,
}

/// Whether a problem stops an import. Warnings are what real question banks commonly lack
/// (an explanation, a question type Reprise does not ask) and an author may still want to
/// fix; an organization or a call that asks for strictness turns them into errors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

impl Severity {
    pub fn is_error(&self) -> bool {
        *self == Severity::Error
    }
}

impl ContentError {
    pub(crate) fn new(
        file: Option<&str>,
        line: Option<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.map(str::to_string),
            line,
            field: field.into(),
            message: message.into(),
            severity: Severity::Error,
        }
    }

    pub(crate) fn warning(
        file: Option<&str>,
        line: Option<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::new(file, line, field, message)
        }
    }

    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }
}

/// A pack that passed every rule, with the warnings its file raised (ordered by line).
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    pub pack: Pack,
    pub warnings: Vec<ContentError>,
}

impl Imported {
    /// The same import held to every rule: any warning becomes an error.
    pub fn strict(self) -> Result<Imported, Vec<ContentError>> {
        if self.warnings.is_empty() {
            return Ok(self);
        }
        Err(self
            .warnings
            .into_iter()
            .map(|w| ContentError {
                severity: Severity::Error,
                ..w
            })
            .collect())
    }
}

/// How lenient an import is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Warnings are errors: nothing imports with a missing explanation.
    pub strict: bool,
    /// GIFT questions of types Reprise does not ask are skipped with a warning on their line,
    /// instead of failing the file.
    pub skip_unsupported: bool,
}

/// What every import returns: the pack with its warnings, or every error found.
pub type Parsed = Result<Imported, Vec<ContentError>>;

/// Renders as `file:line: field: message`, leaving out the parts that are unknown.
impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = match (&self.file, self.line) {
            (Some(file), Some(line)) => format!("{file}:{line}: "),
            (Some(file), None) => format!("{file}: "),
            (None, Some(line)) => format!("line {line}: "),
            (None, None) => String::new(),
        };
        let warning = if self.is_warning() { "warning: " } else { "" };
        if self.field.is_empty() {
            write!(f, "{location}{warning}{}", self.message)
        } else {
            write!(f, "{location}{warning}{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for ContentError {}

/// The formats a pack can be imported from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Yaml,
    Json,
    Gift,
    Aiken,
    Csv,
}

/// The format's usual name, for messages.
impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Gift => "GIFT",
            Format::Aiken => "Aiken",
            Format::Csv => "CSV",
        })
    }
}

/// Pack metadata for the question-only formats (GIFT, Aiken, CSV), whose files
/// cannot carry a slug or title themselves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportMeta {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_language")]
    pub language: String,
}

impl ImportMeta {
    /// Builds a pack from this metadata; scheduling defaults stay unset because
    /// none of the question-only formats can express them.
    pub(crate) fn pack(&self, nuggets: Vec<Nugget>) -> Pack {
        Pack {
            slug: self.slug.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            language: self.language.clone(),
            defaults: PackDefaults::default(),
            nuggets,
        }
    }
}

/// The metadata of an existing pack, e.g. to re-import its GIFT or CSV export.
impl From<&Pack> for ImportMeta {
    fn from(pack: &Pack) -> Self {
        Self {
            slug: pack.slug.clone(),
            title: pack.title.clone(),
            description: pack.description.clone(),
            language: pack.language.clone(),
        }
    }
}

/// Parses and validates a pack in any supported format, with the default leniency.
///
/// YAML and JSON files carry their own metadata, so `meta` is ignored for them;
/// GIFT, Aiken and CSV files hold only questions and need `meta`.
pub fn parse_pack(
    text: &str,
    format: Format,
    file_name: Option<&str>,
    meta: Option<&ImportMeta>,
) -> Parsed {
    parse_pack_with(text, format, file_name, meta, ImportOptions::default())
}

/// [`parse_pack`] with the caller's [`ImportOptions`].
pub fn parse_pack_with(
    text: &str,
    format: Format,
    file_name: Option<&str>,
    meta: Option<&ImportMeta>,
    options: ImportOptions,
) -> Parsed {
    let question_only = |parse: &dyn Fn(&str, &ImportMeta, Option<&str>) -> Parsed| match meta {
        Some(meta) => parse(text, meta, file_name),
        None => Err(vec![ContentError::new(
            file_name,
            None,
            "",
            format!("{format} files hold only questions: pack metadata (slug) is required"),
        )]),
    };
    let parsed = match format {
        Format::Yaml => parse_yaml(text, file_name),
        Format::Json => parse_json(text, file_name),
        Format::Gift => question_only(&|text, meta, file| {
            gift::parse_gift_with(text, meta, file, options.skip_unsupported)
        }),
        Format::Aiken => question_only(&parse_aiken),
        Format::Csv => question_only(&parse_csv),
    };
    if options.strict {
        parsed?.strict()
    } else {
        parsed
    }
}

/// The title of a question-only file that names none: the GIFT file's first category (its
/// last segment, as Moodle shows it), else the slug in words ("q3-objections" → "Q3
/// objections").
pub fn default_title(text: &str, format: Format, slug: &str) -> String {
    if format == Format::Gift {
        if let Some(title) = gift::first_category(text) {
            return title;
        }
    }
    let words = slug.replace(['-', '_'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Imported pack".to_string(),
    }
}

/// Hex SHA-256 of the pack's canonical JSON: equal packs hash equally, so
/// re-importing an unchanged pack can be detected and skipped.
pub fn content_hash(pack: &Pack) -> String {
    let canonical = serde_json::to_vec(pack).expect("a Pack always serializes to JSON");
    Sha256::digest(canonical)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Drops a leading UTF-8 byte order mark, which editors on Windows like to add
/// and which would otherwise read as part of the first field or question.
pub(crate) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Returns the pack with its warnings when no errors were found, else the errors ordered by
/// line (the warnings left out: the author fixes the errors first).
pub(crate) fn finish(pack: Pack, problems: Vec<ContentError>) -> Parsed {
    let (warnings, errors): (Vec<_>, Vec<_>) =
        problems.into_iter().partition(ContentError::is_warning);
    if errors.is_empty() {
        Ok(Imported {
            pack,
            warnings: in_reading_order(warnings),
        })
    } else {
        Err(by_line(errors))
    }
}

/// The errors among `problems`, in reading order.
pub(crate) fn by_line(mut problems: Vec<ContentError>) -> Vec<ContentError> {
    problems.retain(|p| !p.is_warning());
    in_reading_order(problems)
}

/// Orders problems as an author reads the file; those without a line come first.
fn in_reading_order(mut problems: Vec<ContentError>) -> Vec<ContentError> {
    problems.sort_by_key(|problem| problem.line);
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn meta() -> ImportMeta {
        ImportMeta {
            slug: "imported".into(),
            title: "Imported pack".into(),
            description: String::new(),
            language: "en".into(),
        }
    }

    #[test]
    fn display_includes_known_location_parts() {
        let error = ContentError::new(
            Some("p.yaml"),
            Some(12),
            "nuggets[2].options",
            "no option is marked correct",
        );
        assert_eq!(
            error.to_string(),
            "p.yaml:12: nuggets[2].options: no option is marked correct"
        );
        let error = ContentError::new(None, Some(3), "", "bad");
        assert_eq!(error.to_string(), "line 3: bad");
        let error = ContentError::new(None, None, "slug", "bad");
        assert_eq!(error.to_string(), "slug: bad");
    }

    #[test]
    fn parse_pack_dispatches_by_format() {
        let gift = "::q1:: Pick one {=a ~b ####because}";
        let pack = parse_pack(gift, Format::Gift, Some("x.gift"), Some(&meta()))
            .unwrap()
            .pack;
        assert_eq!(pack.nuggets[0].key, "q1");
        let aiken = "Pick one\nA) a\nB) b\nANSWER: A\n";
        assert_eq!(
            parse_pack(aiken, Format::Aiken, None, Some(&meta()))
                .unwrap()
                .pack
                .nuggets
                .len(),
            1
        );
        let yaml = to_yaml(&pack);
        assert_eq!(
            parse_pack(&yaml, Format::Yaml, None, None).unwrap().pack,
            pack
        );
        assert_eq!(
            parse_pack(&to_json(&pack), Format::Json, None, None)
                .unwrap()
                .pack,
            pack
        );
        assert_eq!(
            parse_pack(&to_csv(&pack), Format::Csv, None, Some(&meta()))
                .unwrap()
                .pack,
            pack
        );
    }

    #[test]
    fn question_only_formats_require_meta() {
        let errors = parse_pack(
            "Q\nA) a\nB) b\nANSWER: A",
            Format::Aiken,
            Some("a.txt"),
            None,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].message,
            "Aiken files hold only questions: pack metadata (slug) is required"
        );
        assert_eq!(errors[0].file.as_deref(), Some("a.txt"));
    }

    #[test]
    fn content_hash_is_stable_and_content_sensitive() {
        let pack = parse_gift("::q1:: Pick one {=a ~b ####because}", &meta(), None)
            .unwrap()
            .pack;
        let hash = content_hash(&pack);
        assert_eq!(hash.len(), 64);
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(hash, content_hash(&pack.clone()));
        let mut changed = pack;
        changed.nuggets[0].prompt.push('?');
        assert_ne!(hash, content_hash(&changed));
    }

    /// Stored hashes must stay comparable: a change to the canonical JSON (field
    /// names, order, skipped fields) shows up here first.
    #[test]
    fn content_hash_of_a_known_pack_is_fixed() {
        let pack = parse_gift("::q1:: Pick one {=a#yes ~b ####because}", &meta(), None)
            .unwrap()
            .pack;
        assert_eq!(
            content_hash(&pack),
            "3e48704c3d365709c3049773712d2803d63ba54332d00b0609a0b0df58783e13"
        );
    }
}
