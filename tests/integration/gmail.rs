//! `type = Gmail` and `type = GmailMaildir` through the real binary
//! against a private Dovecot: the Gmail repository with its server
//! overridden syncs like an IMAP one, and with only the port and CA
//! overridden it speaks TLS from the first byte, its default.

use std::fs;

use crate::harness::{Env, crlf_to_lf, server_messages};
use crate::support::dovecot::Dovecot;

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\nbody {subject}\r\n"
    )
    .into_bytes()
}

/// Turns the harness config into a Gmail one: GmailMaildir on the local
/// side, Gmail on the remote side.
fn as_gmail(env: &Env, drop_lines: &[&str]) {
    let mut text = fs::read_to_string(env.config_path()).unwrap();
    text = text
        .replace("type = Maildir\n", "type = GmailMaildir\n")
        .replace("type = IMAP\n", "type = Gmail\n");
    let text: String = text
        .lines()
        .filter(|l| !drop_lines.iter().any(|d| l.starts_with(d)))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(text.contains("type = Gmail\n") && text.contains("type = GmailMaildir\n"));
    fs::write(env.config_path(), text).unwrap();
}

#[test]
fn gmail_repository_syncs_both_ways() {
    let d = Dovecot::shared();
    let user = d.add_user("gmailsync");
    let mut c = d.imap(&user);
    c.create("Work");
    c.append("INBOX", "\\Seen", &mail("inbox-one"));
    c.append("Work", "", &mail("work-one"));
    c.logout();
    let env = Env::for_user(d, &user);
    as_gmail(&env, &[]);

    env.sync();
    let inbox = env.local_messages("INBOX");
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].flags, "S");
    assert_eq!(crlf_to_lf(&inbox[0].bytes), crlf_to_lf(&mail("inbox-one")));
    assert_eq!(env.local_messages("Work").len(), 1);

    // A message written into the local Maildir goes up.
    let new = env.maildir().join("Work/new/1700000000.local.host");
    fs::write(&new, mail("from-local")).unwrap();
    env.sync();
    let up = server_messages(d, &user, "Work");
    assert_eq!(up.len(), 2, "{up:?}");
    assert!(
        up.iter()
            .any(|m| crlf_to_lf(&m.bytes) == crlf_to_lf(&mail("from-local")))
    );
}

#[test]
fn gmail_repository_uses_tls_by_default() {
    let d = Dovecot::shared_tls();
    let user = d.add_user("gmailtls");
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("over-tls"));
    c.logout();
    let env = Env::new(d.tls_port(), &user.name, &user.password);
    // No ssl line: type = Gmail means ssl = yes.
    env.write_config_tls(
        "sep = /\n",
        &format!("sslcacertfile = {}\n", d.ca_file().display()),
        "",
    );
    as_gmail(&env, &[]);
    let text = fs::read_to_string(env.config_path()).unwrap();
    assert!(!text.contains("ssl ="), "{text}");

    let out = env.sync();
    let inbox = env.local_messages("INBOX");
    assert_eq!(inbox.len(), 1, "{out}");
    assert_eq!(crlf_to_lf(&inbox[0].bytes), crlf_to_lf(&mail("over-tls")));
}
