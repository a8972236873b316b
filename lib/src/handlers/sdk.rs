//! `GET /widget.js` and `GET /widget.mjs`: the browser SDK (`widget/`), as a
//! classic script and as an ES module, compiled in. Public; browsers may
//! keep a copy for an hour (the SDK changes only with a deployment).

use crate::app::App;
use crate::error::ApiError;
use crate::http::Response;
use lambda_http::Body;
use lambda_http::Request;
use lambda_http::http::{HeaderValue, header};

pub const SCRIPT: &str = include_str!("../../../widget/widget.js");
pub const MODULE: &str = include_str!("../../../widget/widget.mjs");

/// `GET /widget.js`: defines `window.HalWidget`.
pub async fn script(_app: &App, _req: Request) -> Result<Response, ApiError> {
    Ok(javascript(SCRIPT))
}

/// `GET /widget.mjs`: the same client as an ES module (it imports `./widget.js`).
pub async fn module(_app: &App, _req: Request) -> Result<Response, ApiError> {
    Ok(javascript(MODULE))
}

fn javascript(source: &'static str) -> Response {
    let mut response = Response::new(Body::from(source));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
