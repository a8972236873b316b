//! `POST /api/widget/identify` (SPEC §4): turn a visitor into a contact with
//! companies.
//!
//! One attempt reads what it decides on (project, visitor, claims, named
//! companies, then the contact collections, then any other linked company),
//! computes every record's new state in memory, and commits the differences
//! as one transaction whose conditions assert what it read: new items must
//! not exist, claims must be free, a stage may only move from the stages the
//! decision allowed, a placeholder is deleted only while its count is ours
//! alone. A refusal means a concurrent writer changed what was read, so the
//! attempt runs again on fresh reads; losers of an identity race find the
//! winner's claim and reuse its contact. An identical repeat computes no
//! difference and writes nothing.

use crate::app::App;
use crate::clock::Timestamp;
use crate::domain::stages::{self, Target};
use crate::domain::widget::{self, Caller};
use crate::domain::{self, placeholder};
use crate::error::ApiError;
use crate::model::{
    Claim, ClaimKind, Company, Contact, Link, LinkSource, Project, StageUpdateMode, Visitor,
};
use crate::store::keys;
use crate::store::write::{ItemWrite, WriteSet};
use crate::store::{Store, changes};
use crate::validate::{self, AttributesPatch};
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::future::try_join_all;
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// The `company` object of identify, validated.
#[derive(Debug, Clone, Default)]
pub struct CompanyInput {
    pub id: String,
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub industry: Option<Option<String>>,
    pub stage: Option<String>,
    pub deal_value: Option<Option<f64>>,
    pub metadata: Option<AttributesPatch>,
}

/// An identify request, validated.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub metadata: Option<AttributesPatch>,
    pub properties: Option<AttributesPatch>,
    pub company: Option<CompanyInput>,
    pub company_ids: Vec<String>,
    pub stage_update_mode: Option<StageUpdateMode>,
}

impl Input {
    /// Fields that need a contact (rule 4 refuses them for an anonymous visitor).
    fn has_contact_or_company_fields(&self) -> bool {
        self.name.is_some()
            || self.phone.is_some()
            || self.metadata.is_some()
            || self.company.is_some()
            || !self.company_ids.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warning {
    pub code: &'static str,
    pub message: &'static str,
}

/// The result of a stage write (identify's `company.stage`, set-stage, set-deal).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageOutcome {
    pub stage_applied: bool,
    pub previous_stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

#[derive(Debug)]
pub struct Identified {
    pub project: Project,
    pub visitor: Visitor,
    pub contact: Option<Contact>,
    /// The contact's companies after the call.
    pub companies: Vec<Company>,
    pub created_contact: bool,
    pub created_companies: Vec<String>,
    pub created_placeholder: bool,
    pub relinked: bool,
    pub warnings: Vec<Warning>,
    pub stage: Option<StageOutcome>,
}

pub async fn identify(
    app: &App,
    req: &Request,
    caller: &Caller,
    input: &Input,
) -> Result<Identified, ApiError> {
    domain::until_committed(|| attempt_once(app, req, caller, input)).await
}

/// Which item of the transaction a write is, to read cancellation reasons by.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tag {
    Visitor,
    Contact,
    EmailClaim,
    UserIdClaim,
    Company(usize),
    Link(usize),
    PlaceholderLink,
}

/// A company this call changes: old and new state, links added or removed.
#[derive(Debug)]
struct CompanyChange {
    old: Option<Company>,
    new: Company,
    count_delta: i64,
    /// Delete (a placeholder) instead of updating: only while its stored count
    /// is still the one read, i.e. no other contact got linked meanwhile.
    delete: bool,
    /// `advance_only` stage write: ids the stored stage may be moving from.
    stage_from: Option<Vec<String>>,
    /// Fields carried over from a placeholder: must still be unset.
    carried: Vec<&'static str>,
}

impl CompanyChange {
    /// A company this call only links or unlinks (so far).
    fn unchanged(company: Company) -> Self {
        CompanyChange {
            old: Some(company.clone()),
            new: company,
            count_delta: 0,
            delete: false,
            stage_from: None,
            carried: Vec::new(),
        }
    }

