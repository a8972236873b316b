//! `hal-dev`: the local API (run it with `infra/dev.sh`).

use hal_crm::App;
use hal_crm::cursor::CursorKey;
use hal_crm::store::{Store, schema};
use hal_devserver::functions::Functions;
use hal_devserver::{jwt::DevJwt, seed, server, template};
use std::collections::BTreeMap;
use std::env;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// API Gateway's integration timeout for HTTP APIs.
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

fn var(name: &str, default: &str) -> String {
    env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    lambda_http::tracing::init_default_subscriber();
    let listen = var("HAL_LISTEN", "127.0.0.1:3000");
    let endpoint = var("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000");
    let table = var("TABLE_NAME", "hal-crm");
    let dev_secret = var("HAL_DEV_JWT_SECRET", "hal-dev-secret");
    let jwt = DevJwt::new(&dev_secret);
    let cursor_secret = var("HAL_CURSOR_SECRET", "hal-dev-cursor-secret");
    let cursor_key = CursorKey::new(cursor_secret.clone());
    // `--binaries`: every request runs its route's own binary (built in
    // HAL_BINARIES, target/debug) under a local Lambda, not a handler here.
    let binaries = env::args().any(|a| a == "--binaries");

    let store = Store::local(&endpoint, table.as_str());
    if !schema::table_exists(store.client(), &table).await? {
        schema::create_table(store.client(), &table).await?;
    }
    let app: &'static App = Box::leak(Box::new(App::new(store, cursor_key)));
    let project = seed::demo_project(app).await.map_err(|e| e.message)?;
    let token = jwt.mint(seed::DEMO_USER, 30 * 24 * 3600);
    let api_key = seed::demo_api_key(app, &project, &dev_secret)
        .await
        .map_err(|e| e.message)?;

    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!(
        r#"
HAL CRM dev server on {base}  (DynamoDB Local {endpoint}, table {table}){mode}

Demo project id: {id}
Dev token (user {user}, 30 days):
  export HAL_TOKEN={token}
  export HAL_PROJECT={id}
  export HAL_API_KEY={api_key}

Widget demo page: {base}/demo/

Try:
  curl -s {base}/api/projects -H "Authorization: Bearer $HAL_TOKEN"
  curl -s {base}/api/projects/$HAL_PROJECT -H "Authorization: Bearer $HAL_TOKEN"
  curl -s {base}/api/stages -H "Authorization: Bearer $HAL_TOKEN" -H "X-Project-Id: $HAL_PROJECT"
  curl -s -X POST {base}/api/projects -H "Authorization: Bearer $HAL_TOKEN" \
       -H 'Content-Type: application/json' -d '{{"name": "Second project"}}'
  curl -s -X POST {base}/api/widget/identify -H 'Content-Type: application/json' \
       -d '{{"project_id": "'$HAL_PROJECT'", "visitor_id": "user_456", "email": "alice@acme.com",
            "company": {{"id": "acme", "name": "Acme Inc", "stage": "Qualified"}}}}'
  curl -s {base}/api/contacts -H "Authorization: Bearer $HAL_TOKEN" -H "X-Project-Id: $HAL_PROJECT"
  curl -s {base}/api/v1/conversations -H "X-API-Key: $HAL_API_KEY"
  curl -s -X POST {base}/api/widget/set-deal -H 'Content-Type: application/json' \
       -d '{{"project_id": "'$HAL_PROJECT'", "visitor_id": "user_456", "company_id": "acme", "deal_value": 12000}}'
  curl -s {base}/mcp -H "Authorization: Bearer $HAL_API_KEY" -H 'Content-Type: application/json' \
       -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' \
       -d '{{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {{"name": "pipeline_summary", "arguments": {{}}}}}}'
"#,
        id = project.id,
        mode = if binaries {
            "\nBinaries mode: each request runs its route's binary (logs below under its name)"
        } else {
            ""
        },
        user = seed::DEMO_USER,
    );
    let api = if binaries {
        let refs = BTreeMap::from([
            ("Table", table.clone()),
            ("CursorSecret", cursor_secret.clone()),
        ]);
        let mut functions = template::functions(&std::fs::read_to_string("template.yaml")?, &refs)?;
        // What `sam local --env-vars` sets: DynamoDB Local's address.
        for function in &mut functions {
            function
                .environment
                .insert("DYNAMODB_ENDPOINT".into(), endpoint.clone());
        }
        let lambda = Functions::new(
            PathBuf::from(var("HAL_BINARIES", "target/debug")),
            functions.clone(),
            INTEGRATION_TIMEOUT,
        );
        server::binaries_router(&functions, Arc::new(lambda), jwt)
    } else {
        server::router(app, jwt)
    };
    let router = server::demo(&project.id).merge(api);
    axum::serve(listener, router).await?;
    Ok(())
}
