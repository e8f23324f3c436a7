//! HTTP layer: actix handlers that parse requests into domain types, admit the caller by role
//! (`caller::Authorized`), call one service or store function, and render JSON or problem
//! documents. `routes` is the single list of endpoints; the OpenAPI document is collected from
//! it, so the spec cannot miss a route.

pub mod analytics;
pub mod answer_limits;
pub mod assignments;
pub mod audit;
pub mod auth;
pub mod body;
pub mod caller;
pub mod coaching;
pub mod console;
pub mod content;
pub mod experiments;
pub mod fallback;
pub mod fields;
pub mod health;
pub mod item_analysis;
pub mod leaderboards;
pub mod learner;
pub mod login_limits;
pub mod media;
pub mod observations;
pub mod org;
pub mod pitches;
pub mod progress;
pub mod query;
pub mod reach;
pub mod read_replica;
pub mod refreshers;
pub mod reviews;
pub mod scim;
pub mod spec;
pub mod sso;
pub mod state;
pub mod users;
pub mod webhooks;
pub mod xapi;

use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
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
        .service(users::import_users)
        .service(users::invite_user)
        .service(users::change_password)
        .service(users::data_export)
        .service(users::erase_user)
        .service(auth::password_reset)
        .service(auth::confirm_password_reset)
        .service(users::list_users)
        .service(users::get_user)
        .service(users::update_user)
        .service(users::deactivate_user)
        .service(users::create_team)
        .service(users::list_teams)
        .service(users::add_members)
        .service(users::remove_member)
        .service(content::upload_pack)
        .service(content::validate_pack)
        .service(media::upload_media)
        .service(media::get_media)
        .service(content::list_packs)
        .service(content::get_pack)
        .service(content::publish_pack)
        .service(content::archive_pack)
        .service(content::export_pack)
        .service(item_analysis::pack_analysis)
        .service(assignments::create_assignment)
        .service(assignments::list_assignments)
        .service(assignments::update_assignment)
        .service(assignments::end_assignment)
        .service(experiments::create_experiment)
        .service(experiments::list_experiments)
        .service(experiments::get_experiment)
        .service(experiments::stop_experiment)
        .service(experiments::upload_experiment_kpis)
        .service(learner::get_queue)
        .service(learner::post_answer)
        .service(learner::post_batch)
        .service(coaching::note_seen)
        .service(pitches::upload_pitch)
        .service(pitches::my_pitches)
        .service(pitches::my_exemplars)
        .service(pitches::review_seen)
        .service(pitches::list_pitches)
        .service(pitches::get_pitch)
        .service(pitches::get_recording)
        .service(pitches::review_pitch)
        .service(pitches::share_pitch)
        .service(progress::get_progress)
        .service(progress::post_pause)
        .service(progress::list_pauses)
        .service(org::get_org)
        .service(org::update_org)
        .service(org::issue_scim_token)
        .service(org::revoke_scim_token)
        .service(reach::vapid_public_key)
        .service(reach::subscribe)
        .service(reach::list_subscriptions)
        .service(reach::unsubscribe)
        .service(reach::get_settings)
        .service(reach::put_settings)
        .service(reach::one_click_unsubscribe)
        .service(reach::sign_in_with_link)
        .service(sso::get_sso)
        .service(sso::put_sso)
        .service(sso::delete_sso)
        .service(sso::start)
        .service(sso::callback)
        .service(sso::exchange)
        .service(sso::saml_metadata)
        .service(sso::saml_acs)
        .service(reviews::export_reviews)
        .service(reviews::get_fsrs)
        .service(reviews::optimize_fsrs)
        .service(xapi::list_statements)
        .service(xapi::get_lrs)
        .service(xapi::put_lrs)
        .service(xapi::delete_lrs)
        .service(webhooks::create_webhook)
        .service(webhooks::list_webhooks)
        .service(webhooks::delete_webhook)
        .service(webhooks::list_deliveries)
        .service(audit::audit_log)
        .service(analytics::proficiency::proficiency)
        .service(analytics::proficiency::heatmap)
        .service(analytics::proficiency::knowledge_gain)
        .service(analytics::retention::retention_curve)
        .service(analytics::proficiency::forgetting_risk)
        .service(analytics::activity::engagement)
        .service(analytics::activity::trends)
        .service(analytics::kpi::upload_kpis)
        .service(analytics::kpi::kpi_correlation)
        .service(analytics::application::knowledge_application)
        .service(leaderboards::leaderboard)
        .service(refreshers::create_refresher)
        .service(refreshers::list_refreshers)
        .service(refreshers::get_refresher)
        .service(coaching::create_note)
        .service(coaching::list_notes)
        .service(observations::create_observation)
        .service(observations::list_observations);
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
    components(schemas(
        crate::error::Problem,
        crate::domain::content::Format,
        content::ExportFormat,
        analytics::OutputFormat,
        leaderboards::ScopeName,
        leaderboards::PeriodName,
        read_replica::ReadSource
    )),
    tags(
        (name = "auth", description = "Organizations, login and tokens"),
        (name = "users", description = "The caller and user administration"),
        (name = "teams", description = "Teams of sellers"),
        (name = "content", description = "Packs of nuggets: upload, publish, export"),
        (name = "assignments", description = "Packs assigned to teams and learners"),
        (name = "experiments", description = "Arms of an assignment's learners scheduled by different policies, compared on probes of retention and on KPIs"),
        (name = "organization", description = "Organization settings"),
        (name = "leaderboards", description = "Points for learning, ranked for people and teams, when the organization shows them"),
        (name = "coaching", description = "Refreshers put nuggets back into sellers' queues; coaching notes reach a seller with a nugget of their topic; field observations record what a seller applied"),
        (name = "sso", description = "Single sign-on through the organization's identity provider (OpenID Connect or SAML 2.0)"),
        (name = "reminders", description = "Daily nudges by push and e-mail: subscriptions, choices, unsubscribe"),
        (name = "analytics", description = "Proficiency, retention, engagement and KPIs for HR and managers (JSON, CSV, SVG)"),
        (name = "learner", description = "The seller's daily queue, answers and offline sync"),
        (name = "reviews", description = "The answer log, exported for analysis"),
        (name = "model", description = "The organization's FSRS memory model, fitted on its answers"),
        (name = "xapi", description = "Answers as xAPI statements, forwarded to an LRS"),
        (name = "audit", description = "Who changed what in the organization, append-only"),
        (name = "webhooks", description = "The organization's events POSTed to its other systems, signed (Standard Webhooks) or as chat messages"),
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

/// The OpenAPI 3.1 document of every route in `routes`, with the problem responses every
/// operation can give (`spec::ProblemResponses`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts()
        .1;
    // Modifiers named in `ApiDoc` run before the routes are collected; these need the paths.
    spec::ProblemResponses.modify(&mut doc);
    doc
}

