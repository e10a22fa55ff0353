//! Real-world configurations (tests/fixtures/config/realworld/*.conf)
//! against the test Dovecot: for each, which server folders are synced,
//! under which local names, with which contents, and that a second run
//! changes nothing. Also `-f`, `folderincludes`, `foldersort` order,
//! `subscribedonly`, the infinite-folder-creation refusal and a bad lambda
//! at load time, through the real binary.

use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::{Env, Run, read_maildir};
use crate::support::dovecot::{Dovecot, User};

struct World {
    d: &'static Dovecot,
    user: User,
    env: Env,
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/realworld")
}

impl World {
    fn new(prefix: &str) -> World {
        let d = Dovecot::shared();
        let user = d.add_user(prefix);
        let env = Env::for_user(d, &user);
        World { d, user, env }
    }

    /// Writes fixture `name` as the config, placeholders filled in;
    /// `edit` may change the text further.
    fn config(&self, name: &str, edit: impl Fn(String) -> String) {
        let text = fs::read_to_string(fixture_dir().join(name)).unwrap();
        let text = text
            .replace("@PORT@", &self.env.port.to_string())
            .replace("@USER@", &self.env.user)
            .replace("@PASS@", &self.env.password)
            .replace("@MAIL@", &self.env.maildir().display().to_string())
            .replace("@META@", &self.env.metadata().display().to_string());
        fs::write(self.env.config_path(), edit(text)).unwrap();
    }

    /// Creates `folders` on the server (wire names), one message each
    /// whose subject is the folder's name.
    fn server(&self, folders: &[&str]) {
        let mut c = self.d.imap(&self.user);
        for f in folders {
            if *f != "INBOX" {
                c.create(f);
            }
            c.append(f, "", &mail(f));
        }
        c.logout();
    }

    fn subscribe(&self, folders: &[&str]) {
        let mut c = self.d.imap(&self.user);
        for f in folders {
            c.ok(&format!("SUBSCRIBE \"{f}\""));
        }
        c.logout();
    }

    /// Every selectable server folder.
    fn server_folders(&self) -> Vec<String> {
        let mut c = self.d.imap(&self.user);
        let mut out: Vec<String> = c
            .list()
            .into_iter()
            .filter(|l| !l.to_lowercase().contains("\\noselect"))
            .filter_map(|l| {
                // `* LIST (flags) "/" name`, name quoted when it has spaces.
                let name = l.split_once("\"/\" ")?.1.trim_matches('"').to_string();
                Some(name)
            })
            .collect();
        c.logout();
        out.sort();
        out
    }

    /// Subjects of the messages in server folder `f`.
    fn server_subjects(&self, f: &str) -> Vec<String> {
        let mut c = self.d.imap(&self.user);
        c.ok(&format!("EXAMINE \"{f}\""));
        let uids = c.uids();
        let out = uids.into_iter().map(|u| subject(&c.body(u))).collect();
        c.logout();
        out
    }

    /// Local folders (sep as on disk) with the subjects of their messages.
    fn local(&self) -> LocalFolders {
        self.env
            .local_folders()
            .into_iter()
            .map(|f| {
                let mut subjects: Vec<String> = read_maildir(&self.env.maildir().join(&f))
                    .iter()
                    .map(|m| subject(&m.bytes))
                    .collect();
                subjects.sort();
                (f, subjects)
            })
            .collect()
    }

    fn run(&self, args: &[&str]) -> Run {
        self.env.run_capture(args)
    }

    /// Runs and requires success.
    fn sync(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, Some(0), "offlineimap failed:\n{}", r.text());
        r
    }

    /// A local folder with one message (subject `subject`) in `new/`.
    fn local_folder(&self, name: &str, subject: &str) {
        let dir = self.env.maildir().join(name);
        for s in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(s)).unwrap();
        }
        fs::write(
            dir.join("new")
                .join(format!("1700000000.{}.host", subject.len())),
            mail(subject),
        )
        .unwrap();
    }
}

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: someone@example.org\r\nTo: me@example.org\r\nSubject: {subject}\r\n\
         Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <{}@example.org>\r\n\r\n\
         A message first stored in {subject}.\r\n",
        subject.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    )
    .into_bytes()
}

fn subject(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or("?")
        .trim_end()
        .to_string()
}

/// Local folders with the sorted subjects of their messages.
type LocalFolders = Vec<(String, Vec<String>)>;

