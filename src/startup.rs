//! Builds the running service: pool, migrations, shared state, middleware and routes.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::ErrorHandlers;
use actix_web::{web, App, HttpMessage, HttpServer};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use tracing_actix_web::{RequestId, TracingLogger};
use utoipa_swagger_ui::SwaggerUi;

use crate::accounts::access::{self, AccessCache};
use crate::accounts::credentials::AccountMail;
use crate::accounts::passwords::Passwords;
use crate::auth::{jwt::TokenKeys, password};
use crate::blobs::Blobs;
use crate::clock::Clock;
use crate::config::{redact_url, Settings};
use crate::forwarder::Forwarder;
use crate::http::answer_limits::AnswerLimiter;
use crate::http::login_limits::LoginLimiter;
use crate::http::{self, body, AppState};
use crate::learning::{Learning, LearningHandle};
use crate::outbound::Outbound;
use crate::reach::mail::Mailer;
use crate::reach::push::Vapid;
use crate::reach::{Reach, Senders};
use crate::secrets::SecretBox;
use crate::store::replica::ReadReplica;
use crate::store::{self, Backend, Database, DbPool};
use crate::webhooks::Webhooks;

/// Password checks that may wait for a free hashing slot, per slot; more are refused (503).
const PASSWORD_QUEUE_PER_PERMIT: usize = 4;

static REQUEST_ID: actix_web::http::header::HeaderName =
    actix_web::http::header::HeaderName::from_static("x-request-id");

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    learning: Arc<Learning>,
}