    fn write(&self) -> Result<ItemWrite, ApiError> {
        let Some(old) = &self.old else {
            let mut new = self.new.clone();
            new.contact_count = self.count_delta;
            return Ok(changes::create(&new)?);
        };
        if self.delete {
            return Ok(placeholder::retire(old, true)?);
        }
        let mut write = changes::company(old, &self.new)?;
        if self.count_delta != 0 {
            write.add("contact_count", self.count_delta);
        }
        if let Some(from) = &self.stage_from {
            let from: Vec<&str> = from.iter().map(String::as_str).collect();
            write.require_absent_or_in("stage_id", &from);
        }
        for field in &self.carried {
            write.require_absent(field);
        }
        Ok(write)
    }
}

/// `email_in_use`, `user_id_not_changed`, …: the identity field the request
/// could not give the contact.
fn warning(kind: ClaimKind, what: &str) -> Warning {
    let (code, message) = match (kind, what) {
        (ClaimKind::Email, "in_use") => (
            "email_in_use",
            "another contact has this email; both contacts were left unchanged",
        ),
        (ClaimKind::UserId, "in_use") => (
            "user_id_in_use",
            "another contact has this user_id; both contacts were left unchanged",
        ),
        (ClaimKind::Email, _) => (
            "email_not_changed",
            "the contact keeps its email; change it with PATCH /api/contacts/{id}",
        ),
        (ClaimKind::UserId, _) => (
            "user_id_not_changed",
            "the contact keeps its user_id; change it with PATCH /api/contacts/{id}",
        ),
    };
    Warning { code, message }
}

/// How the contact of this call was found (SPEC §4 rules 1–4).
enum Resolution {
    /// Rule 1 (the visitor's compatible contact) or rule 3 (matched by identity).
    Existing(String),
    /// Rule 3: no contact has this identity yet.
    Create,
    /// Rule 4: no identity and no linked contact.
    VisitorOnly,
}

/// Rules 1–2: the visitor's contact is reused unless the request's identity
/// conflicts with it (a different user_id, or a different email without a
/// matching user_id).
fn compatible(contact: &Contact, email: Option<&str>, user_id: Option<&str>) -> bool {
    let differs = |asked: Option<&str>, held: Option<&str>| matches!((asked, held), (Some(a), Some(h)) if a != h);
    let user_id_matches =
        matches!((user_id, contact.user_id.as_deref()), (Some(a), Some(h)) if a == h);
    !differs(user_id, contact.user_id.as_deref())
        && (user_id_matches || !differs(email, contact.email.as_deref()))
}

/// Returns `None` when a concurrent change refused the commit: run again.
async fn attempt_once(
    app: &App,
    req: &Request,
    caller: &Caller,
    input: &Input,
) -> Result<Option<Identified>, ApiError> {
    let store = &app.store;
    let project_id = caller.project_id.as_str();

    // Round 1: project, visitor, claims and every company the request names.
    let named: Vec<String> = input
        .company
        .iter()
        .map(|c| c.id.clone())
        .chain(input.company_ids.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let email_key = input
        .email
        .as_deref()
        .map(|e| keys::email_claim(project_id, e).key);
    let user_id_key = input
        .user_id
        .as_deref()
        .map(|u| keys::user_id_claim(project_id, u).key);
    let extra = named
        .iter()
        .map(|id| keys::company(project_id, id).key)
        .chain(email_key.iter().chain(user_id_key.iter()).cloned())
        .collect();
    let (session, mut found) = widget::open(app, req, caller, extra).await?;
    let project = &session.project;
    let email_claim: Option<Claim> = email_key
        .as_ref()
        .map(|k| found.take(k))
        .transpose()?
        .flatten();
    let user_id_claim: Option<Claim> = user_id_key
        .as_ref()
        .map(|k| found.take(k))
        .transpose()?
        .flatten();
    let mut known: BTreeMap<String, Company> = BTreeMap::new();
    for id in &named {
        if let Some(company) = found.take::<Company>(&keys::company(project_id, id).key)? {
            known.insert(id.clone(), company);
        }
    }

    // Requests that cannot apply are refused before anything is written.
    let target: Option<Target> = match input.company.as_ref().and_then(|c| c.stage.as_deref()) {
        Some(name) => Some(stages::find(project, name).ok_or_else(|| stages::unknown(project))?),
        None => None,
    };
    let primary_id = input.company.as_ref().map(|c| c.id.as_str());
    let missing: Vec<&str> = input
        .company_ids
        .iter()
        .map(String::as_str)
        .filter(|id| !known.contains_key(*id) && Some(*id) != primary_id)
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_company",
            "company_ids names companies that do not exist",
        )
        .with_details(json!({ "missing": missing })));
    }

    // Round 2: the contacts involved, each with its links (one Query each).
    let linked_id = session.visitor.as_ref().and_then(|v| v.contact_id.clone());
    let candidates: BTreeSet<String> = linked_id
        .iter()
        .chain(user_id_claim.iter().map(|c| &c.contact_id))
        .chain(email_claim.iter().map(|c| &c.contact_id))
        .cloned()
        .collect();
    let loaded: BTreeMap<String, (Contact, Vec<Link>)> = try_join_all(
        candidates
            .iter()
            .map(|id| store.get_contact_with_links(project_id, id)),
    )
    .await?
    .into_iter()
    .flatten()
    .map(|(contact, links)| (contact.id.clone(), (contact, links)))
    .collect();

    let email = input.email.as_deref();
    let user_id = input.user_id.as_deref();
    let owner = |claim: &Option<Claim>| {
        claim
            .as_ref()
            .map(|c| c.contact_id.clone())
            .filter(|id| loaded.contains_key(id))
    };
    // A visitor whose contact was deleted counts as not linked.
    let linked = linked_id.as_ref().and_then(|id| loaded.get(id));
    let linked_id = linked.map(|(contact, _)| contact.id.clone());
    let resolution = match linked {
        Some((contact, _)) if compatible(contact, email, user_id) => {
            Resolution::Existing(contact.id.clone())
        }
        _ if email.is_none() && user_id.is_none() => Resolution::VisitorOnly,
        _ => match owner(&user_id_claim).or_else(|| owner(&email_claim)) {
            Some(id) => Resolution::Existing(id),
            None => Resolution::Create,
        },
    };

    let mut visitor = session.touched_visitor();
    if let Some(patch) = &input.properties {
        visitor.properties = validate::merge("properties", &visitor.properties, patch)?;
    }
    let resolved = match resolution {
        Resolution::VisitorOnly => return visitor_only(store, &session, visitor, input).await,
        Resolution::Create => None,
        Resolution::Existing(id) => Some(
            loaded
                .get(&id)
                .cloned()
                .ok_or_else(|| ApiError::internal("resolved contact not loaded"))?,
        ),
    };

    let mut plan = Plan::new(project_id, session.now, visitor, linked_id, resolved);
    plan.take_identity(ClaimKind::Email, email, email_claim.as_ref());
    plan.take_identity(ClaimKind::UserId, user_id, user_id_claim.as_ref());
    plan.update_contact(input)?;
    if let Some(company) = &input.company {
        let old = known.get(&company.id).cloned();
        plan.update_primary(company, old, project, target, input.stage_update_mode)?;
    }
    let to_link = plan.not_linked(&named);

    // Round 3: linked companies not read yet (for the response and
    // placeholder promotion).
    let wanted = plan.unread(&to_link, &known);
    let promoting = plan.placeholder_link().is_some() && plan.real_links_after(&to_link) > 0;
    let mut fetched = store
        .fetch(
            wanted
                .iter()
                .map(|id| keys::company(project_id, id).key)
                .collect(),
        )
        .await?;
    for id in &wanted {
        if let Some(company) = fetched.take::<Company>(&keys::company(project_id, id).key)? {
            known.insert(id.clone(), company);
        }
    }

    plan.link(&to_link, &known)?;
    if plan.real_links_after(&to_link) == 0 && plan.placeholder_link().is_none() {
        plan.give_placeholder();
    } else if promoting {
        plan.promote(primary_id, &to_link, &known)?;
    }
    plan.set_visitor_context(primary_id);
    plan.count_links();
    if !commit(store, plan.transaction(&session)?).await? {
        return Ok(None);
    }
    Ok(Some(plan.identified(session.project, &known)))
}

