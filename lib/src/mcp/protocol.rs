//! MCP's transport and lifecycle as this endpoint speaks them: Streamable
//! HTTP without sessions or streams (every `POST` is answered with one JSON
//! body, or `202` for a notification), for clients of two kinds of revision:
//!
//! - up to 2025-11-25: the `initialize` handshake, then requests naming
//!   their revision in the `MCP-Protocol-Version` header;
//! - 2026-07-28: no handshake; each request carries its revision and the
//!   client's capabilities in `_meta`, the same revision in the header, and
//!   its method (for `tools/call`, also the tool) in `Mcp-Method` /
//!   `Mcp-Name` headers (SEP-2243) that must agree with the body.
//!
//! [`read`] decides, from the headers and the message alone, what a request
//! asks for or why it is refused; the server (`super::answer`) does the work.
//! The rules follow the MCP specification and the official Rust SDK's
//! server (rmcp 3.11), which this replaced (docs/decisions.md).

use crate::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_http::http::{HeaderMap, Method as HttpMethod, StatusCode, header};
use serde_json::{Map, Value, json};

/// The revisions served, oldest first.
pub const VERSIONS: [&str; 5] = [
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
    "2026-07-28",
];
/// The first revision without the handshake (revisions are dates, so they
/// compare as strings).
const NO_HANDSHAKE: &str = "2026-07-28";
/// What `initialize` agrees to when the client asks for a revision we do
/// not serve or one without a handshake.
const LATEST_WITH_HANDSHAKE: &str = "2025-11-25";
/// The revision of a request that names none (clients before 2025-06-18
/// sent no header).
const ASSUMED: &str = "2025-03-26";

const VERSION_HEADER: &str = "mcp-protocol-version";
const METHOD_HEADER: &str = "mcp-method";
const NAME_HEADER: &str = "mcp-name";
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";

/// JSON-RPC's error codes, and MCP's.
pub const INVALID_REQUEST: i32 = -32600;
pub const METHOD_NOT_FOUND: i32 = -32601;
pub const INVALID_PARAMS: i32 = -32602;
pub const HEADER_MISMATCH: i32 = -32020;
pub const UNSUPPORTED_VERSION: i32 = -32022;

/// A request the server answers.
#[derive(Debug, PartialEq)]
pub struct Request {
    /// Its JSON-RPC id (a string or a number), echoed in the answer.
    pub id: Value,
    pub method: Method,
    /// The revision it speaks: results take that revision's shape.
    pub version: String,
    /// It negotiated its revision itself (`_meta`, or `server/discover`):
    /// its errors take HTTP statuses (a method not found is a `404`).
    pub negotiated: bool,
}

impl Request {
    /// Speaks 2026-07-28 or later (results say `resultType`, lists how long
    /// they stay fresh).
    pub fn modern(&self) -> bool {
        self.version.as_str() >= NO_HANDSHAKE
    }
}

#[derive(Debug, PartialEq)]
pub enum Method {
    /// The handshake, with the revision agreed.
    Initialize {
        version: &'static str,
    },
    /// Only in the handshake's revisions (2026-07-28 dropped it).
    Ping,
    Discover,
    ListTools,
    CallTool {
        name: String,
        arguments: Map<String, Value>,
    },
    /// Anything else: JSON-RPC's method not found.
    Other(String),
}

/// What a `POST` asks for.
#[derive(Debug, PartialEq)]
pub enum Read {
    Request(Request),
    /// A notification: accepted (`202`), nothing to do without a session.
    Notification,
}

/// A refusal as JSON-RPC: an error object for `id`, in an HTTP status.
#[derive(Debug, PartialEq)]
pub struct RpcError {
    pub status: StatusCode,
    pub id: Option<Value>,
    pub code: i32,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(id: Option<&Value>, code: i32, message: impl Into<String>) -> Self {
        RpcError {
            status: StatusCode::OK,
            id: id.cloned(),
            code,
            message: message.into(),
            data: None,
        }
    }

    /// A request the transport refuses outright: `400`.
    fn bad(id: Option<&Value>, code: i32, message: impl Into<String>) -> Self {
        RpcError {
            status: StatusCode::BAD_REQUEST,
            ..Self::new(id, code, message)
        }
    }

