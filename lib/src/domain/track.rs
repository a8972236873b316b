//! `track` (SPEC §4): store a milestone event with the visitor's contact and
//! company context. With `event_key`, the event and a key claim are written
//! together, the claim only if absent: a repeat is accepted, not stored twice.

use crate::app::App;
use crate::domain::{
    self,
    widget::{self, Caller},
};
use crate::error::ApiError;
use crate::ids::{IdKind, new_id};
use crate::model::{Event, EventKeyClaim, Scalar};
use crate::store::changes;
use crate::store::keys;
use crate::store::record::from_item;
use crate::store::write::{ItemWrite, WriteSet};
use crate::validate;
use lambda_http::Request;

#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub value: Option<Scalar>,
    pub occurred_at: Option<String>,
    pub event_key: Option<String>,
    pub company_id: Option<String>,
}

#[derive(Debug)]
pub struct Tracked {
    pub event: Event,
    /// The `event_key` was seen before; `event` is the stored one's id only.
    pub duplicate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Event,
    EventKey,
    Link,
    Visitor,
}

pub async fn track(
    app: &App,
    req: &Request,
    caller: &Caller,
    input: &Input,
) -> Result<Tracked, ApiError> {
    domain::until_committed(|| attempt_once(app, req, caller, input)).await
}

async fn attempt_once(
    app: &App,
    req: &Request,
    caller: &Caller,
    input: &Input,
) -> Result<Option<Tracked>, ApiError> {
    let key_of_event = input
        .event_key
        .as_deref()
        .map(|k| keys::event_key(&caller.project_id, k).key);
    let (session, mut found) =
        widget::open(app, req, caller, key_of_event.iter().cloned().collect()).await?;
    let occurred_at = match &input.occurred_at {
        Some(text) => validate::occurred_at("occurred_at", text, session.now)?,
        None => session.now,
    };
    let visitor = session.touched_visitor();
    let contact_id = visitor.contact_id.clone();
    if input.company_id.is_some() && contact_id.is_none() {
        return Err(ApiError::conflict(
            "visitor_not_identified",
            "company_id needs an identified visitor",
        ));
    }
    let mut event = Event {
        id: new_id(IdKind::Event),
        project_id: caller.project_id.clone(),
        name: input.name.clone(),
        value: input.value.clone(),
        occurred_at,
        event_key: input.event_key.clone(),
        visitor_id: visitor.visitor_id.clone(),
        contact_id: contact_id.clone(),
        company_id: input
            .company_id
            .clone()
            .or_else(|| visitor.active_company_id.clone()),
        created_at: session.now,
    };
    let seen: Option<EventKeyClaim> = key_of_event
        .as_ref()
        .map(|k| found.take(k))
        .transpose()?
        .flatten();
    if let Some(seen) = seen {
        event.id = seen.event_id;
        return Ok(Some(Tracked {
            event,
            duplicate: true,
        }));
    }
    let mut writes = WriteSet::default();
    writes.push(Tag::Event, changes::create(&event)?);
    if let Some(event_key) = &input.event_key {
        let claim = EventKeyClaim {
            project_id: caller.project_id.clone(),
            event_key: event_key.clone(),
            event_id: event.id.clone(),
        };
        writes.push(Tag::EventKey, changes::create(&claim)?);
    }
    if let (Some(company), Some(contact)) = (&input.company_id, &contact_id) {
        let link = keys::link(&caller.project_id, contact, company).key;
        writes.push(Tag::Link, ItemWrite::check_exists(link));
    }
    writes.push(Tag::Visitor, session.visitor_write(&visitor)?);
    match app.store.commit(writes).await? {
        Ok(()) => Ok(Some(Tracked {
            event,
            duplicate: false,
        })),
        Err(refused) if refused.failed(Tag::Link) => Err(ApiError::not_found(
            "company_not_linked",
            "that company is not linked to this visitor's contact",
        )),
        Err(refused) if refused.failed(Tag::EventKey) => {
            if let Some(old) = refused.old(Tag::EventKey) {
                let seen: EventKeyClaim = from_item(old.clone())?;
                event.id = seen.event_id;
            }
            Ok(Some(Tracked {
                event,
                duplicate: true,
            }))
        }
        Err(_) => Ok(None),
    }
}
