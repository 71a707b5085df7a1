//! The OpenAPI 3.1 document: component schemas derived by `utoipa` from the handler types, entity schemas and
//! paths generated from the entity specs and the route table below, and the 15 webhook event payloads under the
//! top-level `webhooks` key. Built once at start; served at `GET /api/v1/openapi` and rendered at `/docs`.

use serde_json::{Map, Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApiBuilder};

use crate::crm::Entity;
use crate::crm::spec::Target;

/// A documented route: (method, path, operationId, summary, tag, request schema, success status, response schema).
pub type Route = (&'static str, String, String, String, String, Option<Value>, u16, Value);

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn array_of(item: Value) -> Value {
    json!({"type": "array", "items": item})
}

const OBJECT: fn() -> Value = || json!({"type": "object"});

/// Every route of the API (the company API under `/api/v1`, the admin API under `/admin/v1`, health probes).
#[must_use]
pub fn routes() -> Vec<Route> {
    let mut out: Vec<Route> = Vec::new();
    let mut add = |method: &'static str,
                   path: &str,
                   id: &str,
                   summary: &str,
                   tag: &str,
                   body: Option<Value>,
                   status: u16,
                   response: Value| {
        out.push((
            method,
            path.to_owned(),
            id.to_owned(),
            summary.to_owned(),
            tag.to_owned(),
            body,
            status,
            response,
        ));
    };
    for entity in Entity::ALL {
        let p = entity.plural();
        let t = entity.title();
        let base = format!("/api/v1/{p}");
        let dto = r(&format!("{t}Dto"));
        let create = r(&format!("Create{t}"));
        let update = r(&format!("Update{t}"));
        let batch = |item: Value| json!({"type": "object", "required": [p], "properties": {p: {"type": "array", "minItems": 1, "maxItems": 100, "items": item}}});
        add(
            "post",
            &base,
            &format!("create{t}"),
            &format!("Create a {}", entity.table()),
            p,
            Some(create.clone()),
            201,
            dto.clone(),
        );
        add(
            "post",
            &format!("{base}/many"),
            &format!("createMany{t}s"),
            &format!("Create 1–100 {p}, all or none"),
            p,
            Some(batch(create)),
            201,
            array_of(dto.clone()),
        );
        add(
            "put",
            &format!("{base}/many"),
            &format!("updateMany{t}s"),
            &format!("Update 1–100 {p}, all or none"),
            p,
            Some(batch(update.clone())),
            200,
            array_of(dto.clone()),
        );
        add(
            "delete",
            &format!("{base}/many"),
            &format!("deleteMany{t}s"),
            &format!("Delete 1–100 {p}, all or none"),
            p,
            Some(r("DeleteMany")),
            200,
            array_of(json!({"type": "string", "format": "uuid"})),
        );
        add(
            "post",
            &format!("{base}/search"),
            &format!("get{t}s"),
            &format!("Search {p}: filters, search term, sort, paging, total"),
            p,
            Some(r("QueryInput")),
            200,
            r("SearchResult"),
        );
        add(
            "get",
            &format!("{base}/configuration"),
            &format!("get{t}Configuration"),
            &format!("Custom columns, filterable and sortable fields of {p}"),
            p,
            None,
            200,
            r("Configuration"),
        );
        let by_id = json!({"type": "object", "properties": {entity.table(): dto.clone(), "customColumns": array_of(r("Column"))}});
        add(
            "get",
            &format!("{base}/{{id}}"),
            &format!("get{t}ById"),
            &format!("One {}", entity.table()),
            p,
            None,
            200,
            by_id,
        );
        add(
            "put",
            &format!("{base}/{{id}}"),
            &format!("update{t}"),
            &format!(
                "Update a {}; relationship arrays replace the visible links",
                entity.table()
            ),
            p,
            Some(update),
            200,
            dto.clone(),
        );
        add(
            "delete",
            &format!("{base}/{{id}}"),
            &format!("delete{t}"),
            &format!("Delete a {}", entity.table()),
            p,
            None,
            200,
            json!({"type": "string", "format": "uuid"}),
        );
        add(
            "post",
            &format!("{base}/{{id}}/link"),
            &format!("link{t}"),
            "Add links without touching others",
            p,
            Some(r("LinkBody")),
            200,
            dto.clone(),
        );
        add(
            "post",
            &format!("{base}/{{id}}/unlink"),
            &format!("unlink{t}"),
            "Remove links without touching others",
            p,
            Some(r("LinkBody")),
            200,
            dto,
        );
    }
    let users = "users";
    add(
        "get",
        "/api/v1/users/me",
        "getUserProfile",
        "The caller's profile",
        users,
        None,
        200,
        OBJECT(),
    );
    add(
        "post",
        "/api/v1/users/search",
        "getUsers",
        "The company's users",
        users,
        Some(OBJECT()),
        200,
        OBJECT(),
    );
    add(
        "put",
        "/api/v1/users/{id}",
        "updateUser",
        "Change another user's role or status",
        users,
        Some(r("UserAccess")),
        200,
        r("User"),
    );
    add(
        "get",
        "/api/v1/roles",
        "listRoles",
        "The company's roles",
        "roles",
        None,
        200,
        OBJECT(),
    );
    add(
        "post",
        "/api/v1/roles",
        "createRole",
        "Create a custom role",
        "roles",
        Some(r("RoleInput")),
        201,
        OBJECT(),
    );
    add(
        "put",
        "/api/v1/roles/{id}",
        "updateRole",
        "Replace a custom role",
        "roles",
        Some(r("RoleInput")),
        200,
        OBJECT(),
    );
    add(
        "delete",
        "/api/v1/roles/{id}",
        "deleteRole",
        "Delete a custom role no user holds",
        "roles",
        None,
        200,
        OBJECT(),
    );
    add(
        "get",
        "/api/v1/custom-columns",
        "listCustomColumns",
        "Custom columns (optionally `?entityType=`)",
        "customColumns",
        None,
        200,
        OBJECT(),
    );
    add(
        "post",
        "/api/v1/custom-columns",
        "createCustomColumn",
        "Create a custom column",
        "customColumns",
        Some(r("NewColumn")),
        201,
        r("Column"),
    );
    add(
        "put",
        "/api/v1/custom-columns/{id}",
        "updateCustomColumn",
        "Change a custom column's label or options",
        "customColumns",
        Some(r("ColumnChange")),
        200,
        r("Column"),
    );
    add(
        "delete",
        "/api/v1/custom-columns/{id}",
        "deleteCustomColumn",
        "Delete a custom column and its values",
        "customColumns",
        None,
        200,
        OBJECT(),
    );
    add(
        "get",
        "/api/v1/events",
        "listEvents",
        "Change events after `?after=` (sequence number), oldest first",
        "events",
        None,
        200,
        OBJECT(),
    );
    add(
        "get",
        "/api/v1/api-keys",
        "listApiKeys",
        "The caller's API keys",
        "apiKeys",
        None,
        200,
        OBJECT(),
    );
    add(
        "post",
        "/api/v1/api-keys",
        "createApiKey",
        "Create an API key (shown once)",
        "apiKeys",
        Some(r("NewKeyRequest")),
        201,
        r("CreatedKey"),
    );
    add(
        "delete",
        "/api/v1/api-keys/{id}",
        "revokeApiKey",
        "Revoke one of the caller's keys",
        "apiKeys",
        None,
        200,
        r("ApiKeyInfo"),
    );
    add(
        "post",
        "/api/v1/api-keys/{id}/rotate",
        "rotateApiKey",
        "Replace one of the caller's keys",
        "apiKeys",
        None,
        201,
        r("CreatedKey"),
    );
    add(
        "post",
        "/admin/v1/companies",
        "adminCreateCompany",
        "Create a company, its first user and API key",
        "admin",
        Some(r("NewCompanyRequest")),
        201,
        r("CreatedCompany"),
    );
    add(
        "get",
        "/admin/v1/companies",
        "adminListCompanies",
        "Companies with counts and last activity",
        "admin",
        None,
        200,
        OBJECT(),
    );
    add(
        "get",
        "/admin/v1/companies/{id}",
        "adminGetCompany",
        "One company",
        "admin",
        None,
        200,
        r("CompanySummary"),
    );
    add(
        "post",
        "/admin/v1/companies/{id}/suspend",
        "adminSuspendCompany",
        "Suspend a company",
        "admin",
        None,
        200,
        r("Company"),
    );
    add(
        "post",
        "/admin/v1/companies/{id}/resume",
        "adminResumeCompany",
        "Resume a company",
        "admin",
        None,
        200,
        r("Company"),
    );
    add(
        "delete",
        "/admin/v1/companies/{id}",
        "adminDeleteCompany",
        "Delete a company and its database",
        "admin",
        None,
        200,
        OBJECT(),
    );
    add(
        "post",
        "/admin/v1/companies/{id}/users",
        "adminCreateUser",
        "Add a user to a company",
        "admin",
        Some(r("NewUserRequest")),
        201,
        r("User"),
    );
    add(
        "post",
        "/admin/v1/users/{id}/api-keys",
        "adminCreateApiKey",
        "Create an API key for a user",
        "admin",
        Some(r("NewKeyRequest")),
        201,
        r("CreatedKey"),
    );
    add(
        "get",
        "/admin/v1/users/{id}/api-keys",
        "adminListApiKeys",
        "A user's API keys",
        "admin",
        None,
        200,
        OBJECT(),
    );
    add(
        "delete",
        "/admin/v1/api-keys/{id}",
        "adminRevokeApiKey",
        "Revoke an API key",
        "admin",
        None,
        200,
        r("ApiKeyInfo"),
    );
    add(
        "get",
        "/healthz",
        "healthz",
        "The process is alive",
        "health",
        None,
        200,
        OBJECT(),
    );
    add(
        "get",
        "/readyz",
        "readyz",
        "The database answers and the schema is applied",
        "health",
        None,
        200,
        OBJECT(),
    );
    add(
        "get",
        "/api/v1/openapi",
        "openapi",
        "This document",
        "meta",
        None,
        200,
        OBJECT(),
    );
    out
}

fn scalar_schema(field: &str) -> Value {
    match field {
        "emails" => array_of(json!({"type": "string", "format": "email"})),
        "totalValue" | "totalQuantity" | "amount" => json!({"type": "number"}),
        "type" => json!({"type": "string", "enum": ["custom", "userPendingAuthorization"]}),
        _ => json!({"type": "string"}),
    }
}

fn reference_schema(target: Target) -> Value {
    let props = match target {
        Target::Entity(Entity::Contact) => {
            json!({"id": {"type": "string"}, "firstName": {"type": "string"}, "lastName": {"type": "string"}})
        }
        Target::Entity(Entity::Service) => {
            json!({"id": {"type": "string"}, "name": {"type": "string"}, "amount": {"type": "number"}})
        }
        Target::Entity(Entity::Task) => {
            json!({"id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"}})
        }
        Target::Entity(_) => json!({"id": {"type": "string"}, "name": {"type": "string"}}),
        Target::User => {
            json!({"id": {"type": "string"}, "firstName": {"type": "string"}, "lastName": {"type": "string"}, "email": {"type": "string"}, "avatarUrl": {"type": ["string", "null"]}})
        }
    };
    json!({"type": "object", "properties": props})
}

