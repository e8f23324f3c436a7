//! The answer to requests no route took: 405 with `Allow` when the path is one of ours and only
//! the method is wrong, 404 otherwise; both problem documents.
//!
//! actix registers each `#[get]`/`#[post]` handler as its own resource guarded by its method, so
//! a known path with another method falls through to the default service like an unknown path.
//! This matches the request path against the templates of every documented route (taken from
//! the OpenAPI document, so new routes are covered without a list to keep) and the few routes
//! served outside the API.

use std::sync::OnceLock;

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::error::ApiError;

/// Routes served outside the OpenAPI document: (path template, methods).
const OTHER_ROUTES: &[(&str, &[Method])] = &[
    ("/api/v1/openapi.json", &[Method::GET]),
    ("/metrics", &[Method::GET]),
    ("/docs", &[Method::GET]),
    ("/docs/{tail}*", &[Method::GET]),
];

struct Route {
    template: ResourceDef,
    methods: Vec<Method>,
}

fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let doc = super::openapi();
        let mut routes: Vec<Route> = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (Method::GET, item.get.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                    (Method::OPTIONS, item.options.is_some()),
                    (Method::HEAD, item.head.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::TRACE, item.trace.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                Route {
                    template: ResourceDef::new(path.as_str()),
                    methods,
                }
            })
            .collect();
        routes.extend(OTHER_ROUTES.iter().map(|(path, methods)| Route {
            template: ResourceDef::new(*path),
            methods: methods.to_vec(),
        }));
        routes
    })
}

/// The methods `path` is served with, in a stable order; empty for an unknown path.
pub fn allowed_methods(path: &str) -> Vec<Method> {
    const ORDER: [Method; 8] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
    ];
    let mut matching: Vec<&Route> = routes()
        .iter()
        .filter(|r| r.template.is_match(path))
        .collect();
    // OpenAPI's rule: a concrete path is matched before a template it also fits
    // (`/api/v1/users/import` is not `/api/v1/users/{id}`).
    let concrete = |r: &&Route| r.template.pattern().is_some_and(|p| !p.contains('{'));
    if matching.iter().any(concrete) {
        matching.retain(concrete);
    }
    ORDER
        .into_iter()
        .filter(|m| matching.iter().any(|r| r.methods.contains(m)))
        .collect()
}

/// 405 with `Allow` for a known path, 404 for an unknown one.
pub async fn no_route(req: HttpRequest) -> HttpResponse {
    let allowed = allowed_methods(req.path());
    let error = if allowed.is_empty() || allowed.contains(req.method()) {
        ApiError::NotFound(format!("no route for {} {}", req.method(), req.path()))
    } else {
        ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allow: allowed
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        }
    };
    error.error_response()
}
