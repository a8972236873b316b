//! Conversations: a visitor starts or continues one from the widget; an
//! integration lists them, reads their messages, replies and closes them (v1).
//!
//! A message and its conversation's `last_message_at` are written together,
//! the latter only forward (`last_message_at < :now`): when a later message got
//! there first, the message is stored alone and the conversation keeps its
//! later activity. Listing by last activity therefore never goes backwards.

use crate::app::App;
use crate::clock::Timestamp;
use crate::domain::{self, widget};
use crate::error::ApiError;
use crate::ids::{IdKind, new_id};
use crate::model::{Author, Conversation, ConversationStatus, Message, VisitorConversation};
use crate::store::keys::{self, GSI1_SK};
use crate::store::record::Record;
use crate::store::write::{ItemWrite, WriteSet};
use crate::store::{Store, changes};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::Request;

/// SPEC: message bodies are at most 10 000 characters.
pub const MAX_BODY_CHARS: usize = 10_000;

pub fn not_found() -> ApiError {
    ApiError::not_found("conversation_not_found", "no such conversation")
}

pub fn body(text: &str) -> Result<String, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::validation("body", "is required"));
    }
    crate::validate::long_text("body", text, MAX_BODY_CHARS)?;
    Ok(text.to_owned())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Message,
    Conversation,
    VisitorLink,
    Visitor,
}

fn new_message(conversation: &Conversation, author: Author, body: &str, now: Timestamp) -> Message {
    Message {
        id: new_id(IdKind::Message),
        project_id: conversation.project_id.clone(),
        conversation_id: conversation.id.clone(),
        author,
        body: body.to_owned(),
        created_at: now,
    }
}

/// Appends a message (with `extra`, e.g. the visitor's own write). `None`
/// when a concurrent change other than newer activity refused it.
async fn append(
    store: &Store,
    conversation: &Conversation,
    message: &Message,
    reopen: bool,
    extra: Option<ItemWrite>,
) -> Result<Option<Conversation>, ApiError> {
    let key = keys::conversation_key(&conversation.project_id, &conversation.id);
    let now = message.created_at;
    let advanced = Conversation {
        last_message_at: now,
        updated_at: now,
        status: if reopen {
            ConversationStatus::Open
        } else {
            conversation.status
        },
        ..conversation.clone()
    };
    let index_sort = advanced
        .keys()
        .gsi1()
        .map(|index| index.sk.clone())
        .unwrap_or_default();
    let mut forward = ItemWrite::update(key.clone());
    forward
        .set_text("last_message_at", now.to_string())
        .set_text(GSI1_SK, index_sort)
        .set_text("updated_at", now.to_string())
        .require_less_than("last_message_at", AttributeValue::S(now.to_string()));
    if reopen {
        forward.set_text("status", "open");
    }
    let mut writes = WriteSet::default();
    writes.push(Tag::Message, changes::create(message)?);
    writes.push(Tag::Conversation, forward);
    if let Some(extra) = &extra {
        writes.push(Tag::Visitor, extra.clone());
    }
    let refused = match store.commit(writes).await? {
        Ok(()) => return Ok(Some(advanced)),
        Err(refused) => refused,
    };
    if !refused.failed(Tag::Conversation) || refused.old(Tag::Conversation).is_none() {
        return Ok(None);
    }
    // Newer activity is already recorded: store the message alone.
    let mut keep = if reopen {
        ItemWrite::update(key.clone())
    } else {
        ItemWrite::check_exists(key)
    };
    if reopen {
        keep.set_text("status", "open");
    }
    let mut writes = WriteSet::default();
    writes.push(Tag::Message, changes::create(message)?);
    writes.push(Tag::Conversation, keep);
    if let Some(extra) = extra {
        writes.push(Tag::Visitor, extra);
    }
    let current: Conversation = crate::store::record::from_item(
        refused.old(Tag::Conversation).cloned().unwrap_or_default(),
    )?;
    let status = if reopen {
        ConversationStatus::Open
    } else {
        current.status
    };
    Ok(store
        .commit(writes)
        .await?
        .ok()
        .map(|()| Conversation { status, ..current }))
}

