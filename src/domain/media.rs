//! Images authors attach to nuggets: checked by their bytes (never by the declared type),
//! decoded within limits, and re-encoded, so what is stored and served is pixels alone: no EXIF
//! (camera, place, time), no XMP or comments, no trailing data, nothing a crafted file smuggles.
//!
//! A phone photo's EXIF orientation is applied before it is dropped, so the image stays upright.
//! The stored file is named by the SHA-256 of its re-encoded bytes: the same picture uploaded
//! twice is stored once, and its address never serves different content, so it can be cached
//! for a year.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

/// The largest upload: a nugget's picture, not a photo album.
pub const MAX_IMAGE_BYTES: usize = 2 * 1024 * 1024;
/// The largest side in pixels; a larger image is refused before its pixels are decoded.
pub const MAX_SIDE: u32 = 8_192;
/// Memory the decoder may allocate (an 8192 × 8192 RGBA image needs 256 MiB).
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// JPEG quality of re-encoded photos: no visible loss at phone sizes.
const JPEG_QUALITY: u8 = 85;

/// The formats an image may have, kept on re-encoding (a photo stays a JPEG, a diagram a PNG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Webp,
}

impl ImageKind {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Self> {
        [Self::Png, Self::Jpeg, Self::Webp]
            .into_iter()
            .find(|k| k.extension() == ext)
    }

    pub fn from_content_type(content_type: &str) -> Option<Self> {
        [Self::Png, Self::Jpeg, Self::Webp]
            .into_iter()
            .find(|k| k.content_type() == content_type)
    }
}

/// Where an image this server keeps is served, as written in a nugget's `media_url`
/// (`<server>/media/<org>/<sha256>.<ext>`): the organization, the image id and its format.
pub fn kept_image(url: &str) -> Option<(String, String, ImageKind)> {
    let url = url::Url::parse(url).ok()?;
    let mut parts = url.path().strip_prefix("/media/")?.split('/');
    let (org, file) = (parts.next()?, parts.next()?);
    if parts.next().is_some() || org.is_empty() {
        return None;
    }
    let (id, ext) = file.split_once('.')?;
    let kind = ImageKind::from_extension(ext)?;
    is_image_id(id).then(|| (org.to_string(), id.to_string(), kind))
}

/// Whether `id` can name a kept image: 64 lower-case hex digits.
pub fn is_image_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An image ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanImage {
    /// Lower-case hex SHA-256 of `bytes`.
    pub id: String,
    pub kind: ImageKind,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

/// Why an upload is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("the image is larger than {MAX_IMAGE_BYTES} bytes")]
    TooLarge,
    #[error("the body is empty")]
    Empty,
    #[error("the body is not a PNG, JPEG or WebP image")]
    NotAnImage,
    #[error("the image is {0} × {1} pixels; at most {MAX_SIDE} on a side")]
    TooManyPixels(u32, u32),
    #[error("the image could not be read: {0}")]
    Unreadable(String),
}

/// Checks, decodes and re-encodes an uploaded image.
pub fn clean(bytes: &[u8]) -> Result<CleanImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ImageError::TooLarge);
    }
    let kind = match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => ImageKind::Png,
        Ok(ImageFormat::Jpeg) => ImageKind::Jpeg,
        Ok(ImageFormat::WebP) => ImageKind::Webp,
        _ => return Err(ImageError::NotAnImage),
    };
    let unreadable = |e: image::ImageError| ImageError::Unreadable(e.to_string());
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageError::Unreadable(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ImageError::TooManyPixels(width, height));
    }
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut pixels = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => ImageError::TooManyPixels(width, height),
        other => unreadable(other),
    })?;
    pixels.apply_orientation(orientation);
    let encoded = encode(&pixels, kind).map_err(unreadable)?;
    Ok(CleanImage {
        id: hex::encode(Sha256::digest(&encoded)),
        kind,
        width: pixels.width(),
        height: pixels.height(),
        bytes: encoded,
    })
}