/// `(local folder, [subjects])` from literal pairs.
fn expect(pairs: &[(&str, &[&str])]) -> LocalFolders {
    let mut v: Vec<(String, Vec<String>)> = pairs
        .iter()
        .map(|(f, s)| {
            let mut s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            s.sort();
            (f.to_string(), s)
        })
        .collect();
    v.sort();
    v
}

/// Syncs twice; the second run must leave local and server folders as
/// the first left them.
fn sync_twice(w: &World, args: &[&str]) -> (Run, LocalFolders, Vec<String>) {
    let first = w.sync(args);
    let local = w.local();
    let server = w.server_folders();
    let second = w.sync(args);
    assert_eq!(
        w.local(),
        local,
        "second run changed the Maildir:\n{}",
        second.text()
    );
    assert_eq!(w.server_folders(), server, "second run changed the server");
    (first, local, server)
}

#[test]
fn every_realworld_fixture_loads() {
    let mut n = 0;
    for entry in fs::read_dir(fixture_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "conf") {
            continue;
        }
        n += 1;
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("@PORT@", "143")
            .replace("@USER@", "u")
            .replace("@PASS@", "p")
            .replace("@MAIL@", "/tmp/m")
            .replace("@META@", "/tmp/meta");
        if let Err(e) = offlineimap::config::parse(
            &text,
            &path,
            &offlineimap::config::Overrides::default(),
            &|_| None,
        ) {
            panic!("{}: {e}", path.display());
        }
    }
    assert!(n >= 6, "only {n} fixtures");
}

const GMAIL_SERVER: &[&str] = &[
    "INBOX",
    "[Gmail]/All Mail",
    "[Gmail]/Sent Mail",
    "[Gmail]/Starred",
    "[Gmail]/Spam",
    "[Gmail]/Important",
    "[Gmail]/Trash",
    "Work/Projects",
];

#[test]
fn gmail_dict_nametrans_both_ways() {
    let w = World::new("gmail");
    w.server(GMAIL_SERVER);
    w.config("gmail.conf", |t| t);
    // A local-only folder whose reverse nametrans names a [Gmail]/ folder.
    w.local_folder("drafts", "local draft");
    let (_, local, server) = sync_twice(&w, &[]);
    assert_eq!(
        local,
        expect(&[
            ("INBOX", &["INBOX"]),
            ("archive", &["[Gmail]/All Mail"]),
            ("sent", &["[Gmail]/Sent Mail"]),
            ("flagged", &["[Gmail]/Starred"]),
            ("drafts", &["local draft"]),
            ("Work.Projects", &["Work/Projects"]),
        ])
    );
    assert!(server.contains(&"[Gmail]/Drafts".to_string()), "{server:?}");
    assert!(!server.iter().any(|f| f == "drafts"), "{server:?}");
    assert_eq!(w.server_subjects("[Gmail]/Drafts"), ["local draft"]);
    // Status and FMD5 follow OfflineIMAP: status by the remote visible name,
    // FMD5 from the local visible name.
    let status = w.env.metadata().join("Account-gmail/LocalStatus-sqlite");
    assert!(status.join("sent").exists(), "{:?}", fs::read_dir(&status));
    let sent = read_maildir(&w.env.maildir().join("sent"));
    let fmd5 = crate::harness::md5_hex("[Gmail]/Sent Mail");
    assert!(
        sent[0].path.to_string_lossy().contains(&fmd5),
        "{:?}",
        sent[0].path
    );
}

#[test]
fn gmail_dash_f_syncs_only_the_named_remote_folders() {
    let w = World::new("gmailf");
    w.server(GMAIL_SERVER);
    w.config("gmail.conf", |t| t);
    w.sync(&["-f", "INBOX,[Gmail]/Sent Mail"]);
    assert_eq!(
        w.local(),
        expect(&[("INBOX", &["INBOX"]), ("sent", &["[Gmail]/Sent Mail"])])
    );
}

#[test]
fn gmail_resub_chains() {
    let w = World::new("gresub");
    w.server(GMAIL_SERVER);
    w.config("gmail-resub.conf", |t| t);
    w.local_folder("drafts", "local draft");
    w.local_folder("trash", "local trash");
    let (_, local, server) = sync_twice(&w, &[]);
    assert_eq!(
        local,
        expect(&[
            ("INBOX", &["INBOX"]),
            ("archive", &["[Gmail]/All Mail"]),
            ("sent", &["[Gmail]/Sent Mail"]),
            ("flagged", &["[Gmail]/Starred"]),
            ("drafts", &["local draft"]),
            // Filtered out locally: left alone.
            ("trash", &["local trash"]),
            ("Work.Projects", &["Work/Projects"]),
        ])
    );
    assert_eq!(w.server_subjects("[Gmail]/Drafts"), ["local draft"]);
    assert_eq!(w.server_subjects("[Gmail]/Trash"), ["[Gmail]/Trash"]);
    assert!(!server.iter().any(|f| f == "trash" || f == "drafts"));
}

