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
