//! `GET /api/openapi.json`: this API's OpenAPI 3.1 description, as committed
//! in `docs/openapi.json` (generated from the code by `infra/openapi.sh`; a
//! test fails when the committed file is stale). Public, and the same for
//! every caller.

use crate::app::App;
use crate::error::ApiError;
use crate::http::{self, Response};
use lambda_http::Request;

/// The document, compiled in: only this route's binary links it.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

pub async fn get(_app: &App, _req: Request) -> Result<Response, ApiError> {
    Ok(http::fixed(
        "application/json",
        "public, max-age=300",
        DOCUMENT,
    ))
}
