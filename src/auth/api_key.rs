//! API key material: generation, hashing and the display prefix.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// Length of a plaintext API key, in characters.
pub const KEY_LENGTH: usize = 64;
/// Characters kept in clear as the key's display prefix.
pub const PREFIX_LENGTH: usize = 8;
/// Longest allowed key lifetime, in days.
pub const MAX_EXPIRY_DAYS: u32 = 365;

/// A freshly generated key: the plaintext (shown once) with its stored hash and prefix.
pub struct GeneratedKey {
    /// 64 base62 characters; never stored.
    pub plaintext: String,
    /// Hex SHA-256 of the plaintext; the only form stored.
    pub hash: String,
    /// First 8 characters, for display.
    pub prefix: String,
}

/// Draws a new key from the thread's CSPRNG (ChaCha, reseeded from the OS).
#[must_use]
pub fn generate() -> GeneratedKey {
    let plaintext: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(KEY_LENGTH)
        .map(char::from)
        .collect();
    GeneratedKey {
        hash: hash(&plaintext),
        prefix: plaintext[..PREFIX_LENGTH].to_owned(),
        plaintext,
    }
}

/// The stored form of a key or token: lowercase hex SHA-256.
#[must_use]
pub fn hash(plaintext: &str) -> String {
    hex::encode(Sha256::digest(plaintext.as_bytes()))
}

/// True when the text has the shape of one of our keys (64 base62 characters).
#[must_use]
pub fn looks_like_key(text: &str) -> bool {
    text.len() == KEY_LENGTH && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_64_base62_characters_and_distinct() {
        let a = generate();
        let b = generate();
        assert!(looks_like_key(&a.plaintext));
        assert_ne!(a.plaintext, b.plaintext);
        assert_eq!(a.prefix, a.plaintext[..8]);
        assert_eq!(a.hash, hash(&a.plaintext));
        assert_eq!(a.hash.len(), 64);
    }

    #[test]
    fn keys_use_digits_as_well_as_letters() {
        let digits = (0..20)
            .flat_map(|_| generate().plaintext.into_bytes())
            .filter(u8::is_ascii_digit)
            .count();
        assert!(digits > 0, "base62 includes digits");
    }

    #[test]
    fn malformed_keys_are_recognised() {
        assert!(!looks_like_key("short"));
        assert!(!looks_like_key(&"a".repeat(63)));
        assert!(!looks_like_key(&format!("{}!", "a".repeat(63))));
    }
}
