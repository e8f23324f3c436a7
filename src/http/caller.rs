//! The `Caller` extractor: the authenticated user behind a request, from `Authorization: Bearer
//! <jwt>`. The token's signature is checked here (one HMAC); whether it still stands for the
//! user as they are now, and with which role, the accounts service answers
//! (`accounts::access`): from its brief cache without waiting, or after one short read.

use std::future::{ready, Ready};
use std::marker::PhantomData;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::{Either, LocalBoxFuture};

use super::state::AppState;
use crate::accounts::access::{self, Lookup};
pub use crate::auth::Caller;
use crate::domain::accounts::Role;
use crate::error::{ApiError, ApiResult};

/// Longest token accepted; anything longer is rejected before parsing.
const MAX_TOKEN_LEN: usize = 2048;

/// An extractor's result: at once when the token is refused or its user is cached, else once
/// the user is read.
type Extracted<T> = Either<Ready<ApiResult<T>>, LocalBoxFuture<'static, ApiResult<T>>>;

/// The caller, known now or once their user is read.
enum Authentication {
    Known(ApiResult<Caller>),
    Reading(LocalBoxFuture<'static, ApiResult<Caller>>),
}

impl Authentication {
    /// The extractor's result: `then` applied to the caller.
    fn then<T: 'static>(self, then: impl FnOnce(Caller) -> ApiResult<T> + 'static) -> Extracted<T> {
        match self {
            Authentication::Known(caller) => Either::Left(ready(caller.and_then(then))),
            Authentication::Reading(caller) => {
                Either::Right(Box::pin(async move { caller.await.and_then(then) }))
            }
        }
    }
}

/// The bearer token of the request, when there is one of a plausible length.
fn bearer(req: &HttpRequest) -> ApiResult<&str> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized("send an access token: Authorization: Bearer <token>".into())
        })?;
    let value = header
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not valid text".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must use the Bearer scheme".into())
        })?
        .trim();
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(ApiError::Unauthorized("the access token is invalid".into()));
    }
    Ok(token)
}

/// The request's id, as `X-Request-Id` reports it.
pub(super) fn request_id(req: &HttpRequest) -> Option<String> {
    use actix_web::HttpMessage;
    req.extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string())
}

/// Verifies the bearer token, then asks the accounts service for the caller it stands for now.
fn authenticate(req: &HttpRequest) -> Authentication {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Authentication::Known(Err(ApiError::Internal("application state missing".into())));
    };
    let now = state.clock.now();
    let claims = match bearer(req).and_then(|token| {
        state
            .keys
            .verify(token, now.timestamp())
            .map_err(|e| ApiError::Unauthorized(e.to_string()))
    }) {
        Ok(claims) => claims,
        Err(refused) => return Authentication::Known(Err(refused)),
    };
    match state.access.check(claims, now) {
        Lookup::Known(caller) => Authentication::Known(caller),
        Lookup::Unknown(unknown) => {
            let state = state.clone();
            Authentication::Reading(Box::pin(async move {
                access::check_stored(&state.database, &state.access, unknown, now).await
            }))
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Extracted<Caller>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request_id = request_id(req);
        authenticate(req).then(move |mut caller| {
            caller.request_id = request_id;
            Ok(caller)
        })
    }
}

/// Who a route admits, checked by the `Authorized` extractor: a role set, or [`SelfOr`] one.
pub trait Admission {
    fn admits(caller: &Caller, req: &HttpRequest) -> bool;
}

/// A set of roles allowed on a route.
pub trait RoleSet {
    const ROLES: &'static [Role];
}

impl<S: RoleSet> Admission for S {
    fn admits(caller: &Caller, _: &HttpRequest) -> bool {
        S::ROLES.contains(&caller.role)
    }
}

/// On a route whose `{id}` names a user: anyone to their own record, a role of `S` to anyone's.
pub struct SelfOr<S>(PhantomData<S>);

impl<S: RoleSet> Admission for SelfOr<S> {
    fn admits(caller: &Caller, req: &HttpRequest) -> bool {
        req.match_info().get("id") == Some(caller.user_id.as_str()) || S::admits(caller, req)
    }
}

macro_rules! role_set {
    ($(#[$doc:meta])* $name:ident = [$($role:ident),+]) => {
        $(#[$doc])*
        pub struct $name;
        impl RoleSet for $name {
            const ROLES: &'static [Role] = &[$(Role::$role),+];
        }
    };
}

role_set!(/// Administrators.
    Admins = [Admin]);
role_set!(/// Who writes content.
    Authors = [Author, Admin]);
role_set!(/// Who assigns packs (managers to their own teams: `accounts::scope`).
    Assigners = [Author, Admin, Manager]);
role_set!(/// Who reads the catalogue and assignments.
    Readers = [Author, Admin, Manager, Analyst]);
role_set!(/// Who reads organization-wide answer data.
    Analysts = [Analyst, Admin]);
role_set!(/// Who coaches sellers: refreshers and coaching notes (managers for their own teams'
    /// people, by `accounts::scope`).
    Coaches = [Manager, Admin]);
role_set!(/// Who reads people data: the users, and analytics (managers only their own teams, by
    /// `accounts::scope`).
    Staff = [Admin, Analyst, Manager]);

/// The caller, admitted only when `S` admits them (with a role of `S`, for a role set). As an
/// extractor it runs before the body is read, so a caller who is not admitted learns nothing
/// about the route's input.
pub struct Authorized<S>(pub Caller, PhantomData<S>);

impl<S> Clone for Authorized<S> {
    fn clone(&self) -> Self {
        Authorized(self.0.clone(), PhantomData)
    }
}

impl<S> std::ops::Deref for Authorized<S> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl<S: Admission + 'static> FromRequest for Authorized<S> {
    type Error = ApiError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        authenticate(&req).then(move |mut caller| {
            if !S::admits(&caller, &req) {
                return Err(ApiError::forbidden());
            }
            caller.request_id = request_id(&req);
            Ok(Authorized(caller, PhantomData))
        })
    }
}
