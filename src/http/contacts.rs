//! `/api/v1/contacts`: create, create many, search (paged), get by id.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::errors::parse_id;
use super::policy::{ReadScope, read_scope, require};
use super::{AppState, Authenticated};
use crate::crm::Page;
use crate::crm::contact::NewContact;
use crate::domain::access::{Requirement, perm};
use crate::domain::{Action, Resource};
use crate::error::{ApiError, Code, ErrorDetail};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_many)
        .service(search)
        .service(create_one)
        .service(get_one);
}

/// One contact to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateContact {
    /// Required.
    first_name: String,
    /// Optional; empty when absent.
    last_name: Option<String>,
    /// Email addresses.
    #[serde(default)]
    emails: Vec<String>,
    /// Markdown notes.
    notes: Option<String>,
}

/// `POST /api/v1/contacts/many` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContacts {
    /// 1–100 contacts, created all or none.
    contacts: Vec<CreateContact>,
}

/// `POST /api/v1/contacts/search` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchContacts {
    /// Which page.
    pagination: Option<PageRequest>,
}

/// A page request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageRequest {
    /// 1-based page number (default 1).
    page: Option<u32>,
    /// 1–100 (default 25).
    page_size: Option<u32>,
}

fn parse_items(items: &[CreateContact], prefix: Option<&str>) -> Result<Vec<NewContact>, ApiError> {
    if let Some(prefix) = prefix
        && (items.is_empty() || items.len() > 100)
    {
        let detail = ErrorDetail {
            path: prefix.to_owned(),
            message: "must hold 1 to 100 items".to_owned(),
        };
        return Err(ApiError::validation(vec![detail]));
    }
    let mut parsed = Vec::with_capacity(items.len());
    let mut details = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = prefix.map(|p| format!("{p}[{index}]")).unwrap_or_default();
        match NewContact::parse(
            &path,
            &item.first_name,
            item.last_name.as_deref(),
            &item.emails,
            item.notes.as_deref(),
        ) {
            Ok(contact) => parsed.push(contact),
            Err(problems) => details.extend(problems),
        }
    }
    if details.is_empty() {
        Ok(parsed)
    } else {
        Err(ApiError::validation(details))
    }
}

const CREATE: [crate::domain::Permission; 1] = [perm(Resource::Contacts, Action::Create)];

/// Creates one contact.
#[post("/contacts")]
async fn create_one(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: web::Json<CreateContact>,
) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&CREATE))?;
    let items = parse_items(std::slice::from_ref(&body.0), None)?;
    let tenant = app.tenants.get(&caller.company.id).await?;
    let mut created = tenant.create_contacts(items).await?;
    Ok(HttpResponse::Created().json(created.pop()))
}

/// Creates 1–100 contacts, all or none.
#[post("/contacts/many")]
async fn create_many(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: web::Json<CreateContacts>,
) -> Result<HttpResponse, ApiError> {
    require(&caller, Requirement::All(&CREATE))?;
    let items = parse_items(&body.contacts, Some("contacts"))?;
    let tenant = app.tenants.get(&caller.company.id).await?;
    Ok(HttpResponse::Created().json(tenant.create_contacts(items).await?))
}

/// One page of contacts, newest first, with the total (only assigned contacts for a `readOwn` role).
#[post("/contacts/search")]
async fn search(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    body: Option<web::Json<SearchContacts>>,
) -> Result<HttpResponse, ApiError> {
    let scope = read_scope(&caller, Resource::Contacts)?;
    let request = body.map(web::Json::into_inner).unwrap_or_default();
    let (page, size) = request.pagination.map_or((None, None), |p| (p.page, p.page_size));
    let page = Page::parse(page, size).map_err(|(path, message)| {
        ApiError::validation(vec![ErrorDetail {
            path: path.to_owned(),
            message,
        }])
    })?;
    let tenant = app.tenants.get(&caller.company.id).await?;
    let result = match scope {
        ReadScope::All => tenant.list_contacts(page).await?,
        ReadScope::Own => tenant.list_assigned_contacts(&caller.user.id, page).await?,
    };
    Ok(HttpResponse::Ok().json(result))
}

/// One contact by id.
#[get("/contacts/{id}")]
async fn get_one(
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scope = read_scope(&caller, Resource::Contacts)?;
    let id = parse_id(&id, "contact")?;
    let tenant = app.tenants.get(&caller.company.id).await?;
    let visible = scope == ReadScope::All || tenant.contact_assigned_to(&caller.user.id, &id).await?;
    let contact = if visible { tenant.get_contact(&id).await? } else { None };
    let contact = contact.ok_or_else(|| ApiError::new(Code::RecordNotFound, format!("Contact {id} not found.")))?;
    Ok(HttpResponse::Ok().json(contact))
}
