//! The OpenAPI 3.1 description of every route, generated from the code: the
//! request and response types derive their schemas (`utoipa::ToSchema`),
//! each route has one path item below, and [`Conventions`] adds what every
//! route of a family shares (security, the `X-Project-Id` header, the
//! SPEC §7 error answers, the links between operations). `infra/openapi.sh`
//! writes it to `docs/openapi.json`, which `GET /api/openapi.json` serves;
//! tests fail when the two differ or when its routes are not the dev
//! server's, and Schemathesis checks the API against it (`infra/contract.sh`).
//!
//! In a widget body the caller's fields (`project_id`, `app_id`,
//! `visitor_id`, `user_hash`) are merged into each route's own schema:
//! OpenAPI security schemes cannot name body fields, so the widget family
//! has none and the `widget` tag says how it authenticates.
//!
//! Only the generator and the tests build this module (feature `openapi`):
//! no route binary carries it.

// The path functions are descriptions, never called.
#![allow(dead_code)]

use crate::clock::Timestamp;
use crate::domain::identify::{StageOutcome, Warning};
use crate::error::{ErrorBody, ErrorDetail};
use crate::handlers::api_keys::{ApiKeyView, CreateKey, CreatedKey};
use crate::handlers::contacts::ContactDetail;
use crate::handlers::fields::{CompanyBody, ContactBody};
use crate::handlers::links::LinkView;
use crate::handlers::members::{MemberView, RoleBody};
use crate::handlers::pipeline::{StageTotalView, SummaryView, TotalView};
use crate::handlers::projects::{CreateProject, ProjectView, Settings};
use crate::handlers::stages::{OrderBody, StageBody, StageView};
use crate::handlers::v1::{ConversationDetail, Reply, StatusChange};
use crate::handlers::widget::{
    self, Created, IdentifyBody, IdentifyResponse, MessageBody, MessageResponse, PipelineResponse,
    PropertiesResponse, SetPropertiesBody, TrackBody, TrackResponse,
};
use crate::http::List;
use crate::model::{
    AttributesPatch, Author, Company, Contact, Conversation, ConversationStatus, Event, Message,
    Role, Scalar, Scope, StageUpdateMode, Visitor,
};
use crate::views::CompanyView;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, Required, ResponseBuilder, SecurityRequirement};

/// The document, as `docs/openapi.json` holds it.
pub fn document() -> utoipa::openapi::OpenApi {
    Document::openapi()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "HAL CRM API",
        version = "1",
        description = include_str!("openapi.md"),
    ),
    paths(
        create_project, list_projects, get_project, update_project, rotate_identity_secret,
        list_stages, create_stage, update_stage, reorder_stages, delete_stage,
        list_contacts, create_contact, get_contact, update_contact, delete_contact,
        list_contact_events,
        list_companies, create_company, get_company, update_company, delete_company,
        list_company_events,
        link_company, unlink_company, list_contact_companies, list_company_contacts,
        get_pipeline,
        get_visitor,
        list_members, put_member, delete_member,
        create_api_key, list_api_keys, delete_api_key,
        widget_identify, widget_set_properties, widget_track, widget_set_stage, widget_set_deal,
        widget_post_message, widget_list_conversations,
        v1_list_contacts, v1_get_contact, v1_create_contact, v1_update_contact,
        v1_list_conversations, v1_get_conversation, v1_reply, v1_update_conversation,
        get_openapi, get_widget_script, get_widget_module,
    ),
    components(schemas(
        Timestamp, Scalar, AttributesPatch, Role, StageUpdateMode, Scope, Author,
        ConversationStatus, Contact, Company, Visitor, Event, Conversation, Message,
        ErrorBody, ErrorDetail, GatewayMessage, ProjectView, StageView, CompanyView, ContactDetail,
        LinkView, ApiKeyView, CreatedKey, ConversationDetail, Warning, StageOutcome, Created,
        IdentifyResponse, PropertiesResponse, TrackResponse, PipelineResponse, MessageResponse,
        CreateProject, Settings, StageBody, OrderBody, ContactBody, CompanyBody, CreateKey,
        Reply, StatusChange, IdentifyBody, widget::CompanyBody, SetPropertiesBody, TrackBody,
        widget::StageBody, MessageBody, SummaryView, StageTotalView, TotalView,
    )),
    modifiers(&Conventions),
    tags(
        (name = "widget", description = "For the browser widget or a customer's backend, on behalf of a visitor: `project_id` (or `app_id`), `visitor_id` and, when the project requires identity verification, `user_hash` in the body (or the query of a `GET`)."),
        (name = "projects", description = "A signed-in HAL user's projects."),
        (name = "contacts", description = "People, with their companies (many-to-many)."),
        (name = "companies", description = "Organisations; the pipeline's stage and deal value live here."),
        (name = "stages", description = "The project's pipeline, in order, and what is on it."),
        (name = "visitors", description = "Widget visitors as the account sees them."),
        (name = "members", description = "The project's team: owners and admins manage it; only owners touch owners; a project always keeps an owner."),
        (name = "api-keys", description = "Keys for the public v1 API (owner and admin)."),
        (name = "v1", description = "The public API for integrations: an `X-API-Key` with the route's scope."),
        (name = "meta", description = "This document, and the browser SDK (`window.HalWidget`)."),
    ),
)]
struct Document;

