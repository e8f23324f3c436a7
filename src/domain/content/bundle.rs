//! A pack with its images in one file: a ZIP archive holding the pack (`pack.yaml`, `pack.yml`
//! or `pack.json`) and each image under `media/<sha256>.<ext>`, the name its address ends with.
//!
//! The pack file is the ordinary pack format, image addresses included, so the archive's pack
//! alone still imports anywhere; the images let a server that does not hold them keep its own
//! copies. Reading is bounded (entries, sizes, no paths outside the archive's two places), so a
//! crafted archive cannot exhaust memory.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::{ContentError, Format};
use crate::domain::media::MAX_IMAGE_BYTES;

/// The names a bundle's pack file may have, in the order they are looked for.
pub const PACK_FILES: [(&str, Format); 3] = [
    ("pack.yaml", Format::Yaml),
    ("pack.yml", Format::Yaml),
    ("pack.json", Format::Json),
];
/// More entries than this is not a pack.
const MAX_ENTRIES: usize = 256;
/// The pack file's largest size once unpacked.
const MAX_PACK_BYTES: u64 = 4 * 1024 * 1024;

/// A bundle read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The pack file's name in the archive and its format.
    pub pack_name: String,
    pub format: Format,
    pub pack_text: String,
    /// Image files by name (`<sha256>.<ext>`, without `media/`).
    pub media: HashMap<String, Vec<u8>>,
}

fn problem(message: impl Into<String>) -> Vec<ContentError> {
    vec![ContentError::new(None, None, "", message)]
}

/// Reads a bundle, refusing what a pack archive never holds.
pub fn read(bytes: &[u8]) -> Result<Bundle, Vec<ContentError>> {
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| problem(format!("not a readable ZIP archive: {e}")))?;
    if archive.len() > MAX_ENTRIES {
        return Err(problem(format!(
            "the archive has {} entries; a pack bundle has at most {MAX_ENTRIES}",
            archive.len()
        )));
    }
    let mut pack: Option<(String, Format, String)> = None;
    let mut media = HashMap::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| problem(format!("entry {i} cannot be read: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let found = PACK_FILES.iter().find(|(n, _)| *n == name);
        let limit = if found.is_some() {
            MAX_PACK_BYTES
        } else if name
            .strip_prefix("media/")
            .is_some_and(|file| !file.is_empty() && !file.contains('/'))
        {
            MAX_IMAGE_BYTES as u64
        } else {
            return Err(problem(format!(
                "{name}: a bundle holds pack.yaml (or pack.yml, pack.json) and media/<file> only"
            )));
        };
        // The declared size may lie; reading stops one byte past the limit either way.
        let mut data = Vec::new();
        entry
            .by_ref()
            .take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|e| problem(format!("{name} cannot be unpacked: {e}")))?;
        if data.len() as u64 > limit {
            return Err(problem(format!("{name} is larger than {limit} bytes")));
        }
        match found {
            Some((_, format)) => {
                if pack.is_some() {
                    return Err(problem("the archive holds more than one pack file"));
                }
                let text = String::from_utf8(data)
                    .map_err(|_| problem(format!("{name} is not UTF-8 text")))?;
                pack = Some((name, *format, text));
            }
            None => {
                media.insert(name["media/".len()..].to_string(), data);
            }
        }
    }
    let (pack_name, format, pack_text) =
        pack.ok_or_else(|| problem("the archive holds no pack.yaml, pack.yml or pack.json"))?;
    Ok(Bundle {
        pack_name,
        format,
        pack_text,
        media,
    })
}

/// Writes a bundle: the pack as `pack.yaml` and each image as `media/<name>`, images stored
/// as they are (they are compressed already).
pub fn write(pack_yaml: &str, media: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let text = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut put = |name: &str, options, bytes: &[u8]| {
        zip.start_file(name, options)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .expect("writing to memory does not fail");
    };
    put("pack.yaml", text, pack_yaml.as_bytes());
    for (name, bytes) in media {
        put(&format!("media/{name}"), stored, bytes);
    }
    zip.finish()
        .expect("writing to memory does not fail")
        .into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_reads_back_as_written() {
        let bytes = write("slug: x\n", &[("ab.png".into(), vec![1, 2, 3])]);
        let bundle = read(&bytes).unwrap();
        assert_eq!(
            (bundle.pack_name.as_str(), bundle.format),
            ("pack.yaml", Format::Yaml)
        );
        assert_eq!(bundle.pack_text, "slug: x\n");
        assert_eq!(bundle.media["ab.png"], vec![1, 2, 3]);
    }

    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in files {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn message(result: Result<Bundle, Vec<ContentError>>) -> String {
        result.unwrap_err()[0].message.clone()
    }

    #[test]
    fn what_a_pack_bundle_never_holds_is_refused() {
        assert!(message(read(b"not a zip")).contains("ZIP"));
        assert!(message(read(&archive(&[("media/a.png", b"x")]))).contains("no pack.yaml"));
        assert!(message(read(&archive(&[
            ("pack.yaml", b"a"),
            ("../etc/passwd", b"x")
        ])))
        .contains("media/<file> only"));
        assert!(message(read(&archive(&[
            ("pack.yaml", b"a"),
            ("media/x/y.png", b"x")
        ])))
        .contains("media/<file> only"));
        assert!(
            message(read(&archive(&[("pack.yaml", b"a"), ("pack.json", b"{}")])))
                .contains("more than one")
        );
        // A highly compressible image far over the limit once unpacked.
        let big = vec![0u8; MAX_IMAGE_BYTES + 1];
        assert!(message(read(&archive(&[
            ("pack.yaml", b"a"),
            ("media/a.png", &big)
        ])))
        .contains("larger than"));
    }
}
