//! HQ's tokens: what a runner or a user presents, and how HQ keeps them.
//!
//! A token is `agentd_hq_<kind>_<64 hex>` (kind `runner` or `user`): the
//! prefix tells a person which is which; only its BLAKE3 hash is stored,
//! and the first 12 hex of that hash are its id (what `token list` shows
//! and `token revoke` takes).

use std::fmt;

/// What a token lets its holder be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A runner, by name: may only send its own log.
    Runner(String),
    /// A person, by name, with a role.
    User {
        /// The user's name.
        name: String,
        /// What they may do.
        role: Role,
    },
}

/// A user's role; each includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read everything.
    Viewer,
    /// Also decide approvals.
    Approver,
    /// Also terminals, launch, kill.
    Operator,
    /// Also tokens.
    Admin,
}

impl Role {
    /// Every role, weakest first.
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Approver, Role::Operator, Role::Admin];

    /// Its name (`viewer`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Approver => "approver",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The role named `s`.
    ///
    /// # Errors
    /// Names the roles there are.
    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}: use viewer, approver, operator or admin"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new secret for `kind` (`runner` or `user`).
///
/// # Errors
/// When the OS has no randomness to give.
pub fn new_secret(kind: &str) -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(format!("agentd_hq_{kind}_{}", hex(&bytes)))
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> [u8; 32] {
    *blake3::hash(secret.as_bytes()).as_bytes()
}

/// A token's id: the first 12 hex of its hash.
pub fn id_of(hash: &[u8; 32]) -> String {
    hex(&hash[..6])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a runner name: what a person types and HQ shows, so printable
/// and short.
///
/// # Errors
/// Says what is allowed.
/// The name of a runner token made without one: the first runner to link
/// with it names it (by its host name) and the token is bound to that name
/// from then on. Never a valid name itself.
pub const UNBOUND_RUNNER: &str = "*";

/// Checks the name a new token is made for (`principal`'s): a valid name,
/// or [`UNBOUND_RUNNER`] for a runner token.
///
/// # Errors
/// What is wrong with it.
pub fn check_new(principal: &Principal) -> Result<(), String> {
    match principal {
        Principal::Runner(n) if n == UNBOUND_RUNNER => Ok(()),
        Principal::Runner(name) | Principal::User { name, .. } => check_name(name),
    }
}

/// Checks a runner or user name.
///
/// # Errors
/// What is wrong with it.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad name {name:?}: use 1–64 of A–Z, a–z, 0–9, '-', '_', '.'"
        ))
    }
}

/// A stored token's principal from its `kind`, `name` and `role` columns
/// (`None`: a role this version does not know).
pub fn principal_of(kind: &str, name: String, role: Option<&str>) -> Option<Principal> {
    Some(match kind {
        "runner" => Principal::Runner(name),
        _ => Principal::User {
            name,
            role: Role::parse(role.unwrap_or("viewer")).ok()?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_distinct_and_hash_to_stable_ids() {
        let a = new_secret("runner").unwrap();
        let b = new_secret("runner").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("agentd_hq_runner_") && a.len() == 17 + 64);
        assert_eq!(id_of(&hash(&a)), id_of(&hash(&a)));
        assert_eq!(id_of(&hash(&a)).len(), 12);
    }

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Viewer < Role::Approver && Role::Operator < Role::Admin);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert!(Role::parse("root").unwrap_err().contains("viewer"));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("build-box.2").is_ok());
        for bad in ["", "a b", "x/y", "\u{1b}[2J", &"n".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
