//! The `Caller` extractor: the authenticated user behind a request, from `Authorization: Bearer
//! <jwt>`. One HMAC verification per request, no database read.

use std::future::{ready, Ready};
use std::marker::PhantomData;

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use super::state::AppState;
pub use crate::auth::Caller;
use crate::domain::accounts::Role;
use crate::error::ApiError;

/// Longest token accepted; anything longer is rejected before parsing.
const MAX_TOKEN_LEN: usize = 2048;

fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::Internal("application state missing".into()))?;
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
    let claims = state
        .keys
        .verify(token, state.clock.now().timestamp())
        .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    Ok(Caller {
        user_id: claims.sub,
        org_id: claims.org,
        role: claims.role,
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
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

impl<S: Admission> FromRequest for Authorized<S> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req).and_then(|caller| {
            if !S::admits(&caller, req) {
                return Err(ApiError::forbidden());
            }
            Ok(Authorized(caller, PhantomData))
        }))
    }
}