    /// The JSON-RPC error message.
    pub fn body(&self) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        match &self.id {
            Some(id) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
            None => json!({"jsonrpc": "2.0", "error": error}),
        }
    }
}

/// Why a `POST` is not served.
#[derive(Debug)]
pub enum Refusal {
    /// Before any JSON-RPC (method, media types, a body that is no JSON-RPC
    /// message, an unknown revision header): a SPEC §7 body.
    Http(ApiError),
    Rpc(Box<RpcError>),
}

impl From<ApiError> for Refusal {
    fn from(err: ApiError) -> Self {
        Refusal::Http(err)
    }
}

impl From<RpcError> for Refusal {
    fn from(err: RpcError) -> Self {
        Refusal::Rpc(Box::new(err))
    }
}

/// `POST` only: the endpoint offers no stream to `GET` and keeps no
/// session to `DELETE` (`405`).
pub fn allowed(method: &HttpMethod) -> Result<(), ApiError> {
    if method != HttpMethod::POST {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "the MCP endpoint takes POST only: it offers no stream and keeps no session",
        ));
    }
    Ok(())
}

/// A client that takes both JSON and event streams (`406`) and sends JSON
/// (`415`).
pub fn media_types(headers: &HeaderMap) -> Result<(), ApiError> {
    let accepts = |wanted: &str| {
        headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|range| media_range_accepts(range, wanted))
    };
    if !accepts("application/json") || !accepts("text/event-stream") {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            "Accept must list both application/json and text/event-stream",
        ));
    }
    let json_content = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| essence(value).eq_ignore_ascii_case("application/json"));
    if !json_content {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json",
        ));
    }
    Ok(())
}

/// A media type without its parameters.
fn essence(value: &str) -> &str {
    value.split(';').next().unwrap_or_default().trim()
}

/// `range` (one entry of `Accept`) names `wanted`, with no zero weight.
fn media_range_accepts(range: &str, wanted: &str) -> bool {
    let mut parts = range.split(';');
    let named = parts
        .next()
        .is_some_and(|name| name.trim().eq_ignore_ascii_case(wanted));
    let refused = parts.any(|parameter| {
        parameter.split_once('=').is_some_and(|(name, weight)| {
            name.trim().eq_ignore_ascii_case("q")
                && weight
                    .trim()
                    .parse::<f32>()
                    .is_ok_and(|weight| weight == 0.0)
        })
    });
    named && !refused
}

/// Reads a JSON-RPC message with the headers it came with: what it asks for,
/// or why it is refused. Pure: the server acts on the answer.
pub fn read(headers: &HeaderMap, message: Value) -> Result<Read, Refusal> {
    let header_version = single_header(headers, VERSION_HEADER).map_err(invalid_mcp_request)?;
    let Envelope { id, method, params } = Envelope::of(message)?;
    let meta = Meta::of(&params);
    let initialize = id.is_some() && method == "initialize";

    // The revision header: on `initialize` the one asked for; otherwise one
    // we serve, unless the request names its own revision in `_meta`.
    if initialize {
        if let (Some(header), Some(body)) = (header_version, params.get("protocolVersion"))
            && Some(header) != body.as_str()
        {
            return Err(RpcError::bad(
                id.as_ref(),
                INVALID_REQUEST,
                format!(
                    "MCP-Protocol-Version header ({header}) does not match params.protocolVersion"
                ),
            )
            .into());
        }
    } else if let Some(header) = header_version
        && !(id.is_some() && meta.version.is_some())
        && !VERSIONS.contains(&header)
    {
        return Err(
            invalid_mcp_request(format!("unsupported MCP-Protocol-Version: {header}")).into(),
        );
    }

    // SEP-2243: from 2026-07-28 the method (and a tool's name) travel in
    // headers too, for proxies that route without reading the body.
    if header_version.is_some_and(|version| version >= NO_HANDSHAKE) {
        standard_headers(headers, id.as_ref(), &method, &params, initialize)
            .map_err(|reason| RpcError::bad(id.as_ref(), HEADER_MISMATCH, reason))?;
    }

    let Some(id) = id else {
        return Ok(Read::Notification);
    };
    if initialize {
        let Some(asked) = params.get("protocolVersion").and_then(Value::as_str) else {
            return Err(RpcError::new(
                Some(&id),
                INVALID_PARAMS,
                "params.protocolVersion must be a string",
            )
            .into());
        };
        let version = VERSIONS
            .into_iter()
            .find(|served| *served == asked && *served < NO_HANDSHAKE)
            .unwrap_or(LATEST_WITH_HANDSHAKE);
        return Ok(Read::Request(Request {
            id,
            method: Method::Initialize { version },
            version: version.to_owned(),
            negotiated: false,
        }));
    }

    let discover = method == "server/discover";
    let handshake_free = discover || meta.version.is_some_and(|v| v >= NO_HANDSHAKE);
    check_meta(&id, &meta, header_version, discover, handshake_free)?;
    let version = meta
        .version
        .or(header_version)
        .unwrap_or(ASSUMED)
        .to_owned();
    let legacy = !handshake_free && version.as_str() < NO_HANDSHAKE;
    let method = match method.as_str() {
        "ping" if legacy => Method::Ping,
        "server/discover" => Method::Discover,
        "tools/list" => Method::ListTools,
        "tools/call" => tool_call(&id, &params)?,
        _ => Method::Other(method),
    };
    Ok(Read::Request(Request {
        id,
        method,
        version,
        negotiated: meta.version.is_some() || discover,
    }))
}