/// Marks an error response a handler rendered on purpose in another form than a problem
/// document (a page for a person's browser), which [`problem_fallback`] leaves as it is.
pub struct DeliberateErrorPage;

/// Errors produced outside our handlers (actix extractors, the body limit, method mismatches) are
/// rewritten as problem documents so that every error has the same shape.
pub fn problem_fallback<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes().starts_with(b"application/problem+json") || scim::is_scim(v.as_bytes())
        });
    let deliberate = res
        .response()
        .extensions()
        .contains::<DeliberateErrorPage>();
    if is_problem || deliberate {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge("the request body is too large".into())
        }
        StatusCode::NOT_FOUND => ApiError::NotFound(format!(
            "no route for {} {}",
            res.request().method(),
            res.request().path()
        )),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::Unsupported("this content type is not accepted here".into())
        }
        s if s.is_server_error() => ApiError::Internal(format!("{s} from a framework component")),
        s => ApiError::BadRequest(s.canonical_reason().unwrap_or("bad request").to_lowercase()),
    };
    let mut response = actix_web::ResponseError::error_response(&error);
    *response.status_mut() = status;
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

/// Requests no route took: 405 with `Allow` for a known path with another method, 404 for an
/// unknown path, in the same problem shape as every other error.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    fallback::no_route(req).await
}
