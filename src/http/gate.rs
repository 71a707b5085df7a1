//! Request gates: API-key authentication with per-key (or per-IP) rate limiting for `/api/v1`, and the
//! admin token for `/admin/v1`.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use tracing_actix_web::RootSpan;

use super::AppState;
use crate::auth::{AuthError, Caller, api_key, bearer, presented_key};
use crate::error::{ApiError, Code};
use crate::rate_limit::Decision;

/// Routes under `/api/v1` that need no key.
const PUBLIC: &[&str] = &["/api/v1/openapi"];

fn state(req: &ServiceRequest) -> Arc<AppState> {
    req.app_data::<web::Data<AppState>>()
        .map(|d| d.clone().into_inner())
        .unwrap_or_else(|| unreachable!("AppState is registered"))
}

fn set_headers(headers: &mut actix_web::http::header::HeaderMap, decision: Decision) {
    let pairs = [
        ("ratelimit-limit", decision.limit.into()),
        ("ratelimit-remaining", decision.remaining.into()),
        ("ratelimit-reset", decision.reset),
    ];
    for (name, value) in pairs {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
    if let Some(seconds) = decision.retry_after {
        headers.insert(actix_web::http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
}

fn refuse<B>(req: ServiceRequest, error: &ApiError, decision: Decision) -> ServiceResponse<EitherBody<B>> {
    let mut response = error.error_response();
    set_headers(response.headers_mut(), decision);
    req.into_response(response).map_into_right_body()
}

/// `1 second`, `5 seconds`.
pub fn in_seconds(seconds: u64) -> String {
    format!("{seconds} second{}", if seconds == 1 { "" } else { "s" })
}

fn rate_limited(decision: Decision) -> ApiError {
    let seconds = decision.retry_after.unwrap_or(1);
    let mut error = ApiError::new(
        Code::RateLimited,
        format!("Too many requests; retry in {}.", in_seconds(seconds)),
    );
    error.retry_after = Some(seconds);
    error
}

/// Authenticates `/api/v1` requests, spends their quota, and adds the `RateLimit-*` headers to every answer.
pub async fn api_gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let app = state(&req);
    let outcome = app.verifier.verify(presented_key(req.headers())).await;
    let decision = match &outcome {
        Ok(caller) => app.limits.check_key(&caller.key_id),
        Err(_) => {
            let ip = req.peer_addr().map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
            app.limits.check_ip(ip)
        }
    };
    if let Some(seconds) = decision.retry_after {
        // MCP clients read a tool result better than a 429 (some disable the server on it): mark the request
        // and let the endpoint answer tool calls with the wait.
        if outcome.is_ok() && req.path() == "/api/v1/mcp" {
            req.extensions_mut().insert(super::mcp::RateLimited(seconds));
        } else {
            return Ok(refuse(req, &rate_limited(decision), decision));
        }
    }
    match outcome {
        Ok(caller) => {
            if let Some(span) = req.extensions().get::<RootSpan>() {
                span.record("company_id", caller.company.id.as_str());
            }
            req.extensions_mut().insert(caller);
        }
        Err(AuthError::Missing) if PUBLIC.contains(&req.path()) => {}
        Err(error) => return Ok(refuse(req, &ApiError::from(error), decision)),
    }
    let mut response = next.call(req).await?;
    set_headers(response.headers_mut(), decision);
    Ok(response.map_into_left_body())
}

/// Requires `Authorization: Bearer <admin token>` on `/admin/v1`.
pub async fn admin_gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let app = state(&req);
    let error = match bearer(req.headers()) {
        None | Some("") => Some(AuthError::MissingAdminToken),
        Some(token) if !constant_time_eq(&api_key::hash(token), &app.admin_token_hash) => {
            Some(AuthError::InvalidAdminToken)
        }
        Some(_) => None,
    };
    if let Some(error) = error {
        let response = ApiError::from(error).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The authenticated caller of a `/api/v1` request.
pub struct Authenticated(pub Arc<Caller>);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let caller = req.extensions().get::<Arc<Caller>>().cloned();
        ready(caller.map(Self).ok_or_else(|| ApiError::from(AuthError::Missing)))
    }
}

/// Adds `Server-Timing: app;dur=<ms>` to every response: the time from routing to a ready response, so clients and
/// benchmarks can tell server time from network time.
pub async fn server_timing(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let mut response = next.call(req).await?;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={millis:.3}")) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("server-timing"), value);
    }
    Ok(response)
}