/// A request's `_meta` against the revision header: from 2026-07-28 (and
/// for `server/discover`, always) it carries the revision, one we serve and
/// the header's, and the client's capabilities, which the handshake gave
/// before.
fn check_meta(
    id: &Value,
    meta: &Meta,
    header_version: Option<&str>,
    discover: bool,
    handshake_free: bool,
) -> Result<(), Refusal> {
    match (meta.version, header_version) {
        (None, header) if discover || header.is_some_and(|v| v >= NO_HANDSHAKE) => {
            return Err(meta_missing(id, meta).into());
        }
        (Some(_), None) => {
            return Err(RpcError::bad(
                Some(id),
                HEADER_MISMATCH,
                "a request naming its revision in _meta needs the MCP-Protocol-Version header",
            )
            .into());
        }
        (Some(meta_version), Some(header)) if meta_version != header => {
            return Err(RpcError::bad(
                Some(id),
                HEADER_MISMATCH,
                format!(
                    "MCP-Protocol-Version header ({header}) does not match _meta protocolVersion ({meta_version})"
                ),
            ).into());
        }
        _ => {}
    }
    if let Some(asked) = meta.version
        && !VERSIONS.contains(&asked)
    {
        let mut err = RpcError::bad(
            Some(id),
            UNSUPPORTED_VERSION,
            "Unsupported protocol version",
        );
        err.data = Some(json!({"requested": asked, "supported": VERSIONS}));
        return Err(err.into());
    }
    if handshake_free && !meta.complete() {
        return Err(meta_missing(id, meta).into());
    }
    Ok(())
}

/// `tools/call`'s params: a tool's name and, if any, an object of arguments.
fn tool_call(id: &Value, params: &Map<String, Value>) -> Result<Method, Refusal> {
    let Some(Value::String(name)) = params.get("name") else {
        return Err(RpcError::new(
            Some(id),
            INVALID_PARAMS,
            "params.name must be a tool's name",
        )
        .into());
    };
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(arguments)) => arguments.clone(),
        Some(_) => {
            return Err(RpcError::new(
                Some(id),
                INVALID_PARAMS,
                "params.arguments must be an object",
            )
            .into());
        }
    };
    Ok(Method::CallTool {
        name: name.clone(),
        arguments,
    })
}

/// A JSON-RPC request's or notification's parts (a request has an id).
struct Envelope {
    id: Option<Value>,
    method: String,
    params: Map<String, Value>,
}

