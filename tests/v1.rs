//! The public v1 API (SPEC §6) and widget conversations (SPEC §4) against
//! DynamoDB Local: scopes over every v1 route, revocation, isolation by key,
//! a widget ↔ integration round trip, and concurrent messages.

use hal_crm::App;
use hal_crm::auth::Caller;
use hal_crm::domain::{api_keys, projects, widget::user_hash};
use hal_crm::model::{Project, Scope};
use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::{Answer, fresh_app, listed, send};
use hal_devserver::routes::ROUTES;
use serde_json::{Value, json};
use std::collections::BTreeSet;

mod mcp;

const ALL: [Scope; 4] = [
    Scope::ContactsRead,
    Scope::ContactsWrite,
    Scope::ConversationsRead,
    Scope::ConversationsWrite,
];

struct Integration {
    app: &'static App,
    project: Project,
    key: String,
}

async fn integration_on(app: &'static App, scopes: &[Scope]) -> Integration {
    let owner = Caller {
        user_id: "owner".into(),
    };
    let (project, _) = projects::create(&app.store, &owner, "Site".into())
        .await
        .unwrap();
    let (_, key) = api_keys::create(&app.store, &project.id, "test", scopes.to_vec(), "owner")
        .await
        .unwrap();
    Integration { app, project, key }
}

async fn integration() -> Integration {
    integration_on(fresh_app().await, &ALL).await
}

impl Integration {
    fn v1(&self, method: &str, route: &str) -> ApiRequest {
        ApiRequest::new(method, route).header("X-API-Key", &self.key)
    }

    async fn send(&self, request: ApiRequest) -> Answer {
        send(self.app, request).await
    }

    async fn ok(&self, request: ApiRequest) -> Value {
        let answer = self.send(request).await;
        assert!(answer.status.is_success(), "{:#}", answer.body);
        answer.body
    }

    /// A visitor's message through the widget.
    async fn visitor_says(&self, visitor: &str, body: &str, conversation: Option<&str>) -> Answer {
        let mut message =
            json!({"project_id": self.project.id, "visitor_id": visitor, "body": body});
        if let Some(id) = conversation {
            message["conversation_id"] = json!(id);
        }
        self.send(ApiRequest::new("POST", "/api/widget/messages").json(&message))
            .await
    }
}

fn v1_routes() -> impl Iterator<Item = &'static hal_devserver::routes::Route> {
    ROUTES.iter().filter(|r| r.path.starts_with("/api/v1/"))
}

fn needed_scope(method: &str, path: &str) -> Scope {
    match (path.starts_with("/api/v1/contacts"), method == "GET") {
        (true, true) => Scope::ContactsRead,
        (true, false) => Scope::ContactsWrite,
        (false, true) => Scope::ConversationsRead,
        (false, false) => Scope::ConversationsWrite,
    }
}

fn filled(request: ApiRequest, path: &str) -> ApiRequest {
    let request = if path.contains("{id}") {
        request.path_param("id", "x")
    } else {
        request
    };
    request.json(&json!({}))
}

#[tokio::test]
async fn every_v1_route_needs_a_valid_key_with_its_scope() {
    let app = fresh_app().await;
    for route in v1_routes() {
        let needed = needed_scope(route.method, route.path);
        let others: Vec<Scope> = ALL.into_iter().filter(|s| *s != needed).collect();
        let lacking = integration_on(app, &others).await;
        let answer = lacking
            .send(filled(lacking.v1(route.method, route.path), route.path))
            .await;
        assert_eq!(
            (answer.status.as_u16(), answer.error_code()),
            (403, "insufficient_scope"),
            "{} {}",
            route.method,
            route.path
        );
        let holding = integration_on(app, &[needed]).await;
        let answer = holding
            .send(filled(holding.v1(route.method, route.path), route.path))
            .await;
        assert!(
            answer.status != 401 && answer.status != 403,
            "{} {}: {:#}",
            route.method,
            route.path,
            answer.body
        );
        for key in [None, Some("hal_sk_unknown")] {
            let mut request = ApiRequest::new(route.method, route.path);
            if let Some(key) = key {
                request = request.header("X-API-Key", key);
            }
            let answer = holding.send(filled(request, route.path)).await;
            assert_eq!(
                (answer.status.as_u16(), answer.error_code()),
                (401, "invalid_api_key")
            );
        }
    }
}

#[tokio::test]
async fn a_revoked_key_is_refused_on_the_next_request() {
    let it = integration().await;
    it.ok(it.v1("GET", "/api/v1/contacts")).await;
    let listed = it
        .ok(ApiRequest::new("GET", "/api/api-keys")
            .user("owner")
            .header("X-Project-Id", &it.project.id))
        .await;
    let id = listed["data"][0]["id"].as_str().unwrap().to_owned();
    let revoke = ApiRequest::new("DELETE", "/api/api-keys/{id}")
        .path_param("id", &id)
        .user("owner")
        .header("X-Project-Id", &it.project.id);
    assert_eq!(it.send(revoke).await.status, 204);
    assert_eq!(it.send(it.v1("GET", "/api/v1/contacts")).await.status, 401);
}

