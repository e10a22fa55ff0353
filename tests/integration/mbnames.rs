//! `[mbnames]` through the real binary against a private Dovecot: the
//! mailbox list file of two accounts, byte for byte, the per-account JSON
//! lists OfflineIMAP shares, `incremental`, `folderfilter`,
//! `sort_keyfunc`, and a bad expression stopping the run at start-up.

use std::fs;
use std::path::PathBuf;

use crate::harness::Env;
use crate::support::dovecot::{Dovecot, User};

fn create(d: &Dovecot, user: &User, folders: &[&str]) {
    let mut c = d.imap(user);
    for f in folders {
        let (_, done) = c.command(&format!("CREATE \"{f}\""));
        assert!(done.starts_with("OK"), "CREATE {f} -> {done}");
    }
    c.logout();
}

/// Two accounts, Work and Home, each on its own Dovecot user, with the
/// local Maildirs under `Mail/<account>` (default sep `.`) and `mbnames`
/// appended.
struct Two {
    env: Env,
    work: User,
    home: User,
    port: u16,
}

impl Two {
    fn new(d: &Dovecot, tag: &str) -> Two {
        let work = d.add_user(&format!("{tag}w"));
        let home = d.add_user(&format!("{tag}h"));
        create(d, &work, &["Sent", "Lists/rust"]);
        create(d, &home, &["Archive"]);
        Two {
            env: Env::for_user(d, &work),
            work,
            home,
            port: d.port(),
        }
    }

    fn mail(&self, account: &str) -> PathBuf {
        self.env.maildir().join(account)
    }

    fn mailboxes(&self) -> PathBuf {
        self.env.dir.path().join("mailboxes")
    }

    fn write(&self, mbnames: &str) {
        let mut text = format!(
            "[general]\naccounts = Work, Home\nmetadata = {}\nfsync = no\n\n",
            self.env.metadata().display()
        );
        for (name, user) in [("Work", &self.work), ("Home", &self.home)] {
            text.push_str(&format!(
                "[Account {name}]\nlocalrepository = {name}Local\nremoterepository = {name}Remote\n\n\
                 [Repository {name}Local]\ntype = Maildir\nlocalfolders = {mail}\n\n\
                 [Repository {name}Remote]\ntype = IMAP\nremotehost = 127.0.0.1\n\
                 remoteport = {port}\nremoteuser = {user}\nremotepass = {pass}\n\
                 ssl = no\nstarttls = no\n\n",
                mail = self.mail(name).display(),
                port = self.port,
                user = user.name,
                pass = user.password,
            ));
        }
        text.push_str(mbnames);
        fs::write(self.env.config_path(), text).unwrap();
    }

    fn read(&self) -> String {
        fs::read_to_string(self.mailboxes()).unwrap()
    }
}

/// The example of the brief and of many mutt setups. `peritem` is not
/// evaluated (OfflineIMAP reads it raw), so its quotes stay.
const MUTT: &str = "[mbnames]\nenabled = yes\nfilename = ~/mailboxes\nheader = \"mailboxes \"\n\
                    peritem = \"+%(accountname)s/%(foldername)s\"\nsep = \" \"\nfooter = \"\\n\"\n";

