//! Liveness and readiness probes for load balancers and orchestrators.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::state::AppState;
use crate::store;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    pub status: &'static str,
}

/// The process is up. Touches no database.
#[utoipa::path(tag = "health", responses((status = 200, body = Health)))]
#[get("/healthz")]
#[tracing::instrument]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// The database answers and every migration is applied; 503 otherwise.
#[utoipa::path(
    tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health))
)]
#[get("/readyz")]
#[tracing::instrument(skip_all)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.database.pool().clone();
    // A short wait: a load balancer needs the answer quickly, and a healthy pool has a spare
    // connection well within it.
    let ready = web::block(
        move || match pool.get_timeout(std::time::Duration::from_secs(2)) {
            Ok(mut conn) => store::is_ready(&mut conn),
            Err(_) => false,
        },
    )
    .await
    .unwrap_or(false);
    if ready {
        HttpResponse::Ok().json(Health { status: "ok" })
    } else {
        HttpResponse::ServiceUnavailable().json(Health {
            status: "unavailable",
        })
    }
}
