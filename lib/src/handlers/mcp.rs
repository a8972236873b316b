//! `POST /mcp` (and `GET`/`DELETE`, which a stateless server answers 405):
//! the MCP endpoint's HTTP edge. It authenticates the API key
//! (`Authorization: Bearer hal_sk_…` or `X-API-Key`; `401` with
//! `WWW-Authenticate: Bearer` without a valid one), then hands the request
//! to the MCP server (`crate::mcp`).

use crate::app::App;
use crate::auth::{self, API_KEY_HEADER};
use crate::error::ApiError;
use crate::http::{self, Response};
use crate::mcp::{self, Call};
use lambda_http::Request;
use lambda_http::http::{HeaderName, HeaderValue, StatusCode, header};

/// The key's secret: the bearer token, else `X-API-Key`.
fn secret(req: &Request) -> Option<&str> {
    http::header(req, header::AUTHORIZATION.as_str())
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .or_else(|| http::header(req, API_KEY_HEADER))
}

pub async fn serve(app: &'static App, req: Request) -> Result<Response, ApiError> {
    let request_id = http::request_id(&req);
    let key = match auth::authenticate(app, secret(&req)).await {
        Ok(key) => key,
        Err(err) if err.status == StatusCode::UNAUTHORIZED => {
            return Ok(refused(
                &err,
                &request_id,
                header::WWW_AUTHENTICATE,
                "Bearer",
            ));
        }
        Err(err) => return Err(err),
    };
    let call = Call {
        app,
        key,
        request_id: request_id.clone(),
    };
    match mcp::serve(&call, &req).await {
        Err(err) if err.status == StatusCode::METHOD_NOT_ALLOWED => {
            Ok(refused(&err, &request_id, header::ALLOW, "POST"))
        }
        answer => answer,
    }
}

/// A refusal's SPEC §7 body with the header its status calls for (the
/// `401`'s challenge, the `405`'s allowed method).
fn refused(err: &ApiError, request_id: &str, name: HeaderName, value: &'static str) -> Response {
    let mut response = http::json(err.status, &err.body(request_id));
    response
        .headers_mut()
        .insert(name, HeaderValue::from_static(value));
    response
}
