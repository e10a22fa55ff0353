//! `cert_fingerprint` (and its interplay with `sslcacertfile`) through the
//! real binary against private Dovecots: the test CA-signed one, whose CA
//! is left out of the config, and one with a self-signed certificate for
//! a host name that is not the one connected to.
//!
//! A pinned certificate syncs without any CA; a wrong pin stops the run
//! before anything is sent over TLS (no login, nothing synced); without a
//! pin, verification fails as before.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::{Env, Run};
use crate::support::dovecot::{Dovecot, User};

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nbody of {subject}\r\n"
    )
    .into_bytes()
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl CLI not found");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `openssl x509 -fingerprint` of a PEM certificate, as printed
/// (`AB:CD:...`), by an implementation other than ours.
fn openssl_fingerprint(cert: &Path, digest: &str) -> String {
    let out = openssl(
        Path::new("/"),
        &[
            "x509",
            "-in",
            cert.to_str().unwrap(),
            "-noout",
            "-fingerprint",
            &format!("-{digest}"),
        ],
    );
    out.trim()
        .split_once('=')
        .map(|(_, fp)| fp.to_owned())
        .unwrap_or_else(|| panic!("no fingerprint in {out:?}"))
}

/// Lowercase hex without colons, as our error message prints it.
fn plain_hex(fp: &str) -> String {
    fp.replace(':', "").to_ascii_lowercase()
}

/// The certificate of the shared TLS Dovecot (signed by its test CA).
fn shared_server_cert(d: &Dovecot) -> PathBuf {
    d.ca_file().parent().unwrap().join("server.crt")
}

/// A self-signed certificate for `mail.example.invalid` (so neither the
/// chain nor the host name 127.0.0.1 would verify), and a Dovecot
/// offering it through STARTTLS on its plain port.
struct SelfSigned {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    dovecot: Dovecot,
}

fn self_signed_dovecot() -> SelfSigned {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        dir.path(),
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=mail.example.invalid",
            "-addext",
            "subjectAltName = DNS:mail.example.invalid",
            "-keyout",
            "self.key",
            "-out",
            "self.crt",
        ],
    );
    let cert = dir.path().join("self.crt");
    let key = dir.path().join("self.key");
    // Later settings override the plain instance's `ssl = no`.
    let dovecot = Dovecot::start_with_config(&format!(
        "ssl = yes\nssl_cert = <{}\nssl_key = <{}\n",
        cert.display(),
        key.display()
    ));
    SelfSigned {
        _dir: dir,
        cert,
        dovecot,
    }
}

/// A user with one message in INBOX and an `Env` for it on `port`, with
/// these TLS lines.
fn setup(d: &Dovecot, name: &str, port: u16, tls: &str) -> (User, Env) {
    let user = d.add_user(name);
    let mut c = d.imap(&user);
    c.append("INBOX", "\\Seen", &mail(name));
    c.logout();
    let env = Env::new(port, &user.name, &user.password);
    env.write_config_tls("sep = /\n", tls, "");
    (user, env)
}

fn synced_one(env: &Env, name: &str) {
    let local = env.local_messages("INBOX");
    assert_eq!(local.len(), 1, "{local:?}");
    let body = String::from_utf8_lossy(&local[0].bytes);
    assert!(body.contains(&format!("body of {name}")), "{body}");
    assert_eq!(local[0].flags, "S");
}

/// How often Dovecot logged a successful login of `user`.
fn logins(d: &Dovecot, user: &User) -> usize {
    d.log()
        .matches(&format!("Login: user=<{}>", user.name))
        .count()
}

#[test]
fn implicit_tls_with_the_right_sha256_syncs_without_a_ca() {
    let d = Dovecot::shared_tls();
    // As openssl prints it: uppercase with colons.
    let fp = openssl_fingerprint(&shared_server_cert(d), "sha256");
    let (_, env) = setup(
        d,
        "pin256",
        d.tls_port(),
        &format!("ssl = yes\ncert_fingerprint = {fp}\n"),
    );
    env.sync();
    synced_one(&env, "pin256");
}

#[test]
fn starttls_self_signed_with_a_sha1_among_others_syncs() {
    let s = self_signed_dovecot();
    let d = &s.dovecot;
    // Old OfflineIMAP configs carry SHA-1 pins, and lists of them.
    let sha1 = plain_hex(&openssl_fingerprint(&s.cert, "sha1"));
    let other = "0".repeat(64);
    let (_, env) = setup(
        d,
        "pinself",
        d.port(),
        &format!("ssl = no\nstarttls = yes\ncert_fingerprint = {other}, {sha1}\n"),
    );
    env.sync();
    synced_one(&env, "pinself");
}

