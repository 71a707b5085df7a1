//! A company (tenant): its record in the control database.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether a company may be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum CompanyStatus {
    /// Served normally.
    Active,
    /// Every request is refused with `company_suspended`; its actor is stopped.
    Suspended,
}

/// A company as stored in the control database.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    /// Company id (UUID).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Active or suspended.
    pub status: CompanyStatus,
    /// ISO country code (lowercase), default `de`.
    pub country: String,
    /// Currency code (lowercase), default `eur`.
    pub currency: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// When one of its users last made an authenticated request (updated at most once a minute).
    pub last_activity_at: Option<DateTime<Utc>>,
}

/// The SurrealDB database name that holds a company's CRM records.
#[must_use]
pub fn database_name(company_id: &uuid::Uuid) -> String {
    format!("c_{}", company_id.simple())
}

/// Parses a company name: trimmed, 1–200 characters.
pub fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    match name.chars().count() {
        0 => Err("must not be empty"),
        1..=200 => Ok(name.to_owned()),
        _ => Err("must be at most 200 characters"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_derived_from_the_id_alone() {
        let id = uuid::Uuid::parse_str("0b7e3c2a-1111-4222-8333-444455556666").unwrap();
        assert_eq!(database_name(&id), "c_0b7e3c2a111142228333444455556666");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Acme ").unwrap(), "Acme");
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(201)).is_err());
    }
}
