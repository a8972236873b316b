//! Least privilege that is enough: every DynamoDB permission a route uses is
//! in its function's IAM policy in `template.yaml`, and the policy grants
//! nothing the route never uses. In AWS a missing one is an `AccessDenied`
//! (a 500); DynamoDB Local checks none. The test meter records each call's
//! IAM action (a transaction's, per item) for the route in flight; a walk
//! through every route and its branches fills the record.

use hal_crm::auth::Caller;
use hal_crm::domain::{api_keys, projects};
use hal_crm::model::Scope;
use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::meter::permissions_used;
use hal_crm_tests::{Answer, committed, eventually, fresh_app, listed, mcp_tool, put_record, send};
use hal_devserver::routes::ROUTES;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use time::Duration;

/// route → (IAM action, `table` or `index/{name}`) as `template.yaml` grants them.
fn granted() -> BTreeMap<String, BTreeSet<(String, String)>> {
    let text = committed("template.yaml");
    let template: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut granted = BTreeMap::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        let Some(binary) = resource["Metadata"]["BuildProperties"]["Binary"].as_str() else {
            continue;
        };
        let routes: Vec<_> = ROUTES.iter().filter(|r| r.binary == binary).collect();
        assert!(!routes.is_empty(), "no route for {binary}");
        let mut actions = BTreeSet::new();
        for policy in resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                let text = format!("{:?}", statement["Resource"]);
                // A statement names the table or one or more of its indexes.
                let mut resources: Vec<String> = text
                    .split("/index/")
                    .skip(1)
                    .map(|rest| {
                        let name: String = rest
                            .chars()
                            .take_while(char::is_ascii_alphanumeric)
                            .collect();
                        format!("index/{name}")
                    })
                    .collect();
                if resources.is_empty() {
                    resources.push("table".to_owned());
                }
                for action in statement["Action"].as_sequence().into_iter().flatten() {
                    let action = action.as_str().unwrap().trim_start_matches("dynamodb:");
                    for resource in &resources {
                        actions.insert((action.to_owned(), resource.clone()));
                    }
                }
            }
        }
        for route in routes {
            granted.insert(format!("{} {}", route.method, route.path), actions.clone());
        }
    }
    granted
}

struct Walk {
    app: &'static hal_crm::App,
    project: String,
    key: String,
}

impl Walk {
    fn account(&self, method: &str, route: &str) -> ApiRequest {
        ApiRequest::new(method, route)
            .user("owner")
            .header("X-Project-Id", &self.project)
    }

    fn widget(&self, route: &str, body: Value) -> ApiRequest {
        let mut body = body;
        body["project_id"] = json!(self.project);
        ApiRequest::new("POST", route).json(&body)
    }

    async fn widget_ok(&self, route: &str, body: Value) -> Value {
        self.ok(self.widget(route, body)).await
    }

    fn v1(&self, method: &str, route: &str) -> ApiRequest {
        ApiRequest::new(method, route).header("X-API-Key", &self.key)
    }

    /// A listing (eventually consistent) once it shows something: only then
    /// does it read the records it lists.
    async fn listed(&self, request: impl Fn() -> ApiRequest) -> Value {
        listed(self.app, request, |body| {
            body["data"].as_array().is_some_and(|d| !d.is_empty())
        })
        .await
    }

    async fn ok(&self, request: ApiRequest) -> Value {
        let route = format!("{:?}", request.route());
        let answer: Answer = send(self.app, request).await;
        assert!(answer.status.is_success(), "{route}: {:#}", answer.body);
        answer.body
    }
}

/// 100 tags (a contact's most), all starting with `prefix`.
fn hundred_tags(prefix: &str) -> Vec<String> {
    (0..100).map(|i| format!("{prefix}{i:03}")).collect()
}

