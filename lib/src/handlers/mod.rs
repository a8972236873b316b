//! One async function per route, `(app, request) -> response`: parse and check
//! the request, call the domain or the store, shape the response. Each route
//! binary in `functions/` runs exactly one of these.

pub mod projects;
pub mod stages;
pub mod widget;
