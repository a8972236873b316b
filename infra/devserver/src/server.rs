//! The dev server's HTTP side: axum matches the route (its `{param}` syntax is
//! API Gateway's), checks the bearer token where the template puts the JWT
//! authorizer, and hands the handler the request a Lambda would get.

use crate::apigw::ApiRequest;
use crate::jwt::DevJwt;
use crate::routes::{Auth, ROUTES, Route};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::RawPathParams;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{MethodFilter, on};
use hal_crm::App;

/// API Gateway's own payload limit; the handlers enforce the API's 64 KiB.
const GATEWAY_BODY_LIMIT: usize = 10 * 1024 * 1024;

pub fn router(app: &'static App, jwt: DevJwt) -> Router {
    let mut router = Router::new();
    for route in ROUTES {
        let method = Method::from_bytes(route.method.as_bytes()).expect("route methods are valid");
        let filter = MethodFilter::try_from(method).expect("route methods are standard");
        let jwt = jwt.clone();
        router = router.route(
            route.path,
            on(
                filter,
                move |params: RawPathParams, req: axum::extract::Request| {
                    dispatch(app, jwt.clone(), route, params, req)
                },
            ),
        );
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
    app: &'static App,
    jwt: DevJwt,
    route: &'static Route,
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
    let Ok(request) = api.into_lambda() else {
        return gateway_message(StatusCode::BAD_REQUEST, "Bad Request");
    };
    let response = (route.handler)(app, request).await;
    let (parts, body) = response.into_parts();
    let mut response = Response::from_parts(parts, Body::from(body.to_vec()));
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("apigw-requestid", id);
    }
    response
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
