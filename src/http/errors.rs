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
                ApiError::new(
                    Code::PayloadTooLarge,
                    format!("The request body is larger than {limit} bytes."),
                )
            }
            JsonPayloadError::ContentType => ApiError::new(
                Code::InvalidContentType,
                "The request body must be sent as application/json.",
            ),
            JsonPayloadError::Deserialize(inner) => ApiError::new(Code::InvalidJson, json_message(inner)),
            other => ApiError::new(
                Code::InvalidJson,
                format!("The request body could not be read: {other}"),
            ),
        };
        api.into()
    })
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
