//! `GET|POST /api/contacts`, `GET|PATCH|DELETE /api/contacts/{id}`,
//! `GET /api/contacts/{id}/events`.

use super::fields::ContactBody;
use crate::app::App;
use crate::auth::{self, Access};
use crate::domain::contacts;
use crate::error::ApiError;
use crate::http::{self, PageRequest, Response};
use crate::model::{ClaimKind, Contact, Event, SearchEntry, TagEntry};
use crate::store::Page;
use crate::store::keys::{self, EventOwner, Key};
use crate::store::lists::{self, Source};
use crate::validate;
use lambda_http::Request;
use lambda_http::http::StatusCode;

pub async fn list(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let filters = Filters {
        email: http::query_param(&req, "email")
            .map(|e| validate::email("email", &e))
            .transpose()?,
        company_id: http::query_param(&req, "company_id")
            .map(|id| validate::external_id("company_id", &id))
            .transpose()?,
        tag: http::query_param(&req, "tag"),
        search: http::query_param(&req, "search")
            .map(|q| search_query(&q))
            .transpose()?,
    };
    let project_id = membership.project.id.as_str();
    let page = PageRequest::parse(
        app,
        &req,
        format!("GET /api/contacts|{project_id}|{filters:?}"),
    )?;
    let found = page_of(app, project_id, &page, &filters).await?;
    Ok(page.respond(app, found, |c| c))
}

/// `search`: what a contact's email or name starts with, compared as
/// `keys::search_term` has it; 1 to 200 characters once so.
fn search_query(text: &str) -> Result<String, ApiError> {
    let term = keys::search_term(text);
    if term.is_empty() || term.chars().count() > 200 {
        return Err(ApiError::validation(
            "search",
            "must be 1 to 200 characters",
        ));
    }
    Ok(term)
}

/// Contact list filters (SPEC §5; v1 uses `email` only).
#[derive(Debug, Default)]
pub struct Filters {
    pub email: Option<String>,
    pub company_id: Option<String>,
    pub tag: Option<String>,
    /// Lower-cased prefix of the email or name.
    pub search: Option<String>,
}

/// A page of a project's contacts: by email through its claim, by company
/// through its links, by search through the search entries, by tag through
/// the tag's entries, else the plain listing. The first filter
/// of these chooses what is read; the others filter what it returns.
pub async fn page_of(
    app: &App,
    project_id: &str,
    page: &PageRequest,
    filters: &Filters,
) -> Result<Page<Contact>, ApiError> {
    let tagged = |c: &Contact| filters.tag.as_ref().is_none_or(|t| c.tags.contains(t));
    if let Some(email) = &filters.email {
        let claim = app
            .store
            .get_claim(project_id, ClaimKind::Email, email)
            .await?;
        let contacts: Vec<Contact> = match claim {
            Some(claim) => {
                app.store
                    .get_many(vec![keys::contact(project_id, &claim.contact_id).key])
                    .await?
            }
            None => Vec::new(),
        };
        return Ok(Page {
            items: contacts.into_iter().filter(tagged).collect(),
            last_key: None,
        });
    }
    if let Some(company_id) = &filters.company_id {
        let source = Source::Index(keys::company_contacts(project_id, company_id));
        let links = app
            .store
            .page::<crate::model::Link>(&source, page.limit, page.start.clone(), false)
            .await?;
        return contacts_of(app, project_id, links, |l| &l.contact_id, tagged).await;
    }
    if let Some(term) = &filters.search {
        return search(app, project_id, page, term, tagged).await;
    }
    if let Some(tag) = &filters.tag {
        let source = Source::Partition(keys::tagged(project_id, tag));
        let entries = app
            .store
            .page::<TagEntry>(&source, page.limit, page.start.clone(), false)
            .await?;
        return contacts_of(app, project_id, entries, |e| &e.contact_id, tagged).await;
    }
    let source = Source::Index(keys::project_contacts(project_id));
    Ok(app
        .store
        .page(&source, page.limit, page.start.clone(), false)
        .await?)
}

/// The contacts a page of references names (links, tag entries), read by
/// key, in its order, that `keep`; the page's cursor goes on from it.
async fn contacts_of<E>(
    app: &App,
    project_id: &str,
    references: Page<E>,
    contact_id: impl Fn(&E) -> &String,
    keep: impl Fn(&Contact) -> bool,
) -> Result<Page<Contact>, ApiError> {
    let keys: Vec<Key> = references
        .items
        .iter()
        .map(|r| keys::contact(project_id, contact_id(r)).key)
        .collect();
    let contacts: Vec<Contact> = app.store.get_many(keys).await?;
    Ok(Page {
        items: contacts.into_iter().filter(keep).collect(),
        last_key: references.last_key,
    })
}

