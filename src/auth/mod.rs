//! Authentication: API keys (hashed, cached) and the platform admin token.

pub mod api_key;
pub mod verifier;

pub use verifier::{Caller, Verifier};

use crate::error::{Code, ErrorCode};
use crate::store::StoreError;

/// Why a request was not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No key in `x-api-key` or `Authorization: Bearer`.
    #[error("No API key was sent.")]
    Missing,
    /// The key is malformed or unknown.
    #[error("The API key is not valid.")]
    Invalid,
    /// The key was revoked or rotated.
    #[error("The API key was revoked.")]
    Revoked,
    /// The key's expiry has passed.
    #[error("The API key has expired.")]
    Expired,
    /// The key's user is inactive.
    #[error("User is not active")]
    Inactive,
    /// The key's user awaits approval.
    #[error("User is not active: pending authorization by an administrator")]
    Pending,
    /// The key's company is suspended.
    #[error("The company is suspended.")]
    Suspended,
    /// No admin token was sent.
    #[error("No admin token was sent.")]
    MissingAdminToken,
    /// The admin token is wrong.
    #[error("The admin token is not valid.")]
    InvalidAdminToken,
    /// The database failed while checking.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for AuthError {
    fn code(&self) -> Code {
        match self {
            Self::Missing => Code::MissingApiKey,
            Self::Invalid => Code::InvalidApiKey,
            Self::Revoked => Code::ApiKeyRevoked,
            Self::Expired => Code::ApiKeyExpired,
            Self::Inactive => Code::UserInactive,
            Self::Pending => Code::UserPending,
            Self::Suspended => Code::CompanySuspended,
            Self::MissingAdminToken => Code::MissingAdminToken,
            Self::InvalidAdminToken => Code::InvalidAdminToken,
            Self::Store(e) => e.code(),
        }
    }
    fn client_message(&self) -> String {
        match self {
            Self::Store(e) => e.client_message(),
            other => other.to_string(),
        }
    }
}

/// The key presented by a request: `x-api-key`, else `Authorization: Bearer <key>`.
#[must_use]
pub fn presented_key(headers: &actix_web::http::header::HeaderMap) -> Option<&str> {
    // An empty `x-api-key` (a client that sets the header from an unset variable) sends no key: a Bearer key beside
    // it is the key.
    let header = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    header.or_else(|| bearer(headers))
}

/// The token of an `Authorization: Bearer <token>` header.
#[must_use]
pub fn bearer(headers: &actix_web::http::header::HeaderMap) -> Option<&str> {
    let value = headers.get(actix_web::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}
