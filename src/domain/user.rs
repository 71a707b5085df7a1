//! A user of a company, as stored in the control database.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether a user may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum UserStatus {
    /// Normal.
    Active,
    /// Switched off by an administrator; every request is refused.
    Inactive,
    /// Joined but not yet approved; every request is refused.
    PendingAuthorization,
}

/// A CRM user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// User id (UUID).
    pub id: String,
    /// The company the user belongs to.
    pub company_id: String,
    /// Globally unique email (lowercase).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name (may be empty).
    pub last_name: String,
    /// Role id, or none (a user without a role can do nothing).
    pub role_id: Option<String>,
    /// Active, inactive or pending authorization.
    pub status: UserStatus,
    /// ISO country code (lowercase).
    pub country: String,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// A new user's identity, checked.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Lowercased, trimmed email.
    pub email: String,
    /// Trimmed first name (1–100 characters).
    pub first_name: String,
    /// Trimmed last name (0–100 characters).
    pub last_name: String,
}

impl NewUser {
    /// Checks the parts; each error names its field.
    pub fn parse(email: &str, first_name: &str, last_name: &str) -> Result<Self, Vec<(&'static str, &'static str)>> {
        let mut problems = Vec::new();
        let email = email.trim().to_lowercase();
        if !is_email(&email) {
            problems.push(("email", "must be a valid email address"));
        }
        let first_name = first_name.trim().to_owned();
        if first_name.is_empty() || first_name.chars().count() > 100 {
            problems.push(("firstName", "must be 1 to 100 characters"));
        }
        let last_name = last_name.trim().to_owned();
        if last_name.chars().count() > 100 {
            problems.push(("lastName", "must be at most 100 characters"));
        }
        if problems.is_empty() {
            Ok(Self {
                email,
                first_name,
                last_name,
            })
        } else {
            Err(problems)
        }
    }
}

/// An email address as the reference's validator (Zod's) takes one, ≤ 254 characters: a local part of letters,
/// digits and `_ ' + - .` that neither starts with a dot nor ends with a dot or `'`; an `@`; a domain of dotted
/// labels of letters, digits and `-`, each starting with a letter or digit, the last of two or more letters; no `..`
/// anywhere. So no spaces, quotes, control or invisible characters, and no address that mail servers refuse.
#[must_use]
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let local_ok = local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'\'' | b'+' | b'-' | b'.'))
        && !local.starts_with('.')
        && local
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            label.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    text.len() <= 254 && local_ok && domain_ok && !text.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        let user = NewUser::parse(" Ada@Example.COM ", "Ada", "Lovelace").unwrap();
        assert_eq!(user.email, "ada@example.com");
        for bad in ["", "ada", "ada@", "@x.io", "a b@x.io", "a@x", "a@@x.io"] {
            assert!(NewUser::parse(bad, "A", "B").is_err(), "{bad:?} accepted");
        }
    }

    /// The reference's (Zod's) rule: what it refuses is refused here too, and ordinary addresses pass.
    #[test]
    fn emails_follow_the_references_rule() {
        for good in [
            "a@b.co",
            "first.last@example.com",
            "o'neil@example.ie",
            "a+tag@sub.example.org",
            "user_1-x@my-domain.example",
            "UPPER@EXAMPLE.COM",
        ] {
            assert!(is_email(good), "{good:?} refused");
        }
        for bad in [
            "a\u{0}@b.co",
            "x@y.co\u{7}",
            "a\u{200b}@b.co",
            "\"a\"@b.co",
            "a..b@c.co",
            ".a@b.co",
            "a.@b.co",
            "a'@b.co",
            "a@-b.co",
            "a@b..co",
            "a@b.c",
            "a@b.c0m",
            "a@b",
            "😀@x.co",
            "jörg@example.de",
            "a@exämple.de",
        ] {
            assert!(!is_email(bad), "{bad:?} accepted");
        }
        assert!(
            !is_email(&format!("{}@example.com", "a".repeat(250))),
            "over 254 characters"
        );
    }

    #[test]
    fn every_bad_part_is_reported() {
        let problems = NewUser::parse("nope", " ", &"x".repeat(101)).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["email", "firstName", "lastName"]);
    }
}
