//! Password hashing with Argon2id (RFC 9106), PHC string format.
//! Parameters: 19 MiB memory, 2 iterations, 1 lane (OWASP's recommended minimum).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use onecity_core::{Error, Result};

/// Memory cost of one hash or check, in KiB (19 MiB): what one concurrent login costs.
pub const MEMORY_KIB: u32 = 19 * 1024;

fn hasher() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(MEMORY_KIB, 2, 1, None).expect("valid params"),
    )
}

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

/// Checks a password against a PHC string (constant-time comparison inside argon2).
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A random password of `n` characters from an unambiguous alphabet.
pub fn generate(n: usize) -> String {
    use rand::Rng;
    const ALPHA: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut r = rand::rngs::OsRng;
    (0..n)
        .map(|_| ALPHA[r.gen_range(0..ALPHA.len())] as char)
        .collect()
}

/// Password policy: 10 to 256 characters.
pub fn check_policy(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(10..=256).contains(&n) {
        return Err(Error::invalid("password must be 10 to 256 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_and_verify() {
        let h = super::hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(super::verify("correct horse battery", &h));
        assert!(!super::verify("wrong", &h));
        assert!(!super::verify("x", "not a phc string"));
        assert_eq!(super::generate(20).len(), 20);
    }
}
