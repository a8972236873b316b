//! The storage design (SPEC §8) against DynamoDB Local, through the paths the
//! product uses: the one table definition (template, created table), claims,
//! links and their counts under real concurrent requests, transactions within
//! DynamoDB's limits, and writes whose answer was lost.

use aws_sdk_dynamodb::types::AttributeValue;
use hal_crm::auth::Caller;
use hal_crm::clock::Timestamp;
use hal_crm::domain::{companies, contacts, links, projects};
use hal_crm::ids::{IdKind, new_id};
use hal_crm::model::{Contact, Project};
use hal_crm::store::contacts::CreateContact;
use hal_crm::store::schema::TABLE;
use hal_crm::store::{Store, StoreError, keys};
use hal_crm::{ApiError, App, model::ClaimKind};
use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::faults::LoseAnswers;
use hal_crm_tests::stall::Stall;
use hal_crm_tests::{
    Answer, all_items, app_at, app_with, assert_links_consistent, committed, endpoint, fresh_app,
    fresh_store, send, send_with_budget,
};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};

const OWNER: &str = "owner";

fn project_id() -> String {
    new_id(IdKind::Project)
}

fn contact(project: &str, email: Option<&str>, user_id: Option<&str>) -> Contact {
    Contact {
        email: email.map(str::to_owned),
        user_id: user_id.map(str::to_owned),
        ..Contact::new(project, Timestamp::now())
    }
}

fn entity_count(items: &[keys::Item], entity: &str) -> usize {
    items
        .iter()
        .filter(|item| item.get(keys::TYPE) == Some(&AttributeValue::S(entity.to_owned())))
        .count()
}

// ---- the one table definition ---------------------------------------------------

/// (attribute name, key type or attribute type)
type Pairs = Vec<(String, String)>;

/// A table definition in one comparable shape: billing mode, key schema,
/// attribute definitions, and per index its name, key schema and projection.
#[derive(Debug, PartialEq)]
struct Shape {
    billing: String,
    key: Pairs,
    attributes: BTreeSet<(String, String)>,
    indexes: Vec<(String, Pairs, String)>,
}

fn definition_shape() -> Shape {
    let key = |p: &str, s: &str| vec![(p.into(), "HASH".into()), (s.into(), "RANGE".into())];
    Shape {
        billing: TABLE.billing_mode.into(),
        key: key(TABLE.partition_key, TABLE.sort_key),
        attributes: TABLE
            .key_attributes()
            .into_iter()
            .map(|a| (a.into(), "S".into()))
            .collect(),
        indexes: TABLE
            .indexes
            .iter()
            .map(|i| {
                (
                    i.name.into(),
                    key(i.partition_key, i.sort_key),
                    i.projection.into(),
                )
            })
            .collect(),
    }
}

fn template_shape() -> Shape {
    let text = committed("template.yaml");
    let template: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let table = &template["Resources"]["Table"]["Properties"];
    let text = |v: &serde_norway::Value| v.as_str().unwrap().to_owned();
    let pairs = |schema: &serde_norway::Value, a: &str, b: &str| -> Vec<(String, String)> {
        let seq = schema.as_sequence().unwrap();
        seq.iter().map(|k| (text(&k[a]), text(&k[b]))).collect()
    };
    Shape {
        billing: text(&table["BillingMode"]),
        key: pairs(&table["KeySchema"], "AttributeName", "KeyType"),
        attributes: pairs(
            &table["AttributeDefinitions"],
            "AttributeName",
            "AttributeType",
        )
        .into_iter()
        .collect(),
        indexes: table["GlobalSecondaryIndexes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    text(&i["IndexName"]),
                    pairs(&i["KeySchema"], "AttributeName", "KeyType"),
                    text(&i["Projection"]["ProjectionType"]),
                )
            })
            .collect(),
    }
}

async fn created_shape(store: &Store) -> Shape {
    let table = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let key = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect()
    };
    Shape {
        billing: table
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|b| b.as_str().to_owned())
            .unwrap_or_default(),
        key: key(table.key_schema()),
        attributes: table
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().to_owned(),
                    a.attribute_type().as_str().to_owned(),
                )
            })
            .collect(),
        indexes: table
            .global_secondary_indexes()
            .iter()
            .map(|i| {
                (
                    i.index_name().unwrap_or_default().to_owned(),
                    key(i.key_schema()),
                    i.projection()
                        .and_then(|p| p.projection_type())
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_default(),
                )
            })
            .collect(),
    }
}