impl Envelope {
    fn of(message: Value) -> Result<Self, Refusal> {
        let Value::Object(mut message) = message else {
            return Err(not_json_rpc().into());
        };
        if message.get("jsonrpc") != Some(&json!("2.0")) {
            return Err(not_json_rpc().into());
        }
        let params = match message.remove("params") {
            None => Map::new(),
            Some(Value::Object(params)) => params,
            Some(_) => return Err(not_json_rpc().into()),
        };
        let id = match message.remove("id") {
            None => None,
            Some(id @ (Value::String(_) | Value::Number(_))) => Some(id),
            Some(_) => return Err(not_json_rpc().into()),
        };
        let method = match message.remove("method") {
            Some(Value::String(method)) => method,
            Some(_) => return Err(not_json_rpc().into()),
            None if id.is_some()
                && (message.contains_key("result") || message.contains_key("error")) =>
            {
                return Err(RpcError::bad(
                    None,
                    INVALID_REQUEST,
                    "a stateless server has asked nothing to answer: JSON-RPC responses are not accepted",
                )
                .into());
            }
            None => return Err(not_json_rpc().into()),
        };
        Ok(Envelope { id, method, params })
    }
}

/// What a request's `_meta` says of the client.
struct Meta<'a> {
    version: Option<&'a str>,
    capabilities: bool,
}

impl<'a> Meta<'a> {
    fn of(params: &'a Map<String, Value>) -> Self {
        let meta = params.get("_meta").and_then(Value::as_object);
        let field = |key| meta.and_then(|meta| meta.get(key));
        Meta {
            version: field(META_VERSION).and_then(Value::as_str),
            capabilities: field(META_CAPABILITIES).is_some_and(Value::is_object),
        }
    }

    fn complete(&self) -> bool {
        self.version.is_some() && self.capabilities
    }
}

fn meta_missing(id: &Value, meta: &Meta) -> RpcError {
    let missing: Vec<&str> = [
        (meta.version.is_none(), META_VERSION),
        (!meta.capabilities, META_CAPABILITIES),
    ]
    .into_iter()
    .filter_map(|(missing, key)| missing.then_some(key))
    .collect();
    RpcError::bad(
        Some(id),
        INVALID_PARAMS,
        format!(
            "request _meta is missing or has malformed required fields: {}",
            missing.join(", ")
        ),
    )
}

/// `Mcp-Method` (and for `tools/call`, `Mcp-Name`) as SEP-2243 asks: each
/// given once and agreeing with the body. The handshake may omit them.
fn standard_headers(
    headers: &HeaderMap,
    id: Option<&Value>,
    method: &str,
    params: &Map<String, Value>,
    initialize: bool,
) -> Result<(), String> {
    match single_header(headers, METHOD_HEADER)? {
        None if initialize => return Ok(()),
        None => return Err("missing required Mcp-Method header".to_owned()),
        Some(value) if value != method => {
            return Err(format!(
                "Mcp-Method header `{value}` does not match body method `{method}`"
            ));
        }
        Some(_) => {}
    }
    let tool = params.get("name").and_then(Value::as_str);
    if let (true, Some(Some(tool))) = (id.is_some(), (method == "tools/call").then_some(tool)) {
        let value = single_header(headers, NAME_HEADER)?
            .ok_or_else(|| "missing required Mcp-Name header for `tools/call`".to_owned())?;
        let named =
            decoded(value).ok_or_else(|| "Mcp-Name header is not valid Base64".to_owned())?;
        if named != tool {
            return Err(format!(
                "Mcp-Name header `{named}` does not match body value `{tool}`"
            ));
        }
    }
    Ok(())
}

/// A header given at most once, as text.
fn single_header<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, String> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("duplicate {name} header"));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| format!("{name} header contains invalid characters"))
}

/// A SEP-2243 header value: as is, or Base64 inside `=?base64?…?=`.
fn decoded(value: &str) -> Option<String> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|inner| inner.strip_suffix("?="))
    {
        Some(inner) => String::from_utf8(BASE64.decode(inner).ok()?).ok(),
        None => Some(value.to_owned()),
    }
}

fn not_json_rpc() -> ApiError {
    invalid_mcp_request("the body is no JSON-RPC 2.0 request or notification")
}

