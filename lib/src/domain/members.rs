//! The team of a project: who is a member, with which role. Owners and
//! admins manage it; only an owner makes, changes or removes an owner; and a
//! project always keeps an owner. Each attempt reads the acting user's and
//! the target's membership (consistently) and commits only while what it
//! was decided on still holds: both roles as read and, when an owner is
//! demoted or removed, that another member read as an owner still is one
//! (a condition check on that member's item). Two owners demoting each
//! other at once cannot both commit: each transaction checks the item the
//! other writes; the loser re-reads and finds it may no longer act.

use crate::auth::{self, Access, Membership};
use crate::clock::Timestamp;
use crate::error::ApiError;
use crate::model::{Member, Role};
use crate::store::keys::{self, Item};
use crate::store::lists::Source;
use crate::store::write::{ItemWrite, WriteSet};
use crate::store::{Page, Store, changes};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;

pub fn not_found() -> ApiError {
    ApiError::not_found("member_not_found", "no such member of this project")
}

fn owners_only() -> ApiError {
    ApiError::forbidden("only an owner can make, change or remove an owner")
}

fn last_owner() -> ApiError {
    ApiError::conflict(
        "last_owner",
        "a project keeps at least one owner; make another member owner first",
    )
}

/// Where a project's members are: its partition, sort keys `MEMBER#…`.
fn members_of(project_id: &str) -> Source {
    Source::Collection {
        partition: keys::project(project_id).key.pk,
        prefix: keys::MEMBER_PREFIX,
    }
}

/// A page of the project's members, by user id.
pub async fn page(
    store: &Store,
    project_id: &str,
    limit: i32,
    start: Option<Item>,
) -> Result<Page<Member>, ApiError> {
    Ok(store
        .page(&members_of(project_id), limit, start, false)
        .await?)
}

/// What a put did.
pub enum Put {
    Added(Member),
    Changed(Member),
    Unchanged(Member),
}

/// Adds `user_id` with `role`, or changes its role.
pub async fn put(
    store: &Store,
    project_id: &str,
    acting_user: &str,
    user_id: &str,
    role: Role,
) -> Result<Put, ApiError> {
    super::until_committed(|| async {
        let acting = &auth::membership_in(store, acting_user, project_id, Access::Manage).await?;
        let current = store
            .get::<Member>(&keys::member(project_id, user_id).key)
            .await?;
        let owner_involved = role == Role::Owner || current.as_ref().is_some_and(is_owner);
        allowed(acting, owner_involved)?;
        let mut checks = Checks::acting(acting, user_id);
        let (write, done) = match current {
            Some(member) if member.role == role => return Ok(Some(Put::Unchanged(member))),
            Some(member) => {
                if is_owner(&member) {
                    checks.another_owner(store, project_id, user_id).await?;
                }
                let mut write = ItemWrite::update(keys::member(project_id, user_id).key);
                write
                    .set("role", role_value(role))
                    .require_equals("role", role_value(member.role));
                (write, Put::Changed(Member { role, ..member }))
            }
            None => {
                let member = Member {
                    project_id: project_id.to_owned(),
                    user_id: user_id.to_owned(),
                    role,
                    created_at: Timestamp::now(),
                };
                (changes::create(&member)?, Put::Added(member))
            }
        };
        let mut writes = checks.into_writes(project_id);
        writes.push(TARGET, write);
        Ok(store.commit(writes).await?.is_ok().then_some(done))
    })
    .await
}

/// Removes `user_id` from the project.
pub async fn remove(
    store: &Store,
    project_id: &str,
    acting_user: &str,
    user_id: &str,
) -> Result<(), ApiError> {
    super::until_committed(|| async {
        let acting = &auth::membership_in(store, acting_user, project_id, Access::Manage).await?;
        let key = keys::member(project_id, user_id).key;
        let member = store.get::<Member>(&key).await?.ok_or_else(not_found)?;
        allowed(acting, is_owner(&member))?;
        let mut checks = Checks::acting(acting, user_id);
        if is_owner(&member) {
            checks.another_owner(store, project_id, user_id).await?;
        }
        let mut write = ItemWrite::delete(key);
        write.require_equals("role", role_value(member.role));
        let mut writes = checks.into_writes(project_id);
        writes.push(TARGET, write);
        Ok(store.commit(writes).await?.is_ok().then_some(()))
    })
    .await
}

/// The tag of the member write a change makes.
const TARGET: usize = 0;

fn is_owner(member: &Member) -> bool {
    member.role == Role::Owner
}

/// Touching an owner needs an owner (managing at all, owner or admin:
/// checked as the membership is read).
fn allowed(acting: &Membership, owner_involved: bool) -> Result<(), ApiError> {
    if owner_involved && acting.member.role != Role::Owner {
        return Err(owners_only());
    }
    Ok(())
}

fn role_value(role: Role) -> AttributeValue {
    match serde_json::to_value(role) {
        Ok(serde_json::Value::String(name)) => AttributeValue::S(name),
        _ => unreachable!("roles serialise as strings"),
    }
}

/// Members whose role, as read, a change depends on (other than its target).
struct Checks(BTreeMap<String, Role>);

impl Checks {
    /// The acting user's role, unless the acting user is the target (whose
    /// own write is conditioned on its role).
    fn acting(acting: &Membership, target: &str) -> Self {
        let mut roles = BTreeMap::new();
        if acting.member.user_id != target {
            roles.insert(acting.member.user_id.clone(), acting.member.role);
        }
        Checks(roles)
    }

    /// Another member than `target` who is an owner, read consistently;
    /// `409 last_owner` when there is none.
    async fn another_owner(
        &mut self,
        store: &Store,
        project_id: &str,
        target: &str,
    ) -> Result<(), ApiError> {
        if self
            .0
            .iter()
            .any(|(user, role)| user != target && *role == Role::Owner)
        {
            return Ok(());
        }
        let mut start = None;
        loop {
            let found = page(store, project_id, 100, start).await?;
            if let Some(owner) = found
                .items
                .into_iter()
                .find(|m| m.user_id != target && is_owner(m))
            {
                self.0.insert(owner.user_id, Role::Owner);
                return Ok(());
            }
            start = found.last_key;
            if start.is_none() {
                return Err(last_owner());
            }
        }
    }

    /// The checks, tagged 1…; the change itself goes in as [`TARGET`].
    fn into_writes(self, project_id: &str) -> WriteSet<usize> {
        let mut writes = WriteSet::default();
        for (n, (user, role)) in self.0.into_iter().enumerate() {
            let mut check = ItemWrite::check_exists(keys::member(project_id, &user).key);
            check.require_equals("role", role_value(role));
            writes.push(n + 1, check);
        }
        writes
    }
}
