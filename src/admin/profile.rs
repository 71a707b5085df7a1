//! Profiles a company's users edit themselves: their own user profile and the company profile.

use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{Admin, AdminError, AdminResult, detail};
use crate::crm::custom::{CURRENCIES, is_link};
use crate::domain::User;
use crate::store::control;

/// ISO 3166 alpha-2 codes accepted as countries (lowercase).
fn is_country(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase())
}

/// The company profile as edited by its users.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompanyProfile {
    /// Company name.
    pub name: String,
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub postal_code: String,
    /// Lowercase ISO 3166 alpha-2 country.
    pub country: String,
    /// Lowercase ISO 4217 currency; kept when absent.
    pub currency: Option<String>,
}

impl Admin {
    /// The company profile.
    pub async fn company_profile(&self, company_id: &str) -> AdminResult<Value> {
        control::company_profile(self.store.control(), company_id)
            .await?
            .ok_or_else(|| AdminError::CompanyNotFound(company_id.to_owned()))
    }

    /// Updates the company profile.
    pub async fn update_company_profile(&self, company_id: &str, profile: &CompanyProfile) -> AdminResult<Value> {
        let mut problems = Vec::new();
        for (field, value) in [
            ("name", &profile.name),
            ("street", &profile.street),
            ("city", &profile.city),
            ("postalCode", &profile.postal_code),
        ] {
            if value.trim().is_empty() {
                problems.push(detail(field, "must be at least 1 character"));
            }
        }
        if !is_country(&profile.country) {
            problems.push(detail("country", "must be a lowercase ISO 3166 alpha-2 code, e.g. de"));
        }
        if profile.currency.as_deref().is_some_and(|c| !CURRENCIES.contains(&c)) {
            problems.push(detail(
                "currency",
                &format!("must be one of: {}", CURRENCIES.join(", ")),
            ));
        }
        if !problems.is_empty() {
            return Err(AdminError::Validation(problems));
        }
        let mut patch = json!({"name": profile.name.trim(), "street": profile.street.trim(), "city": profile.city.trim(),
            "postalCode": profile.postal_code.trim(), "country": profile.country});
        if let Some(currency) = &profile.currency {
            patch["currency"] = json!(currency);
        }
        control::set_company_profile(self.store.control(), company_id, &patch).await?;
        self.verifier.forget_company(company_id);
        self.company_profile(company_id).await
    }

    /// Updates the caller's own profile.
    pub async fn update_profile(
        &self,
        user_id: &str,
        first: &str,
        last: &str,
        country: &str,
        avatar: Option<&str>,
    ) -> AdminResult<User> {
        let mut problems = Vec::new();
        if first.trim().is_empty() {
            problems.push(detail("firstName", "must be at least 1 character"));
        }
        if last.trim().is_empty() {
            problems.push(detail("lastName", "must be at least 1 character"));
        }
        if !is_country(country) {
            problems.push(detail("country", "must be a lowercase ISO 3166 alpha-2 code, e.g. de"));
        }
        if avatar.is_some_and(|a| !is_link(a)) {
            problems.push(detail(
                "avatarUrl",
                "The URL value is invalid. Please check the format.",
            ));
        }
        if !problems.is_empty() {
            return Err(AdminError::Validation(problems));
        }
        let user = control::set_user_profile(
            self.store.control(),
            user_id,
            first.trim(),
            last.trim(),
            country,
            avatar,
        )
        .await?
        .ok_or_else(|| AdminError::UserNotFound(user_id.to_owned()))?;
        self.verifier.forget_user(user_id);
        // Keep the copy used for assignments in the company's database current.
        self.tenants
            .get(&user.company_id)
            .await?
            .upsert_member(user.clone())
            .await?;
        Ok(user)
    }
}
