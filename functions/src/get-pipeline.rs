//! `GET /api/pipeline`
use hal_crm::handlers;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    hal_crm::lambda::run(handlers::pipeline::summary).await
}
