//! The hosted MCP endpoint's tools (`POST /mcp`): CRM tools for AI clients,
//! served by the official Rust SDK (`rmcp`) over Streamable HTTP, stateless
//! with JSON responses, so any execution environment answers any request.
//! The HTTP edge (`handlers::mcp`) authenticates the API key and hands each
//! request a [`Call`]; every tool checks its scope, then calls the same
//! domain functions as the REST routes.
//!
//! The tool list a client reads is `docs/mcp-tools.json`, generated from
//! the tools' declarations ([`catalogue`], `infra/openapi.sh`) and served as
//! committed: the route builds no schemas (docs/performance.md).

mod shapes;
mod tools;

use crate::app::App;
use crate::error::ApiError;
use crate::http::RequestScope;
use crate::model::ApiKey;
use rmcp::handler::server::common::{schema_for_input, schema_for_output};
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    Implementation, JsonObject, ListToolsResult, PaginatedRequestParams, ProtocolVersion,
    ResultType, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use schemars::JsonSchema;
use serde_json::Value;
use std::sync::{Arc, LazyLock};

/// What the HTTP edge learnt about a request, for its tools: the key (its
/// project is the only one a tool reaches), the request's scope and id.
#[derive(Clone)]
pub struct Call {
    pub app: &'static App,
    pub key: ApiKey,
    pub scope: RequestScope,
    pub request_id: String,
}

impl Call {
    /// The edge's `Call` of the HTTP request a tool call came in.
    fn of(context: &RequestContext<RoleServer>) -> Option<Call> {
        let parts = context
            .extensions
            .get::<lambda_http::http::request::Parts>()?;
        parts.extensions.get::<Call>().cloned()
    }
}

/// A tool's failure: an MCP tool result with `isError`, its text the SPEC §7
/// error body (`{"error": {"code", "message", "details", "request_id"}}`).
fn tool_error(err: &ApiError, call: &Call, tool: &str) -> CallToolResult {
    if err.status.is_server_error() || err.status.as_u16() == 429 {
        tracing::warn!(
            tool,
            code = err.code,
            request_id = call.request_id,
            cause = err.cause(),
            "tool failed"
        );
    }
    CallToolResult::error(vec![ContentBlock::text(
        err.body(&call.request_id).to_string(),
    )])
}

const INSTRUCTIONS: &str = "HAL's CRM: the contacts (people) and companies a website's chat \
    widget learnt about, the sales pipeline (stages, deal values) and the chat conversations. \
    Find with search_contacts / search_companies, read with get_contact / get_company / \
    pipeline_summary, act with set_company_stage, set_deal_value, add_company_note and \
    reply_to_conversation. What a tool may do depends on the API key's scopes.";

/// The tool list as served: `docs/mcp-tools.json`, read once per process.
fn tool_list() -> &'static [Tool] {
    static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(|| {
        let document: ListToolsResult =
            serde_json::from_str(include_str!("../../../docs/mcp-tools.json"))
                .expect("docs/mcp-tools.json is a tool list");
        document.tools
    });
    &TOOLS
}

/// The tool list from the tools' declarations: what `docs/mcp-tools.json`
/// holds (`infra/openapi.sh` writes it; a test fails while it is stale).
/// The route itself never calls this.
pub fn catalogue() -> Value {
    let tools: Vec<Tool> = tools::specs()
        .into_iter()
        .map(|spec| {
            let (input, output) = (spec.schemas)();
            let scope = serde_json::to_value(spec.scope).expect("a scope is a string");
            let description = format!("{} Needs {}.", spec.description, scope.as_str().unwrap());
            let hints = &spec.hints;
            let mut annotations = ToolAnnotations::with_title(spec.title)
                .read_only(hints.read_only)
                .open_world(hints.open_world);
            if !hints.read_only {
                annotations = annotations
                    .destructive(hints.destructive)
                    .idempotent(hints.idempotent);
            }
            Tool::new_with_raw(spec.name, Some(description.into()), Arc::new(input))
                .with_raw_output_schema(Arc::new(output))
                .with_annotations(annotations)
        })
        .collect();
    serde_json::json!({ "tools": tools })
}

fn input_schema<T: JsonSchema + 'static>() -> JsonObject {
    let schema = schema_for_input::<T>().expect("tool arguments are objects");
    (*schema).clone()
}

fn output_schema<T: JsonSchema + 'static>() -> JsonObject {
    (*schema_for_output::<T>()).clone()
}

/// The MCP server: its description, its tools and their dispatch.
#[derive(Clone)]
pub struct Tools;

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("hal-crm", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS.to_owned())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        // From 2026-07-28 a list says how long it stays fresh: it changes
        // only with a deployment, but a client asks again every time.
        let cache_hints = context
            .protocol_version()
            .is_some_and(|version| version >= ProtocolVersion::V_2026_07_28);
        Ok(ListToolsResult {
            result_type: Some(ResultType::COMPLETE),
            tools: tool_list().to_vec(),
            meta: None,
            next_cursor: None,
            ttl_ms: cache_hints.then_some(0),
            cache_scope: cache_hints.then_some(CacheScope::Public),
        })
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tool_list().iter().find(|tool| tool.name == name).cloned()
    }

    /// Runs a tool in its request's scope (rmcp runs it on a task of its
    /// own, outside the edge's).
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let call =
            Call::of(&context).ok_or_else(|| ErrorData::internal_error("no call context", None))?;
        let name = request.name.as_ref();
        let arguments = request.arguments.unwrap_or_default();
        let answer = crate::http::within(call.scope.clone(), tools::call(&call, name, arguments))
            .await
            .ok_or_else(|| ErrorData::invalid_params("tool not found", None))?;
        Ok(match answer {
            Ok(value) => CallToolResult::structured(value),
            Err(err) => tool_error(&err, &call, name),
        }
        .into())
    }
}

/// The MCP service, one per process: stateless (no session is kept, so no
/// `GET` stream and no `DELETE`: both are 405), JSON responses, and no
/// Host allow-list (API Gateway's host is the API's; rmcp's default list
/// would refuse it).
pub fn service() -> StreamableHttpService<Tools, NeverSessionManager> {
    static SERVICE: LazyLock<StreamableHttpService<Tools, NeverSessionManager>> =
        LazyLock::new(|| {
            let config = StreamableHttpServerConfig::default()
                .with_legacy_session_mode(false)
                .with_json_response(true)
                .disable_allowed_hosts();
            StreamableHttpService::new(
                || Ok(Tools),
                Arc::new(NeverSessionManager::default()),
                config,
            )
        });
    SERVICE.clone()
}