#[tokio::test]
async fn v1_contacts_take_contact_fields_and_refuse_enrichment_explaining_why() {
    let it = integration().await;
    let created = it
        .ok(it
            .v1("POST", "/api/v1/contacts")
            .json(&json!({"email": "Ada@X.co", "tags": ["lead"]})))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let changed = it
        .ok(it
            .v1("PATCH", "/api/v1/contacts/{id}")
            .path_param("id", &id)
            .json(&json!({"name": "Ada"})))
        .await;
    assert_eq!(
        (changed["name"].as_str(), changed["email"].as_str()),
        (Some("Ada"), Some("ada@x.co"))
    );
    let by_email = it
        .ok(it.v1("GET", "/api/v1/contacts").query("email=ada%40x.co"))
        .await;
    assert_eq!(by_email["data"][0]["id"], id.as_str());
    assert_eq!(
        it.ok(it.v1("GET", "/api/v1/contacts/{id}").path_param("id", &id))
            .await["tags"],
        json!(["lead"])
    );
    for field in ["company", "company_ids", "properties", "visitor_id"] {
        let body = json!({"email": "b@x.co", field: "x"});
        let refused = it.send(it.v1("POST", "/api/v1/contacts").json(&body)).await;
        assert_eq!(
            (refused.status.as_u16(), refused.error_code()),
            (400, "unsupported_field"),
            "{field}"
        );
        assert!(
            refused.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("/api/widget/identify")
        );
    }
    let dup = it
        .send(
            it.v1("POST", "/api/v1/contacts")
                .json(&json!({"email": "ada@x.co"})),
        )
        .await;
    assert_eq!(
        (dup.status.as_u16(), dup.error_code()),
        (409, "email_in_use")
    );
}

