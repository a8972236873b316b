//! What the MCP tools take and answer. Their doc comments are the field
//! descriptions a model reads in the tools' JSON Schemas; records are the
//! API's own (`Contact`, `Company`, `Event`, `Conversation`, `Message`).

use crate::model::{Author, Company, Contact, ConversationStatus, Event, Message, Project};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// ---- inputs -------------------------------------------------------------------

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchContacts {
    /// Start of the contact's name or email, any case (e.g. "kim" finds
    /// "Kim Lee" and "kim.lee@acme.com").
    pub query: Option<String>,
    /// The exact email address.
    pub email: Option<String>,
    /// Contacts with this tag.
    pub tag: Option<String>,
    /// Contacts linked to this company (its id).
    pub company_id: Option<String>,
    /// Contacts per page, 1 to 100 (25 if absent).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page, with the same filters.
    pub cursor: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRef {
    /// The contact's id (`ct_…`).
    pub contact_id: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchCompanies {
    /// Companies on this pipeline stage (its name or id).
    pub stage: Option<String>,
    /// With `stage`: `activity` (most recently changed first, the default)
    /// or `deal_value` (highest first).
    pub sort: Option<String>,
    /// Companies with this domain (e.g. "acme.com").
    pub domain: Option<String>,
    /// Companies per page, 1 to 100 (25 if absent).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page, with the same filters.
    pub cursor: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyRef {
    /// The company's id.
    pub company_id: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineSummaryArgs {
    /// How many of the companies whose stage changed last to include, 0 to
    /// 50 (10 if absent).
    pub recent: Option<i64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListConversations {
    /// Only `open` or only `closed` conversations.
    pub status: Option<ConversationStatus>,
    /// Only this contact's conversations (its id).
    pub contact_id: Option<String>,
    /// Conversations per page, 1 to 100 (25 if absent).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page, with the same filters.
    pub cursor: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationRef {
    /// The conversation's id (`cv_…`).
    pub conversation_id: String,
    /// Messages per page, oldest first, 1 to 100 (25 if absent).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page of messages.
    pub cursor: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCompanyStage {
    /// The company's id.
    pub company_id: String,
    /// The stage to put it on, by name or id (`list_pipeline_stages`). Set
    /// exactly as given, earlier stages included.
    pub stage: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDealValue {
    /// The company's id.
    pub company_id: String,
    /// The deal's value, 0 to 1e15, in the project's currency; `null`
    /// clears it.
    pub deal_value: Option<f64>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddCompanyNote {
    /// The company's id.
    pub company_id: String,
    /// The note, appended to the company's notes with the time it was added.
    pub note: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyToConversation {
    /// The conversation's id (`cv_…`).
    pub conversation_id: String,
    /// The message text, 1 to 10 000 characters.
    pub body: String,
    /// `agent` (the default) or `bot`.
    pub author: Option<Author>,
}

// ---- outputs ------------------------------------------------------------------

/// A company with the name of its stage.
#[derive(Serialize, JsonSchema)]
pub struct CompanyOut {
    #[serde(flatten)]
    pub company: Company,
    /// The name of the stage `stage_id` names.
    pub stage: Option<String>,
}

impl CompanyOut {
    pub fn of(project: &Project, company: &Company) -> Self {
        let view = crate::views::company(project, company);
        CompanyOut {
            stage: view.stage.map(str::to_owned),
            company: view.company.into_owned(),
        }
    }
}

#[derive(Serialize, JsonSchema)]
pub struct ContactList {
    pub contacts: Vec<Contact>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct ContactDetail {
    pub contact: Contact,
    /// Its companies (with a `companies:read` key only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub companies: Option<Vec<CompanyOut>>,
    /// Its latest tracked events, newest first.
    pub recent_events: Vec<Event>,
}

#[derive(Serialize, JsonSchema)]
pub struct CompanyList {
    pub companies: Vec<CompanyOut>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct CompanyDetail {
    pub company: CompanyOut,
    /// Its first contacts (with a `contacts:read` key only); the rest
    /// through `search_contacts` with `company_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<Contact>>,
    /// Its latest tracked events, newest first.
    pub recent_events: Vec<Event>,
}

#[derive(Serialize, JsonSchema)]
pub struct StageOut {
    pub id: String,
    pub name: String,
    /// 1-based place in the pipeline.
    pub position: usize,
}

#[derive(Serialize, JsonSchema)]
pub struct StageList {
    /// In pipeline order.
    pub stages: Vec<StageOut>,
}

#[derive(Serialize, JsonSchema)]
pub struct StageTotalOut {
    pub id: String,
    pub name: String,
    /// 1-based place in the pipeline.
    pub position: usize,
    /// Companies on the stage.
    pub companies: i64,
    /// Sum of their deal values (companies without one add 0).
    pub total_deal_value: f64,
}

#[derive(Serialize, JsonSchema)]
pub struct TotalOut {
    pub companies: i64,
    pub total_deal_value: f64,
}

#[derive(Serialize, JsonSchema)]
pub struct PipelineSummary {
    /// Every stage, in pipeline order.
    pub stages: Vec<StageTotalOut>,
    /// The whole pipeline (companies on no stage are not in it).
    pub all: TotalOut,
    /// The companies whose stage changed last, newest first.
    pub recent_stage_changes: Vec<CompanyOut>,
}

#[derive(Serialize, JsonSchema)]
pub struct ConversationList {
    pub conversations: Vec<crate::model::Conversation>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct ConversationDetail {
    pub conversation: crate::model::Conversation,
    /// A page of its messages, oldest first.
    pub messages: Vec<Message>,
    /// Pass as `cursor` for the next page of messages; `null` on the last.
    pub next_cursor: Option<String>,
}
