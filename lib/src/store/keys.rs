//! The table's key layout. Every key and index attribute is built in this module
//! and nowhere else; `schema` declares the same attributes to DynamoDB.
//!
//! One table with `pk`/`sk`, and one sparse, `KEYS_ONLY` global secondary index
//! `gsi1` (`gsi1pk`/`gsi1sk`): only items that need a second access path carry
//! its attributes, and because it projects keys only, updating a record's other
//! fields never writes the index. Every item names its entity in `type`.
//!
//! | entity (`type`) | `pk` | `sk` | `gsi1pk` | `gsi1sk` | access pattern it serves |
//! |---|---|---|---|---|---|
//! | `Project` | `P#{project}` | `PROJECT` | – | – | get a project (settings, identity secret, stage order) |
//! | `Member` | `P#{project}` | `MEMBER#{user}` | `U#{user}` | `P#{project}` | is the caller a member (GetItem); my projects (Query gsi1) |
//! | `Contact` | `P#{project}#CT#{contact}` | `CONTACT` | `P#{project}#CONTACTS` | `{contact}` | a contact and its links in one Query; list contacts (gsi1) |
//! | `Link` | `P#{project}#CT#{contact}` | `LINK#{company}` | `P#{project}#CO#{company}` | `CT#{contact}` | contact → companies (same Query); company → contacts (gsi1, the inverted side) |
//! | `Company` | `P#{project}#CO#{company}` | `COMPANY` | `P#{project}#COMPANIES` | `{company}` | get a company; list companies (gsi1) |
//! | `Visitor` | `P#{project}#V#{visitor}` | `VISITOR` | `P#{project}#CT#{contact}` when linked | `V#{visitor}` | get a visitor; contact → visitors (gsi1) |
//! | `Claim` (email) | `P#{project}#EMAIL#{email}` | `CLAIM` | – | – | email uniqueness; find a contact by email |
//! | `Claim` (user id) | `P#{project}#UID#{user_id}` | `CLAIM` | – | – | user_id uniqueness; find a contact by user_id |
//! | `Event` | `P#{project}#EV#CT#{contact}` (or `#EV#V#{visitor}` before identify) | `{occurred_at}#{event}` | `P#{project}#EV#CO#{company}` when known | `{occurred_at}#{event}` | a contact's events newest first; a company's events newest first (gsi1) |
//! | `ApiKey` | `APIKEY#{sha256 of the secret}` | `APIKEY` | – | – | authenticate a v1 call (GetItem on the hash) |
//! | `ApiKeyRef` | `P#{project}#APIKEYS` | `{key id}` | – | – | list a project's keys, revoke one by id (its hash is here), read consistently |
//! | `Conversation` | `P#{project}#CV#{conversation}` | `CONVERSATION` | `P#{project}#CONVS` | `{last_message_at}#{conversation}` | a conversation and its messages in one Query; a project's conversations by last activity, newest first (gsi1) |
//! | `Message` | `P#{project}#CV#{conversation}` | `MSG#{created_at}#{message}` | – | – | a conversation's messages in order |
//! | `VisitorConversation` | `P#{project}#V#{visitor}` | `CV#{conversation}` | – | – | a visitor's own conversations (beside the visitor item) |
//! | `EventKey` | `P#{project}#EVKEY#{event_key}` | `CLAIM` | – | – | `track` idempotency: written with the event, only if absent |
//!
//! Keys are injective: project and contact ids are validated prefixed ULIDs
//! (`ids::is_valid`), and every free-form part (company id, visitor id, email,
//! user id) is the last segment after a fixed prefix, so no two records share a
//! key whatever characters a client puts in an id. The project id leads every
//! key, so no key of one project can address another's data.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// A whole item or key, as the SDK takes it.
pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const TYPE: &str = "type";

/// Sort-key prefix of link items in a contact's collection.
pub const LINK_PREFIX: &str = "LINK#";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Project,
    Member,
    Contact,
    Link,
    Company,
    Visitor,
    Claim,
    Event,
    EventKey,
    ApiKey,
    ApiKeyRef,
    Conversation,
    Message,
    VisitorConversation,
}