#[test]
fn office365_folderfilter_lambdas() {
    let w = World::new("o365");
    w.server(&[
        "INBOX",
        "Sent Items",
        "Deleted Items",
        "Junk Email",
        "Calendar",
        "Calendar/Birthdays",
        "Contacts",
        "Sync Issues",
        "Sync Issues/Conflicts",
        "Archive/2024",
    ]);
    w.config("office365.conf", |t| t);
    w.local_folder("Project_X", "local project");
    let (_, local, server) = sync_twice(&w, &[]);
    assert_eq!(
        local,
        expect(&[
            ("INBOX", &["INBOX"]),
            ("Sent_Items", &["Sent Items"]),
            ("Deleted_Items", &["Deleted Items"]),
            ("Junk_Email", &["Junk Email"]),
            ("Archive.2024", &["Archive/2024"]),
            ("Project_X", &["local project"]),
        ])
    );
    assert!(server.contains(&"Project X".to_string()), "{server:?}");
    assert_eq!(w.server_subjects("Project X"), ["local project"]);
}

#[test]
fn fastmail_inbox_prefix_and_inbox_first() {
    let w = World::new("fastmail");
    w.server(&[
        "INBOX",
        "INBOX/Archive",
        "INBOX/Sent Items",
        "INBOX/Notes",
        "INBOX/Chats",
        "INBOX/Lists/rust",
    ]);
    w.config("fastmail.conf", |t| t);
    w.local_folder("Receipts", "local receipt");
    let (first, local, server) = sync_twice(&w, &[]);
    assert_eq!(
        local,
        expect(&[
            ("INBOX", &["INBOX"]),
            ("Archive", &["INBOX/Archive"]),
            ("Sent Items", &["INBOX/Sent Items"]),
            ("Lists.rust", &["INBOX/Lists/rust"]),
            ("Receipts", &["local receipt"]),
        ])
    );
    assert!(server.contains(&"INBOX/Receipts".to_string()), "{server:?}");
    assert_eq!(w.server_subjects("INBOX/Receipts"), ["local receipt"]);
    assert_eq!(
        sync_order(&first.text()),
        ["INBOX", "Archive", "Lists.rust", "Receipts", "Sent Items"],
        "{}",
        first.text()
    );
}

#[test]
fn manual_uw_imapd_reference_example() {
    let w = World::new("gerf");
    w.server(&[
        "Mail/INBOX",
        "Mail/list/zaurus-general",
        "Mail/list/zaurus-dev",
        "Mail/list/other",
        "Elsewhere",
    ]);
    w.config("manual-reference.conf", |t| t);
    let (_, local, _) = sync_twice(&w, &[]);
    assert_eq!(
        local,
        expect(&[
            ("INBOX", &["Mail/INBOX"]),
            ("list.zaurus-general", &["Mail/list/zaurus-general"]),
            ("list.zaurus-dev", &["Mail/list/zaurus-dev"]),
        ])
    );
}

#[test]
fn offlineimap_conf_examples_with_includes_and_reverse_sort() {
    let w = World::new("confex");
    w.server(&[
        "INBOX",
        "Sent",
        "Trash",
        "Deleted",
        "debian.user",
        "debian.personal",
        "debian.devel",
    ]);
    w.config("conf-examples.conf", |t| t);
    // The local folderfilter keeps this one off the server.
    w.local_folder("Deleted Items", "local deleted");
    let (first, local, server) = sync_twice(&w, &[]);
    assert_eq!(
        local,
        expect(&[
            ("INBOX", &["INBOX"]),
            ("Sent", &["Sent"]),
            ("debian.user", &["debian.user"]),
            ("debian.personal", &["debian.personal"]),
            ("Deleted Items", &["local deleted"]),
        ])
    );
    assert!(!server.contains(&"Deleted Items".to_string()), "{server:?}");
    // -cmp(x, y): reverse code point order, lower case first.
    assert_eq!(
        sync_order(&first.text()),
        ["debian.user", "debian.personal", "Sent", "INBOX"],
        "{}",
        first.text()
    );
}

