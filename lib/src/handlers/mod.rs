//! One async function per route, `(app, request) -> response`: parse and check
//! the request, call the domain or the store, shape the response. Each route
//! binary in `functions/` runs exactly one of these.

pub mod api_keys;
pub mod companies;
pub mod contacts;
pub mod fields;
pub mod links;
pub mod mcp;
pub mod members;
pub mod openapi;
pub mod pipeline;
pub mod projects;
pub mod sdk;
pub mod stages;
pub mod v1;
pub mod visitors;
pub mod widget;

use crate::domain;
use crate::error::ApiError;
use crate::http::{self, IdRule};
use crate::ids::IdKind;
use lambda_http::Request;

/// The contact a path parameter names (`404 contact_not_found` for an id no
/// contact can have).
fn contact_id(req: &Request, name: &str) -> Result<String, ApiError> {
    possible_contact_id(http::path_param(req, name)?, name)
}

/// The company a path parameter names (`404 company_not_found` for an id no
/// company can have).
fn company_id(req: &Request, name: &str) -> Result<String, ApiError> {
    possible_company_id(http::path_param(req, name)?, name)
}

/// `id` (a path parameter or a tool's argument, `name`) if a contact can
/// have it, else `404 contact_not_found`.
pub(crate) fn possible_contact_id(id: String, name: &str) -> Result<String, ApiError> {
    http::possible_id(
        id,
        name,
        IdRule::Generated(IdKind::Contact),
        domain::contacts::not_found,
    )
}

/// `id` if a company can have it, else `404 company_not_found`.
pub(crate) fn possible_company_id(id: String, name: &str) -> Result<String, ApiError> {
    http::possible_id(id, name, IdRule::External, domain::companies::not_found)
}

/// `id` if a conversation can have it, else `404 conversation_not_found`.
pub(crate) fn possible_conversation_id(id: String, name: &str) -> Result<String, ApiError> {
    http::possible_id(
        id,
        name,
        IdRule::Generated(IdKind::Conversation),
        domain::conversations::not_found,
    )
}
