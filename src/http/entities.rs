//! `/api/v1/{contacts|organizations|deals|services|tasks}`: create, create many, update, update many, delete,
//! delete many, search, configuration, get by id, link and unlink. One set of handlers serves the five
//! entities; each entity's scope carries its `Entity` as app data.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::errors::parse_id;
use super::{AppState, Authenticated};
use crate::crm::Entity;
use crate::crm::input::Nulls;
use crate::crm::query::QueryInput;
use crate::crm::service::{CrmError, WriteRequest};
use crate::crm::write::Outcome;
use crate::error::{ApiError, Code, ErrorDetail};
use crate::tenants::TenantHandle;

/// Registers the routes of every entity.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for entity in Entity::ALL {
        cfg.service(
            web::scope(&format!("/{}", entity.plural()))
                .app_data(web::Data::new(entity))
                .route("", web::post().to(create_one))
                .route("/many", web::post().to(create_many))
                .route("/many", web::put().to(update_many))
                .route("/many", web::delete().to(delete_many))
                .route("/search", web::post().to(search))
                .route("/configuration", web::get().to(configuration))
                .route("/{id}", web::get().to(get_one))
                .route("/{id}", web::put().to(update_one))
                .route("/{id}", web::delete().to(delete_one))
                .route("/{id}/link", web::post().to(link))
                .route("/{id}/unlink", web::post().to(unlink)),
        );
    }
}

/// The caller's company's tenant handle.
pub(super) async fn tenant(app: &AppState, caller: &crate::auth::Caller) -> Result<TenantHandle, ApiError> {
    Ok(app.tenants.get(&caller.company.id).await?)
}

/// Runs a write for a batch route.
async fn apply(app: &AppState, caller: &crate::auth::Caller, request: WriteRequest) -> Result<Outcome, ApiError> {
    Ok(tenant(app, caller).await?.apply(caller.access(), request).await?)
}

/// Runs a write for a single-record route (missing record → 404, paths without the batch prefix).
async fn apply_one(app: &AppState, caller: &crate::auth::Caller, request: WriteRequest) -> Result<Outcome, ApiError> {
    tenant(app, caller)
        .await?
        .apply(caller.access(), request)
        .await
        .map_err(single)
}

/// The batch array of a `{"<plural>": [...]}` body.
fn batch(entity: Entity, body: Value) -> Result<Vec<Value>, ApiError> {
    let key = entity.plural();
    match body {
        Value::Object(mut map) => {
            if let Some(extra) = map.keys().find(|k| k.as_str() != key) {
                let detail = ErrorDetail {
                    path: extra.clone(),
                    message: format!("unknown field; the body is {{\"{key}\": [...]}}"),
                };
                return Err(ApiError::validation(vec![detail]));
            }
            match map.remove(key) {
                Some(Value::Array(items)) => Ok(items),
                _ => Err(ApiError::validation(vec![ErrorDetail {
                    path: key.into(),
                    message: "must be an array of 1 to 100 items".into(),
                }])),
            }
        }
        _ => Err(ApiError::validation(vec![ErrorDetail {
            path: String::new(),
            message: format!("the body is {{\"{key}\": [...]}}"),
        }])),
    }
}

/// Creates one record (201).
async fn create_one(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let request = WriteRequest::Create {
        entity: **entity,
        items: vec![body.into_inner()],
        nulls: Nulls::Clear,
    };
    let outcome = apply_one(&app, &caller, request).await?;
    Ok(HttpResponse::Created().json(outcome.records.into_iter().next()))
}

/// Creates 1–100 records, all or none (201).
async fn create_many(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let items = batch(**entity, body.into_inner())?;
    let request = WriteRequest::Create {
        entity: **entity,
        items,
        nulls: Nulls::Clear,
    };
    let outcome = apply(&app, &caller, request).await?;
    Ok(HttpResponse::Created().json(outcome.records))
}

/// Updates 1–100 records, all or none.
async fn update_many(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let items = batch(**entity, body.into_inner())?;
    let request = WriteRequest::Update {
        entity: **entity,
        items,
        nulls: Nulls::Clear,
    };
    let outcome = apply(&app, &caller, request).await?;
    Ok(HttpResponse::Ok().json(outcome.records))
}

/// `DELETE /{entity}/many` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteMany {
    /// 1–100 ids.
    ids: Vec<String>,
}