impl Entity {
    pub const fn name(self) -> &'static str {
        match self {
            Entity::Project => "Project",
            Entity::Member => "Member",
            Entity::Contact => "Contact",
            Entity::Link => "Link",
            Entity::Company => "Company",
            Entity::Visitor => "Visitor",
            Entity::Claim => "Claim",
            Entity::Event => "Event",
            Entity::EventKey => "EventKey",
            Entity::ApiKey => "ApiKey",
            Entity::ApiKeyRef => "ApiKeyRef",
            Entity::Conversation => "Conversation",
            Entity::Message => "Message",
            Entity::VisitorConversation => "VisitorConversation",
        }
    }
}

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: impl Into<String>) -> Self {
        Key { pk, sk: sk.into() }
    }

    /// The key as the SDK's `key` parameter.
    pub fn item(&self) -> Item {
        HashMap::from([
            (PK.to_owned(), AttributeValue::S(self.pk.clone())),
            (SK.to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }
}

/// Everything key-like an item carries: primary key, entity type and, for
/// items with a second access path, their `gsi1` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemKeys {
    pub entity: Entity,
    pub key: Key,
    pub gsi1: Option<Key>,
}

impl ItemKeys {
    /// Writes the key attributes into a serialised record.
    pub fn write_into(&self, item: &mut Item) {
        item.extend(self.key.item());
        item.insert(
            TYPE.to_owned(),
            AttributeValue::S(self.entity.name().to_owned()),
        );
        if let Some(index) = &self.gsi1 {
            item.insert(GSI1_PK.to_owned(), AttributeValue::S(index.pk.clone()));
            item.insert(GSI1_SK.to_owned(), AttributeValue::S(index.sk.clone()));
        }
    }
}

fn project_pk(project: &str) -> String {
    format!("P#{project}")
}

pub fn project(project: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::Project,
        key: Key::new(project_pk(project), "PROJECT"),
        gsi1: None,
    }
}

/// Sort-key prefix of a project's members (in the project's partition).
pub const MEMBER_PREFIX: &str = "MEMBER#";

pub fn member(project: &str, user: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::Member,
        key: Key::new(project_pk(project), format!("{MEMBER_PREFIX}{user}")),
        gsi1: Some(Key::new(user_projects(user), project_pk(project))),
    }
}

/// `gsi1pk` of a user's memberships.
pub fn user_projects(user: &str) -> String {
    format!("U#{user}")
}

/// `pk` of a contact's item collection: the contact and its links.
pub fn contact_collection(project: &str, contact: &str) -> String {
    format!("P#{project}#CT#{contact}")
}

pub fn contact(project: &str, contact: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::Contact,
        key: Key::new(contact_collection(project, contact), "CONTACT"),
        gsi1: Some(Key::new(project_contacts(project), contact)),
    }
}

/// `gsi1pk` of all contacts of a project.
pub fn project_contacts(project: &str) -> String {
    format!("P#{project}#CONTACTS")
}

pub fn link(project: &str, contact: &str, company: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::Link,
        key: Key::new(
            contact_collection(project, contact),
            format!("{LINK_PREFIX}{company}"),
        ),
        gsi1: Some(Key::new(
            company_contacts(project, company),
            format!("CT#{contact}"),
        )),
    }
}

/// `gsi1pk` of a company's links (the inverted side of the junction).
pub fn company_contacts(project: &str, company: &str) -> String {
    format!("P#{project}#CO#{company}")
}

pub fn company(project: &str, company: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::Company,
        key: Key::new(format!("P#{project}#CO#{company}"), "COMPANY"),
        gsi1: Some(Key::new(project_companies(project), company)),
    }
}

/// `gsi1pk` of all companies of a project.
pub fn project_companies(project: &str) -> String {
    format!("P#{project}#COMPANIES")
}

/// A visitor's keys; `gsi1` only while it is linked to a contact.
pub fn visitor(project: &str, visitor: &str, contact: Option<&str>) -> ItemKeys {
    ItemKeys {
        entity: Entity::Visitor,
        key: Key::new(visitor_partition(project, visitor), "VISITOR"),
        gsi1: contact.map(|c| Key::new(contact_visitors(project, c), format!("V#{visitor}"))),
    }
}

/// `gsi1pk` of the visitors linked to a contact.
pub fn contact_visitors(project: &str, contact: &str) -> String {
    // Same text as the contact collection's pk, but in gsi1: only visitor
    // items carry it there, so the index partition holds visitors only.
    contact_collection(project, contact)
}

pub fn email_claim(project: &str, email: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::Claim,
        key: Key::new(format!("P#{project}#EMAIL#{email}"), "CLAIM"),
        gsi1: None,
    }
}

pub fn user_id_claim(project: &str, user_id: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::Claim,
        key: Key::new(format!("P#{project}#UID#{user_id}"), "CLAIM"),
        gsi1: None,
    }
}

/// `pk` of a contact's events, or of a visitor's before it is identified.
pub fn events_of(project: &str, owner: EventOwner<'_>) -> String {
    match owner {
        EventOwner::Contact(contact) => format!("P#{project}#EV#CT#{contact}"),
        EventOwner::Visitor(visitor) => format!("P#{project}#EV#V#{visitor}"),
    }
}

/// `gsi1pk` of a company's events.
pub fn company_events(project: &str, company: &str) -> String {
    format!("P#{project}#EV#CO#{company}")
}

/// Whose event partition an event lives in.
#[derive(Debug, Clone, Copy)]
pub enum EventOwner<'a> {
    Contact(&'a str),
    Visitor(&'a str),
}

/// An event's keys: sorted by time within its contact (or visitor), and
/// within its company in gsi1.
pub fn event(
    project: &str,
    owner: EventOwner<'_>,
    company: Option<&str>,
    occurred_at: &str,
    event_id: &str,
) -> ItemKeys {
    let sort = format!("{occurred_at}#{event_id}");
    ItemKeys {
        entity: Entity::Event,
        key: Key::new(events_of(project, owner), sort.clone()),
        gsi1: company.map(|c| Key::new(company_events(project, c), sort)),
    }
}

pub fn event_key(project: &str, event_key: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::EventKey,
        key: Key::new(format!("P#{project}#EVKEY#{event_key}"), "CLAIM"),
        gsi1: None,
    }
}

