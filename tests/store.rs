//! Store invariants (SPEC §8) against DynamoDB Local, with real concurrent tasks.

use aws_sdk_dynamodb::types::AttributeValue;
use hal_crm::clock::Timestamp;
use hal_crm::ids::{IdKind, new_id};
use hal_crm::model::{Company, Contact, Link, LinkSource, Visitor};
use hal_crm::store::contacts::CreateContact;
use hal_crm::store::links::{LinkOutcome, UnlinkOutcome};
use hal_crm::store::schema::TABLE;
use hal_crm::store::{Store, StoreError, keys};
use hal_crm::{ApiError, model::ClaimKind};
use hal_crm_tests::{all_items, fresh_store};
use rand::Rng;
use std::collections::HashSet;

fn project_id() -> String {
    new_id(IdKind::Project)
}

fn contact(project: &str, email: Option<&str>, user_id: Option<&str>) -> Contact {
    let now = Timestamp::now();
    Contact {
        id: new_id(IdKind::Contact),
        project_id: project.to_owned(),
        name: None,
        email: email.map(str::to_owned),
        user_id: user_id.map(str::to_owned),
        phone: None,
        notes: None,
        tags: Vec::new(),
        metadata: Default::default(),
        placeholder_company_id: None,
        created_at: now,
        updated_at: now,
    }
}

fn company(project: &str, id: &str) -> Company {
    Company::new(project, id, id, Timestamp::now())
}

fn link(project: &str, contact: &str, company: &str) -> Link {
    Link {
        project_id: project.to_owned(),
        contact_id: contact.to_owned(),
        company_id: company.to_owned(),
        source: LinkSource::Manual,
        created_at: Timestamp::now(),
    }
}

fn entity_count(items: &[keys::Item], entity: &str) -> usize {
    items
        .iter()
        .filter(|item| item.get(keys::TYPE) == Some(&AttributeValue::S(entity.to_owned())))
        .count()
}

async fn contact_count(store: &Store, project: &str, company: &str) -> i64 {
    store
        .get_company(project, company)
        .await
        .unwrap()
        .unwrap()
        .contact_count
}

/// Link items of `company`, read consistently from the table itself.
async fn link_rows(store: &Store, company: &str) -> usize {
    all_items(store)
        .await
        .iter()
        .filter(|item| {
            item.get(keys::TYPE) == Some(&AttributeValue::S("Link".into()))
                && item.get("company_id") == Some(&AttributeValue::S(company.to_owned()))
        })
        .count()
}

#[tokio::test]
async fn created_table_matches_the_one_definition() {
    let store = fresh_store().await;
    let table = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let key_names: Vec<&str> = table
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(key_names, [TABLE.partition_key, TABLE.sort_key]);
    let mut defined: Vec<&str> = table
        .attribute_definitions()
        .iter()
        .map(|a| a.attribute_name())
        .collect();
    defined.sort_unstable();
    let mut expected = TABLE.key_attributes();
    expected.sort_unstable();
    assert_eq!(defined, expected);
    let indexes = table.global_secondary_indexes();
    assert_eq!(indexes.len(), TABLE.indexes.len());
    for (index, def) in indexes.iter().zip(TABLE.indexes) {
        assert_eq!(index.index_name(), Some(def.name));
        let projection = index
            .projection()
            .and_then(|p| p.projection_type())
            .map(|p| p.as_str());
        assert_eq!(projection, Some(def.projection));
    }
}

