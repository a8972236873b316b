//! Prints the OpenAPI description generated from the code
//! (`hal_crm::openapi`), as `docs/openapi.json` holds it. `infra/openapi.sh`
//! writes that file; a test fails when it is stale.

fn main() {
    print!("{}", hal_crm_tests::openapi_json());
}