/// API Gateway's own answer when its JWT authorizer refuses a token, or no
/// route matches.
#[derive(utoipa::ToSchema)]
struct GatewayMessage {
    message: String,
}

// ---- projects -----------------------------------------------------------------

#[utoipa::path(post, path = "/api/projects", tag = "projects", operation_id = "create-project",
    request_body = CreateProject,
    responses((status = 201, description = "Created; the caller is its owner", body = ProjectView)))]
fn create_project() {}

#[utoipa::path(get, path = "/api/projects", tag = "projects", operation_id = "list-projects",
    params(Limit, Cursor),
    responses((status = 200, description = "The caller's projects", body = List<ProjectView>)))]
fn list_projects() {}

#[utoipa::path(get, path = "/api/projects/{id}", tag = "projects", operation_id = "get-project",
    params(("id" = String, Path, description = "A project id (`pr_` + ULID)")),
    responses((status = 200, description = "The project", body = ProjectView)))]
fn get_project() {}

#[utoipa::path(patch, path = "/api/projects/{id}", tag = "projects", operation_id = "update-project",
    params(("id" = String, Path, description = "A project id")),
    request_body = Settings,
    responses((status = 200, description = "Changed (owner and admin)", body = ProjectView)))]
fn update_project() {}

#[utoipa::path(post, path = "/api/projects/{id}/identity-secret", tag = "projects",
    operation_id = "rotate-identity-secret",
    params(("id" = String, Path, description = "A project id")),
    responses((status = 200, description = "A new identity secret (owner and admin); `user_hash` values made with the old one stop working", body = ProjectView)))]
fn rotate_identity_secret() {}

// ---- stages -------------------------------------------------------------------

#[utoipa::path(get, path = "/api/stages", tag = "stages", operation_id = "list-stages",
    responses((status = 200, description = "The whole pipeline, in order (one page)", body = List<StageView>)))]
fn list_stages() {}

#[utoipa::path(post, path = "/api/stages", tag = "stages", operation_id = "create-stage",
    request_body = StageBody,
    responses(
        (status = 201, description = "Created", body = StageView),
        (status = 409, description = "`stage_exists` (names are unique ignoring case) or `too_many_stages` (50)", body = ErrorBody)))]
fn create_stage() {}

#[utoipa::path(patch, path = "/api/stages/{id}", tag = "stages", operation_id = "update-stage",
    params(("id" = String, Path, description = "A stage id (`stg_` + ULID)")),
    request_body = StageBody,
    responses(
        (status = 200, description = "Renamed and/or moved: the pipeline", body = List<StageView>),
        (status = 409, description = "`stage_exists`", body = ErrorBody)))]
fn update_stage() {}

#[utoipa::path(put, path = "/api/stages/order", tag = "stages", operation_id = "reorder-stages",
    request_body = OrderBody,
    responses((status = 200, description = "The pipeline in the new order", body = List<StageView>)))]
fn reorder_stages() {}

#[utoipa::path(delete, path = "/api/stages/{id}", tag = "stages", operation_id = "delete-stage",
    params(("id" = String, Path, description = "A stage id"),
        ("reassign_to" = Option<String>, Query, description = "The stage (name or id) the stage's companies move to")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`stage_in_use`: companies are on it and no `reassign_to`", body = ErrorBody),
        (status = 422, description = "`unknown_stage`: `reassign_to` names no stage", body = ErrorBody)))]
fn delete_stage() {}

// ---- contacts -----------------------------------------------------------------

#[utoipa::path(get, path = "/api/contacts", tag = "contacts", operation_id = "list-contacts",
    params(Limit, Cursor,
        ("email" = Option<String>, Query, description = "The contact with this email"),
        ("company_id" = Option<String>, Query, description = "Contacts linked to this company"),
        ("tag" = Option<String>, Query, description = "Contacts with this tag"),
        ("search" = Option<String>, Query, min_length = 1, max_length = 200,
            description = "Contacts whose email or name starts with this (case-insensitive; `.`, `_`, `-`, `+` and spaces compare alike), in the order of the matching email or name, each contact once")),
    responses((status = 200, description = "Contacts, oldest first (or as `search` orders them); with several filters, the first of email, company_id, search, tag chooses what is read and the others filter it", body = List<Contact>)))]
fn list_contacts() {}

#[utoipa::path(post, path = "/api/contacts", tag = "contacts", operation_id = "create-contact",
    request_body = ContactBody,
    responses(
        (status = 201, description = "Created", body = Contact),
        (status = 409, description = "`email_in_use` or `user_id_in_use`", body = ErrorBody)))]
fn create_contact() {}