/// Rule 4: an anonymous visitor only gets visitor data.
async fn visitor_only(
    store: &Store,
    session: &widget::Session,
    visitor: Visitor,
    input: &Input,
) -> Result<Option<Identified>, ApiError> {
    if input.has_contact_or_company_fields() {
        return Err(ApiError::conflict(
            "visitor_not_identified",
            "send email or user_id to identify the visitor before contact or company fields",
        ));
    }
    let mut writes = WriteSet::default();
    writes.push(Tag::Visitor, session.visitor_write(&visitor)?);
    if !commit(store, writes).await? {
        return Ok(None);
    }
    Ok(Some(Identified {
        project: session.project.clone(),
        visitor,
        contact: None,
        companies: Vec::new(),
        created_contact: false,
        created_companies: Vec::new(),
        created_placeholder: false,
        relinked: false,
        warnings: Vec::new(),
        stage: None,
    }))
}

/// Everything one attempt changes, worked out in memory from what it read:
/// `transaction` turns it into the writes, `identified` into the response.
struct Plan<'r> {
    project_id: &'r str,
    now: Timestamp,
    visitor: Visitor,
    /// The visitor was linked to another contact than this call's.
    relinked: bool,
    old_contact: Option<Contact>,
    contact: Contact,
    /// The contact's links as read.
    links: Vec<Link>,
    /// Identity claims this call takes for the contact.
    claims: Vec<(Tag, Claim)>,
    warnings: Vec<Warning>,
    companies: Vec<CompanyChange>,
    created_companies: Vec<String>,
    stage: Option<StageOutcome>,
    new_links: Vec<Link>,
    removed_link: Option<Link>,
    created_placeholder: bool,
}

