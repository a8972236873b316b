//! Cold start of route binaries against a hello-world `lambda_http` binary
//! built with the same release profile, each run under a minimal Lambda
//! Runtime API on 127.0.0.1. Interleaved runs in one process; medians and
//! ratios to the hello-world binary:
//!
//! - init: exec → first `GET /2018-06-01/runtime/invocation/next` (what AWS
//!   reports as Init Duration);
//! - first response: exec → the first invocation's response (a route
//!   handles an identify against DynamoDB Local; `mcp` a `search_contacts`
//!   tool call);
//! - peak RSS (`VmHWM`) after that response, and the binary's size on disk.
//!
//! Run: `infra/bench.sh cold-start` (builds the binaries, starts DynamoDB
//! Local). `COLD_START_DEBUG=1` also prints each run's anonymous and
//! file-backed resident memory, and what is resident per mapping.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use hal_crm::auth::Caller;
use hal_crm::domain::{api_keys, projects};
use hal_crm::model::Scope;
use hal_crm::store::{Store, schema};
use hal_crm_tests::apigw::ApiRequest;
use hal_crm_tests::mcp_request;
use serde_json::json;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RUNS: usize = 51;

/// What the Runtime API saw of one run.
#[derive(Default)]
struct Run {
    event: String,
    first_next: Option<Instant>,
    response: Option<Instant>,
    served: bool,
}

type Shared = Arc<Mutex<Run>>;

async fn next(State(run): State<Shared>) -> (StatusCode, HeaderMap, String) {
    let event = {
        let mut run = run.lock().unwrap();
        run.first_next.get_or_insert_with(Instant::now);
        if run.served {
            None
        } else {
            run.served = true;
            Some(run.event.clone())
        }
    };
    let Some(event) = event else {
        // One invocation per run: hold the runtime until it is killed.
        tokio::time::sleep(Duration::from_secs(600)).await;
        return (StatusCode::NO_CONTENT, HeaderMap::new(), String::new());
    };
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    };
    put("lambda-runtime-aws-request-id", "bench-request");
    put("lambda-runtime-deadline-ms", "99999999999999");
    put(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:bench",
    );
    put(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000",
    );
    put("content-type", "application/json");
    (StatusCode::OK, headers, event)
}

async fn response(State(run): State<Shared>, body: String) -> StatusCode {
    let mut run = run.lock().unwrap();
    run.response.get_or_insert_with(Instant::now);
    if !body.contains("\"statusCode\":200") {
        eprintln!("unexpected response: {body}");
    }
    StatusCode::ACCEPTED
}

async fn error(body: String) -> StatusCode {
    eprintln!("runtime reported an error: {body}");
    StatusCode::ACCEPTED
}

struct Sample {
    init_ms: f64,
    first_response_ms: f64,
    peak_rss_kib: f64,
}

fn peak_rss_kib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(f64::NAN)
}

async fn run_once(
    binary: &str,
    runtime_api: &str,
    shared: &Shared,
    event: String,
    env: &[(&str, String)],
) -> Sample {
    *shared.lock().unwrap() = Run {
        event,
        ..Run::default()
    };
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary");
    let deadline = Instant::now() + Duration::from_secs(20);
    while shared.lock().unwrap().response.is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let rss = peak_rss_kib(child.id());
    if std::env::var("COLD_START_DEBUG").is_ok() {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
        let lines: Vec<&str> = status
            .lines()
            .filter(|l| l.starts_with("Rss") || l.starts_with("VmHWM") || l.starts_with("Threads"))
            .collect();
        eprintln!("{binary}: {}", lines.join(" | "));
        eprintln!("{}", resident_by_mapping(child.id()));
    }
    child.kill().ok();
    child.wait().ok();
    let run = shared.lock().unwrap();
    let ms = |at: Option<Instant>| at.map_or(f64::NAN, |t| (t - started).as_secs_f64() * 1000.0);
    Sample {
        init_ms: ms(run.first_next),
        first_response_ms: ms(run.response),
        peak_rss_kib: rss,
    }
}

