//! HR analytics under `/api/v1/analytics/…`: the routes over the analytics service
//! ([`crate::analytics`]), which decides who sees what (analysts and admins the whole
//! organization, managers their own teams and the teams nested below; everyone else gets 403)
//! and computes each view. Handlers here parse the query, call the service on the read replica
//! or the primary ([`read_view`]), and render.
//!
//! Every view answers JSON, or CSV with `?format=csv` / `Accept: text/csv`; the heatmap, the
//! retention curve and the trends also draw SVG (`?format=svg` / `Accept: image/svg+xml`).

pub mod activity;
pub mod application;
pub mod charts;
pub mod kpi;
pub mod proficiency;
pub mod retention;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::read_replica::ReadSource;
use super::state::AppState;
use crate::domain::analytics::round6;
use crate::domain::spreadsheet::safe_cell;
use crate::error::{ApiError, ApiResult};
use crate::store::reader::Reader;

/// How a view is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Json,
    Csv,
    Svg,
}

/// The format asked for: `format` wins over `Accept`; JSON by default.
pub fn negotiate(
    req: &HttpRequest,
    format: Option<OutputFormat>,
    svg: bool,
) -> ApiResult<OutputFormat> {
    let wanted = format.unwrap_or_else(|| {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if accept.contains("text/csv") {
            OutputFormat::Csv
        } else if svg && accept.contains("image/svg+xml") {
            OutputFormat::Svg
        } else {
            OutputFormat::Json
        }
    });
    if wanted == OutputFormat::Svg && !svg {
        return Err(ApiError::field(
            "format",
            "svg is drawn for the heatmap, the retention curve and the trends; use json or csv",
        ));
    }
    Ok(wanted)
}

/// Runs a view's read with the instant it reads at, through [`AppState::read_db`] (the read
/// replica, or the primary when the replica cannot answer), inside the handler's span so that
/// the service's spans nest under it.
pub async fn read_view<T, F>(state: &AppState, read: F) -> ApiResult<(T, ReadSource)>
where
    F: FnOnce(&mut Reader<'_>, DateTime<Utc>) -> ApiResult<T> + Clone + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    let clock = state.clock.clone();
    state
        .read_db(move |reader| span.in_scope(|| read(reader, clock.now())))
        .await
}

/// Rows for CSV output.
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[&'static str]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as CSV. Labels come from what authors and admins typed (topics, packs, teams,
    /// names), so every cell passes `domain::spreadsheet::safe_cell`: none runs as a formula
    /// in the analyst's spreadsheet; numbers are written as they are.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&self.columns);
        for r in &self.rows {
            let _ = w.write_record(r.iter().map(|c| safe_cell(c).into_owned()));
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

/// A CSV cell: empty for a missing number.
pub fn cell(v: Option<f64>) -> String {
    v.map(|x| round6(x).to_string()).unwrap_or_default()
}

/// Renders a view in the negotiated format, saying which database answered.
pub fn respond<T: Serialize>(
    format: OutputFormat,
    source: ReadSource,
    body: &T,
    table: impl FnOnce(&T) -> Table,
    svg: impl FnOnce(&T) -> String,
    name: &str,
) -> HttpResponse {
    let mut ok = HttpResponse::Ok();
    ok.insert_header(source.header());
    match format {
        OutputFormat::Json => ok.json(body),
        OutputFormat::Csv => ok
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ))
            .body(table(body).to_csv()),
        OutputFormat::Svg => ok.content_type("image/svg+xml").body(svg(body)),
    }
}
