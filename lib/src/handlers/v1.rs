//! The public v1 API (SPEC §6), authenticated by `X-API-Key`: contacts (their
//! own fields and tags only) and conversations. The key's project is the only
//! one a request reaches.

use super::fields::ContactBody;
use crate::app::App;
use crate::auth;
use crate::domain::lists::{self, ContactFilters};
use crate::domain::{contacts, conversations};
use crate::error::ApiError;
use crate::http::{self, PageRequest, Response};
use crate::model::{ApiKey, Author, Contact, Conversation, ConversationStatus, Message, Scope};
use crate::store::keys;
use crate::store::lists::Source;
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;

/// Fields that belong to the widget's identify, not to this surface.
const ENRICHMENT_FIELDS: &[&str] = &[
    "company",
    "companies",
    "company_ids",
    "visitor_id",
    "properties",
    "enrichment",
];

/// Parses a contact body, explaining why enrichment fields are refused.
fn contact_fields(req: &Request) -> Result<contacts::Fields, ApiError> {
    let body: Value = http::parse_body(req)?;
    if let Some(field) = body
        .as_object()
        .and_then(|o| ENRICHMENT_FIELDS.iter().find(|f| o.contains_key(**f)))
    {
        return Err(ApiError::validation(
            field,
            "visitor and company enrichment is not part of the v1 API; send it with POST /api/widget/identify",
        )
        .with_code("unsupported_field"));
    }
    http::from_json::<ContactBody>(body)?.validate()
}

async fn contact_of(app: &App, key: &ApiKey, req: &Request) -> Result<Contact, ApiError> {
    let id = super::contact_id(req, "id")?;
    app.store
        .get_contact(&key.project_id, &id)
        .await?
        .ok_or_else(contacts::not_found)
}

pub async fn list_contacts(app: &App, req: Request) -> Result<Response, ApiError> {
    let key = auth::api_key(app, &req, Scope::ContactsRead).await?;
    let email = http::query_param(&req, "email");
    let filters = ContactFilters::parse(email.as_deref(), None, None, None)?;
    let page = PageRequest::parse(
        app,
        &req,
        format!(
            "GET /api/v1/contacts|{}|{:?}",
            key.project_id, filters.email
        ),
    )?;
    let found = lists::contacts(
        &app.store,
        &key.project_id,
        &filters,
        page.limit,
        page.start.clone(),
    )
    .await?;
    Ok(page.respond(app, found, |c| c))
}

pub async fn get_contact(app: &App, req: Request) -> Result<Response, ApiError> {
    let key = auth::api_key(app, &req, Scope::ContactsRead).await?;
    Ok(http::ok(&contact_of(app, &key, &req).await?))
}

pub async fn create_contact(app: &App, req: Request) -> Result<Response, ApiError> {
    let key = auth::api_key(app, &req, Scope::ContactsWrite).await?;
    let fields = contact_fields(&req)?;
    Ok(http::created(
        &contacts::create(&app.store, &key.project_id, &fields).await?,
    ))
}

pub async fn update_contact(app: &App, req: Request) -> Result<Response, ApiError> {
    let key = auth::api_key(app, &req, Scope::ContactsWrite).await?;
    let id = super::contact_id(&req, "id")?;
    let fields = contact_fields(&req)?;
    Ok(http::ok(
        &contacts::update(&app.store, &key.project_id, &id, &fields).await?,
    ))
}

fn status_param(req: &Request) -> Result<Option<ConversationStatus>, ApiError> {
    match http::query_param(req, "status").as_deref() {
        None => Ok(None),
        Some("open") => Ok(Some(ConversationStatus::Open)),
        Some("closed") => Ok(Some(ConversationStatus::Closed)),
        Some(_) => Err(ApiError::validation("status", "must be open or closed")),
    }
}

/// Conversations by last activity, newest first.
pub async fn list_conversations(app: &App, req: Request) -> Result<Response, ApiError> {
    let key = auth::api_key(app, &req, Scope::ConversationsRead).await?;
    let status = status_param(&req)?;
    let contact_id = http::query_param(&req, "contact_id");
    let scope = format!(
        "GET /api/v1/conversations|{}|{status:?}|{contact_id:?}",
        key.project_id
    );
    let page = PageRequest::parse(app, &req, scope)?;
    let found = lists::conversations(
        &app.store,
        &key.project_id,
        status,
        contact_id.as_deref(),
        page.limit,
        page.start.clone(),
    )
    .await?;
    Ok(page.respond(app, found, |c| c))
}

async fn conversation_of(app: &App, key: &ApiKey, req: &Request) -> Result<Conversation, ApiError> {
    let id = super::possible_conversation_id(http::path_param(req, "id")?, "id")?;
    app.store
        .get_conversation(&key.project_id, &id)
        .await?
        .ok_or_else(conversations::not_found)
}

/// A conversation with a page of its messages, oldest first (`limit`, `cursor`).
pub async fn get_conversation(app: &App, req: Request) -> Result<Response, ApiError> {
    let key = auth::api_key(app, &req, Scope::ConversationsRead).await?;
    let conversation = conversation_of(app, &key, &req).await?;
    let scope = format!(
        "GET /api/v1/conversations/{{id}}|{}|{}",
        key.project_id, conversation.id
    );
    let page = PageRequest::parse(app, &req, scope)?;
    let source = Source::Collection {
        partition: keys::conversation_collection(&key.project_id, &conversation.id),
        prefix: keys::MESSAGE_PREFIX,
    };
    let messages = app
        .store
        .page::<Message>(&source, page.limit, page.start.clone(), false)
        .await?;
    let next_cursor = page.next_cursor(app, messages.last_key.as_ref());
    Ok(http::ok(&ConversationDetail {
        conversation: &conversation,
        messages: http::List {
            data: messages.items,
            next_cursor,
        },
    }))
}

/// A conversation with a page of its messages, oldest first.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationDetail<'a> {
    #[serde(flatten)]
    pub conversation: &'a Conversation,
    pub messages: http::List<Message>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ReplyBody))]
pub(crate) struct Reply {
    body: String,
    /// `agent` (default) or `bot`.
    author: Option<Author>,
}

pub async fn reply(app: &App, req: Request) -> Result<Response, ApiError> {
    let key = auth::api_key(app, &req, Scope::ConversationsWrite).await?;
    let reply: Reply = http::parse_body(&req)?;
    let (author, text) = conversations::reply_input(reply.author, &reply.body)?;
    let conversation = conversation_of(app, &key, &req).await?;
    let (_, message) = conversations::reply(&app.store, &conversation, author, &text).await?;
    Ok(http::json(StatusCode::CREATED, &message))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ConversationStatusChange))]
pub(crate) struct StatusChange {
    status: ConversationStatus,
}

pub async fn update_conversation(app: &App, req: Request) -> Result<Response, ApiError> {
    let key = auth::api_key(app, &req, Scope::ConversationsWrite).await?;
    let change: StatusChange = http::parse_body(&req)?;
    let conversation = conversation_of(app, &key, &req).await?;
    Ok(http::ok(
        &conversations::set_status(&app.store, &conversation, change.status).await?,
    ))
}
