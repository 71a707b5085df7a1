//! Extractor error handlers: malformed bodies, paths and queries answer with a coded error, never an
//! uncoded 400 or a 500.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::error::{ApiError, Code};

/// JSON bodies: size limit and coded errors.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default().limit(limit).error_handler(|error, _req| {
        let api = match &error {
            JsonPayloadError::Overflow { limit } | JsonPayloadError::OverflowKnownLength { limit, .. } => {
                too_large(*limit)
            }
            JsonPayloadError::ContentType => not_json(),
            JsonPayloadError::Deserialize(inner) => ApiError::new(Code::InvalidJson, json_message(inner)),
            other => ApiError::new(
                Code::InvalidJson,
                format!("The request body could not be read: {other}"),
            ),
        };
        api.into()
    })
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        Code::PayloadTooLarge,
        format!("The request body is larger than {limit} bytes."),
    )
}

fn not_json() -> ApiError {
    ApiError::new(
        Code::InvalidContentType,
        "The request body must be sent as application/json.",
    )
}

fn json_message(error: &serde_json::Error) -> String {
    if error.is_syntax() || error.is_eof() {
        format!("The request body is not valid JSON: {error}.")
    } else {
        format!("The request body does not match the schema: {error}.")
    }
}

/// Path parameters.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error: PathError, _req| {
        ApiError::new(Code::InvalidPath, format!("Invalid path parameter: {error}.")).into()
    })
}

/// Query strings.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error: QueryPayloadError, _req| {
        ApiError::new(Code::InvalidQuery, format!("Invalid query string: {error}.")).into()
    })
}

/// Fallback for unknown routes.
pub async fn route_not_found(req: HttpRequest) -> HttpResponse {
    ApiError::new(
        Code::RouteNotFound,
        format!("No route {} {}.", req.method(), req.path()),
    )
    .error_response()
}

/// Parses a path id as a UUID.
pub fn parse_id(raw: &str, what: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::new(Code::InvalidPath, format!("`{raw}` is not a valid {what} id (a UUID).")))
}

/// A JSON body of `T`, in place of actix's `web::Json` (the request-body schema of the OpenAPI document is inferred
/// from this type's name as from actix's): the limits and coded errors of [`json_config`] (413, 415, 400), and a body
/// that is JSON but does not match `T` names the field at fault in `details` (`pagination.page`,
/// `sortDescriptor.direction`), where serde's own error gives only a line and column.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = futures::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let (limit, json, mut payload) = body_parts(req, payload);
        Box::pin(async move {
            if !json {
                return Err(not_json().into());
            }
            let body = read_body(&mut payload, limit).await?;
            Ok(Self(parse_body(&body)?))
        })
    }
}

/// An optional JSON body: an empty body (no bytes, or only whitespace; with or without `Content-Length`, chunked or
/// not) is `None`; any other body must be JSON of `T`, with the coded errors of [`Json`] (413, 415, 400 with the path
/// at fault). actix's `Option<Json<T>>` would turn a body that fails to parse into `None`, so a misspelt field
/// silently meant "no body".
pub struct OptionalJson<T>(pub Option<T>);

impl<T> OptionalJson<T> {
    /// The body, or `T::default()` when none was sent.
    pub fn or_default(self) -> T
    where
        T: Default,
    {
        self.0.unwrap_or_default()
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = futures::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let (limit, json, mut payload) = body_parts(req, payload);
        Box::pin(async move {
            let body = read_body(&mut payload, limit).await?;
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Self(None));
            }
            if !json {
                return Err(not_json().into());
            }
            // `null` is no body too, as the OpenAPI document's `oneOf [null, …]` says.
            Ok(Self(parse_body::<Option<T>>(&body)?))
        })
    }
}

/// What reading a body needs: the server's limit (`server.max_body_bytes`), whether the request says its body is
/// JSON (`application/json`, or a `+json` type), and the body decoded as its `Content-Encoding` says.
fn body_parts(
    req: &HttpRequest,
    payload: &mut actix_web::dev::Payload,
) -> (usize, bool, actix_web::dev::Decompress<actix_web::dev::Payload>) {
    use actix_web::HttpMessage;
    let limit = req
        .app_data::<web::Data<super::AppState>>()
        .map_or(1 << 20, |state| state.settings.server.max_body_bytes);
    let json = matches!(req.mime_type(), Ok(Some(m)) if m.subtype() == actix_web::mime::JSON || m.suffix() == Some(actix_web::mime::JSON));
    (
        limit,
        json,
        actix_web::dev::Decompress::from_headers(payload.take(), req.headers()),
    )
}

/// The whole body, decoded as its `Content-Encoding` says (gzip, br, zstd, deflate, as actix's `web::Json` reads
/// them), refused with a 413 once it passes `limit` bytes decoded (so a small compressed body cannot unpack into a
/// large one).
async fn read_body(
    payload: &mut actix_web::dev::Decompress<actix_web::dev::Payload>,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    use futures::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::new(Code::InvalidJson, format!("The request body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a body as JSON of `T`. Not JSON: `invalid_json` without details. JSON of another shape: `invalid_json`
/// with one detail at the path of the field at fault (the empty path when it is the body itself). serde files some
/// shape errors under syntax (`null` or a number where a choice of names is expected reads "expected value"), so
/// which of the two it is, is decided by whether the body parses as JSON at all.
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        if let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            return ApiError::new(Code::InvalidJson, json_message(&syntax));
        }
        let inner = error.inner();
        let mut api = ApiError::new(
            Code::InvalidJson,
            format!("The request body does not match the schema: {inner}."),
        );
        let path = error.path().to_string();
        api.details.push(crate::error::ErrorDetail {
            path: if path == "." { String::new() } else { path },
            message: strip_position(&inner.to_string()),
        });
        api
    })?;
    // Bytes after the value are refused, as `serde_json::from_slice` refuses them.
    deserializer
        .end()
        .map_err(|e| ApiError::new(Code::InvalidJson, json_message(&e)))?;
    Ok(value)
}

/// serde's message without its ` at line L column C` tail (the detail's path says where).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_owned(),
        _ => message.to_owned(),
    }
}