impl Application {
    /// Connects, migrates and binds. With port 0 in `settings.bind` a free port is chosen.
    pub async fn build(settings: Settings, clock: Clock) -> anyhow::Result<Application> {
        let pool = open_database(&settings)?;
        let listener = TcpListener::bind(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let decoy_hash = web::block(password::decoy_hash).await?;
        let database = Database::new(pool, Backend::of_url(&settings.database_url));
        let learning = Arc::new(Learning::start(
            database.clone(),
            clock.clone(),
            settings.queue_cache_bytes,
        )?);
        // No migrations on the replica: a hot standby takes no writes and has the primary's
        // schema as soon as it has replayed it.
        let replica = settings.read_database_url.as_deref().map(|url| {
            Arc::new(ReadReplica::new(
                url,
                redact_url(url),
                settings.read_pool_size,
            ))
        });
        let outbound = build_outbound(&settings)?;
        let blobs = open_media(&settings, &database).await?;
        let secrets = Arc::new(SecretBox::new(
            &settings.secret_key,
            &settings.previous_secret_keys,
        )?);
        let forwarder = Forwarder {
            database: database.clone(),
            clock: clock.clone(),
            outbound: outbound.clone(),
            public_url: settings.public_url.clone(),
            concurrency: settings.outbound_concurrency,
            secrets: secrets.clone(),
        };
        let forward_every = Duration::from_millis(settings.xapi_forward_interval_ms);
        let keys = Arc::new(TokenKeys::new(
            &settings.jwt_secret,
            settings.access_ttl_secs,
        ));
        let reach = Arc::new(build_reach(
            &settings,
            database.clone(),
            clock.clone(),
            outbound.clone(),
            keys.clone(),
        )?);
        let webhooks = Arc::new(Webhooks::new(
            database.clone(),
            clock.clone(),
            outbound.clone(),
            secrets.clone(),
            settings.public_url.clone(),
            settings.outbound_concurrency,
            settings.nudge_concurrency,
        ));
        let account_mail = AccountMail {
            mailer: reach.mailer(),
            public_url: settings.public_url.clone(),
            host: reach.mail_host().to_string(),
        };
        let sso = Arc::new(crate::sso::Sso::new(
            database.clone(),
            outbound.clone(),
            secrets.clone(),
            settings.public_url.clone(),
        ));
        let state = web::Data::new(AppState {
            sso,
            blobs,
            database,
            replica,
            keys,
            account_mail,
            reach: reach.clone(),
            webhooks: webhooks.clone(),
            access: AccessCache::new(settings.auth_cache_secs, access::CAPACITY),
            clock,
            passwords: Passwords::new(
                settings.password_concurrency,
                settings.password_concurrency * PASSWORD_QUEUE_PER_PERMIT,
                decoy_hash,
            ),
            login_limiter: LoginLimiter::new(
                settings.login_burst_per_account,
                settings.login_burst_per_address,
                settings.signup_burst_per_address,
            ),
            answer_limiter: AnswerLimiter::new(settings.answer_burst, settings.answers_per_second),
            outbound,
            secrets,
            settings: Arc::new(settings),
        });
        let server = serve(listener, state.clone(), learning.clone())?;
        actix_web::rt::spawn(forwarder.run(forward_every));
        actix_web::rt::spawn(crate::analytics::recall_weeks::run(
            state.database.clone(),
            state.clock.clone(),
        ));
        if state.settings.remind_interval_secs > 0 {
            let every = Duration::from_secs(state.settings.remind_interval_secs);
            actix_web::rt::spawn(reach.run(every));
        }
        if state.settings.webhook_interval_ms > 0 {
            let every = Duration::from_millis(state.settings.webhook_interval_ms);
            actix_web::rt::spawn(webhooks.run(every));
        }
        Ok(Application {
            port,
            server,
            state,
            learning,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// The notification-delivery service this server runs.
    pub fn reach(&self) -> Arc<Reach> {
        self.state.reach.clone()
    }

    /// The webhook service this server runs.
    pub fn webhooks(&self) -> Arc<Webhooks> {
        self.state.webhooks.clone()
    }

    /// The learner's loop this server runs.
    pub fn learning(&self) -> Arc<Learning> {
        self.learning.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The notification-delivery service over `database`, as `settings` configure it.
pub fn build_reach(
    settings: &Settings,
    database: Database,
    clock: Clock,
    outbound: Outbound,
    keys: Arc<TokenKeys>,
) -> anyhow::Result<Reach> {
    let vapid = Vapid::from_private_key(&settings.vapid_private_key, &settings.vapid_subject)
        .map_err(|e| anyhow::anyhow!("REPRISE_VAPID_PRIVATE_KEY: {e}"))?;
    let mailer = Mailer::new(
        settings.smtp_url.as_deref(),
        settings.smtp_ca_file.as_deref(),
        settings.mail_dir.clone(),
        &settings.mail_from,
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    let senders = Senders {
        outbound,
        mailer: Arc::new(mailer),
        vapid,
        tenants: settings.outbound_concurrency,
        per_tenant: settings.nudge_concurrency,
    };
    Ok(Reach::new(
        database,
        clock,
        senders,
        keys,
        settings.public_url.clone(),
    ))
}

/// The media storage `REPRISE_MEDIA_URL` names, holding every image body the database still
/// kept (moved at start, before anything is served; see ADR 0022). A store that does not answer
/// is reported and not fatal: images fail until it answers, everything else is served.
pub async fn open_media(settings: &Settings, database: &Database) -> anyhow::Result<Blobs> {
    let blobs = Blobs::open(&settings.media_url)?;
    match blobs.check().await {
        Ok(()) => tracing::info!(storage = %blobs, "media storage"),
        Err(e) => tracing::warn!(storage = %blobs, error = %e, "media storage does not answer"),
    }
    let moved = crate::authoring::move_image_bodies(database, &blobs)
        .await
        .map_err(|e| anyhow::anyhow!("moving image bodies to {blobs}: {e}"))?;
    if moved > 0 {
        tracing::info!(moved, storage = %blobs, "image bodies moved from the database to the media storage");
    }
    Ok(blobs)
}

/// The guarded outbound client as `settings` configure it.
pub fn build_outbound(settings: &Settings) -> anyhow::Result<Outbound> {
    Ok(Outbound::new(
        settings.egress.clone(),
        Duration::from_secs(settings.outbound_timeout_secs.clamp(1, 10)),
        Duration::from_secs(settings.outbound_timeout_secs.max(1)),
    )?)
}

/// A pool with every migration applied.
pub fn open_database(settings: &Settings) -> anyhow::Result<DbPool> {
    migrated_pool(
        &settings.database_url,
        settings.db_pool_size,
        settings.sqlite_synchronous,
    )
}

/// A small migrated pool on `url`, for command-line tools.
pub fn open_database_at(url: &str) -> anyhow::Result<DbPool> {
    migrated_pool(url, 2, store::SqliteSync::Full)
}

fn migrated_pool(url: &str, size: u32, sync: store::SqliteSync) -> anyhow::Result<DbPool> {
    tracing::info!(url = %redact_url(url), "opening database");
    let pool = store::connect(url, size, sync)?;
    let mut conn = pool.get()?;
    let applied = store::migrate(&mut conn)?;
    if applied > 0 {
        tracing::info!(applied, "applied database migrations");
    }
    Ok(pool)
}

fn metrics() -> PrometheusMetrics {
    PrometheusMetricsBuilder::new("reprise")
        .endpoint("/metrics")
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .expect("metric names are static and valid")
}

fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    learning: Arc<Learning>,
) -> std::io::Result<Server> {
    let max_body = state.settings.max_body_bytes;
    let workers = match state.settings.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let prometheus = metrics();
    if let Some(replica) = &state.replica {
        prometheus
            .registry
            .register(Box::new(replica.fallbacks()))
            .map_err(std::io::Error::other)?;
    }
    let api = http::openapi();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            // Per worker: the learning service with the queue checks gathered on this thread.
            .app_data(web::Data::new(LearningHandle::for_worker(learning.clone())))
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(web::QueryConfig::default().error_handler(body::query_error))
            .app_data(web::PathConfig::default().error_handler(body::path_error))
            // A concrete path that a template also fits: its other methods are refused here
            // (405) rather than taken by the template's handlers (`GET /api/v1/users/{id}`).
            .service(
                web::resource("/api/v1/users/import")
                    .guard(actix_web::guard::Not(actix_web::guard::Post()))
                    .to(http::not_found),
            )
            .configure(|cfg| {
                http::routes(&mut utoipa_actix_web::service_config::ServiceConfig::new(
                    cfg,
                ))
            })
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", api.clone()))
            // SCIM 2.0 for identity providers: RFC 7644's shapes, outside the OpenAPI document.
            .configure(http::scim::configure)
            // The web console: static files outside the OpenAPI document.
            .configure(http::console::configure)
            .default_service(web::to(http::not_found))
            .wrap_fn(|req, srv| {
                use actix_web::dev::Service;
                let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
                let fut = srv.call(req);
                async move {
                    let mut res = fut.await?;
                    if let Some(value) = request_id.and_then(|id| id.parse().ok()) {
                        res.headers_mut().insert(REQUEST_ID.clone(), value);
                    }
                    Ok(res)
                }
            })
            .wrap(ErrorHandlers::new().default_handler(http::problem_fallback))
            .wrap(prometheus.clone())
            .wrap(TracingLogger::default())
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}
