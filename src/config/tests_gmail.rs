//! Tests of `type = Gmail` and `type = GmailMaildir` repositories: the
//! defaults a Gmail repository fills in and what it ignores.

#![allow(clippy::unwrap_used)] // Tests may unwrap (house rules).

use std::path::Path;

use super::reader::{GMAIL_OAUTH2_REQUEST_URL, gmail_default};
use super::*;

fn env(name: &str) -> Option<String> {
    (name == "HOME").then(|| "/home/test".to_owned())
}

fn conf(local_type: &str, remote: &str) -> String {
    format!(
        "[general]\naccounts = Work\n\
         [Account Work]\nlocalrepository = L\nremoterepository = R\n\
         [Repository L]\ntype = {local_type}\nlocalfolders = ~/Mail\n\
         [Repository R]\ntype = Gmail\nremoteuser = me@gmail.com\nremotepass = pw\n{remote}\n"
    )
}

fn ok(local_type: &str, remote: &str) -> Config {
    match parse(
        &conf(local_type, remote),
        Path::new("/home/test/.offlineimaprc"),
        &Overrides::default(),
        &env,
    ) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error for {remote:?}: {e}"),
    }
}

#[test]
fn gmail_fills_in_googles_server() {
    let c = ok("Maildir", "");
    let r = &c.accounts[0].remote;
    assert_eq!(r.host, "imap.gmail.com");
    assert_eq!(r.port, 993);
    assert_eq!(r.tls, Tls::Implicit);
    assert_eq!(r.user.as_deref(), Some("me@gmail.com"));
    assert!(r.tunnel.is_none());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn gmail_keeps_port_993_without_ssl() {
    // OfflineIMAP's Gmail repository answers 993 whatever `ssl` says,
    // where plain IMAP would fall back to 143.
    let r = &ok("Maildir", "ssl = no").accounts[0].remote;
    assert_eq!((r.port, r.tls), (993, Tls::StartTls));
}

#[test]
fn gmail_settings_win_over_its_defaults() {
    let r = &ok(
        "Maildir",
        "remotehost = 127.0.0.1\nremoteport = 1143\nssl = no\nstarttls = no",
    )
    .accounts[0]
        .remote;
    assert_eq!(
        (r.host.as_str(), r.port, r.tls),
        ("127.0.0.1", 1143, Tls::None)
    );
}

#[test]
fn gmail_defaults_come_from_default_section_too() {
    // A value in [DEFAULT] is a value the user wrote: it wins.
    let text = format!("[DEFAULT]\nremoteport = 2993\n{}", conf("Maildir", ""));
    let c = parse(
        &text,
        Path::new("/home/test/.offlineimaprc"),
        &Overrides::default(),
        &env,
    )
    .unwrap();
    assert_eq!(c.accounts[0].remote.port, 2993);
}

#[test]
fn gmail_oauth2_endpoint_default() {
    assert_eq!(
        gmail_default("oauth2_request_url"),
        Some("https://accounts.google.com/o/oauth2/token")
    );
    assert_eq!(
        GMAIL_OAUTH2_REQUEST_URL,
        "https://accounts.google.com/o/oauth2/token"
    );
    assert_eq!(gmail_default("remotehost"), Some("imap.gmail.com"));
    assert_eq!(gmail_default("remoteuser"), None);
}

#[test]
fn gmail_refresh_token_uses_googles_endpoint() {
    let c = ok("Maildir", "oauth2_refresh_token = r\noauth2_client_id = i");
    let o = c.accounts[0].remote.oauth2.as_ref().unwrap();
    assert_eq!(o.request_url.as_deref(), Some(GMAIL_OAUTH2_REQUEST_URL));
    // A plain IMAP repository has no default endpoint: an error names it.
    let text = conf("Maildir", "oauth2_refresh_token = r")
        .replace("type = Gmail", "type = IMAP\nremotehost = h");
    let e = parse(
        &text,
        Path::new("/home/test/.offlineimaprc"),
        &Overrides::default(),
        &env,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("oauth2_request_url"), "{e}");
}

#[test]
fn gmail_ignores_preauthtunnel_with_a_warning() {
    let c = ok("Maildir", "preauthtunnel = imapd");
    let r = &c.accounts[0].remote;
    assert!(r.tunnel.is_none());
    assert_eq!(r.host, "imap.gmail.com");
    assert_eq!(r.user.as_deref(), Some("me@gmail.com"));
    assert_eq!(
        c.warnings,
        vec![
            "/home/test/.offlineimaprc: [Repository R] preauthtunnel: ignored: a type = Gmail repository never uses it (as in OfflineIMAP)"
                .to_owned()
        ]
    );
}

#[test]
fn gmail_uses_transporttunnel() {
    let r = &ok("Maildir", "transporttunnel = openssl s_client").accounts[0].remote;
    assert_eq!(
        r.tunnel,
        Some(Tunnel::Transport("openssl s_client".to_owned()))
    );
}

#[test]
fn gmail_trash_and_spam_folders_have_no_effect() {
    let c = ok(
        "Maildir",
        "trashfolder = [Gmail]/Papierkorb\nspamfolder = [Gmail]/Spam",
    );
    assert_eq!(
        c.warnings,
        vec![
            "/home/test/.offlineimaprc: [Repository R] trashfolder: not supported by this version, ignored: it has no effect, as in OfflineIMAP"
                .to_owned()
        ]
    );
}

#[test]
fn gmail_maildir_is_a_maildir() {
    let c = ok("GmailMaildir", "");
    let l = &c.accounts[0].local;
    assert_eq!(l.localfolders, Path::new("/home/test/Mail"));
    assert_eq!(l.sep, '.');
}

#[test]
fn options_of_the_other_type_are_unknown() {
    let c = ok("GmailMaildir", "localfolders = ~/x");
    assert!(
        c.unknown
            .iter()
            .any(|(s, o)| s == "Repository R" && o == "localfolders"),
        "{:?}",
        c.unknown
    );
    let c = ok("GmailMaildir", "");
    assert!(c.unknown.is_empty(), "{:?}", c.unknown);
}

fn with_account(local_type: &str, remote_type: &str, account: &str) -> Result<Config, Error> {
    let text = conf(local_type, "")
        .replace(
            "remoterepository = R\n",
            &format!("remoterepository = R\n{account}\n"),
        )
        .replace(
            "type = Gmail\n",
            &format!("type = {remote_type}\nremotehost = h\n"),
        );
    parse(
        &text,
        Path::new("/home/test/.offlineimaprc"),
        &Overrides::default(),
        &env,
    )
}

#[test]
fn synclabels_defaults_and_ignorelabels() {
    let c = with_account("GmailMaildir", "Gmail", "synclabels = yes").unwrap();
    assert_eq!(
        c.accounts[0].copy.labels,
        Some(LabelSync {
            header: "X-Keywords".to_owned(),
            ignore: Default::default(),
        })
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let c = with_account(
        "GmailMaildir",
        "Gmail",
        "synclabels = yes\nlabelsheader = X-Label\nignorelabels = \\Inbox , \\Starred,,",
    )
    .unwrap();
    let l = c.accounts[0].copy.labels.clone().unwrap();
    assert_eq!(l.header, "X-Label");
    assert_eq!(
        l.ignore.into_iter().collect::<Vec<_>>(),
        vec!["\\Inbox".to_owned(), "\\Starred".to_owned()]
    );
    let c = with_account("GmailMaildir", "Gmail", "").unwrap();
    assert_eq!(c.accounts[0].copy.labels, None);
}

#[test]
fn synclabels_needs_both_gmail_types() {
    for (local, remote) in [("Maildir", "Gmail"), ("GmailMaildir", "IMAP")] {
        let c = with_account(local, remote, "synclabels = yes").unwrap();
        assert_eq!(c.accounts[0].copy.labels, None);
        assert_eq!(
            c.warnings,
            vec![
                "/home/test/.offlineimaprc: [Account Work] synclabels: ignored: labels are synced only between a type = Gmail remote and a type = GmailMaildir local repository"
                    .to_owned()
            ],
            "{local} {remote}"
        );
    }
}

#[test]
fn labelsheader_must_be_a_field_name() {
    let e = with_account(
        "GmailMaildir",
        "Gmail",
        "synclabels = yes\nlabelsheader = X Labels",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "/home/test/.offlineimaprc: [Account Work] labelsheader: 'X Labels' is not a header field name"
    );
}