#[utoipa::path(get, path = "/api/contacts/{id}", tag = "contacts", operation_id = "get-contact",
    params(ContactId),
    responses((status = 200, description = "The contact", body = ContactDetail)))]
fn get_contact() {}

#[utoipa::path(patch, path = "/api/contacts/{id}", tag = "contacts", operation_id = "update-contact",
    params(ContactId), request_body = ContactBody,
    responses(
        (status = 200, description = "Changed (its own fields only)", body = Contact),
        (status = 409, description = "`email_in_use` or `user_id_in_use`", body = ErrorBody)))]
fn update_contact() {}

#[utoipa::path(delete, path = "/api/contacts/{id}", tag = "contacts", operation_id = "delete-contact",
    params(ContactId),
    responses((status = 204, description = "Deleted with its links and claims; no company is")))]
fn delete_contact() {}

#[utoipa::path(get, path = "/api/contacts/{id}/events", tag = "contacts",
    operation_id = "list-contact-events", params(ContactId, Limit, Cursor),
    responses((status = 200, description = "Its events, newest first", body = List<Event>)))]
fn list_contact_events() {}

// ---- companies ----------------------------------------------------------------

#[utoipa::path(get, path = "/api/companies", tag = "companies", operation_id = "list-companies",
    params(Limit, Cursor,
        ("stage" = Option<String>, Query, description = "The stage's board column (name or id): most recently changed first, or as `sort` says"),
        ("sort" = Option<String>, Query, description = "With `stage`: `activity` (default, most recently changed first) or `deal_value` (highest first, companies without one last)"),
        ("domain" = Option<String>, Query, description = "Companies with this domain")),
    responses(
        (status = 200, description = "Companies, by id (or in the column's order with `stage`)", body = List<CompanyView>),
        (status = 422, description = "`unknown_stage`", body = ErrorBody)))]
fn list_companies() {}

#[utoipa::path(post, path = "/api/companies", tag = "companies", operation_id = "create-company",
    request_body = CompanyBody,
    responses(
        (status = 201, description = "Created", body = CompanyView),
        (status = 409, description = "`company_exists`", body = ErrorBody),
        (status = 422, description = "`unknown_stage`", body = ErrorBody)))]
fn create_company() {}

#[utoipa::path(get, path = "/api/companies/{id}", tag = "companies", operation_id = "get-company",
    params(CompanyId),
    responses((status = 200, description = "The company", body = CompanyView)))]
fn get_company() {}

#[utoipa::path(patch, path = "/api/companies/{id}", tag = "companies", operation_id = "update-company",
    params(CompanyId), request_body = CompanyBody,
    responses(
        (status = 200, description = "Changed (its own fields only; a stage exactly as asked)", body = CompanyView),
        (status = 422, description = "`unknown_stage`", body = ErrorBody)))]
fn update_company() {}

#[utoipa::path(delete, path = "/api/companies/{id}", tag = "companies", operation_id = "delete-company",
    params(CompanyId),
    responses((status = 204, description = "Deleted with its links; no contact is")))]
fn delete_company() {}

#[utoipa::path(get, path = "/api/companies/{id}/events", tag = "companies",
    operation_id = "list-company-events", params(CompanyId, Limit, Cursor),
    responses((status = 200, description = "Its events, newest first", body = List<Event>)))]
fn list_company_events() {}

// ---- links --------------------------------------------------------------------

#[utoipa::path(put, path = "/api/contacts/{id}/companies/{company_id}", tag = "contacts",
    operation_id = "link-company",
    params(ContactId, ("company_id" = String, Path, description = "A company id")),
    responses(
        (status = 201, description = "Linked", body = LinkView),
        (status = 200, description = "They were linked already", body = LinkView)))]
fn link_company() {}

#[utoipa::path(delete, path = "/api/contacts/{id}/companies/{company_id}", tag = "contacts",
    operation_id = "unlink-company",
    params(ContactId, ("company_id" = String, Path, description = "A company id")),
    responses((status = 204, description = "Not linked (any more)")))]
fn unlink_company() {}

#[utoipa::path(get, path = "/api/contacts/{id}/companies", tag = "contacts",
    operation_id = "list-contact-companies", params(ContactId, Limit, Cursor),
    responses((status = 200, description = "The contact's companies", body = List<CompanyView>)))]
fn list_contact_companies() {}

#[utoipa::path(get, path = "/api/companies/{id}/contacts", tag = "companies",
    operation_id = "list-company-contacts", params(CompanyId, Limit, Cursor),
    responses((status = 200, description = "The company's contacts", body = List<Contact>)))]
fn list_company_contacts() {}

// ---- visitors and API keys ----------------------------------------------------

#[utoipa::path(get, path = "/api/visitors/{visitor_id}", tag = "visitors", operation_id = "get-visitor",
    params(("visitor_id" = String, Path, description = "The widget's visitor id")),
    responses((status = 200, description = "The visitor as it stands", body = Visitor)))]
fn get_visitor() {}

