//! The dev server's HTTP side: axum matches the route (its `{param}` syntax is
//! API Gateway's), checks the bearer token where the template puts the JWT
//! authorizer, and hands the handler the request a Lambda would get: in
//! this process, or (the binaries mode) as the v2 event to the route's own
//! binary, whose answer it maps back as an HTTP API does.

use crate::apigw::ApiRequest;
use crate::functions::{Functions, Outcome};
use crate::jwt::DevJwt;
use crate::routes::{Auth, Handler, ROUTES, Route};
use crate::template::Function;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::RawPathParams;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter};
use base64::Engine;
use hal_crm::App;
use std::sync::Arc;

/// API Gateway's own payload limit; the handlers enforce the API's 64 KiB.
const GATEWAY_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// What answers a routed request: the route's handler in this process, or
/// the route's own binary (the binaries mode, `functions`).
#[derive(Clone)]
pub enum Backend {
    InProcess(&'static App),
    Binaries(Arc<Functions>),
}

/// A route as API Gateway matches it, and what serves it.
#[derive(Clone, Copy)]
struct Target {
    method: &'static str,
    path: &'static str,
    auth: Auth,
    binary: &'static str,
    handler: Option<Handler>,
}

/// The in-process dev server: every route of the route table.
pub fn router(app: &'static App, jwt: DevJwt) -> Router {
    let targets = ROUTES.iter().map(|r: &'static Route| Target {
        method: r.method,
        path: r.path,
        auth: r.auth,
        binary: r.binary,
        handler: Some(r.handler),
    });
    gateway(targets, Backend::InProcess(app), jwt)
}

/// The binaries mode: every route of `template.yaml`'s functions, each
/// invoking its function's binary.
pub fn binaries_router(template: &[Function], functions: Arc<Functions>, jwt: DevJwt) -> Router {
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let targets: Vec<Target> = template
        .iter()
        .flat_map(|f| {
            f.routes.iter().map(|r| Target {
                method: leak(&r.method),
                path: leak(&r.path),
                auth: r.auth,
                binary: leak(&f.binary),
                handler: None,
            })
        })
        .collect();
    gateway(targets, Backend::Binaries(functions), jwt)
}

fn gateway(targets: impl IntoIterator<Item = Target>, backend: Backend, jwt: DevJwt) -> Router {
    let mut router = Router::new();
    let mut methods: std::collections::BTreeMap<&str, MethodRouter> = Default::default();
    for target in targets {
        let method = Method::from_bytes(target.method.as_bytes()).expect("route methods are valid");
        let filter = MethodFilter::try_from(method).expect("route methods are standard");
        let (jwt, backend) = (jwt.clone(), backend.clone());
        let handler = move |params: RawPathParams, req: axum::extract::Request| {
            dispatch(backend.clone(), jwt.clone(), target, params, req)
        };
        let entry = methods.remove(target.path).unwrap_or_default();
        methods.insert(target.path, entry.on(filter, handler));
    }
    for (path, method_router) in methods {
        router = router.route(path, method_router);
    }
    // API Gateway matches route keys (method and path): a path served for
    // other methods is as unknown as any other.
    router
        .fallback(|| async { gateway_message(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            gateway_message(StatusCode::NOT_FOUND, "Not Found")
        })
        .layer(axum::middleware::from_fn(cors))
}

/// The HTTP API's CORS configuration (`template.yaml`): API Gateway answers
/// preflights itself and adds the allow-origin header to every response.
async fn cors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let from_browser = req.headers().contains_key(header::ORIGIN);
    if from_browser && req.method() == Method::OPTIONS {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET,POST,PUT,PATCH,DELETE"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "authorization,content-type,x-project-id,x-api-key,mcp-protocol-version,mcp-method,mcp-name",
            ),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    let mut response = next.run(req).await;
    if from_browser {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

async fn dispatch(
    backend: Backend,
    jwt: DevJwt,
    route: Target,
    params: RawPathParams,
    req: axum::extract::Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = to_bytes(body, GATEWAY_BODY_LIMIT).await else {
        return gateway_message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let mut api = ApiRequest::new(route.method, route.path)
        .raw_path(parts.uri.path())
        .query(parts.uri.query().unwrap_or(""));
    for (name, value) in &params {
        api = api.path_param(name, value).raw_path(parts.uri.path());
    }
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            api = api.header(name.as_str(), value);
        }
    }
    if !body.is_empty() {
        api = api.body(body.to_vec());
    }
    if route.auth == Auth::Jwt {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match token.and_then(|t| jwt.verify(t)) {
            Some(claims) => api = api.claims(claims),
            None => return gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized"),
        }
    }
    let request_id = api.request_id().to_owned();
    let mut response = match (&backend, route.handler) {
        (Backend::InProcess(app), Some(handler)) => {
            let Ok(request) = api.into_lambda() else {
                return gateway_message(StatusCode::BAD_REQUEST, "Bad Request");
            };
            let (parts, body) = handler(app, request).await.into_parts();
            Response::from_parts(parts, Body::from(body.to_vec()))
        }
        (Backend::Binaries(functions), _) => {
            let outcome = functions
                .invoke(route.binary, api.event().to_string())
                .await;
            integration_response(route.binary, outcome)
        }
        (Backend::InProcess(_), None) => gateway_message(StatusCode::NOT_FOUND, "Not Found"),
    };
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", id);
    }
    response
}

