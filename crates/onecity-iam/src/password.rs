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

/// A random password of `n` characters from an unambiguous alphabet, mixing upper-case
/// letters, lower-case letters and digits when `n >= 3` (so it meets a policy of up to
/// three character classes).
pub fn generate(n: usize) -> String {
    use rand::Rng;
    const ALPHA: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut r = rand::rngs::OsRng;
    loop {
        let pw: String = (0..n)
            .map(|_| ALPHA[r.gen_range(0..ALPHA.len())] as char)
            .collect();
        if n < 3 || classes(&pw) >= 3 {
            return pw;
        }
    }
}

/// Password policy: 10 to 256 characters (the floor every policy keeps).
pub fn check_policy(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(10..=256).contains(&n) {
        return Err(Error::invalid("password must be 10 to 256 characters"));
    }
    Ok(())
}

/// The password policy, configurable to the classified-protection level (GB/T 22239-2019
/// 8.1.4.1 a: identification and authentication, "口令应有复杂度要求并定期更换").
///
/// The default keeps today's rule (10 to 256 characters, not containing the username) and
/// adds nothing else; a level-3 (三级) system would set `min_length = 12`,
/// `min_classes = 3`, `history = 5`, `max_age_days = 90`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values); at least 10, at most 256 (default 10).
    pub min_length: usize,
    /// How many of the four character classes (upper-case, lower-case, digits, other)
    /// a password must mix, 0 to 4 (default 0).
    pub min_classes: u8,
    /// A new password must differ from this many previous ones (default 0 = no history).
    pub history: u32,
    /// A password older than this many days must be changed before signing in (403
    /// `password_expired`); 0 = never expires (default).
    pub max_age_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 10,
            min_classes: 0,
            history: 0,
            max_age_days: 0,
        }
    }
}

/// How many character classes (upper, lower, digit, other) `password` uses.
pub fn classes(password: &str) -> u8 {
    let mut c = [false; 4];
    for ch in password.chars() {
        let i = if ch.is_uppercase() {
            0
        } else if ch.is_lowercase() {
            1
        } else if ch.is_numeric() {
            2
        } else {
            3
        };
        c[i] = true;
    }
    c.iter().filter(|x| **x).count() as u8
}

impl PasswordPolicy {
    /// Checks a new password for `username` (history is checked by the caller, against
    /// stored hashes). Errors: 422 `password_policy` naming the rule broken.
    pub fn check(&self, password: &str, username: &str) -> Result<()> {
        use onecity_core::ErrorCode;
        let refuse = |why: String| Error::new(ErrorCode::PasswordPolicy, why);
        let n = password.chars().count();
        let min = self.min_length.clamp(10, 256);
        if n < min || n > 256 {
            return Err(refuse(format!(
                "password must be {min} to 256 characters (密码长度应为 {min} 至 256 个字符)"
            )));
        }
        let need = self.min_classes.min(4);
        if classes(password) < need {
            return Err(refuse(format!(
                "password must mix at least {need} of: upper-case letters, lower-case letters,                  digits, other characters (密码应至少包含 {need} 类字符)"
            )));
        }
        let user = username.to_lowercase();
        if user.chars().count() >= 3 && password.to_lowercase().contains(&user) {
            return Err(refuse(
                "password must not contain the username (密码不得包含用户名)".into(),
            ));
        }
        Ok(())
    }
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
        assert!((0..200).all(|_| super::classes(&super::generate(10)) == 3));
    }

    #[test]
    fn policy_refusals_name_the_rule() {
        let level3 = super::PasswordPolicy {
            min_length: 12,
            min_classes: 3,
            history: 5,
            max_age_days: 90,
        };
        let code = |r: onecity_core::Result<()>| r.unwrap_err().code.code();
        assert_eq!(code(level3.check("Short1!", "zhang")), "password_policy");
        assert_eq!(
            code(level3.check("alllowercaseletters", "zhang")),
            "password_policy"
        );
        assert_eq!(
            code(level3.check("Zhang.San-2024x", "zhang")),
            "password_policy"
        );
        assert!(level3.check("Correct-Horse-42", "zhang").is_ok());
        assert_eq!(super::classes("aA1!"), 4);
        assert_eq!(super::classes("密码abc"), 2);
        // The default policy keeps the old rule: 10 characters, any classes.
        assert!(super::PasswordPolicy::default()
            .check("abcdefghij", "zhang")
            .is_ok());
    }
}
