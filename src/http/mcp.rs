//! `POST /api/v1/mcp`: MCP over streamable HTTP, stateless, JSON responses. Serves the `initialize` handshake
//! (2024-11-05 … 2025-11-25) and the 2026-07-28 per-request style (`server/discover`, `_meta`,
//! `Mcp-Method`/`Mcp-Name` headers). Order of checks: Host/Origin (403) → method (405) → key (401, in the gate)
//! → content type (415) → size (413) → JSON (-32700) → shape (-32600) → notification (202) → version → dispatch.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures::StreamExt;
use serde_json::{Map, Value, json};

use super::{AppState, Authenticated};
use crate::mcp::tools::ToolContext;
use crate::mcp::{HANDSHAKE_VERSIONS, INSTRUCTIONS, MODERN_VERSION, SETUP_PROMPT, toon};

const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const PROMPT_NAME: &str = "customermates_setup";

/// Set by the gate when the caller's quota is spent: tool calls answer with a wait instead of running.
#[derive(Debug, Clone, Copy)]
pub struct RateLimited(pub u64);

/// Registers the endpoint (before the generic `/api/v1` scope, with its own guard in front of the gate).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/mcp")
            .wrap(actix_web::middleware::from_fn(super::gate::api_gate))
            .wrap(actix_web::middleware::from_fn(guard))
            .route(web::post().to(handle)),
    );
}

fn rpc_error(status: StatusCode, id: &Value, code: i64, message: &str, data: Option<Value>) -> HttpResponse {
    let mut error = json!({"code": code, "message": message});
    if let Some(data) = data {
        error["data"] = data;
    }
    HttpResponse::build(status)
        .content_type("application/json")
        .json(json!({"jsonrpc": "2.0", "id": id, "error": error}))
}

fn host_allowed(app: &AppState, host: &str) -> bool {
    let name = if host.starts_with('[') {
        host.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h).to_owned()
    };
    let name = name.to_ascii_lowercase();
    matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]")
        || app
            .settings
            .mcp
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&name))
        || url::Url::parse(&app.settings.public_url())
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .as_deref()
            == Some(name.as_str())
}

