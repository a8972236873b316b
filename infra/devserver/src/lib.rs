//! The local API: one process mounting every route's handler from `hal_crm`
//! behind an emulation of API Gateway (HTTP API, payload v2), on DynamoDB Local.

pub mod apigw;
pub mod functions;
pub mod jwt;
pub mod routes;
pub mod seed;
pub mod server;
pub mod template;
