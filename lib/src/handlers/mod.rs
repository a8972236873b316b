//! One async function per route, `(app, request) -> response`: parse and check
//! the request, call the domain or the store, shape the response. Each route
//! binary in `functions/` runs exactly one of these.

pub mod api_keys;
pub mod companies;
pub mod contacts;
pub mod fields;
pub mod links;
pub mod projects;
pub mod stages;
pub mod v1;
pub mod visitors;
pub mod widget;
