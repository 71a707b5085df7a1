//! The error-code registry: every failure the API reports ends in a [`Code`].
//!
//! A code's `name()` is stable forever (clients match on it); its status and hint live beside it in one table.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

macro_rules! codes {
    ($($variant:ident, $status:ident, $name:literal, $hint:literal;)*) => {
        /// A stable, machine-readable error code with its HTTP status and a hint for the caller.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code { $($variant,)* }

        impl Code {
            /// The snake_case name sent as `code` in every error body.
            #[must_use]
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }
            /// The HTTP status this code is answered with.
            #[must_use]
            pub fn status(self) -> StatusCode {
                match self { $(Self::$variant => StatusCode::$status,)* }
            }
            /// What the caller can do about it.
            #[must_use]
            pub fn hint(self) -> &'static str {
                match self { $(Self::$variant => $hint,)* }
            }
        }
    };
}

codes! {
    MissingApiKey, UNAUTHORIZED, "missing_api_key", "Send your API key in the `x-api-key` header or as `Authorization: Bearer <key>`.";
    InvalidApiKey, UNAUTHORIZED, "invalid_api_key", "Check that the key is copied whole (64 characters); create a new key if it was lost.";
    ApiKeyRevoked, UNAUTHORIZED, "api_key_revoked", "This key was revoked or rotated; use its replacement or create a new key.";
    ApiKeyExpired, UNAUTHORIZED, "api_key_expired", "Create a new API key; keys can live up to 365 days.";
    UserInactive, UNAUTHORIZED, "user_inactive", "Ask an administrator of your company to reactivate your user.";
    UserPending, UNAUTHORIZED, "user_pending_authorization", "Ask an administrator of your company to approve your user and give it a role.";
    CompanySuspended, UNAUTHORIZED, "company_suspended", "This company is suspended; contact the platform operator.";
    MissingAdminToken, UNAUTHORIZED, "missing_admin_token", "Send the platform admin token as `Authorization: Bearer <token>`.";
    InvalidAdminToken, UNAUTHORIZED, "invalid_admin_token", "Use the admin token printed at first start or set in CM_ADMIN__TOKEN.";
    Forbidden, FORBIDDEN, "forbidden", "Ask an administrator for a role that grants the permission named in the message.";
    RateLimited, TOO_MANY_REQUESTS, "rate_limited", "Wait the number of seconds given in `Retry-After`, then retry.";
    InvalidJson, BAD_REQUEST, "invalid_json", "Send a JSON body that matches the documented schema.";
    InvalidContentType, UNSUPPORTED_MEDIA_TYPE, "invalid_content_type", "Send the body with `Content-Type: application/json`.";
    PayloadTooLarge, PAYLOAD_TOO_LARGE, "payload_too_large", "Split the request into smaller ones (at most 100 items per batch).";
    InvalidPath, BAD_REQUEST, "invalid_path", "Ids in the path are UUIDs as returned by the API.";
    InvalidQuery, BAD_REQUEST, "invalid_query", "Check the query-string parameters against the API documentation.";
    ValidationFailed, BAD_REQUEST, "validation_failed", "Fix the fields listed in `details` and send the request again.";
    CompanyNotFound, NOT_FOUND, "company_not_found", "List companies with GET /admin/v1/companies to find a valid id.";
    UserNotFound, NOT_FOUND, "user_not_found", "List the company's users to find a valid id.";
    ApiKeyNotFound, NOT_FOUND, "api_key_not_found", "List API keys to find a valid id.";
    RoleNotFound, NOT_FOUND, "role_not_found", "List roles with GET /api/v1/roles to find a valid id.";
    Conflict, CONFLICT, "conflict", "The change conflicts with existing data; see the message.";
    RecordNotFound, NOT_FOUND, "record_not_found", "Search the entity to find a valid id of this company.";
    RouteNotFound, NOT_FOUND, "route_not_found", "See GET /api/v1/openapi for the routes this server offers.";
    MethodNotAllowed, METHOD_NOT_ALLOWED, "method_not_allowed", "See GET /api/v1/openapi for the methods this route accepts.";
    EmailTaken, CONFLICT, "email_taken", "User emails are unique across the platform; use another email.";
    CompanyNotActive, CONFLICT, "company_not_active", "Resume the company before this operation.";
    WriteConflict, CONFLICT, "write_conflict", "Another change to the same data was saved first; send the request again.";
    TenantUnavailable, SERVICE_UNAVAILABLE, "tenant_unavailable", "The company's worker restarted; retry the request.";
    NotReady, SERVICE_UNAVAILABLE, "not_ready", "The database is unreachable or its schema is not applied yet.";
    Internal, INTERNAL_SERVER_ERROR, "internal", "Retry later; if it persists, report it with the response's request id.";
}

/// One field-level problem inside a validation error.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Where the problem is, e.g. `contacts[2].organizationIds[1]`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

/// The JSON body of every error response: `{"code", "message", "hint", "details"}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code.
    pub code: &'static str,
    /// Human-readable description of this occurrence.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// Field-level problems, each with its path; empty when the error is not about fields.
    pub details: Vec<ErrorDetail>,
}

/// Implemented by each layer's error enum so that handlers can use `?` and still answer with a code.
pub trait ErrorCode {
    /// The registry code for this error.
    fn code(&self) -> Code;
    /// The message sent to the client; internal errors send a fixed text.
    fn client_message(&self) -> String;
    /// Field-level details, if any.
    fn details(&self) -> Vec<ErrorDetail> {
        Vec::new()
    }
}

/// An error ready to be sent as an HTTP response.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The registry code.
    pub code: Code,
    /// The message for the client.
    pub message: String,
    /// Field-level details.
    pub details: Vec<ErrorDetail>,
    /// Extra response headers (e.g. `Retry-After`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
        }
    }

    /// A validation error with per-field details.
    pub fn validation(details: Vec<ErrorDetail>) -> Self {
        let message = match details.as_slice() {
            [one] => format!("{}: {}", one.path, one.message),
            many => format!("{} fields are invalid.", many.len()),
        };
        Self {
            code: Code::ValidationFailed,
            message,
            details,
            retry_after: None,
        }
    }

    /// The JSON body.
    #[must_use]
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.name(),
            message: self.message.clone(),
            hint: self.code.hint().to_owned(),
            details: self.details.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)
    }
}

impl<E: std::error::Error + ErrorCode> From<E> for ApiError {
    fn from(error: E) -> Self {
        let code = error.code();
        if code == Code::Internal {
            tracing::error!(error = ?ChainDebug(&error), "internal error");
        }
        Self {
            code,
            message: error.client_message(),
            details: error.details(),
            retry_after: None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response.json(self.body())
    }
}

/// Prints an error with its whole `source()` chain, for logs only.
pub struct ChainDebug<'a>(pub &'a dyn std::error::Error);

impl std::fmt::Debug for ChainDebug<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_detail_names_its_path_in_the_message() {
        let error = ApiError::validation(vec![ErrorDetail {
            path: "name".into(),
            message: "must not be empty".into(),
        }]);
        assert_eq!(error.message, "name: must not be empty");
        assert_eq!(error.body().code, "validation_failed");
    }

    #[test]
    fn codes_have_snake_case_names() {
        for code in [
            Code::MissingApiKey,
            Code::RateLimited,
            Code::UserPending,
            Code::Internal,
        ] {
            assert!(
                code.name().chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                code.name()
            );
        }
    }
}
