//! The HTTP edge shared by every route: body parsing with its limits, path and
//! query parameters, JSON responses, list pages, and [`serve`], which turns a
//! handler's result into a response and writes the one log line per request.

use crate::app::App;
use crate::cursor;
use crate::deadline;
use crate::error::ApiError;
use crate::store::Page;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::time::Instant;

pub type Response = lambda_http::Response<Body>;

/// SPEC §3: request bodies above this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const DEFAULT_LIMIT: i32 = 25;
pub const MAX_LIMIT: i32 = 100;

/// Runs `handler` within the request's time budget (`deadline`) and always
/// answers: errors become SPEC §7 bodies, with `Retry-After` on 429 and 503.
/// Logs one line per request: route, status, latency, request id, and for a
/// 429 or 5xx the cause (store errors never carry item contents).
pub async fn serve<H, Fut>(app: &'static App, req: Request, handler: H) -> Response
where
    H: FnOnce(&'static App, Request) -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    let started = Instant::now();
    let request_id = request_id(&req);
    let route = route_key(&req);
    let lambda_deadline = req.lambda_context_ref().map_or(0, |c| c.deadline);
    let deadline = deadline::from_lambda(lambda_deadline);
    // Boxed: a handler's future is large (an identify is tens of KiB), and
    // on the heap it does not count against the thread's stack.
    let handled = Box::pin(handler(app, req));
    let (response, cause) = match deadline::scope(deadline, handled).await {
        Ok(response) => (response, None),
        Err(err) => {
            let mut response = json(err.status, &err.body(&request_id));
            if let Some(seconds) = err.retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            (response, err.cause().map(str::to_owned))
        }
    };
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match cause {
        Some(cause) if status >= 500 => {
            tracing::error!(
                route,
                status,
                latency_ms,
                request_id,
                cause,
                "request failed"
            )
        }
        Some(cause) if status == 429 => {
            tracing::warn!(
                route,
                status,
                latency_ms,
                request_id,
                cause,
                "request refused"
            )
        }
        _ => tracing::info!(route, status, latency_ms, request_id, "request"),
    }
    response
}

pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A response without a body (`204`).
pub fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

pub fn ok<T: Serialize + ?Sized>(value: &T) -> Response {
    json(StatusCode::OK, value)
}

pub fn created<T: Serialize + ?Sized>(value: &T) -> Response {
    json(StatusCode::CREATED, value)
}

/// Parses the JSON body: over 64 KiB → 413, not JSON → `invalid_json`, a field
/// of the wrong type or unknown → `validation_failed` naming it.
pub fn parse_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(field_error)?;
    de.end().map_err(|_| ApiError::invalid_json())?;
    Ok(value)
}

/// Deserialises parsed JSON, naming the field that does not fit.
pub fn from_json<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(field_error)
}

fn field_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if !inner.is_data() {
        return ApiError::invalid_json();
    }
    let message = inner.to_string();
    // A missing field's path is its parent's; the name is in serde's message.
    let field = match quoted_field(&message, "missing field `") {
        Some(name) if path == "." => name.to_owned(),
        Some(name) => format!("{path}.{name}"),
        None => path,
    };
    ApiError::validation(&field, data_error_message(&message))
}

fn quoted_field<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// serde's messages can quote the offending value; keep only what was expected.
fn data_error_message(message: &str) -> String {
    let text = message.split(" at line ").next().unwrap_or(message);
    if text.starts_with("unknown field") {
        "unknown field".to_owned()
    } else if text.starts_with("missing field") {
        "is required".to_owned()
    } else if let Some(expected) = text.split(", expected ").nth(1) {
        format!("expected {expected}")
    } else {
        "invalid value".to_owned()
    }
}

pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    req.path_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
        .ok_or_else(|| ApiError::validation(name, "missing path parameter"))
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
}

pub fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// API Gateway's request id (also in its `apigw-requestid` response header).
pub fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "-".to_owned())
}

/// The route key, e.g. `GET /api/projects/{id}`: names the route, holds no ids.
pub fn route_key(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "-".to_owned())
}

/// `?limit=` and `?cursor=` of a list request. `scope` names the list (route,
/// tenant and filters): a cursor made for another scope is `invalid_cursor`.
pub struct PageRequest {
    pub limit: i32,
    pub start: Option<crate::store::keys::Item>,
    scope: String,
}

impl PageRequest {
    pub fn parse(app: &App, req: &Request, scope: String) -> Result<Self, ApiError> {
        let limit = match query_param(req, "limit") {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<i32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiError::validation("limit", "must be an integer from 1 to 100"))?,
        };
        let start = query_param(req, "cursor")
            .map(|c| cursor::decode(&app.cursor_key, &scope, &c))
            .transpose()?;
        Ok(PageRequest {
            limit,
            start,
            scope,
        })
    }

    /// The cursor that continues after `last_key`, for this list only.
    pub fn next_cursor(
        &self,
        app: &App,
        last_key: Option<&crate::store::keys::Item>,
    ) -> Option<String> {
        last_key.map(|key| cursor::encode(&app.cursor_key, &self.scope, key))
    }

    /// `{"data": [...], "next_cursor": ...}`.
    pub fn respond<T, V: Serialize>(
        &self,
        app: &App,
        page: Page<T>,
        view: impl Fn(T) -> V,
    ) -> Response {
        let next_cursor = self.next_cursor(app, page.last_key.as_ref());
        let data: Vec<V> = page.items.into_iter().map(view).collect();
        ok(&serde_json::json!({ "data": data, "next_cursor": next_cursor }))
    }
}
