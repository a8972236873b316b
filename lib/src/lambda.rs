//! What every route binary's `main` calls: build the `App` once, then serve
//! invocations with the route's handler.

use crate::app::App;
use crate::error::ApiError;
use crate::http::{self, Response};
use lambda_http::{Request, service_fn};
use std::convert::Infallible;
use std::future::Future;

pub async fn run<H, Fut>(handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(&'static App, Request) -> Fut + Sync,
    Fut: Future<Output = Result<Response, ApiError>> + Send,
{
    init_logging();
    // Lives as long as the execution environment; leaking it gives handlers a
    // plain `&App` without reference counting.
    let app: &'static App = Box::leak(Box::new(App::from_env()?));
    lambda_http::run(service_fn(|req| async {
        Ok::<_, Infallible>(http::serve(app, req, &handler).await)
    }))
    .await
}

/// Logging as Lambda's advanced logging controls set it: the level from
/// `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG` when it is a level, else INFO),
/// JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON`. What
/// `lambda_http::tracing::init_default_subscriber` does, without its
/// `EnvFilter` (per-target directives, which Lambda never sets), whose
/// regex engine is about 0.35 MB of every binary (docs/performance.md).
pub fn init_logging() {
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::prelude::*;
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time();
    let registry = tracing_subscriber::registry().with(level);
    if json {
        registry.with(logs.json()).init();
    } else {
        registry.with(logs).init();
    }
}
