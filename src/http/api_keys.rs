//! `/api/v1/api-keys`: a user manages their own API keys with an API key.

use actix_web::{HttpResponse, delete, get, post, web};
use serde_json::json;

use super::errors::{OptionalJson, parse_id};
use super::policy::require;
use super::{AppState, Authenticated};
use crate::admin::NewKeyRequest;
use crate::domain::access::{Requirement, perm};
use crate::domain::{Action, Resource};
use crate::error::ApiError;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list).service(create).service(revoke).service(rotate);
}

/// The caller's keys (never the keys themselves). Needs `readAll` on `api`.
#[utoipa::path(
    tag = "apiKeys",
    operation_id = "listApiKeys",
    responses((status = 200, description = "`{apiKeys: [ApiKeyInfo]}`", body = Object), super::openapi::ApiErrors)
)]
#[get("/api-keys")]
async fn list(app: web::Data<AppState>, Authenticated(caller): Authenticated) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&[perm(Resource::Api, Action::ReadAll)]))?;
    Ok(HttpResponse::Ok().json(json!({"apiKeys": app.admin.list_keys(&caller.user.id).await?})))
}

/// Creates a key for the caller; the key is in this response only. Needs `create` on `api`.
#[utoipa::path(
    tag = "apiKeys",
    operation_id = "createApiKey",
    request_body(content = Option<crate::admin::NewKeyRequest>, description = "Optional: name and expiry"),
    responses((status = 201, description = "The key, shown once", body = crate::admin::CreatedKey), super::openapi::ApiErrors)
)]
#[post("/api-keys")]
async fn create(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: OptionalJson<NewKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&[perm(Resource::Api, Action::Create)]))?;
    let request = body.or_default();
    Ok(HttpResponse::Created().json(app.admin.create_key(&caller.user.id, &request).await?))
}

/// Revokes one of the caller's keys. Needs `delete` on `api`.
#[utoipa::path(
    tag = "apiKeys",
    operation_id = "revokeApiKey",
    params(("id" = uuid::Uuid, Path, description = "API key id (UUID)")),
    responses((status = 200, description = "The revoked key", body = crate::store::control::ApiKeyInfo), super::openapi::ApiErrors)
)]
#[delete("/api-keys/{id}")]
async fn revoke(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&[perm(Resource::Api, Action::Delete)]))?;
    let id = parse_id(&id, "API key")?;
    Ok(HttpResponse::Ok().json(app.admin.revoke_key(&id, Some(&caller.user.id)).await?))
}

/// Replaces one of the caller's keys with a new one; the old one stops working at once.
/// Needs `create` and `delete` on `api`.
#[utoipa::path(
    tag = "apiKeys",
    operation_id = "rotateApiKey",
    params(("id" = uuid::Uuid, Path, description = "API key id (UUID)")),
    responses((status = 201, description = "The new key, shown once", body = crate::admin::CreatedKey), super::openapi::ApiErrors)
)]
#[post("/api-keys/{id}/rotate")]
async fn rotate(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require(
        &caller,
        Requirement::All(&[perm(Resource::Api, Action::Create), perm(Resource::Api, Action::Delete)]),
    )?;
    let id = parse_id(&id, "API key")?;
    Ok(HttpResponse::Created().json(app.admin.rotate_key(&id, Some(&caller.user.id)).await?))
}
