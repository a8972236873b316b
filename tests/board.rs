//! The pipeline at scale (issue 14): the board view, the pipeline summary
//! and contact search, each read through its own index; the summary exact
//! under concurrent stage and deal changes.

use super::{OWNER, Workspace, applied, id, workspace, workspace_on};
use hal_crm::domain::stages;
use hal_crm::model::{Company, SearchEntry};
use hal_crm::store::pipeline::{units, value_of_units};
use hal_crm::store::record::from_item;
use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::{fresh_app, metered_app, put_record, send};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The ids of a listing's page, in order.
fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

impl Workspace {
    /// The id of the stage named `name`.
    async fn stage_id(&self, name: &str) -> String {
        let stages = self.ok(self.req("GET", "/api/stages")).await;
        stages["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Every page of `route?query`, `limit` at a time: the ids in order.
    async fn walk(&self, route: &str, query: &str, limit: usize) -> Vec<String> {
        self.walk_seeing(route, query, limit, |_| {}).await
    }

    /// Contacts made from `bodies`, in order: their ids.
    async fn contact_ids(&self, bodies: impl IntoIterator<Item = Value>) -> Vec<String> {
        let mut ids = Vec::new();
        for body in bodies {
            ids.push(id(&self.contact(body).await));
        }
        ids
    }

    /// Every page size in `limits` walks `/api/contacts?{query}` to
    /// `expected`, in order.
    async fn assert_walks(&self, query: &str, limits: &[usize], expected: &[String]) {
        for &limit in limits {
            assert_eq!(
                self.walk("/api/contacts", query, limit).await,
                expected,
                "{query}, limit {limit}"
            );
        }
    }

    /// `walk`, showing each page to `seen` as it comes.
    async fn walk_seeing(
        &self,
        route: &str,
        query: &str,
        limit: usize,
        mut seen: impl FnMut(&Value),
    ) -> Vec<String> {
        let mut found = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = format!("{query}&limit={limit}");
            if let Some(c) = &cursor {
                q.push_str(&format!("&cursor={c}"));
            }
            let page = self.ok(self.req("GET", route).query(&q)).await;
            seen(&page);
            found.extend(ids(&page));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return found,
            }
        }
    }

    /// The pipeline totals recomputed from every company record (read
    /// consistently): stage name → (companies, deal value).
    async fn recomputed(&self) -> BTreeMap<String, (i64, f64)> {
        let project = self
            .app
            .store
            .get_project(&self.project.id)
            .await
            .unwrap()
            .unwrap();
        let mut units_by: BTreeMap<String, (i64, i128)> = BTreeMap::new();
        for item in self.entities("Company").await {
            let company: Company = from_item(item).unwrap();
            if let Some(stage) = stages::effective(&project, company.stage_id.as_deref()) {
                let entry = units_by.entry(stage.stage.name.clone()).or_default();
                entry.0 += 1;
                entry.1 += units(company.deal_value);
            }
        }
        project
            .stages
            .iter()
            .map(|s| {
                let (n, u) = units_by.get(&s.name).copied().unwrap_or_default();
                (s.name.clone(), (n, value_of_units(u)))
            })
            .collect()
    }

    /// `GET /api/pipeline`'s per-stage totals: name → (companies, value).
    async fn summary(&self) -> (BTreeMap<String, (i64, f64)>, Value) {
        let body = self.ok(self.req("GET", "/api/pipeline")).await;
        let totals = body["stages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["name"].as_str().unwrap().to_owned(),
                    (
                        s["companies"].as_i64().unwrap(),
                        s["total_deal_value"].as_f64().unwrap(),
                    ),
                )
            })
            .collect();
        (totals, body)
    }
}

