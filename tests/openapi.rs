//! The OpenAPI description (`docs/openapi.json`): generated from the code,
//! committed current, served as committed, and naming exactly the routes the
//! dev server (and `template.yaml`) has. Schemathesis checks the API against
//! it (`infra/contract.sh`).

use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::{fresh_app, openapi_json, send};
use hal_devserver::routes::ROUTES;
use serde_json::Value;
use std::collections::BTreeSet;

fn committed() -> String {
    hal_crm_tests::committed("docs/openapi.json")
}

#[test]
fn the_committed_document_is_the_one_the_code_generates() {
    hal_crm_tests::assert_committed_current("docs/openapi.json", &openapi_json());
}

/// Every route but the MCP endpoint's, whose JSON-RPC has no operations
/// to describe here: it describes itself (`tools/list`).
fn described_routes() -> impl Iterator<Item = &'static hal_devserver::routes::Route> {
    ROUTES.iter().filter(|r| r.path != "/mcp")
}

#[test]
fn the_document_describes_every_route_and_no_other() {
    let document: Value = serde_json::from_str(&openapi_json()).unwrap();
    let mut described = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if [
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                described.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let routed: BTreeSet<_> = described_routes()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let missing: Vec<_> = routed.difference(&described).collect();
    let extra: Vec<_> = described.difference(&routed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes the document lacks: {missing:?}; described routes nobody serves: {extra:?}"
    );
}

#[test]
fn every_operation_id_is_its_functions_binary() {
    let document: Value = serde_json::from_str(&openapi_json()).unwrap();
    for route in described_routes() {
        let operation = &document["paths"][route.path][route.method.to_lowercase()];
        assert_eq!(
            operation["operationId"].as_str(),
            Some(route.binary),
            "{} {}",
            route.method,
            route.path
        );
    }
}

#[tokio::test]
async fn get_openapi_json_serves_the_committed_document() {
    let app = fresh_app().await;
    let served = send(app, ApiRequest::new("GET", "/api/openapi.json")).await;
    assert_eq!(served.status, 200);
    let committed: Value = serde_json::from_str(&committed()).unwrap();
    assert!(
        served.body == committed,
        "GET /api/openapi.json differs from docs/openapi.json"
    );
}
