//! Generated ids: a kind prefix and a ULID (SPEC §7), e.g. `ct_01JD3…`.
//! Ids that go into keys are checked with [`is_valid`] before use, which keeps
//! `#` and other separators out of the key layout (see `store::keys`).

use ulid::Ulid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Project,
    Contact,
    Company,
    Stage,
    Conversation,
    Message,
    ApiKey,
    Event,
}

impl IdKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::Project => "pr_",
            IdKind::Contact => "ct_",
            IdKind::Company => "co_",
            IdKind::Stage => "stg_",
            IdKind::Conversation => "cv_",
            IdKind::Message => "msg_",
            IdKind::ApiKey => "key_",
            IdKind::Event => "evt_",
        }
    }
}

pub fn new_id(kind: IdKind) -> String {
    format!("{}{}", kind.prefix(), Ulid::new())
}

/// True when `id` is `kind`'s prefix followed by a canonical ULID.
pub fn is_valid(kind: IdKind, id: &str) -> bool {
    id.strip_prefix(kind.prefix())
        .is_some_and(|rest| rest.len() == 26 && Ulid::from_string(rest).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_for_their_kind_only() {
        let id = new_id(IdKind::Contact);
        assert!(id.starts_with("ct_"));
        assert!(is_valid(IdKind::Contact, &id));
        assert!(!is_valid(IdKind::Company, &id));
    }

    #[test]
    fn rejects_separators_and_wrong_length() {
        assert!(!is_valid(IdKind::Project, "pr_01JD#CT#x"));
        assert!(!is_valid(IdKind::Project, "pr_"));
        assert!(!is_valid(
            IdKind::Project,
            "pr_01JD3V0000000000000000000000"
        ));
    }
}
