//! Pitch recordings sellers upload: what the bytes are (never what the declared type says) and
//! how long the recording plays, so an upload longer than its nugget allows is refused before
//! it is kept.
//!
//! Browsers record with MediaRecorder, and each writes its own container:
//! - Chromium (Chrome, Edge): WebM (`video/webm;codecs=vp8,opus`, `vp9`, `audio/webm;codecs=opus`),
//!   written as a live stream: the segment and its clusters have *unknown size* and the Info has
//!   no Duration, so the length comes from the timestamps of the blocks themselves.
//! - Safari (and Chromium when asked for `video/mp4`): fragmented MP4, whose `mvhd` duration may
//!   be 0; the length comes from the movie fragments (`moof` → `traf` → `tfdt` + `trun`).
//! - Firefox may write Ogg Opus: the length is the last page's granule position less the
//!   encoder's pre-skip, at Opus's fixed 48 kHz.
//!
//! The containers are read with maintained crates, never with parsers of our own:
//! - `infer` recognises the container from its magic numbers (and the WebM doc type);
//! - `webm-iterable` reads WebM element by element, ending unknown-size segments and clusters
//!   where the Matroska schema says (`matroska-demuxer` takes an 8-byte unknown size, as
//!   Chromium writes it, for a real one and seeks past the end of the file; `symphonia`'s
//!   reader fails at the end of such a stream);
//! - `mp4-atom` decodes the `moov` and `moof` boxes (each a few kilobytes) while `mdat`, the media
//!   itself, is skipped by seeking; it copes with the VP9 and Opus sample entries Chromium writes;
//! - `ogg` reads Ogg pages (checking their CRCs) and their granule positions.
//!
//! All are pure Rust with no C libraries, and together they add only a few small crates to the
//! build. Nothing decodes sound or picture: a probe reads the structure and, for WebM and Ogg,
//! the stream once from start to end, holding one frame or page in memory at a time.

mod mp4;
mod ogg;
mod webm;

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::time::Duration;

/// The containers a pitch recording may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Webm,
    Mp4,
    Ogg,
}

/// What the bytes are: container and whether a video track is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingKind {
    pub container: Container,
    pub video: bool,
}

impl RecordingKind {
    /// The type the recording is served with: `video/webm`, `audio/webm`, `video/mp4`,
    /// `audio/mp4` or `audio/ogg`. Ogg is always audio here (see [`probe`]).
    pub fn content_type(&self) -> &'static str {
        match (self.container, self.video) {
            (Container::Webm, true) => "video/webm",
            (Container::Webm, false) => "audio/webm",
            (Container::Mp4, true) => "video/mp4",
            (Container::Mp4, false) => "audio/mp4",
            (Container::Ogg, _) => "audio/ogg",
        }
    }

    /// The file extension the recording is stored under: `webm` (audio or video), `mp4` for MP4
    /// with video, `m4a` for audio-only MP4 (so a downloaded file opens in an audio player), and
    /// `ogg`.
    pub fn extension(&self) -> &'static str {
        match (self.container, self.video) {
            (Container::Webm, _) => "webm",
            (Container::Mp4, true) => "mp4",
            (Container::Mp4, false) => "m4a",
            (Container::Ogg, _) => "ogg",
        }
    }
}

/// The accepted declared types (essence, lowercase, parameters such as `codecs=` stripped by
/// the caller): `video/webm`, `audio/webm`, `video/mp4`, `audio/mp4` and `audio/ogg`, with the
/// container and whether the type announces video. The bytes decide in the end ([`probe`]): a
/// recording declared `video/webm` whose camera was off holds audio alone.
pub fn accepted_type(essence: &str) -> Option<(Container, bool)> {
    match essence {
        "video/webm" => Some((Container::Webm, true)),
        "audio/webm" => Some((Container::Webm, false)),
        "video/mp4" => Some((Container::Mp4, true)),
        "audio/mp4" => Some((Container::Mp4, false)),
        "audio/ogg" => Some((Container::Ogg, false)),
        _ => None,
    }
}

