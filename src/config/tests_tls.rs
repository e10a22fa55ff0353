//! Tests of the TLS options: `cert_fingerprint`, `ssl_version` and
//! `tls_level`, and how they combine with `sslcacertfile`.

#![allow(clippy::unwrap_used)] // Tests may unwrap (house rules).

use std::path::Path;

use super::reader::cert_fingerprints;
use super::*;

fn env(name: &str) -> Option<String> {
    (name == "HOME").then(|| "/home/test".to_owned())
}

fn conf(remote: &str) -> String {
    format!(
        "[general]\naccounts = Work\n\
         [Account Work]\nlocalrepository = L\nremoterepository = R\n\
         [Repository L]\ntype = Maildir\nlocalfolders = ~/Mail\n\
         [Repository R]\ntype = IMAP\nremotehost = imap.example.org\n{remote}\n"
    )
}

fn parse_remote(remote: &str) -> Result<Config, Error> {
    parse(
        &conf(remote),
        Path::new("/home/test/.offlineimaprc"),
        &Overrides::default(),
        &env,
    )
}

fn ok(remote: &str) -> Config {
    match parse_remote(remote) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error for {remote:?}: {e}"),
    }
}

fn err(remote: &str) -> String {
    match parse_remote(remote) {
        Ok(_) => panic!("expected an error for {remote:?}"),
        Err(e) => e.to_string(),
    }
}

const SHA1: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn fingerprints_are_normalised() {
    let sha256 = "AB:CD:".to_owned() + &"ef".repeat(30);
    let got = cert_fingerprints(&format!(" {SHA1} ,{sha256},, ")).unwrap();
    assert_eq!(
        got,
        vec![SHA1.to_owned(), "abcd".to_owned() + &"ef".repeat(30)]
    );
    assert_eq!(cert_fingerprints("").unwrap(), Vec::<String>::new());
    for len in [40, 56, 64, 96, 128] {
        assert_eq!(cert_fingerprints(&"a".repeat(len)).unwrap().len(), 1);
    }
}

#[test]
fn bad_fingerprints_are_refused() {
    let e = cert_fingerprints("0123").unwrap_err();
    assert!(e.contains("has 4 hex digits"), "{e}");
    let e = cert_fingerprints(&format!("{SHA1},{}", "g".repeat(40))).unwrap_err();
    assert!(e.contains("not a hexadecimal fingerprint"), "{e}");
    let e = err("cert_fingerprint = 12:34");
    assert!(
        e.contains("[Repository R] cert_fingerprint:") && e.contains("hex digits"),
        "{e}"
    );
}

#[test]
fn fingerprint_alone_replaces_ca_check() {
    let c = ok(&format!("cert_fingerprint = {}", SHA1.to_uppercase()));
    let r = &c.accounts[0].remote;
    assert_eq!(r.cert_fingerprints, vec![SHA1.to_owned()]);
    assert!(!r.verify_ca);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn fingerprint_with_cafile_keeps_ca_check() {
    for ca in ["~/ca.pem", "OS-DEFAULT"] {
        let c = ok(&format!("cert_fingerprint = {SHA1}\nsslcacertfile = {ca}"));
        assert!(c.accounts[0].remote.verify_ca, "{ca}");
    }
}

#[test]
fn default_verifies_ca_without_pins() {
    let c = ok("");
    let r = &c.accounts[0].remote;
    assert!(r.verify_ca);
    assert!(r.cert_fingerprints.is_empty());
    assert_eq!(r.tls_min_version, None);
    // An empty value is the same as none.
    assert!(ok("cert_fingerprint =").accounts[0].remote.verify_ca);
}

#[test]
fn fingerprint_without_tls_warns() {
    let c = ok(&format!(
        "ssl = no\nstarttls = no\ncert_fingerprint = {SHA1}"
    ));
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(c.warnings[0].contains("cert_fingerprint"));
}

#[test]
fn ssl_version_becomes_a_floor() {
    let floor = |lines: &str| ok(lines).accounts[0].remote.tls_min_version;
    assert_eq!(floor("ssl_version = tls1_2"), Some(TlsVersion::Tls12));
    assert_eq!(floor("ssl_version = TLS1_3"), Some(TlsVersion::Tls13));
    assert_eq!(floor("ssl_version = ssl23"), None);
    assert_eq!(
        floor("tls_level = tls_secure\nssl_version = tls1_2"),
        Some(TlsVersion::Tls12)
    );
}

#[test]
fn old_ssl_versions_warn_and_never_lower_the_floor() {
    for v in ["tls1", "tls1_1", "ssl3"] {
        let c = ok(&format!("ssl_version = {v}"));
        assert_eq!(c.accounts[0].remote.tls_min_version, None, "{v}");
        assert_eq!(c.warnings.len(), 1, "{v}: {:?}", c.warnings);
        assert!(
            c.warnings[0].contains("TLS 1.2 or newer is required"),
            "{}",
            c.warnings[0]
        );
    }
}

#[test]
fn tls_level_rules_as_in_offlineimap() {
    let e = err("tls_level = tls_secure");
    assert!(e.contains("needs ssl_version"), "{e}");
    let e = err("tls_level = tls_secure\nssl_version = tls1");
    assert!(
        e.contains("tls1 is not allowed with tls_level = tls_secure"),
        "{e}"
    );
    let e = err("tls_level = tls_no_ssl\nssl_version = ssl3");
    assert!(e.contains("not allowed"), "{e}");
    let e = err("tls_level = strict");
    assert!(e.contains("[Repository R] tls_level:"), "{e}");
    let e = err("ssl_version = tls2");
    assert!(e.contains("[Repository R] ssl_version:"), "{e}");
    // Without implicit TLS OfflineIMAP does not look at them together.
    assert!(parse_remote("ssl = no\ntls_level = tls_secure").is_ok());
    assert!(ok("tls_level = tls_compat").warnings.is_empty());
}
