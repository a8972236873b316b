//! Product rules, between the HTTP handlers and the store: what a route means,
//! independent of how it was called.

pub mod projects;
