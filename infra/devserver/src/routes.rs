//! The route table: every route of `template.yaml`, with the binary that serves
//! it in AWS and the handler the dev server calls. A test checks this table,
//! `template.yaml` and `functions/` against each other.

use hal_crm::http::{Response, serve};
use hal_crm::{App, handlers};
use lambda_http::Request;
use std::future::Future;
use std::pin::Pin;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The HTTP API's JWT authorizer (account routes).
    Jwt,
    /// No authorizer: the handler authenticates (widget and v1 routes).
    None,
}

pub type Handler = fn(&'static App, Request) -> Pin<Box<dyn Future<Output = Response> + Send>>;

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// The `[[bin]]` in `functions/Cargo.toml` (and `BuildProperties.Binary`).
    pub binary: &'static str,
    pub auth: Auth,
    /// The handler's path, which the binary's `main` must run.
    pub handler_name: &'static str,
    pub handler: Handler,
}

macro_rules! route {
    ($method:literal $path:literal => $binary:literal, $auth:ident, $($handler:ident)::+) => {
        Route {
            method: $method,
            path: $path,
            binary: $binary,
            auth: Auth::$auth,
            handler_name: stringify!($($handler)::+),
            handler: |app, req| Box::pin(serve(app, req, $($handler)::+)),
        }
    };
}

pub const ROUTES: &[Route] = &[
    route!("POST" "/api/projects" => "create-project", Jwt, handlers::projects::create),
    route!("GET" "/api/projects" => "list-projects", Jwt, handlers::projects::list),
    route!("GET" "/api/projects/{id}" => "get-project", Jwt, handlers::projects::get),
    route!("GET" "/api/stages" => "list-stages", Jwt, handlers::stages::list),
    route!("POST" "/api/widget/identify" => "widget-identify", None, handlers::widget::identify),
    route!("POST" "/api/widget/set-properties" => "widget-set-properties", None, handlers::widget::set_properties),
    route!("POST" "/api/widget/track" => "widget-track", None, handlers::widget::track),
    route!("POST" "/api/widget/set-stage" => "widget-set-stage", None, handlers::widget::set_stage),
    route!("POST" "/api/widget/set-deal" => "widget-set-deal", None, handlers::widget::set_deal),
];
