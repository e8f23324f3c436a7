//! `Caller`: the authenticated user a request acts for. The HTTP layer builds it from the access
//! token (`http::caller`); services below take it as who is asking, without knowing how it was
//! proven.

use crate::domain::accounts::Role;
use crate::domain::ids::{OrgId, UserId};
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: Role,
    /// The HTTP request it acts in (`X-Request-Id`), for the audit log; none for work the
    /// service does on its own.
    pub request_id: Option<String>,
}

impl Caller {
    /// Fails with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}