/// What an HTTP API answers for an invocation (payload format 2.0): the
/// function's response document; `500 Internal Server Error` for a
/// function error or a document it cannot read; `503 Service Unavailable`
/// when no answer comes within the integration timeout (docs/decisions.md).
pub fn integration_response(binary: &str, outcome: Outcome) -> Response {
    let document = match outcome {
        Outcome::Response(bytes) => bytes,
        Outcome::FunctionError(error) => {
            tracing::warn!(binary, error, "function error");
            return gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
        }
        Outcome::NoAnswer => {
            tracing::warn!(binary, "no answer within the integration timeout");
            return gateway_message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
        }
    };
    match proxy_response(&document) {
        Some(response) => response,
        None => {
            tracing::warn!(binary, "malformed Lambda response");
            gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}

/// A Lambda proxy response (payload 2.0): `statusCode`, `headers`,
/// `multiValueHeaders`, `cookies`, `body` (`isBase64Encoded`). Valid JSON
/// without a `statusCode` is a 200 with that JSON as its body, as API
/// Gateway has it; anything else is `None`.
fn proxy_response(document: &[u8]) -> Option<Response> {
    let value: serde_json::Value = serde_json::from_slice(document).ok()?;
    let Some(status) = value.get("statusCode") else {
        let mut response = Response::new(Body::from(value.to_string()));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Some(response);
    };
    let status = StatusCode::from_u16(u16::try_from(status.as_u64()?).ok()?).ok()?;
    let body = match value.get("body") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(body) => {
            let text = body.as_str()?;
            if value["isBase64Encoded"].as_bool() == Some(true) {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .ok()?
            } else {
                text.as_bytes().to_vec()
            }
        }
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in value["headers"].as_object().into_iter().flatten() {
        let name = header::HeaderName::from_bytes(name.as_bytes()).ok()?;
        headers.insert(name, HeaderValue::from_str(value.as_str()?).ok()?);
    }
    for (name, values) in value["multiValueHeaders"].as_object().into_iter().flatten() {
        let name = header::HeaderName::from_bytes(name.as_bytes()).ok()?;
        for value in values.as_array()? {
            headers.append(name.clone(), HeaderValue::from_str(value.as_str()?).ok()?);
        }
    }
    for cookie in value["cookies"].as_array().into_iter().flatten() {
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_str(cookie.as_str()?).ok()?,
        );
    }
    Some(response)
}

/// API Gateway's own answers (before any function runs) are `{"message": ...}`.
fn gateway_message(status: StatusCode, message: &str) -> Response {
    let mut response = Response::new(Body::from(
        serde_json::json!({ "message": message }).to_string(),
    ));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The widget demo page (`widget/demo/index.html`), set to `project_id`:
/// the seed's common sync pattern in a browser. The dev server's own page,
/// not a route of the API.
pub fn demo(project_id: &str) -> Router {
    let page =
        include_str!("../../../widget/demo/index.html").replace("__HAL_PROJECT__", project_id);
    let page: &'static str = Box::leak(page.into_boxed_str());
    let serve = move || async move {
        let mut response = Response::new(Body::from(page));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    };
    Router::new()
        .route("/demo/", axum::routing::get(serve))
        .route("/demo", axum::routing::get(serve))
}
