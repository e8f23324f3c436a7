//! Pack files on disk: finding them, and parsing each by its extension. Question-only formats
//! (GIFT, Aiken, CSV) take their slug and title from the file name.

use std::path::{Path, PathBuf};

use crate::domain::accounts::slugify;
use crate::domain::content::{self, ContentError, Format, ImportMeta, ImportOptions, Pack, Parsed};

/// The format a file name implies, if it is a pack file at all.
pub fn format_of(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?.to_lowercase();
    let ext = name.rsplit('.').next()?;
    match ext {
        "yaml" | "yml" => Some(Format::Yaml),
        "json" if !name.ends_with(".schema.json") => Some(Format::Json),
        "gift" => Some(Format::Gift),
        "aiken" => Some(Format::Aiken),
        "csv" => Some(Format::Csv),
        _ => None,
    }
}

/// Every pack file under `paths` (files as given, folders searched recursively), sorted.
pub fn collect(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            entries.sort();
            for e in entries {
                if e.is_dir() {
                    out.extend(collect(&[e])?);
                } else if format_of(&e).is_some() {
                    out.push(e);
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Reads and validates one pack file. A question-only file's slug is its name's; its title
/// the GIFT file's first category, else the name in words.
pub fn parse_file(path: &Path, options: ImportOptions) -> Parsed {
    let name = path.display().to_string();
    let fail = |message: String| vec![ContentError::new(Some(&name), None, "", message)];
    let format = format_of(path)
        .ok_or_else(|| fail("not a pack file (.yaml, .yml, .json, .gift, .aiken, .csv)".into()))?;
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("pack");
    let slug = slugify(stem);
    let meta = ImportMeta {
        title: content::default_title(&text, format, stem),
        slug,
        description: String::new(),
        language: "en".into(),
    };
    content::parse_pack_with(&text, format, Some(&name), Some(&meta), options)
}

/// The packs of a set of files, with the warnings they raised.
pub struct Files {
    pub packs: Vec<Pack>,
    pub warnings: Vec<ContentError>,
}

/// Parses every file, returning the packs or every error of every file.
pub fn parse_all(paths: &[PathBuf], options: ImportOptions) -> Result<Files, Vec<ContentError>> {
    let mut packs = Vec::new();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match parse_file(p, options) {
            Ok(imported) => {
                packs.push(imported.pack);
                warnings.extend(imported.warnings);
            }
            Err(e) => errors.extend(e),
        }
    }
    let mut slugs: Vec<&str> = packs.iter().map(|p| p.slug.as_str()).collect();
    slugs.sort();
    for pair in slugs.windows(2) {
        if pair[0] == pair[1] {
            let message = format!("two files define the pack {:?}", pair[0]);
            errors.push(ContentError::new(None, None, "slug", message));
        }
    }
    if errors.is_empty() {
        Ok(Files { packs, warnings })
    } else {
        Err(errors)
    }
}
