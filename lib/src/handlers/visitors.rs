//! `GET /api/visitors/{visitor_id}`.

use crate::app::App;
use crate::auth::{self, Access};
use crate::error::ApiError;
use crate::http::{self, IdRule, Response};
use lambda_http::Request;

fn not_found() -> ApiError {
    ApiError::not_found("visitor_not_found", "no such visitor")
}

/// A visitor as it stands. Deletes and placeholder promotion do not rewrite
/// visitors (that fan-out would be unbounded), so the stored references are
/// read against the contact: a contact deleted since it was linked reads as
/// none; an active company the contact is no longer linked to reads as the
/// contact's only company if it has exactly one (where widget writes go, and
/// where a promoted placeholder's data went), else as none.
pub async fn get(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let project_id = membership.project.id.as_str();
    let visitor_id = http::record_id(&req, "visitor_id", IdRule::External, not_found)?;
    let mut visitor = app
        .store
        .get_visitor(project_id, &visitor_id)
        .await?
        .ok_or_else(not_found)?;
    if let Some(contact_id) = visitor.contact_id.clone() {
        match app
            .store
            .get_contact_with_links(project_id, &contact_id)
            .await?
        {
            None => {
                visitor.contact_id = None;
                visitor.active_company_id = None;
            }
            Some((_, links)) => {
                let linked = |id: &String| links.iter().any(|l| l.company_id == *id);
                if !visitor.active_company_id.as_ref().is_some_and(linked) {
                    visitor.active_company_id = match links.as_slice() {
                        [only] => Some(only.company_id.clone()),
                        _ => None,
                    };
                }
            }
        }
    }
    Ok(http::ok(&visitor))
}
