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

fn list_has(d: &Dovecot, user: &crate::support::dovecot::User, folder: &str) -> bool {
    let mut c = d.imap(user);
    let lines = c.list();
    c.logout();
    lines
        .iter()
        .any(|l| l.ends_with(&format!(" {folder}")) || l.ends_with(&format!(" \"{folder}\"")))
}

#[test]
fn delete_folder_deletes_on_the_server_only() {
    let d = Dovecot::shared();
    let user = d.add_user("cf_delete");
    let mut c = d.imap(&user);
    c.create("Old");
    c.create("Keep");
    c.append("Old", "", &mail("gone"));
    c.logout();
    let env = Env::for_user(d, &user);
    assert!(list_has(d, &user, "Old"));

    let run = env.run_capture(&["--dry-run", "--delete-folder", "Old", "-a", "Test"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(
        run.text()
            .contains("would try to remove 'Old' on remote of 'Test' account"),
        "{}",
        run.text()
    );
    assert!(list_has(d, &user, "Old"));

    let run = env.run_capture(&["--delete-folder", "Old", "-a", "Test"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(
        run.text().contains("Folder 'Old' deleted."),
        "{}",
        run.text()
    );
    assert!(!list_has(d, &user, "Old"));
    assert!(list_has(d, &user, "Keep"));
    // No sync happened.
    assert!(!env.maildir().join("INBOX").exists());

    let run = env.run_capture(&["--delete-folder", "Old", "-a", "Test"]);
    assert_eq!(run.code, Some(1), "{}", run.text());
    assert!(
        run.text()
            .contains("Folder 'Old'[TestRemote] could not be deleted"),
        "{}",
        run.text()
    );
}

#[test]
fn delete_folder_wants_exactly_one_account() {
    let d = Dovecot::shared();
    let user = d.add_user("cf_delete2");
    let mut c = d.imap(&user);
    c.create("Old");
    c.logout();
    let env = Env::for_user(d, &user);
    let text = fs::read_to_string(env.config_path()).unwrap();
    let text = text.replace("accounts = Test\n", "accounts = Test, Other\n")
        + "\n[Account Other]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n";
    fs::write(env.config_path(), text).unwrap();
    let run = env.run_capture(&["--delete-folder", "Old"]);
    assert_eq!(run.code, Some(1), "{}", run.text());
    assert!(
        run.text()
            .contains("you must supply only one account with '-a'"),
        "{}",
        run.text()
    );
    assert!(list_has(d, &user, "Old"));
    let run = env.run_capture(&["--delete-folder", "Old", "-a", "Other"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(!list_has(d, &user, "Old"));
}

#[test]
fn migrate_fmd5_renames_old_hashes_to_the_nametrans_ones() {
    let d = Dovecot::shared();
    let user = d.add_user("cf_migrate");
    let mut c = d.imap(&user);
    c.create("Work");
    c.append("Work", "\\Seen", &mail("one"));
    c.append("Work", "", &mail("two"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config_full(
        "sep = /\nnametrans = lambda f: f.capitalize()\n",
        "nametrans = lambda f: f.lower()\nfolderfilter = lambda f: f == 'Work'\n",
    );
    env.sync();
    let (old, new) = (
        crate::harness::md5_hex("work"),
        crate::harness::md5_hex("Work"),
    );
    let synced = env.local_messages("work");
    assert_eq!(synced.len(), 2);
    // As OfflineIMAP before 6.3.5 named them: the hash of the local name.
    let mut old_names = Vec::new();
    for m in &synced {
        let name = file_name(&m.path);
        assert!(name.contains(&format!(",FMD5={new}")), "{name}");
        let renamed = m.path.with_file_name(name.replace(&new, &old));
        fs::rename(&m.path, &renamed).unwrap();
        old_names.push(renamed);
    }
    // A foreign hash is reported and left alone.
    let foreign = env
        .maildir()
        .join("work/cur/1_9.1.host,U=99,FMD5=0123456789abcdef0123456789abcdef:2,S");
    fs::write(&foreign, "Subject: x\n\nx\n").unwrap();

    let run = env.run_capture(&["--migrate-fmd5-using-nametrans", "--dry-run"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(
        run.text().contains("2 files would be migrated"),
        "{}",
        run.text()
    );
    assert!(old_names.iter().all(|p| p.exists()));

    let run = env.run_capture(&["--migrate-fmd5-using-nametrans"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(run.text().contains("Migrating file `"), "{}", run.text());
    assert!(
        run.text().contains("Inconsistent FMD5 for file `"),
        "{}",
        run.text()
    );
    assert!(run.text().contains("2 files migrated"), "{}", run.text());
    let mut now: Vec<String> = env
        .local_messages("work")
        .iter()
        .map(|m| file_name(&m.path))
        .collect();
    now.sort();
    let mut want: Vec<String> = synced.iter().map(|m| file_name(&m.path)).collect();
    want.push(file_name(&foreign));
    want.sort();
    assert_eq!(now, want);
    fs::remove_file(&foreign).unwrap();

    // The sync trusts them again: nothing uploaded, nothing renamed.
    env.sync();
    let mut c = d.imap(&user);
    c.select("Work");
    assert_eq!(c.uids().len(), 2);
    c.logout();
    let mut after: Vec<String> = env
        .local_messages("work")
        .iter()
        .map(|m| file_name(&m.path))
        .collect();
    after.sort();
    let mut before: Vec<String> = synced.iter().map(|m| file_name(&m.path)).collect();
    before.sort();
    assert_eq!(after, before);
}

#[test]
fn profile_dir_gets_a_text_profile_per_account_sync() {
    let d = Dovecot::shared();
    let user = d.add_user("cf_profile");
    let mut c = d.imap(&user);
    c.create("Work");
    c.append("INBOX", "", &mail("one"));
    c.append("INBOX", "\\Seen", &mail("two"));
    c.append("Work", "", &mail("three"));
    c.logout();
    let env = Env::for_user(d, &user);
    let dir = env.dir.path().join("prof/nested");
    let run = env.run_capture(&["-P", dir.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(
        run.text()
            .contains("Profile mode: Forcing to singlethreaded."),
        "{}",
        run.text()
    );
    assert_eq!(env.local_messages("INBOX").len(), 2);
    let files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = file_name(&files[0]);
    let (stamp, rest) = name.split_once('_').unwrap();
    assert!(
        stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit()),
        "{name}"
    );
    assert_eq!(rest, "Test.prof");
    assert!(
        run.text()
            .contains(&format!("wrote {}", files[0].display())),
        "{}",
        run.text()
    );
    let text = fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("not a Python cProfile"), "{text}");
    let row = |scope: &str, phase: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.split('\t').map(str::to_owned).collect::<Vec<_>>())
            .find(|f| f.len() == 5 && f[0] == scope && f[1] == phase)
            .unwrap_or_else(|| panic!("no row {scope}/{phase} in:\n{text}"))
    };
    assert!(row("(account)", "wall")[2].parse::<f64>().unwrap() > 0.0);
    row("(account)", "connect TestRemote");
    assert_eq!(row("INBOX", "copy TestRemote -> TestLocal")[3], "2");
    assert_eq!(row("Work", "copy TestRemote -> TestLocal")[3], "1");
    assert_eq!(row("INBOX", "total")[3], "1");
    assert!(
        row("INBOX", "copy TestRemote -> TestLocal")[4]
            .parse::<u64>()
            .unwrap()
            > 50
    );

    // A second run with -1 already: no "forcing", a second file.
    let run = env.run_capture(&["-1", "-P", dir.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(!run.text().contains("Forcing"), "{}", run.text());
    assert!(run.text().contains("already exists"), "{}", run.text());
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
}

#[test]
fn profile_dir_that_cannot_be_created_stops_the_run() {
    let d = Dovecot::shared();
    let user = d.add_user("cf_profile_bad");
    let env = Env::for_user(d, &user);
    let file = env.dir.path().join("plainfile");
    fs::write(&file, "x").unwrap();
    let dir = file.join("sub");
    let run = env.run_capture(&["-P", dir.to_str().unwrap()]);
    assert_eq!(run.code, Some(1), "{}", run.text());
    assert!(run.text().contains("cannot create"), "{}", run.text());
    assert!(!env.maildir().join("INBOX").exists());
}

/// One autorefresh process, two syncs (the second on SIGUSR1), with a
/// folderfilter that reads a file changed between them.
fn filter_read_at_every_sync(dynamic: &str) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let d = Dovecot::shared();
    let user = d.add_user(&format!("cf_dynamic_{dynamic}"));
    let mut c = d.imap(&user);
    c.create("Alpha");
    c.create("Beta");
    c.append("Alpha", "", &mail("a"));
    c.append("Beta", "", &mail("b"));
    c.logout();
    let env = Env::for_user(d, &user);
    let list = env.dir.path().join("wanted");
    fs::write(&list, "Alpha\n").unwrap();
    env.write_config_full(
        "sep = /\n",
        &format!(
            "folderfilter = lambda f: f in open('{}').read().split()\ndynamic_folderfilter = {dynamic}\n",
            list.display()
        ),
    );
    let text = fs::read_to_string(env.config_path()).unwrap();
    let text = text.replace("[Account Test]\n", "[Account Test]\nautorefresh = 5\n");
    fs::write(env.config_path(), text).unwrap();
    let mut child = env
        .command(&["-u", "basic"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let finished = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(l) if l.contains("Finished account") => return,
                Ok(_) => {}
                Err(_) => panic!("{what}: no 'Finished account' line"),
            }
        }
    };
    finished("first sync");
    assert_eq!(env.local_folders(), ["Alpha"]);
    fs::write(&list, "Alpha Beta\n").unwrap();
    let kill = |sig: &str| {
        assert!(
            Command::new("kill")
                .args([sig, &child.id().to_string()])
                .status()
                .unwrap()
                .success()
        );
    };
    kill("-USR1");
    finished("second sync");
    assert_eq!(env.local_folders(), ["Alpha", "Beta"]);
    assert_eq!(env.local_messages("Beta").len(), 1);
    kill("-TERM");
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!err.contains("dynamic_folderfilter"), "{err}");
    assert!(status.code().is_some(), "ended by a signal: {status:?}");
}

#[test]
fn dynamic_folderfilter_yes_calls_the_filter_at_every_sync() {
    filter_read_at_every_sync("yes");
}

#[test]
fn dynamic_folderfilter_no_calls_the_filter_at_every_sync_too() {
    filter_read_at_every_sync("no");
}

#[test]
fn letters_the_server_cannot_hold_stay_in_the_maildir() {
    let d = Dovecot::shared();
    let user = d.add_user("cf_uncarried");
    let mut c = d.imap(&user);
    let uid = c.append("INBOX", "", &mail("one"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config_full("sep = /\ncustomflag_a = $Label1\n", "");
    env.sync();
    let m = one(&env.local_messages("INBOX"), "one");
    // P (passed) has no IMAP flag; z has no customflag_z.
    let renamed = m.path.with_file_name(format!("{}PSaz", file_name(&m.path)));
    fs::rename(&m.path, &renamed).unwrap();
    for _ in 0..3 {
        env.sync();
        assert_eq!(one(&env.local_messages("INBOX"), "one").flags, "PSaz");
    }
    let mut c = d.imap(&user);
    c.select("INBOX");
    assert_eq!(c.flags(uid), ["$Label1", "\\Seen"]);
    // Removed locally: gone from the status too, and stays gone.
    let m = one(&env.local_messages("INBOX"), "one");
    let stripped = file_name(&m.path).replace(":2,PSaz", ":2,Sa");
    fs::rename(&m.path, m.path.with_file_name(stripped)).unwrap();
    env.sync();
    env.sync();
    assert_eq!(one(&env.local_messages("INBOX"), "one").flags, "Sa");
    assert_eq!(status_flags(&env, "INBOX"), [(uid, "Sa".to_owned())]);
    // The server can still take a flag away.
    c.store(uid, "-FLAGS", "$Label1");
    c.logout();
    env.sync();
    assert_eq!(one(&env.local_messages("INBOX"), "one").flags, "S");
}
