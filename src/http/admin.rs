//! `/admin/v1`: platform administration with the admin token.

use actix_web::{HttpResponse, delete, get, post, web};
use serde_json::json;

use super::AppState;
use super::errors::parse_id;
use crate::admin::{NewCompanyRequest, NewKeyRequest, NewUserRequest};
use crate::error::{ApiError, Code};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_company)
        .service(list_companies)
        .service(get_company)
        .service(suspend_company)
        .service(resume_company)
        .service(delete_company)
        .service(create_user)
        .service(create_key)
        .service(list_keys)
        .service(revoke_key)
        .service(panic_actor);
}

/// Creates a company with its first user and API key.
#[post("/companies")]
async fn create_company(
    app: web::Data<AppState>,
    body: web::Json<NewCompanyRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(app.admin.create_company(&body).await?))
}

/// Every company with record counts and last activity.
#[get("/companies")]
async fn list_companies(app: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({"companies": app.admin.list_companies().await?})))
}

/// One company.
#[get("/companies/{id}")]
async fn get_company(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "company")?;
    Ok(HttpResponse::Ok().json(app.admin.get_company(&id).await?))
}

/// Suspends a company: its keys stop working at once.
#[post("/companies/{id}/suspend")]
async fn suspend_company(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "company")?;
    Ok(HttpResponse::Ok().json(app.admin.suspend(&id).await?))
}

/// Resumes a suspended company.
#[post("/companies/{id}/resume")]
async fn resume_company(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "company")?;
    Ok(HttpResponse::Ok().json(app.admin.resume(&id).await?))
}

/// Deletes a company and its database.
#[delete("/companies/{id}")]
async fn delete_company(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "company")?;
    app.admin.delete_company(&id).await?;
    Ok(HttpResponse::Ok().json(json!({"deleted": id})))
}

/// Adds a user to a company.
#[post("/companies/{id}/users")]
async fn create_user(
    app: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<NewUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "company")?;
    Ok(HttpResponse::Created().json(app.admin.create_user(&id, &body).await?))
}

/// Creates an API key for a user; the key is in this response only.
#[post("/users/{id}/api-keys")]
async fn create_key(
    app: web::Data<AppState>,
    id: web::Path<String>,
    body: Option<web::Json<NewKeyRequest>>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "user")?;
    let request = body.map(web::Json::into_inner).unwrap_or_default();
    Ok(HttpResponse::Created().json(app.admin.create_key(&id, &request).await?))
}

/// A user's API keys (never the keys themselves).
#[get("/users/{id}/api-keys")]
async fn list_keys(app: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "user")?;
    Ok(HttpResponse::Ok().json(json!({"apiKeys": app.admin.list_keys(&id).await?})))
}

/// Revokes an API key.
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
