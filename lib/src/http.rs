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

tokio::task_local! {
    /// The route key of the request in flight: the test suite's meter reads
    /// it to tell which route made a DynamoDB call.
    static ROUTE: String;
}

/// The route key of the request in flight, e.g. `POST /mcp`.
pub fn current_route() -> Option<String> {
    ROUTE.try_with(Clone::clone).ok()
}

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
    let scoped = ROUTE.scope(route.clone(), deadline::scope(deadline, handled));
    let (response, cause) = match scoped.await {
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

/// A fixed document (the OpenAPI description, the browser SDK) with its
/// `Cache-Control` (the documents change only with a deployment).
pub fn fixed(
    content_type: &'static str,
    cache_control: &'static str,
    body: &'static str,
) -> Response {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
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
    from_json(json_body(req)?)
}

/// The body as JSON, strictly: over 64 KiB → 413, not JSON → `invalid_json`;
/// a key given twice in one object, or a number too large for any float, is
/// `validation_failed` naming it (JSON parsers disagree on both, so neither
/// is guessed at).
pub fn json_body(req: &Request) -> Result<serde_json::Value, ApiError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: strict::Value = serde_path_to_error::deserialize(&mut de).map_err(field_error)?;
    de.end().map_err(|_| ApiError::invalid_json())?;
    Ok(value.0)
}

/// Deserialises parsed JSON, naming the field that does not fit.
pub fn from_json<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(field_error)
}

fn field_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = inner.to_string();
    if message.starts_with("number out of range") {
        return ApiError::validation(&path, "must be a number of magnitude 1e-130 to 1e125, or 0");
    }
    if !inner.is_data() {
        return ApiError::invalid_json();
    }
    // A missing or repeated field's path is its parent's; the name is in
    // serde's message.
    let named = quoted_field(&message, "missing field `")
        .or_else(|| quoted_field(&message, "duplicate field `"));
    let field = match named {
        Some(name) if path == "." => name.to_owned(),
        Some(name) => format!("{path}.{name}"),
        None => path,
    };
    ApiError::validation(&field, data_error_message(&message))
}

/// JSON values parsed without guessing: a key repeated in one object is an
/// error (`duplicate field`), not "the last one wins".
mod strict {
    use serde::de::{Deserialize, Deserializer, Error, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    pub struct Value(pub serde_json::Value);

    impl<'de> Deserialize<'de> for Value {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Strict).map(Value)
        }
    }

    struct Strict;

    impl<'de> Visitor<'de> for Strict {
        type Value = serde_json::Value;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok(v.into())
        }

        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(v.into())
        }

        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(v.into())
        }

        fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
            Ok(v.into())
        }

        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.into())
        }

        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(v.into())
        }

        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(serde_json::Value::Null)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(Value(item)) = seq.next_element()? {
                items.push(item);
            }
            Ok(serde_json::Value::Array(items))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut object = serde_json::Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if object.contains_key(&key) {
                    return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
                }
                let Value(value) = map.next_value()?;
                object.insert(key, value);
            }
            Ok(serde_json::Value::Object(object))
        }
    }
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
    } else if text.starts_with("duplicate field") {
        "is given twice".to_owned()
    } else if let Some(expected) = text.split(", expected ").nth(1) {
        format!("expected {expected}")
    } else {
        "invalid value".to_owned()
    }
}

/// What a path parameter that names a record may look like.
#[derive(Debug, Clone, Copy)]
pub enum IdRule {
    /// An id we generate (`ct_` + ULID, …).
    Generated(crate::ids::IdKind),
    /// A client-chosen id (company, visitor): SPEC §3's 1–128 characters.
    External,
}

/// A path parameter naming a record. An id no record can have is answered
/// like a missing record (`not_found`): it names none, and it never reaches
/// a key (where, too long, it would be DynamoDB's error).
pub fn record_id(
    req: &Request,
    name: &str,
    rule: IdRule,
    not_found: fn() -> ApiError,
) -> Result<String, ApiError> {
    possible_id(path_param(req, name)?, name, rule, not_found)
}

/// `id` if some record can have it, else `not_found` (see [`record_id`]).
pub fn possible_id(
    id: String,
    name: &str,
    rule: IdRule,
    not_found: fn() -> ApiError,
) -> Result<String, ApiError> {
    let possible = match rule {
        IdRule::Generated(kind) => crate::ids::is_valid(kind, &id),
        IdRule::External => crate::validate::external_id(name, &id).is_ok(),
    };
    if possible { Ok(id) } else { Err(not_found()) }
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

/// A page of a list (SPEC §7): its records and the cursor of the next page,
/// `null` on the last.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct List<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
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
        // Text that is no integer is out of range like any other.
        let limit = query_param(req, "limit").map(|text| text.parse::<i64>().unwrap_or(0));
        Self::new(app, limit, query_param(req, "cursor").as_deref(), scope)
    }

    /// A page request from typed values (`limit` 1 to 100, 25 when absent;
    /// a cursor this list made), as the MCP tools take them.
    pub fn new(
        app: &App,
        limit: Option<i64>,
        cursor: Option<&str>,
        scope: String,
    ) -> Result<Self, ApiError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) => i32::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiError::validation("limit", "must be an integer from 1 to 100"))?,
        };
        let start = cursor
            .map(|c| cursor::decode(&app.cursor_key, &scope, c))
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
        ok(&List { data, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(body: &str) -> (&'static str, String) {
        let req = Request::new(Body::from(body));
        let err = json_body(&req).unwrap_err();
        let field = err
            .details
            .as_ref()
            .and_then(|d| d["field"].as_str())
            .unwrap_or_default()
            .to_owned();
        (err.code, field)
    }

    #[test]
    fn repeated_keys_and_unrepresentable_numbers_name_their_field() {
        assert_eq!(
            field(r#"{"project_id": "a", "project_id": "b"}"#),
            ("validation_failed", "project_id".to_owned())
        );
        assert_eq!(
            field(r#"{"company": {"id": "a", "id": "b"}}"#),
            ("validation_failed", "company.id".to_owned())
        );
        assert_eq!(
            field(r#"{"properties": {"n": 1e309}}"#),
            ("validation_failed", "properties.n".to_owned())
        );
        assert_eq!(field(r#"{"a": [1, 2"#), ("invalid_json", String::new()));
        let req = Request::new(Body::from(r#"{"a": {"b": [1, {"c": null}]}}"#));
        assert_eq!(
            json_body(&req).unwrap(),
            serde_json::json!({"a": {"b": [1, {"c": null}]}})
        );
    }
}