fn entity_schemas(schemas: &mut Map<String, Value>) {
    let ids = array_of(json!({"type": "string", "format": "uuid"}));
    let custom = array_of(
        json!({"type": "object", "required": ["columnId"], "properties": {"columnId": {"type": "string", "format": "uuid"}, "value": {"type": ["string", "null"]}}}),
    );
    let notes = json!({"description": "Markdown, or a Tiptap JSON document (object or string); null clears."});
    for entity in Entity::ALL {
        let t = entity.title();
        let mut dto = Map::new();
        dto.insert("id".into(), json!({"type": "string", "format": "uuid"}));
        for field in entity.scalar_fields() {
            dto.insert((*field).into(), scalar_schema(field));
        }
        dto.insert(
            "notes".into(),
            json!({"type": ["string", "null"], "description": "Markdown"}),
        );
        dto.insert("createdAt".into(), json!({"type": "string", "format": "date-time"}));
        dto.insert("updatedAt".into(), json!({"type": "string", "format": "date-time"}));
        for relation in entity.relations() {
            let mut item = reference_schema(relation.target);
            if entity == Entity::Deal && relation.field == "serviceIds" {
                item["properties"]["quantity"] = json!({"type": "number"});
            }
            dto.insert(relation.dto.into(), array_of(item));
        }
        dto.insert("customFieldValues".into(), custom.clone());
        schemas.insert(format!("{t}Dto"), json!({"type": "object", "properties": dto}));

        let mut item = Map::new();
        let (required, editable): (&[&str], &[&str]) = match entity {
            Entity::Contact => (&["firstName"], &["firstName", "lastName", "emails"]),
            Entity::Service => (&["name", "amount"], &["name", "amount"]),
            _ => (&["name"], &["name"]),
        };
        for field in editable {
            item.insert((*field).into(), scalar_schema(field));
        }
        item.insert("notes".into(), notes.clone());
        for relation in entity.relations() {
            if entity == Entity::Deal && relation.field == "serviceIds" {
                let line = json!({"type": "object", "required": ["serviceId"], "properties": {"serviceId": {"type": "string", "format": "uuid"}, "quantity": {"type": "number", "minimum": 0, "default": 1}}});
                item.insert("services".into(), array_of(line));
            } else {
                item.insert(relation.field.into(), ids.clone());
            }
        }
        item.insert("customFieldValues".into(), custom.clone());
        schemas.insert(
            format!("Create{t}"),
            json!({"type": "object", "required": required, "properties": item.clone(), "additionalProperties": false}),
        );
        item.insert("id".into(), json!({"type": "string", "format": "uuid"}));
        schemas.insert(format!("Update{t}"), json!({"type": "object", "required": ["id"], "properties": item, "additionalProperties": false, "description": "Relationship arrays replace the links the caller can see; use link/unlink to add or remove single links."}));
    }
}

