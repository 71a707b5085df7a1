//! `/api/v1/users` and `/api/v1/roles`: profiles, the company's users and roles.

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::errors::{OptionalJson, parse_id};
use super::policy::{read_scope, require};
use super::{AppState, Authenticated};
use crate::admin::roles::{RoleInput, UserAccess};
use crate::crm::Page;
use crate::crm::access::Scope;
use crate::crm::query::PageRequest;
use crate::domain::access::{Requirement, perm};
use crate::domain::{Action, Resource};
use crate::error::{ApiError, ErrorDetail};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(me)
        .service(search_users)
        .service(update_user)
        .service(list_roles)
        .service(create_role)
        .service(update_role)
        .service(delete_role);
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
#[utoipa::path(
    tag = "users",
    operation_id = "getUserProfile",
    responses((status = 200, description = "The caller's profile", body = Profile), super::openapi::ApiErrors)
)]
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

/// `POST /api/v1/users/search` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserSearch {
    search_term: Option<String>,
    pagination: Option<PageRequest>,
}

/// The company's users by name (a `readOwn` role sees only itself).
#[utoipa::path(
    tag = "users",
    operation_id = "getUsers",
    request_body(content = Option<UserSearch>, description = "Optional: search term and page"),
    responses((status = 200, description = "`{searchTerm, items: [User], pagination}`", body = Object), super::openapi::ApiErrors)
)]
#[post("/users/search")]
async fn search_users(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: OptionalJson<UserSearch>,
) -> Result<HttpResponse, ApiError> {
    let scope = read_scope(&caller, Resource::Users)?;
    let body = body.or_default();
    let (page, size) = body.pagination.map_or((None, None), |p| (p.page, p.page_size));
    let page = Page::parse(page, size).map_err(|(path, message)| {
        ApiError::validation(vec![ErrorDetail {
            path: path.into(),
            message,
        }])
    })?;
    let mut users = crate::store::control::list_users(app.store.control(), &caller.company.id).await?;
    if scope == Scope::Own {
        users.retain(|u| u.id == caller.user.id);
    }
    if let Some(term) = body.search_term.as_deref().map(str::to_lowercase) {
        users.retain(|u| {
            term.split_whitespace()
                .all(|t| format!("{} {}", u.first_name, u.last_name).to_lowercase().contains(t))
        });
    }
    users.sort_by(|a, b| (&a.first_name, &a.last_name, &a.id).cmp(&(&b.first_name, &b.last_name, &b.id)));
    let total = users.len() as u64;
    let start = usize::try_from(page.start()).unwrap_or(usize::MAX);
    let items: Vec<_> = users.into_iter().skip(start).take(page.page_size as usize).collect();
    Ok(HttpResponse::Ok().json(json!({
        "searchTerm": body.search_term,
        "items": items,
        "pagination": {"page": page.page, "pageSize": page.page_size, "total": total, "totalPages": total.div_ceil(u64::from(page.page_size)).max(1)},
    })))
}

/// Changes another user's role or status (needs `update` on `users`).
#[utoipa::path(
    tag = "users",
    operation_id = "updateUser",
    params(("id" = uuid::Uuid, Path, description = "User id (UUID)")),
    responses((status = 200, description = "The user", body = crate::domain::User), super::openapi::ApiErrors)
)]
#[put("/users/{id}")]
async fn update_user(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
    body: super::Json<UserAccess>,
) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&[perm(Resource::Users, Action::Update)]))?;
    let id = parse_id(&id, "user")?;
    let user = app
        .admin
        .set_user_access(&caller.company.id, &caller.user.id, &id, &body)
        .await?;
    Ok(HttpResponse::Ok().json(user))
}

/// The company's roles with their permissions.
#[utoipa::path(
    tag = "roles",
    operation_id = "listRoles",
    responses((status = 200, description = "`{items: [role]}`", body = Object), super::openapi::ApiErrors)
)]
#[get("/roles")]
async fn list_roles(app: web::Data<AppState>, Authenticated(caller): Authenticated) -> Result<HttpResponse, ApiError> {
    read_scope(&caller, Resource::Users)?;
    Ok(HttpResponse::Ok().json(json!({"items": app.admin.list_roles(&caller.company.id).await?})))
}

const MANAGE_ROLES: [crate::domain::Permission; 2] = [
    perm(Resource::Users, Action::Create),
    perm(Resource::Users, Action::Update),
];

/// Creates a custom role (needs `create` and `update` on `users`).
#[utoipa::path(
    tag = "roles",
    operation_id = "createRole",
    responses((status = 201, description = "The role", body = Object), super::openapi::ApiErrors)
)]
#[post("/roles")]
async fn create_role(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: super::Json<RoleInput>,
) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&MANAGE_ROLES))?;
    Ok(HttpResponse::Created().json(app.admin.save_role(&caller.company.id, None, &body).await?))
}

/// Replaces a custom role's name, description and permissions (needs `create` and `update` on `users`).
#[utoipa::path(
    tag = "roles",
    operation_id = "updateRole",
    params(("id" = uuid::Uuid, Path, description = "Role id (UUID)")),
    responses((status = 200, description = "The role", body = Object), super::openapi::ApiErrors)
)]
#[put("/roles/{id}")]
async fn update_role(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
    body: super::Json<RoleInput>,
) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&MANAGE_ROLES))?;
    let id = parse_id(&id, "role")?;
    Ok(HttpResponse::Ok().json(app.admin.save_role(&caller.company.id, Some(&id), &body).await?))
}

/// Deletes a custom role no user holds (needs `delete` on `users`).
#[utoipa::path(
    tag = "roles",
    operation_id = "deleteRole",
    params(("id" = uuid::Uuid, Path, description = "Role id (UUID)")),
    responses((status = 200, description = "`{deleted: id}`", body = Object), super::openapi::ApiErrors)
)]
#[delete("/roles/{id}")]
async fn delete_role(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&[perm(Resource::Users, Action::Delete)]))?;
    let id = parse_id(&id, "role")?;
    app.admin.delete_role(&caller.company.id, &id).await?;
    Ok(HttpResponse::Ok().json(json!({"deleted": id})))
}