/// Every route, each through the branches that call DynamoDB differently.
async fn walk() {
    let app = fresh_app().await;
    let owner = Caller {
        user_id: "owner".into(),
    };
    let project = send(
        app,
        ApiRequest::new("POST", "/api/projects")
            .user("owner")
            .json(&json!({"name": "Walk"})),
    )
    .await
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, key) = api_keys::create(
        &app.store,
        &project,
        "walk",
        Scope::ALL.to_vec(),
        &owner.user_id,
    )
    .await
    .unwrap();
    let w = Walk {
        app,
        project: project.clone(),
        key,
    };
    let _ = projects::DEFAULT_STAGES;
    // Projects.
    w.listed(|| ApiRequest::new("GET", "/api/projects").user("owner"))
        .await;
    let by_id = |method: &str, route: &str| {
        ApiRequest::new(method, route)
            .path_param("id", &project)
            .user("owner")
    };
    w.ok(by_id("GET", "/api/projects/{id}")).await;
    w.ok(by_id("PATCH", "/api/projects/{id}").json(&json!({"name": "Walked"})))
        .await;
    w.ok(by_id("POST", "/api/projects/{id}/identity-secret"))
        .await;
    // Widget: new contact with a placeholder, returning, promotion, pipeline.
    w.widget_ok("/api/widget/identify", json!({"visitor_id": "anon"}))
        .await;
    let first = w
        .widget_ok(
            "/api/widget/identify",
            json!({"visitor_id": "v", "email": "ada@initech.com", "metadata": {"m": 1}}),
        )
        .await;
    let contact = first["contact"]["id"].as_str().unwrap().to_owned();
    w.widget_ok(
        "/api/widget/identify",
        json!({"visitor_id": "v", "email": "ada@initech.com"}),
    )
    .await;
    w.widget_ok(
        "/api/widget/set-deal",
        json!({"visitor_id": "v", "deal_value": 5}),
    )
    .await;
    w.widget_ok("/api/widget/identify", json!({"visitor_id": "v", "email": "ada@initech.com", "company": {"id": "initech", "stage": "Qualified"}, "company_ids": []})).await;
    w.widget_ok(
        "/api/widget/set-properties",
        json!({"visitor_id": "v", "properties": {"p": 1}}),
    )
    .await;
    w.widget_ok(
        "/api/widget/set-properties",
        json!({"visitor_id": "v", "metadata": {"n": 2}}),
    )
    .await;
    w.widget_ok(
        "/api/widget/track",
        json!({"visitor_id": "v", "name": "signup"}),
    )
    .await;
    w.widget_ok(
        "/api/widget/track",
        json!({"visitor_id": "v", "name": "paid", "event_key": "k1", "company_id": "initech"}),
    )
    .await;
    w.widget_ok(
        "/api/widget/set-stage",
        json!({"visitor_id": "v", "stage": "Proposal"}),
    )
    .await;
    w.widget_ok(
        "/api/widget/set-stage",
        json!({"visitor_id": "v", "stage": "Proposal", "company_id": "initech"}),
    )
    .await;
    w.widget_ok(
        "/api/widget/set-deal",
        json!({"visitor_id": "v", "deal_value": 12000, "company_id": "initech"}),
    )
    .await;
    let started = w
        .widget_ok(
            "/api/widget/messages",
            json!({"visitor_id": "v", "body": "hi"}),
        )
        .await;
    let conversation = started["conversation"]["id"].as_str().unwrap().to_owned();
    w.widget_ok(
        "/api/widget/messages",
        json!({"visitor_id": "v", "body": "again", "conversation_id": conversation}),
    )
    .await;
    // Newer activity already recorded (a concurrent message, here a later
    // timestamp): the message is stored alone, beside a condition check.
    let mut later = app
        .store
        .get_conversation(&project, &conversation)
        .await
        .unwrap()
        .unwrap();
    later.last_message_at = later.last_message_at.plus(Duration::hours(1));
    put_record(&app.store, &later).await;
    w.widget_ok(
        "/api/widget/messages",
        json!({"visitor_id": "v", "body": "late", "conversation_id": conversation}),
    )
    .await;
    // A visitor seen long ago: track moves its `last_seen_at`.
    let mut seen = app.store.get_visitor(&project, "v").await.unwrap().unwrap();
    seen.last_seen_at = seen.last_seen_at.minus(Duration::hours(1));
    put_record(&app.store, &seen).await;
    w.widget_ok(
        "/api/widget/track",
        json!({"visitor_id": "v", "name": "returned"}),
    )
    .await;
    // A visitor's first call may be set-properties.
    w.widget_ok(
        "/api/widget/set-properties",
        json!({"visitor_id": "new", "properties": {"p": 1}}),
    )
    .await;
    w.listed(|| {
        ApiRequest::new("GET", "/api/widget/conversations")
            .query(&format!("project_id={project}&visitor_id=v"))
    })
    .await;
    // Contacts and companies.
    w.listed(|| w.account("GET", "/api/contacts")).await;
    w.ok(w
        .account("GET", "/api/contacts")
        .query("email=ada%40initech.com"))
        .await;
    w.listed(|| {
        w.account("GET", "/api/contacts")
            .query("company_id=initech")
    })
    .await;
    w.ok(w.account("GET", "/api/contacts").query("tag=x")).await;
    let made = w
        .ok(w
            .account("POST", "/api/contacts")
            .json(&json!({"email": "bob@globex.com", "name": "Bob", "tags": ["lead"]})))
        .await;
    let bob = made["id"].as_str().unwrap().to_owned();
    let person =
        |method: &str, route: &str, id: &str| w.account(method, route).path_param("id", id);
    w.ok(person("GET", "/api/contacts/{id}", &contact)).await;
    w.ok(person("PATCH", "/api/contacts/{id}", &bob)
        .json(&json!({"email": "robert@globex.com", "metadata": {"a": 1}, "tags": ["vip"]})))
        .await;
    // All 100 tags replaced: 200 entry writes, more than one transaction.
    for tags in [hundred_tags("a"), hundred_tags("b")] {
        w.ok(person("PATCH", "/api/contacts/{id}", &contact).json(&json!({"tags": tags})))
            .await;
    }
    w.listed(|| w.account("GET", "/api/contacts").query("search=rob"))
        .await;
    w.listed(|| w.account("GET", "/api/contacts").query("search=bo"))
        .await;
    w.listed(|| w.account("GET", "/api/contacts").query("tag=vip"))
        .await;
    w.ok(person("GET", "/api/contacts/{id}/events", &contact))
        .await;
    w.ok(person("GET", "/api/contacts/{id}/companies", &contact))
        .await;
    w.ok(w
        .account("POST", "/api/companies")
        .json(&json!({"id": "globex", "stage": "New", "domain": "globex.com", "deal_value": 5})))
        .await;
    w.listed(|| {
        w.account("GET", "/api/companies")
            .query("stage=New&sort=deal_value")
    })
    .await;
    w.listed(|| {
        w.account("GET", "/api/companies")
            .query("domain=globex.com")
    })
    .await;
    // Once the recent changes show globex: then its record is read too.
    listed(
        w.app,
        || w.account("GET", "/api/pipeline"),
        |body| {
            body["recent_stage_changes"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
        },
    )
    .await;
    w.listed(|| w.account("GET", "/api/companies")).await;
    w.listed(|| w.account("GET", "/api/companies").query("stage=New"))
        .await;
    let company =
        |method: &str, route: &str, id: &str| w.account(method, route).path_param("id", id);
    w.ok(company("GET", "/api/companies/{id}", "globex")).await;
    w.ok(company("PATCH", "/api/companies/{id}", "globex").json(&json!({"metadata": {"a": 1}})))
        .await;
    w.listed(|| company("GET", "/api/companies/{id}/events", "initech"))
        .await;
    w.listed(|| company("GET", "/api/companies/{id}/contacts", "initech"))
        .await;
    let link = |method: &str, who: &str, with: &str| {
        w.account(method, "/api/contacts/{id}/companies/{company_id}")
            .path_param("id", who)
            .path_param("company_id", with)
    };
    // Bob has no company: identify gives him a placeholder; a link promotes it.
    w.widget_ok(
        "/api/widget/identify",
        json!({"visitor_id": "b", "email": "robert@globex.com"}),
    )
    .await;
    w.ok(link("PUT", &bob, "globex")).await;
    w.ok(link("PUT", &bob, "initech")).await;
    w.ok(link("DELETE", &bob, "initech")).await;
    // Visitor "b"'s active company was the placeholder the link retired: the
    // pipeline routes find the contact's only company through its links.
    w.widget_ok(
        "/api/widget/set-stage",
        json!({"visitor_id": "b", "stage": "Qualified"}),
    )
    .await;
    w.widget_ok(
        "/api/widget/set-deal",
        json!({"visitor_id": "b", "deal_value": 10}),
    )
    .await;
    w.ok(w
        .account("GET", "/api/visitors/{visitor_id}")
        .path_param("visitor_id", "v"))
        .await;
    // Stages.
    w.ok(w.account("GET", "/api/stages")).await;
    let stage = w
        .ok(w
            .account("POST", "/api/stages")
            .json(&json!({"name": "Pilot"})))
        .await;
    let stage = stage["id"].as_str().unwrap().to_owned();
    w.ok(w
        .account("PATCH", "/api/stages/{id}")
        .path_param("id", &stage)
        .json(&json!({"position": 2})))
        .await;
    let stages = w.ok(w.account("GET", "/api/stages")).await;
    let order: Vec<Value> = stages["data"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|s| s["id"].clone())
        .collect();
    w.ok(w
        .account("PUT", "/api/stages/order")
        .json(&json!({"stage_ids": order})))
        .await;
    w.ok(company("PATCH", "/api/companies/{id}", "globex").json(&json!({"stage": "Pilot"})))
        .await;
    // Once the board shows it there, the delete finds it and moves it.
    w.listed(|| w.account("GET", "/api/companies").query("stage=Pilot"))
        .await;
    w.ok(w
        .account("DELETE", "/api/stages/{id}")
        .path_param("id", &stage)
        .query("reassign_to=Won"))
        .await;
    // The team: add, change, list, remove; owners stepping down themselves
    // (which looks for another owner).
    let member = |method: &str, user: &str| {
        w.account(method, "/api/members/{user_id}")
            .path_param("user_id", user)
    };
    w.ok(member("PUT", "co-owner").json(&json!({"role": "owner"})))
        .await;
    w.ok(member("PUT", "helper").json(&json!({"role": "member"})))
        .await;
    w.ok(member("PUT", "helper").json(&json!({"role": "viewer"})))
        .await;
    w.ok(member("PUT", "co-owner")
        .user("co-owner")
        .json(&json!({"role": "admin"})))
        .await;
    w.ok(member("PUT", "co-owner").json(&json!({"role": "owner"})))
        .await;
    w.ok(w.account("GET", "/api/members")).await;
    w.ok(member("DELETE", "helper")).await;
    w.ok(member("DELETE", "co-owner").user("co-owner")).await;
    // API keys and v1.
    let made = w
        .ok(w
            .account("POST", "/api/api-keys")
            .json(&json!({"name": "k", "scopes": ["contacts:read"]})))
        .await;
    w.ok(w.account("GET", "/api/api-keys")).await;
    w.ok(w
        .account("DELETE", "/api/api-keys/{id}")
        .path_param("id", made["id"].as_str().unwrap()))
        .await;
    w.listed(|| w.v1("GET", "/api/v1/contacts")).await;
    w.ok(w
        .v1("GET", "/api/v1/contacts")
        .query("email=ada%40initech.com"))
        .await;
    w.ok(w
        .v1("GET", "/api/v1/contacts/{id}")
        .path_param("id", &contact))
        .await;
    let made = w
        .ok(w
            .v1("POST", "/api/v1/contacts")
            .json(&json!({"email": "cy@acme.com", "user_id": "cy"})))
        .await;
    let cy = made["id"].as_str().unwrap().to_owned();
    w.ok(w
        .v1("PATCH", "/api/v1/contacts/{id}")
        .path_param("id", &cy)
        .json(&json!({"email": "cyd@acme.com"})))
        .await;
    for tags in [hundred_tags("a"), hundred_tags("b")] {
        w.ok(w
            .v1("PATCH", "/api/v1/contacts/{id}")
            .path_param("id", &cy)
            .json(&json!({"tags": tags})))
            .await;
    }
    w.listed(|| w.v1("GET", "/api/v1/conversations")).await;
    w.listed(|| w.v1("GET", "/api/v1/conversations").query("status=open"))
        .await;
    let conv = |method: &str, route: &str| w.v1(method, route).path_param("id", &conversation);
    w.ok(conv("GET", "/api/v1/conversations/{id}")).await;
    w.ok(conv("POST", "/api/v1/conversations/{id}/messages").json(&json!({"body": "hello"})))
        .await;
    w.ok(conv("PATCH", "/api/v1/conversations/{id}").json(&json!({"status": "closed"})))
        .await;
    // The MCP endpoint: every tool (the listing ones once the index shows
    // what they list), and the 405s of a server without streams.
    let tool = |name: &str, args: Value| {
        let (app, key, name) = (w.app, w.key.clone(), name.to_owned());
        async move {
            let result = mcp_tool(app, &key, &name, args).await;
            assert!(result.is_ok(), "{name}: {result:?}");
            result.unwrap()
        }
    };
    // A listing reads the records it lists only once it lists some.
    let lists_some = |name: &'static str, field: &'static str| {
        eventually(name, move || async move {
            let found = tool(name, json!({})).await;
            found[field]
                .as_array()
                .is_some_and(|c| !c.is_empty())
                .then_some(())
        })
    };
    lists_some("search_contacts", "contacts").await;
    for args in [
        json!({"query": "ada"}),
        json!({"email": "ada@initech.com"}),
        json!({"company_id": "initech"}),
        json!({"tag": "vip"}),
    ] {
        tool("search_contacts", args).await;
    }
    tool("get_contact", json!({"contact_id": contact})).await;
    lists_some("search_companies", "companies").await;
    for args in [
        json!({"stage": "Qualified"}),
        json!({"stage": "Qualified", "sort": "deal_value"}),
        json!({"domain": "initech.com"}),
    ] {
        tool("search_companies", args).await;
    }
    tool("get_company", json!({"company_id": "initech"})).await;
    tool("list_pipeline_stages", json!({})).await;
    tool("pipeline_summary", json!({})).await;
    tool("pipeline_summary", json!({"recent": 0})).await;
    tool("list_conversations", json!({})).await;
    tool("list_conversations", json!({"status": "open"})).await;
    tool("get_conversation", json!({"conversation_id": conversation})).await;
    tool(
        "set_company_stage",
        json!({"company_id": "globex", "stage": "Proposal"}),
    )
    .await;
    tool(
        "set_deal_value",
        json!({"company_id": "globex", "deal_value": 7}),
    )
    .await;
    tool(
        "add_company_note",
        json!({"company_id": "globex", "note": "Called them."}),
    )
    .await;
    tool(
        "reply_to_conversation",
        json!({"conversation_id": conversation, "body": "hi"}),
    )
    .await;
    for method in ["GET", "DELETE"] {
        let answer = send(
            w.app,
            ApiRequest::new(method, "/mcp").header("authorization", &format!("Bearer {}", w.key)),
        )
        .await;
        assert_eq!(answer.status.as_u16(), 405, "{method} /mcp");
    }
    w.ok(ApiRequest::new("GET", "/api/openapi.json")).await;
    w.ok(ApiRequest::new("GET", "/widget.js")).await;
    w.ok(ApiRequest::new("GET", "/widget.mjs")).await;
    // Deletes last: a contact with links, a company with links.
    w.ok(person("DELETE", "/api/contacts/{id}", &bob)).await;
    w.ok(company("DELETE", "/api/companies/{id}", "initech"))
        .await;
}

