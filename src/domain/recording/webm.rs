//! WebM as MediaRecorder writes it: a live stream whose segment and clusters have unknown size
//! (the size field all ones) and whose Info has no Duration. `webm-iterable` reads the elements
//! in order, ending unknown-size elements where the Matroska schema says they end, and this walk
//! keeps only what the length needs: the timestamp scale, the tracks, each cluster's timestamp
//! and each block's track, timestamp and (in a block group) duration. One element is in memory
//! at a time.

use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

use ebml_iterable::tools::read_vint;
use webm_iterable::errors::TagIteratorError;
use webm_iterable::matroska_spec::{Block, Master, MatroskaSpec, SimpleBlock};
use webm_iterable::WebmIterator;

use super::ProbeError;

/// Matroska's default timestamp scale: block timestamps in milliseconds.
const DEFAULT_SCALE_NS: u64 = 1_000_000;

/// The largest element read into memory. A block holds one compressed frame: even a 4K key
/// frame is a few megabytes.
const MAX_ELEMENT: usize = 32 * 1024 * 1024;

/// Matroska TrackType values (RFC 9559 §5.1.4.1.3).
const VIDEO: u64 = 1;
const AUDIO: u64 = 2;

/// A track of the segment.
struct Track {
    kind: u64,
    /// Nanoseconds each frame lasts, when the track states it.
    default_ns: Option<u64>,
    /// Start of the track's latest frame, in nanoseconds.
    last_start: Option<i128>,
}

/// The block group being read: its block's track and timestamp, and its stated duration.
#[derive(Default)]
struct Group {
    block: Option<(u64, i128)>,
    duration: Option<u64>,
}

/// What the walk has learnt so far.
struct Walk {
    /// Nanoseconds per timestamp tick.
    scale: u64,
    /// By track number.
    tracks: HashMap<u64, Track>,
    /// Earliest start and latest end over all audio and video frames, in nanoseconds.
    span: Option<(i128, i128)>,
}

impl Walk {
    /// Counts a frame of track `number` starting at `ticks`. Its length is what its block group
    /// states, else the track's default duration, else the time since the track's previous
    /// frame (MediaRecorder states neither; frames of one track are evenly spaced).
    fn frame(&mut self, number: u64, ticks: i128, length_ticks: Option<u64>) {
        let scale = i128::from(self.scale);
        let Some(track) = self.tracks.get_mut(&number) else {
            return;
        };
        if track.kind != AUDIO && track.kind != VIDEO {
            return;
        }
        // Saturating: a damaged file's timestamps must not wrap around (or panic).
        let start = ticks.saturating_mul(scale);
        let length = match (length_ticks, track.default_ns, track.last_start) {
            (Some(ticks), _, _) => i128::from(ticks).saturating_mul(scale),
            (None, Some(ns), _) => i128::from(ns),
            (None, None, Some(previous)) => start.saturating_sub(previous).max(0),
            (None, None, None) => 0,
        };
        let end = start.saturating_add(length);
        track.last_start = Some(start);
        self.span = Some(match self.span {
            Some((first, last)) => (first.min(start), last.max(end)),
            None => (start, end),
        });
    }
}

/// Whether the recording holds video, and its length.
pub(super) fn probe<R: Read>(reader: R) -> Result<(bool, Duration), ProbeError> {
    let mut tags = WebmIterator::new(reader, &[MatroskaSpec::TrackEntry(Master::Start)]);
    tags.set_max_allowable_tag_size(Some(MAX_ELEMENT));

    let mut walk = Walk {
        scale: DEFAULT_SCALE_NS,
        tracks: HashMap::new(),
        span: None,
    };
    let mut cluster: i128 = 0;
    let mut group = Group::default();
    for tag in &mut tags {
        let tag = tag.map_err(damaged)?;
        match &tag {
            MatroskaSpec::TimestampScale(ns) if *ns > 0 => walk.scale = *ns,
            MatroskaSpec::TrackEntry(Master::Full(children)) => {
                let (number, track) = track(children);
                walk.tracks.insert(number, track);
            }
            MatroskaSpec::Cluster(Master::Start) => cluster = 0,
            MatroskaSpec::Timestamp(ticks) => cluster = i128::from(*ticks),
            MatroskaSpec::SimpleBlock(data) | MatroskaSpec::Block(data) if !whole_header(data) => {
                return Err(ProbeError::broken(BLOCK));
            }
            MatroskaSpec::SimpleBlock(_) => {
                let block = SimpleBlock::try_from(&tag).map_err(|e| bad_block(e.into()))?;
                walk.frame(block.track, cluster + i128::from(block.timestamp), None);
            }
            MatroskaSpec::BlockGroup(Master::Start) => group = Group::default(),
            MatroskaSpec::Block(_) => {
                let block = Block::try_from(&tag).map_err(|e| bad_block(e.into()))?;
                group.block = Some((block.track, cluster + i128::from(block.timestamp)));
            }
            MatroskaSpec::BlockDuration(ticks) => group.duration = Some(*ticks),
            MatroskaSpec::BlockGroup(Master::End) => {
                if let Some((track, ticks)) = group.block.take() {
                    walk.frame(track, ticks, group.duration.take());
                }
            }
            _ => {}
        }
    }

    let Walk { tracks, span, .. } = walk;
    if !tracks.values().any(|t| t.kind == AUDIO || t.kind == VIDEO) {
        return Err(ProbeError::NoTrack);
    }
    let video = tracks.values().any(|t| t.kind == VIDEO);
    let (first, last) = span.ok_or(ProbeError::NoDuration(
        "the WebM holds no audio or video frame",
    ))?;
    let nanos = u64::try_from(last.saturating_sub(first))
        .map_err(|_| ProbeError::NoDuration("the WebM's timestamps are out of range"))?;
    Ok((video, Duration::from_nanos(nanos)))
}

/// The number, type and default frame duration of a TrackEntry.
fn track(children: &[MatroskaSpec]) -> (u64, Track) {
    let mut number = 0;
    let mut track = Track {
        kind: 0,
        default_ns: None,
        last_start: None,
    };
    for child in children {
        match child {
            MatroskaSpec::TrackNumber(n) => number = *n,
            MatroskaSpec::TrackType(kind) => track.kind = *kind,
            MatroskaSpec::DefaultDuration(ns) => track.default_ns = Some(*ns),
            _ => {}
        }
    }
    (number, track)
}

/// Whether a block holds its whole header: track number, 2-byte timestamp and flags.
/// `webm-iterable`'s block readers index past the end of a shorter one (a panic), so such a
/// block is refused before they see it.
fn whole_header(block: &[u8]) -> bool {
    matches!(read_vint(block), Ok(Some((_, track_len))) if block.len() >= track_len + 3)
}

const ELEMENTS: &str = "its WebM elements are cut short or malformed";
const BLOCK: &str = "a WebM block is malformed";

fn damaged(e: TagIteratorError) -> ProbeError {
    match e {
        TagIteratorError::ReadError { source } => ProbeError::io(source, ELEMENTS),
        other => ProbeError::damaged(ELEMENTS, other),
    }
}

fn bad_block(e: Box<dyn std::error::Error + Send + Sync>) -> ProbeError {
    ProbeError::Damaged {
        detail: BLOCK,
        source: Some(e),
    }
}
