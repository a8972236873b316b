//! The hosted MCP endpoint's tools (`POST /mcp`): CRM tools for AI clients,
//! served by the official Rust SDK (`rmcp`) over Streamable HTTP, stateless
//! with JSON responses, so any execution environment answers any request.
//! The HTTP edge (`handlers::mcp`) authenticates the API key and hands each
//! request a [`Call`]; every tool checks its scope, then calls the same
//! domain functions as the REST routes.

mod shapes;
mod tools;

use crate::app::App;
use crate::auth;
use crate::error::ApiError;
use crate::http::RequestScope;
use crate::model::{ApiKey, Scope};
use rmcp::RoleServer;
use rmcp::handler::server::common::{AsRequestContext, FromContextPart};
use rmcp::handler::server::tool::{IntoCallToolResult, ToolCallContext};
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde::de::DeserializeOwned;
use std::sync::{Arc, LazyLock};

pub use tools::Tools;

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
    /// The key, if it has `scope` (`insufficient_scope` naming it if not).
    fn scoped(&self, scope: Scope) -> Result<&ApiKey, ApiError> {
        auth::require_scope(&self.key, scope)?;
        Ok(&self.key)
    }

    /// The edge's `Call` of the HTTP request a tool call came in.
    pub(crate) fn of(context: &RequestContext<RoleServer>) -> Option<Call> {
        let parts = context
            .extensions
            .get::<lambda_http::http::request::Parts>()?;
        parts.extensions.get::<Call>().cloned()
    }
}

impl<C: AsRequestContext> FromContextPart<C> for Call {
    fn from_context_part(context: &mut C) -> Result<Self, rmcp::ErrorData> {
        Call::of(context.as_request_context())
            .ok_or_else(|| rmcp::ErrorData::internal_error("no call context", None))
    }
}

/// A tool's arguments, parsed like a REST body (`http::from_json`): a
/// refused field is a tool error naming it (`validation_failed`), which a
/// model can correct, not a protocol error.
pub struct Args<T>(pub Result<T, ApiError>);

impl<S, T: DeserializeOwned> FromContextPart<ToolCallContext<'_, S>> for Args<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, S>) -> Result<Self, rmcp::ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        Ok(Args(crate::http::from_json(serde_json::Value::Object(
            arguments,
        ))))
    }
}

/// A tool's failure: an MCP tool result with `isError`, its text the SPEC §7
/// error body (`{"error": {"code", "message", "details", "request_id"}}`).
pub struct ToolError(String);

impl ToolError {
    fn new(err: &ApiError, call: &Call, tool: &str) -> Self {
        if err.status.is_server_error() || err.status.as_u16() == 429 {
            tracing::warn!(
                tool,
                code = err.code,
                request_id = call.request_id,
                cause = err.cause(),
                "tool failed"
            );
        }
        ToolError(err.body(&call.request_id).to_string())
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        Ok(CallToolResult::error(vec![ContentBlock::text(self.0)]).into())
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
