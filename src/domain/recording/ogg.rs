//! Ogg with Opus (as Firefox records) or Vorbis audio. The `ogg` crate reads the pages, checking
//! each one's CRC; the length is the last granule position of the first logical stream, less
//! Opus's pre-skip, over the codec's sample rate (always 48 kHz for Opus).

use std::io::{Read, Seek};
use std::time::Duration;

use ogg::{OggReadError, PacketReader};

use super::ProbeError;

/// Opus granule positions count 48 kHz samples whatever the input rate (RFC 7845 §4).
const OPUS_RATE: u64 = 48_000;

/// A granule position of all ones: no packet ends on this page.
const NO_GRANULE: u64 = u64::MAX;

/// The recording's length.
pub(super) fn probe<R: Read + Seek>(reader: R) -> Result<Duration, ProbeError> {
    let mut packets = PacketReader::new(reader);
    let first = packets
        .read_packet()
        .map_err(|e| damaged(PAGES, e))?
        .ok_or(ProbeError::broken(PAGES))?;
    let serial = first.stream_serial();
    let (rate, pre_skip) = identify(&first.data)?;

    let mut last = None;
    while let Some(packet) = packets.read_packet().map_err(|e| damaged(PAGES, e))? {
        // Other logical streams (a chained or multiplexed file) are not the recording's audio.
        if packet.stream_serial() != serial || packet.absgp_page() == NO_GRANULE {
            continue;
        }
        last = Some(packet.absgp_page());
    }
    let granule = last
        .filter(|g| *g > 0)
        .ok_or(ProbeError::NoDuration("the Ogg holds no audio"))?;
    let samples = granule.saturating_sub(pre_skip);
    let whole = samples / rate;
    let nanos = (samples % rate) * 1_000_000_000 / rate;
    Ok(Duration::new(whole, nanos as u32))
}

/// The sample rate of the granule positions and the samples to drop at the start, from the
/// stream's identification header: `OpusHead` (RFC 7845 §5.1) or Vorbis's (Vorbis I §4.2.2).
/// Theora video or any other codec is refused.
fn identify(header: &[u8]) -> Result<(u64, u64), ProbeError> {
    if let Some(rest) = header.strip_prefix(b"OpusHead") {
        // version (1), channels (1), pre-skip (u16 little-endian), input rate, gain, mapping.
        let pre_skip = rest.get(2..4).ok_or(ProbeError::broken(HEADER))?;
        return Ok((
            OPUS_RATE,
            u64::from(u16::from_le_bytes([pre_skip[0], pre_skip[1]])),
        ));
    }
    if let Some(rest) = header.strip_prefix(b"\x01vorbis") {
        // version (u32), channels (u8), sample rate (u32 little-endian), …
        let rate = rest.get(5..9).ok_or(ProbeError::broken(HEADER))?;
        let rate = u32::from_le_bytes([rate[0], rate[1], rate[2], rate[3]]);
        if rate == 0 {
            return Err(ProbeError::broken(HEADER));
        }
        return Ok((u64::from(rate), 0));
    }
    Err(ProbeError::UnsupportedCodec(
        "an Ogg recording must hold Opus or Vorbis audio",
    ))
}

const PAGES: &str = "its Ogg pages are cut short or malformed";
const HEADER: &str = "its Ogg audio header is cut short";

fn damaged(detail: &'static str, e: OggReadError) -> ProbeError {
    match e {
        OggReadError::ReadError(io) => ProbeError::io(io, detail),
        other => ProbeError::damaged(detail, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_counts_48_khz_less_its_pre_skip() {
        // OpusHead, version 1, 1 channel, pre-skip 312, input rate 44.1 kHz, gain 0, mapping 0.
        let head = b"OpusHead\x01\x01\x38\x01\x44\xac\x00\x00\x00\x00\x00";
        assert_eq!(identify(head).unwrap(), (48_000, 312));
    }

    #[test]
    fn vorbis_counts_at_its_own_rate() {
        // Identification header: version 0, 2 channels, 44.1 kHz, bitrates, block sizes, framing.
        let mut head = b"\x01vorbis\x00\x00\x00\x00\x02\x44\xac\x00\x00".to_vec();
        head.extend([0; 14]);
        assert_eq!(identify(&head).unwrap(), (44_100, 0));
    }

    #[test]
    fn other_codecs_and_cut_headers_are_refused() {
        assert!(matches!(
            identify(b"\x80theora\x03\x02\x01"),
            Err(ProbeError::UnsupportedCodec(_))
        ));
        assert!(matches!(
            identify(b"OpusHead\x01"),
            Err(ProbeError::Damaged { .. })
        ));
        assert!(matches!(
            identify(b"\x01vorbis\x00"),
            Err(ProbeError::Damaged { .. })
        ));
    }
}