#[tokio::test]
async fn the_template_and_the_created_table_are_the_one_definition() {
    let store = fresh_store().await;
    let (template, created) = (template_shape(), created_shape(&store).await);
    assert_eq!(
        template, created,
        "template.yaml vs the table DynamoDB made"
    );
    assert_eq!(
        template,
        definition_shape(),
        "template.yaml vs store::schema"
    );
}

// ---- records and claims ------------------------------------------------------------

#[tokio::test]
async fn records_round_trip_without_null_attributes() {
    let store = fresh_store().await;
    let project = project_id();
    let stored = contact(&project, Some("ada@example.com"), None);
    assert_eq!(
        store.create_contact(&stored, Vec::new()).await.unwrap(),
        CreateContact::Created
    );
    assert_eq!(
        store.get_contact(&project, &stored.id).await.unwrap(),
        Some(stored.clone())
    );
    let items = all_items(&store).await;
    let item = items
        .iter()
        .find(|i| i.get("id") == Some(&AttributeValue::S(stored.id.clone())))
        .unwrap();
    assert!(
        !item.contains_key("user_id"),
        "unset fields are absent, not NULL"
    );
    assert!(item.values().all(|v| !matches!(v, AttributeValue::Null(_))));
    assert_eq!(
        item.get(keys::TYPE),
        Some(&AttributeValue::S("Contact".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_for_one_email_yield_exactly_one_contact() {
    let store = fresh_store().await;
    let project = project_id();
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let store = store.clone();
            let candidate = contact(&project, Some("race@example.com"), None);
            tokio::spawn(async move {
                (
                    candidate.id.clone(),
                    store.create_contact(&candidate, Vec::new()).await,
                )
            })
        })
        .collect();
    let mut winners = Vec::new();
    let mut owners_named = HashSet::new();
    for task in tasks {
        let (id, outcome) = task.await.unwrap();
        match outcome.expect("no store error under contention") {
            CreateContact::Created => winners.push(id),
            CreateContact::Taken { email_owner, .. } => {
                owners_named.insert(email_owner.expect("the loser learns the owner"));
            }
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer creates the contact");
    assert!(owners_named.iter().all(|owner| *owner == winners[0]));
    let claim = store
        .get_claim(&project, ClaimKind::Email, "race@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claim.contact_id, winners[0]);
    let items = all_items(&store).await;
    assert_eq!(entity_count(&items, "Contact"), 1);
    assert_eq!(entity_count(&items, "Claim"), 1);
}

#[tokio::test]
async fn cancelled_contact_creation_writes_nothing() {
    let store = fresh_store().await;
    let project = project_id();
    let first = contact(&project, Some("taken@example.com"), Some("u-1"));
    store.create_contact(&first, Vec::new()).await.unwrap();
    let before = all_items(&store).await;

    // Email taken, user id free: the whole transaction is cancelled, so neither
    // the contact nor the free user-id claim is written.
    let second = contact(&project, Some("taken@example.com"), Some("u-2"));
    let outcome = store.create_contact(&second, Vec::new()).await.unwrap();
    assert_eq!(
        outcome,
        CreateContact::Taken {
            email_owner: Some(first.id.clone()),
            user_id_owner: None
        }
    );
    let mut after = all_items(&store).await;
    let mut before = before;
    let order = |i: &keys::Item| format!("{:?}{:?}", i.get("pk"), i.get("sk"));
    after.sort_by_key(order);
    before.sort_by_key(order);
    assert_eq!(after, before);
}

// ---- links and their counts, through the routes ------------------------------------

/// A project on `app`, owned by [`OWNER`], and its account requests.
struct Tenant {
    app: &'static App,
    project: Project,
}

impl Tenant {
    async fn new(app: &'static App) -> Self {
        let owner = Caller {
            user_id: OWNER.into(),
        };
        let (project, _) = projects::create(&app.store, &owner, "Invariants".into())
            .await
            .unwrap();
        Tenant { app, project }
    }

    fn req(&self, method: &str, route: &str) -> ApiRequest {
        ApiRequest::new(method, route)
            .user(OWNER)
            .header("X-Project-Id", &self.project.id)
    }

    async fn send(&self, request: ApiRequest) -> Answer {
        send(self.app, request).await
    }

    fn link_request(&self, method: &str, contact: &str, company: &str) -> ApiRequest {
        self.req(method, "/api/contacts/{id}/companies/{company_id}")
            .path_param("id", contact)
            .path_param("company_id", company)
    }

    async fn contact(&self, email: &str) -> String {
        let answer = self
            .send(
                self.req("POST", "/api/contacts")
                    .json(&json!({ "email": email })),
            )
            .await;
        assert_eq!(answer.status, 201, "{:#}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    }

    async fn company(&self, id: &str) -> String {
        let answer = self
            .send(
                self.req("POST", "/api/companies")
                    .json(&json!({ "id": id })),
            )
            .await;
        assert_eq!(answer.status, 201, "{:#}", answer.body);
        id.to_owned()
    }

    fn identify(&self, body: Value) -> ApiRequest {
        let mut body = body;
        body["project_id"] = json!(self.project.id);
        ApiRequest::new("POST", "/api/widget/identify").json(&body)
    }
}

/// Statuses a request in a race may answer: success, or the loser's honest
/// answer (the record it names was deleted by another request). `true` for
/// success.
fn assert_settled(answer: &Answer, what: &str) -> bool {
    let lost_race = answer.status == 404
        && ["contact_not_found", "company_not_found"].contains(&answer.error_code());
    assert!(
        answer.status.is_success() || lost_race,
        "{what}: {} {:#}",
        answer.status,
        answer.body
    );
    answer.status.is_success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_links_unlinks_identifies_and_deletes_keep_counts_equal_to_links() {
    let tenant = Tenant::new(fresh_app().await).await;
    let companies = ["acme", "globex", "initech", "umbrella"];
    for id in companies {
        tenant.company(id).await;
    }
    let mut people = Vec::new();
    for i in 0..6 {
        people.push(tenant.contact(&format!("p{i}@example.com")).await);
    }
    // 16 tasks, each 8 random operations from a fixed seed: links, unlinks,
    // identifies linking companies (and giving placeholders), and deletes of
    // contacts and companies, all hitting the same few records at once.
    let tenant = &*Box::leak(Box::new(tenant));
    let tasks: Vec<_> = (0..16u64)
        .map(|task| {
            let people = people.clone();
            tokio::spawn(async move {
                let mut rng = rand::rngs::StdRng::seed_from_u64(task);
                let mut contended = 0;
                for step in 0..8 {
                    let who = &people[rng.random_range(0..people.len())];
                    let company = companies[rng.random_range(0..companies.len())];
                    let (what, request) = match rng.random_range(0..10) {
                        0..=3 => ("link", tenant.link_request("PUT", who, company)),
                        4..=5 => ("unlink", tenant.link_request("DELETE", who, company)),
                        6..=7 => {
                            let email = format!("{}@example.com", &who[who.len() - 4..]);
                            let body = json!({"visitor_id": format!("v{task}-{step}"), "email": email, "company": {"id": company}});
                            ("identify", tenant.identify(body))
                        }
                        8 => (
                            "delete contact",
                            tenant
                                .req("DELETE", "/api/contacts/{id}")
                                .path_param("id", who),
                        ),
                        _ => (
                            "delete company",
                            tenant
                                .req("DELETE", "/api/companies/{id}")
                                .path_param("id", company),
                        ),
                    };
                    let answer = tenant.send(request).await;
                    // A storm this dense on so few records may exhaust the
                    // retries of a request: it then answers 429 and has
                    // written nothing half (checked below), as SPEC §7 says.
                    if answer.error_code() != "contention" {
                        assert_settled(&answer, what);
                    }
                    contended += usize::from(answer.error_code() == "contention");
                }
                contended
            })
        })
        .collect();
    let mut contended = 0;
    for task in tasks {
        contended += task.await.unwrap();
    }
    assert!(contended <= 8, "{contended} of 128 requests answered 429");
    assert_links_consistent(&tenant.app.store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_contact_deleted_while_it_is_being_linked_leaves_no_link_behind() {
    // Each round starts the links at a different moment of the delete.
    for round in 0..12u64 {
        let tenant = Tenant::new(fresh_app().await).await;
        let person = tenant.contact("gone@example.com").await;
        let mut targets = Vec::new();
        for i in 0..4 {
            targets.push(tenant.company(&format!("co-{i}")).await);
        }
        tenant
            .send(tenant.link_request("PUT", &person, &targets[0]))
            .await;
        let tenant = &*Box::leak(Box::new(tenant));
        let linking: Vec<_> = targets[1..]
            .iter()
            .cloned()
            .map(|company| {
                let person = person.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(round * 2)).await;
                    tenant
                        .send(tenant.link_request("PUT", &person, &company))
                        .await
                })
            })
            .collect();
        let deleted = tenant
            .send(
                tenant
                    .req("DELETE", "/api/contacts/{id}")
                    .path_param("id", &person),
            )
            .await;
        assert_eq!(deleted.status, 204, "{:#}", deleted.body);
        for link in linking {
            assert_settled(&link.await.unwrap(), "link");
        }
        assert_links_consistent(&tenant.app.store).await;
        let items = all_items(&tenant.app.store).await;
        assert_eq!(entity_count(&items, "Link"), 0, "round {round}");
        // Every company can still be deleted: no count is left above its links.
        for company in &targets {
            let answer = tenant
                .send(
                    tenant
                        .req("DELETE", "/api/companies/{id}")
                        .path_param("id", company),
                )
                .await;
            assert_eq!(answer.status, 204, "round {round}: {:#}", answer.body);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_company_being_deleted_takes_no_new_link_so_its_delete_finishes() {
    // Four operators keep linking contacts to the company for about four
    // seconds while it is deleted: once the delete began, links to it wait
    // and then find it gone, so the delete is not left chasing new links
    // (which, with an index that lags, it could never catch up with).
    let tenant = Tenant::new(fresh_app().await).await;
    tenant.company("busy").await;
    let mut people = Vec::new();
    for i in 0..40 {
        people.push(tenant.contact(&format!("l{i}@example.com")).await);
    }
    let tenant = &*Box::leak(Box::new(tenant));
    let linkers: Vec<_> = people
        .chunks(10)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            tokio::spawn(async move {
                for person in chunk {
                    let answer = tenant
                        .send(tenant.link_request("PUT", &person, "busy"))
                        .await;
                    assert_settled(&answer, "link");
                    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let deleted = tenant
        .send(
            tenant
                .req("DELETE", "/api/companies/{id}")
                .path_param("id", "busy"),
        )
        .await;
    assert_eq!(deleted.status, 204, "{:#}", deleted.body);
    for linker in linkers {
        linker.await.unwrap();
    }
    assert_links_consistent(&tenant.app.store).await;
    assert_eq!(entity_count(&all_items(&tenant.app.store).await, "Link"), 0);
}

#[tokio::test]
async fn a_contact_with_150_visitors_and_a_company_with_150_contacts_stay_within_transaction_limits()
 {
    let tenant = Tenant::new(fresh_app().await).await;
    let identify = |body: Value| async {
        let answer = tenant.send(tenant.identify(body)).await;
        assert_eq!(answer.status, 200, "{:#}", answer.body);
        answer.body
    };
    // One contact, 150 visitors, all on its placeholder.
    for i in 0..150 {
        identify(json!({"visitor_id": format!("v{i}"), "email": "hub@hub-co.com"})).await;
    }
    // Promotion moves the placeholder's data to a real company without
    // rewriting the 150 visitors; their widget writes reach the real company.
    let promoted = identify(
        json!({"visitor_id": "v0", "email": "hub@hub-co.com", "company": {"id": "hub-co"}}),
    )
    .await;
    let hub = promoted["contact"]["id"].as_str().unwrap().to_owned();
    assert_eq!(promoted["contact"]["placeholder_company_id"], Value::Null);
    let deal = tenant
        .send(
            ApiRequest::new("POST", "/api/widget/set-deal").json(&json!({
                "project_id": tenant.project.id, "visitor_id": "v149", "deal_value": 500
            })),
        )
        .await;
    assert_eq!(deal.status, 200, "{:#}", deal.body);
    assert_eq!(deal.body["company"]["id"], "hub-co");
    // One company, 150 contacts, linked by identify.
    for i in 0..150 {
        identify(json!({"visitor_id": format!("w{i}"), "email": format!("c{i}@example.com"), "company": {"id": "acme"}})).await;
    }
    let linked = tenant.send(tenant.link_request("PUT", &hub, "acme")).await;
    assert_eq!(linked.status, 201, "{:#}", linked.body);
    assert_links_consistent(&tenant.app.store).await;
    for (route, id) in [
        ("/api/contacts/{id}", hub.as_str()),
        ("/api/companies/{id}", "acme"),
    ] {
        // The company's links are found through the (lagging) index: its
        // delete waits for the index rather than leave a link behind.
        let deleted = tenant
            .send(tenant.req("DELETE", route).path_param("id", id))
            .await;
        assert_eq!(deleted.status, 204, "{route}: {:#}", deleted.body);
    }
    assert_links_consistent(&tenant.app.store).await;
    let items = all_items(&tenant.app.store).await;
    assert_eq!(entity_count(&items, "Link"), 0);
    assert_eq!(entity_count(&items, "Contact"), 150);
    // A visitor of the deleted contact reads as unidentified.
    let visitor = tenant
        .send(
            tenant
                .req("GET", "/api/visitors/{visitor_id}")
                .path_param("visitor_id", "v7"),
        )
        .await;
    assert_eq!(
        (
            &visitor.body["contact_id"],
            &visitor.body["active_company_id"]
        ),
        (&Value::Null, &Value::Null)
    );
}

#[tokio::test]
async fn a_contact_collection_is_the_contact_and_its_links() {
    let app = fresh_app().await;
    let tenant = Tenant::new(app).await;
    let person = tenant.contact("c@example.com").await;
    for id in ["acme", "globex", "initech"] {
        tenant.company(id).await;
        links::link(&app.store, &tenant.project.id, &person, id)
            .await
            .unwrap();
    }
    let (found, links) = app
        .store
        .get_contact_with_links(&tenant.project.id, &person)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id.as_str(), found.company_count),
        (person.as_str(), 3)
    );
    let mut companies: Vec<_> = links.iter().map(|l| l.company_id.as_str()).collect();
    companies.sort_unstable();
    assert_eq!(companies, ["acme", "globex", "initech"]);
}

#[tokio::test]
async fn ids_of_one_project_do_not_reach_another() {
    let app = fresh_app().await;
    let (a, b) = (Tenant::new(app).await, Tenant::new(app).await);
    a.company("acme").await;
    assert!(
        app.store
            .get_company(&b.project.id, "acme")
            .await
            .unwrap()
            .is_none()
    );
    // The same client-chosen id is free in another project.
    b.company("acme").await;
}

// ---- answers lost after the write was applied ------------------------------------

#[tokio::test]
async fn a_single_write_whose_answer_was_lost_is_not_answered_as_refused() {
    // The SDK retries the create; the retry's refusal (the item exists) must
    // be recognised as this write's own.
    let lose = LoseAnswers::new("PutItem", 1);
    let app = app_with(lose.clone()).await;
    let tenant = Tenant::new(app).await;
    let project = &tenant.project;
    let company = companies::create(
        &app.store,
        project,
        Some("acme".into()),
        &Default::default(),
    )
    .await
    .expect("the create succeeded; only its answer was lost");
    assert_eq!(company.id, "acme");
    lose.assert_lost_one();
    // A single-item update (a company PATCH) whose condition fails on retry.
    let lose_update = LoseAnswers::new("UpdateItem", 1);
    let app = app_with(lose_update.clone()).await;
    let tenant = Tenant::new(app).await;
    tenant.company("acme").await;
    let answer = tenant
        .send(
            tenant
                .req("PATCH", "/api/companies/{id}")
                .path_param("id", "acme")
                .json(&json!({"metadata": {"plan": "pro"}})),
        )
        .await;
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    lose_update.assert_lost_one();
    assert_eq!(answer.body["metadata"], json!({"plan": "pro"}));
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_is_done() {
    let lose = LoseAnswers::new("DeleteItem", 1);
    let app = app_with(lose.clone()).await;
    let tenant = Tenant::new(app).await;
    tenant.company("acme").await;
    let answer = tenant
        .send(
            tenant
                .req("DELETE", "/api/companies/{id}")
                .path_param("id", "acme"),
        )
        .await;
    assert_eq!(answer.status, 204, "{:#}", answer.body);
    lose.assert_lost_one();
}

#[tokio::test]
async fn a_transaction_whose_answer_was_lost_is_applied_once() {
    // Its retry carries the same ClientRequestToken: applied once, answered
    // as success, the contact created exactly once.
    let lose = LoseAnswers::new("TransactWriteItems", 0);
    let app = app_with(lose.clone()).await;
    let tenant = Tenant::new(app).await;
    lose.arm(1);
    let fields = contacts::Fields {
        email: Some(Some("once@example.com".into())),
        ..Default::default()
    };
    let created = contacts::create(&app.store, &tenant.project.id, &fields)
        .await
        .expect("created; only the answer was lost");
    lose.assert_lost_one();
    let items = all_items(&app.store).await;
    assert_eq!(entity_count(&items, "Contact"), 1);
    assert_eq!(
        app.store
            .get_claim(&tenant.project.id, ClaimKind::Email, "once@example.com")
            .await
            .unwrap()
            .map(|c| c.contact_id),
        Some(created.id)
    );
}

// ---- store failures ---------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_store_is_answered_within_the_budget_and_served_again_once_back() {
    let stall = Stall::start(&endpoint()).await;
    let app = app_at(&stall.endpoint()).await;
    let tenant = Tenant::new(app).await;
    let (_, key) = hal_crm::domain::api_keys::create(
        &app.store,
        &tenant.project.id,
        "stall",
        vec![hal_crm::model::Scope::ContactsRead],
        OWNER,
    )
    .await
    .unwrap();
    // One route of each family: widget, account, public v1.
    let requests = || {
        [
            tenant.identify(json!({"visitor_id": "v", "email": "a@acme.com"})),
            tenant.req("GET", "/api/contacts"),
            ApiRequest::new("GET", "/api/v1/contacts").header("X-API-Key", &key),
        ]
    };
    let budget = std::time::Duration::from_secs(2);
    stall.pause();
    for request in requests() {
        let route = format!("{:?}", request.route());
        let started = std::time::Instant::now();
        let (answer, headers) = send_with_budget(app, request, budget).await;
        let took = started.elapsed();
        assert_eq!(
            (answer.status.as_u16(), answer.error_code()),
            (503, "store_unavailable"),
            "{route}: {:#}",
            answer.body
        );
        assert_eq!(headers["retry-after"], "1", "{route}");
        // Answered before the invocation's deadline (less the answer's reserve).
        assert!(took < budget, "{route} took {took:?}");
    }
    stall.resume();
    for request in requests() {
        let route = format!("{:?}", request.route());
        let (answer, _) = send_with_budget(app, request, budget).await;
        assert!(answer.status.is_success(), "{route}: {:#}", answer.body);
    }
}

#[tokio::test]
async fn an_unreachable_store_is_unavailable_and_answers_503() {
    // Nothing listens on port 9 of the loopback interface.
    let store = Store::local("http://127.0.0.1:9", "nowhere");
    let err = store.get_company(&project_id(), "acme").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let api = ApiError::from(err);
    assert_eq!((api.status.as_u16(), api.code), (503, "store_unavailable"));
}

#[test]
fn throttling_and_contention_answer_429_and_other_failures_500() {
    let api = ApiError::from(StoreError::Throttled);
    assert_eq!((api.status.as_u16(), api.code), (429, "throttled"));
    let api = ApiError::from(StoreError::Contention);
    assert_eq!((api.status.as_u16(), api.code), (429, "contention"));
    let api = ApiError::from(StoreError::Other(
        "ValidationException: secret detail".into(),
    ));
    assert_eq!((api.status.as_u16(), api.code), (500, "internal"));
    let body = api.body("req-1").to_string();
    assert!(!body.contains("secret detail") && !body.contains("ValidationException"));
}
