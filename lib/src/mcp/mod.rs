//! The hosted MCP endpoint (`POST /mcp`): CRM tools for AI clients over
//! Streamable HTTP, stateless with JSON answers, so any execution
//! environment answers any request. The HTTP edge (`handlers::mcp`)
//! authenticates the API key; [`protocol`] reads what a request asks for
//! (both revisions' lifecycles); [`answer`] answers it; every tool checks
//! its scope, then calls the same domain functions as the REST routes.
//!
//! The tool list a client reads is `docs/mcp-tools.json`, generated from
//! the tools' declarations ([`catalogue`], `infra/openapi.sh`) and served as
//! committed: the route builds no schemas (docs/performance.md).

mod protocol;
mod shapes;
mod tools;

use crate::app::App;
use crate::error::ApiError;
use crate::http::{self, Response};
use crate::model::ApiKey;
use lambda_http::http::StatusCode;
use protocol::{INVALID_PARAMS, METHOD_NOT_FOUND, Method, Read, Refusal, Request, RpcError};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// What the HTTP edge learnt about a request, for its tools: the key (its
/// project is the only one a tool reaches) and the request's id.
pub struct Call {
    pub app: &'static App,
    pub key: ApiKey,
    pub request_id: String,
}

const INSTRUCTIONS: &str = "HAL's CRM: the contacts (people) and companies a website's chat \
    widget learnt about, the sales pipeline (stages, deal values) and the chat conversations. \
    Find with search_contacts / search_companies, read with get_contact / get_company / \
    pipeline_summary, act with set_company_stage, set_deal_value, add_company_note and \
    reply_to_conversation. What a tool may do depends on the API key's scopes.";

/// Answers an MCP request (`POST /mcp`, any method) of an authenticated
/// key. Its body is read as every route's is (`http::json_body`: 413,
/// `invalid_json`, a key given twice refused).
pub async fn serve(call: &Call, req: &lambda_http::Request) -> Result<Response, ApiError> {
    protocol::allowed(req.method())?;
    let message = http::json_body(req)?;
    protocol::media_types(req.headers())?;
    let request = match protocol::read(req.headers(), message) {
        Ok(Read::Request(request)) => request,
        Ok(Read::Notification) => return Ok(http::empty(StatusCode::ACCEPTED)),
        Err(Refusal::Http(err)) => return Err(err),
        Err(Refusal::Rpc(err)) => return Ok(http::json(err.status, &err.body())),
    };
    #[derive(Serialize)]
    struct Answer<'a> {
        jsonrpc: &'static str,
        id: &'a Value,
        result: &'a RawValue,
    }
    let id = request.id.clone();
    Ok(match answer(call, request).await {
        Ok(result) => http::json(
            StatusCode::OK,
            &Answer {
                jsonrpc: "2.0",
                id: &id,
                result: &result,
            },
        ),
        Err(err) => http::json(err.status, &err.body()),
    })
}

/// The result of a request the protocol let through.
async fn answer(call: &Call, request: Request) -> Result<Box<RawValue>, RpcError> {
    let id = Some(&request.id);
    let modern = request.modern();
    let server_info = json!({"name": "hal-crm", "version": env!("CARGO_PKG_VERSION")});
    let result = match request.method {
        Method::Initialize { version } => json!({
            "protocolVersion": version,
            "capabilities": {"tools": {}},
            "serverInfo": server_info,
            "instructions": INSTRUCTIONS,
        }),
        Method::Ping => json!({}),
        Method::Discover => json!({
            "resultType": "complete",
            "supportedVersions": protocol::VERSIONS,
            "capabilities": {"tools": {}},
            "instructions": INSTRUCTIONS,
            "ttlMs": 0,
            "cacheScope": "private",
            "_meta": {"io.modelcontextprotocol/serverInfo": server_info},
        }),
        Method::ListTools => return Ok(tool_list(modern)),
        Method::CallTool { name, arguments } => {
            let Some(run) = tools::call(call, &name, arguments) else {
                return Err(RpcError::new(
                    id,
                    INVALID_PARAMS,
                    format!("Unknown tool: {name}"),
                ));
            };
            tool_result(call, &name, run.await, modern)
        }
        Method::Other(method) => {
            let mut err =
                RpcError::new(id, METHOD_NOT_FOUND, format!("Method not found: {method}"));
            if request.negotiated {
                err.status = StatusCode::NOT_FOUND;
            }
            return Err(err);
        }
    };
    Ok(raw(&result))
}

