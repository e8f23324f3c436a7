//! Single sign-on: an admin connects the organization's identity provider; members sign in
//! through it and come back to the console with a one-time code it exchanges for tokens.

use std::collections::BTreeMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{delete, get, post, put, web, HttpMessage, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::body::Json;
use super::caller::{Admins, Authorized};
use super::query::Query;
use super::state::AppState;
use crate::accounts::tokens::TokenPair;
use crate::domain::accounts::{Email, Role};
use crate::domain::sso::{EmailDomain, Mapping, Protocol, MAX_DOMAINS};
use crate::domain::validation::{Errors, FieldError};
use crate::error::{ApiError, ApiResult, Problem};
use crate::sso::{NewConfig, SsoSettings, StartFrom, ATTEMPT_TTL_SECS, STATE_COOKIE};

/// An organization's identity provider.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoRequest {
    /// `oidc` or `saml`.
    pub protocol: String,
    /// OIDC: the provider's issuer URL (its discovery document is read at
    /// `{issuer}/.well-known/openid-configuration`).
    #[schema(example = "https://example.okta.com", max_length = 500)]
    pub issuer: Option<String>,
    /// OIDC: Reprise's client id at the provider.
    #[schema(max_length = 255)]
    pub client_id: Option<String>,
    /// OIDC: the client secret; sealed at rest and never shown. Leave it out to keep the stored
    /// one when changing other settings of the same client.
    #[schema(max_length = 1000)]
    pub client_secret: Option<String>,
    /// SAML: the identity provider's metadata XML.
    #[schema(max_length = 200000)]
    pub idp_metadata_xml: Option<String>,
    /// The e-mail domains whose members sign in through this provider. Each must be the domain
    /// of an active admin's address and no other organization's.
    #[schema(example = json!(["example.com"]))]
    pub email_domains: Vec<String>,
    /// The role of members whose role claim maps to nothing: `learner`, `author`, `manager` or
    /// `analyst`.
    #[schema(example = "learner")]
    pub default_role: String,
    /// The claim (OIDC) or attribute (SAML) holding role names or groups.
    #[schema(example = "groups", max_length = 200)]
    pub role_claim: Option<String>,
    /// Values of the role claim and the role each gives; the most powerful match wins.
    #[schema(example = json!({"Sales managers": "manager"}))]
    pub role_map: Option<BTreeMap<String, String>>,
    /// The claim or attribute holding team names; when set, the provider decides team
    /// memberships at every sign-in.
    #[schema(max_length = 200)]
    pub team_claim: Option<String>,
    /// Whether members may still log in with a password. Admins always may (break-glass).
    pub allow_password_login: bool,
}

fn optional_text(
    errors: &mut Errors,
    field: &str,
    value: Option<String>,
    max: usize,
) -> Option<String> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())?;
    if value.chars().count() > max {
        errors.add(field, format!("at most {max} characters"));
        return None;
    }
    Some(value)
}

