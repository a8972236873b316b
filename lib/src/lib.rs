//! HAL CRM data service: the library every route binary is built on.
//!
//! A request flows `functions/<route>.rs` → [`lambda::run`] → a function in
//! [`handlers`] (HTTP, auth) → [`domain`] (product rules) → [`store`] (one
//! DynamoDB operation or transaction, its condition written beside it), with
//! keys built only in [`store::keys`].

pub mod app;
pub mod auth;
pub mod clock;
pub mod cursor;
pub mod deadline;
pub mod domain;
pub mod error;
pub mod handlers;
pub mod http;
pub mod ids;
pub mod lambda;
pub mod mcp;
pub mod model;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod store;
pub mod validate;
pub mod views;

pub use app::App;
pub use error::ApiError;
