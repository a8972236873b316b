//! Listings at scale: a project of 100 000 contacts and 20 000 companies in
//! DynamoDB Local, loaded through the domain functions the routes call (not
//! hand-made items), then every list, filter, search and the pipeline
//! summary, page by page through the route handlers, with the meter
//! counting what DynamoDB read. Per listing: items returned per page, index
//! (or partition) items the queries evaluated per item returned, records
//! read by key per item returned, read units, calls and calls in sequence
//! per page, and the median time per page (DynamoDB Local on this machine:
//! compare rows within one run, not with AWS).
//!
//! Run: `infra/bench.sh scale` (`SCALE_CONTACTS`, `SCALE_COMPANIES` resize
//! it; loading the full size takes minutes).

use hal_crm::App;
use hal_crm::auth::Caller;
use hal_crm::domain::{companies, contacts, links, projects};
use hal_crm::handlers;
use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::meter::Meter;
use hal_crm_tests::{call, metered_app};
use std::time::{Duration, Instant};

const PAGE: usize = 50;
/// Pages walked per listing (fewer when it ends first).
const PAGES: usize = 10;
/// Pages walked for the listings worth walking to the end.
const ALL_PAGES: usize = 1_000;
/// Concurrent writers while loading.
const WRITERS: usize = 32;
const STAGES: [&str; 6] = ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"];
const FIRST: [&str; 16] = [
    "Ann", "Bob", "Carla", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivan", "Jo", "Kim", "Lena", "Mo",
    "Nina", "Omar", "Pia",
];
const LAST: [&str; 8] = [
    "Smith", "Lee", "Garcia", "Kowalski", "Tanaka", "Okafor", "Novak", "Berg",
];
/// Contacts linked to a company (the first ones, five per company).
const LINKED: usize = 1_000;

fn env_size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn domain_of(n: usize) -> String {
    format!("d{}.example", n / 2)
}

