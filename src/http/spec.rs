//! Finishing touches on the generated OpenAPI document that hold for every operation, so that
//! handlers document only the responses that are their own.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};
use utoipa::Modify;

/// The problem responses any operation may give, by what it takes: shared components referenced
/// from each operation that does not document the status itself.
///
/// - a request body: 400 (not JSON or not UTF-8 text), 413 (over the body limit), 415 (a content
///   type the operation does not read), 422 (a field fails validation);
/// - query parameters: 400 and 422 (a parameter of the wrong type or out of range);
/// - path parameters, and query parameters naming a team, pack, assignment or learner: 404
///   (nothing by that id in the caller's organization);
/// - a security requirement: 401 (no, a bad or an expired token) and 403 (the caller's role may
///   not do this).
///
/// It runs on the document after every route is collected, so routes added later get the same
/// responses without repeating them.
pub struct ProblemResponses;

/// (status, component name, description)
const STANDARD: [(&str, &str, &str); 7] = [
    (
        "400",
        "BadRequest",
        "Malformed request: the body is not valid JSON (or not UTF-8 text)",
    ),
    (
        "401",
        "Unauthorized",
        "No access token, or one that is invalid or expired",
    ),
    ("403", "Forbidden", "The caller's role may not do this"),
    (
        "404",
        "NotFound",
        "Nothing by that id or slug in the caller's organization",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The request body is over the size limit",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body's content type is not one this operation reads",
    ),
    (
        "422",
        "ValidationError",
        "Invalid input: `errors` names every field at fault",
    ),
];

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The statuses an operation can answer with beyond its own, by the rules above.
fn standard_statuses(path: &str, op: &Operation) -> Vec<&'static str> {
    use utoipa::openapi::path::ParameterIn;
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_query = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    // A query parameter naming a team, pack, assignment or learner can name nothing.
    let refers = params.iter().any(|p| {
        matches!(p.parameter_in, ParameterIn::Query)
            && (p.name.ends_with("_id") || p.name == "pack")
    });
    let has_path = path.contains('{');
    let secured = op.security.as_ref().is_some_and(|reqs| {
        reqs.iter().any(|r| {
            serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
        })
    });
    let mut statuses = Vec::new();
    if op.request_body.is_some() {
        statuses.extend(["400", "413", "415", "422"]);
    }
    if has_query {
        statuses.extend(["400", "422"]);
    }
    if has_path || refers {
        statuses.push("404");
    }
    if secured {
        statuses.extend(["401", "403"]);
    }
    statuses
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description) in STANDARD {
            components
                .responses
                .entry(name.to_string())
                .or_insert_with(|| RefOr::T(problem_response(description)));
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in operations(item) {
                for status in standard_statuses(path, op) {
                    let (_, name, description) = STANDARD
                        .iter()
                        .find(|(s, _, _)| *s == status)
                        .expect("every standard status has a component");
                    let response = op
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
                    // A handler's own entry for a standard status, without words, gets the
                    // standard description.
                    if let RefOr::T(own) = response {
                        if own.description.is_empty() {
                            own.description = description.to_string();
                        }
                    }
                }
            }
        }
    }
}
