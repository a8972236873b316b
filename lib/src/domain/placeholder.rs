//! Placeholder companies (SPEC §4): a contact without companies gets one so
//! company-level fields have somewhere to live; when a real company is linked,
//! the placeholder's data moves there and the placeholder goes away — only if
//! no other contact still uses it.

use crate::clock::Timestamp;
use crate::ids::{IdKind, new_id};
use crate::model::{Company, Contact};
use crate::store::keys;
use crate::store::record::attribute;
use crate::store::write::ItemWrite;
use crate::store::{StoreError, changes};
use crate::validate;
use aws_sdk_dynamodb::types::AttributeValue;

/// Common free-mail domains: a placeholder is named after the email's domain
/// only when the domain says something about the company.
const FREE_MAIL_DOMAINS: &[&str] = &[
    "163.com",
    "aol.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hey.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "pm.me",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "web.de",
    "yahoo.com",
    "yandex.com",
    "yandex.ru",
    "zoho.com",
];

pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL_DOMAINS.contains(&domain)
}

/// After the email's domain when it is a company's, else after the contact.
pub fn name_for(contact: &Contact) -> String {
    let company_domain = contact
        .email
        .as_deref()
        .map(validate::email_domain)
        .filter(|domain| !is_free_mail(domain));
    company_domain
        .map(str::to_owned)
        .or_else(|| contact.name.clone())
        .or_else(|| contact.email.clone())
        .or_else(|| contact.user_id.clone())
        .unwrap_or_else(|| "Unnamed contact".to_owned())
}

pub fn new_for(contact: &Contact, now: Timestamp) -> Company {
    Company {
        is_placeholder: true,
        ..Company::new(
            &contact.project_id,
            &new_id(IdKind::Company),
            &name_for(contact),
            now,
        )
    }
}

/// The write that takes one contact off a placeholder, conditional on the
/// placeholder as read: its count (a contact linked meanwhile keeps it, and
/// one unlinked meanwhile changes whether it goes) and, when it is deleted,
/// every field carried over to the real company, so a write to the
/// placeholder after the read refuses the promotion instead of being lost.
pub fn retire(placeholder: &Company, deleting: bool) -> Result<ItemWrite, StoreError> {
    let key = keys::company(&placeholder.project_id, &placeholder.id).key;
    let count = AttributeValue::N(placeholder.contact_count.to_string());
    if !deleting {
        let mut write = ItemWrite::update(key);
        write
            .add("contact_count", -1)
            .require_equals("contact_count", count);
        return Ok(write);
    }
    // Stage and deal value as read: also what leaves the pipeline totals.
    let mut write = changes::delete_company(placeholder)?;
    write
        .require_equals("is_placeholder", AttributeValue::Bool(true))
        .require_equals("contact_count", count);
    write
        .require_same("notes", attribute(&placeholder.notes)?)
        .require_same("domain", attribute(&placeholder.domain)?)
        .require_same("industry", attribute(&placeholder.industry)?)
        .require_same("metadata", attribute(&placeholder.metadata)?)
        .require_same("enrichment", attribute(&placeholder.enrichment)?);
    Ok(write)
}

/// Copies the placeholder's stage, deal value, notes, domain and industry
/// into `real` where `real` has none, and the metadata and enrichment entries
/// `real` lacks. Returns the scalar fields copied, which the write then
/// requires to still be unset (the maps are conditioned as a whole by the
/// record diff).
pub fn carry_over(placeholder: &Company, real: &mut Company) -> Vec<&'static str> {
    let mut copied = Vec::new();
    if real.stage_id.is_none() && placeholder.stage_id.is_some() {
        real.stage_id.clone_from(&placeholder.stage_id);
        real.stage_changed_at = placeholder.stage_changed_at;
        copied.push("stage_id");
    }
    let mut carry = |field: &'static str, to: &mut Option<String>, from: &Option<String>| {
        if to.is_none() && from.is_some() {
            to.clone_from(from);
            copied.push(field);
        }
    };
    carry("notes", &mut real.notes, &placeholder.notes);
    carry("domain", &mut real.domain, &placeholder.domain);
    carry("industry", &mut real.industry, &placeholder.industry);
    if real.deal_value.is_none() && placeholder.deal_value.is_some() {
        real.deal_value = placeholder.deal_value;
        copied.push("deal_value");
    }
    for (from, to) in [
        (&placeholder.metadata, &mut real.metadata),
        (&placeholder.enrichment, &mut real.enrichment),
    ] {
        for (key, value) in from {
            to.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    copied
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Scalar;

    fn contact(email: Option<&str>, name: Option<&str>) -> Contact {
        let now = Timestamp::now();
        Contact {
            id: "ct_1".into(),
            project_id: "pr_1".into(),
            name: name.map(Into::into),
            email: email.map(Into::into),
            user_id: None,
            phone: None,
            notes: None,
            tags: vec![],
            metadata: Default::default(),
            placeholder_company_id: None,
            company_count: 0,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn named_after_a_company_domain_else_the_contact() {
        assert_eq!(
            name_for(&contact(Some("ada@acme.com"), Some("Ada"))),
            "acme.com"
        );
        assert_eq!(
            name_for(&contact(Some("ada@gmail.com"), Some("Ada"))),
            "Ada"
        );
        assert_eq!(
            name_for(&contact(Some("ada@gmail.com"), None)),
            "ada@gmail.com"
        );
    }

    #[test]
    fn carries_over_only_what_the_real_company_lacks() {
        let now = Timestamp::now();
        let mut placeholder = new_for(&contact(Some("a@acme.com"), None), now);
        placeholder.stage_id = Some("stg_2".into());
        placeholder.deal_value = Some(500.0);
        placeholder
            .metadata
            .insert("owner".into(), Scalar::String("Sam".into()));
        placeholder
            .metadata
            .insert("plan".into(), Scalar::String("free".into()));
        let mut real = new_for(&contact(None, Some("x")), now);
        real.is_placeholder = false;
        real.deal_value = Some(9.0);
        real.metadata
            .insert("plan".into(), Scalar::String("pro".into()));
        let copied = carry_over(&placeholder, &mut real);
        assert_eq!(copied, ["stage_id"]);
        assert_eq!(real.stage_id.as_deref(), Some("stg_2"));
        assert_eq!(real.deal_value, Some(9.0));
        assert_eq!(real.metadata["plan"], Scalar::String("pro".into()));
        assert_eq!(real.metadata["owner"], Scalar::String("Sam".into()));
    }
}
