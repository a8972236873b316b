//! Product rules, between the HTTP handlers and the store: what a route means,
//! independent of how it was called.

pub mod identify;
pub mod pipeline;
pub mod placeholder;
pub mod projects;
pub mod properties;
pub mod stages;
pub mod track;
pub mod widget;
