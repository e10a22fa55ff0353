//! The Maildir options `utime_from_header`, `filename_use_mail_timestamp`
//! (both also from `[general]`) and `restoreatime` through the real binary
//! against a private Dovecot: the mtimes, file names and directory access
//! times they leave on disk.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::harness::Env;
use crate::support::dovecot::{Dovecot, User};

/// The server's INTERNALDATE for every APPEND here: 2020-01-01 10:00:00 UTC.
const INTERNAL: &str = "01-Jan-2020 10:00:00 +0000";
const INTERNAL_SECS: i64 = 1_577_872_800;
/// `Date: Tue, 1 Jul 2003 10:52:37 +0200`.
const DATE_SECS: i64 = 1_057_049_557;

fn mail(subject: &str, headers: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: {subject}\r\n{headers}\
         Message-ID: <{subject}@example.org>\r\n\r\nDate: Fri, 1 Jan 2010 00:00:00 +0000\r\n"
    )
    .into_bytes()
}

/// APPEND to INBOX with the fixed INTERNALDATE.
fn append(d: &Dovecot, user: &User, flags: &str, message: &[u8]) {
    let mut c = d.imap(user);
    let text = String::from_utf8(message.to_vec()).unwrap();
    let (_, done) = c.command(&format!(
        "APPEND \"INBOX\" ({flags}) \"{INTERNAL}\" {{{}+}}\r\n{text}",
        message.len()
    ));
    c.logout();
    assert!(done.starts_with("OK"), "APPEND -> {done}");
}