/// How many leading bytes [`sniff`] looks at; pass this many (or the whole body if shorter).
/// 64 bytes suffice for MP4 and Ogg; WebM's doc type may sit further in.
pub const SNIFF_LEN: usize = 512;

/// The reach of `infer`'s WebM check: the doc type is looked for in the first 256 bytes, and the
/// check wants more than that many bytes to look at.
const INFER_WEBM_WINDOW: usize = 257;

/// The container recognised from the first bytes (at least 64 bytes or the whole body if
/// shorter; [`SNIFF_LEN`] is best). `None`: not a recording we take, such as Matroska that is
/// not WebM, QuickTime, or anything else.
pub fn sniff(head: &[u8]) -> Option<Container> {
    // A short head is padded with zeros so the WebM check can look at its whole window; zeros
    // never complete a magic number or a doc type.
    let mut padded = [0u8; INFER_WEBM_WINDOW];
    let head = if head.len() < INFER_WEBM_WINDOW {
        padded[..head.len()].copy_from_slice(head);
        &padded[..]
    } else {
        head
    };
    if infer::video::is_webm(head) {
        Some(Container::Webm)
    } else if infer::video::is_mp4(head) || infer::audio::is_m4a(head) || infer::video::is_m4v(head)
    {
        Some(Container::Mp4)
    } else if infer::audio::is_ogg(head) {
        Some(Container::Ogg)
    } else {
        None
    }
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub kind: RecordingKind,
    /// How long the recording plays: from its first frame to the end of its last, over all its
    /// audio and video tracks. Where a WebM does not state its last frame's length, the track's
    /// frame spacing stands in for it, so the figure is within a frame of what a player shows.
    pub duration: Duration,
}

