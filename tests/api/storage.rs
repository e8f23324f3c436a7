//! The media storage on whichever store the run uses: a directory by default, the S3-compatible
//! bucket `REPRISE_TEST_MEDIA_URL` names in CI's PostgreSQL pass. Files in and out whole and by
//! range, deletes one and by prefix, keys that would leave their place refused; images uploaded
//! for nuggets kept there and served from there; image bodies an older database still holds
//! moved there at start; a person's recordings deleted with them.

use bytes::Bytes;
use futures_util::TryStreamExt;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, Rgb, RgbImage};
use reqwest::StatusCode;
use serde_json::{json, Value};

use reprise::blobs::{self, BlobError, Blobs};
use reprise::domain::ids::{OrgId, UserId};

use crate::helpers::*;

fn png(width: u32, height: u32, blue: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, blue]));
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_with_encoder(PngEncoder::new(&mut out))
        .unwrap();
    out
}

/// A folder of the store no other test uses.
fn fresh_folder() -> String {
    format!("orgs/{}", uuid::Uuid::now_v7())
}

async fn read_range(blobs: &Blobs, key: &str, range: std::ops::Range<u64>) -> Vec<u8> {
    let chunks: Vec<Bytes> = blobs
        .get_range(key, range)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

#[actix_web::test]
async fn files_go_in_whole_come_out_by_range_and_are_deleted_alone_or_by_prefix() {
    let app = spawn_app().await;
    let blobs = &app.blobs;
    let folder = fresh_folder();

    // A file larger than one upload part (9 MiB), sent without reading it whole.
    let content: Vec<u8> = (0..9 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &content).unwrap();
    let key = format!("{folder}/pitches/u1/p1.webm");
    let written = blobs.put_file(&key, file.path()).await.unwrap();
    assert_eq!(written, content.len() as u64);
    assert_eq!(blobs.size(&key).await.unwrap(), Some(content.len() as u64));
    let (start, end) = (8 * 1024 * 1024 - 10, 8 * 1024 * 1024 + 20);
    assert_eq!(
        read_range(blobs, &key, start as u64..end as u64).await,
        content[start..end]
    );
    assert_eq!(read_range(blobs, &key, 0..5).await, content[..5]);
    assert!(read_range(blobs, &key, 7..7).await.is_empty());
    // The original file stays where it was.
    assert!(file.path().exists());

    // Small objects whole; absent ones are None, not errors.
    let small = format!("{folder}/pitches/u1/p2.webm");
    blobs
        .put_bytes(&small, Bytes::from_static(b"second"))
        .await
        .unwrap();
    assert_eq!(
        blobs.get_bytes(&small).await.unwrap().as_deref(),
        Some(&b"second"[..])
    );
    let absent = format!("{folder}/pitches/u1/none.webm");
    assert_eq!(blobs.get_bytes(&absent).await.unwrap(), None);
    assert_eq!(blobs.size(&absent).await.unwrap(), None);
    assert!(matches!(
        blobs.get_range(&absent, 0..4).await,
        Err(BlobError::NotFound)
    ));

    // One object deleted; deleting it again is no error.
    blobs.delete(&small).await.unwrap();
    assert_eq!(blobs.size(&small).await.unwrap(), None);
    blobs.delete(&small).await.unwrap();

    // A prefix takes its folder's objects, not a neighbour whose name merely starts the same.
    let neighbour = format!("{folder}/pitches/u10/p3.webm");
    let nested = format!("{folder}/pitches/u1/old/p4.webm");
    for k in [&neighbour, &nested, &small] {
        blobs.put_bytes(k, Bytes::from_static(b"x")).await.unwrap();
    }
    blobs
        .delete_prefix(&format!("{folder}/pitches/u1/"))
        .await
        .unwrap();
    for gone in [&key, &small, &nested] {
        assert_eq!(blobs.size(gone).await.unwrap(), None, "{gone}");
    }
    assert_eq!(blobs.size(&neighbour).await.unwrap(), Some(1));
    // An empty prefix is no error.
    blobs
        .delete_prefix(&format!("{folder}/pitches/nobody/"))
        .await
        .unwrap();

    // Keys that would leave their place, or name everything, are refused before any call.
    for bad in [
        "",
        "/abs/key",
        "a//b",
        "a/",
        "../escape",
        "orgs/../../etc/passwd",
        "orgs/./x",
        "orgs/a b",
    ] {
        assert!(
            matches!(
                blobs.put_bytes(bad, Bytes::from_static(b"x")).await,
                Err(BlobError::BadKey(_))
            ),
            "{bad}"
        );
        assert!(
            matches!(blobs.size(bad).await, Err(BlobError::BadKey(_))),
            "{bad}"
        );
        assert!(matches!(blobs.delete(bad).await, Err(BlobError::BadKey(_))));
    }
    for bad in ["", "/", "../", "orgs//"] {
        assert!(
            matches!(blobs.delete_prefix(bad).await, Err(BlobError::BadKey(_))),
            "{bad}"
        );
    }
    blobs.delete_prefix(&folder).await.unwrap();
    assert_eq!(blobs.size(&neighbour).await.unwrap(), None);
}

async fn upload(app: &TestApp, token: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/media"))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(body)
        .send()
        .await
        .unwrap()
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
async fn uploaded_images_are_kept_in_the_storage_once_and_served_from_it() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let org = app.org_id(&l.author).await;
    let picture = png(8, 5, 90);
    let first = expect_json(
        upload(&app, &l.author, picture.clone()).await,
        StatusCode::CREATED,
    )
    .await;
    let id = first["id"].as_str().unwrap();
    let key = blobs::image_key(&org, id, "png");
    let kept = app
        .blobs
        .get_bytes(&key)
        .await
        .unwrap()
        .expect("in storage");
    assert_eq!(kept.len() as u64, first["bytes"].as_u64().unwrap());

    let path = url::Url::parse(first["url"].as_str().unwrap())
        .unwrap()
        .path()
        .to_string();
    let res = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap(), kept);

    // The same picture again: the same address, one record, the same bytes.
    let again = expect_json(upload(&app, &l.author, picture).await, StatusCode::OK).await;
    assert_eq!(again, first);
    assert_eq!(media_rows(&app), 1);
    assert_eq!(app.blobs.get_bytes(&key).await.unwrap(), Some(kept));

    // A record whose bytes the storage lost is a 404, not a 500.
    app.blobs.delete(&key).await.unwrap();
    let res = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_refused_bundle_keeps_no_image_in_the_storage() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let org = app.org_id(&l.author).await;
    let picture = png(7, 3, 17);
    let named = "a".repeat(64);
    // The first nugget shows the picture and lacks an explanation: a warning, refused when strict.
    let yaml = sample_pack_yaml("bundled").replacen(
        "    explanation: Because 1.\n",
        &format!("    media_url: http://elsewhere.example/media/x/{named}.png\n"),
        1,
    );
    let bundle = reprise::domain::content::bundle::write(
        &yaml,
        &[(format!("{named}.png"), picture.clone())],
    );
    let cleaned = reprise::domain::media::clean(&picture).unwrap();
    let key = blobs::image_key(&org, &cleaned.id, "png");
    let send = |query: &'static str| {
        app.client
            .post(app.url(&format!("/api/v1/packs{query}")))
            .bearer_auth(&l.author)
            .header("content-type", "application/zip")
            .body(bundle.clone())
            .send()
    };
    let before = table_counts(&app.database_url);
    expect_problem(
        send("?strict=true").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(table_counts(&app.database_url), before);
    assert_eq!(app.blobs.size(&key).await.unwrap(), None);

    // Accepted, it keeps the picture for the organization.
    let res = send("").await.unwrap();
    let saved: Value = expect_json(res, StatusCode::CREATED).await;
    assert_eq!(saved["warnings"].as_array().unwrap().len(), 1, "{saved}");
    assert!(app.blobs.size(&key).await.unwrap().is_some());
    assert_eq!(media_rows(&app), 1);
}