/// An API key, keyed by its secret's hash: only the hash reaches the table.
pub fn api_key(hash: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::ApiKey,
        key: api_key_by_hash(hash),
        gsi1: None,
    }
}

pub fn api_key_by_hash(hash: &str) -> Key {
    Key::new(format!("APIKEY#{hash}"), "APIKEY")
}

/// `pk` of a project's API key references.
pub fn project_api_keys(project: &str) -> String {
    format!("P#{project}#APIKEYS")
}

/// A project's reference to one of its keys, by id.
pub fn api_key_ref(project: &str, key_id: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::ApiKeyRef,
        key: Key::new(project_api_keys(project), key_id),
        gsi1: None,
    }
}

/// Sort-key prefix of messages in a conversation's collection.
pub const MESSAGE_PREFIX: &str = "MSG#";
/// Sort-key prefix of a visitor's conversation links in its partition.
pub const VISITOR_CONVERSATION_PREFIX: &str = "CV#";

/// `pk` of a conversation's item collection: the conversation and its messages.
pub fn conversation_collection(project: &str, conversation: &str) -> String {
    format!("P#{project}#CV#{conversation}")
}

pub fn conversation(project: &str, conversation: &str, last_message_at: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::Conversation,
        key: conversation_key(project, conversation),
        gsi1: Some(Key::new(
            project_conversations(project),
            format!("{last_message_at}#{conversation}"),
        )),
    }
}

/// A conversation's primary key (its index keys depend on its activity).
pub fn conversation_key(project: &str, conversation: &str) -> Key {
    Key::new(
        conversation_collection(project, conversation),
        "CONVERSATION",
    )
}

/// `gsi1pk` of a project's conversations.
pub fn project_conversations(project: &str) -> String {
    format!("P#{project}#CONVS")
}

pub fn message(project: &str, conversation: &str, created_at: &str, message: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::Message,
        key: Key::new(
            conversation_collection(project, conversation),
            format!("{MESSAGE_PREFIX}{created_at}#{message}"),
        ),
        gsi1: None,
    }
}

/// `pk` of a visitor's partition (the visitor item and its conversation links).
pub fn visitor_partition(project: &str, visitor: &str) -> String {
    format!("P#{project}#V#{visitor}")
}

pub fn visitor_conversation(project: &str, visitor: &str, conversation: &str) -> ItemKeys {
    ItemKeys {
        entity: Entity::VisitorConversation,
        key: Key::new(
            visitor_partition(project, visitor),
            format!("{VISITOR_CONVERSATION_PREFIX}{conversation}"),
        ),
        gsi1: None,
    }
}

/// The company id of a link item, from its sort key.
pub fn company_of_link(sk: &str) -> Option<&str> {
    sk.strip_prefix(LINK_PREFIX)
}

/// The contact id of a link item, from its `gsi1sk`.
pub fn contact_of_link(gsi1_sk: &str) -> Option<&str> {
    gsi1_sk.strip_prefix("CT#")
}

/// The visitor id of a contact's visitor entry in gsi1, from its `gsi1sk`.
pub fn visitor_of_contact_entry(gsi1_sk: &str) -> Option<&str> {
    gsi1_sk.strip_prefix("V#")
}

/// The project id of a member item, from its `gsi1sk` (or a project pk).
pub fn project_of(pk: &str) -> Option<&str> {
    pk.strip_prefix("P#")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_form_ids_cannot_forge_another_entitys_key() {
        let p = "pr_01JD3V0000000000000000000A";
        // A company id that looks like a contact key stays inside the company prefix.
        let company = company(p, "x#CT#ct_1").key;
        assert!(company.pk.starts_with(&format!("P#{p}#CO#")));
        assert_ne!(company.pk, contact_collection(p, "ct_1"));
        assert_eq!(company_of_link(&link(p, "ct_1", "a#b").key.sk), Some("a#b"));
    }

    #[test]
    fn link_sits_in_the_contact_collection_and_inverts_in_gsi1() {
        let keys = link("pr_1", "ct_1", "acme");
        assert_eq!(keys.key.pk, contact("pr_1", "ct_1").key.pk);
        let inverted = keys.gsi1.unwrap();
        assert_eq!(inverted.pk, company_contacts("pr_1", "acme"));
        assert_eq!(contact_of_link(&inverted.sk), Some("ct_1"));
    }

    #[test]
    fn unlinked_visitor_has_no_index_entry() {
        assert!(visitor("pr_1", "v1", None).gsi1.is_none());
        assert!(visitor("pr_1", "v1", Some("ct_1")).gsi1.is_some());
    }
}