fn invalid_mcp_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_mcp_request", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn request(method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
    }

    fn meta(version: &str) -> Value {
        json!({
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {}
        })
    }

    /// A 2026-07-28 request with every header it needs.
    fn modern(method: &str, mut params: Value) -> (HeaderMap, Value) {
        params["_meta"] = meta("2026-07-28");
        let mut pairs = vec![
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", method),
        ];
        let name = params["name"].as_str().map(str::to_owned);
        if let Some(name) = &name {
            pairs.push(("mcp-name", name));
        }
        (headers(&pairs), request(method, params))
    }

    fn served(headers: &HeaderMap, message: Value) -> Request {
        match read(headers, message) {
            Ok(Read::Request(request)) => request,
            other => panic!("not served: {other:?}"),
        }
    }

    /// The JSON-RPC code and HTTP status of a refusal.
    fn refused(headers: &HeaderMap, message: Value) -> (i32, u16) {
        match read(headers, message) {
            Err(Refusal::Rpc(err)) => (err.code, err.status.as_u16()),
            other => panic!("not a JSON-RPC refusal: {other:?}"),
        }
    }

    fn refused_before_json_rpc(headers: &HeaderMap, message: Value) -> ApiError {
        match read(headers, message) {
            Err(Refusal::Http(err)) => err,
            other => panic!("not refused before JSON-RPC: {other:?}"),
        }
    }

    #[test]
    fn the_handshake_agrees_to_the_revision_asked_for_or_the_latest_with_a_handshake() {
        for (asked, agreed) in [
            ("2024-11-05", "2024-11-05"),
            ("2025-11-25", "2025-11-25"),
            ("2026-07-28", "2025-11-25"),
            ("2030-01-01", "2025-11-25"),
        ] {
            let init = request("initialize", json!({"protocolVersion": asked}));
            let request = served(&HeaderMap::new(), init);
            assert_eq!(
                request.method,
                Method::Initialize { version: agreed },
                "{asked}"
            );
        }
        let init = request("initialize", json!({"protocolVersion": "2025-11-25"}));
        let other = headers(&[("mcp-protocol-version", "2025-06-18")]);
        assert_eq!(refused(&other, init), (INVALID_REQUEST, 400));
    }

    #[test]
    fn a_revision_header_we_do_not_serve_is_refused_unless_the_request_names_its_own() {
        let unknown = headers(&[("mcp-protocol-version", "1999-01-01")]);
        let err = refused_before_json_rpc(&unknown, request("ping", json!({})));
        assert_eq!(
            (err.status.as_u16(), err.code),
            (400, "invalid_mcp_request")
        );
        let known = headers(&[("mcp-protocol-version", "2025-11-25")]);
        assert_eq!(
            served(&known, request("ping", json!({}))).method,
            Method::Ping
        );
        // Named in _meta too: refused as a revision we do not serve, with
        // the ones we do.
        let future = headers(&[
            ("mcp-protocol-version", "2099-01-01"),
            ("mcp-method", "tools/list"),
        ]);
        let message = request("tools/list", json!({"_meta": meta("2099-01-01")}));
        match read(&future, message) {
            Err(Refusal::Rpc(err)) => {
                assert_eq!((err.code, err.status.as_u16()), (UNSUPPORTED_VERSION, 400));
                assert_eq!(err.data.unwrap()["supported"], json!(VERSIONS));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn from_2026_07_28_the_method_and_tool_headers_must_agree_with_the_body() {
        let call = json!({"name": "get_contact", "arguments": {}});
        let (good, message) = modern("tools/call", call.clone());
        assert!(matches!(
            served(&good, message.clone()).method,
            Method::CallTool { ref name, .. } if name == "get_contact"
        ));
        let without = |name: &str| {
            let mut headers = good.clone();
            headers.remove(name);
            headers
        };
        let with = |name: &'static str, value: &str| {
            let mut headers = good.clone();
            headers.insert(name, HeaderValue::from_str(value).unwrap());
            headers
        };
        let mut twice = good.clone();
        twice.append("mcp-method", HeaderValue::from_static("tools/call"));
        for refused_headers in [
            without("mcp-method"),
            with("mcp-method", "tools/list"),
            twice,
            without("mcp-name"),
            with("mcp-name", "get_company"),
            with("mcp-name", "=?base64?not base64?="),
        ] {
            assert_eq!(
                refused(&refused_headers, message.clone()),
                (HEADER_MISMATCH, 400),
                "{refused_headers:?}"
            );
        }
        // A value may travel Base64-encoded.
        let encoded = with("mcp-name", "=?base64?Z2V0X2NvbnRhY3Q=?=");
        assert!(matches!(
            served(&encoded, message).method,
            Method::CallTool { .. }
        ));
        // Before 2026-07-28 nobody sends them.
        let legacy = headers(&[("mcp-protocol-version", "2025-11-25")]);
        assert!(matches!(
            served(&legacy, request("tools/call", call)).method,
            Method::CallTool { .. }
        ));
    }

    #[test]
    fn a_request_without_the_handshake_carries_its_revision_and_capabilities() {
        let (headers, mut message) = modern("tools/list", json!({}));
        let listed = served(&headers, message.clone());
        assert!(listed.negotiated && listed.modern());
        // Its revision is the header's.
        message["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2025-11-25");
        assert_eq!(refused(&headers, message.clone()), (HEADER_MISMATCH, 400));
        let (_, mut message) = modern("tools/list", json!({}));
        assert_eq!(
            refused(&HeaderMap::new(), message.clone()),
            (HEADER_MISMATCH, 400)
        );
        // Both fields are required.
        message["params"]["_meta"]
            .as_object_mut()
            .unwrap()
            .remove("io.modelcontextprotocol/clientCapabilities");
        assert_eq!(refused(&headers, message), (INVALID_PARAMS, 400));
        let (headers, _) = modern("tools/list", json!({}));
        assert_eq!(
            refused(&headers, request("tools/list", json!({}))),
            (INVALID_PARAMS, 400)
        );
        // Discovery is always without the handshake.
        let (headers, mut discover) = modern("server/discover", json!({}));
        assert_eq!(served(&headers, discover.clone()).method, Method::Discover);
        discover["params"] = json!({});
        assert_eq!(refused(&headers, discover), (INVALID_PARAMS, 400));
    }

    #[test]
    fn ping_belongs_to_the_handshake_revisions() {
        let legacy = served(&HeaderMap::new(), request("ping", json!({})));
        assert_eq!((legacy.method, legacy.negotiated), (Method::Ping, false));
        let (headers, message) = modern("ping", json!({}));
        let modern = served(&headers, message);
        assert_eq!(modern.method, Method::Other("ping".into()));
        assert!(modern.negotiated);
    }

    #[test]
    fn notifications_are_accepted_and_what_is_no_request_is_refused() {
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(read(&HeaderMap::new(), note).unwrap(), Read::Notification);
        let response = json!({"jsonrpc": "2.0", "id": 1, "result": {}});
        assert_eq!(refused(&HeaderMap::new(), response), (INVALID_REQUEST, 400));
        for message in [
            json!([]),
            json!({"id": 1, "method": "ping"}),
            json!({"jsonrpc": "2.0", "id": null, "method": "ping"}),
            json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}),
        ] {
            let err = refused_before_json_rpc(&HeaderMap::new(), message);
            assert_eq!(err.code, "invalid_mcp_request");
        }
        let call = |params| request("tools/call", params);
        for params in [
            json!({"arguments": {}}),
            json!({"name": "x", "arguments": 1}),
        ] {
            assert_eq!(
                refused(&HeaderMap::new(), call(params)),
                (INVALID_PARAMS, 200)
            );
        }
    }

    #[test]
    fn a_client_takes_json_and_event_streams_and_sends_json() {
        let post =
            |pairs: &[(&'static str, &str)]| media_types(&headers(pairs)).map_err(|err| err.code);
        let json = ("content-type", "application/json; charset=utf-8");
        assert!(post(&[("accept", "application/json, text/event-stream"), json]).is_ok());
        assert!(
            post(&[
                ("accept", "text/event-stream;q=0.5"),
                ("accept", "application/json"),
                json
            ])
            .is_ok()
        );
        for accept in [
            "application/json",
            "*/*",
            "application/json, text/event-stream;q=0",
        ] {
            assert_eq!(
                post(&[("accept", accept), json]),
                Err("not_acceptable"),
                "{accept}"
            );
        }
        let both = ("accept", "application/json, text/event-stream");
        assert_eq!(post(&[both]), Err("unsupported_media_type"));
        assert_eq!(
            post(&[both, ("content-type", "text/plain")]),
            Err("unsupported_media_type")
        );
        assert!(allowed(&HttpMethod::POST).is_ok());
        assert_eq!(
            allowed(&HttpMethod::GET).unwrap_err().code,
            "method_not_allowed"
        );
    }
}
