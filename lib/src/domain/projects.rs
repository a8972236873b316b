//! Creating projects: the caller becomes owner, the default pipeline and a fresh
//! identity-verification secret come with it.

use crate::auth::Caller;
use crate::clock::Timestamp;
use crate::error::ApiError;
use crate::ids::{IdKind, new_id};
use crate::model::{Member, Project, Role, Stage, StageUpdateMode};
use crate::store::Store;

/// SPEC §3: the stages every new project starts with, in pipeline order.
pub const DEFAULT_STAGES: [&str; 6] =
    ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"];

pub async fn create(
    store: &Store,
    owner: &Caller,
    name: String,
) -> Result<(Project, Member), ApiError> {
    let now = Timestamp::now();
    let project = Project {
        id: new_id(IdKind::Project),
        name,
        identity_secret: new_identity_secret(),
        require_identity_verification: false,
        default_stage_update_mode: StageUpdateMode::AdvanceOnly,
        allowed_origins: Vec::new(),
        stages: DEFAULT_STAGES
            .iter()
            .map(|name| Stage {
                id: new_id(IdKind::Stage),
                name: (*name).to_owned(),
            })
            .collect(),
        retired_stages: Vec::new(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let member = Member {
        project_id: project.id.clone(),
        user_id: owner.user_id.clone(),
        role: Role::Owner,
        created_at: now,
    };
    if !store.create_project(&project, &member).await? {
        return Err(ApiError::internal("project id collision"));
    }
    Ok((project, member))
}

/// 256 random bits, hex: the key customers use for `user_hash` HMACs.
pub fn new_identity_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}
