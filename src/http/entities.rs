//! `/api/v1/{contacts|organizations|deals|services|tasks}`: create, create many, update, update many, delete,
//! delete many, search, configuration, get by id, link and unlink. One set of functions serves the five
//! entities; `entity_routes!` gives each entity its own handlers, each with the `#[utoipa::path]` of its
//! operation (operation ids, tags and schema references named after the entity).

use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::errors::{Json, OptionalJson, parse_id};
use super::{AppState, Authenticated};
use crate::crm::Entity;
use crate::crm::input::Nulls;
use crate::crm::query::QueryInput;
use crate::crm::service::{CrmError, WriteRequest};
use crate::crm::write::Outcome;
use crate::error::{ApiError, Code, ErrorDetail};
use crate::tenants::TenantHandle;

/// Registers (and documents) the routes of every entity.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(utoipa_actix_web::scope("/contacts").configure(contacts::configure))
        .service(utoipa_actix_web::scope("/organizations").configure(organizations::configure))
        .service(utoipa_actix_web::scope("/deals").configure(deals::configure))
        .service(utoipa_actix_web::scope("/services").configure(services::configure))
        .service(utoipa_actix_web::scope("/tasks").configure(tasks::configure));
}

/// One entity's handlers: thin wrappers over the functions below, each documented for its entity. The
/// arguments are the module, the `Entity`, its plural (the path and tag), its title (schema and operation
/// names), its singular and its title plural.
macro_rules! entity_routes {
    ($module:ident, $entity:expr, $plural:literal, $title:literal, $one:literal, $titles:literal) => {
        mod $module {
            use actix_web::{HttpResponse, delete, get, post, put, web};
            use serde_json::Value;
            use utoipa_actix_web::service_config::ServiceConfig;

            use super::{Authenticated, DeleteMany, LinkBody, QueryInput};
            use crate::crm::Entity;
            use crate::error::ApiError;
            use crate::http::AppState;
            use crate::http::openapi::ApiErrors;

            const ENTITY: Entity = $entity;

            pub fn configure(cfg: &mut ServiceConfig) {
                cfg.service(create_one)
                    .service(create_many)
                    .service(update_many)
                    .service(delete_many)
                    .service(search)
                    .service(configuration)
                    .service(get_one)
                    .service(update_one)
                    .service(delete_one)
                    .service(link)
                    .service(unlink);
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("create", $title),
                summary = concat!("Create a ", $one),
                request_body(content = ref(concat!("#/components/schemas/Create", $title))),
                responses(
                    (status = 201, description = concat!("The ", $one), body = ref(concat!("#/components/schemas/", $title, "Dto"))),
                    ApiErrors
                )
            )]
            #[post("")]
            async fn create_one(
                app: web::Data<AppState>,
                caller: Authenticated,
                body: web::Json<Value>,
            ) -> Result<HttpResponse, ApiError> {
                super::create_one(&app, ENTITY, caller, body.into_inner()).await
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("createMany", $titles),
                summary = concat!("Create 1–100 ", $plural, ", all or none"),
                request_body(content = ref(concat!("#/components/schemas/Create", $title, "Batch"))),
                responses(
                    (status = 201, description = concat!("The ", $plural, ", in order"), body = ref(concat!("#/components/schemas/", $title, "List"))),
                    ApiErrors
                )
            )]
            #[post("/many")]
            async fn create_many(
                app: web::Data<AppState>,
                caller: Authenticated,
                body: web::Json<Value>,
            ) -> Result<HttpResponse, ApiError> {
                super::create_many(&app, ENTITY, caller, body.into_inner()).await
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("updateMany", $titles),
                summary = concat!("Update 1–100 ", $plural, ", all or none"),
                request_body(content = ref(concat!("#/components/schemas/Update", $title, "Batch"))),
                responses(
                    (status = 200, description = concat!("The ", $plural, ", in order"), body = ref(concat!("#/components/schemas/", $title, "List"))),
                    ApiErrors
                )
            )]
            #[put("/many")]
            async fn update_many(
                app: web::Data<AppState>,
                caller: Authenticated,
                body: web::Json<Value>,
            ) -> Result<HttpResponse, ApiError> {
                super::update_many(&app, ENTITY, caller, body.into_inner()).await
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("deleteMany", $titles),
                summary = concat!("Delete 1–100 ", $plural, ", all or none"),
                responses((status = 200, description = "The deleted ids", body = Vec<String>), ApiErrors)
            )]
            #[delete("/many")]
            async fn delete_many(
                app: web::Data<AppState>,
                caller: Authenticated,
                body: super::Json<DeleteMany>,
            ) -> Result<HttpResponse, ApiError> {
                super::delete_many(&app, ENTITY, caller, body.into_inner()).await
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("get", $titles),
                summary = concat!("Search ", $plural, ": filters, search term, sort, paging, total"),
                request_body(content = Option<QueryInput>, description = "Optional: no body is the first page of everything"),
                responses((status = 200, description = "A page with its total", body = crate::crm::service::SearchResult), ApiErrors)
            )]
            #[post("/search")]
            async fn search(
                app: web::Data<AppState>,
                caller: Authenticated,
                body: super::OptionalJson<QueryInput>,
            ) -> Result<HttpResponse, ApiError> {
                super::search(&app, ENTITY, caller, body.or_default()).await
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("get", $title, "Configuration"),
                summary = concat!("Custom columns, filterable and sortable fields of ", $plural),
                responses((status = 200, description = "The configuration", body = crate::crm::service::Configuration), ApiErrors)
            )]
            #[get("/configuration")]
            async fn configuration(app: web::Data<AppState>, caller: Authenticated) -> Result<HttpResponse, ApiError> {
                super::configuration(&app, ENTITY, caller).await
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("get", $title, "ById"),
                summary = concat!("One ", $one, " with the custom columns of ", $plural),
                params(("id" = uuid::Uuid, Path, description = concat!("The ", $one, "'s id (UUID)"))),
                responses(
                    (status = 200, description = concat!("`{", $one, ": DTO, customColumns}`"), body = ref(concat!("#/components/schemas/", $title, "ById"))),
                    ApiErrors
                )
            )]
            #[get("/{id}")]
            async fn get_one(
                app: web::Data<AppState>,
                caller: Authenticated,
                id: web::Path<String>,
            ) -> Result<HttpResponse, ApiError> {
                super::get_one(&app, ENTITY, caller, &id).await
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("update", $title),
                summary = concat!("Update a ", $one, "; relationship arrays replace the visible links"),
                params(("id" = uuid::Uuid, Path, description = concat!("The ", $one, "'s id (UUID); it wins over an id in the body"))),
                request_body(content = ref(concat!("#/components/schemas/Update", $title))),
                responses(
                    (status = 200, description = concat!("The ", $one), body = ref(concat!("#/components/schemas/", $title, "Dto"))),
                    ApiErrors
                )
            )]
            #[put("/{id}")]
            async fn update_one(
                app: web::Data<AppState>,
                caller: Authenticated,
                id: web::Path<String>,
                body: web::Json<Value>,
            ) -> Result<HttpResponse, ApiError> {
                super::update_one(&app, ENTITY, caller, &id, body.into_inner()).await
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("delete", $title),
                summary = concat!("Delete a ", $one),
                params(("id" = uuid::Uuid, Path, description = concat!("The ", $one, "'s id (UUID)"))),
                responses((status = 200, description = "The deleted id", body = String), ApiErrors)
            )]
            #[delete("/{id}")]
            async fn delete_one(
                app: web::Data<AppState>,
                caller: Authenticated,
                id: web::Path<String>,
            ) -> Result<HttpResponse, ApiError> {
                super::delete_one(&app, ENTITY, caller, &id).await
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("link", $title),
                summary = "Add links without touching others",
                params(("id" = uuid::Uuid, Path, description = concat!("The ", $one, "'s id (UUID)"))),
                responses(
                    (status = 200, description = concat!("The ", $one), body = ref(concat!("#/components/schemas/", $title, "Dto"))),
                    ApiErrors
                )
            )]
            #[post("/{id}/link")]
            async fn link(
                app: web::Data<AppState>,
                caller: Authenticated,
                id: web::Path<String>,
                body: super::Json<LinkBody>,
            ) -> Result<HttpResponse, ApiError> {
                super::link_or_unlink(&app, ENTITY, caller, &id, body.into_inner(), true).await
            }

            #[utoipa::path(
                tag = $plural,
                operation_id = concat!("unlink", $title),
                summary = "Remove links without touching others",
                params(("id" = uuid::Uuid, Path, description = concat!("The ", $one, "'s id (UUID)"))),
                responses(
                    (status = 200, description = concat!("The ", $one), body = ref(concat!("#/components/schemas/", $title, "Dto"))),
                    ApiErrors
                )
            )]
            #[post("/{id}/unlink")]
            async fn unlink(
                app: web::Data<AppState>,
                caller: Authenticated,
                id: web::Path<String>,
                body: super::Json<LinkBody>,
            ) -> Result<HttpResponse, ApiError> {
                super::link_or_unlink(&app, ENTITY, caller, &id, body.into_inner(), false).await
            }
        }
    };
}

