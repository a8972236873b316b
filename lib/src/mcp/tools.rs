//! The tools. Each checks its key's scope, then its arguments, then calls
//! the domain function its REST route calls; every rule lives there.

use super::shapes::*;
use super::{Args, Call, ToolError};
use crate::domain::lists::{self, CompanyFilters, ContactFilters};
use crate::domain::{companies, contacts, conversations, pipeline_summary};
use crate::error::ApiError;
use crate::handlers::{possible_company_id, possible_contact_id, possible_conversation_id};
use crate::http::PageRequest;
use crate::model::{ApiKey, Company, Event, Message, Project, Scope};
use crate::store::keys::{self, EventOwner};
use crate::store::lists::Source;
use rmcp::handler::server::common::schema_for_input;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Json;
use rmcp::model::{CallToolRequestParams, CallToolResponse, JsonObject};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use std::future::Future;
use std::sync::{Arc, LazyLock};

/// Events a contact or company shows with it.
const RECENT_EVENTS: i32 = 10;
/// Contacts a company shows with it (the rest through `search_contacts`).
const COMPANY_CONTACTS: i32 = 25;

#[derive(Clone)]
pub struct Tools;

/// The input schema of a tool taking `T`.
fn input<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    schema_for_input::<T>().expect("tool inputs are objects")
}