#[utoipa::path(get, path = "/api/pipeline", tag = "stages", operation_id = "get-pipeline",
    params(("recent" = Option<usize>, Query, maximum = 50,
        description = "How many recent stage changes to list (0 to 50, default 10)")),
    responses((status = 200, description = "Per stage: companies and their total deal value (exact under concurrent changes), and the companies whose stage changed last", body = SummaryView)))]
fn get_pipeline() {}

#[utoipa::path(get, path = "/api/members", tag = "members", operation_id = "list-members",
    params(Limit, Cursor),
    responses((status = 200, description = "The project's members, by user id (owner or admin)", body = List<MemberView>)))]
fn list_members() {}

#[utoipa::path(put, path = "/api/members/{user_id}", tag = "members", operation_id = "put-member",
    params(("user_id" = String, Path, description = "The user (their token's `sub`)")),
    request_body = RoleBody,
    responses(
        (status = 201, description = "Added to the project", body = MemberView),
        (status = 200, description = "The role set (or already so)", body = MemberView),
        (status = 409, description = "`last_owner`: the project's only owner cannot stop being one", body = ErrorBody)))]
fn put_member() {}

#[utoipa::path(delete, path = "/api/members/{user_id}", tag = "members", operation_id = "delete-member",
    params(("user_id" = String, Path, description = "The user (their token's `sub`)")),
    responses(
        (status = 204, description = "Removed: the user has no access to the project any more"),
        (status = 409, description = "`last_owner`: the project's only owner cannot be removed", body = ErrorBody)))]
fn delete_member() {}

#[utoipa::path(post, path = "/api/api-keys", tag = "api-keys", operation_id = "create-api-key",
    request_body = CreateKey,
    responses((status = 201, description = "Created; the secret (`key`) is shown this once", body = CreatedKey)))]
fn create_api_key() {}

#[utoipa::path(get, path = "/api/api-keys", tag = "api-keys", operation_id = "list-api-keys",
    params(Limit, Cursor),
    responses((status = 200, description = "The project's keys, never their secrets", body = List<ApiKeyView>)))]
fn list_api_keys() {}

#[utoipa::path(delete, path = "/api/api-keys/{id}", tag = "api-keys", operation_id = "delete-api-key",
    params(("id" = String, Path, description = "A key id (`key_` + ULID)")),
    responses((status = 204, description = "Revoked: the next request with it is refused")))]
fn delete_api_key() {}

// ---- widget -------------------------------------------------------------------

#[utoipa::path(post, path = "/api/widget/identify", tag = "widget", operation_id = "widget-identify",
    request_body(content = IdentifyBody, description = "The seed's common sync pattern", example = json!({
        "project_id": "pr_01JD3V0000000000000000000A", "visitor_id": "user_456",
        "email": "alice@acme.com", "metadata": {"plan": "enterprise", "role": "admin"},
        "company": {"id": "acme", "name": "Acme Inc", "stage": "Qualified", "metadata": {"crm_owner": "Sam"}}
    })),
    responses(
        (status = 200, description = "The visitor, its contact and companies", body = IdentifyResponse),
        (status = 409, description = "`visitor_not_identified`: contact or company fields without email or user_id", body = ErrorBody),
        (status = 422, description = "`unknown_company` (company_ids) or `unknown_stage`", body = ErrorBody)))]
fn widget_identify() {}

#[utoipa::path(post, path = "/api/widget/set-properties", tag = "widget",
    operation_id = "widget-set-properties", request_body = SetPropertiesBody,
    responses(
        (status = 200, description = "Merged", body = PropertiesResponse),
        (status = 409, description = "`visitor_not_identified`: metadata needs a contact", body = ErrorBody)))]
fn widget_set_properties() {}

#[utoipa::path(post, path = "/api/widget/track", tag = "widget", operation_id = "widget-track",
    request_body = TrackBody,
    responses(
        (status = 200, description = "Stored (or a repeated `event_key`: `duplicate`)", body = TrackResponse),
        (status = 404, description = "`company_not_linked`", body = ErrorBody),
        (status = 409, description = "`visitor_not_identified`: `company_id` needs a contact", body = ErrorBody)))]
fn widget_track() {}

#[utoipa::path(post, path = "/api/widget/set-stage", tag = "widget", operation_id = "widget-set-stage",
    request_body = widget::StageBody,
    responses(
        (status = 200, description = "Applied, or refused by `advance_only` (`stage_applied: false`)", body = PipelineResponse),
        (status = 404, description = "`company_not_linked`", body = ErrorBody),
        (status = 409, description = "`visitor_not_identified` or `company_ambiguous`", body = ErrorBody),
        (status = 422, description = "`unknown_stage`", body = ErrorBody)))]
fn widget_set_stage() {}

