//! Options added late against a private Dovecot: `customflag_x`
//! (keywords as Maildir letters), `--delete-folder`,
//! `--migrate-fmd5-using-nametrans`, `-P` and `dynamic_folderfilter`.

use std::fs;
use std::path::Path;

use crate::harness::{Env, LocalMessage};
use crate::support::dovecot::Dovecot;

fn mail(subject: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n").into_bytes()
}

fn status_flags(env: &Env, folder: &str) -> Vec<(u32, String)> {
    let db = env
        .metadata()
        .join("Account-Test/LocalStatus-sqlite")
        .join(folder);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut q = conn
        .prepare("SELECT id, flags FROM status ORDER BY id")
        .unwrap();
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn one(msgs: &[LocalMessage], subject: &str) -> LocalMessage {
    msgs.iter()
        .find(|m| String::from_utf8_lossy(&m.bytes).contains(&format!("Subject: {subject}\n")))
        .unwrap_or_else(|| panic!("no local message {subject}: {msgs:?}"))
        .clone()
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn customflags_map_keywords_both_ways() {
    let d = Dovecot::shared();
    let user = d.add_user("cf_keywords");
    let mut c = d.imap(&user);
    let u1 = c.append("INBOX", "\\Seen $Label2 $Label1", &mail("one"));
    let u2 = c.append("INBOX", "$Junk", &mail("two"));
    let u3 = c.append("INBOX", "", &mail("three"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config_full(
        "sep = /\ncustomflag_a = $Label1\ncustomflag_b = $Label2\ncustomflag_c = Work\n",
        "",
    );
    let out = env.sync();
    assert!(
        out.contains("Unknown keywords skipped in INBOX: $Junk"),
        "{out}"
    );
    let msgs = env.local_messages("INBOX");
    let m1 = one(&msgs, "one");
    assert_eq!(m1.flags, "Sab", "{}", m1.path.display());
    assert!(file_name(&m1.path).ends_with(":2,Sab"));
    assert_eq!(one(&msgs, "two").flags, "");
    assert_eq!(one(&msgs, "three").flags, "");
    assert_eq!(
        status_flags(&env, "INBOX"),
        [
            (u1, "Sab".to_owned()),
            (u2, String::new()),
            (u3, String::new())
        ]
    );

    // A letter added locally (as a MUA would: rename) becomes a keyword;
    // a letter removed locally removes its keyword.
    let m3 = one(&msgs, "three");
    let renamed = m3.path.with_file_name(format!("{}c", file_name(&m3.path)));
    fs::rename(&m3.path, &renamed).unwrap();
    let stripped = file_name(&m1.path).replace(":2,Sab", ":2,Sb");
    fs::rename(&m1.path, m1.path.with_file_name(stripped)).unwrap();
    env.sync();
    let mut c = d.imap(&user);
    c.select("INBOX");
    assert_eq!(c.flags(u3), ["Work"]);
    assert_eq!(c.flags(u1), ["$Label2", "\\Seen"]);
    // The unmapped keyword is left alone.
    assert_eq!(c.flags(u2), ["$Junk"]);
    c.logout();
    assert_eq!(
        status_flags(&env, "INBOX"),
        [
            (u1, "Sb".to_owned()),
            (u2, String::new()),
            (u3, "c".to_owned())
        ]
    );

    // A second sync changes nothing.
    let before: Vec<String> = env
        .local_messages("INBOX")
        .iter()
        .map(|m| file_name(&m.path))
        .collect();
    env.sync();
    let after: Vec<String> = env
        .local_messages("INBOX")
        .iter()
        .map(|m| file_name(&m.path))
        .collect();
    assert_eq!(before, after);
    let mut c = d.imap(&user);
    c.select("INBOX");
    assert_eq!(c.flags(u1), ["$Label2", "\\Seen"]);
    assert_eq!(c.flags(u2), ["$Junk"]);
    assert_eq!(c.flags(u3), ["Work"]);
    c.logout();
}

#[test]
fn without_customflags_keywords_are_not_synced_nor_warned_about() {
    let d = Dovecot::shared();
    let user = d.add_user("cf_none");
    let mut c = d.imap(&user);
    c.append("INBOX", "\\Flagged $Label1", &mail("one"));
    c.logout();
    let env = Env::for_user(d, &user);
    let out = env.sync();
    assert!(!out.contains("Unknown keywords"), "{out}");
    assert_eq!(one(&env.local_messages("INBOX"), "one").flags, "F");
}

#[test]
fn a_customflag_that_is_no_keyword_is_refused() {
    let d = Dovecot::shared();
    let user = d.add_user("cf_bad");
    let env = Env::for_user(d, &user);
    env.write_config_full("sep = /\ncustomflag_q = two words\n", "");
    let run = env.run_capture(&[]);
    assert_eq!(run.code, Some(1), "{}", run.text());
    assert!(run.text().contains("customflag_q"), "{}", run.text());
    assert!(!env.maildir().join("INBOX").exists());
}
