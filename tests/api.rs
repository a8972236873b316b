//! Routes through their handlers (requests built as API Gateway delivers them),
//! the dev server over real HTTP, and the checks that keep `template.yaml`, the
//! dev server's route table, `functions/` and the table definition in step.

use hal_crm::handlers::{projects, stages};
use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::{Answer, all_items, call, committed, eventually, fresh_app, repo_root};
use hal_devserver::jwt::DevJwt;
use hal_devserver::routes::ROUTES;
use serde_json::{Value, json};
use std::collections::BTreeSet;

mod binaries;
mod generated;
mod openapi;
mod permissions;

const ALICE: &str = "user-alice";
const BOB: &str = "user-bob";

async fn create_project(app: &'static hal_crm::App, user: &str, name: &str) -> Answer {
    let request = ApiRequest::new("POST", "/api/projects")
        .user(user)
        .json(&json!({ "name": name }));
    call(app, projects::create, request).await
}

fn get_project_request(user: &str, id: &str) -> ApiRequest {
    ApiRequest::new("GET", "/api/projects/{id}")
        .path_param("id", id)
        .user(user)
}

// ---- POST /api/projects -------------------------------------------------------

#[tokio::test]
async fn creating_a_project_makes_the_caller_owner_with_default_stages() {
    let app = fresh_app().await;
    let created = create_project(app, ALICE, "  Acme site ").await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let body = &created.body;
    assert_eq!(body["name"], "Acme site");
    assert_eq!(body["role"], "owner");
    assert_eq!(body["default_stage_update_mode"], "advance_only");
    assert_eq!(body["require_identity_verification"], false);
    assert_eq!(body["identity_secret"].as_str().map(str::len), Some(64));
    assert!(body["id"].as_str().unwrap().starts_with("pr_"));

    let id = body["id"].as_str().unwrap();
    let request = ApiRequest::new("GET", "/api/stages")
        .user(ALICE)
        .header("X-Project-Id", id);
    let listed = call(app, stages::list, request).await;
    assert_eq!(listed.status, 200);
    let names: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    );
    let positions: Vec<u64> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2, 3, 4, 5, 6]);
    assert!(
        listed.body["data"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("stg_")
    );
    assert_eq!(listed.body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn project_routes_without_a_token_are_401() {
    let app = fresh_app().await;
    let answer = call(
        app,
        projects::create,
        ApiRequest::new("POST", "/api/projects").json(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.error_code(), "unauthorized");
    assert!(answer.body["error"]["request_id"].is_string());
    assert!(all_items(&app.store).await.is_empty());
}

#[tokio::test]
async fn bad_project_bodies_are_400_with_the_field_and_write_nothing() {
    let app = fresh_app().await;
    let cases = [
        ("{not json", "invalid_json", None),
        ("", "invalid_json", None),
        ("{}", "validation_failed", Some("name")),
        (r#"{"name": 5}"#, "validation_failed", Some("name")),
        (r#"{"name": "   "}"#, "validation_failed", Some("name")),
        (
            r#"{"name": "ok", "colour": "red"}"#,
            "validation_failed",
            Some("colour"),
        ),
    ];
    for (body, code, field) in cases {
        let request = ApiRequest::new("POST", "/api/projects")
            .user(ALICE)
            .body(body);
        let answer = call(app, projects::create, request).await;
        assert_eq!(answer.status, 400, "{body}: {:?}", answer.body);
        assert_eq!(answer.error_code(), code, "{body}");
        if let Some(field) = field {
            assert_eq!(answer.body["error"]["details"]["field"], field, "{body}");
        }
    }
    assert!(all_items(&app.store).await.is_empty());
}

#[tokio::test]
async fn oversized_bodies_are_413_and_write_nothing() {
    let app = fresh_app().await;
    let name = "x".repeat(65 * 1024);
    let request = ApiRequest::new("POST", "/api/projects")
        .user(ALICE)
        .json(&json!({ "name": name }));
    let answer = call(app, projects::create, request).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.error_code(), "payload_too_large");
    assert!(all_items(&app.store).await.is_empty());
}

// ---- GET /api/projects/{id}, GET /api/stages: tenancy -------------------------

#[tokio::test]
async fn a_project_is_404_to_non_members_and_for_malformed_ids() {
    let app = fresh_app().await;
    let id = create_project(app, ALICE, "Private").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own = call(app, projects::get, get_project_request(ALICE, &id)).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body["id"], id.as_str());

    for (user, id) in [(BOB, id.as_str()), (ALICE, "pr_nope"), (ALICE, "P#x#CT#y")] {
        let answer = call(app, projects::get, get_project_request(user, id)).await;
        assert_eq!(answer.status, 404, "{user} {id}");
        assert_eq!(answer.error_code(), "project_not_found");
    }
    let request = ApiRequest::new("GET", "/api/stages")
        .user(BOB)
        .header("X-Project-Id", &id);
    let answer = call(app, stages::list, request).await;
    assert_eq!(
        (answer.status.as_u16(), answer.error_code()),
        (404, "project_not_found")
    );
}

#[tokio::test]
async fn stages_need_the_project_header() {
    let app = fresh_app().await;
    let answer = call(
        app,
        stages::list,
        ApiRequest::new("GET", "/api/stages").user(ALICE),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body["error"]["details"]["field"], "X-Project-Id");
}

// ---- GET /api/projects: pagination and cursors --------------------------------

async fn list_projects(app: &'static hal_crm::App, user: &str, query: &str) -> Answer {
    call(
        app,
        projects::list,
        ApiRequest::new("GET", "/api/projects")
            .user(user)
            .query(query),
    )
    .await
}

#[tokio::test]
async fn listing_projects_pages_through_mine_only() {
    let app = fresh_app().await;
    let mut mine = BTreeSet::new();
    for n in 0..5 {
        mine.insert(
            create_project(app, ALICE, &format!("A{n}")).await.body["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    create_project(app, BOB, "Bob's").await;

    // A walk once the listing (gsi1, eventually consistent) shows them all.
    let seen = eventually("the listing shows every project", || async {
        let mut seen = Vec::new();
        let mut query = "limit=2".to_owned();
        loop {
            let page = list_projects(app, ALICE, &query).await;
            assert_eq!(page.status, 200, "{:?}", page.body);
            let data = page.body["data"].as_array().unwrap();
            assert!(data.len() <= 2);
            seen.extend(data.iter().map(|p| p["id"].as_str().unwrap().to_owned()));
            assert!(data.iter().all(|p| p["role"] == "owner"));
            match page.body["next_cursor"].as_str() {
                Some(cursor) => query = format!("limit=2&cursor={cursor}"),
                None => break,
            }
        }
        (seen.len() >= mine.len()).then_some(seen)
    })
    .await;
    assert_eq!(seen.len(), mine.len(), "no project twice");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), mine);
}

#[tokio::test]
async fn cursors_are_bound_to_their_list_and_tamper_proof() {
    let app = fresh_app().await;
    for n in 0..3 {
        create_project(app, ALICE, &format!("A{n}")).await;
        create_project(app, BOB, &format!("B{n}")).await;
    }
    let cursor = eventually("a second project is listed", || async {
        let first = list_projects(app, ALICE, "limit=1").await;
        first.body["next_cursor"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(
        list_projects(app, ALICE, &format!("limit=1&cursor={cursor}"))
            .await
            .status,
        200
    );

    // Alice's cursor in Bob's list, an edited one, garbage.
    let (payload, tag) = cursor.split_once('.').unwrap();
    let mut edited = payload.to_owned().into_bytes();
    edited[3] = if edited[3] == b'A' { b'B' } else { b'A' };
    let edited = format!("{}.{tag}", String::from_utf8(edited).unwrap());
    for (user, cursor) in [
        (BOB, cursor.as_str()),
        (ALICE, edited.as_str()),
        (ALICE, "abc"),
    ] {
        let answer = list_projects(app, user, &format!("cursor={cursor}")).await;
        assert_eq!(
            (answer.status.as_u16(), answer.error_code()),
            (400, "invalid_cursor"),
            "{user} {cursor}"
        );
    }
    for limit in ["0", "101", "ten"] {
        let answer = list_projects(app, ALICE, &format!("limit={limit}")).await;
        assert_eq!(answer.body["error"]["details"]["field"], "limit");
    }
}

// ---- template.yaml ↔ dev server ↔ functions/ (the table: tests/store.rs) ------

fn template() -> serde_norway::Value {
    let text = committed("template.yaml");
    serde_norway::from_str(&text).unwrap()
}

/// Every function is built by cargo-lambda, and routes without an
/// `Authorizer` get the JWT one. (That the template's routes are the route
/// table's, through the binaries mode's own reading of it: tests/binaries.rs.)
#[test]
fn template_functions_are_cargo_lambda_builds_behind_the_jwt_authorizer() {
    let template = template();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda")
        );
    }
    let api = &template["Resources"]["Api"]["Properties"]["Auth"];
    assert_eq!(api["DefaultAuthorizer"].as_str(), Some("HalJwt"));
}

#[test]
fn every_route_names_a_binary_that_runs_its_handler() {
    let manifest: toml::Table = committed("functions/Cargo.toml").parse().unwrap();
    let bins = manifest["bin"].as_array().unwrap();
    let served: BTreeSet<&str> = ROUTES.iter().map(|r| r.binary).collect();
    let built: BTreeSet<&str> = bins.iter().filter_map(|b| b["name"].as_str()).collect();
    assert_eq!(built, served, "a binary for every route, and no stray ones");
    assert_eq!(built.len(), bins.len(), "no binary twice");
    for route in ROUTES {
        let bin = bins
            .iter()
            .find(|b| b["name"].as_str() == Some(route.binary))
            .unwrap_or_else(|| panic!("no [[bin]] {} in functions/Cargo.toml", route.binary));
        assert_eq!(
            bin["test"].as_bool(),
            Some(false),
            "{}: test = false keeps builds fast",
            route.binary
        );
        let source = std::fs::read_to_string(
            repo_root()
                .join("functions")
                .join(bin["path"].as_str().unwrap()),
        )
        .unwrap();
        let compact: String = source.chars().filter(|c| !c.is_whitespace()).collect();
        let handler: String = route
            .handler_name
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        assert!(
            compact.contains(&format!("run({handler})")),
            "{} must run {handler}",
            route.binary
        );
    }
}

// ---- the dev server over real HTTP ---------------------------------------------

async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn dev_server_serves_routes_over_http_like_api_gateway() {
    let app = fresh_app().await;
    let jwt = DevJwt::new("test-secret");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(
        axum::serve(listener, hal_devserver::server::router(app, jwt.clone())).into_future(),
    );
    let http = reqwest::Client::new();
    let token = jwt.mint(ALICE, 60);

    // The authorizer refuses missing, foreign and expired tokens before any handler runs.
    let no_token = http
        .get(format!("{base}/api/projects"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 401);
    assert_eq!(
        no_token.json::<Value>().await.unwrap(),
        json!({"message": "Unauthorized"})
    );
    let foreign = DevJwt::new("other-secret").mint(ALICE, 60);
    let expired = jwt.mint(ALICE, -120);
    for bad in [foreign, expired] {
        let answer = http
            .get(format!("{base}/api/projects"))
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401);
    }

    let created = http
        .post(format!("{base}/api/projects"))
        .bearer_auth(&token)
        .json(&json!({"name": "Over HTTP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert!(created.headers().contains_key("apigw-requestid"));
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let fetched = json_of(
        http.get(format!("{base}/api/projects/{id}"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(fetched["name"], "Over HTTP");

    let stages = json_of(
        http.get(format!("{base}/api/stages"))
            .bearer_auth(&token)
            .header("X-Project-Id", &id),
    )
    .await;
    assert_eq!(stages["data"].as_array().unwrap().len(), 6);

    let listed = eventually("the project is listed", || async {
        let listed = json_of(
            http.get(format!("{base}/api/projects?limit=1"))
                .bearer_auth(&token),
        )
        .await;
        listed["data"][0].is_object().then_some(listed)
    })
    .await;
    assert_eq!(listed["data"][0]["id"], id.as_str());

    let unknown = http
        .get(format!("{base}/api/nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // A route key is method and path: a path served for POST only is as
    // unknown to GET as any other, with API Gateway's own body.
    let wrong_method = http
        .get(format!("{base}/api/widget/identify"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 404);
    assert_eq!(
        wrong_method.json::<Value>().await.unwrap(),
        json!({"message": "Not Found"})
    );
    server.abort();
}