/// Grants kept for a branch the walk cannot reach through the API, and why.
const UNWALKED: &[(&str, &str, &str)] = &[(
    "POST /api/widget/identify",
    "ConditionCheckItem",
    "links change while the contact itself does not: only a placeholder link \
     the contact does not name, which no route leaves behind",
)];

#[tokio::test]
async fn every_route_is_granted_what_it_uses_and_nothing_more() {
    walk().await;
    let used = permissions_used();
    let granted = granted();
    let mut problems = Vec::new();
    for route in ROUTES {
        let key = format!("{} {}", route.method, route.path);
        let (Some(_), Some(granted)) = (used.get(&key), granted.get(&key)) else {
            problems.push(format!("{key}: not walked or not in the template"));
            continue;
        };
        // A function serving several routes (mcp) is granted what any of
        // them uses.
        let used: BTreeSet<_> = ROUTES
            .iter()
            .filter(|r| r.binary == route.binary)
            .filter_map(|r| used.get(&format!("{} {}", r.method, r.path)))
            .flatten()
            .cloned()
            .collect();
        let used = &used;
        for missing in used.difference(granted) {
            problems.push(format!("{key}: uses {missing:?}, not granted"));
        }
        for unused in granted.difference(used) {
            let (action, _) = unused;
            if !UNWALKED.iter().any(|(r, a, _)| *r == key && a == action) {
                problems.push(format!("{key}: grants {unused:?}, never used"));
            }
        }
    }
    for (route, action, _) in UNWALKED {
        let walked_or_missing = used
            .get(*route)
            .is_some_and(|u| u.iter().any(|(a, _)| a == action))
            || !granted
                .get(*route)
                .is_some_and(|g| g.iter().any(|(a, _)| a == action));
        if walked_or_missing {
            problems.push(format!(
                "{route}: {action} is walked or not granted; drop it from UNWALKED"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