/// Deletes 1–100 records, all or none; answers the deleted ids.
async fn delete_many(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
    body: web::Json<DeleteMany>,
) -> Result<HttpResponse, ApiError> {
    let request = WriteRequest::Delete {
        entity: **entity,
        ids: body.into_inner().ids,
    };
    let outcome = apply(&app, &caller, request).await?;
    let ids: Vec<&Value> = outcome.records.iter().map(|d| &d["id"]).collect();
    Ok(HttpResponse::Ok().json(ids))
}

/// A page of records: filters, search, sort, pagination, total.
async fn search(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
    body: Option<web::Json<QueryInput>>,
) -> Result<HttpResponse, ApiError> {
    let input = body.map(web::Json::into_inner).unwrap_or_default();
    let result = tenant(&app, &caller)
        .await?
        .search(**entity, &input, &caller.access())
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// Custom columns, filterable and sortable fields.
async fn configuration(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let result = tenant(&app, &caller)
        .await?
        .configuration(**entity, &caller.access())
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// One record: `{"<entity>": DTO, "customColumns": [...]}`; 404 when it does not exist in this company.
async fn get_one(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let entity = **entity;
    let id = parse_id(&id, entity.table())?;
    let handle = tenant(&app, &caller).await?;
    let found = handle
        .get(entity, std::slice::from_ref(&id), &caller.access())
        .await?
        .pop()
        .flatten();
    let dto =
        found.ok_or_else(|| ApiError::new(Code::RecordNotFound, format!("{} {id} not found.", entity.title())))?;
    let columns: Vec<Value> = handle
        .list_columns(Some(entity))
        .await?
        .iter()
        .map(crate::crm::columns::dto)
        .collect();
    Ok(HttpResponse::Ok().json(json!({entity.table(): dto, "customColumns": columns})))
}

/// Updates one record (the path id wins over a body id).
async fn update_one(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, entity.table())?;
    let mut item = body.into_inner();
    if let Value::Object(map) = &mut item {
        map.insert("id".into(), json!(id));
    }
    let request = WriteRequest::Update {
        entity: **entity,
        items: vec![item],
        nulls: Nulls::Clear,
    };
    let outcome = apply_one(&app, &caller, request).await?;
    Ok(HttpResponse::Ok().json(outcome.records.into_iter().next()))
}

/// Deletes one record; answers its id.
async fn delete_one(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, entity.table())?;
    let request = WriteRequest::Delete {
        entity: **entity,
        ids: vec![id.clone()],
    };
    apply_one(&app, &caller, request).await?;
    Ok(HttpResponse::Ok().json(id))
}

/// `link` / `unlink` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// organizations, contacts, deals, services, tasks or users (as allowed for the entity).
    relation: String,
    /// 1–100 ids to add or remove; other links stay.
    ids: Vec<String>,
}

async fn link_or_unlink(
    app: &AppState,
    entity: Entity,
    caller: &crate::auth::Caller,
    id: &str,
    body: LinkBody,
    add: bool,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(id, entity.table())?;
    let request = WriteRequest::Link {
        entity,
        id,
        relation: body.relation,
        ids: body.ids,
        add,
    };
    let outcome = apply_one(app, caller, request).await?;
    Ok(HttpResponse::Ok().json(outcome.records.into_iter().next()))
}

/// Adds links without touching others.
async fn link(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
    body: web::Json<LinkBody>,
) -> Result<HttpResponse, ApiError> {
    link_or_unlink(&app, **entity, &caller, &id, body.into_inner(), true).await
}

/// Removes links without touching others.
async fn unlink(
    app: web::Data<AppState>,
    entity: web::Data<Entity>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
    body: web::Json<LinkBody>,
) -> Result<HttpResponse, ApiError> {
    link_or_unlink(&app, **entity, &caller, &id, body.into_inner(), false).await
}

/// For single-record routes: a missing record named by the path is a 404, not a validation error, and field
/// paths drop the batch prefix (`contacts[0].firstName` → `firstName`).
fn single(error: CrmError) -> ApiError {
    let error = match error {
        CrmError::Invalid(details) => CrmError::Invalid(
            details
                .into_iter()
                .map(|d| {
                    let path = match d.path.split_once("[0].") {
                        Some((head, rest)) if !head.contains('.') && !head.contains('[') => rest.to_owned(),
                        _ => d.path,
                    };
                    ErrorDetail {
                        path,
                        message: d.message,
                    }
                })
                .collect(),
        ),
        other => other,
    };
    if let CrmError::Invalid(details) = &error
        && let [only] = details.as_slice()
        && (only.path == "id" || only.path == "ids[0]" || only.path == "sourceId")
        && only.message.ends_with("ID not found or not accessible.")
    {
        return ApiError::new(Code::RecordNotFound, only.message.clone());
    }
    error.into()
}
