//! Records as the service stores and returns them. An item in the table is one of
//! these plus the keys that `store::keys` derives from it; absent optional fields
//! are absent attributes (never NULL), so `attribute_not_exists` means "unset".

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A flat metadata/properties value (SPEC §3): string, finite number or bool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scalar {
    Bool(bool),
    Number(f64),
    String(String),
}

/// `metadata`, `properties` and `enrichment`: flat maps, merged key by key.
pub type Attributes = BTreeMap<String, Scalar>;

/// A change to a flat map (SPEC §3): each key to a string, number or bool,
/// or `null` to delete it. (Only the OpenAPI description names this type;
/// requests carry it as JSON, validated field by field.)
/// A flat map as stored and answered (SPEC §3): strings, numbers, bools.
#[cfg(feature = "openapi")]
pub struct AttributesView;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for AttributesView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(Scalar::schema()))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for AttributesView {
    fn name() -> std::borrow::Cow<'static, str> {
        "Attributes".into()
    }
}

#[cfg(feature = "openapi")]
pub struct AttributesPatch;

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for AttributesPatch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let value = OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(2_000)),
            )
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(ObjectBuilder::new().schema_type(Type::Null));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property_names(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[A-Za-z0-9_.:-]{1,64}$")),
            ))
            .additional_properties(Some(utoipa::openapi::schema::Schema::OneOf(value.build())))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for AttributesPatch {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Viewer,
    Member,
    Admin,
    Owner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StageUpdateMode {
    #[default]
    AdvanceOnly,
    Exact,
}

/// A pipeline stage. Stages are kept, in pipeline order, inside their project's
/// item: every request reads the project anyway, so stage precedence needs no
/// extra read, and reordering rewrites one item and no company.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stage {
    pub id: String,
    pub name: String,
}

/// A deleted stage and where its companies went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetiredStage {
    pub id: String,
    pub into: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub identity_secret: String,
    pub require_identity_verification: bool,
    pub default_stage_update_mode: StageUpdateMode,
    /// Origins allowed to call widget routes; empty means any.
    pub allowed_origins: Vec<String>,
    /// In pipeline order: position = index + 1.
    pub stages: Vec<Stage>,
    /// Deleted stages, oldest first, each with the stage its companies now
    /// count as being on (`None`: no stage). Companies are moved off a deleted
    /// stage after it is retired; until then (and for any a lagging index did
    /// not show), reads and precedence follow this map.
    #[serde(default)]
    pub retired_stages: Vec<RetiredStage>,
    /// Bumped by every write to the stage list or settings; writes are conditional on it.
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub project_id: String,
    pub user_id: String,
    pub role: Role,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: String,
    pub project_id: String,
    pub name: Option<String>,
    /// Normalised (trimmed, lower-cased); unique per project through an email claim item.
    pub email: Option<String>,
    /// The customer's own user id; unique per project through a user-id claim item.
    pub user_id: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = AttributesView))]
    pub metadata: Attributes,
    /// The placeholder company holding this contact's company-level fields
    /// until a real company is linked; writes that create or promote it are
    /// conditional on this value, so a contact never gets two.
    pub placeholder_company_id: Option<String>,
    /// Number of link items (companies) of this contact, changed in the same
    /// transaction as every link and unlink; a delete is conditional on it.
    #[serde(default)]
    pub company_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Company {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub stage_id: Option<String>,
    pub deal_value: Option<f64>,
    pub notes: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = AttributesView))]
    pub metadata: Attributes,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = AttributesView))]
    pub enrichment: Attributes,
    pub is_placeholder: bool,
    /// Equals the number of link items for this company: changed only in the
    /// same transaction that writes or deletes a link.
    pub contact_count: i64,
    /// Set when its delete begins: from then on no write adds a link to it
    /// or changes it (every company update requires this unset), so the
    /// delete can remove the links it finds and finish.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleting: bool,
    /// When its stage last changed (unset while it has none).
    #[serde(default)]
    pub stage_changed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Contact {
    /// A contact with a new id and no fields set.
    pub fn new(project_id: &str, now: Timestamp) -> Self {
        Contact {
            id: crate::ids::new_id(crate::ids::IdKind::Contact),
            project_id: project_id.to_owned(),
            name: None,
            email: None,
            user_id: None,
            phone: None,
            notes: None,
            tags: Vec::new(),
            metadata: Attributes::new(),
            placeholder_company_id: None,
            company_count: 0,
            created_at: now,
            updated_at: now,
        }
    }
}

impl Company {
    /// A company with nothing but its id and name, linked to no one yet.
    pub fn new(project_id: &str, id: &str, name: &str, now: Timestamp) -> Self {
        Company {
            id: id.to_owned(),
            project_id: project_id.to_owned(),
            name: name.to_owned(),
            domain: None,
            industry: None,
            stage_id: None,
            deal_value: None,
            notes: None,
            metadata: Attributes::new(),
            enrichment: Attributes::new(),
            is_placeholder: false,
            contact_count: 0,
            deleting: false,
            stage_changed_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// Puts the company on `stage` (or on none), noting when it moved.
    pub fn move_to(&mut self, stage: Option<String>, at: Timestamp) {
        if self.stage_id != stage {
            self.stage_changed_at = stage.is_some().then_some(at);
            self.stage_id = stage;
        }
    }
}

/// One of a contact's search terms, where a prefix query finds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchEntry {
    pub project_id: String,
    pub term: String,
    /// How many of the term's first characters name its partition
    /// (`keys::search_entry`).
    #[serde(default = "depth_one")]
    pub depth: usize,
    pub contact_id: String,
}

fn depth_one() -> usize {
    1
}

/// A term a contact is searched by and the depth of its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerm {
    pub term: String,
    pub depth: usize,
}

