//! `GET /api/openapi.json`: this API's OpenAPI 3.1 description, as committed
//! in `docs/openapi.json` (generated from the code by `infra/openapi.sh`; a
//! test fails when the committed file is stale). Public, and the same for
//! every caller.

use crate::app::App;
use crate::error::ApiError;
use crate::http::Response;
use lambda_http::Body;
use lambda_http::Request;
use lambda_http::http::{HeaderValue, header};

/// The document, compiled in: only this route's binary links it.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

pub async fn get(_app: &App, _req: Request) -> Result<Response, ApiError> {
    let mut response = Response::new(Body::from(DOCUMENT));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // The document changes only with a deployment.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}
