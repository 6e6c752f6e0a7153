//! Encrypted backups, with age: how `[backup]` says to encrypt (`encrypt = "passphrase"`, the
//! passphrase from `BLOGGO_BACKUP_PASSPHRASE`; or `recipient = "age1…"`, a public key), the
//! keys to decrypt with (the passphrase, or an identity file from `--identity` or
//! `BLOGGO_BACKUP_IDENTITY`), and the writer and reader that encrypt and decrypt the gzip
//! stream. An encrypted backup is `bloggo-ID.sqlite.gz.age`; its sidecar says how it was
//! encrypted (`sidecar::Encryption`).

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::SecretString;
use thiserror::Error;

use super::sidecar::Encryption;
use crate::config::BackupConfig;

/// The environment variable holding the backup passphrase (never the config file).
pub const PASSPHRASE_ENV: &str = "BLOGGO_BACKUP_PASSPHRASE";
/// The environment variable naming an age identity file, for backups encrypted to a recipient.
pub const IDENTITY_ENV: &str = "BLOGGO_BACKUP_IDENTITY";

/// Why a backup cannot be encrypted or decrypted; each names the backup and what to supply.
#[derive(Debug, Error)]
pub enum CryptError {
    #[error("[backup] encrypt = {0:?}: the only value is \"passphrase\" (its passphrase in ${PASSPHRASE_ENV}); to encrypt to a public key set `recipient = \"age1…\"` instead")]
    UnknownMethod(String),
    #[error("[backup] sets both encrypt and recipient: choose one (a passphrase, or a recipient's public key)")]
    BothMethods,
    #[error("[backup] recipient = {0:?} is not an age public key (age1… or age1pq1…)")]
    BadRecipient(String),
    #[error("{what} is encrypted with a passphrase: set ${PASSPHRASE_ENV} to it")]
    NoPassphrase { what: String },
    #[error("{what}: the passphrase in ${PASSPHRASE_ENV} does not decrypt it; set it to the passphrase the backup was taken with")]
    WrongPassphrase { what: String },
    #[error("{what} is encrypted to {recipient}: pass --identity FILE or set ${IDENTITY_ENV} to the age identity (secret key) file of that recipient")]
    NoIdentity { what: String, recipient: String },
    #[error("{what}: the identity in {} does not decrypt it (it is encrypted to {recipient}); supply the identity file of that recipient with --identity FILE or ${IDENTITY_ENV}", .identity.display())]
    WrongIdentity {
        what: String,
        recipient: String,
        identity: PathBuf,
    },
    #[error("{}: cannot read the age identity file: {reason}", .identity.display())]
    BadIdentity { identity: PathBuf, reason: String },
    #[error("{what}: not a readable age file ({reason})")]
    Damaged { what: String, reason: String },
}

/// How new backups are encrypted, from `[backup]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    None,
    Passphrase,
    /// The recipient's public key, as written.
    Recipient(String),
}

impl Method {
    /// Checks `[backup] encrypt` and `recipient` (the passphrase itself is not needed here).
    pub fn of(config: &BackupConfig) -> Result<Method, CryptError> {
        match (config.encrypt.as_deref(), config.recipient.as_deref()) {
            (Some(_), Some(_)) => Err(CryptError::BothMethods),
            (Some("passphrase"), None) => Ok(Method::Passphrase),
            (Some(other), None) => Err(CryptError::UnknownMethod(other.to_string())),
            (None, Some(r)) => {
                recipient(r)?;
                Ok(Method::Recipient(r.trim().to_string()))
            }
            (None, None) => Ok(Method::None),
        }
    }

    /// What the sidecar records.
    pub fn sidecar(&self) -> Option<Encryption> {
        match self {
            Method::None => None,
            Method::Passphrase => Some(Encryption::Passphrase),
            Method::Recipient(r) => Some(Encryption::Recipient {
                recipient: r.clone(),
            }),
        }
    }
}

