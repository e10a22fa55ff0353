//! A folder the server opens read-only (here through Dovecot's ACLs) is
//! synced one way with a warning, as OfflineIMAP does; `ignore-readonly`
//! hides the warning.

use std::fs;

use crate::harness::{Env, server_flags};
use crate::support::dovecot::Dovecot;

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\nbody {subject}\r\n"
    )
    .into_bytes()
}

/// Puts a message file straight into a local folder's `cur/`.
fn local_add(env: &Env, folder: &str, name: &str, body: &[u8]) {
    let cur = env.maildir().join(folder).join("cur");
    fs::write(cur.join(name), body).expect("write local message");
}

#[test]
fn read_only_server_folder_syncs_down_and_warns() {
    let d = Dovecot::start_with_config(
        "mail_plugins = $mail_plugins acl\nplugin {\n  acl = vfile\n}\n",
    );
    let user = d.add_user("ro-acl");
    let mut c = d.imap(&user);
    c.create("Shared");
    c.append("Shared", "", &mail("one"));
    c.logout();
    // Lookup and read only: Dovecot then answers SELECT with [READ-ONLY].
    fs::write(
        d.maildir(&user).join("Shared").join("dovecot-acl"),
        "owner lr\n",
    )
    .expect("write dovecot-acl");

    let env = Env::for_user(&d, &user);
    env.sync();
    assert_eq!(env.local_messages("Shared").len(), 1);

    // Local changes that cannot go up: a new message and a flag.
    local_add(&env, "Shared", "1700000000.local1.host:2,S", &mail("local"));
    let all = env.local_messages("Shared");
    let first = all
        .iter()
        .find(|m| m.uid.is_some())
        .expect("the synced message");
    // As a mail client reading it: into cur/, with the S flag.
    let name = first
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let flagged = env
        .maildir()
        .join("Shared")
        .join("cur")
        .join(format!("{}S", name.trim_end_matches('S')));
    fs::rename(&first.path, &flagged).expect("flag locally");

    let out = env.sync();
    assert!(
        out.contains("folder Shared is read-only on the server: 1 message(s) not copied, flags of 1 message(s) not changed"),
        "{out}"
    );
    assert!(!out.contains("ERROR"), "{out}");
    // The server is untouched, and nothing local was lost.
    assert_eq!(server_flags(&d, &user, "Shared").len(), 1);
    assert!(server_flags(&d, &user, "Shared")[0].1.is_empty());
    assert_eq!(env.local_messages("Shared").len(), 2);

    // New mail on the server still comes down.
    fs::remove_file(d.maildir(&user).join("Shared").join("dovecot-acl")).expect("rm acl");
    let mut c = d.imap(&user);
    c.append("Shared", "", &mail("two"));
    c.logout();
    fs::write(
        d.maildir(&user).join("Shared").join("dovecot-acl"),
        "owner lr\n",
    )
    .expect("write dovecot-acl");

    // ignore-readonly: the same pending changes, no warning.
    let text = fs::read_to_string(env.config_path()).expect("read config");
    fs::write(
        env.config_path(),
        text.replace("[general]\n", "[general]\nignore-readonly = yes\n"),
    )
    .expect("write config");
    let out = env.sync();
    assert!(!out.contains("read-only"), "{out}");
    assert_eq!(env.local_messages("Shared").len(), 3);
    assert_eq!(server_flags(&d, &user, "Shared").len(), 2);
}