entity_routes!(contacts, Entity::Contact, "contacts", "Contact", "contact", "Contacts");
entity_routes!(
    organizations,
    Entity::Organization,
    "organizations",
    "Organization",
    "organization",
    "Organizations"
);
entity_routes!(deals, Entity::Deal, "deals", "Deal", "deal", "Deals");
entity_routes!(services, Entity::Service, "services", "Service", "service", "Services");
entity_routes!(tasks, Entity::Task, "tasks", "Task", "task", "Tasks");

/// The caller's company's tenant handle.
pub(super) async fn tenant(app: &AppState, caller: &crate::auth::Caller) -> Result<TenantHandle, ApiError> {
    Ok(app.tenants.get(&caller.company.id).await?)
}

/// Runs a write for a batch route.
async fn apply(app: &AppState, caller: &crate::auth::Caller, request: WriteRequest) -> Result<Outcome, ApiError> {
    Ok(tenant(app, caller).await?.apply(caller.access(), request).await?)
}

/// Runs a write for a single-record route (missing record → 404, paths as in the route's own body; see [`single`]).
async fn apply_one(app: &AppState, caller: &crate::auth::Caller, request: WriteRequest) -> Result<Outcome, ApiError> {
    let paths = match &request {
        WriteRequest::Create { entity, .. } | WriteRequest::Update { entity, .. } => OnePaths::Batch(entity.plural()),
        WriteRequest::Delete { .. } => OnePaths::UrlId("ids[0]"),
        WriteRequest::Link { .. } => OnePaths::UrlId("sourceId"),
    };
    tenant(app, caller)
        .await?
        .apply(caller.access(), request)
        .await
        .map_err(|error| single(error, paths))
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
    app: &AppState,
    entity: Entity,
    Authenticated(caller): Authenticated,
    body: Value,
) -> Result<HttpResponse, ApiError> {
    let request = WriteRequest::Create {
        entity,
        items: vec![body],
        nulls: Nulls::Clear,
    };
    let outcome = apply_one(app, &caller, request).await?;
    Ok(HttpResponse::Created().json(outcome.records.into_iter().next()))
}

