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
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request};
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
    req.extensions_mut().insert(Call {
        app,
        key,
        scope: http::current_scope(),
        request_id,
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
    Ok(Response::from_parts(parts, Body::from(body.to_vec())))
}
