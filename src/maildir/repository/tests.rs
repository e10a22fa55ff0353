//! Tests for the parent module; unwrap is fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::config::{MaildirRepository as Cfg, RepositoryCommon};

fn repo(root: &Path, sep: char) -> MaildirRepository {
    let cfg = Cfg {
        common: RepositoryCommon {
            name: "Local".into(),
            readonly: false,
            createfolders: true,
            sync_deletes: true,
        },
        localfolders: root.to_path_buf(),
        sep,
        windows_compatible: false,
        restoreatime: false,
        utime_from_header: false,
        filename_use_mail_timestamp: false,
        customflags: Vec::new(),
    };
    MaildirRepository::new(&cfg, false)
}

fn maildir(p: &Path) {
    for s in ["cur", "new", "tmp"] {
        fs::create_dir_all(p.join(s)).unwrap();
    }
}

#[test]
fn dot_separator_lists_top_level_only() {
    let t = tempfile::tempdir().unwrap();
    let r = repo(t.path(), '.');
    maildir(&t.path().join("INBOX"));
    maildir(&t.path().join("Lists.foo"));
    maildir(&t.path().join("Lists.foo/nested"));
    fs::create_dir(t.path().join("notafolder")).unwrap();
    fs::create_dir_all(t.path().join("half/cur")).unwrap();
    fs::write(t.path().join("file"), b"").unwrap();
    assert_eq!(r.list_folders().unwrap(), vec!["INBOX", "Lists.foo"]);
}

#[test]
fn slash_separator_recurses() {
    let t = tempfile::tempdir().unwrap();
    let r = repo(t.path(), '/');
    maildir(&t.path().join("INBOX"));
    maildir(&t.path().join("INBOX/Sub"));
    maildir(&t.path().join("Archive/2023/Q1"));
    assert_eq!(
        r.list_folders().unwrap(),
        vec!["Archive/2023/Q1", "INBOX", "INBOX/Sub"]
    );
    assert_eq!(
        r.folder_path("Archive/2023/Q1"),
        t.path().join("Archive").join("2023").join("Q1")
    );
}

#[test]
fn root_maildir_is_folder_with_empty_name() {
    let t = tempfile::tempdir().unwrap();
    maildir(t.path());
    let r = repo(t.path(), '.');
    assert_eq!(r.list_folders().unwrap(), vec![""]);
}

#[test]
fn symlink_loop_terminates() {
    let t = tempfile::tempdir().unwrap();
    maildir(&t.path().join("a"));
    std::os::unix::fs::symlink(t.path(), t.path().join("a/loop")).unwrap();
    let r = repo(t.path(), '/');
    let got = r.list_folders().unwrap();
    assert!(got.contains(&"a".to_string()));
}

#[test]
fn create_folder_makes_parents_and_subdirs_0700() {
    let t = tempfile::tempdir().unwrap();
    let r = repo(&t.path().join("mail"), '/');
    r.ensure_root().unwrap();
    r.create_folder("Entwürfe/Alt").unwrap();
    let p = t.path().join("mail/Entwürfe/Alt");
    for s in ["cur", "new", "tmp"] {
        let m = fs::metadata(p.join(s)).unwrap();
        assert!(m.is_dir());
        assert_eq!(m.permissions().mode() & 0o777, 0o700);
    }
    // Idempotent.
    r.create_folder("Entwürfe/Alt").unwrap();
    assert_eq!(r.list_folders().unwrap(), vec!["Entwürfe/Alt"]);
    let f = r.open_folder("Entwürfe/Alt").unwrap();
    assert_eq!(f.fmd5(), crate::maildir::filename::fmd5("Entwürfe/Alt"));
    let f = r.open_folder_as("Entwürfe/Alt", "Drafts.Alt").unwrap();
    assert_eq!(f.fmd5(), crate::maildir::filename::fmd5("Drafts.Alt"));
}

#[test]
fn bad_names_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let r = repo(t.path(), '/');
    for bad in ["../escape", "/abs", "a/cur", "x/new/y"] {
        let e = r.create_folder(bad).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::BadFolderName { .. }), "{bad}");
    }
    // With sep '.', `cur` inside a name is just text.
    let r = repo(t.path(), '.');
    r.create_folder("a.cur").unwrap();
    assert!(r.open_folder("missing").is_err());
}

#[test]
fn save_atimes_only_with_restoreatime_and_restore_puts_them_back() {
    use std::time::{Duration, UNIX_EPOCH};
    let t = tempfile::tempdir().unwrap();
    let off = repo(t.path(), '.');
    off.create_folder("INBOX").unwrap();
    assert!(off.save_atimes("INBOX").is_none());

    let cfg = Cfg {
        restoreatime: true,
        ..cfg_of(t.path())
    };
    let on = MaildirRepository::new(&cfg, false);
    let old = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let mtime = UNIX_EPOCH + Duration::from_secs(1_100_000_000);
    for sub in ["new", "cur"] {
        let d = fs::File::open(t.path().join("INBOX").join(sub)).unwrap();
        d.set_times(fs::FileTimes::new().set_accessed(old).set_modified(mtime))
            .unwrap();
    }
    let saved = on.save_atimes("INBOX").unwrap();
    // What a sync does: the atime moves, and so does the mtime.
    let later = UNIX_EPOCH + Duration::from_secs(1_200_000_000);
    for sub in ["new", "cur"] {
        let d = fs::File::open(t.path().join("INBOX").join(sub)).unwrap();
        d.set_times(fs::FileTimes::new().set_accessed(later).set_modified(later))
            .unwrap();
    }
    saved.restore().unwrap();
    for sub in ["new", "cur"] {
        let m = fs::metadata(t.path().join("INBOX").join(sub)).unwrap();
        assert_eq!(m.accessed().unwrap(), old, "{sub}");
        assert_eq!(m.modified().unwrap(), later, "{sub}");
    }
    // A folder that does not exist has nothing to keep.
    on.save_atimes("Missing").unwrap().restore().unwrap();
}

fn cfg_of(root: &Path) -> Cfg {
    Cfg {
        common: RepositoryCommon {
            name: "Local".into(),
            readonly: false,
            createfolders: true,
            sync_deletes: true,
        },
        localfolders: root.to_path_buf(),
        sep: '.',
        windows_compatible: false,
        restoreatime: false,
        utime_from_header: false,
        filename_use_mail_timestamp: false,
        customflags: Vec::new(),
    }
}

#[test]
fn opened_folders_get_the_header_options() {
    let t = tempfile::tempdir().unwrap();
    let cfg = Cfg {
        utime_from_header: true,
        filename_use_mail_timestamp: true,
        ..cfg_of(t.path())
    };
    let r = MaildirRepository::new(&cfg, false);
    r.create_folder("INBOX").unwrap();
    let mut f = r.open_folder("INBOX").unwrap();
    f.scan().unwrap();
    let msg = crate::sync::model::Message {
        id: crate::sync::model::MsgRef::Uid(0),
        flags: crate::sync::model::Flags::EMPTY,
        internal_date: Some(5),
        bytes: b"Date: Thu, 01 Jan 1970 00:00:10 +0000\r\n\r\nx\r\n"
            .to_vec()
            .into(),
    };
    f.write(&msg, Some(1)).unwrap();
    let name = fs::read_dir(t.path().join("INBOX/new"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert!(name.file_name().to_str().unwrap().starts_with("10_"));
    let m = name.metadata().unwrap();
    assert_eq!(
        m.modified().unwrap(),
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(10)
    );
}