#[tokio::test]
async fn the_pipeline_summary_counts_and_sums_each_stage_exactly() {
    let ws = workspace().await;
    for (id, stage, value) in [
        ("a", Some("New"), Some(0.1)),
        ("b", Some("New"), Some(0.2)),
        ("c", Some("Won"), Some(1e9)),
        ("d", Some("Won"), None),
        ("e", None, Some(7.0)),
    ] {
        ws.company(json!({"id": id, "stage": stage, "deal_value": value}))
            .await;
    }
    let (totals, body) = ws.summary().await;
    // 0.1 + 0.2 is 0.3 here, not 0.30000000000000004; "e" is on no stage.
    assert_eq!(totals["New"], (2, 0.3));
    assert_eq!(totals["Won"], (2, 1e9));
    assert_eq!(totals["Lost"], (0, 0.0));
    assert_eq!(
        body["all"],
        json!({"companies": 4, "total_deal_value": 1_000_000_000.3})
    );
    assert_eq!(totals, ws.recomputed().await);
    // Moves, value changes, a delete and a stage deleted into another.
    ws.ok(ws
        .req("PATCH", "/api/companies/{id}")
        .path_param("id", "a")
        .json(&json!({"stage": "Won", "deal_value": 5})))
        .await;
    ws.ok(ws
        .req("PATCH", "/api/companies/{id}")
        .path_param("id", "e")
        .json(&json!({"stage": "Lost"})))
        .await;
    ws.ok(ws
        .req("DELETE", "/api/companies/{id}")
        .path_param("id", "c"))
        .await;
    let won = ws.stage_id("Won").await;
    ws.ok(ws
        .req("DELETE", "/api/stages/{id}")
        .path_param("id", &won)
        .query("reassign_to=New"))
        .await;
    let (totals, _) = ws.summary().await;
    assert_eq!(totals["New"], (3, 5.2));
    assert_eq!(totals["Lost"], (1, 7.0));
    assert!(!totals.contains_key("Won"));
    assert_eq!(totals, ws.recomputed().await);
    // The latest stage changes (an index: it may trail), newest first, each
    // company once, each as it reads now; "e" (on no stage before) is one.
    let body = ws
        .listed(
            || ws.req("GET", "/api/pipeline"),
            |b| {
                b["recent_stage_changes"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|c| c["id"] == "e" && c["stage"] == "Lost"))
            },
        )
        .await;
    let recent = body["recent_stage_changes"].as_array().unwrap();
    let times: Vec<&str> = recent
        .iter()
        .map(|c| c["stage_changed_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let few = ws
        .ok(ws.req("GET", "/api/pipeline").query("recent=1"))
        .await;
    assert_eq!(few["recent_stage_changes"].as_array().unwrap().len(), 1);
    let bad = ws
        .send(ws.req("GET", "/api/pipeline").query("recent=51"))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["details"]["field"], "recent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipeline_totals_stay_exact_under_concurrent_stage_and_deal_changes() {
    let app = fresh_app().await;
    let ws = super::workspace_on(app, super::OWNER).await;
    let names = ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"];
    for n in 0..8 {
        ws.company(json!({"id": format!("co{n}"), "stage": names[n % 6], "deal_value": n * 10}))
            .await;
    }
    // Many writers on few companies: stage moves, value changes, both at
    // once, off the pipeline and back, deletes and re-creates, all racing.
    let requests = (0..96).map(|i| {
        let company = format!("co{}", i % 8);
        let stage = names[(i * 7) % 6];
        let request = match i % 6 {
            0 => ws
                .req("PATCH", "/api/companies/{id}")
                .path_param("id", &company)
                .json(&json!({"stage": stage})),
            1 => ws
                .req("PATCH", "/api/companies/{id}")
                .path_param("id", &company)
                .json(&json!({"deal_value": i as f64 + 0.1})),
            2 => ws
                .req("PATCH", "/api/companies/{id}")
                .path_param("id", &company)
                .json(&json!({"stage": stage, "deal_value": i * 3})),
            3 => ws
                .req("PATCH", "/api/companies/{id}")
                .path_param("id", &company)
                .json(&json!({"stage": null})),
            4 if i % 12 == 4 => ws
                .req("DELETE", "/api/companies/{id}")
                .path_param("id", &company),
            _ => ws
                .req("POST", "/api/companies")
                .json(&json!({"id": company, "stage": stage, "deal_value": 0.7})),
        };
        tokio::spawn(send(app, request))
    });
    // Deleted meanwhile, created twice, or still contended.
    let applied = applied(requests.collect(), &[200, 201, 204], &[404, 409, 429]).await;
    assert!(applied > 32, "only {applied} of 96 writes applied");
    let (totals, _) = ws.summary().await;
    assert_eq!(totals, ws.recomputed().await);
}

#[tokio::test]
async fn the_board_lists_a_stage_newest_first_or_by_deal_value() {
    let ws = workspace().await;
    for (id, value) in [
        ("low", Some(1.0)),
        ("none", None),
        ("high", Some(900.0)),
        ("mid", Some(50.0)),
    ] {
        ws.company(json!({"id": id, "stage": "Proposal", "deal_value": value}))
            .await;
    }
    ws.company(json!({"id": "elsewhere", "stage": "New", "deal_value": 10_000}))
        .await;
    // "low" changes last: it leads by activity.
    ws.ok(ws
        .req("PATCH", "/api/companies/{id}")
        .path_param("id", "low")
        .json(&json!({"notes": "called"})))
        .await;
    let ws = &ws;
    let board = |query: &'static str| move || ws.req("GET", "/api/companies").query(query);
    let by_activity = ws
        .listed(board("stage=Proposal"), |b| {
            ids(b).first().map(String::as_str) == Some("low") && ids(b).len() == 4
        })
        .await;
    assert_eq!(ids(&by_activity), ["low", "mid", "high", "none"]);
    let by_value = ws
        .listed(board("stage=Proposal&sort=deal_value"), |b| {
            ids(b).len() == 4
        })
        .await;
    assert_eq!(ids(&by_value), ["high", "mid", "low", "none"]);
    // Pages of one: the same order, nothing lost or repeated.
    assert_eq!(
        ws.walk("/api/companies", "stage=Proposal&sort=deal_value", 1)
            .await,
        ["high", "mid", "low", "none"]
    );
    // A company moved off the stage leaves its column.
    ws.ok(ws
        .req("PATCH", "/api/companies/{id}")
        .path_param("id", "mid")
        .json(&json!({"stage": "Won"})))
        .await;
    let moved = ws
        .listed(board("stage=Proposal&sort=deal_value"), |b| {
            ids(b).len() == 3
        })
        .await;
    assert_eq!(ids(&moved), ["high", "low", "none"]);
    for (query, field) in [("sort=deal_value", "sort"), ("stage=New&sort=size", "sort")] {
        let bad = ws.send(ws.req("GET", "/api/companies").query(query)).await;
        assert_eq!(bad.status, 400, "{query}");
        assert_eq!(bad.body["error"]["details"]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn companies_are_found_by_domain() {
    let ws = workspace().await;
    ws.company(json!({"id": "a", "domain": "Acme.com"})).await;
    ws.company(json!({"id": "b", "domain": "acme.com"})).await;
    ws.company(json!({"id": "c", "domain": "other.com"})).await;
    let found = ws
        .listed(
            || ws.req("GET", "/api/companies").query("domain=ACME.com"),
            |b| ids(b).len() == 2,
        )
        .await;
    assert_eq!(ids(&found), ["a", "b"]);
    ws.ok(ws
        .req("PATCH", "/api/companies/{id}")
        .path_param("id", "a")
        .json(&json!({"domain": null})))
        .await;
    let found = ws
        .listed(
            || ws.req("GET", "/api/companies").query("domain=acme.com"),
            |b| ids(b).len() == 1,
        )
        .await;
    assert_eq!(ids(&found), ["b"]);
}

/// Contacts both of whose terms a query matches are met once, at the lower
/// term: the other lives in the partition of the characters up to where
/// the two part, which a query that short does not read. So no page reads
/// an entry it then skips (issue 14: at most 2× the entries evaluated per
/// contact returned on every page; the scale benchmark has it at size).
#[tokio::test]
async fn a_search_reads_no_entry_it_then_skips() {
    let (app, meter) = metered_app().await;
    let ws = workspace_on(app, OWNER).await;
    // "lberg03@x com" is the lower term; "lena 03" parts from it after "l",
    // so its entry is in the partition of "le".
    let lenas = ws
        .contact_ids((0..12).map(
            |n| json!({"email": format!("lberg{n:02}@x.com"), "name": format!("Lena {n:02}")}),
        ))
        .await;
    // "lena 0" finds Lena 00 to 09.
    for (query, expected) in [
        ("l", &lenas[..]),
        ("le", &lenas[..]),
        ("lena 0", &lenas[..10]),
        ("lberg", &lenas[..]),
    ] {
        // A page reads each partition once, then the one that ran dry
        // again; each read may meet the cursor's own entry and looks one
        // past what it gives: at most 2 entries more than it returns.
        let reads = query.chars().count() + 1;
        meter.reset();
        let found = ws
            .walk_seeing(
                "/api/contacts",
                &format!("search={}", query.replace(' ', "%20")),
                5,
                |page| {
                    let evaluated: usize = meter
                        .calls()
                        .iter()
                        .filter(|c| c.operation == "Query" && c.answered)
                        .map(|c| c.items_read)
                        .sum();
                    let returned = ids(page).len();
                    assert!(
                        evaluated <= returned + 2 * reads,
                        "search={query}: {evaluated} entries evaluated for {returned}"
                    );
                    meter.reset();
                },
            )
            .await;
        assert_eq!(found, expected, "search={query}");
    }
    // An entry at a depth the contact's terms do not give (one written
    // before this layout) lists nothing: Lena 00 is still met once.
    let stale = SearchEntry {
        project_id: ws.project.id.clone(),
        term: "lena 00".into(),
        depth: 1,
        contact_id: lenas[0].clone(),
    };
    put_record(&app.store, &stale).await;
    assert_eq!(
        ws.walk("/api/contacts", "search=lena%2000", 5).await,
        [lenas[0].clone()]
    );
}

#[tokio::test]
async fn contacts_are_searched_by_email_or_name_prefix_once_each() {
    let ws = workspace().await;
    let mut by_email = BTreeMap::new();
    for (email, name) in [
        ("andy@z.com", Some("ANDY")),
        ("ann@x.com", Some("Zed")),
        ("bob@y.com", Some("Anna Lee")),
        ("carl@y.com", Some("Carl")),
        ("dora@y.com", None),
    ] {
        let made = ws.contact(json!({"email": email, "name": name})).await;
        by_email.insert(email, id(&made));
    }
    // In the order of the matching term ("andy" < "ann@x.com" < "anna lee");
    // "ANDY" matches by name and by email and is listed once.
    let expected = [
        by_email["andy@z.com"].clone(),
        by_email["ann@x.com"].clone(),
        by_email["bob@y.com"].clone(),
    ];
    let found = ws
        .listed(
            || ws.req("GET", "/api/contacts").query("search=%20An"),
            |b| ids(b).len() == 3,
        )
        .await;
    assert_eq!(ids(&found), expected);
    ws.assert_walks("search=an", &[1, 2], &expected).await;
    let found = ws
        .listed(
            || ws.req("GET", "/api/contacts").query("search=anna%20l"),
            |b| ids(b).len() == 1,
        )
        .await;
    assert_eq!(ids(&found), [by_email["bob@y.com"].clone()]);
    // A renamed contact is found by its new name only.
    ws.ok(ws
        .req("PATCH", "/api/contacts/{id}")
        .path_param("id", &by_email["carl@y.com"])
        .json(&json!({"name": "Annette"})))
        .await;
    let found = ws
        .listed(
            || ws.req("GET", "/api/contacts").query("search=anne"),
            |b| ids(b).len() == 1,
        )
        .await;
    assert_eq!(ids(&found), [by_email["carl@y.com"].clone()]);
    // Still found by the email, once; the old name's entry is gone (counted
    // below).
    let by_mail = ws
        .ok(ws.req("GET", "/api/contacts").query("search=carl"))
        .await;
    assert_eq!(ids(&by_mail), [by_email["carl@y.com"].clone()]);
    // A name its email starts with is no second entry: "Kim Lee" with
    // "kim.lee@…" is one, found by either spelling.
    let lee = id(&ws
        .contact(json!({"email": "kim.lee@k.com", "name": "Kim Lee"}))
        .await);
    for query in ["search=kim%20l", "search=kim.lee%40k", "search=KIM_LEE"] {
        let found = ws.ok(ws.req("GET", "/api/contacts").query(query)).await;
        assert_eq!(ids(&found), vec![lee.clone()], "{query}");
    }
    ws.ok(ws
        .req("DELETE", "/api/contacts/{id}")
        .path_param("id", &lee))
        .await;
    // Runs of contacts found by both terms ("kim 03", then "kim03@…"): each
    // once, whatever the page size.
    let kims = ws
        .contact_ids(
            (0..12).map(
                |n| json!({"email": format!("kim{n:02}@k.com"), "name": format!("Kim {n:02}")}),
            ),
        )
        .await;
    ws.assert_walks("search=kim", &[1, 5, 100], &kims).await;
    // A deleted contact's entries go with it.
    ws.ok(ws
        .req("DELETE", "/api/contacts/{id}")
        .path_param("id", &kims[0]))
        .await;
    assert_eq!(ws.walk("/api/contacts", "search=kim", 5).await, kims[1..]);
    // andy (its name is where its email starts) and dora (no name) have
    // one entry, ann, bob and carl two; the eleven kims two each.
    assert_eq!(ws.entities("SearchEntry").await.len(), 2 + 3 * 2 + 11 * 2);
    for query in ["search=", "search=%20%20"] {
        let bad = ws.send(ws.req("GET", "/api/contacts").query(query)).await;
        assert_eq!(bad.status, 400, "{query}");
        assert_eq!(bad.body["error"]["details"]["field"], "search");
    }
    // Terms that agree on more than `keys::SEARCH_DEPTH` characters
    // ("alexandra smith", "alexandra1@x com"): a query longer than that
    // reads both entries and lists the contact once, at the lower term.
    let alexandras = ws
        .contact_ids(
            [
                (1, "Alexandra Smith"),
                (2, "Alexandra Stone"),
                (3, "Alexandra Young"),
            ]
            .map(|(n, name)| json!({"email": format!("alexandra{n}@x.com"), "name": name})),
        )
        .await;
    ws.assert_walks("search=alexandra", &[1, 2, 5], &alexandras)
        .await;
    // A rename that makes the email the lower term moves its entry: the
    // contact is then listed at its email.
    ws.ok(ws
        .req("PATCH", "/api/contacts/{id}")
        .path_param("id", &alexandras[0])
        .json(&json!({"name": "Zoe"})))
        .await;
    let order = [&alexandras[1], &alexandras[2], &alexandras[0]].map(String::clone);
    assert_eq!(ws.walk("/api/contacts", "search=alexandra", 2).await, order);
    assert_eq!(
        ws.walk("/api/contacts", "search=alexandra1", 2).await,
        [alexandras[0].clone()]
    );
}

#[tokio::test]
async fn contacts_are_listed_by_tag_through_every_change_of_their_tags() {
    let ws = &workspace().await;
    let tags =
        |prefix: &str| -> Vec<String> { (0..100).map(|i| format!("{prefix}{i:03}")).collect() };
    let a = id(&ws.contact(json!({"name": "A", "tags": tags("x")})).await);
    let b = id(&ws.contact(json!({"name": "B", "tags": ["vip"]})).await);
    let tagged = |tag: &'static str| async move {
        ws.walk("/api/contacts", &format!("tag={tag}"), 50).await
    };
    assert_eq!(tagged("x042").await, vec![a.clone()]);
    assert_eq!(tagged("vip").await, vec![b.clone()]);
    // Every tag replaced (200 entry changes, more than one transaction).
    ws.ok(ws
        .req("PATCH", "/api/contacts/{id}")
        .path_param("id", &a)
        .json(&json!({"tags": tags("y")})))
        .await;
    assert!(tagged("x042").await.is_empty());
    assert_eq!(tagged("y099").await, vec![a.clone()]);
    ws.ok(ws
        .req("PATCH", "/api/contacts/{id}")
        .path_param("id", &a)
        .json(&json!({"tags": ["vip"]})))
        .await;
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(tagged("vip").await, both);
    assert_eq!(ws.walk("/api/contacts", "tag=vip", 1).await, both);
    assert!(tagged("y099").await.is_empty());
    // No entry outlives its tag or its contact.
    ws.ok(ws.req("DELETE", "/api/contacts/{id}").path_param("id", &b))
        .await;
    assert_eq!(tagged("vip").await, vec![a.clone()]);
    assert_eq!(ws.entities("TagEntry").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipeline_totals_stay_exact_through_widget_writes_promotions_and_stage_deletes() {
    let app = fresh_app().await;
    let ws = super::workspace_on(app, super::OWNER).await;
    let names = ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"];
    for (n, stage) in names.iter().take(4).enumerate() {
        ws.company(json!({"id": format!("co{n}"), "stage": stage, "deal_value": 100 * n}))
            .await;
    }
    // Twelve visitors, each identified with a placeholder company.
    for v in 0..12 {
        ws.identify(json!({"visitor_id": format!("v{v}"), "email": format!("p{v}@x.com")}))
            .await;
    }
    let lost = ws.stage_id("Lost").await;
    let project = ws.project.id.clone();
    // Racing: placeholders staged and valued by the widget, promoted by
    // identifies naming a real company (which carry their stage and value
    // over), widget and account stage moves on the real companies, and the
    // stage "Lost" deleted into "Won" in the middle of it all.
    let requests = (0..72).map(|i| {
        // Each visitor gets every kind of write, all at once.
        let visitor = format!("v{}", i / 6);
        let company = format!("co{}", i / 6 % 4);
        let stage = names[(i / 6 + i) % 6];
        let widget = |route: &str, body: Value| {
            let mut body = body;
            body["project_id"] = json!(project);
            body["visitor_id"] = json!(visitor);
            ApiRequest::new("POST", route).json(&body)
        };
        let request = match i % 6 {
            0 => widget(
                "/api/widget/set-deal",
                json!({"deal_value": i as f64 + 0.25, "stage": stage}),
            ),
            1 => widget(
                "/api/widget/identify",
                json!({"email": format!("p{}@x.com", i / 6), "company": {"id": company, "stage": stage}}),
            ),
            2 => widget(
                "/api/widget/set-stage",
                json!({"company_id": company, "stage": stage, "stage_update_mode": "exact"}),
            ),
            3 => ws
                .req("PATCH", "/api/companies/{id}")
                .path_param("id", &company)
                .json(&json!({"deal_value": i * 7})),
            4 if i == 34 => ws
                .req("DELETE", "/api/stages/{id}")
                .path_param("id", &lost)
                .query("reassign_to=Won"),
            _ => widget("/api/widget/set-stage", json!({"stage": stage})),
        };
        tokio::spawn(send(app, request))
    });
    // Not linked to that company, several companies and none active, a
    // stage deleted meanwhile, still contended.
    let applied = applied(requests.collect(), &[200, 201, 204], &[404, 409, 422, 429]).await;
    assert!(applied > 24, "only {applied} of 72 writes applied");
    let (totals, _) = ws.summary().await;
    assert_eq!(totals, ws.recomputed().await);
    assert!(!totals.contains_key("Lost"));
}