/// Runs `job(n)` for every `n` below `count` on [`WRITERS`] tasks.
async fn load<F, Fut>(what: &str, count: usize, job: F)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = Instant::now();
    let workers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let job = job.clone();
            tokio::spawn(async move {
                for n in (w..count).step_by(WRITERS) {
                    job(n).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "loaded {count} {what} in {took:.0} s ({:.0}/s)",
        count as f64 / took
    );
}

struct PageFigures {
    returned: usize,
    evaluated: usize,
    records: usize,
    read_units: f64,
    calls: usize,
    rounds: usize,
    elapsed: Duration,
}

fn figures(meter: &Meter, returned: usize, elapsed: Duration) -> PageFigures {
    let calls = meter.calls();
    let of = |ops: &[&str]| -> usize {
        calls
            .iter()
            .filter(|c| ops.contains(&c.operation.as_str()))
            .map(|c| c.items_read)
            .sum()
    };
    PageFigures {
        returned,
        evaluated: of(&["Query", "Scan"]),
        records: of(&["BatchGetItem", "GetItem"]),
        read_units: calls
            .iter()
            .filter(|c| !c.is_write())
            .map(|c| c.total_units())
            .sum(),
        calls: calls.len(),
        rounds: meter.sequential_rounds(),
        elapsed,
    }
}

type Handler = fn(
    &'static App,
    lambda_http::Request,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<hal_crm::http::Response, hal_crm::ApiError>>>,
>;

macro_rules! handler {
    ($path:path) => {
        (|app, req| Box::pin($path(app, req))) as Handler
    };
}

/// One listing to walk.
struct Listing {
    label: &'static str,
    handler: Handler,
    route: &'static str,
    query: &'static str,
    /// Pages walked at most (fewer when it ends first).
    pages: usize,
}

/// Walks `listing` and prints one row.
async fn bench(app: &'static App, meter: &Meter, project: &str, listing: &Listing) {
    let Listing {
        label,
        handler,
        route,
        query,
        pages: max_pages,
    } = *listing;
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..max_pages {
        let mut q = format!("{query}&limit={PAGE}");
        if let Some(c) = &cursor {
            q.push_str(&format!("&cursor={c}"));
        }
        let request = ApiRequest::new("GET", route)
            .user("bench")
            .header("X-Project-Id", project)
            .query(&q);
        meter.reset();
        let started = Instant::now();
        let answer = call(app, handler, request).await;
        let elapsed = started.elapsed();
        assert_eq!(answer.status, 200, "{label}: {:#}", answer.body);
        let returned = answer.body["data"].as_array().map_or(1, Vec::len);
        pages.push(figures(meter, returned, elapsed));
        match answer.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    row(label, &pages);
}

fn row(label: &str, pages: &[PageFigures]) {
    let n = pages.len() as f64;
    let returned: usize = pages.iter().map(|p| p.returned).sum();
    let per = |x: usize| {
        if returned == 0 {
            0.0
        } else {
            x as f64 / returned as f64
        }
    };
    // The worst page but the last (which may end a listing short).
    let full: Vec<&PageFigures> = pages
        .iter()
        .take(pages.len().saturating_sub(1).max(1))
        .collect();
    let worst = full
        .iter()
        .map(|p| p.evaluated as f64 / p.returned.max(1) as f64)
        .fold(0.0, f64::max);
    let mut times: Vec<Duration> = pages.iter().map(|p| p.elapsed).collect();
    times.sort();
    println!(
        "| {label} | {} | {:.1} | {:.2} | {worst:.2} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} |",
        pages.len(),
        returned as f64 / n,
        per(pages.iter().map(|p| p.evaluated).sum()),
        per(pages.iter().map(|p| p.records).sum()),
        pages.iter().map(|p| p.read_units).sum::<f64>() / n,
        pages.iter().map(|p| p.calls).sum::<usize>() as f64 / n,
        pages.iter().map(|p| p.rounds).sum::<usize>() as f64 / n,
        times[times.len() / 2].as_secs_f64() * 1000.0,
    );
}

#[tokio::main]
async fn main() {
    let contacts_n = env_size("SCALE_CONTACTS", 100_000);
    let companies_n = env_size("SCALE_COMPANIES", 20_000);
    let (app, meter) = metered_app().await;
    let owner = Caller {
        user_id: "bench".into(),
    };
    let (project, _) = projects::create(&app.store, &owner, "Scale".into())
        .await
        .unwrap();
    let project: &'static hal_crm::model::Project = Box::leak(Box::new(project));
    let p = project.id.as_str();

    load("companies", companies_n, move |n| async move {
        let fields = companies::Fields {
            name: Some(format!("Company {n}")),
            domain: Some(Some(domain_of(n))),
            // One in six on no stage; the rest spread over the pipeline.
            stage: Some((n % 6 != 5).then(|| STAGES[n % 7 % 6].to_owned())),
            deal_value: Some((n % 4 != 0).then(|| (n * 37 % 100_000) as f64 + 0.5)),
            ..Default::default()
        };
        companies::create(&app.store, project, Some(format!("co{n}")), &fields)
            .await
            .unwrap();
    })
    .await;
    load("contacts", contacts_n, move |n| async move {
        let (first, last) = (FIRST[n % FIRST.len()], LAST[n / FIRST.len() % LAST.len()]);
        let fields = contacts::Fields {
            name: Some(Some(format!("{first} {last}"))),
            // Three first names in four spell the name (`kim.lee7@`); Dan,
            // Hana, Lena and Pia write `llee7@`, whose name is then a
            // second search entry.
            email: Some(Some(if n % 4 == 3 {
                format!(
                    "{}{}{n}@{}",
                    first[..1].to_lowercase(),
                    last.to_lowercase(),
                    domain_of(n % companies_n.max(1))
                )
            } else {
                format!(
                    "{}.{}{n}@{}",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    domain_of(n % companies_n.max(1))
                )
            })),
            tags: Some(
                (0..n % 4)
                    .map(|t| format!("tag{:02}", (n + t * 7) % 20))
                    .collect(),
            ),
            ..Default::default()
        };
        let contact = contacts::create(&app.store, &project.id, &fields)
            .await
            .unwrap();
        if n < LINKED {
            let company = format!("co{}", n / 5);
            links::link(&app.store, &project.id, &contact.id, &company)
                .await
                .unwrap();
        }
    })
    .await;

    let contacts_list = handler!(handlers::contacts::list);
    let companies_list = handler!(handlers::companies::list);
    let pipeline = handler!(handlers::pipeline::summary);
    println!(
        "{contacts_n} contacts, {companies_n} companies; pages of {PAGE}, up to {PAGES} per listing\n"
    );
    println!(
        "| listing | pages | returned per page | items evaluated per returned | worst page | records read per returned | read units per page | calls per page | in sequence | p50 ms per page |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let listing = |label, handler, route, query| Listing {
        label,
        handler,
        route,
        query,
        pages: PAGES,
    };
    let (contacts, companies) = ("/api/contacts", "/api/companies");
    let listings = [
        listing("contacts", contacts_list, contacts, ""),
        listing(
            "contacts by tag (`tag=tag07`)",
            contacts_list,
            contacts,
            "tag=tag07",
        ),
        listing(
            "contacts by name prefix (`search=kim`)",
            contacts_list,
            contacts,
            "search=kim",
        ),
        Listing {
            pages: ALL_PAGES,
            ..listing("… every page of it", contacts_list, contacts, "search=kim")
        },
        Listing {
            pages: ALL_PAGES,
            ..listing(
                "… every page of `search=l` (`Lena …` and `lberg…@` both match: each Lena met once, at the lower term)",
                contacts_list,
                contacts,
                "search=l",
            )
        },
        Listing {
            pages: ALL_PAGES,
            ..listing(
                "… every page of `search=lena` (4 partitions read, 2 of them hold Lenas, merged)",
                contacts_list,
                contacts,
                "search=lena",
            )
        },
        listing(
            "contacts by email prefix (`search=eve.lee1`)",
            contacts_list,
            contacts,
            "search=eve.lee1",
        ),
        listing(
            "contacts by email (`email=`)",
            contacts_list,
            contacts,
            "email=ann.smith0%40d0.example",
        ),
        listing(
            "contacts of a company (`company_id=co7`)",
            contacts_list,
            contacts,
            "company_id=co7",
        ),
        listing("companies", companies_list, companies, ""),
        listing(
            "board column, newest activity (`stage=Proposal`)",
            companies_list,
            companies,
            "stage=Proposal",
        ),
        listing(
            "board column by deal value (`&sort=deal_value`)",
            companies_list,
            companies,
            "stage=Proposal&sort=deal_value",
        ),
        listing(
            "a rare column (`stage=Lost`)",
            companies_list,
            companies,
            "stage=Lost",
        ),
        listing(
            "companies by domain (`domain=d42.example`)",
            companies_list,
            companies,
            "domain=d42.example",
        ),
        listing(
            "pipeline summary (10 recent changes)",
            pipeline,
            "/api/pipeline",
            "",
        ),
        listing(
            "pipeline summary (no recent changes)",
            pipeline,
            "/api/pipeline",
            "recent=0",
        ),
    ];
    for listing in &listings {
        bench(app, &meter, p, listing).await;
    }
}