fn secs(t: SystemTime) -> i64 {
    i64::try_from(t.duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn now() -> i64 {
    secs(SystemTime::now())
}

/// Per subject: the file name's leading time and the file's mtime.
fn local_times(env: &Env) -> Vec<(String, i64, i64)> {
    let mut out: Vec<(String, i64, i64)> = env
        .local_messages("INBOX")
        .iter()
        .map(|m| {
            let text = String::from_utf8_lossy(&m.bytes);
            let subject = text
                .lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap()
                .trim()
                .to_owned();
            let name = m.path.file_name().unwrap().to_str().unwrap().to_owned();
            let name_secs: i64 = name.split('_').next().unwrap().parse().unwrap();
            let mtime = secs(fs::metadata(&m.path).unwrap().modified().unwrap());
            (subject, name_secs, mtime)
        })
        .collect();
    out.sort();
    out
}

fn three_messages(d: &Dovecot, user: &User) {
    append(
        d,
        user,
        "\\Seen",
        &mail("dated", "Date: Tue,\r\n 1 Jul 2003 10:52:37 +0200\r\n"),
    );
    append(
        d,
        user,
        "",
        &mail(
            "delivered",
            "Date: not a date\r\nDelivery-date: Wed, 2 Jul 2003 08:52:37 +0000\r\n",
        ),
    );
    append(d, user, "", &mail("undated", ""));
}

#[test]
fn without_options_mtime_is_internaldate_and_name_time_is_now() {
    let d = Dovecot::shared();
    let user = d.add_user("mdoptsnone");
    three_messages(d, &user);
    let env = Env::for_user(d, &user);
    let before = now();
    env.sync();
    let times = local_times(&env);
    assert_eq!(times.len(), 3, "{times:?}");
    for (subject, name_secs, mtime) in times {
        assert_eq!(mtime, INTERNAL_SECS, "{subject}");
        assert!(
            name_secs >= before - 1 && name_secs <= now() + 1,
            "{subject}"
        );
    }
}

#[test]
fn utime_from_header_sets_mtime_from_date() {
    let d = Dovecot::shared();
    let user = d.add_user("mdoptsutime");
    three_messages(d, &user);
    let env = Env::for_user(d, &user);
    env.write_config_full("sep = /\nutime_from_header = yes\n", "");
    let before = now();
    let out = env.sync();
    assert!(!out.contains("utime_from_header"), "{out}");
    let times = local_times(&env);
    let by = |s: &str| times.iter().find(|t| t.0 == s).unwrap().clone();
    assert_eq!(by("dated").2, DATE_SECS);
    // No usable Date: the server's date, as without the option (Delivery-date
    // does not count for the mtime).
    assert_eq!(by("delivered").2, INTERNAL_SECS);
    assert_eq!(by("undated").2, INTERNAL_SECS);
    // Names keep the time of the download.
    for (subject, name_secs, _) in &times {
        assert!(*name_secs >= before - 1, "{subject}");
    }
}

#[test]
fn filename_use_mail_timestamp_from_general_names_files_by_date() {
    let d = Dovecot::shared();
    let user = d.add_user("mdoptsname");
    three_messages(d, &user);
    let env = Env::for_user(d, &user);
    let path = env.config_path();
    let text = fs::read_to_string(&path).unwrap().replacen(
        "[general]\n",
        "[general]\nfilename_use_mail_timestamp = yes\n",
        1,
    );
    fs::write(&path, text).unwrap();
    let before = now();
    let out = env.sync();
    assert!(!out.contains("filename_use_mail_timestamp"), "{out}");
    let times = local_times(&env);
    let by = |s: &str| times.iter().find(|t| t.0 == s).unwrap().clone();
    assert_eq!(by("dated").1, DATE_SECS);
    assert_eq!(by("delivered").1, DATE_SECS + 86_400);
    assert!(by("undated").1 >= before - 1);
    // The mtime is still the server's date.
    for (subject, _, mtime) in &times {
        assert_eq!(*mtime, INTERNAL_SECS, "{subject}");
    }
    // The names carry their UIDs: a second sync has nothing to do.
    assert!(env.local_messages("INBOX").iter().all(|m| m.uid.is_some()));
    let again = env.sync();
    assert!(!again.contains("Copy message"), "{again}");
    assert!(!again.contains("Deleting"), "{again}");
    assert_eq!(env.local_messages("INBOX").len(), 3);

    // The repository's own "no" wins over [general].
    let user2 = d.add_user("mdoptsname2");
    three_messages(d, &user2);
    let env2 = Env::for_user(d, &user2);
    env2.write_config_full("sep = /\nfilename_use_mail_timestamp = no\n", "");
    let text = fs::read_to_string(env2.config_path()).unwrap().replacen(
        "[general]\n",
        "[general]\nfilename_use_mail_timestamp = yes\n",
        1,
    );
    fs::write(env2.config_path(), text).unwrap();
    let before = now();
    env2.sync();
    for (subject, name_secs, _) in local_times(&env2) {
        assert!(name_secs >= before - 1, "{subject}");
    }
}

fn times_of(dir: &Path) -> (SystemTime, SystemTime) {
    let m = fs::metadata(dir).unwrap();
    (m.accessed().unwrap(), m.modified().unwrap())
}

/// Sets `new/` and `cur/` of the local INBOX to an access time of
/// 2001-09-09 and returns it.
fn age_atimes(env: &Env) -> SystemTime {
    let old = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    for sub in ["new", "cur"] {
        let dir = env.maildir().join("INBOX").join(sub);
        fs::File::open(&dir)
            .unwrap()
            .set_times(fs::FileTimes::new().set_accessed(old))
            .unwrap();
    }
    old
}

#[test]
fn restoreatime_puts_back_the_access_times_of_new_and_cur() {
    let d = Dovecot::shared();
    let user = d.add_user("mdoptsatime");
    append(d, &user, "", &mail("first", ""));
    let env = Env::for_user(d, &user);
    env.write_config_full("sep = /\nrestoreatime = yes\n", "");
    env.sync();
    assert_eq!(env.local_messages("INBOX").len(), 1);

    // New mail on both sides' terms: one message to download into new/,
    // one into cur/, and one a mail client left in new/ to upload.
    let old = age_atimes(&env);
    let new_dir = env.maildir().join("INBOX/new");
    let cur_dir = env.maildir().join("INBOX/cur");
    let (_, new_mtime_before) = times_of(&new_dir);
    let (_, cur_mtime_before) = times_of(&cur_dir);
    std::thread::sleep(Duration::from_millis(20));
    append(d, &user, "", &mail("second", ""));
    append(d, &user, "\\Seen", &mail("third", ""));
    fs::write(
        new_dir.join(format!("{}.M1P1.client", now())),
        b"Subject: local\n\nhi\n",
    )
    .unwrap();
    let (_, new_mtime_client) = times_of(&new_dir);
    assert!(new_mtime_client > new_mtime_before);
    env.sync();
    // Before anything here lists the directories.
    let (new_atime, new_mtime) = times_of(&new_dir);
    let (cur_atime, cur_mtime) = times_of(&cur_dir);
    assert_eq!(env.local_messages("INBOX").len(), 4);
    // The sync read and changed both directories, and their access times
    // are what they were before it.
    assert!(new_mtime > new_mtime_client);
    assert!(cur_mtime > cur_mtime_before);
    assert_eq!(new_atime, old);
    assert_eq!(cur_atime, old);

    // Without the option, the same reads leave a later access time where
    // the file system keeps them (not on a noatime mount).
    env.write_config_full("sep = /\n", "");
    let old = age_atimes(&env);
    append(d, &user, "", &mail("fourth", ""));
    env.sync();
    let (atime, _) = times_of(&new_dir);
    assert_eq!(env.local_messages("INBOX").len(), 5);
    if reading_moves_atime(env.dir.path()) {
        assert!(atime > old, "without restoreatime the atime moves on");
    }
}

/// Whether listing a directory under `dir` updates its access time (not on
/// a noatime mount; relatime does when the atime is older than the mtime).
fn reading_moves_atime(dir: &Path) -> bool {
    let probe = dir.join("atime-probe");
    fs::create_dir(&probe).unwrap();
    let old = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::open(&probe)
        .unwrap()
        .set_times(fs::FileTimes::new().set_accessed(old))
        .unwrap();
    let _ = fs::read_dir(&probe).unwrap().count();
    times_of(&probe).0 > old
}