fn origin_allowed(app: &AppState, origin: &str) -> bool {
    if app.settings.mcp.allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    url::Url::parse(origin).ok().is_some_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| host_allowed(app, &bracket(h)))
    })
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// DNS-rebinding protection and the method check, before authentication.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let app = req.app_data::<web::Data<AppState>>().cloned();
    if let Some(app) = app {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let origin = req.headers().get(header::ORIGIN).and_then(|h| h.to_str().ok());
        if !host_allowed(&app, host) || origin.is_some_and(|o| !origin_allowed(&app, o)) {
            let response = rpc_error(
                StatusCode::FORBIDDEN,
                &Value::Null,
                -32000,
                "Forbidden: Host or Origin not allowed (DNS-rebinding protection).",
                None,
            );
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    if req.method() != Method::POST {
        let mut response = rpc_error(
            StatusCode::METHOD_NOT_ALLOWED,
            &Value::Null,
            -32000,
            "Method not allowed.",
            None,
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, HttpResponse> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            rpc_error(
                StatusCode::BAD_REQUEST,
                &Value::Null,
                -32700,
                "Parse error: the body could not be read",
                None,
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &Value::Null,
                -32600,
                &format!("Request body larger than {limit} bytes"),
                None,
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn header_value<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    let mut values = req.headers().get_all(name);
    let first = values.next()?.to_str().ok();
    if values.next().is_some() {
        Some("\u{0}duplicate")
    } else {
        first
    }
}

/// Decodes `=?base64?…?=` header values.
fn decode_header(value: &str) -> String {
    value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
        .and_then(base64_decode)
        .unwrap_or_else(|| value.to_owned())
}

fn base64_decode(text: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.bytes().filter(|b| *b != b'=') {
        let value = u32::try_from(ALPHABET.iter().position(|a| *a == byte)?).ok()?;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xff).ok()?);
        }
    }
    String::from_utf8(out).ok()
}

fn ok(id: &Value, result: Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .json(json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

/// Handles one JSON-RPC message.
pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    app: web::Data<AppState>,
    Authenticated(caller): Authenticated,
) -> HttpResponse {
    let json_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("application/json"));
    if !json_type {
        return rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &Value::Null,
            -32000,
            "Unsupported Media Type: Content-Type must be application/json",
            None,
        );
    }
    let body = match read_body(payload, app.settings.server.max_body_bytes).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let message: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                &Value::Null,
                -32700,
                &format!("Parse error: {error}"),
                None,
            );
        }
    };
    let Value::Object(message) = message else {
        let text = if message.is_array() {
            "Invalid Request: batches are not supported; send one message per request"
        } else {
            "Invalid Request: expected a JSON-RPC object"
        };
        return rpc_error(StatusCode::BAD_REQUEST, &Value::Null, -32600, text, None);
    };
    let id = message.get("id").cloned();
    let id_ok = matches!(id, Some(Value::String(_) | Value::Number(_)));
    let reply_id = if id_ok {
        id.clone().unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &reply_id,
            -32600,
            "Invalid Request: jsonrpc must be \"2.0\"",
            None,
        );
    }
    let Some(method) = message.get("method") else {
        if message.contains_key("result") || message.contains_key("error") {
            return HttpResponse::Accepted().finish();
        }
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &reply_id,
            -32600,
            "Invalid Request: method is required",
            None,
        );
    };
    let Some(method) = method.as_str() else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &reply_id,
            -32600,
            "Invalid Request: method must be a string",
            None,
        );
    };
    if id.is_none() {
        return HttpResponse::Accepted().finish();
    }
    if !id_ok {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            -32600,
            "Invalid Request: id must be a string or a number",
            None,
        );
    }
    let id = reply_id;
    let params = message.get("params").cloned().unwrap_or(Value::Object(Map::new()));
    let header_version = header_value(&req, "mcp-protocol-version");
    let meta_version = params.pointer("/_meta").and_then(|m| m.get(META_VERSION));
    // Only the modern revision itself in the header makes a request modern: any other unknown value ("bogus",
    // "9999-01-01") is an unsupported version below, not a modern request missing its `_meta`.
    let modern = meta_version.is_some() || method == "server/discover" || header_version == Some(MODERN_VERSION);
    if modern {
        if let Some(response) = check_modern(&req, &id, method, &params, header_version) {
            return response;
        }
    } else if let Some(version) = header_version
        && method != "initialize"
        && !HANDSHAKE_VERSIONS.contains(&version)
    {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &id,
            -32600,
            &format!("Bad Request: unsupported MCP-Protocol-Version: {version}"),
            None,
        );
    }
    let finish = |mut result: Value| {
        if modern && let Some(map) = result.as_object_mut() {
            map.insert("resultType".into(), json!("complete"));
        }
        ok(&id, result)
    };
    match method {
        "initialize" if !modern => {
            let Some(requested) = params.get("protocolVersion").and_then(Value::as_str) else {
                return rpc_error(
                    StatusCode::OK,
                    &id,
                    -32602,
                    "Invalid params: protocolVersion is required",
                    None,
                );
            };
            let version = if HANDSHAKE_VERSIONS.contains(&requested) {
                requested
            } else {
                HANDSHAKE_VERSIONS[0]
            };
            ok(
                &id,
                json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": false}, "prompts": {"listChanged": false}},
                    "serverInfo": server_info(),
                    "instructions": INSTRUCTIONS,
                }),
            )
        }
        "ping" if !modern => ok(&id, json!({})),
        "server/discover" => finish(json!({
            "supportedVersions": [MODERN_VERSION, HANDSHAKE_VERSIONS[0], HANDSHAKE_VERSIONS[1], HANDSHAKE_VERSIONS[2], HANDSHAKE_VERSIONS[3]],
            "capabilities": {"tools": {"listChanged": false}, "prompts": {"listChanged": false}},
            "instructions": INSTRUCTIONS,
            "ttlMs": 3_600_000,
            "cacheScope": "public",
            "_meta": {"io.modelcontextprotocol/serverInfo": server_info()},
        })),
        "tools/list" => {
            if params.get("cursor").is_some_and(|c| !c.is_null()) {
                return rpc_error(
                    StatusCode::OK,
                    &id,
                    -32602,
                    "Invalid params: this server returns every tool in one page; send no cursor",
                    None,
                );
            }
            if modern {
                let mut list = app.mcp_tools.clone();
                list["resultType"] = json!("complete");
                list["ttlMs"] = json!(3_600_000);
                list["cacheScope"] = json!("public");
                return ok(&id, list);
            }
            let body = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{}}}", app.mcp_tools_json);
            HttpResponse::Ok().content_type("application/json").body(body)
        }
        "tools/call" => call_tool(&req, &app, &caller, &id, &params, modern).await,
        "prompts/list" => finish(
            json!({"prompts": [{"name": PROMPT_NAME, "title": "Customermates setup", "description": "The first message for an agent working in this CRM: entities, safety rules, first moves.", "arguments": []}]}),
        ),
        "prompts/get" => {
            if params.get("name").and_then(Value::as_str) != Some(PROMPT_NAME) {
                return rpc_error(
                    StatusCode::OK,
                    &id,
                    -32602,
                    &format!("Invalid params: unknown prompt; available: {PROMPT_NAME}"),
                    None,
                );
            }
            finish(
                json!({"description": "Customermates setup", "messages": [{"role": "user", "content": {"type": "text", "text": SETUP_PROMPT}}]}),
            )
        }
        _ => {
            let status = if modern { StatusCode::NOT_FOUND } else { StatusCode::OK };
            rpc_error(status, &id, -32601, &format!("Method not found: {method}"), None)
        }
    }
}

fn server_info() -> Value {
    json!({"name": "customermates", "title": "Customermates CRM", "version": env!("CARGO_PKG_VERSION")})
}

