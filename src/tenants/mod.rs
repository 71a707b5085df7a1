//! One actor per company: it owns the company's database session and cached state, and every write of
//! the company passes through it in arrival order. Handlers use [`TenantHandle`], never an `Addr`.

mod actor;
mod handle;
mod locks;
mod registry;

pub use handle::{Counts, TenantHandle};
pub use locks::{CompanyGuard, CompanyLocks};
pub use registry::TenantRegistry;

use crate::error::{Code, ErrorCode};
use crate::store::StoreError;

/// A failure while serving a company's request.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The actor stopped or panicked while handling the request; the next request gets a fresh actor.
    #[error("the company's worker is unavailable")]
    Unavailable,
    /// The company is suspended.
    #[error("the company is suspended")]
    Suspended,
    /// The company does not exist (any more).
    #[error("the company does not exist")]
    Gone,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for TenantError {
    fn code(&self) -> Code {
        match self {
            Self::Unavailable => Code::TenantUnavailable,
            Self::Suspended => Code::CompanySuspended,
            Self::Gone => Code::CompanyNotFound,
            Self::Store(e) => e.code(),
        }
    }
    fn client_message(&self) -> String {
        match self {
            Self::Store(e) => e.client_message(),
            other => format!("{}.", capitalise(&other.to_string())),
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