impl Contact {
    /// What a search by prefix matches: the email and the name, each as
    /// `keys::search_term` has it. A name the email starts with (`Kim Lee`,
    /// `kim.lee@…`: the usual case) is left out: every query that matches it
    /// matches the email too, so the contact has one entry, not two.
    ///
    /// Of two terms, the lower has depth 1 (its first character's
    /// partition); the other the depth where the two part: one more than
    /// the characters they share (at most `keys::SEARCH_DEPTH`). A query
    /// that matches both is no longer than what they share, so it reads
    /// only the lower term's partition and meets the contact once, there.
    pub fn search_terms(&self) -> Vec<SearchTerm> {
        use crate::store::keys::{SEARCH_DEPTH, search_term};
        let email = self
            .email
            .as_deref()
            .map(search_term)
            .filter(|e| !e.is_empty());
        let name = self
            .name
            .as_deref()
            .map(search_term)
            .filter(|n| !n.is_empty());
        let name = name.filter(|n| email.as_ref().is_none_or(|e| !e.starts_with(n.as_str())));
        let mut terms: Vec<String> = email.into_iter().chain(name).collect();
        terms.sort();
        let shared = match terms.as_slice() {
            [lower, upper] => lower
                .chars()
                .zip(upper.chars())
                .take_while(|(a, b)| a == b)
                .count(),
            _ => 0,
        };
        terms
            .into_iter()
            .enumerate()
            .map(|(at, term)| SearchTerm {
                term,
                depth: if at == 0 {
                    1
                } else {
                    (shared + 1).min(SEARCH_DEPTH)
                },
            })
            .collect()
    }
}

/// A contact's entry in the list of one of its tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagEntry {
    pub project_id: String,
    pub tag: String,
    pub contact_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LinkSource {
    Identify,
    Manual,
    Placeholder,
}

/// The contact–company junction row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    pub project_id: String,
    pub contact_id: String,
    pub company_id: String,
    pub source: LinkSource,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Visitor {
    pub project_id: String,
    pub visitor_id: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = AttributesView))]
    pub properties: Attributes,
    pub contact_id: Option<String>,
    pub active_company_id: Option<String>,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Which claim an item is: the unique email or the unique user id of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    Email,
    UserId,
}

/// A uniqueness claim: owning this item is owning the email or user id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    pub project_id: String,
    pub kind: ClaimKind,
    /// The claimed value (normalised email, or user id).
    pub value: String,
    pub contact_id: String,
}

/// A tracked milestone (`POST /api/widget/track`), with the visitor's context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub value: Option<Scalar>,
    pub occurred_at: Timestamp,
    pub event_key: Option<String>,
    pub visitor_id: String,
    pub contact_id: Option<String>,
    pub company_id: Option<String>,
    pub created_at: Timestamp,
}

/// Owning this item is having stored the event with this `event_key`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventKeyClaim {
    pub project_id: String,
    pub event_key: String,
    pub event_id: String,
}

/// What an API key may do on `/api/v1/*` and through the MCP endpoint's
/// tools. The company scopes (companies, the pipeline, company notes) serve
/// the MCP tools only; v1 has no company routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    #[serde(rename = "contacts:read")]
    ContactsRead,
    #[serde(rename = "contacts:write")]
    ContactsWrite,
    #[serde(rename = "conversations:read")]
    ConversationsRead,
    #[serde(rename = "conversations:write")]
    ConversationsWrite,
    #[serde(rename = "companies:read")]
    CompaniesRead,
    #[serde(rename = "companies:write")]
    CompaniesWrite,
}

impl Scope {
    /// Every scope a key can have.
    pub const ALL: [Scope; 6] = [
        Scope::ContactsRead,
        Scope::ContactsWrite,
        Scope::ConversationsRead,
        Scope::ConversationsWrite,
        Scope::CompaniesRead,
        Scope::CompaniesWrite,
    ];
}

/// An integration's key. The secret is shown once at creation; only its
/// SHA-256 is stored, and it is the item's key, so a lookup is one GetItem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// The first characters of the secret, to recognise a key in lists.
    pub prefix: String,
    /// Hex SHA-256 of the secret.
    pub hash: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// A project's reference to one of its API keys: what lists and revokes
/// them by id (the key itself is keyed by its hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRef {
    pub project_id: String,
    pub key_id: String,
    pub hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConversationStatus {
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: String,
    pub project_id: String,
    pub visitor_id: String,
    pub contact_id: Option<String>,
    pub status: ConversationStatus,
    /// Only ever moves forward: a message older than it leaves it as is.
    pub last_message_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Author {
    Visitor,
    Agent,
    Bot,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: String,
    pub project_id: String,
    pub conversation_id: String,
    pub author: Author,
    pub body: String,
    pub created_at: Timestamp,
}

/// A visitor's conversation, kept in the visitor's partition so "my
/// conversations" is one Query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitorConversation {
    pub project_id: String,
    pub visitor_id: String,
    pub conversation_id: String,
    pub created_at: Timestamp,
}
