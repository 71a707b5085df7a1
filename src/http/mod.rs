//! HTTP surface: health, the platform admin API, and the company API under `/api/v1`.

mod admin;
mod api_keys;
mod columns;
mod entities;
mod errors;
mod gate;
mod health;
pub mod mcp;
pub mod openapi;
mod policy;
mod users;

use std::sync::Arc;

use actix_web::{get, web};

use crate::admin::Admin;
use crate::auth::Verifier;
use crate::config::Settings;
use crate::rate_limit::RateLimits;
use crate::store::Store;
use crate::tenants::TenantRegistry;

use errors::Json;
pub use gate::{Authenticated, server_timing};

/// Everything a request handler may need, shared by all workers.
pub struct AppState {
    /// Settings in force.
    pub settings: Settings,
    /// The database.
    pub store: Store,
    /// Company actors.
    pub tenants: TenantRegistry,
    /// API-key verification.
    pub verifier: Verifier,
    /// Quotas.
    pub limits: RateLimits,
    /// Platform administration.
    pub admin: Admin,
    /// SHA-256 of the admin token.
    pub admin_token_hash: String,
    /// The OpenAPI document, serialised once.
    pub openapi: Vec<u8>,
    /// The interactive API docs page.
    pub docs_html: String,
    /// The MCP `tools/list` result.
    pub mcp_tools: serde_json::Value,
    /// The same, serialised once.
    pub mcp_tools_json: String,
    /// MCP tool names, in order.
    pub mcp_names: Vec<String>,
}

/// Registers every route: the documented ones through [`routes`], then the MCP endpoint and the docs page.
pub fn configure(state: Arc<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let max_body = state.settings.server.max_body_bytes;
        cfg.app_data(web::Data::from(state))
            .app_data(errors::json_config(max_body))
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(errors::path_config())
            .app_data(errors::query_config())
            // Before the `/api/v1` scope, which would otherwise take the path.
            .configure(mcp::configure)
            .route("/docs", web::get().to(docs));
        routes(&mut utoipa_actix_web::service_config::ServiceConfig::new(cfg));
    }
}

/// Every route of the OpenAPI document (the company API under `/api/v1`, the admin API under `/admin/v1`, the
/// health probes). Each `service(...)` registers a handler and adds the operation its `#[utoipa::path]`
/// describes; [`openapi::document`] collects the same calls.
pub(crate) fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(health::configure)
        .service(
            utoipa_actix_web::scope("/admin/v1")
                .wrap(actix_web::middleware::from_fn(gate::admin_gate))
                .configure(admin::configure)
                .map(admin::undocumented),
        )
        .service(
            utoipa_actix_web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(gate::api_gate))
                .service(openapi_json)
                .configure(users::configure)
                .configure(api_keys::configure)
                .configure(columns::configure)
                .configure(entities::configure)
                .default_service(web::to(errors::route_not_found)),
        )
        .default_service(web::to(errors::route_not_found));
}

/// The OpenAPI 3.1 document (no key needed).
#[utoipa::path(
    tag = "meta",
    operation_id = "openapi",
    responses((status = 200, description = "This document", body = Object), openapi::ApiErrors)
)]
#[get("/openapi")]
async fn openapi_json(app: web::Data<AppState>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(app.openapi.clone())
}

/// Interactive API documentation (Scalar; the page loads its script in the browser).
async fn docs(app: web::Data<AppState>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(app.docs_html.clone())
}
