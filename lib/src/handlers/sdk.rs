//! `GET /widget.js` and `GET /widget.mjs`: the browser SDK (`widget/`), as a
//! classic script and as an ES module, compiled in. Public; browsers may
//! keep a copy for an hour.

use crate::app::App;
use crate::error::ApiError;
use crate::http::{self, Response};
use lambda_http::Request;

pub const SCRIPT: &str = include_str!("../../../widget/widget.js");
pub const MODULE: &str = include_str!("../../../widget/widget.mjs");

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const AN_HOUR: &str = "public, max-age=3600";

/// `GET /widget.js`: defines `window.HalWidget`.
pub async fn script(_app: &App, _req: Request) -> Result<Response, ApiError> {
    Ok(http::fixed(JAVASCRIPT, AN_HOUR, SCRIPT))
}

/// `GET /widget.mjs`: the same client as an ES module (it imports `./widget.js`).
pub async fn module(_app: &App, _req: Request) -> Result<Response, ApiError> {
    Ok(http::fixed(JAVASCRIPT, AN_HOUR, MODULE))
}