#[test]
fn multiline_lambda_subscribedonly_and_an_unsubscribed_include() {
    let w = World::new("lists");
    w.server(&[
        "INBOX",
        "Lists/Rust Users",
        "Lists/Debian",
        "Old Stuff",
        "Archive",
    ]);
    w.subscribe(&["INBOX", "Lists/Rust Users", "Lists/Debian"]);
    w.config("multiline.conf", |t| t);
    let (_, local, _) = sync_twice(&w, &[]);
    assert_eq!(
        local,
        expect(&[
            ("inbox", &["INBOX"]),
            ("lists.rust-users", &["Lists/Rust Users"]),
            ("lists.debian", &["Lists/Debian"]),
            ("old-stuff", &["Old Stuff"]),
        ])
    );
}

#[test]
fn a_folderinclude_that_does_not_exist_is_an_error() {
    let w = World::new("badinc");
    w.server(&["INBOX", "Lists/Debian"]);
    w.subscribe(&["INBOX"]);
    w.config("multiline.conf", |t| {
        t.replace("['Old Stuff']", "['No Such Folder']")
    });
    let r = w.run(&[]);
    assert_eq!(r.code, Some(1), "{}", r.text());
    assert!(
        r.text().contains("Invalid folderinclude 'No Such Folder'"),
        "{}",
        r.text()
    );
    assert_eq!(w.local(), expect(&[("inbox", &["INBOX"])]));
}

#[test]
fn infinite_folder_creation_is_refused_and_explained() {
    let w = World::new("loop");
    w.server(&["INBOX", "INBOX/Work"]);
    // The Fastmail config without its local reverse nametrans.
    w.config("fastmail.conf", |t| {
        t.replace(
            "nametrans = lambda folder: folder if folder == 'INBOX' else 'INBOX.' + folder\n",
            "",
        )
    });
    // Synced before the nametrans was added: translated to the server it
    // would become INBOX/Receipts, which comes back as Receipts.
    w.local_folder("INBOX.Receipts", "local receipt");
    let before = w.server_folders();
    let r = w.run(&[]);
    assert_eq!(r.code, Some(1), "{}", r.text());
    let text = r.text();
    assert!(text.contains("INFINITE FOLDER CREATION"), "{text}");
    assert!(text.contains("'INBOX.Receipts'"), "{text}");
    assert_eq!(w.server_folders(), before, "a folder was created");
    // The folders that do translate are still synced.
    assert_eq!(
        w.local(),
        expect(&[
            ("INBOX", &["INBOX"]),
            ("Work", &["INBOX/Work"]),
            ("INBOX.Receipts", &["local receipt"]),
        ])
    );
}

#[test]
fn a_bad_lambda_stops_the_run_before_anything_is_touched() {
    let w = World::new("badlambda");
    w.server(&["INBOX"]);
    w.config("office365.conf", |t| {
        t.replace(
            "nametrans = lambda folder: folder.replace(' ', '_')",
            "nametrans = lambda folder: folder.replace(' ', '_'",
        )
    });
    let r = w.run(&[]);
    assert_eq!(r.code, Some(1), "{}", r.text());
    let text = r.text();
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("nametrans")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(
        errors[0].contains("[Repository WorkRemote] nametrans: SyntaxError"),
        "{text}"
    );
    assert!(text.contains('^'), "{text}");
    assert!(!w.env.maildir().exists(), "the Maildir was created");
    assert!(!w.env.metadata().exists(), "the metadata was created");
}

/// Local folder names in the order their syncs started (one connection).
fn sync_order(out: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for l in out.lines() {
        let Some(rest) = l.trim_start().strip_prefix("Syncing ") else {
            continue;
        };
        if !rest.ends_with("IMAP -> Maildir") {
            continue;
        }
        let name = rest
            .split_once(": IMAP")
            .map(|(n, _)| n.to_string())
            .unwrap_or_default();
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen
}

#[test]
fn a_lambda_raising_on_one_folder_skips_only_that_folder() {
    let w = World::new("raising");
    w.server(&["INBOX", "Junk Email"]);
    w.config("office365.conf", |t| {
        t.replace(
            "nametrans = lambda folder: folder.replace(' ', '_')",
            "nametrans = lambda folder: folder if folder != 'Junk Email' else folder[100]",
        )
    });
    let r = w.run(&[]);
    assert_eq!(r.code, Some(1), "{}", r.text());
    assert!(
        r.text()
            .contains("[Repository WorkRemote] nametrans failed on folder 'Junk Email'"),
        "{}",
        r.text()
    );
    assert!(r.text().contains("IndexError"), "{}", r.text());
    assert_eq!(w.local(), expect(&[("INBOX", &["INBOX"])]));
}
