//! The table's key layout. Every key and index attribute is built in this module
//! and nowhere else; `schema` declares the same attributes to DynamoDB.
//!
//! One table with `pk`/`sk`, and five sparse, `KEYS_ONLY` global secondary
//! indexes `gsi1`..`gsi5` (`gsiNpk`/`gsiNsk`), overloaded by entity: only
//! items that need a second access path carry an index's attributes, and
//! because they project keys only, an index is written only when its keys
//! change (a listing reads the records by key, consistently, and shows each
//! where its current keys put it). Every item names its entity in `type`.
//!
//! | entity (`type`) | `pk` | `sk` | index: `pk` / `sk` | access pattern it serves |
//! |---|---|---|---|---|
//! | `Project` | `P#{project}` | `PROJECT` | – | get a project (settings, identity secret, stage order) |
//! | `Member` | `P#{project}` | `MEMBER#{user}` | gsi1: `U#{user}` / `P#{project}` | is the caller a member (GetItem); the team (Query); my projects (gsi1) |
//! | `Contact` | `P#{project}#CT#{contact}` | `CONTACT` | gsi1: `P#{project}#CONTACTS` / `{contact}` | a contact and its links in one Query; list contacts (gsi1) |
//! | `SearchEntry` | `P#{project}#SEARCH#{the term's first `depth` chars}` | `{term}#{contact}` | – | contacts by prefix of their email or name (`search_term`; a name the email starts with has no entry of its own). A contact's lower term has depth 1; the other the depth where the two part (`Contact::search_terms`), so a query reads the partitions of its own first 1…n characters (at most `SEARCH_DEPTH`), consistently, merged by term, and meets a contact once |
//! | `Link` | `P#{project}#CT#{contact}` | `LINK#{company}` | gsi1: `P#{project}#CO#{company}` / `CT#{contact}` | contact → companies (same Query); company → contacts (gsi1, the inverted side) |
//! | `TagEntry` | `P#{project}#TAG#{tag}` | `{contact}` | – | contacts by tag (a consistent Query of the tag's partition) |
//! | `Company` | `P#{project}#CO#{company}` | `COMPANY` | gsi1: `P#{project}#COMPANIES` / `{company}`; when staged, gsi2: `P#{project}#BOARD#{stage}` / `{updated_at}#{company}`, gsi3: same pk / `{deal value order}#{company}`, gsi5: `P#{project}#STAGED#{0..3}` (by hash of the company) / `{stage_changed_at}#{company}`; with a domain, gsi4: `P#{project}#DOMAIN#{domain}` / `{company}` | get a company; list companies (gsi1); a board column newest activity first (gsi2) or by deal value (gsi3); companies by domain (gsi4); recent stage changes (gsi5) |
//! | `PipelineShard` | `P#{project}#PIPELINE#{00..15}` | `TOTALS` | – | per-stage company counts and deal value sums (`store::pipeline`), one shard per company by hash |
//! | `Visitor` | `P#{project}#V#{visitor}` | `VISITOR` | gsi1 when linked: `P#{project}#CT#{contact}` / `V#{visitor}` | get a visitor; contact → visitors (gsi1) |
//! | `Claim` (email) | `P#{project}#EMAIL#{email}` | `CLAIM` | – | email uniqueness; find a contact by email |
//! | `Claim` (user id) | `P#{project}#UID#{user_id}` | `CLAIM` | – | user_id uniqueness; find a contact by user_id |
//! | `Event` | `P#{project}#EV#CT#{contact}` (or `#EV#V#{visitor}` before identify) | `{occurred_at}#{event}` | gsi1 when the company is known: `P#{project}#EV#CO#{company}` / `{occurred_at}#{event}` | a contact's events newest first; a company's events newest first (gsi1) |
//! | `ApiKey` | `APIKEY#{sha256 of the secret}` | `APIKEY` | – | authenticate a v1 call (GetItem on the hash) |
//! | `ApiKeyRef` | `P#{project}#APIKEYS` | `{key id}` | – | list a project's keys, revoke one by id (its hash is here), read consistently |
//! | `Conversation` | `P#{project}#CV#{conversation}` | `CONVERSATION` | gsi1: `P#{project}#CONVS` / `{last_message_at}#{conversation}` | a conversation and its messages in one Query; a project's conversations by last activity, newest first (gsi1) |
//! | `Message` | `P#{project}#CV#{conversation}` | `MSG#{created_at}#{message}` | – | a conversation's messages in order |
//! | `VisitorConversation` | `P#{project}#V#{visitor}` | `CV#{conversation}` | – | a visitor's own conversations (beside the visitor item) |
//! | `EventKey` | `P#{project}#EVKEY#{event_key}` | `CLAIM` | – | `track` idempotency: written with the event, only if absent |
//!
//! What the access paths of issue 14 cost per write (index entries are under
//! 1 KB: 1 write unit to add or remove one, 2 to move one):
//!
//! | write | extra items in the transaction | index entries written |
//! |---|---|---|
//! | contact created | a `SearchEntry` per term (email, name), a `TagEntry` per tag | gsi1 |
//! | contact email or name changed | the old term's entry deleted, the new one put (both, when the other term's depth moves) | – |
//! | contact tags changed | one `TagEntry` put or delete per tag added or removed | – |
//! | company created on a stage | the shard (`ADD`) | + gsi2, gsi3, gsi5 (+ gsi4 with a domain) |
//! | company created on no stage (a placeholder) | – (still one `PutItem`) | gsi1 (+ gsi4 with a domain) |
//! | staged company, any field changed | – | 2 (gsi2: its activity moved) |
//! | stage changed | the shard | 2 each in gsi2, gsi3, gsi5 |
//! | deal value changed on a stage | the shard | 2 (gsi3) |
//! | company deleted | the shard, when it was staged | its entries removed |
//!
//! Partitions written by a whole project: gsi1's listings (as before); the
//! board column of a stage (gsi2/gsi3: every change to a company on it) and
//! the recent changes (gsi5: every stage change, over 4 partitions by
//! company). Search entries spread over one partition per first character
//! (and a few per shared start), tag entries over one per tag, the totals
//! over 16 shards. docs/scaling.md says what each takes before it
//! is hot.
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

