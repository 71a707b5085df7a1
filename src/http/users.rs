//! `/api/v1/users`: the caller's profile.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::Authenticated;
use super::policy::read_scope;
use crate::domain::Resource;
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(me);
}

/// `GET /api/v1/users/me` response.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Profile<'a> {
    id: &'a str,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    country: &'a str,
    avatar_url: Option<&'a str>,
    role_id: Option<&'a str>,
    role_name: Option<&'a str>,
    company_id: &'a str,
    company_name: &'a str,
}

/// The caller's own profile.
#[get("/users/me")]
async fn me(Authenticated(caller): Authenticated) -> Result<HttpResponse, ApiError> {
    read_scope(&caller, Resource::Users)?;
    let user = &caller.user;
    Ok(HttpResponse::Ok().json(Profile {
        id: &user.id,
        email: &user.email,
        first_name: &user.first_name,
        last_name: &user.last_name,
        country: &user.country,
        avatar_url: user.avatar_url.as_deref(),
        role_id: user.role_id.as_deref(),
        role_name: caller.role.as_ref().map(|r| r.name.as_str()),
        company_id: &caller.company.id,
        company_name: &caller.company.name,
    }))
}
