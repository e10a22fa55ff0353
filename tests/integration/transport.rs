//! The connection options through the real binary against private
//! Dovecots: `sslclientcert`/`sslclientkey` (a Dovecot that requires a
//! client certificate signed by a test CA), `usecompression` (Dovecot's
//! imap_zlib plugin) and `proxy` (SOCKS5 by microsocks, SOCKS4 and HTTP
//! CONNECT by small proxies in the test that count their connections).

use std::fs;
use std::io::Write;
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

fn openssl(dir: &Path, args: &[&str]) {
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
}

/// A test CA, a server certificate for 127.0.0.1/localhost and a client
/// certificate, all in `dir` (`ca.crt`, `server.{crt,key}`,
/// `client.{crt,key}`), made with the openssl CLI.
fn make_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=transport test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    fs::write(
        dir.join("server.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    fs::write(dir.join("client.ext"), "extendedKeyUsage = clientAuth\n").unwrap();
    for (name, cn) in [("server", "localhost"), ("client", "offlineimap client")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }
}

/// A Dovecot (STARTTLS on its plain port) that lets only clients with a
/// certificate from the test CA log in.
struct CertDovecot {
    pki: tempfile::TempDir,
    dovecot: Dovecot,
}

impl CertDovecot {
    fn start() -> CertDovecot {
        let pki = tempfile::tempdir().unwrap();
        make_pki(pki.path());
        let p = pki.path().display();
        // Later settings override the plain instance's `ssl = no`.
        let dovecot = Dovecot::start_with_config(&format!(
            "ssl = yes\nssl_cert = <{p}/server.crt\nssl_key = <{p}/server.key\n\
             ssl_ca = <{p}/ca.crt\nssl_verify_client_cert = yes\nssl_require_crl = no\n\
             auth_ssl_require_client_cert = yes\n"
        ));
        CertDovecot { pki, dovecot }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.pki.path().join(name)
    }
}

/// Puts `message` into `user`'s INBOX through doveadm (a raw login would
/// need the client certificate).
fn doveadm_save(d: &Dovecot, user: &User, message: &[u8]) {
    let mut child = Command::new("doveadm")
        .arg("-c")
        .arg(d.conf())
        .args(["save", "-u", &user.name, "-m", "INBOX"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// The subjects in `user`'s INBOX, through doveadm.
fn doveadm_subjects(d: &Dovecot, user: &User) -> Vec<String> {
    let out = d.doveadm(&["fetch", "-u", &user.name, "hdr.subject", "mailbox", "INBOX"]);
    let mut subjects: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("hdr.subject: "))
        .map(str::to_owned)
        .collect();
    subjects.sort();
    subjects
}

/// A message in the local INBOX (sep `/`), for the upload direction.
fn local_new_message(env: &Env, name: &str) {
    let inbox = env.maildir().join("INBOX");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    fs::write(
        inbox.join("new").join(format!("1700000000.{name}.host")),
        mail(name),
    )
    .unwrap();
}

fn local_bodies(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = env
        .local_messages("INBOX")
        .iter()
        .map(|m| String::from_utf8_lossy(&m.bytes).into_owned())
        .collect();
    v.sort();
    v
}

fn starttls_lines(cd: &CertDovecot) -> String {
    format!(
        "ssl = no\nstarttls = yes\nsslcacertfile = {}\n",
        cd.file("ca.crt").display()
    )
}

#[test]
fn client_certificate_logs_in_and_syncs_both_ways() {
    let cd = CertDovecot::start();
    let d = &cd.dovecot;
    let user = d.add_user("cert");
    doveadm_save(d, &user, &mail("fromserver"));
    let env = Env::for_user(d, &user);
    env.write_config_tls(
        "sep = /\n",
        &starttls_lines(&cd),
        &format!(
            "sslclientcert = {}\nsslclientkey = {}\n",
            cd.file("client.crt").display(),
            cd.file("client.key").display()
        ),
    );
    local_new_message(&env, "fromlocal");
    env.sync();
    let bodies = local_bodies(&env);
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies.iter().any(|b| b.contains("body of fromserver")));
    assert_eq!(doveadm_subjects(d, &user), ["fromlocal", "fromserver"]);
}

#[test]
fn key_inside_the_certificate_file_is_found() {
    let cd = CertDovecot::start();
    let d = &cd.dovecot;
    let user = d.add_user("certkey");
    doveadm_save(d, &user, &mail("combined"));
    let both = cd.file("both.pem");
    let mut text = fs::read(cd.file("client.crt")).unwrap();
    text.extend(fs::read(cd.file("client.key")).unwrap());
    fs::write(&both, text).unwrap();
    let env = Env::for_user(d, &user);
    env.write_config_tls(
        "sep = /\n",
        &starttls_lines(&cd),
        &format!("sslclientcert = {}\n", both.display()),
    );
    env.sync();
    let bodies = local_bodies(&env);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains("body of combined"));
}

#[test]
fn without_a_client_certificate_the_login_is_refused() {
    let cd = CertDovecot::start();
    let d = &cd.dovecot;
    let user = d.add_user("nocert");
    doveadm_save(d, &user, &mail("kept"));
    let env = Env::for_user(d, &user);
    env.write_config_tls("sep = /\n", &starttls_lines(&cd), "");
    let run = env.run_capture(&[]);
    assert_ne!(run.code, Some(0), "{run:?}");
    let text = run.text();
    assert!(
        text.lines()
            .any(|l| l.contains("127.0.0.1") && l.contains("LOGIN")),
        "no login error line in:\n{text}"
    );
    assert!(env.local_messages("INBOX").is_empty(), "{text}");
}

#[test]
fn unreadable_client_certificate_is_a_config_error_before_connecting() {
    let cd = CertDovecot::start();
    let d = &cd.dovecot;
    let user = d.add_user("badcert");
    let env = Env::for_user(d, &user);
    let missing = cd.file("missing.pem");
    env.write_config_tls(
        "sep = /\n",
        &starttls_lines(&cd),
        &format!("sslclientcert = {}\n", missing.display()),
    );
    let run: Run = env.run_capture(&[]);
    assert_ne!(run.code, Some(0), "{run:?}");
    let text = run.text();
    let line = text
        .lines()
        .find(|l| l.contains("[Repository TestRemote] sslclientcert: cannot read"))
        .unwrap_or_else(|| panic!("no config error in:\n{text}"));
    assert!(line.contains("missing.pem"), "{line}");
    assert!(
        !d.log().contains("imap-login"),
        "a connection was made:\n{}",
        d.log()
    );
}