impl<'r> Plan<'r> {
    /// `resolved`: the contact this call updates and its links; `None` creates one.
    fn new(
        project_id: &'r str,
        now: Timestamp,
        visitor: Visitor,
        linked_id: Option<String>,
        resolved: Option<(Contact, Vec<Link>)>,
    ) -> Self {
        let (old_contact, links) = match resolved {
            Some((contact, links)) => (Some(contact), links),
            None => (None, Vec::new()),
        };
        let relinked = linked_id.is_some()
            && linked_id.as_deref() != old_contact.as_ref().map(|c| c.id.as_str());
        let mut contact = old_contact
            .clone()
            .unwrap_or_else(|| Contact::new(project_id, now));
        contact.updated_at = now;
        Plan {
            project_id,
            now,
            visitor,
            relinked,
            old_contact,
            contact,
            links,
            claims: Vec::new(),
            warnings: Vec::new(),
            companies: Vec::new(),
            created_companies: Vec::new(),
            stage: None,
            new_links: Vec::new(),
            removed_link: None,
            created_placeholder: false,
        }
    }

    /// A missing identity field is filled in, claiming it; one owned by
    /// another contact, or differing from the contact's own, leaves the
    /// contacts as they are, with a warning.
    fn take_identity(&mut self, kind: ClaimKind, asked: Option<&str>, claim: Option<&Claim>) {
        let Some(asked) = asked else { return };
        let held = match kind {
            ClaimKind::Email => self.contact.email.as_deref(),
            ClaimKind::UserId => self.contact.user_id.as_deref(),
        };
        match (held, claim) {
            (Some(held), _) if held == asked => {}
            (Some(_), _) => self.warnings.push(warning(kind, "not_changed")),
            (None, Some(claim)) if claim.contact_id != self.contact.id => {
                self.warnings.push(warning(kind, "in_use"))
            }
            (None, _) => {
                let (field, tag) = match kind {
                    ClaimKind::Email => (&mut self.contact.email, Tag::EmailClaim),
                    ClaimKind::UserId => (&mut self.contact.user_id, Tag::UserIdClaim),
                };
                *field = Some(asked.to_owned());
                let claim = Claim {
                    project_id: self.project_id.to_owned(),
                    kind,
                    value: asked.to_owned(),
                    contact_id: self.contact.id.clone(),
                };
                self.claims.push((tag, claim));
            }
        }
    }

    fn update_contact(&mut self, input: &Input) -> Result<(), ApiError> {
        if let Some(name) = &input.name {
            self.contact.name = name.clone();
        }
        if let Some(phone) = &input.phone {
            self.contact.phone = phone.clone();
        }
        if let Some(patch) = &input.metadata {
            self.contact.metadata = validate::merge("metadata", &self.contact.metadata, patch)?;
        }
        Ok(())
    }