impl SsoRequest {
    /// Every field checked; all problems reported at once.
    fn parse(self) -> Result<NewConfig, Vec<FieldError>> {
        let mut errors = Errors::default();
        let protocol = Protocol::parse(&self.protocol);
        if protocol.is_none() {
            errors.add("protocol", "must be `oidc` or `saml`");
        }
        let issuer = optional_text(&mut errors, "issuer", self.issuer, 500);
        let client_id = optional_text(&mut errors, "client_id", self.client_id, 255);
        let client_secret = optional_text(&mut errors, "client_secret", self.client_secret, 1000);
        let idp_metadata_xml = optional_text(
            &mut errors,
            "idp_metadata_xml",
            self.idp_metadata_xml,
            200_000,
        );
        match protocol {
            Some(Protocol::Oidc) => {
                if issuer.is_none() {
                    errors.add("issuer", "is required for OpenID Connect");
                } else if issuer
                    .as_deref()
                    .is_some_and(|i| url::Url::parse(i).is_err())
                {
                    errors.add("issuer", "must be an http(s) URL");
                }
                if client_id.is_none() {
                    errors.add("client_id", "is required for OpenID Connect");
                }
                if idp_metadata_xml.is_some() {
                    errors.add("idp_metadata_xml", "is for SAML only");
                }
            }
            Some(Protocol::Saml) => {
                if idp_metadata_xml.is_none() {
                    errors.add("idp_metadata_xml", "is required for SAML");
                }
                for (field, given) in [
                    ("issuer", issuer.is_some()),
                    ("client_id", client_id.is_some()),
                    ("client_secret", client_secret.is_some()),
                ] {
                    if given {
                        errors.add(field, "is for OpenID Connect only");
                    }
                }
            }
            None => {}
        }
        let mut domains = Vec::new();
        if self.email_domains.is_empty() || self.email_domains.len() > MAX_DOMAINS {
            errors.add(
                "email_domains",
                format!("list between 1 and {MAX_DOMAINS} domains"),
            );
        }
        for raw in &self.email_domains {
            if let Some(d) = errors.check(EmailDomain::parse("email_domains", raw)) {
                if !domains.contains(&d) {
                    domains.push(d);
                }
            }
        }
        let default_role = match Role::parse(&self.default_role) {
            Some(Role::Admin) => {
                errors.add(
                    "default_role",
                    "cannot be admin: admin rights come from the role map only",
                );
                None
            }
            Some(r) => Some(r),
            None => {
                errors.add(
                    "default_role",
                    "must be learner, author, manager or analyst",
                );
                None
            }
        };
        let role_claim = optional_text(&mut errors, "role_claim", self.role_claim, 200);
        let team_claim = optional_text(&mut errors, "team_claim", self.team_claim, 200);
        let mut role_map = BTreeMap::new();
        let given_map = self.role_map.unwrap_or_default();
        if !given_map.is_empty() && role_claim.is_none() {
            errors.add("role_claim", "is needed to use `role_map`");
        }
        if given_map.len() > 100 {
            errors.add("role_map", "at most 100 entries");
        }
        for (value, role) in given_map {
            match Role::parse(&role) {
                Some(r) if !value.trim().is_empty() && value.chars().count() <= 200 => {
                    role_map.insert(value.trim().to_string(), r);
                }
                Some(_) => errors.add("role_map", "claim values are 1 to 200 characters"),
                None => errors.add(
                    "role_map",
                    format!(
                        "`{}` is not a role (learner, author, manager, analyst, admin)",
                        crate::domain::validation::elide(&role, 20)
                    ),
                ),
            }
        }
        errors.into_result(|| NewConfig {
            protocol: protocol.unwrap(),
            issuer: issuer.map(|i| i.trim_end_matches('/').to_string()),
            client_id,
            client_secret,
            idp_metadata_xml,
            email_domains: domains,
            mapping: Mapping {
                default_role: default_role.unwrap(),
                role_claim,
                role_map,
                team_claim,
            },
            allow_password_login: self.allow_password_login,
        })
    }
}

