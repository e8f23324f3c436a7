//! PLACEHOLDER until the recording probe lands.
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Webm,
    Mp4,
    Ogg,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingKind {
    pub container: Container,
    pub video: bool,
}
impl RecordingKind {
    pub fn content_type(&self) -> &'static str {
        match (self.container, self.video) {
            (Container::Webm, true) => "video/webm",
            (Container::Webm, false) => "audio/webm",
            (Container::Mp4, true) => "video/mp4",
            (Container::Mp4, false) => "audio/mp4",
            (Container::Ogg, _) => "audio/ogg",
        }
    }
    pub fn extension(&self) -> &'static str {
        match self.container {
            Container::Webm => "webm",
            Container::Mp4 => "mp4",
            Container::Ogg => "ogg",
        }
    }
}
pub fn accepted_type(essence: &str) -> Option<(Container, bool)> {
    Some(match essence {
        "video/webm" => (Container::Webm, true),
        "audio/webm" => (Container::Webm, false),
        "video/mp4" => (Container::Mp4, true),
        "audio/mp4" => (Container::Mp4, false),
        "audio/ogg" => (Container::Ogg, false),
        _ => return None,
    })
}
pub fn sniff(head: &[u8]) -> Option<Container> {
    if head.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        Some(Container::Webm)
    } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
        Some(Container::Mp4)
    } else if head.starts_with(b"OggS") {
        Some(Container::Ogg)
    } else {
        None
    }
}
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub kind: RecordingKind,
    pub duration: Duration,
}
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("not a recording")]
    NotRecording,
}
pub fn probe<R: std::io::Read + std::io::Seek>(mut reader: R) -> Result<Probe, ProbeError> {
    let mut head = [0u8; 64];
    let n = reader
        .read(&mut head)
        .map_err(|_| ProbeError::NotRecording)?;
    let container = sniff(&head[..n]).ok_or(ProbeError::NotRecording)?;
    Ok(Probe {
        kind: RecordingKind {
            container,
            video: container != Container::Ogg,
        },
        duration: Duration::from_secs(3),
    })
}
