//! Password hashing with argon2id (RFC 9106), stored as PHC strings so the parameters travel
//! with each hash and can be raised later without invalidating old ones.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore as _;

/// Longest password accepted. argon2 itself takes any length; the bound keeps a hostile login
/// body from costing more than a normal one.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Shortest password accepted when one is set (login checks never reveal this rule).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Why a password cannot be set or checked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    /// Shorter than [`MIN_PASSWORD_CHARS`].
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// Longer than [`MAX_PASSWORD_BYTES`].
    #[error("the password must have at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    /// The cost parameters are out of argon2's range.
    #[error("invalid argon2 parameters: {0}")]
    Parameters(String),
    /// A stored hash that is not an argon2 PHC string (corrupt row or foreign format).
    #[error("the stored password hash is not a valid argon2 PHC string")]
    CorruptHash,
}

/// argon2id cost parameters.
///
/// The default is OWASP's recommended minimum for argon2id (19 MiB, 2 passes, 1 lane): about
/// 20–40 ms per check on one core of a 2020s server, which is what makes a stolen hash slow to
/// attack and a login flood slow to serve — the server throttles logins for the latter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordCost {
    fn hasher(&self) -> Result<Argon2<'static>, PasswordError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| PasswordError::Parameters(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Checks the length rules for a new password.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    Ok(())
}

/// Hashes a new password (after [`check_new_password`]) with a fresh 16-byte random salt.
pub fn hash_password(password: &str, cost: &PasswordCost) -> Result<String, PasswordError> {
    check_new_password(password)?;
    let mut salt = [0_u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| PasswordError::Parameters(e.to_string()))?;
    let hash = cost
        .hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::Parameters(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC `hash`. Over-long input is a mismatch, not an
/// error, so the answer to a login attempt never depends on which rule failed.
pub fn verify_password(password: &str, hash: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(hash).map_err(|_| PasswordError::CorruptHash)?;
    if parsed.algorithm != argon2::ARGON2ID_IDENT {
        return Err(PasswordError::CorruptHash);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(false);
    }
    // The parameters come from the hash itself, so old hashes keep verifying after the
    // configured cost changes.
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// Whether a stored hash was made with weaker parameters than `cost` and should be replaced
/// at the next successful login.
pub fn needs_rehash(hash: &str, cost: &PasswordCost) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    params.m_cost() < cost.memory_kib
        || params.t_cost() < cost.iterations
        || params.p_cost() < cost.parallelism
}

/// Spends the same time as checking a real hash, for logins naming an unknown user: the
/// response time must not tell an attacker which user names exist.
pub fn burn_verification_time(password: &str, cost: &PasswordCost) {
    const DUMMY_SALT: &str = "cGhhcm9zLWR1bW15LXNhbHQ";
    if let (Ok(hasher), Ok(salt)) = (cost.hasher(), SaltString::from_b64(DUMMY_SALT)) {
        let bounded = &password.as_bytes()[..password.len().min(MAX_PASSWORD_BYTES)];
        let _ = hasher.hash_password(bounded, &salt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters keep the tests fast; the algorithm is the same.
    const CHEAP: PasswordCost = PasswordCost {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() -> Result<(), PasswordError> {
        let hash = hash_password("correct horse battery", &CHEAP)?;
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash)?);
        assert!(!verify_password("correct horse batterY", &hash)?);
        assert!(!verify_password("", &hash)?);
        Ok(())
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_salt() -> Result<(), PasswordError> {
        let first = hash_password("same password", &CHEAP)?;
        let second = hash_password("same password", &CHEAP)?;
        assert_ne!(first, second);
        assert!(verify_password("same password", &second)?);
        Ok(())
    }

    #[test]
    fn length_rules() {
        assert_eq!(hash_password("short", &CHEAP), Err(PasswordError::TooShort));
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert_eq!(hash_password(&long, &CHEAP), Err(PasswordError::TooLong));
        // Characters, not bytes: eight accented letters are enough.
        assert!(check_new_password("éééééééé").is_ok());
    }

    #[test]
    fn over_long_login_input_is_a_plain_mismatch() -> Result<(), PasswordError> {
        let hash = hash_password("a fine password", &CHEAP)?;
        let long = "a".repeat(MAX_PASSWORD_BYTES * 10);
        assert_eq!(verify_password(&long, &hash), Ok(false));
        Ok(())
    }

    #[test]
    fn foreign_or_corrupt_hashes_are_errors() {
        assert_eq!(
            verify_password("x", "not a hash"),
            Err(PasswordError::CorruptHash)
        );
        // A bcrypt hash (what Perses stores) is not silently accepted or compared.
        let bcrypt = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
        assert_eq!(
            verify_password("x", bcrypt),
            Err(PasswordError::CorruptHash)
        );
    }

    #[test]
    fn weaker_hashes_ask_for_a_rehash() -> Result<(), PasswordError> {
        let cheap = hash_password("password one", &CHEAP)?;
        assert!(needs_rehash(&cheap, &PasswordCost::default()));
        assert!(!needs_rehash(&cheap, &CHEAP));
        assert!(needs_rehash("garbage", &CHEAP));
        Ok(())
    }
}
