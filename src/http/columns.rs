//! `/api/v1/custom-columns` and `/api/v1/events`.

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::Deserialize;
use serde_json::json;

use super::entities::tenant;
use super::errors::parse_id;
use super::policy::require;
use super::{AppState, Authenticated};
use crate::crm::Entity;
use crate::crm::columns::dto;
use crate::crm::custom::{ColumnChange, NewColumn};
use crate::domain::access::{Requirement, perm};
use crate::domain::{Action, Resource};
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(update)
        .service(remove)
        .service(events);
}

/// `?entityType=` filter.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListQuery {
    entity_type: Option<Entity>,
}

/// Custom columns, by entity type then label (no permission needed).
#[get("/custom-columns")]
async fn list(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let columns = tenant(&app, &caller).await?.list_columns(query.entity_type).await?;
    Ok(HttpResponse::Ok().json(json!({"items": columns.iter().map(dto).collect::<Vec<_>>()})))
}

/// Creates a custom column (needs `create` on its entity); single-select defaults are backfilled.
#[post("/custom-columns")]
async fn create(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: web::Json<NewColumn>,
) -> Result<HttpResponse, ApiError> {
    let column = tenant(&app, &caller)
        .await?
        .create_column(caller.access(), body.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(dto(&column)))
}

/// Changes a column's label or options (needs `update` on its entity).
#[put("/custom-columns/{id}")]
async fn update(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
    body: web::Json<ColumnChange>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "custom column")?;
    let column = tenant(&app, &caller)
        .await?
        .update_column(caller.access(), id, body.into_inner(), None)
        .await?;
    Ok(HttpResponse::Ok().json(dto(&column)))
}

/// Deletes a column and every value of it (needs `delete` on its entity).
#[delete("/custom-columns/{id}")]
async fn remove(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "custom column")?;
    let column = tenant(&app, &caller).await?.delete_column(caller.access(), id).await?;
    Ok(HttpResponse::Ok().json(json!({"deleted": column.id})))
}

/// `?after=&limit=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    after: Option<u64>,
    limit: Option<u32>,
}

/// The company's change events after a sequence number, oldest first (needs `readAll` on `auditLog`).
#[get("/events")]
async fn events(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&[perm(Resource::AuditLog, Action::ReadAll)]))?;
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let items = tenant(&app, &caller)
        .await?
        .events(query.after.unwrap_or(0), limit)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}