#[actix_web::test]
async fn image_bodies_an_older_database_holds_move_to_the_storage_at_start() {
    use diesel::prelude::*;
    use reprise::store::schema::media_bodies_to_move as pending;

    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let org = app.org_id(&l.author).await;
    let admin = UserId::from(l.org.admin_id.clone());
    let picture = reprise::domain::media::clean(&png(4, 6, 201)).unwrap();
    {
        // What the migration leaves of an image kept in the database: its record and its body.
        let pool = app.pool();
        let mut conn = pool.get().unwrap();
        reprise::store::media::save(&mut conn, &org, &picture, &admin, start_time()).unwrap();
        let row = (
            pending::org_id.eq(org.as_str()),
            pending::id.eq(&picture.id),
            pending::body.eq(&picture.bytes),
        );
        match &mut *conn {
            reprise::store::DbConnection::Sqlite(c) => {
                diesel::insert_into(pending::table).values(row).execute(c)
            }
            reprise::store::DbConnection::Pg(c) => {
                diesel::insert_into(pending::table).values(row).execute(c)
            }
        }
        .unwrap();
    }
    let key = blobs::image_key(&org, &picture.id, "png");
    assert_eq!(app.blobs.size(&key).await.unwrap(), None);

    // Another start on the same database moves it, and the address serves it.
    let restarted = spawn_on(&app.database_url).await;
    assert_eq!(
        restarted.blobs.get_bytes(&key).await.unwrap().as_deref(),
        Some(&picture.bytes[..])
    );
    let pending_rows: i64 = {
        let pool = app.pool();
        let mut conn = pool.get().unwrap();
        pending::table.count().get_result(&mut conn).unwrap()
    };
    assert_eq!(pending_rows, 0);
    let res = restarted
        .client
        .get(restarted.url(&format!("/media/{org}/{}.png", picture.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap(), picture.bytes);
    // Starting again finds nothing left to move.
    let again = spawn_on(&app.database_url).await;
    assert!(again.blobs.size(&key).await.unwrap().is_some());
}

#[actix_web::test]
async fn erasing_a_person_deletes_their_recordings() {
    let app = spawn_app().await;
    let l = app.setup_learning(3).await;
    let org: OrgId = app.org_id(&l.author).await;
    let learner = UserId::from(l.learner_id.clone());
    let author = UserId::from(
        expect_json(app.get("/api/v1/me", Some(&l.author)).await, StatusCode::OK).await["user"]
            ["id"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let theirs = format!("{}p1.webm", blobs::recordings_prefix(&org, &learner));
    let others = format!("{}p2.webm", blobs::recordings_prefix(&org, &author));
    for key in [&theirs, &others] {
        app.blobs
            .put_bytes(key, Bytes::from_static(b"webm"))
            .await
            .unwrap();
    }
    let res = app
        .post_json(
            &format!("/api/v1/users/{learner}/erase"),
            Some(&l.org.admin_token),
            &json!({"confirm_email": "sam@acme.example"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.blobs.size(&theirs).await.unwrap(), None);
    assert_eq!(app.blobs.size(&others).await.unwrap(), Some(4));
    app.blobs
        .delete_prefix(&blobs::recordings_prefix(&org, &author))
        .await
        .unwrap();
}
