//! `/admin/v1`: platform administration with the admin token.

use actix_web::{HttpResponse, delete, get, post, web};
use serde_json::json;

use super::AppState;
use super::errors::{OptionalJson, parse_id};
use crate::admin::{NewCompanyRequest, NewKeyRequest, NewUserRequest};
use crate::error::{ApiError, Code};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_company)
        .service(list_companies)
        .service(get_company)
        .service(suspend_company)
        .service(resume_company)
        .service(delete_company)
        .service(create_user)
        .service(create_key)
        .service(list_keys)
        .service(revoke_key);
}

/// The admin routes outside the document: fault injection for the tests (answers 404 unless enabled).
pub fn undocumented<T>(scope: actix_web::Scope<T>) -> actix_web::Scope<T>
where
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Error = actix_web::Error,
            InitError = (),
        >,
{
    scope.service(panic_actor)
}

/// Creates a company with its first user and API key.
#[utoipa::path(
    tag = "admin",
    operation_id = "adminCreateCompany",
    responses((status = 201, description = "The company, its first user and API key", body = crate::admin::CreatedCompany), super::openapi::ApiErrors)
)]
#[post("/companies")]
async fn create_company(
    app: web::Data<AppState>,
    body: super::Json<NewCompanyRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(app.admin.create_company(&body).await?))
}

/// Every company with record counts and last activity.
#[utoipa::path(
    tag = "admin",
    operation_id = "adminListCompanies",
    responses((status = 200, description = "`{companies: [CompanySummary]}`", body = Object), super::openapi::ApiErrors)
)]
#[get("/companies")]
async fn list_companies(app: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({"companies": app.admin.list_companies().await?})))
}

/// One company.
#[utoipa::path(
    tag = "admin",
    operation_id = "adminGetCompany",
    params(("id" = uuid::Uuid, Path, description = "Company id (UUID)")),
    responses((status = 200, description = "The company", body = crate::admin::CompanySummary), super::openapi::ApiErrors)
)]
#[get("/companies/{id}")]
async fn get_company(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "company")?;
    Ok(HttpResponse::Ok().json(app.admin.get_company(&id).await?))
}

/// Suspends a company: its keys stop working at once.
#[utoipa::path(
    tag = "admin",
    operation_id = "adminSuspendCompany",
    params(("id" = uuid::Uuid, Path, description = "Company id (UUID)")),
    responses((status = 200, description = "The company", body = crate::domain::Company), super::openapi::ApiErrors)
)]
#[post("/companies/{id}/suspend")]
async fn suspend_company(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "company")?;
    Ok(HttpResponse::Ok().json(app.admin.suspend(&id).await?))
}

/// Resumes a suspended company.
#[utoipa::path(
    tag = "admin",
    operation_id = "adminResumeCompany",
    params(("id" = uuid::Uuid, Path, description = "Company id (UUID)")),
    responses((status = 200, description = "The company", body = crate::domain::Company), super::openapi::ApiErrors)
)]
#[post("/companies/{id}/resume")]
async fn resume_company(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "company")?;
    Ok(HttpResponse::Ok().json(app.admin.resume(&id).await?))
}

/// Deletes a company and its database.
#[utoipa::path(
    tag = "admin",
    operation_id = "adminDeleteCompany",
    params(("id" = uuid::Uuid, Path, description = "Company id (UUID)")),
    responses((status = 200, description = "`{deleted: id}`", body = Object), super::openapi::ApiErrors)
)]
#[delete("/companies/{id}")]
async fn delete_company(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "company")?;
    app.admin.delete_company(&id).await?;
    Ok(HttpResponse::Ok().json(json!({"deleted": id})))
}

/// Adds a user to a company.
#[utoipa::path(
    tag = "admin",
    operation_id = "adminCreateUser",
    params(("id" = uuid::Uuid, Path, description = "Company id (UUID)")),
    responses((status = 201, description = "The user", body = crate::domain::User), super::openapi::ApiErrors)
)]
#[post("/companies/{id}/users")]
async fn create_user(
    app: web::Data<AppState>,
    id: web::Path<String>,
    body: super::Json<NewUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "company")?;
    Ok(HttpResponse::Created().json(app.admin.create_user(&id, &body).await?))
}

/// Creates an API key for a user; the key is in this response only.
#[utoipa::path(
    tag = "admin",
    operation_id = "adminCreateApiKey",
    params(("id" = uuid::Uuid, Path, description = "User id (UUID)")),
    request_body(content = Option<crate::admin::NewKeyRequest>, description = "Optional: name and expiry"),
    responses((status = 201, description = "The key, shown once", body = crate::admin::CreatedKey), super::openapi::ApiErrors)
)]
#[post("/users/{id}/api-keys")]
async fn create_key(
    app: web::Data<AppState>,
    id: web::Path<String>,
    body: OptionalJson<NewKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "user")?;
    let request = body.or_default();
    Ok(HttpResponse::Created().json(app.admin.create_key(&id, &request).await?))
}

/// A user's API keys (never the keys themselves).
#[utoipa::path(
    tag = "admin",
    operation_id = "adminListApiKeys",
    params(("id" = uuid::Uuid, Path, description = "User id (UUID)")),
    responses((status = 200, description = "`{apiKeys: [ApiKeyInfo]}`", body = Object), super::openapi::ApiErrors)
)]
#[get("/users/{id}/api-keys")]
async fn list_keys(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "user")?;
    Ok(HttpResponse::Ok().json(json!({"apiKeys": app.admin.list_keys(&id).await?})))
}

/// Revokes an API key.
#[utoipa::path(
    tag = "admin",
    operation_id = "adminRevokeApiKey",
    params(("id" = uuid::Uuid, Path, description = "API key id (UUID)")),
    responses((status = 200, description = "The revoked key", body = crate::store::control::ApiKeyInfo), super::openapi::ApiErrors)
)]
#[delete("/api-keys/{id}")]
async fn revoke_key(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "API key")?;
    Ok(HttpResponse::Ok().json(app.admin.revoke_key(&id, None).await?))
}

/// Fault injection (only with `testing.fault_injection`): makes the company's actor panic mid-write.
#[post("/companies/{id}/actor/panic")]
async fn panic_actor(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    if !app.settings.testing.fault_injection {
        return Err(ApiError::new(
            Code::RouteNotFound,
            "No route POST /admin/v1/companies/{id}/actor/panic.",
        ));
    }
    let id = parse_id(&id, "company")?;
    app.admin.get_company(&id).await?;
    let outcome = app.tenants.get(&id).await?.panic_for_test().await;
    Ok(HttpResponse::Ok().json(json!({"panicked": outcome.is_err()})))
}