#[utoipa::path(post, path = "/api/widget/set-deal", tag = "widget", operation_id = "widget-set-deal",
    request_body(content = widget::StageBody, example = json!({
        "project_id": "pr_01JD3V0000000000000000000A", "visitor_id": "user_456",
        "company_id": "acme", "deal_value": 12000, "stage_name": "Qualified"
    })),
    responses(
        (status = 200, description = "The deal value applied; the stage as precedence allows", body = PipelineResponse),
        (status = 404, description = "`company_not_linked`", body = ErrorBody),
        (status = 409, description = "`visitor_not_identified` or `company_ambiguous`", body = ErrorBody),
        (status = 422, description = "`unknown_stage`", body = ErrorBody)))]
fn widget_set_deal() {}

#[utoipa::path(post, path = "/api/widget/messages", tag = "widget", operation_id = "widget-post-message",
    request_body = MessageBody,
    responses((status = 201, description = "Stored; a closed conversation reopens", body = MessageResponse)))]
fn widget_post_message() {}

#[utoipa::path(get, path = "/api/widget/conversations", tag = "widget",
    operation_id = "widget-list-conversations", params(Limit, Cursor),
    responses((status = 200, description = "The visitor's own conversations, newest first", body = List<Conversation>)))]
fn widget_list_conversations() {}

// ---- public v1 ----------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/contacts", tag = "v1", operation_id = "v1-list-contacts",
    params(Limit, Cursor, ("email" = Option<String>, Query, description = "The contact with this email")),
    responses((status = 200, description = "Contacts (`contacts:read`)", body = List<Contact>)))]
fn v1_list_contacts() {}

#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "v1", operation_id = "v1-get-contact",
    params(ContactId),
    responses((status = 200, description = "The contact (`contacts:read`)", body = Contact)))]
fn v1_get_contact() {}

#[utoipa::path(post, path = "/api/v1/contacts", tag = "v1", operation_id = "v1-create-contact",
    request_body = ContactBody,
    responses(
        (status = 201, description = "Created (`contacts:write`)", body = Contact),
        (status = 409, description = "`email_in_use` or `user_id_in_use`", body = ErrorBody)))]
fn v1_create_contact() {}

#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "v1", operation_id = "v1-update-contact",
    params(ContactId), request_body = ContactBody,
    responses(
        (status = 200, description = "Changed (`contacts:write`)", body = Contact),
        (status = 409, description = "`email_in_use` or `user_id_in_use`", body = ErrorBody)))]
fn v1_update_contact() {}

#[utoipa::path(get, path = "/api/v1/conversations", tag = "v1", operation_id = "v1-list-conversations",
    params(Limit, Cursor,
        ("status" = Option<ConversationStatus>, Query, description = "Open or closed ones"),
        ("contact_id" = Option<String>, Query, description = "One contact's")),
    responses((status = 200, description = "Conversations by last activity, newest first (`conversations:read`)", body = List<Conversation>)))]
fn v1_list_conversations() {}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "v1", operation_id = "v1-get-conversation",
    params(ConversationId, Limit, Cursor),
    responses((status = 200, description = "The conversation and a page of its messages, oldest first (`conversations:read`)", body = ConversationDetail)))]
fn v1_get_conversation() {}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", tag = "v1", operation_id = "v1-reply",
    params(ConversationId), request_body = Reply,
    responses((status = 201, description = "The reply (`conversations:write`)", body = Message)))]
fn v1_reply() {}

#[utoipa::path(patch, path = "/api/v1/conversations/{id}", tag = "v1",
    operation_id = "v1-update-conversation", params(ConversationId), request_body = StatusChange,
    responses((status = 200, description = "Opened or closed (`conversations:write`)", body = Conversation)))]
fn v1_update_conversation() {}

#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", operation_id = "get-openapi",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)))]
fn get_openapi() {}

#[utoipa::path(get, path = "/widget.js", tag = "meta", operation_id = "get-widget-script",
    responses((status = 200, description = "The browser SDK as a classic script: defines `window.HalWidget`", content_type = "text/javascript", body = String)))]
fn get_widget_script() {}

#[utoipa::path(get, path = "/widget.mjs", tag = "meta", operation_id = "get-widget-module",
    responses((status = 200, description = "The browser SDK as an ES module (imports `./widget.js`)", content_type = "text/javascript", body = String)))]
fn get_widget_module() {}

// ---- shared parameters --------------------------------------------------------

/// `?limit=`: 1–100, default 25.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Limit {
    /// How many records a page holds: 1–100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i32>,
}

/// `?cursor=`: the `next_cursor` of the page before.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Cursor {
    /// The previous page's `next_cursor`: opaque, and valid for this list only.
    cursor: Option<String>,
}

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct ContactId {
    /// A contact id (`ct_` + ULID).
    id: String,
}

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct CompanyId {
    /// A company id: client-chosen (1–128 characters) or generated (`co_` + ULID).
    id: String,
}

#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct ConversationId {
    /// A conversation id (`cv_` + ULID).
    id: String,
}

// ---- what every route of a family shares --------------------------------------

/// The route families of SPEC §2, by path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Family {
    /// A signed-in user; `X-Project-Id` chooses the project (except `/api/projects*`).
    Account {
        project_header: bool,
    },
    Widget,
    V1,
    Public,
}