fn webhooks() -> Value {
    let mut hooks = Map::new();
    for entity in Entity::ALL {
        let t = entity.title();
        for (action, past) in [("Created", "created"), ("Updated", "updated"), ("Deleted", "deleted")] {
            let dto = r(&format!("{t}Dto"));
            let payload = if past == "updated" {
                json!({"type": "object", "properties": {entity.table(): dto, "changes": {"type": "object", "description": "field → {previous, current}; linked arrays list only added, removed or changed elements", "additionalProperties": {"type": "object", "properties": {"previous": {}, "current": {}}}}}})
            } else {
                dto
            };
            let envelope = json!({
                "type": "object",
                "required": ["event", "data", "timestamp"],
                "properties": {
                    "event": {"type": "string", "const": format!("{}.{past}", entity.table())},
                    "data": {"type": "object", "properties": {"entityId": {"type": "string", "format": "uuid"}, "payload": payload, "userId": {"type": "string"}, "companyId": {"type": "string"}}},
                    "timestamp": {"type": "string", "format": "date-time"}
                }
            });
            hooks.insert(
                format!("{}{action}", entity.table()),
                json!({"post": {
                    "operationId": format!("webhook{t}{action}"),
                    "tags": ["webhooks"],
                    "summary": format!("{t} {action}"),
                    "description": format!("Sent when a {} is {past}.", entity.table()),
                    "requestBody": {"required": true, "content": {"application/json": {"schema": envelope}}},
                    "responses": {"200": {"description": "Webhook received successfully"}}
                }}),
            );
        }
    }
    Value::Object(hooks)
}