/// An age recipient from its public key: post-quantum (`age1pq1…`) or classic X25519 (`age1…`).
fn recipient(key: &str) -> Result<Box<dyn age::Recipient>, CryptError> {
    let key = key.trim();
    if let Ok(r) = age::pq::Recipient::from_str(key) {
        return Ok(Box::new(r));
    }
    // Classic keys are what `age-keygen` has printed for years: still accepted.
    #[allow(deprecated)]
    let classic = age::x25519::Recipient::from_str(key);
    classic
        .map(|r| Box::new(r) as Box<dyn age::Recipient>)
        .map_err(|_| CryptError::BadRecipient(key.to_string()))
}

/// The keys at hand to decrypt backups.
#[derive(Default)]
pub struct Keys {
    pub passphrase: Option<SecretString>,
    /// An age identity file.
    pub identity: Option<PathBuf>,
}

impl Keys {
    /// `BLOGGO_BACKUP_PASSPHRASE`, and the identity file `identity` (`--identity`), else
    /// `BLOGGO_BACKUP_IDENTITY`.
    pub fn from_env(identity: Option<PathBuf>) -> Keys {
        let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        Keys {
            passphrase: var(PASSPHRASE_ENV).map(SecretString::from),
            identity: identity.or_else(|| var(IDENTITY_ENV).map(PathBuf::from)),
        }
    }

    /// Can decrypt backups encrypted this way (a key of the right kind is at hand).
    pub fn can_decrypt(&self, how: &Encryption) -> bool {
        match how {
            Encryption::Passphrase => self.passphrase.is_some(),
            Encryption::Recipient { .. } => self.identity.is_some(),
        }
    }
}

/// Wraps `out` so what is written to it is encrypted as `method` says (the passphrase from
/// `keys`); `None` for no encryption. `what` names the backup in errors.
pub fn encrypting<W: Write>(
    method: &Method,
    keys: &Keys,
    what: &str,
    out: W,
) -> Result<Sink<W>, anyhow::Error> {
    let encryptor = match method {
        Method::None => return Ok(Sink::Plain(out)),
        Method::Passphrase => {
            let pass = keys.passphrase.clone().ok_or(CryptError::NoPassphrase {
                what: format!(
                    "{what} is to be encrypted (`[backup] encrypt = \"passphrase\"`), so it"
                ),
            })?;
            age::Encryptor::with_user_passphrase(pass)
        }
        Method::Recipient(key) => {
            let r = recipient(key)?;
            age::Encryptor::with_recipients(std::iter::once(r.as_ref()))?
        }
    };
    Ok(Sink::Age(encryptor.wrap_output(out)?))
}

/// The writer under the gzip stream: plain, or age-encrypted.
pub enum Sink<W: Write> {
    Plain(W),
    Age(age::stream::StreamWriter<W>),
}

