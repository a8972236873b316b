//! `ApiError`: every failure a route can return, and the one mapping from store
//! errors to HTTP statuses (SPEC §7). Bodies carry a code and a safe message;
//! causes go to the log only.

use crate::store::StoreError;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

/// Every error a route answers (SPEC §7).
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail<'a> {
    /// Machine-readable, snake_case (e.g. `validation_failed`).
    pub code: &'a str,
    pub message: &'a str,
    /// More about the error, e.g. `{"field": "email"}` for a refused field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub details: Option<&'a Value>,
    /// The request's id: quote it when asking about a request.
    pub request_id: &'a str,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Machine-readable, snake_case.
    pub code: &'static str,
    pub message: String,
    /// Boxed: rare, and it keeps `Result<_, ApiError>` small.
    pub details: Option<Box<Value>>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u32>,
    /// For the log line only; never sent.
    cause: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            cause: None,
        }
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// 400 `validation_failed`, naming the field.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", message)
            .with_details(json!({ "field": field }))
    }

    pub fn invalid_json() -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the request body is not valid JSON",
        )
    }

    pub fn invalid_cursor() -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
            "the cursor is not valid for this list",
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body exceeds {limit} bytes"),
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// 500 with a generic message; `cause` is logged, not sent.
    pub fn internal(cause: impl Into<String>) -> Self {
        ApiError {
            cause: Some(cause.into()),
            ..ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            )
        }
    }

    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// The JSON body of SPEC §7.
    pub fn body(&self, request_id: &str) -> Value {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
                details: self.details.as_deref(),
                request_id,
            },
        };
        serde_json::to_value(body).unwrap_or_default()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let cause = Some(err.to_string());
        let (status, code, message) = match err {
            StoreError::Throttled => (
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "the data store is throttling requests; retry with backoff",
            ),
            StoreError::Contention => (
                StatusCode::TOO_MANY_REQUESTS,
                "contention",
                "too many concurrent writes to the same records; retry with backoff",
            ),
            StoreError::Unavailable(_) | StoreError::TimedOut => (
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the data store is unavailable; retry later",
            ),
            // A failed condition or cancelled transaction that reaches this
            // point was not turned into a domain error by its caller: a bug.
            StoreError::ConditionFailed
            | StoreError::Cancelled(_)
            | StoreError::Corrupt { .. }
            | StoreError::Other(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            ),
        };
        let retry_after = matches!(status.as_u16(), 429 | 503).then_some(RETRY_AFTER_SECONDS);
        ApiError {
            cause,
            retry_after,
            ..ApiError::new(status, code, message)
        }
    }
}

/// What `Retry-After` asks of a client refused for throttling, contention
/// or an unavailable store.
pub const RETRY_AFTER_SECONDS: u32 = 1;