/// Why a recording is refused. The messages are fit for a 422 problem's `detail`; `Io` is the
/// server's own trouble reading its temporary file (a 500), never the uploader's.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("the file is not a WebM, MP4 or Ogg recording")]
    NotRecording,
    #[error("the recording holds no audio or video track")]
    NoTrack,
    #[error("the recording's codec is not one we take: {0}")]
    UnsupportedCodec(&'static str),
    #[error("the recording is damaged or incomplete: {detail}")]
    Damaged {
        detail: &'static str,
        /// What the container reader reported, for the log.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("the recording's length cannot be read: {0}")]
    NoDuration(&'static str),
    #[error("the recording could not be read")]
    Io(#[source] std::io::Error),
}

impl ProbeError {
    /// A damaged recording, with what the container reader said.
    fn damaged(
        detail: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Damaged {
            detail,
            source: Some(source.into()),
        }
    }

    /// A damaged recording, found so by the probe itself.
    fn broken(detail: &'static str) -> Self {
        Self::Damaged {
            detail,
            source: None,
        }
    }

    /// A read error: running out of bytes means the file was cut short (the uploader's
    /// problem); anything else is the server's own.
    fn io(e: std::io::Error, detail: &'static str) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Self::damaged(detail, e)
        } else {
            Self::Io(e)
        }
    }

    /// Whether the error is the uploader's (a 422) rather than the server's (a 500).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Io(_))
    }
}

/// Buffer for the demuxers' many small reads of the temporary file.
const READ_BUFFER: usize = 64 * 1024;

/// Reads the container's structure (never the whole media into memory) and returns kind and
/// duration. Ogg must hold Opus or Vorbis audio; an Ogg video (Theora) is refused.
pub fn probe<R: Read + Seek>(reader: R) -> Result<Probe, ProbeError> {
    let mut reader = BufReader::with_capacity(READ_BUFFER, reader);
    let mut head = Vec::with_capacity(SNIFF_LEN);
    (&mut reader)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(ProbeError::Io)?;
    let container = sniff(&head).ok_or(ProbeError::NotRecording)?;
    reader.seek(SeekFrom::Start(0)).map_err(ProbeError::Io)?;
    let (video, duration) = match container {
        Container::Webm => webm::probe(reader)?,
        Container::Mp4 => mp4::probe(reader)?,
        Container::Ogg => (false, ogg::probe(reader)?),
    };
    Ok(Probe {
        kind: RecordingKind { container, video },
        duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::path::PathBuf;

    /// The committed fixtures (rebuilt by scripts/make-recording-fixtures.sh) with their
    /// container, whether they hold video, and their true length in seconds as FFmpeg measures
    /// it from the packets.
    const FIXTURES: &[(&str, Container, bool, f64)] = &[
        ("chromium-vp8-opus.webm", Container::Webm, true, 3.000),
        ("chromium-vp9-opus.webm", Container::Webm, true, 3.008),
        ("chromium-opus.webm", Container::Webm, false, 3.000),
        ("ffmpeg-vp8-opus.webm", Container::Webm, true, 3.009),
        ("chromium-fragmented.mp4", Container::Mp4, true, 2.999),
        (
            "ffmpeg-fragmented-h264-aac.mp4",
            Container::Mp4,
            true,
            3.152,
        ),
        ("ffmpeg-fragmented-aac.m4a", Container::Mp4, false, 3.042),
        ("ffmpeg-progressive-aac.m4a", Container::Mp4, false, 3.019),
        ("ffmpeg-opus.ogg", Container::Ogg, false, 3.008),
    ];

    /// How far a probed length may stray from FFmpeg's.
    const TOLERANCE: f64 = 0.25;

    fn fixture(name: &str) -> Vec<u8> {
        let path: PathBuf = [
            env!("CARGO_MANIFEST_DIR"),
            "tests/fixtures/recordings",
            name,
        ]
        .iter()
        .collect();
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn each_fixture_is_probed_to_its_kind_and_length() {
        for &(name, container, video, seconds) in FIXTURES {
            let probe =
                probe(Cursor::new(fixture(name))).unwrap_or_else(|e| panic!("{name}: {e} ({e:?})"));
            assert_eq!(probe.kind, RecordingKind { container, video }, "{name}");
            let got = probe.duration.as_secs_f64();
            assert!(
                (got - seconds).abs() <= TOLERANCE,
                "{name}: {got} s, truth {seconds} s"
            );
        }
    }

    #[test]
    fn probe_reads_from_a_file() {
        let path: PathBuf = [
            env!("CARGO_MANIFEST_DIR"),
            "tests/fixtures/recordings/chromium-vp8-opus.webm",
        ]
        .iter()
        .collect();
        let probe = probe(std::fs::File::open(path).unwrap()).unwrap();
        assert_eq!(probe.kind.content_type(), "video/webm");
    }

    #[test]
    fn each_fixture_is_sniffed_from_its_first_64_bytes_and_from_sniff_len() {
        for &(name, container, _, _) in FIXTURES {
            let bytes = fixture(name);
            assert_eq!(sniff(&bytes[..64]), Some(container), "{name}, 64 bytes");
            assert_eq!(
                sniff(&bytes[..SNIFF_LEN]),
                Some(container),
                "{name}, {SNIFF_LEN} bytes"
            );
        }
    }

    /// A small valid PNG, as an image upload would carry.
    fn png() -> Vec<u8> {
        let mut out = Vec::new();
        image::DynamicImage::new_rgb8(4, 4)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    /// Bytes from a fixed-seed generator: the same on every run.
    fn noise(len: usize) -> Vec<u8> {
        use rand::{RngCore, SeedableRng};
        let mut bytes = vec![0; len];
        rand_chacha::ChaCha8Rng::seed_from_u64(24).fill_bytes(&mut bytes);
        bytes
    }

    #[test]
    fn what_is_not_a_recording_is_refused_as_such() {
        for (what, bytes) in [
            ("png", png()),
            ("noise", noise(4096)),
            ("empty", vec![]),
            ("short", b"Og".to_vec()),
        ] {
            assert_eq!(sniff(&bytes), None, "{what}");
            let err = probe(Cursor::new(bytes)).unwrap_err();
            assert!(matches!(err, ProbeError::NotRecording), "{what}: {err:?}");
            assert!(err.is_client_error());
        }
    }

    #[test]
    fn a_renamed_png_is_refused_whatever_its_name() {
        // The name and declared type play no part: only the bytes are read.
        let err = probe(Cursor::new(png())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file is not a WebM, MP4 or Ogg recording"
        );
    }

    #[test]
    fn a_recording_cut_short_is_refused_as_damaged() {
        for &(name, _, _, _) in FIXTURES {
            let bytes = fixture(name);
            // Cut inside the media: in the middle of a WebM block, an Ogg page, the MP4 `mdat`
            // or, for the progressive M4A, before the end of its media data.
            let cut = &bytes[..bytes.len() * 2 / 3];
            let err = probe(Cursor::new(cut.to_vec())).unwrap_err();
            assert!(
                matches!(err, ProbeError::Damaged { .. }),
                "{name} cut to {} bytes: {err:?}",
                cut.len()
            );
            assert!(err.is_client_error());
            assert!(err
                .to_string()
                .starts_with("the recording is damaged or incomplete: "));
        }
    }

    #[test]
    fn a_recording_cut_to_its_header_has_no_length() {
        for &(name, _, _, _) in FIXTURES {
            let bytes = fixture(name);
            let err = probe(Cursor::new(bytes[..100].to_vec())).unwrap_err();
            assert!(
                matches!(err, ProbeError::Damaged { .. } | ProbeError::NoDuration(_)),
                "{name} cut to 100 bytes: {err:?}"
            );
        }
    }

    #[test]
    fn noise_after_a_recording_magic_number_is_damage() {
        for &(name, _, _, _) in FIXTURES {
            let mut bytes = fixture(name)[..64].to_vec();
            bytes.extend(noise(8192));
            let err = probe(Cursor::new(bytes)).unwrap_err();
            assert!(err.is_client_error(), "{name}: {err:?}");
            assert!(!matches!(err, ProbeError::NotRecording), "{name}: {err:?}");
        }
    }

    #[test]
    fn damaged_bytes_anywhere_are_refused_or_read_never_a_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(24);
        for &(name, _, _, _) in FIXTURES {
            let original = fixture(name);
            for _ in 0..200 {
                let mut bytes = original.clone();
                for _ in 0..rng.gen_range(1..8) {
                    let at = rng.gen_range(0..bytes.len());
                    bytes[at] = rng.gen();
                }
                // Either outcome is fine; the server's own error never is.
                if let Err(e) = probe(Cursor::new(bytes)) {
                    assert!(e.is_client_error(), "{name}: {e:?}");
                }
            }
        }
    }

    #[test]
    fn a_recording_cut_anywhere_is_refused_or_read_never_a_panic() {
        for &(name, _, _, _) in FIXTURES {
            let bytes = fixture(name);
            for len in (0..bytes.len()).step_by(61) {
                if let Err(e) = probe(Cursor::new(bytes[..len].to_vec())) {
                    assert!(e.is_client_error(), "{name} cut to {len} bytes: {e:?}");
                }
            }
        }
    }

    #[test]
    fn the_accepted_declared_types() {
        let table = [
            ("video/webm", Some((Container::Webm, true))),
            ("audio/webm", Some((Container::Webm, false))),
            ("video/mp4", Some((Container::Mp4, true))),
            ("audio/mp4", Some((Container::Mp4, false))),
            ("audio/ogg", Some((Container::Ogg, false))),
            ("video/ogg", None),
            ("audio/mpeg", None),
            ("video/quicktime", None),
            ("video/x-matroska", None),
            ("image/png", None),
            ("application/octet-stream", None),
            ("", None),
        ];
        for (essence, expected) in table {
            assert_eq!(accepted_type(essence), expected, "{essence}");
        }
    }

    #[test]
    fn kinds_name_their_type_and_extension() {
        let all = [
            (Container::Webm, true, "video/webm", "webm"),
            (Container::Webm, false, "audio/webm", "webm"),
            (Container::Mp4, true, "video/mp4", "mp4"),
            (Container::Mp4, false, "audio/mp4", "m4a"),
            (Container::Ogg, false, "audio/ogg", "ogg"),
        ];
        for (container, video, content_type, extension) in all {
            let kind = RecordingKind { container, video };
            assert_eq!(kind.content_type(), content_type);
            assert_eq!(kind.extension(), extension);
            // Every type a probe can name is one a browser may declare.
            assert_eq!(accepted_type(content_type), Some((container, video)));
        }
    }
}
