//! `POST /mcp` (and `GET`/`DELETE`, which a stateless server answers 405):
//! the MCP endpoint's HTTP edge. It authenticates the API key
//! (`Authorization: Bearer hal_sk_…` or `X-API-Key`; `401` with
//! `WWW-Authenticate: Bearer` without a valid one), then hands the request
//! to the MCP server (`crate::mcp`).

use crate::app::App;
use crate::auth::{self, API_KEY_HEADER};
use crate::error::ApiError;
use crate::http::{self, MAX_BODY_BYTES, Response};
use crate::mcp::{self, Call};
use lambda_http::Request;
use lambda_http::http::{HeaderValue, StatusCode, header};

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
    let call = Call {
        app,
        key,
        request_id: request_id.clone(),
    };
    match mcp::serve(&call, req.method(), req.headers(), req.body().as_ref()).await {
        Err(err) if err.status == StatusCode::METHOD_NOT_ALLOWED => {
            let mut response = http::json(err.status, &err.body(&request_id));
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            Ok(response)
        }
        answer => answer,
    }
}
