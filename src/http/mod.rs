//! HTTP layer: actix handlers that parse requests into domain types, call the store, and render
//! JSON or problem documents. `routes` is the single list of endpoints; the OpenAPI document is
//! collected from it, so the spec cannot miss a route.

pub mod auth;
pub mod body;
pub mod caller;
pub mod health;
pub mod state;
pub mod users;

use actix_web::{HttpRequest, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

use crate::error::ApiError;

pub use caller::Caller;
pub use state::AppState;

/// Every API endpoint.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(auth::create_org)
        .service(auth::login)
        .service(auth::refresh_tokens)
        .service(auth::logout)
        .service(users::me)
        .service(users::create_user)
        .service(users::list_users)
        .service(users::get_user)
        .service(users::update_user)
        .service(users::deactivate_user)
        .service(users::create_team)
        .service(users::list_teams)
        .service(users::add_members)
        .service(users::remove_member);
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Reprise API",
        description = "Reinforcement after sales training: daily question nuggets on a forgetting \
                       curve, graded at once, with retention analytics for L&D and HR. Errors are \
                       `application/problem+json` documents.",
        license(name = "MIT")
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::Problem)),
    tags(
        (name = "auth", description = "Organizations, login and tokens"),
        (name = "users", description = "The caller and user administration"),
        (name = "teams", description = "Teams of sellers"),
        (name = "health", description = "Probes"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3.1 document of every route in `routes`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts()
        .1
}

/// Unknown routes answer 404 in the same problem shape as every other error.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}
