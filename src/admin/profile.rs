//! Profiles a company's users edit themselves: their own user profile and the company profile.

use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{Admin, AdminError, AdminResult, detail};
use crate::crm::custom::{CURRENCIES, is_link};
use crate::domain::User;
use crate::error::ErrorDetail;
use crate::store::control;

/// The countries a profile takes: the reference's list (`update_company` / `update_my_profile` schemas), lowercase
/// ISO 3166 alpha-2, sorted.
pub const COUNTRIES: [&str; 194] = [
    "ad", "ae", "af", "ag", "al", "am", "ao", "ar", "at", "au", "az", "ba", "bb", "bd", "be", "bf", "bg", "bh", "bi",
    "bj", "bn", "bo", "br", "bs", "bt", "bw", "by", "bz", "ca", "cd", "cf", "cg", "ch", "ci", "cl", "cm", "cn", "co",
    "cr", "cu", "cv", "cy", "cz", "de", "dj", "dk", "dm", "do", "dz", "ec", "ee", "eg", "er", "es", "et", "fi", "fj",
    "fm", "fr", "ga", "gb", "gd", "ge", "gh", "gm", "gn", "gq", "gr", "gt", "gw", "gy", "hn", "hr", "ht", "hu", "id",
    "ie", "il", "in", "iq", "ir", "is", "it", "jm", "jo", "jp", "ke", "kg", "kh", "ki", "km", "kn", "kp", "kr", "kw",
    "kz", "la", "lb", "lc", "li", "lk", "lr", "ls", "lt", "lu", "lv", "ly", "ma", "mc", "md", "me", "mg", "mh", "mk",
    "ml", "mm", "mn", "mr", "mt", "mu", "mv", "mw", "mx", "my", "mz", "na", "ne", "ng", "ni", "nl", "no", "np", "nr",
    "nz", "om", "pa", "pe", "pg", "ph", "pk", "pl", "pt", "pw", "py", "qa", "ro", "rs", "ru", "rw", "sa", "sb", "sc",
    "sd", "se", "sg", "si", "sk", "sl", "sm", "sn", "so", "sr", "ss", "st", "sv", "sy", "sz", "td", "tg", "th", "tj",
    "tl", "tm", "tn", "to", "tr", "tt", "tv", "tz", "ua", "ug", "us", "uy", "uz", "va", "vc", "ve", "vn", "vu", "ws",
    "ye", "za", "zm", "zw",
];

const NOT_A_COUNTRY: &str = "must be one of the supported lowercase ISO 3166 alpha-2 codes, e.g. de";

fn is_country(code: &str) -> bool {
    COUNTRIES.binary_search(&code).is_ok()
}

/// The longest company name, street, city or postal code, in characters (a company's name as when it is created).
const MAX_ADDRESS: usize = 200;
/// The longest first or last name of a user, in characters (the limit when an administrator adds the user; here
/// both are required, as in the reference's `update_my_profile`).
const MAX_NAME: usize = 100;

/// A required text of at most `max` characters (after trimming).
fn bounded(problems: &mut Vec<ErrorDetail>, field: &str, value: &str, max: usize) {
    let length = value.trim().chars().count();
    if length == 0 || length > max {
        problems.push(detail(field, &format!("must be 1 to {max} characters")));
    }
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
        let _writing = self.writing(company_id).await;
        let mut problems = Vec::new();
        for (field, value) in [
            ("name", &profile.name),
            ("street", &profile.street),
            ("city", &profile.city),
            ("postalCode", &profile.postal_code),
        ] {
            bounded(&mut problems, field, value, MAX_ADDRESS);
        }
        if !is_country(&profile.country) {
            problems.push(detail("country", NOT_A_COUNTRY));
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
        let company = self.user(user_id).await?.company_id;
        let _writing = self.writing(&company).await;
        let mut problems = Vec::new();
        bounded(&mut problems, "firstName", first, MAX_NAME);
        bounded(&mut problems, "lastName", last, MAX_NAME);
        if !is_country(country) {
            problems.push(detail("country", NOT_A_COUNTRY));
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::COUNTRIES;

    /// The list is the one the MCP tools advertise (`update_company`, `update_my_profile`), sorted for the search.
    #[test]
    fn the_countries_are_the_tool_schemas_list_sorted() {
        let schemas: Value = serde_json::from_str(include_str!("../mcp/tool_schemas.json")).unwrap();
        for tool in ["update_company", "update_my_profile"] {
            let schema = schemas.as_array().unwrap().iter().find(|t| t["name"] == tool).unwrap();
            let mut listed: Vec<&str> = schema["inputSchema"]["properties"]["country"]["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            listed.sort_unstable();
            assert_eq!(listed, COUNTRIES, "{tool}");
        }
    }
}