fn family(path: &str) -> Family {
    if path.starts_with("/api/widget/") {
        Family::Widget
    } else if path.starts_with("/api/v1/") {
        Family::V1
    } else if path == "/api/openapi.json" || !path.starts_with("/api/") {
        Family::Public
    } else {
        Family::Account {
            project_header: !path.starts_with("/api/projects"),
        }
    }
}

struct Conventions;

impl utoipa::Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A token of the project's identity provider, checked by the HTTP API's JWT authorizer (`sub` is the user)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "`hal_sk_…`, created with `POST /api/api-keys`; each route needs its scope.",
            ))),
        );
        for (name, response) in error_responses() {
            components
                .responses
                .insert(name.to_owned(), RefOr::T(response));
        }
        always_present(&mut components.schemas);
        let widget_caller = widget_caller();
        let schemas = components.schemas.clone();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let family = family(path);
            for operation in operations(item) {
                let has_body = operation.request_body.is_some();
                if family == Family::Widget && has_body {
                    widen_widget_body(operation, &widget_caller, &schemas);
                }
                conventions(operation, family, has_body, &widget_caller);
            }
        }
        add_links(openapi);
    }
}

/// OpenAPI links: what a created record's id opens next (Schemathesis's
/// stateful runs follow them). (operation, status, next operation, where
/// its `id` comes from.)
const LINKS: &[(&str, &str, &str, &str)] = &[
    ("create-project", "201", "get-project", "$response.body#/id"),
    (
        "create-project",
        "201",
        "update-project",
        "$response.body#/id",
    ),
    (
        "create-project",
        "201",
        "rotate-identity-secret",
        "$response.body#/id",
    ),
    ("create-stage", "201", "update-stage", "$response.body#/id"),
    ("create-stage", "201", "delete-stage", "$response.body#/id"),
    ("create-contact", "201", "get-contact", "$response.body#/id"),
    (
        "create-contact",
        "201",
        "update-contact",
        "$response.body#/id",
    ),
    (
        "create-contact",
        "201",
        "list-contact-events",
        "$response.body#/id",
    ),
    (
        "create-contact",
        "201",
        "list-contact-companies",
        "$response.body#/id",
    ),
    (
        "create-contact",
        "201",
        "link-company",
        "$response.body#/id",
    ),
    (
        "create-contact",
        "201",
        "delete-contact",
        "$response.body#/id",
    ),
    ("create-company", "201", "get-company", "$response.body#/id"),
    (
        "create-company",
        "201",
        "update-company",
        "$response.body#/id",
    ),
    (
        "create-company",
        "201",
        "list-company-events",
        "$response.body#/id",
    ),
    (
        "create-company",
        "201",
        "list-company-contacts",
        "$response.body#/id",
    ),
    (
        "create-company",
        "201",
        "delete-company",
        "$response.body#/id",
    ),
    (
        "create-api-key",
        "201",
        "delete-api-key",
        "$response.body#/id",
    ),
    (
        "put-member",
        "201",
        "delete-member",
        "$response.body#/user_id",
    ),
    (
        "widget-identify",
        "200",
        "get-contact",
        "$response.body#/contact/id",
    ),
    (
        "widget-identify",
        "200",
        "get-visitor",
        "$response.body#/visitor/visitor_id",
    ),
    (
        "v1-create-contact",
        "201",
        "v1-get-contact",
        "$response.body#/id",
    ),
    (
        "v1-create-contact",
        "201",
        "v1-update-contact",
        "$response.body#/id",
    ),
    (
        "widget-post-message",
        "201",
        "v1-get-conversation",
        "$response.body#/conversation/id",
    ),
    (
        "widget-post-message",
        "201",
        "v1-reply",
        "$response.body#/conversation/id",
    ),
    (
        "widget-post-message",
        "201",
        "v1-update-conversation",
        "$response.body#/conversation/id",
    ),
];

/// Adds [`LINKS`] to their responses; a link whose operation or response is
/// not in the document is a bug here (the generator panics, the tests fail).
fn add_links(openapi: &mut utoipa::openapi::OpenApi) {
    for (from, status, to, id) in LINKS {
        let target_path = openapi
            .paths
            .paths
            .iter()
            .find(|(_, item)| {
                [&item.get, &item.put, &item.post, &item.delete, &item.patch]
                    .into_iter()
                    .flatten()
                    .any(|o| o.operation_id.as_deref() == Some(to))
            })
            .map(|(path, _)| path.clone())
            .unwrap_or_else(|| panic!("link to {to}: no such operation"));
        // The target's one path parameter, by name.
        let parameter = ["visitor_id", "user_id", "id"]
            .into_iter()
            .find(|name| target_path.contains(&format!("{{{name}}}")))
            .unwrap_or_else(|| panic!("link to {to}: no path parameter"));
        let operation = openapi
            .paths
            .paths
            .values_mut()
            .flat_map(operations)
            .find(|o| o.operation_id.as_deref() == Some(from))
            .unwrap_or_else(|| panic!("link from {from}: no such operation"));
        let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) else {
            panic!("link from {from}: no {status} response");
        };
        response.links.insert(
            (*to).to_owned(),
            RefOr::T(
                utoipa::openapi::link::LinkBuilder::new()
                    .operation_id(*to)
                    .parameter(parameter, *id)
                    .build(),
            ),
        );
    }
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// Fields of a response left out when they have no value; every other field
/// of a response is always there (`null` when unset).
const SOMETIMES_OMITTED: &[(&str, &str)] = &[
    ("ErrorDetail", "details"),
    ("IdentifyResponse", "company_stage"),
    ("StageOutcome", "reason"),
    ("Project", "identity_secret"),
    ("Company", "deleting"),
];