/// The organization's single sign-on (admins); never the client secret.
#[utoipa::path(
    tag = "sso",
    responses(
        (status = 200, body = SsoSettings),
        (status = 404, description = "single sign-on is off", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/org/sso")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn get_sso(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<web::Json<SsoSettings>> {
    state
        .sso
        .settings(&caller.org_id)
        .await?
        .map(web::Json)
        .ok_or_else(|| ApiError::NotFound("single sign-on is not configured".into()))
}

/// Connect the organization's identity provider, or change it (admins). The provider is
/// checked before anything is saved: OIDC discovery must answer, SAML metadata must parse.
#[utoipa::path(
    tag = "sso",
    request_body = SsoRequest,
    responses(
        (status = 200, body = SsoSettings),
        (status = 422, description = "a field is wrong; the problem names it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/org/sso")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn put_sso(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
    body: Json<SsoRequest>,
) -> ApiResult<web::Json<SsoSettings>> {
    let new = body.0.parse()?;
    let saved = state.sso.configure(&caller, new, state.clock.now()).await?;
    Ok(web::Json(saved))
}

/// Turn single sign-on off (admins): members log in with passwords again.
#[utoipa::path(
    tag = "sso",
    responses(
        (status = 204, description = "single sign-on is off"),
        (status = 404, description = "it was not on", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/org/sso")]
#[tracing::instrument(skip_all, fields(org_id = %caller.org_id, user_id = %caller.user_id))]
pub async fn delete_sso(
    state: web::Data<AppState>,
    caller: Authorized<Admins>,
) -> ApiResult<HttpResponse> {
    if !state.sso.remove(&caller, state.clock.now()).await? {
        return Err(ApiError::NotFound(
            "single sign-on is not configured".into(),
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StartParams {
    /// The address the person signs in with: its domain names the organization.
    pub email: Option<String>,
    /// Or the organization's slug.
    pub org: Option<String>,
}

/// Start signing in with the organization's identity provider: redirects there.
#[utoipa::path(
    tag = "sso",
    params(StartParams),
    responses(
        (status = 303, description = "to the identity provider; sets the sign-in's state cookie"),
        (status = 404, description = "no organization signs in with SSO for this address or slug; a browser (`Accept: text/html`) gets a page saying why instead", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/auth/sso/start")]
#[tracing::instrument(skip_all)]
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<StartParams>,
) -> ApiResult<HttpResponse> {
    explain_refusal(
        &req,
        redirect_to_provider(&state, params.into_inner()).await,
    )
}

async fn redirect_to_provider(state: &AppState, params: StartParams) -> ApiResult<HttpResponse> {
    let from = match params {
        StartParams {
            email: Some(email),
            org: None,
        } => StartFrom::Email(
            Email::parse("email", &email).map_err(|e| ApiError::validation(vec![e]))?,
        ),
        StartParams {
            email: None,
            org: Some(slug),
        } => StartFrom::Slug(slug),
        _ => return Err(ApiError::field("email", "give either `email` or `org`")),
    };
    let redirect = state.sso.start(from, state.clock.now()).await?;
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, redirect.location));
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(value) = redirect.state_cookie {
        response.cookie(state_cookie(state, value));
    }
    Ok(response.finish())
}

/// The cookie that ties the provider's answer to this browser. SAML answers arrive by a POST
/// from the provider's site, which a `Lax` cookie would not accompany, hence `None` with
/// `Secure` (browsers treat http://localhost as secure). A plain-http public URL elsewhere (a
/// test server) gets a `Lax` cookie without `Secure`, which its browsers would otherwise drop.
fn state_cookie(state: &AppState, value: String) -> Cookie<'static> {
    let url = &state.settings.public_url;
    let local = url.starts_with("http://localhost") || url.starts_with("http://127.0.0.1");
    let plain_remote = url.starts_with("http://") && !local;
    Cookie::build(STATE_COOKIE, value)
        .path("/api/v1/auth")
        .http_only(true)
        .secure(!plain_remote)
        .same_site(if plain_remote {
            SameSite::Lax
        } else {
            SameSite::None
        })
        .max_age(actix_web::cookie::time::Duration::seconds(ATTEMPT_TTL_SECS))
        .finish()
}

fn cleared_cookie() -> Cookie<'static> {
    let mut cookie = Cookie::build(STATE_COOKIE, "")
        .path("/api/v1/auth")
        .http_only(true)
        .finish();
    cookie.make_removal();
    cookie
}

#[derive(Deserialize, IntoParams)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the provider when it did not sign the person in.
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207's issuer identification, when the provider sends it (checked by the ID token).
    pub iss: Option<String>,
}

/// Where the OpenID provider sends the browser back: checks the answer, creates or updates the
/// member, and redirects to the console's `#/sso/<code>`.
#[utoipa::path(
    tag = "sso",
    params(CallbackParams),
    responses(
        (status = 303, description = "to the console with a one-time code"),
        (status = 401, description = "the answer was refused (state, code, ID token); a browser (`Accept: text/html`) gets a page saying why instead", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "the identity provider did not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/auth/sso/callback")]
#[tracing::instrument(skip_all)]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<CallbackParams>,
) -> ApiResult<HttpResponse> {
    let p = params.into_inner();
    if let Some(error) = p.error {
        let refused = ApiError::Unauthorized(format!(
            "the identity provider did not sign you in: {error}{}",
            p.error_description
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ));
        return explain_refusal(&req, Err(refused));
    }
    let (Some(code), Some(sign_in)) = (p.code, p.state) else {
        let missing = ApiError::field("code", "`code` and `state` are required");
        return explain_refusal(&req, Err(missing));
    };
    let cookie = req.cookie(STATE_COOKIE).map(|c| c.value().to_string());
    let location = state
        .sso
        .finish_oidc(
            &code,
            &sign_in,
            cookie.as_deref(),
            &state.access,
            super::caller::request_id(&req),
            state.clock.now(),
        )
        .await;
    explain_refusal(&req, location.map(to_console))
}

/// The way into or back from the provider. A browser that was refused sees a page saying why,
/// with the way back to sign-in, instead of a JSON document it cannot act on; API clients (and
/// anything not asking for HTML) still get the problem document.
fn explain_refusal(req: &HttpRequest, outcome: ApiResult<HttpResponse>) -> ApiResult<HttpResponse> {
    match outcome {
        Err(error) if wants_html(req) => Ok(refused_page(&error)),
        other => other,
    }
}

/// Whether the request is a browser navigation (its `Accept` lists `text/html`).
fn wants_html(req: &HttpRequest) -> bool {
    req.get_header::<header::Accept>().is_some_and(|accept| {
        accept
            .ranked()
            .iter()
            .any(|m| m.type_() == mime::TEXT && m.subtype() == mime::HTML)
    })
}

/// A small page in the console's style, with the error's own status and wording. Its text is
/// escaped and it runs no script; the console's policy applies.
fn refused_page(error: &ApiError) -> HttpResponse {
    use actix_web::ResponseError;
    let problem = error.problem();
    let detail = html_escape::encode_text(&problem.detail);
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Single sign-on did not work · Reprise</title>\
         <link rel=\"stylesheet\" href=\"/app.css\"></head>\
         <body><main><section class=\"card narrow\">\
         <h1>Single sign-on did not work</h1>\
         <p class=\"problem\">{detail}</p>\
         <p>Try again from the sign-in page. If it keeps failing, tell your IT department what \
         this page says: your company account may not be set up for Reprise yet.</p>\
         <p><a href=\"/#/signin\">Back to sign-in</a></p>\
         </section></main></body></html>\n"
    );
    let mut page = HttpResponse::build(error.status_code());
    page.extensions_mut().insert(super::DeliberateErrorPage);
    page.content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            super::console::CONTENT_SECURITY_POLICY,
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .cookie(cleared_cookie())
        .body(body)
}

fn to_console(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(cleared_cookie())
        .finish()
}

/// The form an identity provider's page posts (HTTP-POST binding).
#[derive(ToSchema)]
pub struct AcsForm {
    /// The base64 Response.
    #[schema(rename = "SAMLResponse")]
    pub saml_response: String,
    /// The RelayState Reprise sent with its request.
    #[schema(rename = "RelayState")]
    pub relay_state: String,
}

/// The SAML assertion consumer service (HTTP-POST binding): checks the Response, creates or
/// updates the member, and redirects to the console's `#/sso/<code>`.
#[utoipa::path(
    tag = "sso",
    request_body(content = AcsForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "to the console with a one-time code"),
        (status = 401, description = "the response was refused (signature, audience, time, replay, state); a browser (`Accept: text/html`) gets a page saying why instead", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/saml/acs")]
#[tracing::instrument(skip_all)]
pub async fn saml_acs(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    // Other fields (a SimpleSign signature, a provider's extras) are ignored, and never echoed.
    let mut saml_response = None;
    let mut relay_state = None;
    for (name, value) in form_urlencoded::parse(&body) {
        match name.as_ref() {
            "SAMLResponse" => saml_response = Some(value.into_owned()),
            "RelayState" => relay_state = Some(value.into_owned()),
            _ => {}
        }
    }
    let (Some(saml_response), Some(relay_state)) = (saml_response, relay_state) else {
        let missing = ApiError::field(
            "SAMLResponse",
            "post the identity provider's `SAMLResponse` with its `RelayState`",
        );
        return explain_refusal(&req, Err(missing));
    };
    let cookie = req.cookie(STATE_COOKIE).map(|c| c.value().to_string());
    let location = state
        .sso
        .finish_saml(
            saml_response,
            relay_state,
            cookie.as_deref(),
            &state.access,
            super::caller::request_id(&req),
            state.clock.now(),
        )
        .await;
    explain_refusal(&req, location.map(to_console))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MetadataParams {
    /// The organization's slug.
    pub org: String,
}

/// Reprise's SAML service provider metadata for an organization: its entity id and assertion
/// consumer service, to load into the identity provider.
#[utoipa::path(
    tag = "sso",
    params(MetadataParams),
    responses(
        (status = 200, description = "SAML metadata", content_type = "application/samlmetadata+xml"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/auth/saml/metadata")]
#[tracing::instrument(skip_all)]
pub async fn saml_metadata(
    state: web::Data<AppState>,
    params: Query<MetadataParams>,
) -> ApiResult<HttpResponse> {
    let xml = state.sso.sp_metadata(&params.0.org).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/samlmetadata+xml")
        .body(xml))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The code of the console's `#/sso/<code>` address.
    #[schema(max_length = 200)]
    pub code: String,
}

/// Exchange the one-time code of a finished single sign-on for a token pair. Each code works
/// once, for two minutes.
#[utoipa::path(
    tag = "sso",
    request_body = ExchangeRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, description = "unknown, used or expired code", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/auth/sso/exchange")]
#[tracing::instrument(skip_all)]
pub async fn exchange(
    state: web::Data<AppState>,
    body: Json<ExchangeRequest>,
) -> ApiResult<web::Json<TokenPair>> {
    let (issuer, now) = (state.issuer(), state.clock.now());
    let pair = state.sso.exchange(&issuer, &body.0.code, now).await?;
    Ok(web::Json(pair))
}
