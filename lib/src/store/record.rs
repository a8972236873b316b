//! Records ↔ items. A record serialises with `serde_dynamo`, loses any NULL
//! attribute (absent means unset, so `attribute_not_exists` conditions hold),
//! and gains the keys `keys` derives for it.

use super::StoreError;
use super::changes;
use super::keys::{self, Item, ItemKeys};
use super::pipeline::TotalsChange;
use super::write::ItemWrite;
use crate::model::{
    ApiKey, ApiKeyRef, Claim, ClaimKind, Company, Contact, Conversation, Event, EventKeyClaim,
    Link, Member, Message, Project, SearchEntry, TagEntry, Visitor, VisitorConversation,
};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A record stored as one item of the table.
pub trait Record: Serialize + DeserializeOwned {
    fn keys(&self) -> ItemKeys;

    /// What creating this record adds to the pipeline totals.
    fn totals_when_created(&self) -> Option<TotalsChange> {
        None
    }

    /// Items written with this record when it is created (its entries in
    /// other access paths).
    fn entries_when_created(&self) -> Result<Vec<ItemWrite>, StoreError> {
        Ok(Vec::new())
    }
}

pub fn to_item<R: Record>(record: &R) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(record).map_err(|_| corrupt::<R>())?;
    item.retain(|_, value| !matches!(value, AttributeValue::Null(_)));
    record.keys().write_into(&mut item);
    Ok(item)
}

pub fn from_item<R: Record>(item: Item) -> Result<R, StoreError> {
    serde_dynamo::from_item(item).map_err(|_| corrupt::<R>())
}

/// One field as stored: `None` for an absent (unset) field.
pub fn attribute<T: Serialize>(value: &T) -> Result<Option<AttributeValue>, StoreError> {
    let value = serde_dynamo::to_attribute_value(value)
        .map_err(|_| StoreError::Corrupt { entity: "field" })?;
    Ok((!matches!(value, AttributeValue::Null(_))).then_some(value))
}

/// The serde error is dropped on purpose: its text can quote attribute values.
fn corrupt<R>() -> StoreError {
    let path = std::any::type_name::<R>();
    StoreError::Corrupt {
        entity: path.rsplit("::").next().unwrap_or(path),
    }
}

impl Record for Project {
    fn keys(&self) -> ItemKeys {
        keys::project(&self.id)
    }
}

impl Record for Member {
    fn keys(&self) -> ItemKeys {
        keys::member(&self.project_id, &self.user_id)
    }
}

impl Record for Contact {
    fn keys(&self) -> ItemKeys {
        keys::contact(&self.project_id, &self.id)
    }

    fn entries_when_created(&self) -> Result<Vec<ItemWrite>, StoreError> {
        changes::search_entries(self, &[], &self.search_terms())
    }
}

impl Record for SearchEntry {
    fn keys(&self) -> ItemKeys {
        keys::search_entry(&self.project_id, &self.term, self.depth, &self.contact_id)
    }
}

impl Record for Company {
    fn keys(&self) -> ItemKeys {
        let activity = self.updated_at.to_string();
        let stage_changed_at = self.stage_changed_at.map(|at| at.to_string());
        keys::company_indexed(
            &self.project_id,
            &self.id,
            keys::CompanyIndexing {
                stage: self.stage_id.as_deref(),
                activity: &activity,
                deal_value: self.deal_value,
                domain: self.domain.as_deref(),
                stage_changed_at: stage_changed_at.as_deref(),
            },
        )
    }

    fn totals_when_created(&self) -> Option<TotalsChange> {
        TotalsChange::of(None, Some(self))
    }
}

impl Record for TagEntry {
    fn keys(&self) -> ItemKeys {
        keys::tag_entry(&self.project_id, &self.tag, &self.contact_id)
    }
}

impl Record for Link {
    fn keys(&self) -> ItemKeys {
        keys::link(&self.project_id, &self.contact_id, &self.company_id)
    }
}

impl Record for Visitor {
    fn keys(&self) -> ItemKeys {
        keys::visitor(
            &self.project_id,
            &self.visitor_id,
            self.contact_id.as_deref(),
        )
    }
}

impl Record for Claim {
    fn keys(&self) -> ItemKeys {
        match self.kind {
            ClaimKind::Email => keys::email_claim(&self.project_id, &self.value),
            ClaimKind::UserId => keys::user_id_claim(&self.project_id, &self.value),
        }
    }
}

impl Record for Event {
    fn keys(&self) -> ItemKeys {
        let owner = match &self.contact_id {
            Some(contact) => keys::EventOwner::Contact(contact),
            None => keys::EventOwner::Visitor(&self.visitor_id),
        };
        let occurred_at = self.occurred_at.to_string();
        keys::event(
            &self.project_id,
            owner,
            self.company_id.as_deref(),
            &occurred_at,
            &self.id,
        )
    }
}

impl Record for EventKeyClaim {
    fn keys(&self) -> ItemKeys {
        keys::event_key(&self.project_id, &self.event_key)
    }
}

impl Record for ApiKey {
    fn keys(&self) -> ItemKeys {
        keys::api_key(&self.hash)
    }
}

impl Record for ApiKeyRef {
    fn keys(&self) -> ItemKeys {
        keys::api_key_ref(&self.project_id, &self.key_id)
    }
}

impl Record for Conversation {
    fn keys(&self) -> ItemKeys {
        keys::conversation(
            &self.project_id,
            &self.id,
            &self.last_message_at.to_string(),
        )
    }
}

impl Record for Message {
    fn keys(&self) -> ItemKeys {
        keys::message(
            &self.project_id,
            &self.conversation_id,
            &self.created_at.to_string(),
            &self.id,
        )
    }
}

impl Record for VisitorConversation {
    fn keys(&self) -> ItemKeys {
        keys::visitor_conversation(&self.project_id, &self.visitor_id, &self.conversation_id)
    }
}
