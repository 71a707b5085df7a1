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

/// An optional JSON body: no body at all (no `Content-Length` and no `Transfer-Encoding`, or a length of 0) is
/// `None`; any body sent is read as [`web::Json`] would, with the same coded errors. actix's `Option<Json<T>>` would
/// turn a body that fails to parse into `None`, so a misspelt field silently meant "no body".
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
        use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
        let headers = req.headers();
        let length = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(str::trim);
        let empty = match length {
            Some(length) => length == "0",
            None => !headers.contains_key(TRANSFER_ENCODING),
        };
        if empty {
            return Box::pin(std::future::ready(Ok(Self(None))));
        }
        let body = web::Json::<T>::from_request(req, payload);
        Box::pin(async move { Ok(Self(Some(body.await?.into_inner()))) })
    }
}