/// What responses carry: their fields are required (present, maybe `null`)
/// unless [`SOMETIMES_OMITTED`] says otherwise.
const RESPONSES: &[&str] = &[
    "ApiKey",
    "Company",
    "CompanyView",
    "Contact",
    "ContactDetail",
    "Conversation",
    "ConversationDetail",
    "Created",
    "CreatedKey",
    "ErrorBody",
    "ErrorDetail",
    "Event",
    "GatewayMessage",
    "IdentifyResponse",
    "LinkView",
    "Member",
    "Message",
    "MessageResponse",
    "PipelineResponse",
    "PipelineStage",
    "Project",
    "PropertiesResponse",
    "StageOutcome",
    "TrackResponse",
    "Visitor",
    "Warning",
];

/// Marks the fields of response schemas required as they are serialised
/// (a derive cannot tell an `Option` always sent as `null` from one left out).
fn always_present(schemas: &mut Schemas) {
    for (name, schema) in schemas.iter_mut() {
        let is_list = name.starts_with("List_");
        if !is_list && !RESPONSES.contains(&name.as_str()) {
            continue;
        }
        let objects: Vec<&mut Object> = match schema {
            RefOr::T(Schema::Object(object)) => vec![object],
            RefOr::T(Schema::AllOf(all)) => all
                .items
                .iter_mut()
                .filter_map(|item| match item {
                    RefOr::T(Schema::Object(object)) => Some(object),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        for object in objects {
            for field in object.properties.keys() {
                let omitted = SOMETIMES_OMITTED.contains(&(name.as_str(), field.as_str()));
                if !omitted && !object.required.contains(field) {
                    object.required.push(field.clone());
                }
            }
        }
    }
}

/// The caller fields every widget request carries (body, or query of a GET).
fn widget_caller() -> Vec<(&'static str, &'static str, bool)> {
    vec![
        (
            "project_id",
            "The project (`pr_` + ULID); or its alias `app_id`",
            false,
        ),
        ("app_id", "Alias of `project_id`", false),
        (
            "visitor_id",
            "The visitor: 1–128 characters, no control characters",
            true,
        ),
        (
            "user_hash",
            "hex(HMAC-SHA256(identity secret, visitor_id)); required when the project requires identity verification",
            false,
        ),
    ]
}

fn conventions(
    operation: &mut Operation,
    family: Family,
    has_body: bool,
    caller: &[(&str, &str, bool)],
) {
    let security = match family {
        Family::Account { .. } => Some(SecurityRequirement::new("bearer", Vec::<String>::new())),
        Family::V1 => Some(SecurityRequirement::new("api_key", Vec::<String>::new())),
        Family::Widget | Family::Public => None,
    };
    operation.security = Some(security.into_iter().collect());
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    if let Family::Account {
        project_header: true,
    } = family
    {
        parameters.push(RefOr::T(
            ParameterBuilder::new()
                .name("X-Project-Id")
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(
                    "The project the request acts in; the caller must be a member",
                ))
                .schema(Some(string()))
                .build(),
        ));
    }
    if family == Family::Widget && !has_body {
        for (name, description, required) in caller {
            parameters.push(RefOr::T(query(name, description, *required)));
        }
    }
    if parameters.is_empty() {
        operation.parameters = None;
    }
    // SPEC §7: the errors any route of the family can answer.
    for (status, name) in errors(family, has_body) {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(utoipa::openapi::Ref::from_response_name(name)));
    }
}

/// status → shared response (in `components.responses`) for a route.
fn errors(family: Family, has_body: bool) -> Vec<(&'static str, &'static str)> {
    let mut errors = match family {
        Family::Public => vec![],
        _ => vec![
            ("400", "BadRequest"),
            ("404", "NotFound"),
            ("429", "Throttled"),
            ("503", "Unavailable"),
        ],
    };
    errors.push(("500", "Internal"));
    if has_body {
        errors.push(("413", "PayloadTooLarge"));
    }
    match family {
        Family::Account { .. } => {
            errors.extend([("401", "Unauthorized"), ("403", "Forbidden")]);
        }
        Family::V1 => errors.extend([("401", "InvalidApiKey"), ("403", "InsufficientScope")]),
        Family::Widget => errors.extend([
            ("401", "IdentityVerificationFailed"),
            ("403", "OriginNotAllowed"),
        ]),
        Family::Public => {}
    }
    errors
}

/// The shared error responses [`errors`] names, each a SPEC §7 body.
fn error_responses() -> Vec<(&'static str, utoipa::openapi::Response)> {
    let error = |description: &str| {
        ResponseBuilder::new().description(description).content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(reference("ErrorBody")))
                .build(),
        )
    };
    let retry = |response: ResponseBuilder| {
        response.header(
            "Retry-After",
            utoipa::openapi::HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                .description(Some("Seconds to wait before retrying"))
                .build(),
        )
    };
    vec![
        ("BadRequest", error("`validation_failed` naming the field, `invalid_json` or `invalid_cursor`").build()),
        ("NotFound", error("Not found (`project_not_found`, a record's `…_not_found`)").build()),
        ("Throttled", retry(error("`throttled` or `contention`: retry after `Retry-After` seconds")).build()),
        ("Unavailable", retry(error("`store_unavailable`: retry after `Retry-After` seconds")).build()),
        ("Internal", error("`internal`: a bug of ours (the cause is logged, never sent)").build()),
        ("PayloadTooLarge", error("`payload_too_large`: the body is over 64 KiB").build()),
        (
            "Unauthorized",
            ResponseBuilder::new()
                .description("No valid token: API Gateway's `{\"message\": \"Unauthorized\"}`, or `unauthorized`")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(one_of(&["ErrorBody", "GatewayMessage"])))
                        .build(),
                )
                .build(),
        ),
        ("Forbidden", error("`forbidden`: the caller's role does not allow this").build()),
        ("InvalidApiKey", error("`invalid_api_key`: missing, unknown or revoked").build()),
        ("InsufficientScope", error("`insufficient_scope` (`details.required`)").build()),
        ("IdentityVerificationFailed", error("`identity_verification_failed`: `user_hash` missing or wrong").build()),
        ("OriginNotAllowed", error("`origin_not_allowed`: the browser's `Origin` is not in the project's allowed origins").build()),
    ]
}

