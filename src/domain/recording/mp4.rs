//! MP4 (ISO BMFF), progressive or fragmented. The top-level boxes are walked one header at a
//! time; `moov` and every `moof` are decoded with `mp4-atom`, and everything else (`mdat`, the
//! media) is skipped by seeking.
//!
//! A track's length is the larger of what its `mdhd` states (progressive files) and where its
//! last fragment ends: `tfdt` (the fragment's start) plus the sample durations of its `trun`s,
//! each falling back to the `tfhd` default and then the `trex` default. Fragmented files written
//! live (Safari, Chromium, FFmpeg's `empty_moov`) state 0 in `mvhd` and `mdhd`.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

use mp4_atom::{Atom, FourCC, Header, Moof, Moov, ReadAtom, ReadFrom, TrunSamples};

use super::ProbeError;

/// The largest `moov` or `moof` decoded into memory. A recording's are kilobytes (a
/// progressive hour-long file's sample tables are a few megabytes); a larger one is not a
/// browser's.
const MAX_HEADER_BOX: usize = 16 * 1024 * 1024;

/// A `duration` of all ones states that the length is unknown.
const UNKNOWN: u64 = u32::MAX as u64;

/// An audio or video track of the movie.
struct Track {
    timescale: u32,
    /// Default sample duration from the movie's `trex` for this track.
    trex_duration: u32,
    /// Length stated in `mdhd`, in `timescale` ticks.
    stated: u64,
    /// First fragment start and furthest fragment end, in `timescale` ticks.
    fragments: Option<(u64, u64)>,
    /// Where the next fragment starts when it has no `tfdt`.
    next_start: u64,
}

/// Whether the recording holds video, and its length.
pub(super) fn probe<R: Read + Seek>(mut r: R) -> Result<(bool, Duration), ProbeError> {
    let len = r.seek(SeekFrom::End(0)).map_err(ProbeError::Io)?;
    r.seek(SeekFrom::Start(0)).map_err(ProbeError::Io)?;
    let mut tracks: Option<(bool, HashMap<u32, Track>)> = None;
    loop {
        let header = match Option::<Header>::read_from(&mut r) {
            Ok(Some(header)) => header,
            Ok(None) => break,
            Err(e) => return Err(damaged(BOXES, e)),
        };
        let body_start = r.stream_position().map_err(ProbeError::Io)?;
        let body_end = match header.size {
            Some(size) => body_start
                .checked_add(size as u64)
                .filter(|end| *end <= len),
            None => Some(len),
        }
        .ok_or(ProbeError::broken(TRUNCATED))?;
        let decoded = header.kind == Moov::KIND || header.kind == Moof::KIND;
        if decoded && body_end - body_start > MAX_HEADER_BOX as u64 {
            return Err(ProbeError::broken(TOO_LARGE));
        }
        if header.kind == Moov::KIND {
            let moov = Moov::read_atom(&header, &mut r).map_err(|e| damaged(MOOV, e))?;
            tracks = Some(movie_tracks(&moov)?);
        } else if header.kind == Moof::KIND {
            let moof = Moof::read_atom(&header, &mut r).map_err(|e| damaged(MOOF, e))?;
            // A fragment before the movie header cannot be placed: fragmented files put `moov`
            // first.
            let (_, tracks) = tracks.as_mut().ok_or(ProbeError::broken(NO_MOOV))?;
            add_fragment(tracks, &moof);
        } else {
            r.seek(SeekFrom::Start(body_end)).map_err(ProbeError::Io)?;
        }
    }
    let (video, tracks) = tracks.ok_or(ProbeError::broken(NO_MOOV))?;
    let duration = tracks
        .values()
        .map(|t| {
            let (start, end) = t.fragments.unwrap_or((0, 0));
            let stated = if t.stated >= UNKNOWN { 0 } else { t.stated };
            ticks_to_duration(end.saturating_sub(start).max(stated), t.timescale)
        })
        .max()
        .unwrap_or_default();
    if duration.is_zero() {
        return Err(ProbeError::NoDuration(
            "the MP4 states no length and holds no fragments",
        ));
    }
    Ok((video, duration))
}