#[tokio::test]
async fn records_round_trip_without_null_attributes() {
    let store = fresh_store().await;
    let project = project_id();
    let stored = contact(&project, Some("ada@example.com"), None);
    assert_eq!(
        store.create_contact(&stored).await.unwrap(),
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
            tokio::spawn(
                async move { (candidate.id.clone(), store.create_contact(&candidate).await) },
            )
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
    store.create_contact(&first).await.unwrap();
    let before = all_items(&store).await;

    // Email taken, user id free: the whole transaction is cancelled, so neither
    // the contact nor the free user-id claim is written.
    let second = contact(&project, Some("taken@example.com"), Some("u-2"));
    let outcome = store.create_contact(&second).await.unwrap();
    assert_eq!(
        outcome,
        CreateContact::Taken {
            email_owner: Some(first.id.clone()),
            user_id_owner: None
        }
    );
    assert_eq!(store.get_contact(&project, &second.id).await.unwrap(), None);
    assert!(
        store
            .get_claim(&project, ClaimKind::UserId, "u-2")
            .await
            .unwrap()
            .is_none()
    );
    let mut after = all_items(&store).await;
    let mut before = before;
    let order = |i: &keys::Item| format!("{:?}{:?}", i.get("pk"), i.get("sk"));
    after.sort_by_key(order);
    before.sort_by_key(order);
    assert_eq!(after, before);
}

#[tokio::test]
async fn link_needs_both_records_and_writes_nothing_otherwise() {
    let store = fresh_store().await;
    let project = project_id();
    let person = contact(&project, Some("a@example.com"), None);
    store.create_contact(&person).await.unwrap();
    let outcome = store
        .link(&link(&project, &person.id, "ghost"))
        .await
        .unwrap();
    assert_eq!(outcome, LinkOutcome::CompanyMissing);
    store
        .create_company(&company(&project, "acme"))
        .await
        .unwrap();
    let outcome = store
        .link(&link(&project, "ct_missing", "acme"))
        .await
        .unwrap();
    assert_eq!(outcome, LinkOutcome::ContactMissing);
    let items = all_items(&store).await;
    assert_eq!(entity_count(&items, "Link"), 0);
    assert_eq!(contact_count(&store, &project, "acme").await, 0);
}

#[tokio::test]
async fn link_and_unlink_are_idempotent() {
    let store = fresh_store().await;
    let project = project_id();
    let person = contact(&project, None, Some("u"));
    store.create_contact(&person).await.unwrap();
    store
        .create_company(&company(&project, "acme"))
        .await
        .unwrap();
    let row = link(&project, &person.id, "acme");
    assert_eq!(store.link(&row).await.unwrap(), LinkOutcome::Linked);
    assert_eq!(store.link(&row).await.unwrap(), LinkOutcome::AlreadyLinked);
    assert_eq!(contact_count(&store, &project, "acme").await, 1);
    let (_, links) = store
        .get_contact_with_links(&project, &person.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(links, vec![row]);
    assert_eq!(
        store.company_contact_ids(&project, "acme").await.unwrap(),
        vec![person.id.clone()]
    );
    assert_eq!(
        store.unlink(&project, &person.id, "acme").await.unwrap(),
        UnlinkOutcome::Unlinked
    );
    assert_eq!(
        store.unlink(&project, &person.id, "acme").await.unwrap(),
        UnlinkOutcome::NotLinked
    );
    assert_eq!(contact_count(&store, &project, "acme").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_links_and_unlinks_keep_contact_count_equal_to_link_rows() {
    let store = fresh_store().await;
    let project = project_id();
    store
        .create_company(&company(&project, "acme"))
        .await
        .unwrap();
    let mut people = Vec::new();
    for _ in 0..6 {
        let person = contact(&project, None, None);
        store.create_contact(&person).await.unwrap();
        people.push(person.id);
    }
    // 24 tasks, each linking or unlinking random contacts 8 times: many
    // transactions hit the same link items and the same company counter at once.
    let tasks: Vec<_> = (0..24)
        .map(|_| {
            let store = store.clone();
            let project = project.clone();
            let people = people.clone();
            tokio::spawn(async move {
                for _ in 0..8 {
                    let (who, add) = {
                        let mut rng = rand::rng();
                        (
                            people[rng.random_range(0..people.len())].clone(),
                            rng.random_bool(0.6),
                        )
                    };
                    if add {
                        store
                            .link(&link(&project, &who, "acme"))
                            .await
                            .map(|_| ())?;
                    } else {
                        store.unlink(&project, &who, "acme").await.map(|_| ())?;
                    }
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().expect("every operation completes");
    }
    let count = contact_count(&store, &project, "acme").await;
    let rows = link_rows(&store, "acme").await;
    assert_eq!(count as usize, rows);
    assert_eq!(
        store
            .company_contact_ids(&project, "acme")
            .await
            .unwrap()
            .len(),
        rows
    );
}

#[tokio::test]
async fn a_contact_collection_is_the_contact_and_its_links() {
    let store = fresh_store().await;
    let project = project_id();
    let person = contact(&project, Some("c@example.com"), None);
    store.create_contact(&person).await.unwrap();
    for id in ["acme", "globex", "initech"] {
        store.create_company(&company(&project, id)).await.unwrap();
        store.link(&link(&project, &person.id, id)).await.unwrap();
    }
    let (found, links) = store
        .get_contact_with_links(&project, &person.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, person);
    let mut companies: Vec<_> = links.iter().map(|l| l.company_id.as_str()).collect();
    companies.sort_unstable();
    assert_eq!(companies, ["acme", "globex", "initech"]);
}

#[tokio::test]
async fn creating_an_existing_company_or_visitor_is_refused() {
    let store = fresh_store().await;
    let project = project_id();
    store
        .create_company(&company(&project, "acme"))
        .await
        .unwrap();
    let mut renamed = company(&project, "acme");
    renamed.name = "Other".into();
    assert!(matches!(
        store.create_company(&renamed).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        store
            .get_company(&project, "acme")
            .await
            .unwrap()
            .unwrap()
            .name,
        "acme"
    );

    let now = Timestamp::now();
    let visitor = Visitor {
        project_id: project.clone(),
        visitor_id: "v-1".into(),
        properties: Default::default(),
        contact_id: None,
        active_company_id: None,
        first_seen_at: now,
        last_seen_at: now,
        updated_at: now,
    };
    store.create_visitor(&visitor).await.unwrap();
    assert!(matches!(
        store.create_visitor(&visitor).await,
        Err(StoreError::ConditionFailed)
    ));
    assert_eq!(
        store.get_visitor(&project, "v-1").await.unwrap(),
        Some(visitor)
    );
}

#[tokio::test]
async fn ids_of_one_project_do_not_reach_another() {
    let store = fresh_store().await;
    let (a, b) = (project_id(), project_id());
    store.create_company(&company(&a, "acme")).await.unwrap();
    assert!(store.get_company(&b, "acme").await.unwrap().is_none());
    // The same client-chosen id is free in another project.
    store.create_company(&company(&b, "acme")).await.unwrap();
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
