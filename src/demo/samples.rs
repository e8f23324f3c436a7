//! The sample packs, compiled into the binary so `reprise serve --demo` works wherever it is
//! started (the container image, an installed binary), not only from the source folder.
//! `--content DIR` / `REPRISE_CONTENT_DIR` still loads a folder instead.

use crate::domain::content::{self, Format, Pack};

/// Every file of `content/` except the schema, by name, as compiled in.
const FILES: [(&str, &str); 8] = [
    (
        "coaching-culture.yaml",
        include_str!("../../content/coaching-culture.yaml"),
    ),
    (
        "customer-buying-process.yaml",
        include_str!("../../content/customer-buying-process.yaml"),
    ),
    (
        "customer-success-selling.yaml",
        include_str!("../../content/customer-success-selling.yaml"),
    ),
    (
        "qualification-bant-to-jit.yaml",
        include_str!("../../content/qualification-bant-to-jit.yaml"),
    ),
    (
        "reinforcement-science.yaml",
        include_str!("../../content/reinforcement-science.yaml"),
    ),
    (
        "three-costly-mistakes.yaml",
        include_str!("../../content/three-costly-mistakes.yaml"),
    ),
    (
        "value-wedge.yaml",
        include_str!("../../content/value-wedge.yaml"),
    ),
    (
        "why-change-why-us-why-stay.yaml",
        include_str!("../../content/why-change-why-us-why-stay.yaml"),
    ),
];

/// The compiled-in sample packs. They are checked when the binary is tested, so an error here
/// is a build that was never tested; it is reported, not hidden.
pub fn packs() -> anyhow::Result<Vec<Pack>> {
    FILES
        .iter()
        .map(|(name, text)| {
            content::parse_pack(text, Format::Yaml, Some(name), None)
                .map(|imported| imported.pack)
                .map_err(|errors| {
                    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    anyhow::anyhow!(lines.join("\n"))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_file_is_compiled_in_and_valid() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
        let mut on_disk: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".yaml"))
            .collect();
        on_disk.sort();
        let compiled: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        assert_eq!(on_disk, compiled, "list every sample pack in FILES");
        let packs = packs().unwrap();
        assert_eq!(packs.len(), FILES.len());
        assert!(packs.iter().all(|p| !p.nuggets.is_empty()));
    }
}
