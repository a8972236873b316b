//! `POST /mcp`: the MCP endpoint (`GET` and `DELETE /mcp` are answered 405).
use hal_crm::handlers;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    hal_crm::lambda::run(handlers::mcp::serve).await
}
