//! `utf8foldernames = yes` end to end: the real binary against a private
//! Dovecot holding folders with non-ASCII names (modified UTF-7 on the
//! wire). The Maildir and the status cache get UTF-8 names, a new local
//! UTF-8 folder reaches the server under its modified UTF-7 name, a second
//! run changes nothing, and a Maildir and metadata left by Debian's
//! offlineimap3 with the same option are used as they are. The server is
//! prepared and inspected with the raw test client only.

use std::fs;
use std::path::Path;

use crate::harness::{Env, all_files, md5_hex, server_messages};
use crate::support::dovecot::{Dovecot, User};

/// OfflineIMAP 3 (Debian's `offlineimap3`), as scripts/test installs it.
const OFFLINEIMAP3: &str = "/usr/bin/offlineimap";

/// (wire name, UTF-8 name with `/`, status and validity file name) of the
/// server's folders. Wire names are what offlineimap3's own encoder gives.
const FOLDERS: [(&str, &str, &str); 5] = [
    ("INBOX", "INBOX", "INBOX"),
    ("Entw&APw-rfe", "Entwürfe", "Entwürfe"),
    (
        "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-",
        "Отправленные",
        "Отправленные",
    ),
    ("Tom &- Jerry", "Tom & Jerry", "Tom & Jerry"),
    ("Archive/&ZeVnLIqe-", "Archive/日本語", "Archive.日本語"),
];

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{}@example.org>\r\n\r\nBody of {subject}.\r\n",
        md5_hex(subject)
    )
    .into_bytes()
}

/// Every folder of [`FOLDERS`] on the server, with one message (two in
/// `Entwürfe`).
fn populate(d: &Dovecot, user: &User) {
    let mut c = d.imap(user);
    for (wire, utf8, _) in FOLDERS {
        if wire != "INBOX" {
            c.create(wire);
        }
        c.append(wire, "\\Seen", &mail(utf8));
    }
    c.append("Entw&APw-rfe", "", &mail("zweiter Entwurf"));
    c.logout();
}

/// The account's config with `utf8foldernames = yes` and `sep = /`.
fn write_config(env: &Env) {
    let text = format!(
        "[general]\naccounts = Test\nmetadata = {meta}\nfsync = no\n\n\
         [Account Test]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n\
         utf8foldernames = yes\n\n\
         [Repository TestLocal]\ntype = Maildir\nlocalfolders = {mail}\nsep = /\n\n\
         [Repository TestRemote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n\
         remoteuser = {user}\nremotepass = {pass}\nssl = no\nstarttls = no\n",
        meta = env.metadata().display(),
        mail = env.maildir().display(),
        port = env.port,
        user = env.user,
        pass = env.password,
    );
    fs::write(env.config_path(), text).unwrap();
}

/// A local folder made by hand (as a mail client would), with one message.
fn local_folder(env: &Env, name: &str, subject: &str) {
    let dir = env.maildir().join(name);
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let body = format!(
        "From: me@example.org\nTo: you@example.org\nSubject: {subject}\n\nWritten locally.\n"
    );
    fs::write(dir.join("new").join("1700000000.M1P1.host"), body).unwrap();
}

/// Lines of the output that show a change being made.
fn change_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            ["Copy message", "Deleting", "Adding flag", "Creating folder"]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect()
}

/// File names in one directory, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// The server's `LIST` answer holds this wire name.
fn server_has(d: &Dovecot, user: &User, wire: &str) -> bool {
    let mut c = d.imap(user);
    let list = c.list();
    c.logout();
    list.iter()
        .any(|l| l.ends_with(&format!(" \"{wire}\"")) || l.ends_with(&format!(" {wire}")))
}

/// Each server folder's messages are in the local folder of its UTF-8
/// name, carrying its UID and the FMD5 of that name.
fn assert_folders_in_sync(env: &Env, d: &Dovecot, user: &User, folders: &[(&str, &str)]) {
    for (wire, utf8) in folders {
        let server = server_messages(d, user, wire);
        let local = env.local_messages(utf8);
        assert_eq!(local.len(), server.len(), "{utf8}: {local:?}");
        let fmd5 = format!(",FMD5={}", md5_hex(utf8));
        for s in &server {
            let l = local
                .iter()
                .find(|l| l.uid == Some(s.uid))
                .unwrap_or_else(|| panic!("{utf8}: no local file for UID {}", s.uid));
            let name = l.path.file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.contains(&fmd5), "{utf8}: {name} lacks {fmd5}");
        }
    }
}