/// The whole document.
#[must_use]
pub fn document(public_url: &str) -> Value {
    let components = ComponentsBuilder::new()
        .schema_from::<crate::error::ErrorBody>()
        .schema_from::<crate::error::ErrorDetail>()
        .schema_from::<crate::crm::query::QueryInput>()
        .schema_from::<crate::crm::query::Filter>()
        .schema_from::<crate::crm::query::SortDescriptor>()
        .schema_from::<crate::crm::query::Direction>()
        .schema_from::<crate::crm::query::PageRequest>()
        .schema_from::<crate::crm::query::FilterableField>()
        .schema_from::<crate::crm::Pagination>()
        .schema_from::<crate::crm::service::SearchResult>()
        .schema_from::<crate::crm::service::Configuration>()
        .schema_from::<crate::crm::custom::Column>()
        .schema_from::<crate::crm::custom::ColumnType>()
        .schema_from::<crate::crm::custom::NewColumn>()
        .schema_from::<crate::crm::custom::ColumnChange>()
        .schema_from::<crate::crm::Entity>()
        .schema_from::<super::entities::DeleteMany>()
        .schema_from::<super::entities::LinkBody>()
        .schema_from::<crate::admin::roles::RoleInput>()
        .schema_from::<crate::admin::roles::UserAccess>()
        .schema_from::<crate::admin::NewCompanyRequest>()
        .schema_from::<crate::admin::NewAdmin>()
        .schema_from::<crate::admin::NewUserRequest>()
        .schema_from::<crate::admin::CreatedCompany>()
        .schema_from::<crate::admin::CompanySummary>()
        .schema_from::<crate::admin::NewKeyRequest>()
        .schema_from::<crate::admin::CreatedKey>()
        .schema_from::<crate::store::control::ApiKeyInfo>()
        .schema_from::<crate::domain::Company>()
        .schema_from::<crate::domain::CompanyStatus>()
        .schema_from::<crate::domain::User>()
        .schema_from::<crate::domain::UserStatus>()
        .schema_from::<crate::tenants::Counts>()
        .security_scheme(
            "apiKeyAuth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        )
        .security_scheme(
            "adminToken",
            SecurityScheme::Http(utoipa::openapi::security::Http::new(
                utoipa::openapi::security::HttpAuthScheme::Bearer,
            )),
        )
        .build();
    let info = InfoBuilder::new()
        .title("Customermates API")
        .description(Some(
            "Agent-first CRM: REST API of the Customermates server. Every error is {code, message, hint, details}.",
        ))
        .version(env!("CARGO_PKG_VERSION"))
        .build();
    let doc = OpenApiBuilder::new().info(info).components(Some(components)).build();
    let mut value = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    if let Some(schemas) = value.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        entity_schemas(schemas);
    }
    value["servers"] = json!([{"url": public_url, "description": "This server"}]);
    let error = json!({"description": "Error", "content": {"application/json": {"schema": r("ErrorBody")}}});
    let mut paths = Map::new();
    for (method, path, id, summary, tag, body, status, response) in routes() {
        let mut operation = json!({
            "operationId": id,
            "summary": summary,
            "tags": [tag],
            "responses": {
                status.to_string(): {"description": "Success", "content": {"application/json": {"schema": response}}},
                "400": error.clone(), "401": error.clone(), "403": error.clone(), "404": error.clone(),
                "409": error.clone(), "413": error.clone(), "429": error.clone(),
            }
        });
        if path.starts_with("/api/v1/") && path != "/api/v1/openapi" {
            operation["security"] = json!([{"apiKeyAuth": []}]);
        } else if path.starts_with("/admin/v1/") {
            operation["security"] = json!([{"adminToken": []}]);
        }
        if let Some(body) = body {
            operation["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": body}}});
        }
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}))
            .collect();
        if !params.is_empty() {
            operation["parameters"] = Value::Array(params);
        }
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[method] = operation;
    }
    value["paths"] = Value::Object(paths);
    value["webhooks"] = webhooks();
    value
}