    /// `company`: created or updated; its stage moves when precedence allows.
    fn update_primary(
        &mut self,
        input: &CompanyInput,
        old: Option<Company>,
        project: &Project,
        target: Option<Target>,
        requested_mode: Option<StageUpdateMode>,
    ) -> Result<(), ApiError> {
        let mut new = old.clone().unwrap_or_else(|| {
            let name = input.name.as_deref().unwrap_or(&input.id);
            Company::new(self.project_id, &input.id, name, self.now)
        });
        if old.is_none() {
            self.created_companies.push(new.id.clone());
        }
        new.updated_at = self.now;
        if let Some(name) = &input.name {
            new.name = name.clone();
        }
        if let Some(domain) = &input.domain {
            new.domain = domain.clone();
        }
        if let Some(industry) = &input.industry {
            new.industry = industry.clone();
        }
        if let Some(deal_value) = &input.deal_value {
            new.deal_value = *deal_value;
        }
        if let Some(patch) = &input.metadata {
            new.metadata = validate::merge("company.metadata", &new.metadata, patch)?;
        }
        let mut stage_from = None;
        if let Some(target) = target {
            let mode = stages::mode(requested_mode, project);
            let previous = old.as_ref().and_then(|c| c.stage_id.clone());
            let applied = stages::allows(project, previous.as_deref(), target, mode);
            if applied {
                new.move_to(Some(target.stage.id.clone()), self.now);
                if mode == StageUpdateMode::AdvanceOnly && old.is_some() {
                    stage_from = Some(
                        stages::at_or_before(project, target)
                            .into_iter()
                            .map(str::to_owned)
                            .collect(),
                    );
                }
            }
            self.stage = Some(StageOutcome {
                stage_applied: applied,
                previous_stage: stages::name_of(project, previous.as_deref()).map(str::to_owned),
                reason: (!applied).then_some("stage_precedence"),
            });
        }
        self.companies.push(CompanyChange {
            old,
            new,
            count_delta: 0,
            delete: false,
            stage_from,
            carried: Vec::new(),
        });
        Ok(())
    }

    /// The named companies the contact is not linked to yet.
    fn not_linked(&self, named: &[String]) -> Vec<String> {
        let linked: BTreeSet<&str> = self.links.iter().map(|l| l.company_id.as_str()).collect();
        named
            .iter()
            .filter(|id| !linked.contains(id.as_str()))
            .cloned()
            .collect()
    }

    fn placeholder_link(&self) -> Option<&Link> {
        self.links
            .iter()
            .find(|l| l.source == LinkSource::Placeholder)
    }

    /// Real (non-placeholder) companies the contact has once `to_link` is linked.
    fn real_links_after(&self, to_link: &[String]) -> usize {
        let real = self
            .links
            .iter()
            .filter(|l| l.source != LinkSource::Placeholder);
        real.count() + to_link.len()
    }

