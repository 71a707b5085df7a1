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
use crate::error::{ApiError, Code};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(update)
        .service(remove)
        .service(events);
}

/// `?entityType=` filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only this entity type's columns.
    entity_type: Option<Entity>,
}

/// Custom columns, by entity type then label (no permission needed).
#[utoipa::path(
    tag = "customColumns",
    operation_id = "listCustomColumns",
    params(ListQuery),
    responses((status = 200, description = "`{items: [Column]}`", body = Object), super::openapi::ApiErrors)
)]
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
#[utoipa::path(
    tag = "customColumns",
    operation_id = "createCustomColumn",
    responses((status = 201, description = "The column", body = crate::crm::custom::Column), super::openapi::ApiErrors)
)]
#[post("/custom-columns")]
async fn create(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: super::Json<NewColumn>,
) -> Result<HttpResponse, ApiError> {
    let column = tenant(&app, &caller)
        .await?
        .create_column(caller.access(), body.into_inner())
        .await?;
    Ok(HttpResponse::Created().json(dto(&column)))
}

/// Changes a column's label or options (needs `update` on its entity).
#[utoipa::path(
    tag = "customColumns",
    operation_id = "updateCustomColumn",
    params(("id" = uuid::Uuid, Path, description = "Custom column id (UUID)")),
    responses((status = 200, description = "The column", body = crate::crm::custom::Column), super::openapi::ApiErrors)
)]
#[put("/custom-columns/{id}")]
async fn update(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
    body: super::Json<ColumnChange>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "custom column")?;
    let column = tenant(&app, &caller)
        .await?
        .update_column(caller.access(), id, body.into_inner(), None)
        .await?;
    Ok(HttpResponse::Ok().json(dto(&column)))
}

/// Deletes a column and every value of it (needs `delete` on its entity).
#[utoipa::path(
    tag = "customColumns",
    operation_id = "deleteCustomColumn",
    params(("id" = uuid::Uuid, Path, description = "Custom column id (UUID)")),
    responses((status = 200, description = "`{deleted: id}`", body = Object), super::openapi::ApiErrors)
)]
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
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// Events after this sequence number (default 0: from the first).
    after: Option<u64>,
    /// At most this many (1–500, default 100).
    limit: Option<u32>,
}

/// The company's change events after a sequence number, oldest first (needs `readAll` on `auditLog`): at most
/// `limit`, and fewer once a page holds 1 MiB of JSON; go on after the last `seq` until a page is empty. Records'
/// `<entity>.created|updated|deleted`, and the audit events `custom_column.created|updated|deleted`.
#[utoipa::path(
    tag = "events",
    operation_id = "listEvents",
    params(EventsQuery),
    responses((status = 200, description = "`{items: [event]}`, oldest first: at most `limit`, fewer once the page holds 1 MiB of JSON (at least one event); go on after the last `seq` until a page is empty", body = Object), super::openapi::ApiErrors)
)]
#[get("/events")]
async fn events(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&[perm(Resource::AuditLog, Action::ReadAll)]))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(
            Code::InvalidQuery,
            format!("Invalid query string: limit must be 1 to 500 ({limit} given)."),
        ));
    }
    let items = tenant(&app, &caller)
        .await?
        .events(query.after.unwrap_or(0), limit)
        .await?;
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}
