//! The tools: what each takes, answers and needs (`tools!`, read by the
//! dispatch and by the catalogue a model reads), and their work, which calls
//! the domain functions the REST routes call; every rule lives there.

use super::Call;
use super::shapes::*;
use crate::domain::lists::{self, CompanyFilters, ContactFilters};
use crate::domain::{companies, contacts, conversations, pipeline_summary};
use crate::error::ApiError;
use crate::handlers::{possible_company_id, possible_contact_id, possible_conversation_id};
use crate::http::PageRequest;
use crate::model::{ApiKey, Company, Event, Message, Project, Scope};
use crate::store::keys::{self, EventOwner};
use crate::store::lists::Source;
use futures_util::future::{BoxFuture, FutureExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::future::Future;

/// Events a contact or company shows with it.
const RECENT_EVENTS: i32 = 10;
/// Contacts a company shows with it (the rest through `search_contacts`).
const COMPANY_CONTACTS: i32 = 25;

/// What a tool may do, as MCP's annotations tell a client.
pub(super) struct Hints {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

/// Reads the CRM only.
const READS: Hints = Hints {
    read_only: true,
    destructive: false,
    idempotent: true,
    open_world: false,
};
/// Replaces a value; the same call again changes nothing more.
const OVERWRITES: Hints = Hints {
    read_only: false,
    destructive: true,
    idempotent: true,
    open_world: false,
};
/// Adds to what is there; each call adds again.
const ADDS: Hints = Hints {
    destructive: false,
    idempotent: false,
    ..OVERWRITES
};
/// Adds, and someone outside the CRM (a visitor) sees it.
const SENDS: Hints = Hints {
    open_world: true,
    ..ADDS
};

/// One tool as the catalogue (`super::catalogue`) describes it.
pub(super) struct ToolSpec {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub hints: Hints,
    pub scope: Scope,
    /// Its arguments' and its result's JSON Schemas.
    pub schemas: fn() -> (Value, Value),
}

/// Declares the tools once: `name(Arguments) -> Result, scope, hints, title,
/// description;` gives `call` (the dispatch: scope, arguments, work) and
/// `specs` (the catalogue's source).
macro_rules! tools {
    ($($name:ident($args:ty) -> $out:ty, $scope:ident, $hints:ident, $title:literal, $description:literal;)*) => {
        /// The run of the tool `name` for `call`: `None` if there is no such
        /// tool. Boxed behind `dyn`, and made in a frame of its own that is
        /// gone before the run is polled: a dispatch awaiting the twelve
        /// inline held all their futures' temporaries on the stack while
        /// any one ran (tens of KiB; in debug builds, a worker's overflow).
        #[inline(never)]
        pub(super) fn call<'a>(
            call: &'a Call,
            name: &str,
            arguments: Map<String, Value>,
        ) -> Option<ToolRun<'a>> {
            Some(match name {
                $(stringify!($name) => run(call, Scope::$scope, arguments, $name).boxed(),)*
                _ => return None,
            })
        }

        /// Every tool, in the order a client lists them.
        pub(super) fn specs() -> Vec<ToolSpec> {
            vec![$(ToolSpec {
                name: stringify!($name),
                title: $title,
                description: $description,
                hints: $hints,
                scope: Scope::$scope,
                schemas: || (super::input_schema::<$args>(), super::output_schema::<$out>()),
            },)*]
        }
    };
}

/// A tool's run, under way.
pub(super) type ToolRun<'a> = BoxFuture<'a, Result<Value, ApiError>>;

/// A tool's run: its scope, then its arguments (parsed like a REST body, so
/// a refused field is `validation_failed` naming it), then its work.
async fn run<'a, A, T, F>(
    call: &'a Call,
    scope: Scope,
    arguments: Map<String, Value>,
    work: impl FnOnce(&'a Call, A) -> F,
) -> Result<Value, ApiError>
where
    A: DeserializeOwned,
    T: Serialize,
    F: Future<Output = Result<T, ApiError>>,
{
    crate::auth::require_scope(&call.key, scope)?;
    let args = crate::http::from_json(Value::Object(arguments))?;
    let answer = work(call, args).await?;
    serde_json::to_value(answer).map_err(|err| ApiError::internal(format!("tool result: {err}")))
}

