//! The web console: a single-page app (plain HTML, CSS and JavaScript modules from `console/`)
//! served at `/`. The files are compiled into the binary, nothing is loaded from anywhere else at
//! run time, and the app talks to the server only through the public API with the same tokens as
//! any other client.
//!
//! A service worker (`/sw.js`, scope `/`) keeps the console's files and the seller's queue for use
//! offline and shows push reminders; see `console/sw.js`.
//!
//! These routes are registered on the actix `App` directly, not through `routes()`, so they stay
//! out of the OpenAPI document; every path they do not name still reaches the 404 problem fallback.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// Only our own origin: no inline scripts or styles, no third-party hosts, no framing; the
/// service worker and the manifest come from our origin too. Media may also play from `blob:`
/// addresses: a pitch recording is played from memory, before it is sent (the seller's preview)
/// or after it was fetched with the caller's token (the recording route needs a bearer token,
/// which a `<video src>` cannot send).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self'; media-src 'self' blob:; font-src 'self'; connect-src 'self'; \
    worker-src 'self'; manifest-src 'self'; object-src 'none'; \
    base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file of the console.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $file:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/", $file)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the console, by the path it is served at.
pub const ASSETS: &[Asset] = &[
    asset!("/", "index.html", "text/html; charset=utf-8"),
    asset!("/app.css", "app.css", "text/css; charset=utf-8"),
    asset!("/app.js", "app.js", JS),
    asset!("/api.js", "api.js", JS),
    asset!("/ui.js", "ui.js", JS),
    asset!("/outbox.js", "outbox.js", JS),
    asset!("/offline.js", "offline.js", JS),
    asset!("/reminders.js", "reminders.js", JS),
    asset!("/leaderboard.js", "leaderboard.js", JS),
    asset!("/coaching.js", "coaching.js", JS),
    asset!("/recording.js", "recording.js", JS),
    asset!("/pitch-outbox.js", "pitch-outbox.js", JS),
    asset!("/pitch.js", "pitch.js", JS),
    asset!("/pitch-review.js", "pitch-review.js", JS),
    asset!("/application.js", "application.js", JS),
    asset!("/seller.js", "seller.js", JS),
    asset!("/author.js", "author.js", JS),
    asset!("/editor.js", "editor.js", JS),
    asset!("/hr.js", "hr.js", JS),
    asset!("/favicon.svg", "favicon.svg", "image/svg+xml"),
    // What a phone needs to install the console as an app: name, start page, icons (full-bleed,
    // the mark inside the maskable safe zone, so one file serves both purposes).
    asset!(
        "/manifest.webmanifest",
        "manifest.webmanifest",
        "application/manifest+json"
    ),
    asset!("/icon-192.png", "icon-192.png", "image/png"),
    asset!("/icon-512.png", "icon-512.png", "image/png"),
    asset!("/sw.js", "sw.js", JS),
];

/// Where the service worker is served: at the root, so its scope is the whole console.
const SERVICE_WORKER: &str = "/sw.js";

/// The placeholder in `sw.js` that the console's version replaces.
const VERSION_MARK: &str = "%SHELL_VERSION%";

/// A digest of every console file. Written into the service worker, it changes with any file, so
/// browsers install the worker of a new build, which caches that build's files afresh.
fn console_version() -> String {
    let mut digest = Sha256::new();
    for asset in ASSETS {
        digest.update(asset.path.as_bytes());
        digest.update([0]);
        digest.update(asset.body);
    }
    hex::encode(digest.finalize())[..16].to_string()
}

/// The service worker as served: `sw.js` with the console's version written in.
fn service_worker() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| {
        let asset = ASSETS
            .iter()
            .find(|a| a.path == SERVICE_WORKER)
            .expect("the service worker is a console file");
        let source = std::str::from_utf8(asset.body).expect("sw.js is UTF-8");
        source
            .replace(VERSION_MARK, &console_version())
            .into_bytes()
    })
}

/// Adds a GET (and HEAD) route for every console file.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for asset in ASSETS {
        let body = if asset.path == SERVICE_WORKER {
            service_worker()
        } else {
            asset.body
        };
        cfg.route(
            asset.path,
            web::route()
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .to(move |req: HttpRequest| async move { serve(asset, body, &req) }),
        );
    }
}

fn etag(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

/// The file with its type and security headers; 304 when the browser's copy is current. Browsers
/// revalidate every time (`no-cache`), so a new binary's console, and its service worker, are
/// picked up at once.
fn serve(asset: &Asset, body: &'static [u8], req: &HttpRequest) -> HttpResponse {
    let tag = etag(body);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    if fresh {
        return response.finish();
    }
    response
        .insert_header((header::CONTENT_TYPE, asset.content_type))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_path_and_content() {
        for (i, a) in ASSETS.iter().enumerate() {
            assert!(!a.body.is_empty(), "{} is empty", a.path);
            assert!(ASSETS[..i].iter().all(|b| b.path != a.path), "{}", a.path);
            assert!(!a.path.starts_with("/api/"), "{}", a.path);
        }
    }

    #[test]
    fn index_loads_only_module_scripts_from_our_origin() {
        let index = std::str::from_utf8(ASSETS[0].body).unwrap();
        assert!(index.contains(r#"<script type="module" src="/app.js">"#));
        assert!(!index.contains("http://") && !index.contains("https://"));
        assert!(
            !index.contains("style="),
            "inline styles are refused by the CSP"
        );
    }

    #[test]
    fn the_service_worker_caches_every_console_file_under_this_build_version() {
        let worker = std::str::from_utf8(service_worker()).unwrap();
        assert!(!worker.contains(VERSION_MARK));
        assert!(worker.contains(&format!("const VERSION = '{}';", console_version())));
        let shell = worker
            .split_once("const SHELL = [")
            .and_then(|(_, rest)| rest.split_once("];"))
            .expect("a SHELL list")
            .0;
        let mut listed: Vec<&str> = shell
            .split(',')
            .map(|p| p.trim().trim_matches('\''))
            .filter(|p| !p.is_empty())
            .collect();
        let mut served: Vec<&str> = ASSETS
            .iter()
            .map(|a| a.path)
            .filter(|p| *p != SERVICE_WORKER)
            .collect();
        listed.sort_unstable();
        served.sort_unstable();
        assert_eq!(
            listed, served,
            "sw.js precaches exactly the console's files"
        );
    }

    #[test]
    fn the_policy_lets_our_own_worker_and_manifest_load_and_nothing_unsafe() {
        for wanted in [
            "worker-src 'self'",
            "manifest-src 'self'",
            "script-src 'self'",
            "media-src 'self' blob:",
        ] {
            assert!(CONTENT_SECURITY_POLICY.contains(wanted), "{wanted}");
        }
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-"));
    }
}
