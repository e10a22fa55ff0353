//! `sslclientcert` / `sslclientkey`: reading the client certificate and
//! its private key when the config is read, so that a missing file, a
//! file without the expected PEM block or a key that does not fit the
//! certificate stops the run before any connection is made.
//!
//! As with OfflineIMAP (Python's `load_cert_chain`), the key may sit in
//! the certificate file when `sslclientkey` is not given. The key is
//! handed on as PKCS#8, the one form native-tls takes; the PKCS#1
//! (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) keys older OpenSSL
//! versions wrote are converted.

use std::path::{Path, PathBuf};

use super::{ClientCert, Secret};

/// Which option a problem belongs to, and the one-line message.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Problem {
    pub option: &'static str,
    pub message: String,
}

fn problem(option: &'static str, message: String) -> Problem {
    Problem { option, message }
}

/// Reads and checks `cert_file` (and `key_file`, else the key from
/// `cert_file`).
pub(super) fn load(cert_file: &Path, key_file: Option<&Path>) -> Result<ClientCert, Problem> {
    let cert_text = std::fs::read(cert_file).map_err(|e| {
        problem(
            "sslclientcert",
            format!("cannot read {}: {e}", cert_file.display()),
        )
    })?;
    let certs = pem_blocks(&cert_text, |label| label == "CERTIFICATE");
    if certs.is_empty() {
        return Err(problem(
            "sslclientcert",
            format!("no PEM certificate in {}", cert_file.display()),
        ));
    }
    let cert_pem = certs.concat();

    let (key_option, key_path, key_text) = match key_file {
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| {
                problem(
                    "sslclientkey",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            ("sslclientkey", path, text)
        }
        None => ("sslclientcert", cert_file, cert_text.clone()),
    };
    let fail = |message: String| problem(key_option, message);
    let keys = pem_blocks(&key_text, |label| label.ends_with("PRIVATE KEY"));
    let Some(key) = keys.first() else {
        let hint = if key_file.is_none() {
            " (give the key file with sslclientkey)"
        } else {
            ""
        };
        return Err(fail(format!(
            "no PEM private key in {}{hint}",
            key_path.display()
        )));
    };
    if key.starts_with(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || find(key, b"Proc-Type: 4,ENCRYPTED").is_some()
    {
        return Err(fail(format!(
            "the private key in {} is protected by a passphrase, which this version cannot ask for; write it out unprotected (openssl pkey -in KEY -out NEWKEY) into a file only you can read",
            key_path.display()
        )));
    }
    let pkcs8 = openssl::pkey::PKey::private_key_from_pem(key)
        .and_then(|k| k.private_key_to_pem_pkcs8())
        .map_err(|e| {
            fail(format!(
                "unreadable private key in {}: {}",
                key_path.display(),
                one_line(&e.to_string())
            ))
        })?;
    // Building a connector with the identity is what checks that the key
    // belongs to the certificate.
    native_tls::Identity::from_pkcs8(&cert_pem, &pkcs8)
        .and_then(|id| native_tls::TlsConnector::builder().identity(id).build())
        .map_err(|e| {
            fail(format!(
                "the private key in {} does not go with the certificate in {}: {}",
                key_path.display(),
                cert_file.display(),
                one_line(&e.to_string())
            ))
        })?;
    let key_pem = String::from_utf8(pkcs8).map_err(|_| {
        fail(format!(
            "unreadable private key in {}: not PEM text",
            key_path.display()
        ))
    })?;
    Ok(ClientCert {
        cert_file: cert_file.to_path_buf(),
        key_file: PathBuf::from(key_path),
        cert_pem,
        key_pem: Secret::new(key_pem),
    })
}

/// The PEM blocks (`-----BEGIN L-----` to `-----END L-----`, both lines
/// included, newline-terminated) whose label L passes `wanted`.
fn pem_blocks(text: &[u8], wanted: impl Fn(&str) -> bool) -> Vec<Vec<u8>> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let Some(label_end) = find(after, b"-----") else {
            break;
        };
        let label = String::from_utf8_lossy(&after[..label_end]).into_owned();
        let end_line = format!("-----END {label}-----");
        let Some(end_rel) = find(&rest[start..], end_line.as_bytes()) else {
            break;
        };
        let end = start + end_rel + end_line.len();
        if wanted(&label) {
            let mut block = rest[start..end].to_vec();
            block.push(b'\n');
            out.push(block);
        }
        rest = &rest[end..];
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A self-signed certificate and its key, made by the openssl CLI;
    /// `rsa_traditional` writes the key as PKCS#1.
    fn make(dir: &Path, rsa_traditional: bool) -> (PathBuf, PathBuf) {
        let cert = dir.join("c.pem");
        let key = dir.join("k.pem");
        let ok = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=client"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .unwrap();
        assert!(ok.status.success(), "{ok:?}");
        if rsa_traditional {
            let ok = Command::new("openssl")
                .args(["rsa", "-traditional", "-in"])
                .arg(&key)
                .arg("-out")
                .arg(&key)
                .output()
                .unwrap();
            assert!(ok.status.success(), "{ok:?}");
        }
        (cert, key)
    }

    #[test]
    fn separate_files_load_and_the_key_becomes_pkcs8() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = make(dir.path(), true);
        assert!(
            std::fs::read_to_string(&key)
                .unwrap()
                .contains("BEGIN RSA PRIVATE KEY")
        );
        let c = load(&cert, Some(&key)).unwrap();
        assert_eq!(c.key_file, key);
        assert!(
            c.key_pem
                .expose()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(c.cert_pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
        assert!(!format!("{c:?}").contains("PRIVATE KEY"), "key in Debug");
    }

    #[test]
    fn key_may_be_in_the_certificate_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = make(dir.path(), false);
        let both = dir.path().join("both.pem");
        let mut text = std::fs::read(&key).unwrap();
        text.extend(std::fs::read(&cert).unwrap());
        std::fs::write(&both, text).unwrap();
        let c = load(&both, None).unwrap();
        assert_eq!(c.key_file, both);
        // Only the certificate goes into the chain.
        assert!(!String::from_utf8_lossy(&c.cert_pem).contains("PRIVATE"));
    }

    #[test]
    fn problems_name_the_option_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = make(dir.path(), false);
        let missing = dir.path().join("nope.pem");
        let p = load(&missing, None).unwrap_err();
        assert_eq!(p.option, "sslclientcert");
        assert!(p.message.contains("nope.pem"), "{p:?}");

        let p = load(&cert, None).unwrap_err();
        assert_eq!(p.option, "sslclientcert");
        assert!(p.message.contains("no PEM private key"), "{p:?}");

        let p = load(&cert, Some(&missing)).unwrap_err();
        assert_eq!(p.option, "sslclientkey");

        let p = load(&key, Some(&key)).unwrap_err();
        assert!(p.message.contains("no PEM certificate"), "{p:?}");

        // Another key than the certificate's.
        let other = tempfile::tempdir().unwrap();
        let (_, other_key) = make(other.path(), false);
        let p = load(&cert, Some(&other_key)).unwrap_err();
        assert_eq!(p.option, "sslclientkey");
        assert!(p.message.contains("does not go with"), "{p:?}");
        assert!(!p.message.contains('\n'));
    }
}
