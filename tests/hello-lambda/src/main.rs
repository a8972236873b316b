//! The cold-start baseline: a `lambda_http` function with the same runtime
//! set-up as a route (tracing, single-threaded Tokio) and no AWS client.

use lambda_http::{Body, Error, Request, Response, run, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // The routes' logging set-up, as hal_crm::lambda::init_logging has it
    // (this package stays apart from hal-crm: see Cargo.toml).
    tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .json()
        .init();
    run(service_fn(|_: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