#[test]
fn mutt_mailboxes_of_two_accounts() {
    let d = Dovecot::shared();
    let two = Two::new(d, "mbmutt");
    two.write(MUTT);
    let out = two.env.sync();
    assert!(!out.contains("mbnames"), "{out}");
    assert_eq!(
        two.read(),
        "mailboxes \"+Home/Archive\" \"+Home/INBOX\" \"+Work/INBOX\" \"+Work/Lists.rust\" \
         \"+Work/Sent\"\n"
    );
    // The per-account lists, as offlineimap3's json.dump writes them.
    let json = fs::read_to_string(two.env.metadata().join("mbnames/Home.json")).unwrap();
    let root = two.mail("Home");
    let root = root.display();
    assert_eq!(
        json,
        format!(
            "[{{\"accountname\": \"Home\", \"foldername\": \"Archive\", \"localfolders\": \"{root}\"}}, \
             {{\"accountname\": \"Home\", \"foldername\": \"INBOX\", \"localfolders\": \"{root}\"}}]"
        )
    );
    // Nothing left beside the file.
    let mut names: Vec<String> = fs::read_dir(two.env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Mail", "mailboxes", "meta", "offlineimaprc"]);
}

#[test]
fn incremental_filter_and_sort_key() {
    let d = Dovecot::shared();
    let two = Two::new(d, "mbincr");
    two.write(&format!(
        "{MUTT}incremental = yes\n\
         folderfilter = lambda accountname, foldername: foldername != 'Sent'\n\
         sort_keyfunc = lambda d: (d['foldername'] != 'INBOX', d['accountname'], d['foldername'])\n"
    ));
    // Incremental: one account's sync writes the file with its folders.
    two.env.run_capture(&["-a", "Work"]);
    assert_eq!(
        two.read(),
        "mailboxes \"+Work/INBOX\" \"+Work/Lists.rust\"\n"
    );
    // The next account's adds to the list of the first.
    let run = two.env.run_capture(&["-a", "Home"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert_eq!(
        two.read(),
        "mailboxes \"+Home/INBOX\" \"+Work/INBOX\" \"+Home/Archive\" \"+Work/Lists.rust\"\n"
    );
}

#[test]
fn dry_run_writes_nothing() {
    let d = Dovecot::shared();
    let two = Two::new(d, "mbdry");
    two.write(MUTT);
    let run = two.env.run_capture(&["--dry-run"]);
    assert!(run.text().contains("mbnames would write"), "{}", run.text());
    assert!(!two.mailboxes().exists());
    assert!(!two.env.metadata().join("mbnames").exists());
}

#[test]
fn bad_expression_stops_the_run_before_any_sync() {
    let d = Dovecot::shared();
    let two = Two::new(d, "mbbad");
    two.write(&MUTT.replace("sep = \" \"", "sep = \" "));
    let run = two.env.run_capture(&[]);
    assert_ne!(run.code, Some(0), "{}", run.text());
    let text = run.text();
    let line = text
        .lines()
        .find(|l| l.contains("[mbnames] sep:"))
        .unwrap_or_else(|| panic!("no error line naming the option:\n{text}"));
    assert!(line.starts_with("offlineimap: "), "{line}");
    assert!(!two.mail("Work").exists(), "{text}");
    assert!(!two.mailboxes().exists());
}

#[test]
fn mbnames_prune_forgets_accounts_no_longer_synced() {
    let d = Dovecot::shared();
    let two = Two::new(d, "mbprune");
    two.write(MUTT);
    two.env.sync();
    let lists = two.env.metadata().join("mbnames");
    // Home is dropped from `accounts`: its list goes, and the file with it.
    let path = two.env.config_path();
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("accounts = Work, Home", "accounts = Work");
    fs::write(&path, text).unwrap();
    let dry = two.env.run_capture(&["--mbnames-prune", "--dry-run"]);
    assert!(
        dry.text().contains("mbnames would remove"),
        "{}",
        dry.text()
    );
    assert!(lists.join("Home.json").exists());
    let run = two.env.run_capture(&["--mbnames-prune"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(run.text().contains("removed "), "{}", run.text());
    assert!(!lists.join("Home.json").exists());
    assert!(lists.join("Work.json").exists());
    assert_eq!(
        two.read(),
        "mailboxes \"+Work/INBOX\" \"+Work/Lists.rust\" \"+Work/Sent\"\n"
    );
}

/// OfflineIMAP 3 (Debian's `offlineimap3`), as scripts/test installs it.
const OFFLINEIMAP3: &str = "/usr/bin/offlineimap";

/// offlineimap3 and this build write the same per-account lists and the
/// same file from the same configuration, and each reads the other's.
#[test]
fn same_files_as_offlineimap3() {
    assert!(
        std::path::Path::new(OFFLINEIMAP3).is_file(),
        "{OFFLINEIMAP3} (Debian's offlineimap3) is needed; scripts/test installs it"
    );
    let d = Dovecot::shared();
    let two = Two::new(d, "mbinterop");
    two.write(&format!(
        "{MUTT}folderfilter = lambda a, f: not (a == 'Home' and f == 'INBOX')\n\
         sort_keyfunc = lambda d: (d['foldername'].lower(), d['accountname'])\n"
    ));
    let theirs = std::process::Command::new(OFFLINEIMAP3)
        .arg("-c")
        .arg(two.env.config_path())
        .args(["-o", "-u", "basic"])
        .env("HOME", two.env.dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&theirs.stdout),
        String::from_utf8_lossy(&theirs.stderr)
    );
    assert!(theirs.status.success(), "offlineimap3 failed:\n{text}");
    let lists = two.env.metadata().join("mbnames");
    let read = |p: PathBuf| fs::read_to_string(p).unwrap();
    let their_file = two.read();
    let their_work = read(lists.join("Work.json"));
    let their_home = read(lists.join("Home.json"));
    assert_eq!(
        their_file,
        "mailboxes \"+Home/Archive\" \"+Work/INBOX\" \"+Work/Lists.rust\" \"+Work/Sent\"\n"
    );

    // Ours, from their lists: only Work syncs, Home's list is theirs.
    fs::remove_file(two.mailboxes()).unwrap();
    fs::remove_file(lists.join("Work.json")).unwrap();
    let run = two.env.run_capture(&["-a", "Work"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert_eq!(read(lists.join("Work.json")), their_work);
    assert_eq!(two.read(), their_file);
    // And a whole run of ours writes what theirs wrote.
    fs::remove_file(two.mailboxes()).unwrap();
    fs::remove_dir_all(&lists).unwrap();
    two.env.sync();
    assert_eq!(read(lists.join("Work.json")), their_work);
    assert_eq!(read(lists.join("Home.json")), their_home);
    assert_eq!(two.read(), their_file);
}
