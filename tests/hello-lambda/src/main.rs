//! The cold-start baseline: a `lambda_http` function with the same runtime
//! set-up as a route (tracing, single-threaded Tokio) and no AWS client.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // The routes' logging set-up, as hal_crm::lambda::init_logging has it
    // (this package stays apart from hal-crm: see Cargo.toml).
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::prelude::*;
    let logs = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time();
    tracing_subscriber::registry()
        .with(LevelFilter::INFO)
        .with(logs.json())
        .init();
    run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
