//! Liveness and readiness probes.

use actix_web::{HttpResponse, ResponseError, get, web};
use serde_json::json;

use super::AppState;
use crate::error::{ApiError, Code};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

/// The process is alive.
#[utoipa::path(
    tag = "health",
    operation_id = "healthz",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = Object))
)]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers and carries the current schema.
#[utoipa::path(
    tag = "health",
    operation_id = "readyz",
    responses(
        (status = 200, description = "`{\"status\": \"ready\", \"tenantsRunning\": n}`", body = Object),
        (status = 503, description = "Not ready", body = crate::error::ErrorBody)
    )
)]
#[get("/readyz")]
async fn readyz(app: web::Data<AppState>) -> HttpResponse {
    if app.store.ready().await {
        HttpResponse::Ok().json(json!({"status": "ready", "tenantsRunning": app.tenants.running()}))
    } else {
        ApiError::new(
            Code::NotReady,
            "The database is not reachable or its schema is not applied.",
        )
        .error_response()
    }
}
