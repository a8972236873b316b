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
    lambda_http::tracing::init_default_subscriber();
    // Lives as long as the execution environment; leaking it gives handlers a
    // plain `&App` without reference counting.
    let app: &'static App = Box::leak(Box::new(App::from_env()?));
    lambda_http::run(service_fn(|req| async {
        Ok::<_, Infallible>(http::serve(app, req, &handler).await)
    }))
    .await
}