async fn project_of(call: &Call, key: &ApiKey) -> Result<Project, ApiError> {
    call.app
        .store
        .get_project(&key.project_id)
        .await?
        .ok_or_else(|| ApiError::not_found("project_not_found", "no such project"))
}

async fn company_of(call: &Call, project: &Project, id: String) -> Result<Company, ApiError> {
    let id = possible_company_id(id, "company_id")?;
    call.app
        .store
        .get_company(&project.id, &id)
        .await?
        .ok_or_else(companies::not_found)
}

async fn events(call: &Call, source: Source) -> Result<Vec<Event>, ApiError> {
    Ok(call
        .app
        .store
        .page::<Event>(&source, RECENT_EVENTS, None, true)
        .await?
        .items)
}

/// A page request of a tool's list; its cursors are bound to the tool, the
/// key's project and `filters`.
fn page(
    call: &Call,
    tool: &str,
    filters: impl std::fmt::Debug,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<PageRequest, ApiError> {
    let scope = format!("mcp {tool}|{}|{filters:?}", call.key.project_id);
    PageRequest::new(call.app, limit, cursor, scope)
}

tools! {
    search_contacts(SearchContacts) -> ContactList, ContactsRead, READS,
        "Search contacts",
        "Find contacts (people) of the CRM: by the start of their name or email \
         (`query`), an exact `email`, a `tag`, or a company (`company_id`). Pages of \
         up to 100; pass `next_cursor` back as `cursor` for more.";
    get_contact(ContactRef) -> ContactDetail, ContactsRead, READS,
        "Get a contact",
        "One contact with its latest events and (with companies:read) its \
         companies.";
    search_companies(SearchCompanies) -> CompanyList, CompaniesRead, READS,
        "Search companies",
        "Find companies of the CRM: the companies on a pipeline `stage` (most \
         recently changed first, or by `sort: deal_value`), or those with a \
         `domain`; with neither, all. Pages of up to 100.";
    get_company(CompanyRef) -> CompanyDetail, CompaniesRead, READS,
        "Get a company",
        "One company: its stage, deal value and notes, its latest events and (with \
         contacts:read) its first contacts.";
    list_pipeline_stages(NoArguments) -> StageList, CompaniesRead, READS,
        "List pipeline stages",
        "The stages of the sales pipeline, in order: the names `search_companies` \
         and `set_company_stage` take.";
    pipeline_summary(PipelineSummaryArgs) -> PipelineSummary, CompaniesRead, READS,
        "Pipeline summary",
        "What is in each pipeline stage and what it is worth: per stage the number \
         of companies and the sum of their deal values (exact), the whole \
         pipeline's, and the companies whose stage changed last.";
    list_conversations(ListConversations) -> ConversationList, ConversationsRead, READS,
        "List conversations",
        "Chat conversations with the site's visitors, latest activity first; only \
         `open` or `closed` ones, or one contact's. Pages of up to 100.";
    get_conversation(ConversationRef) -> ConversationDetail, ConversationsRead, READS,
        "Get a conversation",
        "One conversation with a page of its messages, oldest first.";
    set_company_stage(SetCompanyStage) -> CompanyOut, CompaniesWrite, OVERWRITES,
        "Set a company's stage",
        "Put a company on a pipeline stage, exactly as given (earlier stages \
         included). Answers the company.";
    set_deal_value(SetDealValue) -> CompanyOut, CompaniesWrite, OVERWRITES,
        "Set a deal value",
        "Set (or, with null, clear) the deal value of a company. Answers the \
         company.";
    add_company_note(AddCompanyNote) -> CompanyOut, CompaniesWrite, ADDS,
        "Add a company note",
        "Add a note to a company: appended to its notes with the time, never \
         replacing them. Answers the company.";
    reply_to_conversation(ReplyToConversation) -> Message, ConversationsWrite, SENDS,
        "Reply to a conversation",
        "Send a message into a conversation as an agent (or bot): the visitor sees \
         it in the chat widget. Answers the message.";
}

async fn search_contacts(call: &Call, args: SearchContacts) -> Result<ContactList, ApiError> {
    let key = &call.key;
    let filters = ContactFilters::parse(
        args.email.as_deref(),
        args.company_id.as_deref(),
        args.tag.as_deref(),
        args.query.as_deref(),
    )?;
    let page = page(
        call,
        "search_contacts",
        &filters,
        args.limit,
        args.cursor.as_deref(),
    )?;
    let found = lists::contacts(
        &call.app.store,
        &key.project_id,
        &filters,
        page.limit,
        page.start.clone(),
    )
    .await?;
    Ok(ContactList {
        next_cursor: page.next_cursor(call.app, found.last_key.as_ref()),
        contacts: found.items,
    })
}

async fn get_contact(call: &Call, args: ContactRef) -> Result<ContactDetail, ApiError> {
    let key = &call.key;
    let id = possible_contact_id(args.contact_id, "contact_id")?;
    let store = &call.app.store;
    let (contact, links) = store
        .get_contact_with_links(&key.project_id, &id)
        .await?
        .ok_or_else(contacts::not_found)?;
    let companies = if key.scopes.contains(&Scope::CompaniesRead) {
        let project = project_of(call, key).await?;
        let keys = links
            .iter()
            .map(|l| keys::company(&key.project_id, &l.company_id).key)
            .collect();
        let companies: Vec<Company> = store.get_many(keys).await?;
        Some(
            companies
                .iter()
                .map(|c| CompanyOut::of(&project, c))
                .collect(),
        )
    } else {
        None
    };
    let source = Source::Partition(keys::events_of(&key.project_id, EventOwner::Contact(&id)));
    Ok(ContactDetail {
        contact,
        companies,
        recent_events: events(call, source).await?,
    })
}

async fn search_companies(call: &Call, args: SearchCompanies) -> Result<CompanyList, ApiError> {
    let key = &call.key;
    let project = project_of(call, key).await?;
    let filters = CompanyFilters::parse(
        &project,
        args.stage.as_deref(),
        args.domain.as_deref(),
        args.sort.as_deref(),
    )?;
    let page = page(
        call,
        "search_companies",
        &filters,
        args.limit,
        args.cursor.as_deref(),
    )?;
    let found = lists::companies(
        &call.app.store,
        &project,
        &filters,
        page.limit,
        page.start.clone(),
    )
    .await?;
    Ok(CompanyList {
        next_cursor: page.next_cursor(call.app, found.last_key.as_ref()),
        companies: found
            .items
            .iter()
            .map(|c| CompanyOut::of(&project, c))
            .collect(),
    })
}

async fn get_company(call: &Call, args: CompanyRef) -> Result<CompanyDetail, ApiError> {
    let key = &call.key;
    let project = project_of(call, key).await?;
    let company = company_of(call, &project, args.company_id).await?;
    let contacts = if key.scopes.contains(&Scope::ContactsRead) {
        let filters = ContactFilters {
            company_id: Some(company.id.clone()),
            ..ContactFilters::default()
        };
        let page = lists::contacts(
            &call.app.store,
            &project.id,
            &filters,
            COMPANY_CONTACTS,
            None,
        )
        .await?;
        Some(page.items)
    } else {
        None
    };
    let source = Source::Index(keys::company_events(&project.id, &company.id));
    Ok(CompanyDetail {
        recent_events: events(call, source).await?,
        company: CompanyOut::of(&project, &company),
        contacts,
    })
}

async fn list_pipeline_stages(call: &Call, _: NoArguments) -> Result<StageList, ApiError> {
    let key = &call.key;
    let project = project_of(call, key).await?;
    let stages = crate::handlers::stages::views(&project)
        .into_iter()
        .map(|s| StageOut {
            id: s.id.to_owned(),
            name: s.name.to_owned(),
            position: s.position,
        })
        .collect();
    Ok(StageList { stages })
}

async fn pipeline_summary(
    call: &Call,
    args: PipelineSummaryArgs,
) -> Result<PipelineSummary, ApiError> {
    let key = &call.key;
    let recent = pipeline_summary::recent_count(args.recent)?;
    let project = project_of(call, key).await?;
    let summary = pipeline_summary::summary(&call.app.store, &project, recent).await?;
    Ok(PipelineSummary {
        stages: summary
            .stages
            .iter()
            .map(|s| StageTotalOut {
                id: s.id.to_owned(),
                name: s.name.to_owned(),
                position: s.position,
                companies: s.total.companies,
                total_deal_value: s.total.deal_value,
            })
            .collect(),
        all: TotalOut {
            companies: summary.all.companies,
            total_deal_value: summary.all.deal_value,
        },
        recent_stage_changes: summary
            .recent
            .iter()
            .map(|c| CompanyOut::of(&project, c))
            .collect(),
    })
}

async fn list_conversations(
    call: &Call,
    args: ListConversations,
) -> Result<ConversationList, ApiError> {
    let key = &call.key;
    let filters = (args.status, &args.contact_id);
    let page = page(
        call,
        "list_conversations",
        filters,
        args.limit,
        args.cursor.as_deref(),
    )?;
    let found = lists::conversations(
        &call.app.store,
        &key.project_id,
        args.status,
        args.contact_id.as_deref(),
        page.limit,
        page.start.clone(),
    )
    .await?;
    Ok(ConversationList {
        next_cursor: page.next_cursor(call.app, found.last_key.as_ref()),
        conversations: found.items,
    })
}

async fn get_conversation(
    call: &Call,
    args: ConversationRef,
) -> Result<ConversationDetail, ApiError> {
    let key = &call.key;
    let conversation = conversation_of(call, key, args.conversation_id).await?;
    let page = page(
        call,
        "get_conversation",
        &conversation.id,
        args.limit,
        args.cursor.as_deref(),
    )?;
    let source = Source::Collection {
        partition: keys::conversation_collection(&key.project_id, &conversation.id),
        prefix: keys::MESSAGE_PREFIX,
    };
    let messages = call
        .app
        .store
        .page::<Message>(&source, page.limit, page.start.clone(), false)
        .await?;
    Ok(ConversationDetail {
        conversation,
        next_cursor: page.next_cursor(call.app, messages.last_key.as_ref()),
        messages: messages.items,
    })
}

async fn set_company_stage(call: &Call, args: SetCompanyStage) -> Result<CompanyOut, ApiError> {
    let key = &call.key;
    let fields = companies::Fields {
        stage: Some(Some(args.stage)),
        ..companies::Fields::default()
    };
    update_company(call, key, args.company_id, &fields).await
}

async fn set_deal_value(call: &Call, args: SetDealValue) -> Result<CompanyOut, ApiError> {
    let key = &call.key;
    let fields = companies::Fields {
        deal_value: Some(
            args.deal_value
                .map(|v| crate::validate::deal_value("deal_value", v))
                .transpose()?,
        ),
        ..companies::Fields::default()
    };
    update_company(call, key, args.company_id, &fields).await
}

async fn add_company_note(call: &Call, args: AddCompanyNote) -> Result<CompanyOut, ApiError> {
    let key = &call.key;
    let project = project_of(call, key).await?;
    let id = possible_company_id(args.company_id, "company_id")?;
    let company = companies::add_note(&call.app.store, &project, &id, &args.note).await?;
    Ok(CompanyOut::of(&project, &company))
}

async fn reply_to_conversation(
    call: &Call,
    args: ReplyToConversation,
) -> Result<Message, ApiError> {
    let key = &call.key;
    let (author, text) = conversations::reply_input(args.author, &args.body)?;
    let conversation = conversation_of(call, key, args.conversation_id).await?;
    let (_, message) = conversations::reply(&call.app.store, &conversation, author, &text).await?;
    Ok(message)
}

async fn conversation_of(
    call: &Call,
    key: &ApiKey,
    id: String,
) -> Result<crate::model::Conversation, ApiError> {
    let id = possible_conversation_id(id, "conversation_id")?;
    call.app
        .store
        .get_conversation(&key.project_id, &id)
        .await?
        .ok_or_else(conversations::not_found)
}

async fn update_company(
    call: &Call,
    key: &ApiKey,
    id: String,
    fields: &companies::Fields,
) -> Result<CompanyOut, ApiError> {
    let project = project_of(call, key).await?;
    let id = possible_company_id(id, "company_id")?;
    let company = companies::update(&call.app.store, &project, &id, fields).await?;
    Ok(CompanyOut::of(&project, &company))
}
