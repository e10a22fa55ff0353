//! Tests for the parent module; unwrap is fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

fn maildir(dir: &Path) -> PathBuf {
    let root = dir.join("INBOX");
    for s in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(s)).unwrap();
    }
    root
}

/// Whether this test's temporary directory is on a file system the watch
/// trusts; the tests below check the fallback (no watch) otherwise.
fn trusted(root: &Path) -> bool {
    let t = rustix::fs::statfs(root).unwrap().f_type;
    #[allow(clippy::unnecessary_cast)]
    LOCAL_FS.contains(&(t as i64))
}

/// A watch on a fresh Maildir, or `None` where the file system is not
/// trusted (then `start` must refuse it).
fn watched() -> Option<(tempfile::TempDir, PathBuf, ChangeWatch)> {
    let t = tempfile::tempdir().unwrap();
    let root = maildir(t.path());
    let w = ChangeWatch::start(&root);
    if !trusted(&root) {
        assert!(w.is_none(), "a watch on an untrusted file system");
        return None;
    }
    let w = w.expect("inotify watch on a local file system");
    Some((t, root, w))
}

fn verdict(root: &Path, w: &ChangeWatch) -> Verdict {
    barrier(&root.join("new"));
    barrier(&root.join("cur"));
    w.verify()
}

#[test]
fn no_change_is_only_ours() {
    let Some((_t, root, w)) = watched() else {
        return;
    };
    assert_eq!(verdict(&root, &w), Verdict::OnlyOurs);
}

#[test]
fn our_own_changes_counted_are_only_ours() {
    let Some((_t, root, mut w)) = watched() else {
        return;
    };
    fs::write(root.join("tmp/a"), b"x").unwrap();
    fs::rename(root.join("tmp/a"), root.join("new/a")).unwrap();
    w.ours(NEW, Kind::MovedTo);
    fs::rename(root.join("new/a"), root.join("cur/a:2,S")).unwrap();
    w.ours(NEW, Kind::MovedFrom);
    w.ours(CUR, Kind::MovedTo);
    fs::remove_file(root.join("cur/a:2,S")).unwrap();
    w.ours(CUR, Kind::Delete);
    assert_eq!(verdict(&root, &w), Verdict::OnlyOurs);
}

#[test]
fn a_change_we_did_not_count_is_seen() {
    let Some((_t, root, mut w)) = watched() else {
        return;
    };
    fs::write(root.join("tmp/a"), b"x").unwrap();
    fs::rename(root.join("tmp/a"), root.join("cur/a:2,")).unwrap();
    w.ours(CUR, Kind::MovedTo);
    // A mail client marks it seen: one rename more than we did.
    fs::rename(root.join("cur/a:2,"), root.join("cur/a:2,S")).unwrap();
    assert_eq!(verdict(&root, &w), Verdict::Changed);
}

#[test]
fn a_new_file_delivered_to_new_is_seen() {
    let Some((_t, root, w)) = watched() else {
        return;
    };
    fs::write(root.join("new/delivered"), b"x").unwrap();
    assert_eq!(verdict(&root, &w), Verdict::Changed);
}

#[test]
fn a_deletion_by_someone_else_is_seen_even_when_ours_balance() {
    let Some((_t, root, mut w)) = watched() else {
        return;
    };
    fs::write(root.join("cur/a"), b"x").unwrap();
    // We expected a deletion that happened; the client's create is extra.
    fs::remove_file(root.join("cur/a")).unwrap();
    w.ours(CUR, Kind::Delete);
    assert_eq!(verdict(&root, &w), Verdict::Changed);
}

#[test]
fn an_event_we_expected_but_did_not_happen_is_a_change() {
    // Counts must agree both ways: a missing event means our bookkeeping
    // is off, and then nothing is proven.
    let Some((_t, root, mut w)) = watched() else {
        return;
    };
    w.ours(CUR, Kind::Delete);
    assert_eq!(verdict(&root, &w), Verdict::Changed);
}

#[test]
fn a_directory_made_in_cur_is_a_change() {
    let Some((_t, root, w)) = watched() else {
        return;
    };
    fs::create_dir(root.join("cur/sub")).unwrap();
    assert_eq!(verdict(&root, &w), Verdict::Changed);
}

#[test]
fn cur_moved_away_is_unknown() {
    let Some((t, root, w)) = watched() else {
        return;
    };
    fs::rename(root.join("cur"), t.path().join("elsewhere")).unwrap();
    fs::create_dir(root.join("cur")).unwrap();
    assert_eq!(verdict(&root, &w), Verdict::Unknown);
}

#[test]
fn a_watch_needs_both_directories() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("INBOX");
    fs::create_dir_all(root.join("cur")).unwrap();
    assert!(ChangeWatch::start(&root).is_none());
}

#[test]
fn barrier_on_a_missing_directory_returns() {
    let t = tempfile::tempdir().unwrap();
    barrier(&t.path().join("missing"));
    assert!(!t.path().join("missing").exists());
}

/// Dropping a watch removes its watches at once (the kernel then queues
/// `IN_IGNORED` for each) and keeps the descriptor for a later close,
/// instead of closing it and waiting out the kernel's grace period.
#[test]
fn a_dropped_watch_is_removed_and_its_descriptor_kept() {
    use rustix::fd::AsRawFd;
    let Some((_t, _root, w)) = watched() else {
        return;
    };
    let raw = w.fd.as_ref().unwrap().as_raw_fd();
    let wds = w.wd;
    drop(w);
    let retired = RETIRED.lock().unwrap();
    let (_, fd) = retired
        .iter()
        .find(|(_, fd)| fd.as_raw_fd() == raw)
        .expect("the dropped watch's descriptor is kept");
    let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
    let mut reader = inotify::Reader::new(fd, &mut buf);
    let mut ignored = Vec::new();
    while let Ok(e) = reader.next() {
        assert!(e.events().contains(ReadFlags::IGNORED), "{:?}", e.events());
        ignored.push(e.wd());
    }
    ignored.sort_unstable();
    let mut wds = wds.to_vec();
    wds.sort_unstable();
    assert_eq!(ignored, wds);
}

/// The kept descriptors are closed by a later retirement once they are
/// older than `REAP`: a daemon does not pile them up.
#[test]
fn retired_descriptors_are_closed_after_a_while() {
    use rustix::fd::AsRawFd;
    let old = inotify::init(CreateFlags::CLOEXEC).unwrap();
    let raw = old.as_raw_fd();
    let long_ago = Instant::now().checked_sub(REAP * 2).unwrap();
    RETIRED.lock().unwrap().push((long_ago, old));
    retire(inotify::init(CreateFlags::CLOEXEC).unwrap());
    let retired = RETIRED.lock().unwrap();
    assert!(
        !retired
            .iter()
            .any(|(at, fd)| fd.as_raw_fd() == raw && *at == long_ago),
        "an old descriptor outlived the next retirement"
    );
    assert!(retired.iter().all(|(at, _)| at.elapsed() < REAP * 2));
}