/// Creates 1–100 records, all or none (201).
async fn create_many(
    app: &AppState,
    entity: Entity,
    Authenticated(caller): Authenticated,
    body: Value,
) -> Result<HttpResponse, ApiError> {
    let items = batch(entity, body)?;
    let request = WriteRequest::Create {
        entity,
        items,
        nulls: Nulls::Clear,
    };
    let outcome = apply(app, &caller, request).await?;
    Ok(HttpResponse::Created().json(outcome.records))
}

/// Updates 1–100 records, all or none.
async fn update_many(
    app: &AppState,
    entity: Entity,
    Authenticated(caller): Authenticated,
    body: Value,
) -> Result<HttpResponse, ApiError> {
    let items = batch(entity, body)?;
    let request = WriteRequest::Update {
        entity,
        items,
        nulls: Nulls::Clear,
    };
    let outcome = apply(app, &caller, request).await?;
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
    app: &AppState,
    entity: Entity,
    Authenticated(caller): Authenticated,
    body: DeleteMany,
) -> Result<HttpResponse, ApiError> {
    let request = WriteRequest::Delete { entity, ids: body.ids };
    let outcome = apply(app, &caller, request).await?;
    let ids: Vec<&Value> = outcome.records.iter().map(|d| &d["id"]).collect();
    Ok(HttpResponse::Ok().json(ids))
}

