//! Forwards answers to organizations' Learning Record Stores as xAPI statements: batches of up
//! to 100 per organization and tick, `POST {endpoint}/statements` with basic auth and
//! `X-Experience-API-Version`. A failed batch is retried with exponential backoff; a statement is
//! marked sent only after the LRS accepted it, and statement ids (the attempt ids) make a
//! repeated delivery harmless, so nothing is lost while the LRS is down and nothing is counted
//! twice after it returns. Runs in every instance; concurrent instances may deliver a statement
//! twice, which the LRS deduplicates by id.

use std::time::Duration;

use actix_web::web;

use crate::domain::xapi::VERSION;
use crate::http::AppState;
use crate::store::{self, xapi};

const BATCH: i64 = 100;

pub async fn run(state: web::Data<AppState>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
    {
        Ok(c) => c,
        Err(e) => return tracing::error!(error = %e, "xAPI forwarding is off: no HTTP client"),
    };
    let mut tick = actix_web::rt::time::interval(Duration::from_millis(
        state.settings.xapi_forward_interval_ms.max(10),
    ));
    loop {
        tick.tick().await;
        if let Err(e) = forward_once(&state, &client).await {
            tracing::warn!(error = %e, "xAPI forwarding round failed");
        }
    }
}

/// One round over every forwarding organization; returns how many statements were delivered.
pub async fn forward_once(
    state: &web::Data<AppState>,
    client: &reqwest::Client,
) -> anyhow::Result<usize> {
    let orgs = state.db(|conn| Ok(xapi::forwarding_orgs(conn)?)).await?;
    let mut delivered = 0;
    for org in orgs {
        let (st, org_id) = (state.clone(), org.clone());
        let batch = state
            .db(move |conn| {
                let now = st.clock.now();
                let due = store::write_tx(conn, |conn| {
                    xapi::enqueue_new(conn, &org_id, now, 10 * BATCH)?;
                    xapi::due(conn, &org_id, now, BATCH)
                })?;
                let Some(lrs) = xapi::lrs(conn, &org_id)? else {
                    return Ok(None);
                };
                if due.is_empty() {
                    return Ok(None);
                }
                let ids: Vec<String> = due.iter().map(|(id, _)| id.clone()).collect();
                let query = xapi::StatementQuery {
                    attempt_ids: Some(ids),
                    limit: BATCH,
                    ..Default::default()
                };
                let page = xapi::statements(conn, &org_id, &st.settings.public_url, query)?;
                Ok(Some((lrs, due, page.statements)))
            })
            .await?;
        let Some((lrs, due, statements)) = batch else {
            continue;
        };
        let url = format!("{}/statements", lrs.endpoint.trim_end_matches('/'));
        let outcome = client
            .post(url)
            .basic_auth(&lrs.username, Some(&lrs.password))
            .header("X-Experience-API-Version", VERSION)
            .json(&statements)
            .send()
            .await;
        let failure = match outcome {
            Ok(res) if res.status().is_success() => None,
            Ok(res) => Some(format!("LRS answered {}", res.status())),
            Err(e) => Some(format!("LRS unreachable: {e}")),
        };
        let st = state.clone();
        let count = if failure.is_none() { due.len() } else { 0 };
        state
            .db(move |conn| {
                let now = st.clock.now();
                match &failure {
                    None => {
                        let ids: Vec<String> = due.into_iter().map(|(id, _)| id).collect();
                        xapi::mark_sent(conn, &org, &ids, now)?
                    }
                    Some(error) => xapi::mark_failed(conn, &org, &due, now, error)?,
                }
                Ok(())
            })
            .await?;
        delivered += count;
    }
    Ok(delivered)
}
