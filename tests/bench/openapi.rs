//! Prints the API's descriptions generated from the code, as the committed
//! files hold them: the OpenAPI description (`hal_crm::openapi`,
//! `docs/openapi.json`) or, given `mcp-tools`, the MCP tool list
//! (`hal_crm::mcp::catalogue`, `docs/mcp-tools.json`). `infra/openapi.sh`
//! writes both; a test fails when either is stale.

fn main() {
    match std::env::args().nth(1).as_deref() {
        None => print!("{}", hal_crm_tests::openapi_json()),
        Some("mcp-tools") => print!("{}", hal_crm_tests::mcp_tools_json()),
        Some(other) => panic!("unknown description {other:?}: none or mcp-tools"),
    }
}