/// Validates a 2026-07-28 request's `_meta` and headers.
fn check_modern(
    req: &HttpRequest,
    id: &Value,
    method: &str,
    params: &Value,
    header_version: Option<&str>,
) -> Option<HttpResponse> {
    let meta = params.get("_meta").and_then(Value::as_object);
    let version = meta.and_then(|m| m.get(META_VERSION)).and_then(Value::as_str);
    let capabilities = meta.and_then(|m| m.get(META_CAPABILITIES));
    let (Some(version), Some(Value::Object(_))) = (version, capabilities) else {
        return Some(rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            -32602,
            "Invalid params: _meta must carry io.modelcontextprotocol/protocolVersion and io.modelcontextprotocol/clientCapabilities",
            None,
        ));
    };
    if header_version != Some(version) {
        return Some(rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            -32020,
            &format!(
                "Header mismatch: MCP-Protocol-Version header {:?} does not match _meta protocolVersion '{version}'",
                header_version.unwrap_or("missing")
            ),
            None,
        ));
    }
    let header_method = header_value(req, "mcp-method");
    if header_method != Some(method) {
        return Some(rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            -32020,
            &format!(
                "Header mismatch: Mcp-Method header {:?} does not match body method '{method}'",
                header_method.unwrap_or("missing")
            ),
            None,
        ));
    }
    if matches!(method, "tools/call" | "prompts/get") {
        let body_name = params.get("name").and_then(Value::as_str).unwrap_or_default();
        let header_name = header_value(req, "mcp-name").map(decode_header);
        if header_name.as_deref() != Some(body_name) {
            return Some(rpc_error(
                StatusCode::BAD_REQUEST,
                id,
                -32020,
                &format!(
                    "Header mismatch: Mcp-Name header {:?} does not match body name '{body_name}'",
                    header_name.unwrap_or_else(|| "missing".into())
                ),
                None,
            ));
        }
    }
    if version != MODERN_VERSION {
        let data = json!({"supported": [MODERN_VERSION], "requested": version});
        return Some(rpc_error(
            StatusCode::BAD_REQUEST,
            id,
            -32022,
            "Unsupported protocol version",
            Some(data),
        ));
    }
    if matches!(
        method,
        "initialize" | "ping" | "logging/setLevel" | "resources/subscribe"
    ) {
        return Some(rpc_error(
            StatusCode::NOT_FOUND,
            id,
            -32601,
            &format!("Method not found: {method} is not part of {MODERN_VERSION}"),
            None,
        ));
    }
    None
}

async fn call_tool(
    req: &HttpRequest,
    app: &AppState,
    caller: &crate::auth::Caller,
    id: &Value,
    params: &Value,
    modern: bool,
) -> HttpResponse {
    let Some(params) = params.as_object() else {
        return rpc_error(
            StatusCode::OK,
            id,
            -32602,
            "Invalid params: params must be an object",
            None,
        );
    };
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return rpc_error(StatusCode::OK, id, -32602, "Invalid params: name is required", None);
    };
    if !app.mcp_names.iter().any(|n| n == name) {
        let data = json!({"code": "unknown_tool", "hint": "Call tools/list for the available tools."});
        return rpc_error(StatusCode::OK, id, -32602, &format!("Unknown tool: {name}"), Some(data));
    }
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(args @ Value::Object(_)) => args.clone(),
        Some(_) => {
            return rpc_error(
                StatusCode::OK,
                id,
                -32602,
                "Invalid params: arguments must be an object",
                None,
            );
        }
    };
    let finish = |mut result: Value| {
        if modern {
            result["resultType"] = json!("complete");
        }
        ok(id, result)
    };
    let failure = |text: String| json!({"content": [{"type": "text", "text": text}], "isError": true});
    if let Some(RateLimited(seconds)) = req.extensions().get::<RateLimited>().copied() {
        return finish(failure(format!(
            "Rate limit reached for this API key. Wait {}, then retry the call.",
            super::gate::in_seconds(seconds)
        )));
    }
    let tenant = match app.tenants.get(&caller.company.id).await {
        Ok(tenant) => tenant,
        Err(_) => {
            return finish(failure(
                "Error: The company's worker is unavailable; retry the call.".into(),
            ));
        }
    };
    let context = ToolContext { app, caller, tenant };
    match context.call(name, &arguments).await {
        Some(Ok(value)) => {
            let text = match value.as_object() {
                Some(map) if map.len() == 1 && map.contains_key("message") => {
                    map["message"].as_str().unwrap_or_default().to_owned()
                }
                _ => toon(&value),
            };
            finish(json!({"content": [{"type": "text", "text": text}], "structuredContent": value}))
        }
        Some(Err(failed)) => finish(failure(failed.0)),
        None => rpc_error(StatusCode::OK, id, -32602, &format!("Unknown tool: {name}"), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_header_values_are_decoded() {
        assert_eq!(decode_header("=?base64?ZmlsdGVyX2VudGl0eQ==?="), "filter_entity");
        assert_eq!(decode_header("plain"), "plain");
    }
}
