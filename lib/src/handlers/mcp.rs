//! `POST /mcp` (and `GET`/`DELETE`, which a stateless server answers 405):
//! the MCP endpoint's HTTP edge. It authenticates the API key
//! (`Authorization: Bearer hal_sk_…` or `X-API-Key`; `401` with
//! `WWW-Authenticate: Bearer` without a valid one), then hands the request
//! to the MCP service (`crate::mcp`) with what its tools need.

use crate::app::App;
use crate::auth::{self, API_KEY_HEADER};
use crate::error::ApiError;
use crate::http::{self, MAX_BODY_BYTES, Response};
use crate::mcp::{self, Call};
use http_body_util::BodyExt;
use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request};
use serde::de::IgnoredAny;
use tower_service::Service;

/// The key's secret: the bearer token, else `X-API-Key`.
fn secret(req: &Request) -> Option<&str> {
    http::header(req, header::AUTHORIZATION.as_str())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .or_else(|| http::header(req, API_KEY_HEADER))
}

pub async fn serve(app: &'static App, mut req: Request) -> Result<Response, ApiError> {
    let request_id = http::request_id(&req);
    let key = match auth::authenticate(app, secret(&req)).await {
        Ok(key) => key,
        Err(err) if err.status.as_u16() == 401 => {
            let mut response = http::json(err.status, &err.body(&request_id));
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return Ok(response);
        }
        Err(err) => return Err(err),
    };
    if req.body().len() > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }
    // Not JSON at all: the API's own answer (rmcp's would be a 415).
    if req.method() == Method::POST
        && serde_json::from_slice::<IgnoredAny>(req.body().as_ref()).is_err()
    {
        return Err(ApiError::invalid_json());
    }
    req.extensions_mut().insert(Call {
        app,
        key,
        scope: http::current_scope(),
        request_id: request_id.clone(),
    });
    let response = mcp::service()
        .call(req)
        .await
        .map_err(|never| ApiError::internal(format!("{never:?}")))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|err| ApiError::internal(format!("MCP response body: {err}")))?
        .to_bytes();
    if parts.status.is_client_error() && !is_json(&parts.headers) {
        return Ok(refusal(parts, &body, &request_id));
    }
    Ok(Response::from_parts(parts, Body::from(body.to_vec())))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"))
}

/// rmcp refuses a request at the HTTP level (wrong method, `Accept`,
/// content type, protocol version header, a body that is no JSON-RPC
/// message) with a status and plain text; the API answers with the same
/// status and headers and a SPEC §7 body whose code says which.
fn refusal(
    mut parts: lambda_http::http::response::Parts,
    text: &[u8],
    request_id: &str,
) -> Response {
    let code = match parts.status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ => "invalid_mcp_request",
    };
    let error = ApiError::new(parts.status, code, String::from_utf8_lossy(text));
    let body = error.body(request_id).to_string();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
