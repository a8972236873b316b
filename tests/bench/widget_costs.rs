//! What each widget operation costs in DynamoDB: calls, calls in sequence on
//! the critical path, read/write units (as DynamoDB Local reports them with
//! `ReturnConsumedCapacity=INDEXES`), and the on-demand price per million
//! operations. Counts, not timings: the figures are the same on any machine.
//!
//! Run: `infra/bench.sh` (starts DynamoDB Local, then this program).

use hal_crm::App;
use hal_crm::auth::Caller;
use hal_crm::domain::projects;
use hal_crm::handlers::widget;
use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::meter::{Call, Meter};
use hal_crm_tests::{call, metered_app};
use serde_json::{Value, json};

/// DynamoDB on-demand prices (us-east-1, USD per million request units).
const PRICE_PER_MILLION_READ_UNITS: f64 = 0.125;
const PRICE_PER_MILLION_WRITE_UNITS: f64 = 0.625;
/// Runs per operation; the figures are taken from the median run.
const RUNS: usize = 5;

struct Row {
    operation: &'static str,
    calls: usize,
    rounds: usize,
    read_units: f64,
    write_units_reported: f64,
    index_write_units: f64,
    write_units_billed: f64,
}

/// Write units the service bills: single-item writes as DynamoDB Local
/// reports them (table + index); a transaction 2 units per item (items here
/// are under 1 KB), condition checks included (the conservative reading),
/// plus 1 per index entry it writes (Local does not add transactions up).
fn billed_write_units(call: &Call) -> f64 {
    if call.transaction_items > 0 {
        2.0 * call.transaction_items as f64 + call.transaction_index_entries as f64
    } else {
        call.total_units()
    }
}

fn row(operation: &'static str, meter: &Meter) -> Row {
    let calls = meter.calls();
    let (reads, writes): (Vec<&Call>, Vec<&Call>) = calls.iter().partition(|c| !c.is_write());
    Row {
        operation,
        calls: calls.len(),
        rounds: meter.sequential_rounds(),
        read_units: reads.iter().map(|c| c.total_units()).sum(),
        write_units_reported: writes.iter().map(|c| c.total_units()).sum(),
        index_write_units: writes
            .iter()
            .map(|c| match c.transaction_items {
                0 => c.index_units.values().sum(),
                _ => c.transaction_index_entries as f64,
            })
            .sum(),
        write_units_billed: writes.iter().map(|c| billed_write_units(c)).sum(),
    }
}

fn median(mut rows: Vec<Row>) -> Row {
    rows.sort_by(|a, b| {
        (a.calls, a.rounds, a.write_units_billed as u64).cmp(&(
            b.calls,
            b.rounds,
            b.write_units_billed as u64,
        ))
    });
    rows.swap_remove(rows.len() / 2)
}

async fn post<H, Fut>(app: &'static App, handler: H, route: &'static str, body: Value)
where
    H: FnOnce(&'static App, lambda_http::Request) -> Fut,
    Fut: std::future::Future<Output = Result<hal_crm::http::Response, hal_crm::ApiError>>,
{
    let answer = call(app, handler, ApiRequest::new("POST", route).json(&body)).await;
    assert_eq!(answer.status, 200, "{route}: {:#}", answer.body);
}

#[tokio::main]
async fn main() {
    let mut rows: Vec<Vec<Row>> = (0..9).map(|_| Vec::new()).collect();
    for run in 0..RUNS {
        let (app, meter) = metered_app().await;
        let owner = Caller {
            user_id: "bench".into(),
        };
        let (project, _) = projects::create(&app.store, &owner, "Bench".into())
            .await
            .unwrap();
        let p = project.id.as_str();
        let visitor = format!("visitor-{run}");
        let identify = json!({
            "project_id": p, "visitor_id": visitor, "email": format!("alice{run}@acme.com"), "name": "Alice",
            "metadata": {"plan": "enterprise"}, "properties": {"page": "/pricing"},
            "company": {"id": "acme", "name": "Acme Inc", "stage": "Qualified", "metadata": {"crm_owner": "Sam"}},
        });
        let mut measure = |index: usize, name: &'static str| {
            rows[index].push(row(name, &meter));
            meter.reset();
        };
        meter.reset();
        post(
            app,
            widget::identify,
            "/api/widget/identify",
            identify.clone(),
        )
        .await;
        measure(0, "identify, first (new visitor, contact, company)");
        post(
            app,
            widget::identify,
            "/api/widget/identify",
            identify.clone(),
        )
        .await;
        measure(1, "identify, returning, unchanged");
        let mut changed = identify.clone();
        changed["metadata"] = json!({"plan": "team"});
        post(app, widget::identify, "/api/widget/identify", changed).await;
        measure(2, "identify, returning, contact metadata changed");
        let stage = json!({"project_id": p, "visitor_id": visitor, "company_id": "acme", "stage": "Proposal"});
        post(app, widget::set_stage, "/api/widget/set-stage", stage).await;
        measure(3, "set-stage (company_id, applied)");
        let back =
            json!({"project_id": p, "visitor_id": visitor, "company_id": "acme", "stage": "New"});
        post(app, widget::set_stage, "/api/widget/set-stage", back).await;
        measure(4, "set-stage (refused by advance_only)");
        let deal = json!({"project_id": p, "visitor_id": visitor, "company_id": "acme", "deal_value": 12000, "stage_name": "Negotiation"});
        post(app, widget::set_deal, "/api/widget/set-deal", deal).await;
        measure(5, "set-deal (company_id, with stage)");
        let active = json!({"project_id": p, "visitor_id": visitor, "deal_value": 15000});
        post(app, widget::set_deal, "/api/widget/set-deal", active).await;
        measure(6, "set-deal (active company)");
        let track =
            json!({"project_id": p, "visitor_id": visitor, "name": "checkout", "value": 49});
        post(app, widget::track, "/api/widget/track", track).await;
        measure(7, "track");
        let keyed = json!({"project_id": p, "visitor_id": visitor, "name": "checkout", "event_key": format!("order-{run}")});
        post(app, widget::track, "/api/widget/track", keyed).await;
        measure(8, "track with event_key");
    }

    println!(
        "| operation | DynamoDB calls | in sequence | read units | write units (Local) | index entries written | write units (billed model) | $ per million ops |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for runs in rows {
        let r = median(runs);
        let cost = r.read_units * PRICE_PER_MILLION_READ_UNITS
            + r.write_units_billed * PRICE_PER_MILLION_WRITE_UNITS;
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} |",
            r.operation,
            r.calls,
            r.rounds,
            r.read_units + 0.0,
            r.write_units_reported + 0.0,
            r.index_write_units + 0.0,
            r.write_units_billed + 0.0,
            cost + 0.0
        );
    }
}