/// A page of records: filters, search, sort, pagination, total.
async fn search(
    app: &AppState,
    entity: Entity,
    Authenticated(caller): Authenticated,
    input: QueryInput,
) -> Result<HttpResponse, ApiError> {
    let result = tenant(app, &caller)
        .await?
        .search(entity, &input, &caller.access())
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// Custom columns, filterable and sortable fields.
async fn configuration(
    app: &AppState,
    entity: Entity,
    Authenticated(caller): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let result = tenant(app, &caller)
        .await?
        .configuration(entity, &caller.access())
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// One record: `{"<entity>": DTO, "customColumns": [...]}`; 404 when it does not exist in this company.
async fn get_one(
    app: &AppState,
    entity: Entity,
    Authenticated(caller): Authenticated,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(id, entity.table())?;
    let handle = tenant(app, &caller).await?;
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
    app: &AppState,
    entity: Entity,
    Authenticated(caller): Authenticated,
    id: &str,
    mut item: Value,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(id, entity.table())?;
    if let Value::Object(map) = &mut item {
        map.insert("id".into(), json!(id));
    }
    let request = WriteRequest::Update {
        entity,
        items: vec![item],
        nulls: Nulls::Clear,
    };
    let outcome = apply_one(app, &caller, request).await?;
    Ok(HttpResponse::Ok().json(outcome.records.into_iter().next()))
}

/// Deletes one record; answers its id.
async fn delete_one(
    app: &AppState,
    entity: Entity,
    Authenticated(caller): Authenticated,
    id: &str,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(id, entity.table())?;
    let request = WriteRequest::Delete {
        entity,
        ids: vec![id.clone()],
    };
    apply_one(app, &caller, request).await?;
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
    Authenticated(caller): Authenticated,
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
    let outcome = apply_one(app, &caller, request).await?;
    Ok(HttpResponse::Ok().json(outcome.records.into_iter().next()))
}

/// Where the batch operation behind a single-record route puts what the route's request names.
#[derive(Debug, Clone, Copy)]
enum OnePaths {
    /// A create or update: the one item is `<plural>[0]` of the batch (the body itself here).
    Batch(&'static str),
    /// A delete or link: the record of the URL is at this path of the operation (`ids[0]`, `sourceId`); a link's
    /// `ids[…]` are the body's own.
    UrlId(&'static str),
}

/// For single-record routes: error paths are those of the route's own request, and a record named by the URL that
/// does not exist (or that the caller cannot see) is a 404, not a validation error.
/// - A create or update drops the batch prefix (`contacts[0].firstName` → `firstName`; `contacts[0]`, the body
///   itself, → the empty root path); an update's record is then at `id`.
/// - A delete's or link's record of the URL is `id` (a delete of a system task: `id`, "Only custom tasks…"); a
///   link's unknown `ids[0]` stays a 400 at `ids[0]`, as at any other place of the list.
fn single(error: CrmError, paths: OnePaths) -> ApiError {
    let error = match error {
        CrmError::Invalid(details) => CrmError::Invalid(
            details
                .into_iter()
                .map(|d| ErrorDetail {
                    path: one_path(d.path, paths),
                    message: d.message,
                })
                .collect(),
        ),
        other => other,
    };
    if let CrmError::Invalid(details) = &error
        && let Some(missing) = details
            .iter()
            .find(|d| d.path == "id" && d.message.ends_with("ID not found or not accessible."))
    {
        // Whatever else the body names: without the record there is nothing to check it against.
        return ApiError::new(Code::RecordNotFound, missing.message.clone());
    }
    error.into()
}

/// An error path of the batch operation as a path of the single-record route's request (see [`single`]).
fn one_path(path: String, paths: OnePaths) -> String {
    match paths {
        OnePaths::UrlId(at) if path == at => "id".to_owned(),
        OnePaths::UrlId(_) => path,
        OnePaths::Batch(plural) => match path.strip_prefix(plural).and_then(|rest| rest.strip_prefix("[0]")) {
            Some("") => String::new(),
            Some(rest) => rest.strip_prefix('.').map_or_else(|| path.clone(), str::to_owned),
            None => path,
        },
    }
}
