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

/// An optional JSON body: an empty body (no bytes, or only whitespace; with or without `Content-Length`, chunked or
/// not) is `None`; any other body must be JSON of `T`, with the coded errors of [`json_config`] (413, 415, 400).
/// actix's `Option<Json<T>>` would turn a body that fails to parse into `None`, so a misspelt field silently meant
/// "no body".
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
        use actix_web::HttpMessage;
        use futures::StreamExt;
        let limit = req
            .app_data::<web::Data<super::AppState>>()
            .map_or(1 << 20, |state| state.settings.server.max_body_bytes);
        let json = matches!(req.mime_type(), Ok(Some(m)) if m.subtype() == actix_web::mime::JSON || m.suffix() == Some(actix_web::mime::JSON));
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::new(Code::InvalidJson, format!("The request body could not be read: {e}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit).into());
                }
                body.extend_from_slice(&chunk);
            }
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(Self(None));
            }
            if !json {
                return Err(not_json().into());
            }
            serde_json::from_slice(&body)
                .map(|value| Self(Some(value)))
                .map_err(|e| ApiError::new(Code::InvalidJson, json_message(&e)).into())
        })
    }
}
