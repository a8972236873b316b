//! A function that fails on purpose, for the binaries mode's tests only
//! (tests/binaries.rs): the event's `rawPath` says how. Never a route.
//!
//! - `/ok`: a 201 with a header and a cookie
//! - `/error`: an error reported through the Runtime API
//! - `/panic`, `/exit`: a panic; the process exiting mid-invocation
//! - `/sleep/{ms}`: answers after that long (past its timeout, or the
//!   integration's)
//! - `/malformed`: a response document no HTTP API can read
use lambda_http::Error;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let path = event.payload["rawPath"].as_str().unwrap_or_default().to_owned();
        let deadline = event.context.deadline;
        match path.as_str() {
            "/ok" => Ok(json!({
                "statusCode": 201,
                "headers": {"content-type": "application/json", "x-deadline-ms": deadline.to_string()},
                "cookies": ["a=1; Path=/"],
                "body": "{\"ok\":true}",
                "isBase64Encoded": false
            })),
            "/error" => Err(Error::from("failed on purpose")),
            "/panic" => panic!("panicked on purpose"),
            "/exit" => std::process::exit(3),
            "/malformed" => Ok(json!({"statusCode": "two hundred"})),
            other => {
                let ms = other.strip_prefix("/sleep/").and_then(|ms| ms.parse().ok()).unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                Ok(json!({"statusCode": 200, "body": "slept"}))
            }
        }
    }))
    .await
}