#[test]
fn utf8_names_sync_into_utf8_maildir_folders_and_back() {
    let d = Dovecot::shared();
    let user = d.add_user("utf8names");
    populate(d, &user);
    let env = Env::for_user(d, &user);
    write_config(&env);
    env.sync();

    assert_eq!(
        env.local_folders(),
        sorted(&[
            "Archive/日本語",
            "Entwürfe",
            "INBOX",
            "Tom & Jerry",
            "Отправленные"
        ])
    );
    let pairs: Vec<(&str, &str)> = FOLDERS.iter().map(|(w, u, _)| (*w, *u)).collect();
    assert_folders_in_sync(&env, d, &user, &pairs);
    let meta = env.metadata();
    let statuses: Vec<&str> = FOLDERS.iter().map(|(_, _, s)| *s).collect();
    assert_eq!(
        names_in(&meta.join("Account-Test/LocalStatus-sqlite")),
        sorted(&statuses)
    );
    assert_eq!(
        names_in(&meta.join("Repository-TestLocal/FolderValidity")),
        sorted(&statuses)
    );

    // New local folders, one at the top and one below a synced folder,
    // reach the server under their modified UTF-7 names.
    local_folder(&env, "Küche", "Rezepte");
    local_folder(&env, "Entwürfe/Alt", "alter Entwurf");
    let out = env.sync();
    for wire in ["K&APw-che", "Entw&APw-rfe/Alt"] {
        assert!(
            server_has(d, &user, wire),
            "{wire} not on the server:\n{out}"
        );
    }
    assert!(
        !server_has(d, &user, "K&-APw-che") && !server_has(d, &user, "Küche"),
        "{out}"
    );
    assert_folders_in_sync(
        &env,
        d,
        &user,
        &[("K&APw-che", "Küche"), ("Entw&APw-rfe/Alt", "Entwürfe/Alt")],
    );
    assert_eq!(server_messages(d, &user, "K&APw-che").len(), 1);
    let status_dir = meta.join("Account-Test/LocalStatus-sqlite");
    assert!(status_dir.join("Küche").is_file());
    assert!(status_dir.join("Entwürfe.Alt").is_file());

    // A third run has nothing left to do.
    let files = all_files(&env.maildir());
    let out = env.sync();
    assert_eq!(change_lines(&out), Vec::<&str>::new(), "{out}");
    assert_eq!(all_files(&env.maildir()), files);
}

/// A user who ran offlineimap3 with `utf8foldernames = yes` keeps their
/// Maildir and status cache: nothing is downloaded, uploaded or created.
#[test]
fn a_maildir_synced_by_offlineimap3_with_utf8foldernames_is_used_as_it_is() {
    assert!(
        Path::new(OFFLINEIMAP3).is_file(),
        "{OFFLINEIMAP3} (Debian's offlineimap3) is needed; scripts/test installs it"
    );
    let d = Dovecot::shared();
    let user = d.add_user("utf8interop");
    populate(d, &user);
    let env = Env::for_user(d, &user);
    write_config(&env);
    local_folder(&env, "Küche", "Rezepte");

    let theirs = std::process::Command::new(OFFLINEIMAP3)
        .arg("-c")
        .arg(env.config_path())
        .args(["-o", "-u", "basic"])
        .env("HOME", env.dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&theirs.stdout),
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert!(theirs.status.success(), "offlineimap3 failed:\n{text}");
    // offlineimap3 itself names the Maildir folders in UTF-8 and creates
    // the local one under its modified UTF-7 name: what we do.
    assert_eq!(
        env.local_folders(),
        sorted(&[
            "Archive/日本語",
            "Entwürfe",
            "INBOX",
            "Küche",
            "Tom & Jerry",
            "Отправленные"
        ]),
        "{text}"
    );
    assert!(server_has(d, &user, "K&APw-che"), "{text}");
    let statuses = names_in(&env.metadata().join("Account-Test/LocalStatus-sqlite"));
    let remote_validity = env.metadata().join("Repository-TestRemote/FolderValidity");
    let validities = names_in(&remote_validity);
    let files = all_files(&env.maildir());

    let out = env.sync();
    assert_eq!(change_lines(&out), Vec::<&str>::new(), "{out}");
    assert_eq!(all_files(&env.maildir()), files);
    assert_eq!(
        names_in(&env.metadata().join("Account-Test/LocalStatus-sqlite")),
        statuses
    );
    // The server's FolderValidity files too carry offlineimap3's UTF-8
    // names: ours reads theirs and adds no second spelling.
    assert_eq!(names_in(&remote_validity), validities);
}