/// `POST /api/widget/messages`: a visitor's message, starting a conversation
/// or continuing one of its own (a closed one reopens).
pub async fn visitor_message(
    app: &App,
    req: &Request,
    caller: &widget::Caller,
    conversation_id: Option<&str>,
    text: &str,
) -> Result<(Conversation, Message), ApiError> {
    domain::until_committed(|| async {
        let project_id = caller.project_id.as_str();
        let conversation_key = conversation_id.map(|id| keys::conversation_key(project_id, id));
        let (session, mut found) =
            widget::open(app, req, caller, conversation_key.iter().cloned().collect()).await?;
        let visitor = session.touched_visitor();
        let visitor_write = session.visitor_write(&visitor)?;
        let now = session.now;
        if let Some(key) = &conversation_key {
            let conversation: Conversation = found.take(key)?.ok_or_else(not_found)?;
            if conversation.visitor_id != caller.visitor_id {
                return Err(not_found());
            }
            let message = new_message(&conversation, Author::Visitor, text, now);
            let extra = (!visitor_write.is_noop()).then_some(visitor_write);
            return Ok(append(&app.store, &conversation, &message, true, extra)
                .await?
                .map(|c| (c, message)));
        }
        let conversation = Conversation {
            id: new_id(IdKind::Conversation),
            project_id: project_id.to_owned(),
            visitor_id: caller.visitor_id.clone(),
            contact_id: visitor.contact_id.clone(),
            status: ConversationStatus::Open,
            last_message_at: now,
            created_at: now,
            updated_at: now,
        };
        let message = new_message(&conversation, Author::Visitor, text, now);
        let link = VisitorConversation {
            project_id: project_id.to_owned(),
            visitor_id: caller.visitor_id.clone(),
            conversation_id: conversation.id.clone(),
            created_at: now,
        };
        let mut writes = WriteSet::default();
        writes.push(Tag::Conversation, changes::create(&conversation)?);
        writes.push(Tag::VisitorLink, changes::create(&link)?);
        writes.push(Tag::Message, changes::create(&message)?);
        writes.push(Tag::Visitor, visitor_write);
        Ok(app
            .store
            .commit(writes)
            .await?
            .ok()
            .map(|()| (conversation, message)))
    })
    .await
}

/// A reply's author (`agent` when none is given; never `visitor`) and its
/// text, checked.
pub fn reply_input(author: Option<Author>, text: &str) -> Result<(Author, String), ApiError> {
    let author = author.unwrap_or(Author::Agent);
    if author == Author::Visitor {
        return Err(ApiError::validation("author", "must be agent or bot"));
    }
    Ok((author, body(text)?))
}

/// An agent's (or bot's) reply through v1.
pub async fn reply(
    store: &Store,
    conversation: &Conversation,
    author: Author,
    text: &str,
) -> Result<(Conversation, Message), ApiError> {
    domain::until_committed(|| async {
        let message = new_message(conversation, author, text, Timestamp::now());
        Ok(append(store, conversation, &message, false, None)
            .await?
            .map(|c| (c, message)))
    })
    .await
}

/// Opens or closes a conversation.
pub async fn set_status(
    store: &Store,
    conversation: &Conversation,
    status: ConversationStatus,
) -> Result<Conversation, ApiError> {
    let updated = Conversation {
        status,
        updated_at: Timestamp::now(),
        ..conversation.clone()
    };
    let mut write = ItemWrite::update(keys::conversation_key(
        &conversation.project_id,
        &conversation.id,
    ));
    let status_text = match status {
        ConversationStatus::Open => "open",
        ConversationStatus::Closed => "closed",
    };
    write
        .set_text("status", status_text)
        .set_text("updated_at", updated.updated_at.to_string());
    let mut writes = WriteSet::default();
    writes.push((), write);
    store.commit(writes).await?.map_err(|_| not_found())?;
    Ok(updated)
}