#[tokio::test]
async fn a_key_reaches_nothing_of_another_project() {
    let app = fresh_app().await;
    let mine = integration_on(app, &ALL).await;
    let theirs = integration_on(app, &ALL).await;
    let contact = theirs
        .ok(theirs
            .v1("POST", "/api/v1/contacts")
            .json(&json!({"email": "t@x.co"})))
        .await;
    let said = theirs.visitor_says("tv", "hello", None).await;
    let conversation = said.body["conversation"]["id"].as_str().unwrap().to_owned();
    let contact_id = contact["id"].as_str().unwrap();
    for (method, route, id, body) in [
        ("GET", "/api/v1/contacts/{id}", contact_id, json!({})),
        (
            "PATCH",
            "/api/v1/contacts/{id}",
            contact_id,
            json!({"name": "x"}),
        ),
        (
            "GET",
            "/api/v1/conversations/{id}",
            conversation.as_str(),
            json!({}),
        ),
        (
            "PATCH",
            "/api/v1/conversations/{id}",
            conversation.as_str(),
            json!({"status": "closed"}),
        ),
        (
            "POST",
            "/api/v1/conversations/{id}/messages",
            conversation.as_str(),
            json!({"body": "x"}),
        ),
    ] {
        let answer = mine
            .send(mine.v1(method, route).path_param("id", id).json(&body))
            .await;
        assert_eq!(answer.status, 404, "{method} {route}");
    }
    assert!(
        mine.ok(mine.v1("GET", "/api/v1/contacts")).await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        mine.ok(mine.v1("GET", "/api/v1/conversations")).await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // And no widget visitor of my project can write into their conversation.
    let intruder = mine
        .visitor_says("tv", "let me in", Some(&conversation))
        .await;
    assert_eq!(intruder.status, 404);
}

#[tokio::test]
async fn a_widget_conversation_round_trip() {
    let it = integration().await;
    // The visitor is identified, so the conversation carries its contact.
    let identify = json!({"project_id": it.project.id, "visitor_id": "v", "email": "v@x.co"});
    let identified = it
        .ok(ApiRequest::new("POST", "/api/widget/identify").json(&identify))
        .await;
    let contact = identified["contact"]["id"].as_str().unwrap().to_owned();
    let started = it
        .visitor_says("v", "Hi, is there a team plan?", None)
        .await;
    assert_eq!(started.status, 201);
    let conversation = started.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(started.body["conversation"]["contact_id"], contact.as_str());

    let open = listed(
        it.app,
        || {
            it.v1("GET", "/api/v1/conversations")
                .query(&format!("status=open&contact_id={contact}"))
        },
        |l| l["data"][0].is_object(),
    )
    .await;
    assert_eq!(open["data"][0]["id"], conversation.as_str());
    let reply = it
        .send(
            it.v1("POST", "/api/v1/conversations/{id}/messages")
                .path_param("id", &conversation)
                .json(&json!({"body": "Yes!"})),
        )
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.body["author"].as_str()),
        (201, Some("agent"))
    );
    it.ok(it
        .v1("PATCH", "/api/v1/conversations/{id}")
        .path_param("id", &conversation)
        .json(&json!({"status": "closed"})))
        .await;
    let closed = listed(
        it.app,
        || it.v1("GET", "/api/v1/conversations").query("status=closed"),
        |l| l["data"][0].is_object(),
    )
    .await;
    assert_eq!(closed["data"].as_array().unwrap().len(), 1);

    // The visitor reads its own conversations and answers, which reopens it.
    let mine = it
        .ok(ApiRequest::new("GET", "/api/widget/conversations")
            .query(&format!("project_id={}&visitor_id=v", it.project.id)))
        .await;
    assert_eq!(mine["data"][0]["id"], conversation.as_str());
    assert_eq!(mine["data"][0]["status"], "closed");
    assert_eq!(
        it.visitor_says("v", "Great, thanks", Some(&conversation))
            .await
            .status,
        201
    );
    let read = it
        .ok(it
            .v1("GET", "/api/v1/conversations/{id}")
            .path_param("id", &conversation))
        .await;
    let bodies: Vec<&str> = read["messages"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["Hi, is there a team plan?", "Yes!", "Great, thanks"]
    );
    assert_eq!(read["status"], "open");
    let someone_else = it
        .ok(ApiRequest::new("GET", "/api/widget/conversations")
            .query(&format!("project_id={}&visitor_id=other", it.project.id)))
        .await;
    assert!(someone_else["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn reading_own_conversations_needs_a_user_hash_when_the_project_requires_it() {
    let mut it = integration().await;
    it.visitor_says("v", "hello", None).await;
    it.project.require_identity_verification = true;
    it.project.version += 1;
    it.app.store.save_project(&it.project).await.unwrap();
    let query = |hash: Option<&str>| {
        let mut q = format!("project_id={}&visitor_id=v", it.project.id);
        if let Some(hash) = hash {
            q.push_str(&format!("&user_hash={hash}"));
        }
        ApiRequest::new("GET", "/api/widget/conversations").query(&q)
    };
    let refused = it.send(query(None)).await;
    assert_eq!(
        (refused.status.as_u16(), refused.error_code()),
        (401, "identity_verification_failed")
    );
    assert_eq!(it.send(query(Some("beef"))).await.status, 401);
    let hash = user_hash(&it.project.identity_secret, "v");
    assert_eq!(
        it.ok(query(Some(&hash))).await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn message_bodies_are_1_to_10000_characters() {
    let it = integration().await;
    for body in ["", "   ", &"x".repeat(10_001)] {
        let answer = it.visitor_says("v", body, None).await;
        assert_eq!(answer.body["error"]["details"]["field"], "body");
    }
    assert_eq!(
        it.visitor_says("v", &"x".repeat(10_000), None).await.status,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_messages_are_all_stored_in_order_and_activity_never_goes_back() {
    let it = integration().await;
    let started = it.visitor_says("v", "first", None).await;
    let conversation = started.body["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let request = it
                .v1("POST", "/api/v1/conversations/{id}/messages")
                .path_param("id", &conversation)
                .json(&json!({"body": format!("reply {n}")}));
            let app = it.app;
            // A client told to retry (429, contention on the one
            // conversation) does, as the SDK and any HTTP client would.
            tokio::spawn(async move {
                loop {
                    let answer = send(app, request.clone()).await;
                    if answer.status != 429 {
                        return answer;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            })
        })
        .collect();
    let mut replies = BTreeSet::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, 201, "{:#}", answer.body);
        replies.insert(answer.body["created_at"].as_str().unwrap().to_owned());
    }
    let read = it
        .ok(it
            .v1("GET", "/api/v1/conversations/{id}")
            .path_param("id", &conversation)
            .query("limit=100"))
        .await;
    let messages = read["messages"]["data"].as_array().unwrap();
    let bodies: Vec<&str> = messages
        .iter()
        .map(|m| m["body"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        messages.len(),
        21,
        "every message is stored once: {bodies:?}"
    );
    let times: Vec<&str> = messages
        .iter()
        .map(|m| m["created_at"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "messages are listed in order"
    );
    let latest = times.iter().max().unwrap();
    assert_eq!(
        read["last_message_at"].as_str(),
        Some(*latest),
        "last activity is the latest message"
    );
    let bodies: BTreeSet<&str> = messages
        .iter()
        .skip(1)
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies.len(), 20);
}