/// `ticks` of a track whose time scale is `timescale` ticks a second (never 0).
fn ticks_to_duration(ticks: u64, timescale: u32) -> Duration {
    let timescale = u64::from(timescale);
    let nanos = u128::from(ticks % timescale) * 1_000_000_000 / u128::from(timescale);
    Duration::new(ticks / timescale, nanos as u32)
}

/// The movie's audio and video tracks by id, and whether one is video.
fn movie_tracks(moov: &Moov) -> Result<(bool, HashMap<u32, Track>), ProbeError> {
    const VIDEO: FourCC = FourCC::new(b"vide");
    const AUDIO: FourCC = FourCC::new(b"soun");
    let trex = |id: u32| {
        moov.mvex
            .as_ref()
            .and_then(|mvex| mvex.trex.iter().find(|t| t.track_id == id))
            .map_or(0, |t| t.default_sample_duration)
    };
    let mut video = false;
    let mut tracks = HashMap::new();
    for trak in &moov.trak {
        let handler = trak.mdia.hdlr.handler;
        if handler != VIDEO && handler != AUDIO {
            continue;
        }
        let timescale = trak.mdia.mdhd.timescale;
        if timescale == 0 {
            return Err(ProbeError::NoDuration("an MP4 track has no time scale"));
        }
        video |= handler == VIDEO;
        let id = trak.tkhd.track_id;
        tracks.insert(
            id,
            Track {
                timescale,
                trex_duration: trex(id),
                stated: trak.mdia.mdhd.duration,
                fragments: None,
                next_start: 0,
            },
        );
    }
    if tracks.is_empty() {
        return Err(ProbeError::NoTrack);
    }
    Ok((video, tracks))
}

/// Extends each track's span by its runs in a movie fragment.
fn add_fragment(tracks: &mut HashMap<u32, Track>, moof: &Moof) {
    for traf in &moof.traf {
        // Fragments of tracks that are neither audio nor video (timed metadata) do not count.
        let Some(track) = tracks.get_mut(&traf.tfhd.track_id) else {
            continue;
        };
        let default = traf
            .tfhd
            .default_sample_duration
            .unwrap_or(track.trex_duration);
        let start = traf
            .tfdt
            .as_ref()
            .map_or(track.next_start, |t| t.base_media_decode_time);
        let mut ticks: u64 = 0;
        for trun in &traf.trun {
            ticks = ticks.saturating_add(match &trun.samples {
                // Counted, not visited: the count comes from the file.
                TrunSamples::Inherited { count, .. } => u64::from(*count) * u64::from(default),
                TrunSamples::Explicit(entries) => entries
                    .iter()
                    .map(|e| u64::from(e.duration.unwrap_or(default)))
                    .sum(),
            });
        }
        let end = start.saturating_add(ticks);
        track.next_start = end;
        track.fragments = Some(match track.fragments {
            Some((first, last)) => (first.min(start), last.max(end)),
            None => (start, end),
        });
    }
}

const BOXES: &str = "its MP4 boxes are cut short or malformed";
const TRUNCATED: &str = "an MP4 box runs past the end of the file";
const TOO_LARGE: &str = "an MP4 header box is larger than a recording's";
const MOOV: &str = "its MP4 movie header cannot be read";
const MOOF: &str = "an MP4 movie fragment cannot be read";
const NO_MOOV: &str = "the MP4 has no movie header";

fn damaged(detail: &'static str, e: mp4_atom::Error) -> ProbeError {
    match e {
        mp4_atom::Error::Io(io) => ProbeError::io(io, detail),
        other => ProbeError::damaged(detail, other),
    }
}