fn raw(value: &impl Serialize) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("JSON values serialize")
}

/// A tool's answer as MCP's tool result: its value as structured content
/// (and as text, for clients that read only text), or, refused, `isError`
/// with the SPEC §7 error body as its text (`{"error": {"code", "message",
/// "details", "request_id"}}`) so a model can correct its call.
fn tool_result(call: &Call, tool: &str, outcome: Result<Value, ApiError>, modern: bool) -> Value {
    let mut result = Map::new();
    if modern {
        result.insert("resultType".into(), json!("complete"));
    }
    match outcome {
        Ok(value) => {
            result.insert("content".into(), text_content(value.to_string()));
            result.insert("structuredContent".into(), value);
            result.insert("isError".into(), json!(false));
        }
        Err(err) => {
            if err.status.is_server_error() || err.status.as_u16() == 429 {
                tracing::warn!(
                    tool,
                    code = err.code,
                    request_id = call.request_id,
                    cause = err.cause(),
                    "tool failed"
                );
            }
            let body = err.body(&call.request_id).to_string();
            result.insert("content".into(), text_content(body));
            result.insert("isError".into(), json!(true));
        }
    }
    Value::Object(result)
}

fn text_content(text: String) -> Value {
    json!([{"type": "text", "text": text}])
}

/// The tool list as served: `docs/mcp-tools.json`'s `tools`, as committed;
/// from 2026-07-28 with how long it stays fresh (it changes only with a
/// deployment, but a client would otherwise ask every time).
fn tool_list(modern: bool) -> Box<RawValue> {
    #[derive(Deserialize)]
    struct Document<'a> {
        #[serde(borrow)]
        tools: &'a RawValue,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Tools {
        #[serde(skip_serializing_if = "Option::is_none")]
        result_type: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_scope: Option<&'static str>,
        tools: &'static RawValue,
    }
    static TOOLS: LazyLock<&'static RawValue> = LazyLock::new(|| {
        let document: Document<'static> =
            serde_json::from_str(include_str!("../../../docs/mcp-tools.json"))
                .expect("docs/mcp-tools.json is a tool list");
        document.tools
    });
    raw(&Tools {
        result_type: modern.then_some("complete"),
        ttl_ms: modern.then_some(0),
        cache_scope: modern.then_some("public"),
        tools: *TOOLS,
    })
}

/// The tool list from the tools' declarations: what `docs/mcp-tools.json`
/// holds (`infra/openapi.sh` writes it; a test fails while it is stale).
/// The route itself never calls this.
pub fn catalogue() -> Value {
    let tools: Vec<Value> = tools::specs()
        .into_iter()
        .map(|spec| {
            let (input, output) = (spec.schemas)();
            let scope = serde_json::to_value(spec.scope).expect("a scope is a string");
            let description = format!("{} Needs {}.", spec.description, scope.as_str().unwrap());
            let hints = &spec.hints;
            let mut annotations = json!({"title": spec.title, "readOnlyHint": hints.read_only});
            // MCP gives the other two hints meaning only for tools that write.
            if !hints.read_only {
                annotations["destructiveHint"] = json!(hints.destructive);
                annotations["idempotentHint"] = json!(hints.idempotent);
            }
            annotations["openWorldHint"] = json!(hints.open_world);
            json!({
                "name": spec.name,
                "description": description,
                "inputSchema": input,
                "outputSchema": output,
                "annotations": annotations,
            })
        })
        .collect();
    json!({ "tools": tools })
}

/// A tool's arguments as JSON Schema 2020-12 (MCP's dialect), as the
/// arguments are read.
fn input_schema<T: JsonSchema>() -> Value {
    schema::<T>(SchemaSettings::draft2020_12())
}

/// A tool's result as JSON Schema 2020-12, as the result is written.
fn output_schema<T: JsonSchema>() -> Value {
    schema::<T>(SchemaSettings::draft2020_12().for_serialize())
}

/// The schema without its top-level title and description (the Rust type's
/// name and doc, noise to a model: the tool describes itself).
fn schema<T: JsonSchema>(settings: SchemaSettings) -> Value {
    let generator = SchemaGenerator::new(settings);
    let mut schema =
        serde_json::to_value(generator.into_root_schema_for::<T>()).expect("a schema is JSON");
    let object = schema.as_object_mut().expect("a schema is an object");
    object.remove("title");
    object.remove("description");
    schema
}
