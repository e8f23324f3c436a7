//! Images for nuggets and the editor's check: uploads recognised by their bytes, re-encoded
//! without metadata, stored once, served by content hash with long cache headers to anyone with
//! the address and to nobody guessing another organization's; refusals that store nothing; and
//! a pack checked as an upload would check it, with nothing stored.

use image::codecs::png::PngEncoder;
use image::{DynamicImage, Rgb, RgbImage};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 200]));
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_with_encoder(PngEncoder::new(&mut out))
        .unwrap();
    out
}

/// The PNG with a text chunk naming a place, as photo tools write one.
fn png_with_place() -> Vec<u8> {
    let plain = png(6, 4);
    let text = b"tEXtLocation\x0012 Example Street";
    let mut chunk = (text.len() as u32 - 4).to_be_bytes().to_vec();
    chunk.extend_from_slice(text);
    chunk.extend_from_slice(&crc32fast::hash(text).to_be_bytes());
    let end = plain.len() - 12;
    [&plain[..end], &chunk[..], &plain[end..]].concat()
}

async fn upload(
    app: &TestApp,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/media"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The served path of an upload's absolute address.
fn path_of(result: &Value) -> String {
    let url = url::Url::parse(result["url"].as_str().unwrap()).unwrap();
    url.path().to_string()
}

fn media_rows(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    reprise::store::schema::media::table
        .count()
        .get_result(&mut conn)
        .unwrap()
}

#[actix_web::test]
async fn an_image_is_cleaned_stored_once_and_served_with_long_cache_headers() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let res = upload(&app, &l.author, "image/png", png_with_place()).await;
    let first = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(first["content_type"], "image/png");
    assert_eq!(
        (first["width"].as_u64(), first["height"].as_u64()),
        (Some(6), Some(4))
    );
    let path = path_of(&first);
    assert!(
        path.ends_with(".png") && path.starts_with("/media/"),
        "{path}"
    );

    // Served without signing in (a phone's <img> sends no token), cached by the browser only.
    let res = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let headers = res.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    let cache = headers["cache-control"].to_str().unwrap();
    assert!(
        cache.contains("private")
            && cache.contains("max-age=31536000")
            && cache.contains("immutable"),
        "{cache}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let etag = headers["etag"].to_str().unwrap().to_string();
    let served = res.bytes().await.unwrap();
    assert!(
        !served.windows(14).any(|w| w == b"Example Street"),
        "the place is gone"
    );
    let pixels = image::load_from_memory(&served).unwrap().to_rgb8();
    assert_eq!(pixels.get_pixel(5, 3), &Rgb([5, 3, 200]));

    // Revalidation by hash.
    let res = app
        .client
        .get(app.url(&path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // The same picture again: the same address, stored once.
    let again = expect_json(
        upload(&app, &l.author, "image/png", png_with_place()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(media_rows(&app), 1);

    // A nugget can show it: a pack naming it is accepted and published.
    let mut yaml = sample_pack_yaml("pictures");
    yaml = yaml.replace(
        "    explanation: Because 1.\n",
        &format!(
            "    explanation: Because 1.\n    media_url: {}\n",
            first["url"].as_str().unwrap()
        ),
    );
    expect_json(app.upload_yaml(&l.author, &yaml).await, StatusCode::CREATED).await;
    let version = app.publish(&l.author, "pictures").await;
    assert_eq!(version["version"], 1);

    // Another organization's address with this hash is nothing.
    let other = app.setup_learning_in("Globex", "globex.example", 3).await;
    let globex = app.org_id(&other.author).await;
    let acme = path.split('/').nth(2).unwrap();
    let foreign = path.replace(acme, globex.as_str());
    let res = app.client.get(app.url(&foreign)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The pack moves with its picture: a bundle exported here, imported there, shows Globex's
    // own copy.
    let res = app
        .client
        .get(app.url("/api/v1/packs/pictures/export?format=zip"))
        .bearer_auth(&l.author)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let bundle = res.bytes().await.unwrap().to_vec();
    let res = app
        .client
        .post(app.url("/api/v1/packs"))
        .bearer_auth(&other.author)
        .header("content-type", "application/zip")
        .body(bundle)
        .send()
        .await
        .unwrap();
    expect_json(res, StatusCode::CREATED).await;
    let detail = expect_json(
        app.get("/api/v1/packs/pictures", Some(&other.author)).await,
        StatusCode::OK,
    )
    .await;
    let theirs = path_of(&json!({"url": detail["draft"]["nuggets"][0]["media_url"]}));
    assert!(theirs.starts_with(&format!("/media/{globex}/")), "{theirs}");
    let res = app.client.get(app.url(&theirs)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(media_rows(&app), 2);
    for bad in [
        "/media/x/y",
        &path.replace(".png", ".jpg"),
        &path.replace(".png", ""),
    ] {
        let res = app.client.get(app.url(bad)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
    }
}

#[actix_web::test]
async fn false_damaged_oversized_and_unauthorized_uploads_store_nothing() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode)> = vec![
        ("learner", "image/png", png(4, 4), StatusCode::FORBIDDEN),
        (
            "author",
            "image/png",
            b"<svg onload=alert(1)></svg>".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "author",
            "image/jpeg",
            png(4, 4),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "author",
            "image/png",
            png(4, 4)[..40].to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "author",
            "image/png",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "author",
            "image/png",
            vec![0x89; 2 * 1024 * 1024 + 10],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (who, content_type, body, status) in cases {
        let token = if who == "learner" {
            &l.learner
        } else {
            &l.author
        };
        let res = upload(&app, token, content_type, body).await;
        let problem = expect_problem(res, status).await;
        assert!(problem["detail"].is_string(), "{problem}");
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_eq!(problem_fields(&problem), ["body"]);
        }
    }
    let res = app
        .client
        .post(app.url("/api/v1/media"))
        .body(png(2, 2))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(media_rows(&app), 0);
}

async fn validate(app: &TestApp, token: &str, query: &str, pack: &Value) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/packs/validate{query}")))
        .bearer_auth(token)
        .json(pack)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_draft_is_checked_as_an_upload_would_be_and_nothing_is_stored() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let nugget = |key: &str, explanation: &str| {
        json!({
            "key": key, "topic": "Pricing", "prompt": "What do you ask first?",
            "options": [{"text": "The budget", "correct": true}, {"text": "Nothing", "feedback": "Ask."}],
            "explanation": explanation,
        })
    };
    let pack = json!({"slug": "editor-pack", "title": "From the editor", "nuggets": [nugget("q1", "Because."), nugget("q2", "")]});
    let ok = expect_json(validate(&app, &l.author, "", &pack).await, StatusCode::OK).await;
    assert_eq!(ok["nuggets"], 2);
    let warned: Vec<&str> = ok["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["field"].as_str().unwrap())
        .collect();
    assert_eq!(warned, ["nuggets[1].explanation"]);
    // Strict, as the call or the organization asks: the warning is an error.
    let problem = expect_problem(
        validate(&app, &l.author, "?strict=true", &pack).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem_fields(&problem), ["nuggets[1].explanation"]);
    // Every error by field, as an upload reports it.
    let mut bad = pack.clone();
    bad["nuggets"][0]["options"][0]["correct"] = json!(false);
    bad["nuggets"][1]["media_url"] = json!("not a url");
    let problem = expect_problem(
        validate(&app, &l.author, "", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let fields = problem_fields(&problem);
    assert!(
        fields.contains(&"nuggets[0].options".to_string()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"nuggets[1].media_url".to_string()),
        "{fields:?}"
    );
    // Learners may not; nothing was stored by any of it.
    expect_problem(
        validate(&app, &l.learner, "", &pack).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let packs = expect_json(
        app.get("/api/v1/packs", Some(&l.author)).await,
        StatusCode::OK,
    )
    .await;
    assert!(packs
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["slug"] != "editor-pack"));
}
