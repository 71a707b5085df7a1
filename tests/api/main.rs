//! Black-box tests: a real server on a random port, real HTTP, a real SurrealDB engine.
//! One test binary so it links once.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod actors;
mod admin;
mod auth;
mod bad_input;
mod cli;
mod columns;
mod contacts;
mod crm;
mod events;
mod filters;
mod helpers;
mod isolation;
mod mcp;
mod openapi;
mod permissions;
mod persistence;
mod rate_limit;