impl<W: Write> Sink<W> {
    /// Ends the age stream (its last chunk and tag) and gives the writer back.
    pub fn finish(self) -> std::io::Result<W> {
        match self {
            Sink::Plain(w) => Ok(w),
            Sink::Age(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Age(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Age(w) => w.flush(),
        }
    }
}

/// The plaintext (gzip) stream of a stored backup: `input` itself when `how` is `None`, else
/// decrypted with `keys`. `what` names the backup in errors.
pub fn decrypting<'a, R: BufRead + 'a>(
    how: Option<&Encryption>,
    keys: &Keys,
    what: &str,
    input: R,
) -> Result<Box<dyn Read + 'a>, CryptError> {
    let Some(how) = how else {
        return Ok(Box::new(input));
    };
    let damaged = |e: age::DecryptError| CryptError::Damaged {
        what: what.to_string(),
        reason: e.to_string(),
    };
    let decryptor = age::Decryptor::new_buffered(input).map_err(damaged)?;
    let reader = match how {
        Encryption::Passphrase => {
            let pass = keys.passphrase.clone().ok_or(CryptError::NoPassphrase {
                what: what.to_string(),
            })?;
            let identity = age::scrypt::Identity::new(pass);
            decryptor
                .decrypt(std::iter::once(&identity as &dyn age::Identity))
                .map_err(|e| match e {
                    age::DecryptError::DecryptionFailed
                    | age::DecryptError::KeyDecryptionFailed
                    | age::DecryptError::NoMatchingKeys => CryptError::WrongPassphrase {
                        what: what.to_string(),
                    },
                    e => damaged(e),
                })?
        }
        Encryption::Recipient { recipient } => {
            let path = keys.identity.clone().ok_or(CryptError::NoIdentity {
                what: what.to_string(),
                recipient: recipient.clone(),
            })?;
            let identities = identities(&path)?;
            decryptor
                .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
                .map_err(|e| match e {
                    age::DecryptError::NoMatchingKeys
                    | age::DecryptError::DecryptionFailed
                    | age::DecryptError::KeyDecryptionFailed => CryptError::WrongIdentity {
                        what: what.to_string(),
                        recipient: recipient.clone(),
                        identity: path.clone(),
                    },
                    e => damaged(e),
                })?
        }
    };
    Ok(Box::new(reader))
}

fn identities(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>, CryptError> {
    let bad = |reason: String| CryptError::BadIdentity {
        identity: path.to_path_buf(),
        reason,
    };
    age::IdentityFile::from_file(path.to_string_lossy().into_owned())
        .map_err(|e| bad(e.to_string()))?
        .into_identities()
        .map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn config(encrypt: Option<&str>, recipient: Option<&str>) -> BackupConfig {
        BackupConfig {
            encrypt: encrypt.map(str::to_string),
            recipient: recipient.map(str::to_string),
            ..BackupConfig::default()
        }
    }

    #[test]
    fn the_method_comes_from_encrypt_or_recipient_never_both() {
        let pq = age::pq::Identity::generate().to_public().to_string();
        assert_eq!(Method::of(&config(None, None)).unwrap(), Method::None);
        assert_eq!(
            Method::of(&config(Some("passphrase"), None)).unwrap(),
            Method::Passphrase
        );
        assert_eq!(
            Method::of(&config(None, Some(&pq))).unwrap(),
            Method::Recipient(pq.clone())
        );
        #[allow(deprecated)]
        let classic = age::x25519::Identity::generate().to_public().to_string();
        assert!(Method::of(&config(None, Some(&classic))).is_ok());
        assert!(matches!(
            Method::of(&config(Some("passphrase"), Some(&pq))),
            Err(CryptError::BothMethods)
        ));
        assert!(matches!(
            Method::of(&config(Some("hunter2"), None)),
            Err(CryptError::UnknownMethod(_))
        ));
        assert!(matches!(
            Method::of(&config(None, Some("age1nope"))),
            Err(CryptError::BadRecipient(_))
        ));
    }

    fn seal(method: &Method, keys: &Keys, data: &[u8]) -> Vec<u8> {
        let mut sink = encrypting(method, keys, "test", Vec::new()).unwrap();
        sink.write_all(data).unwrap();
        sink.finish().unwrap()
    }

    fn open(how: &Encryption, keys: &Keys, sealed: &[u8]) -> Result<Vec<u8>, CryptError> {
        let mut r = decrypting(Some(how), keys, "backup X", sealed)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        Ok(out)
    }

    #[test]
    fn a_recipient_round_trip_needs_its_identity() {
        let dir = tempfile::tempdir().unwrap();
        let id = age::pq::Identity::generate();
        let file = dir.path().join("key.txt");
        std::fs::write(&file, format!("{}\n", id.to_string().expose_secret())).unwrap();
        let other = dir.path().join("other.txt");
        let other_id = age::pq::Identity::generate();
        std::fs::write(&other, other_id.to_string().expose_secret()).unwrap();
        let method = Method::Recipient(id.to_public().to_string());
        let how = method.sidecar().unwrap();
        let sealed = seal(&method, &Keys::default(), b"the database");
        assert_ne!(&sealed[..], b"the database");
        let keys = Keys {
            identity: Some(file),
            ..Keys::default()
        };
        assert_eq!(open(&how, &keys, &sealed).unwrap(), b"the database");
        let e = open(&how, &Keys::default(), &sealed).unwrap_err();
        assert!(matches!(e, CryptError::NoIdentity { .. }), "{e}");
        assert!(e.to_string().contains("--identity FILE"), "{e}");
        let wrong = Keys {
            identity: Some(other),
            ..Keys::default()
        };
        let e = open(&how, &wrong, &sealed).unwrap_err();
        assert!(matches!(e, CryptError::WrongIdentity { .. }), "{e}");
        assert!(e.to_string().starts_with("backup X: "), "{e}");
    }
}