/// A widget body: its own fields and the caller's, in one object (the
/// route's own schema lists its fields and allows no others).
fn widen_widget_body(operation: &mut Operation, caller: &[(&str, &str, bool)], schemas: &Schemas) {
    let operation_id = operation.operation_id.clone();
    let Some(RefOr::T(body)) = operation.request_body.as_mut() else {
        return;
    };
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else { continue };
        let Some(RefOr::Ref(own)) = &content.schema else {
            continue;
        };
        let name = own.ref_location.rsplit('/').next().unwrap_or_default();
        let Some(RefOr::T(Schema::Object(own))) = schemas.get(name) else {
            continue;
        };
        let mut merged = own.clone();
        // set-stage and set-deal share a body type; each handler checks the
        // deal value its own way.
        match operation_id.as_deref() {
            Some("widget-set-stage") => {
                merged.properties.remove("deal_value");
            }
            Some("widget-set-deal") => merged.required.push("deal_value".to_owned()),
            _ => {}
        }
        for (name, description, required) in caller.iter().rev() {
            // In a body, an optional caller field may be `null` (as absent).
            let mut field = caller_field(name).description(Some(*description));
            if !required {
                field = field.schema_type(SchemaType::Array(vec![Type::String, Type::Null]));
            }
            let field = field.build();
            merged
                .properties
                .insert((*name).to_owned(), RefOr::T(Schema::Object(field)));
            if *required {
                merged.required.insert(0, (*name).to_owned());
            }
        }
        content.schema = Some(RefOr::T(Schema::Object(merged)));
    }
}

type Schemas = std::collections::BTreeMap<String, RefOr<Schema>>;

/// A widget caller field's schema; `visitor_id` as `validate::external_id`
/// checks it (1–128 characters, none of them a control character).
fn caller_field(name: &str) -> ObjectBuilder {
    let field = ObjectBuilder::new().schema_type(Type::String);
    if name == "visitor_id" {
        field
            .min_length(Some(1))
            .max_length(Some(crate::validate::MAX_EXTERNAL_ID_CHARS))
            .pattern(Some(NO_CONTROL_CHARACTERS))
    } else {
        field
    }
}

/// No character of Unicode's category Cc (Rust's `char::is_control`).
const NO_CONTROL_CHARACTERS: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

fn string() -> Object {
    ObjectBuilder::new().schema_type(Type::String).build()
}

fn query(name: &str, description: &str, required: bool) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(caller_field(name).build()))
        .build()
}

fn reference(name: &str) -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(name))
}

fn one_of(names: &[&str]) -> RefOr<Schema> {
    let mut one_of = utoipa::openapi::OneOfBuilder::new();
    for name in names {
        one_of = one_of.item(reference(name));
    }
    RefOr::T(Schema::OneOf(one_of.build()))
}