/// Resident KiB per mapping (file and permissions), from `/proc/PID/smaps`.
fn resident_by_mapping(pid: u32) -> String {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut out = String::new();
    let mut mapping = String::new();
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            let name = fields
                .get(5)
                .map_or("[anon]", |n| n.rsplit('/').next().unwrap_or(n));
            mapping = format!("{} {}", fields[1], name);
        } else if fields.first() == Some(&"Rss:") && fields[1] != "0" {
            out.push_str(&format!("  {:>6} KiB {mapping}\n", fields[1]));
        }
    }
    out
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    // One group per release profile, groups separated by `---`: the
    // hello-world binary first, then the binaries compared against it.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let groups: Vec<&[String]> = args.split(|a| a == "---").collect();
    assert!(
        groups.iter().all(|g| g.len() >= 2),
        "usage: cold-start <hello-world binary> <binary>... [--- <hello-world binary> <binary>...]"
    );
    let binaries: Vec<&String> = groups.iter().flat_map(|g| g.iter()).collect();
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .expect("DYNAMODB_ENDPOINT (infra/bench.sh starts DynamoDB Local)");
    let table = format!("bench-{}", ulid::Ulid::new().to_string().to_lowercase());
    let store = Store::local(&endpoint, table.as_str());
    schema::create_table(store.client(), &table)
        .await
        .expect("create the bench table");
    let owner = Caller {
        user_id: "bench".into(),
    };
    let (project, _) = projects::create(&store, &owner, "Bench".into())
        .await
        .unwrap();

    let shared: Shared = Arc::default();
    let router = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_api = listener.local_addr().unwrap().to_string();
    tokio::spawn(axum::serve(listener, router).into_future());

    // The production configuration path, pointed at DynamoDB Local.
    let env = [
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_SESSION_TOKEN", "local".to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.clone()),
        ("TABLE_NAME", table.clone()),
        ("HAL_CURSOR_SECRET", "bench-cursor-secret".to_owned()),
    ];
    let scopes = vec![Scope::ContactsRead, Scope::CompaniesRead];
    let (_, key) = api_keys::create(&store, &project.id, "bench", scopes, "bench")
        .await
        .unwrap();
    // The MCP endpoint is sent a tool call; every other binary an identify.
    let event = |binary: &str, n: usize| {
        let request = if binary.ends_with("/mcp") {
            mcp_request(
                &key,
                "tools/call",
                json!({"name": "search_contacts", "arguments": {"query": format!("v{n}")}}),
            )
        } else {
            let body = json!({"project_id": project.id, "visitor_id": format!("v-{n}"), "email": format!("v{n}@acme.com"), "company": {"id": "acme"}});
            ApiRequest::new("POST", "/api/widget/identify").json(&body)
        };
        request.event().to_string()
    };
    let mut samples: Vec<Vec<Sample>> = binaries.iter().map(|_| Vec::new()).collect();
    for n in 0..RUNS {
        for (index, (binary, samples)) in binaries.iter().zip(samples.iter_mut()).enumerate() {
            // A new visitor every run: each route run is a first identify.
            let event = event(binary, n * binaries.len() + index);
            samples.push(run_once(binary, &runtime_api, &shared, event, &env).await);
        }
    }
    let summary = |samples: &[Sample]| {
        (
            median(samples.iter().map(|s| s.init_ms).collect()),
            median(samples.iter().map(|s| s.first_response_ms).collect()),
            median(samples.iter().map(|s| s.peak_rss_kib).collect()) / 1024.0,
        )
    };
    let size =
        |path: &str| std::fs::metadata(path).map_or(f64::NAN, |m| m.len() as f64 / 1_000_000.0);
    println!(
        "{RUNS} interleaved runs of each binary, medians; ratio = binary / hello-world of the same profile\n"
    );
    println!("| binary | init (ms) | first response (ms) | peak RSS (MiB) | size (MB) |");
    println!("|---|---:|---:|---:|---:|");
    let mut samples = samples.iter();
    let mut budgets = Vec::new();
    for group in groups {
        let hello = &group[0];
        let (h_init, h_first, h_rss) = summary(samples.next().unwrap());
        println!(
            "| {hello} | {h_init:.2} | {h_first:.2} | {h_rss:.1} | {:.2} |",
            size(hello)
        );
        // The second binary of a group is the DynamoDB floor.
        let mut floor = None;
        for binary in &group[1..] {
            let (init, first, rss) = summary(samples.next().unwrap());
            println!(
                "| {binary} | {init:.2} | {first:.2} | {rss:.1} | {:.2} |",
                size(binary)
            );
            println!(
                "| **ratio** | **{:.2}×** | {:.2}× | **{:.2}×** | {:.2}× |",
                init / h_init,
                first / h_first,
                rss / h_rss,
                size(binary) / size(hello)
            );
            match floor {
                None => floor = Some((init, rss)),
                Some((f_init, f_rss)) => budgets.push(format!(
                    "{binary}: init {:.2}× and peak RSS {:.2}× the floor (budget ≤ 1.15×), {:.2} MB (budget ≤ 7 MB)",
                    init / f_init,
                    rss / f_rss,
                    size(binary)
                )),
            }
        }
    }
    for budget in budgets {
        println!("\n{budget}");
    }
}
