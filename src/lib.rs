//! Customermates server: an agent-first, multi-tenant CRM backend over SurrealDB.

pub mod admin;
pub mod auth;
pub mod cli;
pub mod config;
pub mod crm;
pub mod domain;
pub mod error;
pub mod http;
pub mod mcp;
pub mod rate_limit;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tenants;