/// Contacts whose email or name starts with `term` (search terms), in the
/// order of the matching term: consistent Queries of the partition of the
/// term's first character, then the contacts by key. A contact both of whose
/// terms match is listed once, at the first (its entry there is kept, the
/// other skipped). Skipped entries can come in runs (names "kim …", then
/// the `k…@` addresses of the same people), so a page reads on past them,
/// up to [`SEARCH_BUDGET`] entries per item asked for, and may then end
/// short (with a cursor).
async fn search(
    app: &App,
    project_id: &str,
    page: &PageRequest,
    term: &str,
    tagged: impl Fn(&Contact) -> bool,
) -> Result<Page<Contact>, ApiError> {
    let mut after = lists::after_of(page.start.as_ref());
    let limit = usize::try_from(page.limit).unwrap_or(1);
    let partition = keys::search_partition(project_id, term);
    let mut items = Vec::new();
    let mut evaluated = 0;
    loop {
        let want = limit - items.len();
        let (entries, more) = app
            .store
            .prefix_page::<SearchEntry>(&partition, term, after.as_deref(), want)
            .await?;
        evaluated += entries.len();
        let keys: Vec<Key> = entries
            .iter()
            .map(|(_, e)| keys::contact(project_id, &e.contact_id).key)
            .collect();
        let contacts: Vec<Contact> = app.store.get_many(keys).await?;
        let mut contacts = contacts.into_iter().peekable();
        for (_, entry) in &entries {
            if contacts.peek().is_none_or(|c| c.id != entry.contact_id) {
                continue;
            }
            let contact = contacts.next().expect("peeked");
            // The entry is current (the contact has the term) and is the
            // first of its terms that matches.
            let first = contact
                .search_terms()
                .into_iter()
                .filter(|t| t.starts_with(term))
                .min();
            if first.as_deref() == Some(entry.term.as_str()) && tagged(&contact) {
                items.push(contact);
            }
        }
        after = entries.last().map(|(sort, _)| sort.clone());
        if !more {
            return Ok(Page {
                items,
                last_key: None,
            });
        }
        if items.len() >= limit || evaluated >= SEARCH_BUDGET * limit {
            return Ok(Page {
                items,
                last_key: after.map(lists::cursor_after),
            });
        }
    }
}

/// Search entries a page reads per item it asks for, at most.
const SEARCH_BUDGET: usize = 4;

pub async fn create(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let fields = http::parse_body::<ContactBody>(&req)?.validate()?;
    let contact = contacts::create(&app.store, &membership.project.id, &fields).await?;
    Ok(http::created(&contact))
}

pub async fn get(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let project_id = membership.project.id.as_str();
    let id = super::contact_id(&req, "id")?;
    let (contact, links) = app
        .store
        .get_contact_with_links(project_id, &id)
        .await?
        .ok_or_else(contacts::not_found)?;
    let visitors = app
        .store
        .index_keys(keys::contact_visitors(project_id, &id))
        .await?;
    let visitor_ids: Vec<&str> = visitors
        .iter()
        .filter_map(|v| keys::visitor_of_contact_entry(v.get(keys::GSI1_SK)?.as_s().ok()?))
        .collect();
    let company_ids: Vec<&str> = links.iter().map(|l| l.company_id.as_str()).collect();
    Ok(http::ok(&ContactDetail {
        contact: &contact,
        company_ids,
        visitor_ids,
    }))
}

/// A contact with the ids of its companies and of the visitors linked to it
/// (the latter through the index: one linked just now may be missing).
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactDetail<'a> {
    #[serde(flatten)]
    pub contact: &'a Contact,
    pub company_ids: Vec<&'a str>,
    pub visitor_ids: Vec<&'a str>,
}

pub async fn update(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let id = super::contact_id(&req, "id")?;
    let fields = http::parse_body::<ContactBody>(&req)?.validate()?;
    let contact = contacts::update(&app.store, &membership.project.id, &id, &fields).await?;
    Ok(http::ok(&contact))
}

pub async fn delete(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Write).await?;
    let id = super::contact_id(&req, "id")?;
    contacts::delete(&app.store, &membership.project.id, &id).await?;
    Ok(http::empty(StatusCode::NO_CONTENT))
}

/// A contact's events, newest first.
pub async fn events(app: &App, req: Request) -> Result<Response, ApiError> {
    let (_, membership) = auth::project_member(app, &req, Access::Read).await?;
    let project_id = membership.project.id.as_str();
    let id = super::contact_id(&req, "id")?;
    if app.store.get_contact(project_id, &id).await?.is_none() {
        return Err(contacts::not_found());
    }
    let page = PageRequest::parse(
        app,
        &req,
        format!("GET /api/contacts/{{id}}/events|{project_id}|{id}"),
    )?;
    let source = Source::Partition(keys::events_of(project_id, EventOwner::Contact(&id)));
    let events = app
        .store
        .page::<Event>(&source, page.limit, page.start.clone(), true)
        .await?;
    Ok(page.respond(app, events, |e| e))
}