#[test]
fn wrong_fingerprint_stops_before_login_and_syncs_nothing() {
    let d = Dovecot::shared_tls();
    let actual = plain_hex(&openssl_fingerprint(&shared_server_cert(d), "sha256"));
    let wrong = "ab".repeat(32);
    let (user, env) = setup(
        d,
        "pinwrong",
        d.tls_port(),
        &format!("ssl = yes\ncert_fingerprint = {wrong}\n"),
    );
    let before = logins(d, &user);
    let log = env.dir.path().join("debug.log");
    let run = env.run_capture(&["-d", "imap", "-l", log.to_str().unwrap()]);
    let trace = fs::read_to_string(&log).unwrap_or_default();

    assert_ne!(run.code, Some(0), "{run:?}");
    let text = run.text();
    let line = text
        .lines()
        .find(|l| l.contains("matches no cert_fingerprint"))
        .unwrap_or_else(|| panic!("no mismatch line in:\n{text}"));
    assert!(line.contains("127.0.0.1"), "{line}");
    assert!(line.contains(&format!("sha256 {actual}")), "{line}");
    assert!(env.local_messages("INBOX").is_empty(), "{text}");
    for word in ["LOGIN", "AUTHENTICATE", "CAPABILITY"] {
        assert!(!trace.contains(word), "{word} sent:\n{trace}");
    }
    // The trace ran (the TCP connection is in it) and stopped there.
    assert!(trace.contains("connected to 127.0.0.1"), "{trace}");
    assert!(!trace.contains("TLS established"), "{trace}");
    assert_eq!(logins(d, &user), before, "{}", d.log());
}

#[test]
fn self_signed_without_a_fingerprint_still_fails_verification() {
    let s = self_signed_dovecot();
    let d = &s.dovecot;
    let (user, env) = setup(d, "nopin", d.port(), "ssl = no\nstarttls = yes\n");
    let before = logins(d, &user);
    let run: Run = env.run_capture(&[]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.text().contains("verif"), "{run:?}");
    assert!(env.local_messages("INBOX").is_empty());
    assert_eq!(logins(d, &user), before);
}

#[test]
fn fingerprint_with_an_unrelated_ca_file_still_needs_the_ca() {
    let d = Dovecot::shared_tls();
    let s = self_signed_dovecot();
    let fp = openssl_fingerprint(&shared_server_cert(d), "sha256");
    // The pin is right, but sslcacertfile keeps the CA check on, as in
    // OfflineIMAP, and this CA did not sign the server's certificate.
    let (_, env) = setup(
        d,
        "pinca",
        d.tls_port(),
        &format!(
            "ssl = yes\ncert_fingerprint = {fp}\nsslcacertfile = {}\n",
            s.cert.display()
        ),
    );
    let run = env.run_capture(&[]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(run.text().contains("verif"), "{run:?}");
    assert!(env.local_messages("INBOX").is_empty());

    // With the right CA both checks pass.
    let ca = d.ca_file().display().to_string();
    env.write_config_tls(
        "sep = /\n",
        &format!("ssl = yes\ncert_fingerprint = {fp}\nsslcacertfile = {ca}\n"),
        "",
    );
    env.sync();
    synced_one(&env, "pinca");
}

#[test]
fn ssl_version_raises_the_floor_and_older_ones_only_warn() {
    let d = Dovecot::shared_tls();
    let ca = d.ca_file().display().to_string();
    // Dovecot with OpenSSL 3 speaks TLS 1.3, so a 1.3 floor connects.
    let (_, env) = setup(
        d,
        "tls13",
        d.tls_port(),
        &format!("ssl = yes\nsslcacertfile = {ca}\nssl_version = tls1_3\n"),
    );
    env.sync();
    synced_one(&env, "tls13");

    // tls1 would weaken the connection: a warning, and TLS 1.2+ anyway.
    let (_, env) = setup(
        d,
        "tls10",
        d.tls_port(),
        &format!("ssl = yes\nsslcacertfile = {ca}\nssl_version = tls1\n"),
    );
    let out = env.sync();
    assert!(out.contains("TLS 1.2 or newer is required"), "{out}");
    synced_one(&env, "tls10");
}
