//! The web console is served at `/` with its own files, types and Content-Security-Policy; it
//! stays out of the OpenAPI document, and unknown API paths are still 404 problem documents. Its
//! service worker is served at `/sw.js`, revalidated on every update check.

use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn console_files_are_served_with_types_and_a_self_only_policy() {
    let app = spawn_app().await;
    for (path, content_type, marker) in [
        ("/", "text/html; charset=utf-8", "<main id=\"main\""),
        ("/app.js", "text/javascript; charset=utf-8", "import"),
        (
            "/seller.js",
            "text/javascript; charset=utf-8",
            "/api/v1/me/queue",
        ),
        ("/app.css", "text/css; charset=utf-8", ":root"),
        ("/favicon.svg", "image/svg+xml", "<svg"),
    ] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let headers = res.headers().clone();
        assert_eq!(headers["content-type"], content_type, "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("http"),
            "{path}: {csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let etag = headers["etag"].to_str().unwrap().to_string();
        assert!(res.text().await.unwrap().contains(marker), "{path}");

        let again = app
            .client
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
}

/// Width and height from a PNG's header chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[actix_web::test]
async fn the_console_installs_as_an_app_with_a_manifest_and_icons() {
    let app = spawn_app().await;
    let index = app.get("/", None).await.text().await.unwrap();
    assert!(index.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));
    let res = app.get("/manifest.webmanifest", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/manifest+json");
    let manifest: serde_json::Value = res.json().await.unwrap();
    assert_eq!(manifest["name"], "Reprise");
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(
        manifest["start_url"], "/#/seller",
        "opens on today's nuggets"
    );
    assert!(manifest["theme_color"].as_str().unwrap().starts_with('#'));
    let icons = manifest["icons"].as_array().unwrap();
    for wanted in ["192x192", "512x512"] {
        for purpose in ["any", "maskable"] {
            let icon = icons
                .iter()
                .find(|i| i["sizes"] == wanted && i["purpose"] == purpose)
                .unwrap_or_else(|| panic!("a {purpose} icon of {wanted}"));
            let res = app.get(icon["src"].as_str().unwrap(), None).await;
            assert_eq!(res.status(), StatusCode::OK, "{wanted}");
            assert_eq!(res.headers()["content-type"], "image/png");
            let (w, h) = png_size(&res.bytes().await.unwrap());
            assert_eq!(format!("{w}x{h}"), wanted);
        }
    }
}

#[actix_web::test]
async fn the_service_worker_is_served_at_the_root_fresh_and_under_a_policy_that_admits_it() {
    let app = spawn_app().await;
    let res = app.get("/sw.js", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(
        headers["cache-control"], "no-cache",
        "never cached for good"
    );
    assert!(
        !headers.contains_key("service-worker-allowed"),
        "the root path gives the whole console as scope"
    );
    let worker = res.text().await.unwrap();
    for handler in [
        "'install'",
        "'activate'",
        "'fetch'",
        "'push'",
        "'notificationclick'",
    ] {
        assert!(
            worker.contains(&format!("addEventListener({handler}")),
            "{handler}"
        );
    }
    assert!(worker.contains("'/api/v1/me/queue'"), "keeps today's queue");
    let version = worker
        .split_once("const VERSION = '")
        .and_then(|(_, rest)| rest.split_once('\''))
        .expect("a version written in")
        .0;
    assert!(
        version.len() == 16 && version.chars().all(|c| c.is_ascii_hexdigit()),
        "{version}"
    );

    // The page that registers it, and the worker itself, run under a policy that allows workers
    // and the manifest from our origin only, and never inline or evaluated code.
    let page = app.get("/", None).await;
    let page_policy = page.headers()["content-security-policy"].clone();
    for policy in [&page_policy, &headers["content-security-policy"]] {
        let policy = policy.to_str().unwrap();
        for directive in [
            "worker-src 'self'",
            "manifest-src 'self'",
            "script-src 'self'",
        ] {
            assert!(policy.contains(directive), "{directive}: {policy}");
        }
        assert!(
            !policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"),
            "{policy}"
        );
    }
    let registration = app.get("/offline.js", None).await.text().await.unwrap();
    assert!(registration.contains("register('/sw.js'"));
}

#[actix_web::test]
async fn unknown_paths_stay_problems_and_the_console_is_not_in_the_api_document() {
    let app = spawn_app().await;
    let problem = expect_problem(
        app.get("/api/v1/no-such-thing", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(problem["detail"], "no route for GET /api/v1/no-such-thing");
    expect_problem(app.get("/app.jsx", None).await, StatusCode::NOT_FOUND).await;
    let res = app.client.post(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let spec = expect_json(app.get("/api/v1/openapi.json", None).await, StatusCode::OK).await;
    let paths = spec["paths"].as_object().unwrap();
    // The API, the probes, and the images phones load without a token.
    assert!(paths
        .keys()
        .all(|p| p.starts_with("/api/") || p.starts_with("/media/") || p.ends_with("z")));
    assert!(!paths.contains_key("/"));
}