fn encode(pixels: &DynamicImage, kind: ImageKind) -> image::ImageResult<Vec<u8>> {
    let mut out = Vec::new();
    match kind {
        ImageKind::Png => pixels.write_with_encoder(PngEncoder::new(&mut out))?,
        // JPEG has no alpha: flatten to RGB first.
        ImageKind::Jpeg => DynamicImage::ImageRgb8(pixels.to_rgb8())
            .write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))?,
        // The crate's WebP encoder is lossless; 8-bit RGBA is what it takes.
        ImageKind::Webp => DynamicImage::ImageRgba8(pixels.to_rgba8())
            .write_with_encoder(WebPEncoder::new_lossless(&mut out))?,
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 128]));
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_with_encoder(PngEncoder::new(&mut out))
            .unwrap();
        out
    }

    /// A PNG with a text chunk (as editors add: author, software, comments) before its end.
    fn png_with_comment() -> Vec<u8> {
        let plain = png(4, 3);
        let text = b"tEXtComment\0taken at 12 Example Street";
        let mut chunk = (text.len() as u32 - 4).to_be_bytes().to_vec();
        chunk.extend_from_slice(text);
        let crc = crc32fast::hash(text);
        chunk.extend_from_slice(&crc.to_be_bytes());
        let end = plain.len() - 12;
        [&plain[..end], &chunk[..], &plain[end..]].concat()
    }

    #[test]
    fn metadata_is_dropped_and_the_pixels_kept() {
        let dirty = png_with_comment();
        assert!(dirty.windows(7).any(|w| w == b"Example"));
        let clean = clean(&dirty).unwrap();
        assert_eq!(
            (clean.kind, clean.width, clean.height),
            (ImageKind::Png, 4, 3)
        );
        assert!(!clean.bytes.windows(7).any(|w| w == b"Example"));
        let back = image::load_from_memory(&clean.bytes).unwrap().to_rgb8();
        assert_eq!(back.get_pixel(3, 2), &Rgb([3, 2, 128]));
        assert_eq!(clean.id, hex::encode(Sha256::digest(&clean.bytes)));
    }

    #[test]
    fn kept_image_addresses_are_recognised() {
        let id = "ab".repeat(32);
        assert_eq!(
            kept_image(&format!("https://r.example/media/org-1/{id}.jpg")),
            Some(("org-1".into(), id.clone(), ImageKind::Jpeg))
        );
        for other in [
            format!("https://r.example/media/org-1/{id}.gif"),
            format!("https://r.example/media/{id}.png"),
            format!("https://r.example/x/media/org-1/{id}.png"),
            "https://r.example/media/org-1/abc.png".to_string(),
            "not a url".to_string(),
        ] {
            assert_eq!(kept_image(&other), None, "{other}");
        }
    }

    #[test]
    fn the_same_picture_has_the_same_name() {
        assert_eq!(clean(&png(5, 5)).unwrap().id, clean(&png(5, 5)).unwrap().id);
        assert_ne!(clean(&png(5, 5)).unwrap().id, clean(&png(5, 6)).unwrap().id);
    }

    #[test]
    fn formats_are_kept() {
        let pixels = DynamicImage::ImageRgb8(RgbImage::new(8, 8));
        for kind in [ImageKind::Jpeg, ImageKind::Webp] {
            let bytes = encode(&pixels, kind).unwrap();
            let clean = clean(&bytes).unwrap();
            assert_eq!(clean.kind, kind);
            assert_eq!(ImageKind::from_extension(kind.extension()), Some(kind));
        }
    }

    #[test]
    fn what_is_not_an_image_is_refused() {
        assert_eq!(clean(b""), Err(ImageError::Empty));
        assert_eq!(clean(b"GIF89a......"), Err(ImageError::NotAnImage));
        assert_eq!(clean(b"<svg onload=alert(1)>"), Err(ImageError::NotAnImage));
        assert!(matches!(
            clean(&png(4, 4)[..30]),
            Err(ImageError::Unreadable(_))
        ));
        assert_eq!(
            clean(&vec![0u8; MAX_IMAGE_BYTES + 1]),
            Err(ImageError::TooLarge)
        );
    }

    #[test]
    fn huge_dimensions_are_refused_before_decoding() {
        // A tiny file claiming 20000 × 20000 pixels (a decompression bomb's header).
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        assert!(matches!(
            clean(&bomb),
            Err(ImageError::TooManyPixels(..) | ImageError::Unreadable(_))
        ));
    }
}
