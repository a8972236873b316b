//! `PUT|DELETE /api/contacts/{id}/companies/{company_id}`,
//! `GET /api/contacts/{id}/companies`, `GET /api/companies/{id}/contacts`.

use crate::app::App;
use crate::auth::{self, Access};
use crate::domain::{contacts, links};
use crate::error::ApiError;
use crate::http::{self, PageRequest, Response};
use crate::model::{Company, Contact, Link};
use crate::store::Page;
use crate::store::keys;
use crate::store::lists::Source;
use crate::views;
use lambda_http::Request;
use lambda_http::http::StatusCode;

pub async fn put(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let contact_id = super::contact_id(&req, "id")?;
    let company_id = super::company_id(&req, "company_id")?;
    let created = links::link(&app.store, &membership.project.id, &contact_id, &company_id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let link = LinkView {
        contact_id: &contact_id,
        company_id: &company_id,
        linked: true,
    };
    Ok(http::json(status, &link))
}

/// A contact–company link (`201` when made, `200` when it existed).
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkView<'a> {
    pub contact_id: &'a str,
    pub company_id: &'a str,
    pub linked: bool,
}

pub async fn delete(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let contact_id = super::contact_id(&req, "id")?;
    let company_id = super::company_id(&req, "company_id")?;
    links::unlink(&app.store, &membership.project.id, &contact_id, &company_id).await?;
    Ok(http::empty(StatusCode::NO_CONTENT))
}

/// A contact's companies, paginated: its links (in its item collection,
/// read consistently), then the companies by key.
pub async fn contact_companies(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let project = &membership.project;
    let id = super::contact_id(&req, "id")?;
    let scope = format!("GET /api/contacts/{{id}}/companies|{}|{id}", project.id);
    let page = PageRequest::parse(app, &req, scope)?;
    if app.store.get_contact(&project.id, &id).await?.is_none() {
        return Err(contacts::not_found());
    }
    let source = Source::Collection {
        partition: keys::contact_collection(&project.id, &id),
        prefix: keys::LINK_PREFIX,
    };
    let links: Page<Link> = app
        .store
        .page(&source, page.limit, page.start.clone(), false)
        .await?;
    let keys = links
        .items
        .iter()
        .map(|l| keys::company(&project.id, &l.company_id).key)
        .collect();
    let companies: Vec<Company> = app.store.get_many(keys).await?;
    Ok(page.respond(
        app,
        Page {
            items: companies,
            last_key: links.last_key,
        },
        |c| serde_json::to_value(views::company(project, &c)).unwrap_or_default(),
    ))
}

/// A company's contacts, through its links in gsi1, paginated.
pub async fn company_contacts(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let project_id = membership.project.id.as_str();
    let route = "GET /api/companies/{id}/contacts";
    let (id, page) = super::companies::listing(app, &req, project_id, route).await?;
    let source = Source::Index(keys::company_contacts(project_id, &id));
    let links: Page<Link> = app
        .store
        .page(&source, page.limit, page.start.clone(), false)
        .await?;
    let keys = links
        .items
        .iter()
        .map(|l| keys::contact(project_id, &l.contact_id).key)
        .collect();
    let contacts: Vec<Contact> = app.store.get_many(keys).await?;
    Ok(page.respond(
        app,
        Page {
            items: contacts,
            last_key: links.last_key,
        },
        |c| c,
    ))
}