    /// Companies linked now or by this call that were neither read nor changed.
    fn unread(&self, to_link: &[String], known: &BTreeMap<String, Company>) -> Vec<String> {
        self.links
            .iter()
            .map(|l| l.company_id.clone())
            .chain(to_link.iter().cloned())
            .filter(|id| !known.contains_key(id))
            .filter(|id| !self.companies.iter().any(|c| c.new.id == *id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Where `id` is among the changed companies, adding it unchanged if needed.
    fn change_of(
        &mut self,
        id: &str,
        known: &BTreeMap<String, Company>,
    ) -> Result<usize, ApiError> {
        if let Some(index) = self.companies.iter().position(|c| c.new.id == id) {
            return Ok(index);
        }
        let company = known
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::internal("linked company not read"))?;
        self.companies.push(CompanyChange::unchanged(company));
        Ok(self.companies.len() - 1)
    }

    fn link(
        &mut self,
        to_link: &[String],
        known: &BTreeMap<String, Company>,
    ) -> Result<(), ApiError> {
        for id in to_link {
            let index = self.change_of(id, known)?;
            self.companies[index].count_delta += 1;
            self.companies[index].new.contact_count += 1;
            self.new_links.push(Link {
                project_id: self.project_id.to_owned(),
                contact_id: self.contact.id.clone(),
                company_id: id.clone(),
                source: LinkSource::Identify,
                created_at: self.now,
            });
        }
        Ok(())
    }

    /// The contact has no company: it gets a placeholder.
    fn give_placeholder(&mut self) {
        let mut company = placeholder::new_for(&self.contact, self.now);
        company.contact_count = 1;
        self.contact.placeholder_company_id = Some(company.id.clone());
        self.new_links.push(Link {
            project_id: self.project_id.to_owned(),
            contact_id: self.contact.id.clone(),
            company_id: company.id.clone(),
            source: LinkSource::Placeholder,
            created_at: self.now,
        });
        self.companies.push(CompanyChange {
            old: None,
            new: company,
            count_delta: 1,
            delete: false,
            stage_from: None,
            carried: Vec::new(),
        });
        self.created_placeholder = true;
    }

    /// A real company is linked: the placeholder's data moves to the primary
    /// real company, and the placeholder is unlinked and, when no other
    /// contact uses it, deleted in the same transaction (conditional on the
    /// placeholder as read). This visitor's active company moves to the real
    /// one; the contact's other visitors are not rewritten (the fan-out would
    /// be unbounded): an active company no longer linked reads as none.
    fn promote(
        &mut self,
        primary_id: Option<&str>,
        to_link: &[String],
        known: &BTreeMap<String, Company>,
    ) -> Result<(), ApiError> {
        let link = self
            .placeholder_link()
            .cloned()
            .ok_or_else(|| ApiError::internal("promotion without a placeholder"))?;
        let real_id = primary_id
            .map(str::to_owned)
            .or_else(|| to_link.first().cloned())
            .or_else(|| {
                self.links
                    .iter()
                    .find(|l| l.source != LinkSource::Placeholder)
                    .map(|l| l.company_id.clone())
            })
            .ok_or_else(|| ApiError::internal("promotion without a real company"))?;
        if let Some(placeholder) = known.get(&link.company_id) {
            let deleting = placeholder.contact_count <= 1;
            let real_index = self.change_of(&real_id, known)?;
            if deleting {
                let real = &mut self.companies[real_index];
                real.carried = placeholder::carry_over(placeholder, &mut real.new);
                validate::check_limits("company.metadata", &real.new.metadata)?;
                validate::check_limits("company.enrichment", &real.new.enrichment)?;
            }
            self.companies.push(CompanyChange {
                old: Some(placeholder.clone()),
                new: Company {
                    contact_count: placeholder.contact_count - 1,
                    updated_at: self.now,
                    ..placeholder.clone()
                },
                count_delta: -1,
                delete: deleting,
                stage_from: None,
                carried: Vec::new(),
            });
            if self.visitor.active_company_id.as_deref() == Some(&link.company_id) {
                self.visitor.active_company_id = Some(real_id);
            }
        }
        self.removed_link = Some(link);
        self.contact.placeholder_company_id = None;
        Ok(())
    }

    /// The visitor is linked to the contact; its active company is
    /// `company.id`, else the one it had if the contact is still linked to it
    /// (a relinked visitor's belonged to the old contact; a deleted or
    /// promoted one is gone), else the placeholder.
    fn set_visitor_context(&mut self, primary_id: Option<&str>) {
        let linked_after = self.linked_after();
        if self.relinked
            || self
                .visitor
                .active_company_id
                .as_ref()
                .is_some_and(|id| !linked_after.contains(id))
        {
            self.visitor.active_company_id = None;
        }
        self.visitor.contact_id = Some(self.contact.id.clone());
        if let Some(id) = primary_id {
            self.visitor.active_company_id = Some(id.to_owned());
        } else if self.visitor.active_company_id.is_none() {
            // Until a real company is linked, the placeholder is the visitor's
            // company context (promotion moves it on).
            self.visitor.active_company_id = self.contact.placeholder_company_id.clone();
        }
    }

    /// The contact's companies once this call's links and unlink are made.
    fn linked_after(&self) -> BTreeSet<String> {
        let unlinked = self.removed_link.as_ref().map(|l| l.company_id.as_str());
        self.links
            .iter()
            .chain(&self.new_links)
            .map(|l| l.company_id.as_str())
            .filter(|id| Some(*id) != unlinked)
            .map(str::to_owned)
            .collect()
    }

    /// Links added minus the one removed: the change of `company_count`.
    fn count_delta(&self) -> i64 {
        let added = i64::try_from(self.new_links.len()).unwrap_or(i64::MAX);
        added - i64::from(self.removed_link.is_some())
    }

    /// The contact's `company_count` after this call's links and unlink.
    fn count_links(&mut self) {
        let read = self.old_contact.as_ref().map_or(0, |c| c.company_count);
        self.contact.company_count = read + self.count_delta();
    }

    /// The differences as one transaction, with conditions asserting what was read.
    fn transaction(&self, session: &widget::Session) -> Result<WriteSet<Tag>, ApiError> {
        let mut writes = WriteSet::default();
        for (tag, claim) in &self.claims {
            writes.push(*tag, changes::create(claim)?);
        }
        writes.push(Tag::Visitor, session.visitor_write(&self.visitor)?);
        let links_change = !self.new_links.is_empty() || self.removed_link.is_some();
        let contact_write = match &self.old_contact {
            None => changes::create(&self.contact)?,
            Some(old) => {
                let mut write = changes::contact(old, &self.contact)?;
                if self.count_delta() != 0 {
                    write.add("company_count", self.count_delta());
                }
                if write.is_noop() && links_change {
                    // Links only (one in, one out): the contact must still
                    // exist, as read.
                    write = ItemWrite::check_exists(write.key().clone());
                }
                // Which placeholder it holds, and for a placeholder given or
                // promoted whether it has a company at all, were decided on
                // the links read: they must not have changed.
                write.require_unchanged(
                    "placeholder_company_id",
                    old.placeholder_company_id.as_deref(),
                );
                if self.created_placeholder || self.removed_link.is_some() {
                    write.require_equals(
                        "company_count",
                        AttributeValue::N(old.company_count.to_string()),
                    );
                }
                write
            }
        };
        writes.push(Tag::Contact, contact_write);
        for (index, change) in self.companies.iter().enumerate() {
            writes.push(Tag::Company(index), change.write()?);
        }
        for (index, link) in self.new_links.iter().enumerate() {
            writes.push(Tag::Link(index), changes::create(link)?);
        }
        if let Some(link) = &self.removed_link {
            let key = keys::link(self.project_id, &link.contact_id, &link.company_id).key;
            writes.push(Tag::PlaceholderLink, ItemWrite::delete(key));
        }
        Ok(writes)
    }

    /// The response, from the state just written.
    fn identified(self, project: Project, known: &BTreeMap<String, Company>) -> Identified {
        let deleted: BTreeSet<&str> = self
            .companies
            .iter()
            .filter(|c| c.delete)
            .map(|c| c.new.id.as_str())
            .collect();
        let unlinked = self.removed_link.as_ref().map(|l| l.company_id.as_str());
        let mut companies: Vec<Company> = Vec::new();
        for id in self
            .links
            .iter()
            .map(|l| l.company_id.as_str())
            .chain(self.new_links.iter().map(|l| l.company_id.as_str()))
            .filter(|id| Some(*id) != unlinked && !deleted.contains(id))
            .collect::<BTreeSet<_>>()
        {
            if let Some(change) = self.companies.iter().find(|c| c.new.id == id) {
                companies.push(change.new.clone());
            } else if let Some(company) = known.get(id) {
                companies.push(company.clone());
            }
        }
        Identified {
            project,
            visitor: self.visitor,
            created_contact: self.old_contact.is_none(),
            contact: Some(self.contact),
            companies,
            created_companies: self.created_companies,
            created_placeholder: self.created_placeholder,
            relinked: self.relinked,
            warnings: self.warnings,
            stage: self.stage,
        }
    }
}

/// Commits unless there is nothing to write. `false` when a concurrent change
/// refused it (nothing was written).
async fn commit(store: &Store, writes: WriteSet<Tag>) -> Result<bool, ApiError> {
    if writes.writes_nothing() {
        return Ok(true);
    }
    Ok(store.commit(writes).await?.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    fn contact(email: Option<&str>, user_id: Option<&str>) -> Contact {
        Contact {
            email: email.map(Into::into),
            user_id: user_id.map(Into::into),
            ..Contact::new("pr_1", Timestamp::now())
        }
    }

    #[test]
    fn rule_1_the_same_identity_or_a_missing_one_is_compatible() {
        let held = contact(Some("a@x.co"), Some("u1"));
        assert!(compatible(&held, Some("a@x.co"), Some("u1")));
        assert!(compatible(&held, None, None));
        assert!(compatible(&contact(None, None), Some("b@x.co"), Some("u2")));
        assert!(compatible(
            &contact(Some("a@x.co"), None),
            Some("a@x.co"),
            Some("u9")
        ));
    }

    #[test]
    fn rule_2_a_different_user_id_or_an_unbacked_different_email_conflicts() {
        let held = contact(Some("a@x.co"), Some("u1"));
        assert!(!compatible(&held, None, Some("u2")));
        assert!(!compatible(&held, Some("b@x.co"), None));
        assert!(!compatible(
            &contact(Some("a@x.co"), None),
            Some("b@x.co"),
            Some("u1")
        ));
        // A matching user_id outweighs a different email.
        assert!(compatible(&held, Some("b@x.co"), Some("u1")));
    }
}
