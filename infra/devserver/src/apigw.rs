//! API Gateway emulation. [`ApiRequest`] is an HTTP request as an HTTP API
//! (payload format 2.0) event — route key, raw path and query, lower-cased
//! headers, path parameters, request id, JWT authorizer claims — and becomes a
//! `lambda_http::Request` through `lambda_http::request::from_str`, the same
//! deserialisation a deployed function runs. Tests build requests with it too.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lambda_http::Request;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Headers API Gateway sets itself; a client's values never reach the function.
const GATEWAY_HEADERS: [&str; 4] = [
    "host",
    "x-forwarded-for",
    "x-forwarded-port",
    "x-forwarded-proto",
];

/// Characters left as they are in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[derive(Debug, Clone)]
pub struct ApiRequest {
    method: String,
    route_path: String,
    raw_path: String,
    raw_query: String,
    headers: BTreeMap<String, String>,
    path_parameters: BTreeMap<String, String>,
    claims: Option<BTreeMap<String, String>>,
    body: Option<Vec<u8>>,
    request_id: String,
}

impl ApiRequest {
    /// A request to the route `method route_path`, e.g. `GET /api/projects/{id}`.
    pub fn new(method: &str, route_path: &str) -> Self {
        ApiRequest {
            method: method.to_owned(),
            route_path: route_path.to_owned(),
            raw_path: route_path.to_owned(),
            raw_query: String::new(),
            headers: BTreeMap::from([
                ("host".to_owned(), "localhost".to_owned()),
                ("x-forwarded-proto".to_owned(), "http".to_owned()),
            ]),
            path_parameters: BTreeMap::new(),
            claims: None,
            body: None,
            request_id: ulid::Ulid::new().to_string(),
        }
    }

    /// Sets a path parameter and puts it, encoded, into the raw path.
    pub fn path_param(mut self, name: &str, value: &str) -> Self {
        let encoded = utf8_percent_encode(value, SEGMENT).to_string();
        self.raw_path = self.raw_path.replace(&format!("{{{name}}}"), &encoded);
        self.path_parameters
            .insert(name.to_owned(), value.to_owned());
        self
    }

    /// The request's actual path (the dev server passes what the client sent).
    pub fn raw_path(mut self, path: &str) -> Self {
        self.raw_path = path.to_owned();
        self
    }

    pub fn query(mut self, raw_query: &str) -> Self {
        self.raw_query = raw_query.to_owned();
        self
    }

    /// Adds a header; like API Gateway, names are lower-cased, repeats joined
    /// with commas, and the gateway's own headers (`host`, `x-forwarded-*`) kept.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        if GATEWAY_HEADERS.contains(&name.as_str()) {
            return self;
        }
        self.headers
            .entry(name)
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn json(self, body: &Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }

    /// The JWT authorizer's claims, as API Gateway passes them (all strings).
    pub fn claims(mut self, claims: BTreeMap<String, String>) -> Self {
        self.claims = Some(claims);
        self
    }

    /// Shorthand for a signed-in user whose token the authorizer accepted.
    pub fn user(self, sub: &str) -> Self {
        self.claims(BTreeMap::from([("sub".to_owned(), sub.to_owned())]))
    }

    /// `(method, route path)`, as the route table names the route.
    pub fn route(&self) -> (&str, &str) {
        (&self.method, &self.route_path)
    }

    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The HTTP API payload v2 event API Gateway would deliver.
    pub fn event(&self) -> Value {
        let now = OffsetDateTime::now_utc();
        let route_key = format!("{} {}", self.method, self.route_path);
        let mut query = Map::new();
        for (name, value) in form_pairs(&self.raw_query) {
            match query.get_mut(&name) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(&value);
                }
                _ => {
                    query.insert(name, Value::String(value));
                }
            }
        }
        let (body, is_base64) = match &self.body {
            None => (Value::Null, false),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => (Value::String(text.to_owned()), false),
                Err(_) => (Value::String(STANDARD.encode(bytes)), true),
            },
        };
        let mut context = json!({
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": self.method,
                "path": self.raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": self.headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": self.request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.to_string(),
            "timeEpoch": now.unix_timestamp() * 1000,
        });
        if let Some(claims) = &self.claims {
            context["authorizer"] = json!({ "jwt": { "claims": claims, "scopes": null } });
        }
        // Payload 2.0 moves the cookies out of the headers.
        let mut headers = self.headers.clone();
        let cookies: Vec<String> = headers
            .remove("cookie")
            .map(|c| {
                c.split(';')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": self.raw_path,
            "rawQueryString": self.raw_query,
            "headers": headers,
            "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
            "pathParameters": if self.path_parameters.is_empty() { json!(null) } else { json!(self.path_parameters) },
            "requestContext": context,
            "body": body,
            "isBase64Encoded": is_base64,
        });
        if !cookies.is_empty() {
            event["cookies"] = json!(cookies);
        }
        event
    }

    /// The request a handler receives in Lambda for this event.
    pub fn into_lambda(self) -> Result<Request, serde_json::Error> {
        lambda_http::request::from_str(&self.event().to_string())
    }
}

fn form_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(name), decode(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;

    #[test]
    fn becomes_the_request_a_lambda_receives() {
        let request = ApiRequest::new("GET", "/api/companies/{id}")
            .path_param("id", "acme inc/1")
            .query("limit=2&tag=a&tag=b")
            .header("X-Project-Id", "pr_1")
            .user("u-1")
            .into_lambda()
            .unwrap();
        assert_eq!(request.uri().path(), "/api/companies/acme%20inc%2F1");
        assert_eq!(request.path_parameters().first("id"), Some("acme inc/1"));
        assert_eq!(
            request.query_string_parameters().all("tag"),
            Some(vec!["a", "b"])
        );
        assert_eq!(request.headers()["x-project-id"], "pr_1");
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            panic!("an HTTP API v2 request context");
        };
        assert_eq!(
            context.route_key.as_deref(),
            Some("GET /api/companies/{id}")
        );
        let claims = &context
            .authorizer
            .as_ref()
            .unwrap()
            .jwt
            .as_ref()
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], "u-1");
    }

    #[test]
    fn gateway_headers_are_the_gateways() {
        let request = ApiRequest::new("GET", "/api/stages")
            .header("Host", "evil host")
            .header("X-Forwarded-Proto", "not a scheme")
            .header("Accept", "a")
            .header("accept", "b")
            .into_lambda()
            .unwrap();
        assert_eq!(request.headers()["host"], "localhost");
        assert_eq!(request.headers()["accept"], "a,b");
    }

    #[test]
    fn binary_bodies_travel_base64_encoded() {
        let event = ApiRequest::new("POST", "/x").body(vec![0xff, 0xfe]).event();
        assert_eq!(event["isBase64Encoded"], true);
        let request = ApiRequest::new("POST", "/x")
            .body(vec![0xff, 0xfe])
            .into_lambda()
            .unwrap();
        assert_eq!(request.body().as_ref(), [0xff, 0xfe]);
    }
}