/// The global secondary indexes: all `KEYS_ONLY` and sparse, overloaded by
/// entity (the layout table says which entity uses which for what).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Gsi1,
    Gsi2,
    Gsi3,
    Gsi4,
    Gsi5,
}

impl Index {
    pub const ALL: [Index; 5] = [
        Index::Gsi1,
        Index::Gsi2,
        Index::Gsi3,
        Index::Gsi4,
        Index::Gsi5,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Index::Gsi1 => GSI1,
            Index::Gsi2 => "gsi2",
            Index::Gsi3 => "gsi3",
            Index::Gsi4 => "gsi4",
            Index::Gsi5 => "gsi5",
        }
    }

    pub const fn partition_key(self) -> &'static str {
        match self {
            Index::Gsi1 => GSI1_PK,
            Index::Gsi2 => "gsi2pk",
            Index::Gsi3 => "gsi3pk",
            Index::Gsi4 => "gsi4pk",
            Index::Gsi5 => "gsi5pk",
        }
    }

    pub const fn sort_key(self) -> &'static str {
        match self {
            Index::Gsi1 => GSI1_SK,
            Index::Gsi2 => "gsi2sk",
            Index::Gsi3 => "gsi3sk",
            Index::Gsi4 => "gsi4sk",
            Index::Gsi5 => "gsi5sk",
        }
    }
}

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
    TagEntry,
    SearchEntry,
    PipelineShard,
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
            Entity::TagEntry => "TagEntry",
            Entity::SearchEntry => "SearchEntry",
            Entity::PipelineShard => "PipelineShard",
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
/// items with other access paths, their index keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemKeys {
    pub entity: Entity,
    pub key: Key,
    /// Keys in each index, by `Index as usize`.
    indexes: [Option<Key>; Index::ALL.len()],
}

impl ItemKeys {
    fn new(entity: Entity, key: Key) -> Self {
        ItemKeys {
            entity,
            key,
            indexes: Default::default(),
        }
    }

    /// The item's entry in `index`, when it has one.
    fn with(mut self, index: Index, key: Option<Key>) -> Self {
        self.indexes[index as usize] = key;
        self
    }

    /// The item's keys in `index`, if it appears there.
    pub fn index(&self, index: Index) -> Option<&Key> {
        self.indexes[index as usize].as_ref()
    }

    /// Its `gsi1` keys.
    pub fn gsi1(&self) -> Option<&Key> {
        self.index(Index::Gsi1)
    }

    /// Writes the key attributes into a serialised record.
    pub fn write_into(&self, item: &mut Item) {
        item.extend(self.key.item());
        item.insert(
            TYPE.to_owned(),
            AttributeValue::S(self.entity.name().to_owned()),
        );
        for index in Index::ALL {
            if let Some(key) = self.index(index) {
                item.insert(
                    index.partition_key().to_owned(),
                    AttributeValue::S(key.pk.clone()),
                );
                item.insert(
                    index.sort_key().to_owned(),
                    AttributeValue::S(key.sk.clone()),
                );
            }
        }
    }
}

