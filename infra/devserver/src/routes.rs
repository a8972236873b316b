//! The route table: every route of `template.yaml`, with the binary that serves
//! it in AWS and the handler the dev server calls (one binary may serve
//! several routes of one path, as `mcp` does). A test checks this table,
//! `template.yaml` and `functions/` against each other.

use hal_crm::http::{Response, serve};
use hal_crm::{App, handlers};
use lambda_http::Request;
use std::future::Future;
use std::pin::Pin;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
    route!("PATCH" "/api/projects/{id}" => "update-project", Jwt, handlers::projects::update),
    route!("POST" "/api/projects/{id}/identity-secret" => "rotate-identity-secret", Jwt, handlers::projects::rotate_identity_secret),
    route!("GET" "/api/contacts" => "list-contacts", Jwt, handlers::contacts::list),
    route!("POST" "/api/contacts" => "create-contact", Jwt, handlers::contacts::create),
    route!("GET" "/api/contacts/{id}" => "get-contact", Jwt, handlers::contacts::get),
    route!("PATCH" "/api/contacts/{id}" => "update-contact", Jwt, handlers::contacts::update),
    route!("DELETE" "/api/contacts/{id}" => "delete-contact", Jwt, handlers::contacts::delete),
    route!("GET" "/api/contacts/{id}/events" => "list-contact-events", Jwt, handlers::contacts::events),
    route!("GET" "/api/companies" => "list-companies", Jwt, handlers::companies::list),
    route!("POST" "/api/companies" => "create-company", Jwt, handlers::companies::create),
    route!("GET" "/api/companies/{id}" => "get-company", Jwt, handlers::companies::get),
    route!("PATCH" "/api/companies/{id}" => "update-company", Jwt, handlers::companies::update),
    route!("DELETE" "/api/companies/{id}" => "delete-company", Jwt, handlers::companies::delete),
    route!("GET" "/api/companies/{id}/events" => "list-company-events", Jwt, handlers::companies::events),
    route!("PUT" "/api/contacts/{id}/companies/{company_id}" => "link-company", Jwt, handlers::links::put),
    route!("DELETE" "/api/contacts/{id}/companies/{company_id}" => "unlink-company", Jwt, handlers::links::delete),
    route!("GET" "/api/contacts/{id}/companies" => "list-contact-companies", Jwt, handlers::links::contact_companies),
    route!("GET" "/api/companies/{id}/contacts" => "list-company-contacts", Jwt, handlers::links::company_contacts),
    route!("POST" "/api/stages" => "create-stage", Jwt, handlers::stages::create),
    route!("PATCH" "/api/stages/{id}" => "update-stage", Jwt, handlers::stages::update),
    route!("PUT" "/api/stages/order" => "reorder-stages", Jwt, handlers::stages::reorder),
    route!("DELETE" "/api/stages/{id}" => "delete-stage", Jwt, handlers::stages::delete),
    route!("GET" "/api/visitors/{visitor_id}" => "get-visitor", Jwt, handlers::visitors::get),
    route!("GET" "/api/pipeline" => "get-pipeline", Jwt, handlers::pipeline::summary),
    route!("GET" "/api/members" => "list-members", Jwt, handlers::members::list),
    route!("PUT" "/api/members/{user_id}" => "put-member", Jwt, handlers::members::put),
    route!("DELETE" "/api/members/{user_id}" => "delete-member", Jwt, handlers::members::delete),
    route!("POST" "/api/api-keys" => "create-api-key", Jwt, handlers::api_keys::create),
    route!("GET" "/api/api-keys" => "list-api-keys", Jwt, handlers::api_keys::list),
    route!("DELETE" "/api/api-keys/{id}" => "delete-api-key", Jwt, handlers::api_keys::delete),
    route!("POST" "/api/widget/identify" => "widget-identify", None, handlers::widget::identify),
    route!("POST" "/api/widget/set-properties" => "widget-set-properties", None, handlers::widget::set_properties),
    route!("POST" "/api/widget/track" => "widget-track", None, handlers::widget::track),
    route!("POST" "/api/widget/set-stage" => "widget-set-stage", None, handlers::widget::set_stage),
    route!("POST" "/api/widget/set-deal" => "widget-set-deal", None, handlers::widget::set_deal),
    route!("POST" "/api/widget/messages" => "widget-post-message", None, handlers::widget::post_message),
    route!("GET" "/api/widget/conversations" => "widget-list-conversations", None, handlers::widget::list_conversations),
    route!("GET" "/api/v1/contacts" => "v1-list-contacts", None, handlers::v1::list_contacts),
    route!("GET" "/api/v1/contacts/{id}" => "v1-get-contact", None, handlers::v1::get_contact),
    route!("POST" "/api/v1/contacts" => "v1-create-contact", None, handlers::v1::create_contact),
    route!("PATCH" "/api/v1/contacts/{id}" => "v1-update-contact", None, handlers::v1::update_contact),
    route!("GET" "/api/v1/conversations" => "v1-list-conversations", None, handlers::v1::list_conversations),
    route!("GET" "/api/v1/conversations/{id}" => "v1-get-conversation", None, handlers::v1::get_conversation),
    route!("POST" "/api/v1/conversations/{id}/messages" => "v1-reply", None, handlers::v1::reply),
    route!("PATCH" "/api/v1/conversations/{id}" => "v1-update-conversation", None, handlers::v1::update_conversation),
    route!("POST" "/mcp" => "mcp", None, handlers::mcp::serve),
    route!("GET" "/mcp" => "mcp", None, handlers::mcp::serve),
    route!("DELETE" "/mcp" => "mcp", None, handlers::mcp::serve),
    route!("GET" "/api/openapi.json" => "get-openapi", None, handlers::openapi::get),
    route!("GET" "/widget.js" => "get-widget-script", None, handlers::sdk::script),
    route!("GET" "/widget.mjs" => "get-widget-module", None, handlers::sdk::module),
];
