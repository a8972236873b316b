//! Which records a filtered list shows, and through which access path it
//! reads them: the contact and company lists of the account API, v1 and the
//! MCP tools all page through these. A page is `limit` records after `start`
//! (a decoded cursor); what the cursor is bound to is the caller's business.

use crate::domain::stages;
use crate::error::ApiError;
use crate::model::{
    ClaimKind, Company, Contact, Conversation, ConversationStatus, Link, Project, SearchEntry,
    TagEntry,
};
use crate::store::keys::{self, Index, Item, Key};
use crate::store::lists::{self, IndexRange, Source};
use crate::store::{Page, Store};
use crate::validate;
use std::collections::VecDeque;

/// Contact list filters (SPEC §5; v1 uses `email` only).
#[derive(Debug, Default)]
pub struct ContactFilters {
    pub email: Option<String>,
    pub company_id: Option<String>,
    pub tag: Option<String>,
    /// A search term (`search_query`): prefix of the email or name.
    pub search: Option<String>,
}

impl ContactFilters {
    /// The filters as a client sends them, checked: each field is named in
    /// the error it gets.
    pub fn parse(
        email: Option<&str>,
        company_id: Option<&str>,
        tag: Option<&str>,
        search: Option<&str>,
    ) -> Result<Self, ApiError> {
        Ok(ContactFilters {
            email: email.map(|e| validate::email("email", e)).transpose()?,
            company_id: company_id
                .map(|id| validate::external_id("company_id", id))
                .transpose()?,
            tag: tag.map(str::to_owned),
            search: search.map(search_query).transpose()?,
        })
    }
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

/// A page of a project's contacts: by email through its claim, by company
/// through its links, by search through the search entries, by tag through
/// the tag's entries, else the plain listing. The first filter of these
/// chooses what is read; the others filter what it returns.
pub async fn contacts(
    store: &Store,
    project_id: &str,
    filters: &ContactFilters,
    limit: i32,
    start: Option<Item>,
) -> Result<Page<Contact>, ApiError> {
    let tagged = |c: &Contact| filters.tag.as_ref().is_none_or(|t| c.tags.contains(t));
    if let Some(email) = &filters.email {
        let claim = store.get_claim(project_id, ClaimKind::Email, email).await?;
        let contacts: Vec<Contact> = match claim {
            Some(claim) => {
                store
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
        let links = store.page::<Link>(&source, limit, start, false).await?;
        return contacts_of(store, project_id, links, |l| &l.contact_id, tagged).await;
    }
    if let Some(term) = &filters.search {
        return search(store, project_id, limit, start, term, tagged).await;
    }
    if let Some(tag) = &filters.tag {
        let source = Source::Partition(keys::tagged(project_id, tag));
        let entries = store.page::<TagEntry>(&source, limit, start, false).await?;
        return contacts_of(store, project_id, entries, |e| &e.contact_id, tagged).await;
    }
    let source = Source::Index(keys::project_contacts(project_id));
    Ok(store.page(&source, limit, start, false).await?)
}

/// The contacts a page of references names (links, tag entries), read by
/// key, in its order, that `keep`; the page's cursor goes on from it.
async fn contacts_of<E>(
    store: &Store,
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
    let contacts: Vec<Contact> = store.get_many(keys).await?;
    Ok(Page {
        items: contacts.into_iter().filter(keep).collect(),
        last_key: references.last_key,
    })
}

/// Contacts whose email or name starts with `term` (search terms), in the
/// order of the matching term. A contact's lower term is in the partition
/// of its first character, the other in that of its characters up to where
/// the two part (`Contact::search_terms`); a query reads the partitions of
/// its own first 1…n characters (consistent Queries, at once) and merges
/// them by term. A contact both of whose terms match is so met once, at the
/// lower: the query is no longer than what the terms share, so it never
/// reads the other's partition. Only queries longer than
/// `keys::SEARCH_DEPTH` can meet a contact twice; the second meeting is
/// skipped, and a page reads on past skipped entries up to
/// [`SEARCH_BUDGET`] per item asked for, then ends short (with a cursor).
async fn search(
    store: &Store,
    project_id: &str,
    limit: i32,
    start: Option<Item>,
    term: &str,
    tagged: impl Fn(&Contact) -> bool,
) -> Result<Page<Contact>, ApiError> {
    let limit = usize::try_from(limit).unwrap_or(1);
    let after = lists::after_of(start.as_ref());
    let depth = term.chars().count().min(keys::SEARCH_DEPTH);
    let mut streams: Vec<SearchStream> = (1..=depth)
        .map(|depth| SearchStream {
            partition: keys::search_partition(project_id, term, depth),
            after: after.clone(),
            read: VecDeque::new(),
            more: true,
        })
        .collect();
    let mut items = Vec::new();
    let mut evaluated = 0;
    // The sort key of the last entry taken: the page's cursor.
    let mut taken: Option<String> = None;
    let mut first_read = true;
    loop {
        let left = streams.iter().any(|s| s.more || !s.read.is_empty());
        if !left {
            return Ok(Page {
                items,
                last_key: None,
            });
        }
        if items.len() >= limit {
            break;
        }
        // Until every stream shows its next entry, the merge cannot tell
        // which comes next: read those that have run dry.
        let dry: Vec<usize> = (0..streams.len())
            .filter(|&i| streams[i].more && streams[i].read.is_empty())
            .collect();
        if !dry.is_empty() {
            if taken.is_some() && evaluated >= SEARCH_BUDGET * limit {
                break;
            }
            // The first reads share the page among the partitions (where
            // two hold matches, a page ahead in each would be read for
            // nothing); a partition that runs dry is then read for all the
            // page still wants.
            let want = limit - items.len();
            let want = if first_read {
                want.div_ceil(streams.len())
            } else {
                want
            };
            first_read = false;
            let reads = dry.iter().map(|&i| {
                let stream = &streams[i];
                store.prefix_page::<SearchEntry>(
                    &stream.partition,
                    term,
                    stream.after.as_deref(),
                    want,
                )
            });
            let pages = futures_util::future::try_join_all(reads).await?;
            for (i, (entries, more)) in dry.into_iter().zip(pages) {
                evaluated += entries.len();
                let stream = &mut streams[i];
                stream.more = more;
                if let Some((sort, _)) = entries.last() {
                    stream.after = Some(sort.clone());
                }
                stream.read.extend(entries);
            }
            continue;
        }
        // The entries no unread one can precede (up to the lowest last
        // entry read of a stream with more), lowest first, as many as the
        // page still wants.
        let horizon = streams
            .iter()
            .filter(|s| s.more)
            .filter_map(|s| s.read.back().map(|(sort, _)| sort.clone()))
            .min();
        let mut next = Vec::new();
        while next.len() < limit - items.len() {
            let lowest = (0..streams.len())
                .filter_map(|i| Some((streams[i].read.front()?.0.as_str(), i)))
                .filter(|(sort, _)| horizon.as_deref().is_none_or(|h| *sort <= h))
                .min();
            let Some((_, i)) = lowest else { break };
            next.extend(streams[i].read.pop_front());
        }
        let keys: Vec<Key> = next
            .iter()
            .map(|(_, e)| keys::contact(project_id, &e.contact_id).key)
            .collect();
        let contacts: Vec<Contact> = store.get_many(keys).await?;
        let mut contacts = contacts.into_iter().peekable();
        for (_, entry) in &next {
            if contacts.peek().is_none_or(|c| c.id != entry.contact_id) {
                continue;
            }
            let contact = contacts.next().expect("peeked");
            if is_first_match(&contact, entry, term) && tagged(&contact) {
                items.push(contact);
            }
        }
        taken = next.last().map(|(sort, _)| sort.clone()).or(taken);
    }
    Ok(Page {
        items,
        last_key: taken.map(lists::cursor_after),
    })
}

/// One partition a search reads: where it goes on from, what it has read
/// and not yet taken, and whether more is left.
struct SearchStream {
    partition: String,
    after: Option<String>,
    read: VecDeque<(String, SearchEntry)>,
    more: bool,
}

/// The entry is current (the contact has its term, at its depth) and its
/// term is the contact's first that starts with `term`: the one place a
/// search lists the contact.
fn is_first_match(contact: &Contact, entry: &SearchEntry, term: &str) -> bool {
    let terms = contact.search_terms();
    let current = terms
        .iter()
        .any(|t| t.term == entry.term && t.depth == entry.depth);
    let first = terms
        .iter()
        .map(|t| t.term.as_str())
        .filter(|t| t.starts_with(term))
        .min();
    current && first == Some(entry.term.as_str())
}

/// Search entries a page reads per item it asks for, at most.
const SEARCH_BUDGET: usize = 4;

/// Company list filters: a stage (the board column) and its order, or a
/// domain.
#[derive(Debug, Default)]
pub struct CompanyFilters {
    /// The stage's id.
    pub stage_id: Option<String>,
    pub domain: Option<String>,
    pub sort: Sort,
}

/// The order of a board column.
#[derive(Debug, Clone, Copy, Default)]
pub enum Sort {
    /// Most recently changed first.
    #[default]
    Activity,
    /// Highest deal value first; companies without one last.
    DealValue,
}

impl CompanyFilters {
    /// The filters as a client sends them: `stage` a name or id of the
    /// project's pipeline, `sort` `activity` or `deal_value` (with a stage).
    pub fn parse(
        project: &Project,
        stage: Option<&str>,
        domain: Option<&str>,
        sort: Option<&str>,
    ) -> Result<Self, ApiError> {
        let stage_id = stage.map(|name| stages::id_of(project, name)).transpose()?;
        let order = match sort {
            None | Some("activity") => Sort::Activity,
            Some("deal_value") => Sort::DealValue,
            Some(_) => {
                return Err(ApiError::validation(
                    "sort",
                    "must be activity or deal_value",
                ));
            }
        };
        if sort.is_some() && stage_id.is_none() {
            return Err(ApiError::validation(
                "sort",
                "sorts a stage's companies: send stage too",
            ));
        }
        Ok(CompanyFilters {
            stage_id,
            domain: domain.map(|d| d.trim().to_lowercase()),
            sort: order,
        })
    }
}

/// A page of a project's companies: by id; with a stage, the board column
/// (newest activity first, or highest deal value first) and the retired
/// stages that read as it; with a domain, the companies with that domain.
/// Each is read through its own index.
pub async fn companies(
    store: &Store,
    project: &Project,
    filters: &CompanyFilters,
    limit: i32,
    start: Option<Item>,
) -> Result<Page<Company>, ApiError> {
    let on_stage = |c: &Company| {
        filters.stage_id.as_ref().is_none_or(|s| {
            stages::effective(project, c.stage_id.as_deref()).is_some_and(|t| t.stage.id == *s)
        })
    };
    let with_domain = |c: &Company| {
        filters
            .domain
            .as_ref()
            .is_none_or(|d| c.domain.as_ref() == Some(d))
    };
    let (ranges, newest_first) = match (&filters.domain, &filters.stage_id) {
        (None, None) => {
            let source = Source::Index(keys::project_companies(&project.id));
            return Ok(store.page::<Company>(&source, limit, start, false).await?);
        }
        (Some(domain), _) => (
            vec![IndexRange::all(
                Index::Gsi4,
                keys::companies_with_domain(&project.id, domain),
            )],
            false,
        ),
        (None, Some(stage)) => {
            let index = match filters.sort {
                Sort::Activity => Index::Gsi2,
                Sort::DealValue => Index::Gsi3,
            };
            // The column and the retired stages that now read as it.
            let columns = std::iter::once(stage.as_str()).chain(
                project
                    .retired_stages
                    .iter()
                    .filter(|r| {
                        stages::effective(project, Some(&r.id))
                            .is_some_and(|t| t.stage.id == *stage)
                    })
                    .map(|r| r.id.as_str()),
            );
            let ranges = columns
                .map(|column| IndexRange::all(index, keys::board(&project.id, column)))
                .collect();
            (ranges, true)
        }
    };
    let found = store
        .index_page::<Company>(
            &ranges,
            usize::try_from(limit).unwrap_or(1),
            lists::after_of(start.as_ref()).as_deref(),
            newest_first,
            |c| on_stage(c) && with_domain(c),
        )
        .await?;
    Ok(Page {
        items: found.items,
        last_key: found.after.map(lists::cursor_after),
    })
}

/// A page of a project's conversations by last activity, newest first; with
/// a status or a contact, those only (filtered as read: at most 1 000
/// conversations examined per page, docs/scaling.md).
pub async fn conversations(
    store: &Store,
    project_id: &str,
    status: Option<ConversationStatus>,
    contact_id: Option<&str>,
    limit: i32,
    start: Option<Item>,
) -> Result<Page<Conversation>, ApiError> {
    let source = Source::Index(keys::project_conversations(project_id));
    if status.is_none() && contact_id.is_none() {
        return Ok(store.page(&source, limit, start, true).await?);
    }
    let keep = |c: &Conversation| {
        status.is_none_or(|s| c.status == s)
            && contact_id.is_none_or(|id| c.contact_id.as_deref() == Some(id))
    };
    Ok(store
        .filtered_page(&source, limit, start, true, keep)
        .await?)
}