fn project_pk(project: &str) -> String {
    format!("P#{project}")
}

pub fn project(project: &str) -> ItemKeys {
    ItemKeys::new(Entity::Project, Key::new(project_pk(project), "PROJECT"))
}

/// Sort-key prefix of a project's members (in the project's partition).
pub const MEMBER_PREFIX: &str = "MEMBER#";

pub fn member(project: &str, user: &str) -> ItemKeys {
    ItemKeys::new(
        Entity::Member,
        Key::new(project_pk(project), format!("{MEMBER_PREFIX}{user}")),
    )
    .with(
        Index::Gsi1,
        Some(Key::new(user_projects(user), project_pk(project))),
    )
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
    ItemKeys::new(
        Entity::Contact,
        Key::new(contact_collection(project, contact), "CONTACT"),
    )
    .with(
        Index::Gsi1,
        Some(Key::new(project_contacts(project), contact)),
    )
}

/// A name, email or query as the search compares it: lower-cased, with the
/// separators people write either way (`.`, `_`, `-`, `+`, whitespace) as
/// one space, trimmed. So `Mary-Jane` is found by `mary j`, and
/// `kim.lee@acme.com` by `kim lee` as by `kim.lee`.
pub fn search_term(text: &str) -> String {
    let spaced: String = text
        .to_lowercase()
        .chars()
        .map(|c| match c {
            '.' | '_' | '-' | '+' => ' ',
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How many of a search term's first characters name its partition, at
/// most. Queries longer than this read this many partitions; a contact
/// whose name and email agree on more (`alexandra s…`) is met twice by
/// queries between the two lengths, and the second meeting is skipped.
pub const SEARCH_DEPTH: usize = 8;

/// One of a contact's search terms (`Contact::search_terms`), in the
/// partition of its first `depth` characters: a project's contact writes
/// spread over many partitions, and a prefix query reads those of its own
/// first characters.
pub fn search_entry(project: &str, term: &str, depth: usize, contact: &str) -> ItemKeys {
    ItemKeys::new(
        Entity::SearchEntry,
        Key::new(
            search_partition(project, term, depth),
            format!("{term}#{contact}"),
        ),
    )
}

/// `pk` of the search terms whose first `depth` characters are `term`'s.
pub fn search_partition(project: &str, term: &str, depth: usize) -> String {
    let end = term
        .char_indices()
        .nth(depth.max(1))
        .map_or(term.len(), |(at, _)| at);
    format!("P#{project}#SEARCH#{}", &term[..end])
}

/// A contact's entry under one of its tags: the tag's partition lists its
/// contacts, read consistently (`P#{project}#TAG#{tag}`, sorted by contact).
pub fn tag_entry(project: &str, tag: &str, contact: &str) -> ItemKeys {
    ItemKeys::new(Entity::TagEntry, Key::new(tagged(project, tag), contact))
}

/// `pk` of the contacts with a tag.
pub fn tagged(project: &str, tag: &str) -> String {
    format!("P#{project}#TAG#{tag}")
}

/// Shards of a project's pipeline totals: a company always counts in the
/// same one, so a change touches one shard item and concurrent changes to
/// different companies rarely meet on one item.
pub const PIPELINE_SHARDS: u32 = 16;

/// The pipeline totals shard a company counts in.
pub fn pipeline_shard(project: &str, company: &str) -> Key {
    let shard = fnv1a(company.as_bytes()) % PIPELINE_SHARDS;
    pipeline_shard_key(project, shard)
}

/// The key of pipeline totals shard `shard`.
pub fn pipeline_shard_key(project: &str, shard: u32) -> Key {
    Key::new(format!("P#{project}#PIPELINE#{shard:02}"), "TOTALS")
}

/// 32-bit FNV-1a: a stable spread of ids over shards (not a secret).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

/// `gsi1pk` of all contacts of a project.
pub fn project_contacts(project: &str) -> String {
    format!("P#{project}#CONTACTS")
}

pub fn link(project: &str, contact: &str, company: &str) -> ItemKeys {
    ItemKeys::new(
        Entity::Link,
        Key::new(
            contact_collection(project, contact),
            format!("{LINK_PREFIX}{company}"),
        ),
    )
    .with(
        Index::Gsi1,
        Some(Key::new(
            company_contacts(project, company),
            format!("CT#{contact}"),
        )),
    )
}

/// `gsi1pk` of a company's links (the inverted side of the junction).
pub fn company_contacts(project: &str, company: &str) -> String {
    format!("P#{project}#CO#{company}")
}

/// A company's primary key and its place in the plain listing; its other
/// index entries depend on its fields ([`company_indexed`]).
pub fn company(project: &str, company: &str) -> ItemKeys {
    ItemKeys::new(
        Entity::Company,
        Key::new(format!("P#{project}#CO#{company}"), "COMPANY"),
    )
    .with(
        Index::Gsi1,
        Some(Key::new(project_companies(project), company)),
    )
}

/// The fields a company's index entries derive from.
#[derive(Debug, Clone, Copy)]
pub struct CompanyIndexing<'a> {
    pub stage: Option<&'a str>,
    /// `updated_at`, as text (fixed width, sorts in time order).
    pub activity: &'a str,
    pub deal_value: Option<f64>,
    pub domain: Option<&'a str>,
    pub stage_changed_at: Option<&'a str>,
}

/// Every key of a company: a staged company is on its stage's board by
/// activity (gsi2) and by deal value (gsi3) and among the project's recent
/// stage changes (gsi5); a company with a domain is found by it (gsi4).
pub fn company_indexed(project: &str, id: &str, on: CompanyIndexing<'_>) -> ItemKeys {
    let board = on.stage.map(|stage| board(project, stage));
    let changed = on.stage.and(on.stage_changed_at);
    company(project, id)
        .with(
            Index::Gsi2,
            board
                .clone()
                .map(|pk| Key::new(pk, format!("{}#{id}", on.activity))),
        )
        .with(
            Index::Gsi3,
            board.map(|pk| Key::new(pk, format!("{}#{id}", value_order(on.deal_value)))),
        )
        .with(
            Index::Gsi4,
            on.domain
                .map(|domain| Key::new(companies_with_domain(project, domain), id)),
        )
        .with(
            Index::Gsi5,
            changed.map(|at| {
                let shard = fnv1a(id.as_bytes()) % STAGE_CHANGE_SHARDS;
                Key::new(stage_changes(project, shard), format!("{at}#{id}"))
            }),
        )
}

/// `gsi2pk`/`gsi3pk` of the companies on a stage: the board column.
pub fn board(project: &str, stage: &str) -> String {
    format!("P#{project}#BOARD#{stage}")
}

/// `gsi4pk` of the companies with a domain.
pub fn companies_with_domain(project: &str, domain: &str) -> String {
    format!("P#{project}#DOMAIN#{domain}")
}

/// Partitions of a project's recent stage changes (gsi5): every stage
/// change of a project writes there, so they are spread by company over a
/// few partitions, which the summary reads side by side and merges.
pub const STAGE_CHANGE_SHARDS: u32 = 4;

/// `gsi5pk` of one shard of a project's staged companies by their last
/// stage change.
pub fn stage_changes(project: &str, shard: u32) -> String {
    format!("P#{project}#STAGED#{shard}")
}

/// A deal value as text that sorts in value order: the bits of a
/// non-negative double sort as integers, so 16 hex digits do; no value
/// (`-`) sorts below every value.
pub fn value_order(value: Option<f64>) -> String {
    match value {
        Some(value) => format!("{:016x}", value.max(0.0).to_bits()),
        None => "-".to_owned(),
    }
}

/// `gsi1pk` of all companies of a project.
pub fn project_companies(project: &str) -> String {
    format!("P#{project}#COMPANIES")
}

/// A visitor's keys; `gsi1` only while it is linked to a contact.
pub fn visitor(project: &str, visitor: &str, contact: Option<&str>) -> ItemKeys {
    ItemKeys::new(
        Entity::Visitor,
        Key::new(visitor_partition(project, visitor), "VISITOR"),
    )
    .with(
        Index::Gsi1,
        contact.map(|c| Key::new(contact_visitors(project, c), format!("V#{visitor}"))),
    )
}

/// `gsi1pk` of the visitors linked to a contact.
pub fn contact_visitors(project: &str, contact: &str) -> String {
    // Same text as the contact collection's pk, but in gsi1: only visitor
    // items carry it there, so the index partition holds visitors only.
    contact_collection(project, contact)
}

pub fn email_claim(project: &str, email: &str) -> ItemKeys {
    ItemKeys::new(
        Entity::Claim,
        Key::new(format!("P#{project}#EMAIL#{email}"), "CLAIM"),
    )
}

pub fn user_id_claim(project: &str, user_id: &str) -> ItemKeys {
    ItemKeys::new(
        Entity::Claim,
        Key::new(format!("P#{project}#UID#{user_id}"), "CLAIM"),
    )
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
    ItemKeys::new(
        Entity::Event,
        Key::new(events_of(project, owner), sort.clone()),
    )
    .with(
        Index::Gsi1,
        company.map(|c| Key::new(company_events(project, c), sort)),
    )
}

pub fn event_key(project: &str, event_key: &str) -> ItemKeys {
    ItemKeys::new(
        Entity::EventKey,
        Key::new(format!("P#{project}#EVKEY#{event_key}"), "CLAIM"),
    )
}

/// An API key, keyed by its secret's hash: only the hash reaches the table.
pub fn api_key(hash: &str) -> ItemKeys {
    ItemKeys::new(Entity::ApiKey, api_key_by_hash(hash))
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
    ItemKeys::new(
        Entity::ApiKeyRef,
        Key::new(project_api_keys(project), key_id),
    )
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
    ItemKeys::new(
        Entity::Conversation,
        conversation_key(project, conversation),
    )
    .with(
        Index::Gsi1,
        Some(Key::new(
            project_conversations(project),
            format!("{last_message_at}#{conversation}"),
        )),
    )
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
    ItemKeys::new(
        Entity::Message,
        Key::new(
            conversation_collection(project, conversation),
            format!("{MESSAGE_PREFIX}{created_at}#{message}"),
        ),
    )
}

/// `pk` of a visitor's partition (the visitor item and its conversation links).
pub fn visitor_partition(project: &str, visitor: &str) -> String {
    format!("P#{project}#V#{visitor}")
}

pub fn visitor_conversation(project: &str, visitor: &str, conversation: &str) -> ItemKeys {
    ItemKeys::new(
        Entity::VisitorConversation,
        Key::new(
            visitor_partition(project, visitor),
            format!("{VISITOR_CONVERSATION_PREFIX}{conversation}"),
        ),
    )
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
        let inverted = keys.gsi1().unwrap().clone();
        assert_eq!(inverted.pk, company_contacts("pr_1", "acme"));
        assert_eq!(contact_of_link(&inverted.sk), Some("ct_1"));
    }

    #[test]
    fn search_terms_ignore_case_and_separators() {
        assert_eq!(search_term("  Mary-Jane   O'Neil "), "mary jane o'neil");
        assert_eq!(search_term("Kim.Lee+crm@Acme.com"), "kim lee crm@acme com");
        assert_eq!(search_term(" ._ "), "");
        let contact = |email: &str, name: &str| crate::model::Contact {
            email: Some(email.into()),
            name: Some(name.into()),
            ..crate::model::Contact::new("pr_1", crate::clock::Timestamp::now())
        };
        let terms = |email, name| -> Vec<(String, usize)> {
            contact(email, name)
                .search_terms()
                .into_iter()
                .map(|t| (t.term, t.depth))
                .collect()
        };
        // The usual email spells the name: one term.
        assert_eq!(
            terms("kim.lee@acme.com", "Kim Lee"),
            [("kim lee@acme com".into(), 1)]
        );
        // Otherwise the lower term at depth 1, the other where they part.
        assert_eq!(
            terms("klee@acme.com", "Kim Lee"),
            [("kim lee".into(), 1), ("klee@acme com".into(), 2)]
        );
        assert_eq!(
            terms("zed@acme.com", "Kim Lee"),
            [("kim lee".into(), 1), ("zed@acme com".into(), 1)]
        );
        assert_eq!(
            terms("kim@acme.com", "Kim Lee"),
            [("kim lee".into(), 1), ("kim@acme com".into(), 4)]
        );
        assert_eq!(
            terms("alexandra@acme.com", "Alexandra Smith")[1],
            ("alexandra@acme com".into(), SEARCH_DEPTH)
        );
    }

    #[test]
    fn search_partitions_are_named_by_a_terms_first_characters() {
        assert_eq!(search_partition("pr_1", "kim lee", 1), "P#pr_1#SEARCH#k");
        assert_eq!(search_partition("pr_1", "kim lee", 4), "P#pr_1#SEARCH#kim ");
        assert_eq!(search_partition("pr_1", "kim", 8), "P#pr_1#SEARCH#kim");
        assert_eq!(search_partition("pr_1", "éa", 1), "P#pr_1#SEARCH#é");
    }

    #[test]
    fn unlinked_visitor_has_no_index_entry() {
        assert!(visitor("pr_1", "v1", None).gsi1().is_none());
        assert!(visitor("pr_1", "v1", Some("ct_1")).gsi1().is_some());
    }
}