/// Runs a tool's work, its failure a tool error. (Tools spell out their
/// result type, `Result<Json<T>, ToolError>`: rmcp's macro reads the output
/// schema from it, and not through an alias.)
async fn run<T>(
    call: &Call,
    tool: &str,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Result<Json<T>, ToolError> {
    work.await
        .map(Json)
        .map_err(|err| ToolError::new(&err, call, tool))
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

#[tool_router]
impl Tools {
    #[tool(
        description = "Find contacts (people) of the CRM: by the start of their name or email \
                       (`query`), an exact `email`, a `tag`, or a company (`company_id`). Pages of \
                       up to 100; pass `next_cursor` back as `cursor` for more. Needs contacts:read.",
        input_schema = input::<SearchContacts>(),
        annotations(title = "Search contacts", read_only_hint = true, open_world_hint = false)
    )]
    async fn search_contacts(
        &self,
        call: Call,
        Args(args): Args<SearchContacts>,
    ) -> Result<Json<ContactList>, ToolError> {
        run(&call, "search_contacts", async {
            let key = call.scoped(Scope::ContactsRead)?;
            let args = args?;
            let filters = ContactFilters::parse(
                args.email.as_deref(),
                args.company_id.as_deref(),
                args.tag.as_deref(),
                args.query.as_deref(),
            )?;
            let page = page(
                &call,
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
        })
        .await
    }

    #[tool(
        description = "One contact with its latest events and (with companies:read) its \
                       companies. Needs contacts:read.",
        input_schema = input::<ContactRef>(),
        annotations(title = "Get a contact", read_only_hint = true, open_world_hint = false)
    )]
    async fn get_contact(
        &self,
        call: Call,
        Args(args): Args<ContactRef>,
    ) -> Result<Json<ContactDetail>, ToolError> {
        run(&call, "get_contact", async {
            let key = call.scoped(Scope::ContactsRead)?;
            let id = possible_contact_id(args?.contact_id, "contact_id")?;
            let store = &call.app.store;
            let (contact, links) = store
                .get_contact_with_links(&key.project_id, &id)
                .await?
                .ok_or_else(contacts::not_found)?;
            let companies = if key.scopes.contains(&Scope::CompaniesRead) {
                let project = project_of(&call, key).await?;
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
            let source =
                Source::Partition(keys::events_of(&key.project_id, EventOwner::Contact(&id)));
            Ok(ContactDetail {
                contact,
                companies,
                recent_events: events(&call, source).await?,
            })
        })
        .await
    }

    #[tool(
        description = "Find companies of the CRM: the companies on a pipeline `stage` (most \
                       recently changed first, or by `sort: deal_value`), or those with a \
                       `domain`; with neither, all. Pages of up to 100. Needs companies:read.",
        input_schema = input::<SearchCompanies>(),
        annotations(title = "Search companies", read_only_hint = true, open_world_hint = false)
    )]
    async fn search_companies(
        &self,
        call: Call,
        Args(args): Args<SearchCompanies>,
    ) -> Result<Json<CompanyList>, ToolError> {
        run(&call, "search_companies", async {
            let key = call.scoped(Scope::CompaniesRead)?;
            let args = args?;
            let project = project_of(&call, key).await?;
            let filters = CompanyFilters::parse(
                &project,
                args.stage.as_deref(),
                args.domain.as_deref(),
                args.sort.as_deref(),
            )?;
            let page = page(
                &call,
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
        })
        .await
    }

    #[tool(
        description = "One company: its stage, deal value and notes, its latest events and (with \
                       contacts:read) its first contacts. Needs companies:read.",
        input_schema = input::<CompanyRef>(),
        annotations(title = "Get a company", read_only_hint = true, open_world_hint = false)
    )]
    async fn get_company(
        &self,
        call: Call,
        Args(args): Args<CompanyRef>,
    ) -> Result<Json<CompanyDetail>, ToolError> {
        run(&call, "get_company", async {
            let key = call.scoped(Scope::CompaniesRead)?;
            let project = project_of(&call, key).await?;
            let company = company_of(&call, &project, args?.company_id).await?;
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
                recent_events: events(&call, source).await?,
                company: CompanyOut::of(&project, &company),
                contacts,
            })
        })
        .await
    }

    #[tool(
        description = "The stages of the sales pipeline, in order: the names `search_companies` \
                       and `set_company_stage` take. Needs companies:read.",
        input_schema = input::<NoArguments>(),
        annotations(title = "List pipeline stages", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_pipeline_stages(
        &self,
        call: Call,
        Args(args): Args<NoArguments>,
    ) -> Result<Json<StageList>, ToolError> {
        run(&call, "list_pipeline_stages", async {
            let key = call.scoped(Scope::CompaniesRead)?;
            args?;
            let project = project_of(&call, key).await?;
            let stages = crate::handlers::stages::views(&project)
                .into_iter()
                .map(|s| StageOut {
                    id: s.id.to_owned(),
                    name: s.name.to_owned(),
                    position: s.position,
                })
                .collect();
            Ok(StageList { stages })
        })
        .await
    }

    #[tool(
        description = "What is in each pipeline stage and what it is worth: per stage the number \
                       of companies and the sum of their deal values (exact), the whole \
                       pipeline's, and the companies whose stage changed last. Needs companies:read.",
        input_schema = input::<PipelineSummaryArgs>(),
        annotations(title = "Pipeline summary", read_only_hint = true, open_world_hint = false)
    )]
    async fn pipeline_summary(
        &self,
        call: Call,
        Args(args): Args<PipelineSummaryArgs>,
    ) -> Result<Json<PipelineSummary>, ToolError> {
        run(&call, "pipeline_summary", async {
            let key = call.scoped(Scope::CompaniesRead)?;
            let recent = pipeline_summary::recent_count(args?.recent)?;
            let project = project_of(&call, key).await?;
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
        })
        .await
    }

    #[tool(
        description = "Chat conversations with the site's visitors, latest activity first; only \
                       `open` or `closed` ones, or one contact's. Pages of up to 100. Needs \
                       conversations:read.",
        input_schema = input::<ListConversations>(),
        annotations(title = "List conversations", read_only_hint = true, open_world_hint = false)
    )]
    async fn list_conversations(
        &self,
        call: Call,
        Args(args): Args<ListConversations>,
    ) -> Result<Json<ConversationList>, ToolError> {
        run(&call, "list_conversations", async {
            let key = call.scoped(Scope::ConversationsRead)?;
            let args = args?;
            let filters = (args.status, &args.contact_id);
            let page = page(
                &call,
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
        })
        .await
    }

    #[tool(
        description = "One conversation with a page of its messages, oldest first. Needs \
                       conversations:read.",
        input_schema = input::<ConversationRef>(),
        annotations(title = "Get a conversation", read_only_hint = true, open_world_hint = false)
    )]
    async fn get_conversation(
        &self,
        call: Call,
        Args(args): Args<ConversationRef>,
    ) -> Result<Json<ConversationDetail>, ToolError> {
        run(&call, "get_conversation", async {
            let key = call.scoped(Scope::ConversationsRead)?;
            let args = args?;
            let conversation = conversation_of(&call, key, args.conversation_id).await?;
            let page = page(
                &call,
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
        })
        .await
    }

    #[tool(
        description = "Put a company on a pipeline stage, exactly as given (earlier stages \
                       included). Answers the company. Needs companies:write.",
        input_schema = input::<SetCompanyStage>(),
        annotations(title = "Set a company's stage", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn set_company_stage(
        &self,
        call: Call,
        Args(args): Args<SetCompanyStage>,
    ) -> Result<Json<CompanyOut>, ToolError> {
        run(&call, "set_company_stage", async {
            let key = call.scoped(Scope::CompaniesWrite)?;
            let args = args?;
            let fields = companies::Fields {
                stage: Some(Some(args.stage)),
                ..companies::Fields::default()
            };
            update_company(&call, key, args.company_id, &fields).await
        })
        .await
    }

    #[tool(
        description = "Set (or, with null, clear) the deal value of a company. Answers the \
                       company. Needs companies:write.",
        input_schema = input::<SetDealValue>(),
        annotations(title = "Set a deal value", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn set_deal_value(
        &self,
        call: Call,
        Args(args): Args<SetDealValue>,
    ) -> Result<Json<CompanyOut>, ToolError> {
        run(&call, "set_deal_value", async {
            let key = call.scoped(Scope::CompaniesWrite)?;
            let args = args?;
            let fields = companies::Fields {
                deal_value: Some(
                    args.deal_value
                        .map(|v| crate::validate::deal_value("deal_value", v))
                        .transpose()?,
                ),
                ..companies::Fields::default()
            };
            update_company(&call, key, args.company_id, &fields).await
        })
        .await
    }

    #[tool(
        description = "Add a note to a company: appended to its notes with the time, never \
                       replacing them. Answers the company. Needs companies:write.",
        input_schema = input::<AddCompanyNote>(),
        annotations(title = "Add a company note", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn add_company_note(
        &self,
        call: Call,
        Args(args): Args<AddCompanyNote>,
    ) -> Result<Json<CompanyOut>, ToolError> {
        run(&call, "add_company_note", async {
            let key = call.scoped(Scope::CompaniesWrite)?;
            let args = args?;
            let project = project_of(&call, key).await?;
            let id = possible_company_id(args.company_id, "company_id")?;
            let company = companies::add_note(&call.app.store, &project, &id, &args.note).await?;
            Ok(CompanyOut::of(&project, &company))
        })
        .await
    }

    #[tool(
        description = "Send a message into a conversation as an agent (or bot): the visitor sees \
                       it in the chat widget. Answers the message. Needs conversations:write.",
        input_schema = input::<ReplyToConversation>(),
        annotations(title = "Reply to a conversation", read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true)
    )]
    async fn reply_to_conversation(
        &self,
        call: Call,
        Args(args): Args<ReplyToConversation>,
    ) -> Result<Json<Message>, ToolError> {
        run(&call, "reply_to_conversation", async {
            let key = call.scoped(Scope::ConversationsWrite)?;
            let args = args?;
            let (author, text) = conversations::reply_input(args.author, &args.body)?;
            let conversation = conversation_of(&call, key, args.conversation_id).await?;
            let (_, message) =
                conversations::reply(&call.app.store, &conversation, author, &text).await?;
            Ok(message)
        })
        .await
    }
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

/// The tools, built once per process (rmcp's default builds them again for
/// every request).
fn router() -> &'static ToolRouter<Tools> {
    static ROUTER: LazyLock<ToolRouter<Tools>> = LazyLock::new(Tools::tool_router);
    &ROUTER
}

#[tool_handler(
    router = router(),
    name = "hal-crm",
    instructions = "HAL's CRM: the contacts (people) and companies a website's chat widget \
                    learnt about, the sales pipeline (stages, deal values) and the chat \
                    conversations. Find with search_contacts / search_companies, read with \
                    get_contact / get_company / pipeline_summary, act with set_company_stage, \
                    set_deal_value, add_company_note and reply_to_conversation. What a tool may \
                    do depends on the API key's scopes."
)]
impl ServerHandler for Tools {
    /// Runs a tool in its request's scope (rmcp runs it on a task of its
    /// own, outside the edge's).
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let scope = Call::of(&context).map(|c| c.scope);
        let tcc = ToolCallContext::new(self, request, context);
        let call = router().call(tcc);
        match scope {
            Some(scope) => crate::http::within(scope, call).await,
            None => call.await,
        }
    }
}
