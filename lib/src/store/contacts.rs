//! Contacts and their uniqueness claims.

use super::keys::{self, Item};
use super::record::{from_item, to_item};
use super::{CancelReason, Store, StoreError};
use crate::model::{Claim, ClaimKind, Contact, Link};
use aws_sdk_dynamodb::types::AttributeValue;

/// What became of a contact creation.
#[derive(Debug, PartialEq)]
pub enum CreateContact {
    Created,
    /// Another contact holds the email and/or user id; nothing was written.
    /// The owners come from the cancelled claims' old images.
    Taken {
        email_owner: Option<String>,
        user_id_owner: Option<String>,
    },
}

impl Store {
    /// Creates a contact and its email / user-id claims in one transaction.
    /// Each claim is `attribute_not_exists(pk)`, so of any number of writers
    /// racing for one identity exactly one succeeds and the others learn the
    /// winner from the cancellation reasons.
    pub async fn create_contact(&self, contact: &Contact) -> Result<CreateContact, StoreError> {
        let mut items = vec![self.tx_put(to_item(contact)?, "attribute_not_exists(pk)")?];
        let mut claims = Vec::new();
        for (kind, value) in [
            (ClaimKind::Email, &contact.email),
            (ClaimKind::UserId, &contact.user_id),
        ] {
            if let Some(value) = value {
                let claim = Claim {
                    project_id: contact.project_id.clone(),
                    kind,
                    value: value.clone(),
                    contact_id: contact.id.clone(),
                };
                items.push(self.tx_put(to_item(&claim)?, "attribute_not_exists(pk)")?);
                claims.push(kind);
            }
        }
        match self.transact(items).await {
            Ok(()) => Ok(CreateContact::Created),
            Err(StoreError::Cancelled(reasons))
                if !matches!(reasons.first(), Some(CancelReason::ConditionFailed { .. })) =>
            {
                let owner = |kind| {
                    let index = 1 + claims.iter().position(|k| *k == kind)?;
                    match reasons.get(index)? {
                        CancelReason::ConditionFailed { old: Some(old) } => {
                            from_item::<Claim>(old.clone()).ok().map(|c| c.contact_id)
                        }
                        _ => None,
                    }
                };
                let taken = CreateContact::Taken {
                    email_owner: owner(ClaimKind::Email),
                    user_id_owner: owner(ClaimKind::UserId),
                };
                match taken {
                    CreateContact::Taken {
                        email_owner: None,
                        user_id_owner: None,
                    } => Err(StoreError::Cancelled(reasons)),
                    taken => Ok(taken),
                }
            }
            Err(err) => Err(err),
        }
    }

    pub async fn get_contact(
        &self,
        project_id: &str,
        contact_id: &str,
    ) -> Result<Option<Contact>, StoreError> {
        self.get(&keys::contact(project_id, contact_id).key, false)
            .await
    }

    /// The claim on an email or user id, read consistently: callers decide
    /// between reusing and creating a contact on it.
    pub async fn get_claim(
        &self,
        project_id: &str,
        kind: ClaimKind,
        value: &str,
    ) -> Result<Option<Claim>, StoreError> {
        let keys = match kind {
            ClaimKind::Email => keys::email_claim(project_id, value),
            ClaimKind::UserId => keys::user_id_claim(project_id, value),
        };
        self.get(&keys.key, true).await
    }

    /// A contact and its company links: one Query on the contact's item collection.
    pub async fn get_contact_with_links(
        &self,
        project_id: &str,
        contact_id: &str,
    ) -> Result<Option<(Contact, Vec<Link>)>, StoreError> {
        let mut contact = None;
        let mut links = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client()
                .query()
                .table_name(self.table())
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(
                    ":pk",
                    AttributeValue::S(keys::contact_collection(project_id, contact_id)),
                )
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in output.items.unwrap_or_default() {
                let is_link = item
                    .get(keys::SK)
                    .and_then(|sk| sk.as_s().ok())
                    .is_some_and(|sk| sk.starts_with(keys::LINK_PREFIX));
                if is_link {
                    links.push(from_item::<Link>(item)?);
                } else {
                    contact = Some(from_item::<Contact>(item)?);
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(contact.map(|contact| (contact, links)))
    }
}

impl Store {
    /// A strongly consistent read, for a change conditional on what it returns.
    pub async fn read_contact(
        &self,
        project_id: &str,
        contact_id: &str,
    ) -> Result<Option<Contact>, StoreError> {
        self.get(&keys::contact(project_id, contact_id).key, true)
            .await
    }
}
