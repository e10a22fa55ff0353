//! Tests for the parent module; unwrap is fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use async_trait::async_trait;

use super::*;
use crate::sync::store::ErrorKind as StoreErrorKind;

fn make(dir: &Path) -> PathBuf {
    let root = dir.join("INBOX");
    for s in ["cur", "new", "tmp"] {
        fs::create_dir_all(root.join(s)).unwrap();
    }
    root
}

fn md5() -> String {
    filename::fmd5("INBOX")
}

fn put(root: &Path, sub: &str, name: &str, body: &[u8]) {
    fs::write(root.join(sub).join(name), body).unwrap();
}

fn names(root: &Path, sub: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(root.join(sub))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[derive(Default)]
struct Collect(Vec<Message>);

#[async_trait]
impl MessageSink for Collect {
    async fn accept(&mut self, msg: Message) -> Result<(), StoreError> {
        self.0.push(msg);
        Ok(())
    }
}

fn msg(bytes: &[u8], flags: &str, date: Option<i64>) -> Message {
    Message {
        id: MsgRef::Uid(0),
        flags: Flags::from_letters(flags),
        internal_date: date,
        bytes: bytes.to_vec().into(),
    }
}

#[test]
fn open_requires_maildir_layout() {
    let t = tempfile::tempdir().unwrap();
    let err = MaildirFolder::open(t.path(), "x", false, false).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::NotAMaildir));
    assert_eq!(StoreError::from(err).kind, StoreErrorKind::Folder);
}

#[tokio::test]
async fn snapshot_sorts_trusted_and_new() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(
        &root,
        "cur",
        &format!("1_0.1.h,U=3,FMD5={m}:2,FS"),
        b"abc\n",
    );
    put(&root, "new", &format!("1_1.1.h,U=4,FMD5={m}:2,"), b"x");
    // Copied from another folder: new.
    put(&root, "cur", "1_2.1.h,U=5,FMD5=0123:2,S", b"y");
    // Written by mutt: new.
    put(&root, "new", "1700000000.M1P2Q3.host", b"zz");
    put(&root, "cur", ".hidden", b"");
    put(
        &root,
        "tmp",
        &format!("1_3.1.h,U=9,FMD5={m}:2,"),
        b"partial",
    );

    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    let s = f.snapshot().await.unwrap();
    assert_eq!(s.uids.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
    assert_eq!(s.uids[&3].flags.to_string(), "FS");
    // Sizes of messages with a UID are not read (no stat per message).
    assert_eq!(s.uids[&3].size, 0);
    assert_eq!(s.new.len(), 2);
    // new/ before cur/, each in name order.
    assert_eq!(s.new[0].id, NewId(0));
    assert_eq!(s.new[0].meta.size, 2);
    assert_eq!(s.new[1].meta.flags.to_string(), "S");
}

#[tokio::test]
async fn duplicate_uid_is_a_folder_error_naming_both_files() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(&root, "cur", &format!("1_0.1.h,U=3,FMD5={m}:2,S"), b"a");
    put(&root, "cur", &format!("1_9.1.h,U=3,FMD5={m}:2,S"), b"a");
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    let err = f.snapshot().await.unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Folder);
    assert!(err.message.contains("1_0.1.h"), "{}", err.message);
    assert!(err.message.contains("1_9.1.h"), "{}", err.message);
}

#[tokio::test]
async fn append_writes_lf_and_fetch_gives_crlf_back() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", false, true).unwrap();
    f.snapshot().await.unwrap();
    let wire = b"Subject: hi\r\n\r\nbody\r\nbare\rcr\r\n".to_vec();
    let got = f
        .append(&msg(&wire, "S", Some(1_000_000_000)), Some(12))
        .await
        .unwrap();
    assert_eq!(got, Some(12));
    assert!(names(&root, "tmp").is_empty());
    assert!(names(&root, "new").is_empty());
    let cur = names(&root, "cur");
    assert_eq!(cur.len(), 1);
    assert!(
        cur[0].ends_with(&format!(",U=12,FMD5={}:2,S", md5())),
        "{}",
        cur[0]
    );
    let on_disk = fs::read(root.join("cur").join(&cur[0])).unwrap();
    assert_eq!(on_disk, b"Subject: hi\n\nbody\nbare\rcr\n");
    let mtime = fs::metadata(root.join("cur").join(&cur[0]))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(mtime, UNIX_EPOCH + Duration::from_secs(1_000_000_000));

    // A fresh folder object sees the same message and gives back the bytes.
    let mut g = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    let s = g.snapshot().await.unwrap();
    assert_eq!(s.uids[&12].flags.to_string(), "S");
    let mut sink = Collect::default();
    g.fetch(&[MsgRef::Uid(12)], &mut sink).await.unwrap();
    assert_eq!(sink.0.len(), 1);
    assert_eq!(sink.0[0].bytes, wire);
    assert_eq!(sink.0[0].internal_date, Some(1_000_000_000));
    assert_eq!(sink.0[0].id, MsgRef::Uid(12));
}

#[tokio::test]
async fn unseen_goes_to_new_and_windows_separator_is_used() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", true, false).unwrap();
    f.append(&msg(b"x\r\n", "F", None), Some(1)).await.unwrap();
    let new = names(&root, "new");
    assert_eq!(new.len(), 1);
    assert!(new[0].ends_with("!2,F"), "{}", new[0]);
    assert!(!new[0].contains(':'));
}

#[tokio::test]
async fn append_without_uid_is_new_next_time() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    assert_eq!(
        f.append(&msg(b"x\r\n", "", None), None).await.unwrap(),
        None
    );
    let s = f.snapshot().await.unwrap();
    assert!(s.uids.is_empty());
    assert_eq!(s.new.len(), 1);
}

#[tokio::test]
async fn append_of_known_uid_only_updates_flags() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(&root, "new", &format!("1_0.1.h,U=3,FMD5={m}:2,"), b"a\n");
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    f.append(&msg(b"a\r\n", "S", None), Some(3)).await.unwrap();
    assert!(names(&root, "new").is_empty());
    assert_eq!(
        names(&root, "cur"),
        vec![format!("1_0.1.h,U=3,FMD5={m}:2,S")]
    );
}

#[tokio::test]
async fn flags_rename_and_move_by_seen_rule() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(&root, "new", &format!("1_0.1.h,U=3,FMD5={m}:2,F"), b"a");
    put(&root, "cur", "1700000000.M1.host,S=1,W=1:2,S", b"b");
    let mut f = MaildirFolder::open(&root, "INBOX", false, true).unwrap();
    f.snapshot().await.unwrap();
    f.add_flags(&[3], Flags::from_letters("SR")).await.unwrap();
    assert!(names(&root, "new").is_empty());
    assert!(names(&root, "cur").contains(&format!("1_0.1.h,U=3,FMD5={m}:2,FRS")));
    f.remove_flags(&[3], Flags::from_letters("S"))
        .await
        .unwrap();
    assert_eq!(
        names(&root, "new"),
        vec![format!("1_0.1.h,U=3,FMD5={m}:2,FR")]
    );
    // Nothing else was touched.
    assert_eq!(
        names(&root, "cur"),
        vec!["1700000000.M1.host,S=1,W=1:2,S".to_string()]
    );
    let s = f.snapshot().await.unwrap();
    assert_eq!(s.uids[&3].flags.to_string(), "FR");
}

#[tokio::test]
async fn assign_uid_renames_new_message_in_place() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(&root, "cur", "1700000000.M1.host,S=1:2,RS", b"b");
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    let s = f.snapshot().await.unwrap();
    let id = s.new[0].id;
    f.assign_uid(MsgRef::New(id), 41).await.unwrap();
    assert_eq!(
        names(&root, "cur"),
        vec![format!("1700000000.M1.host,S=1,U=41,FMD5={m}:2,RS")]
    );
    // Now reachable by UID.
    f.add_flags(&[41], Flags::from_letters("F")).await.unwrap();
    let s = f.snapshot().await.unwrap();
    assert_eq!(s.uids[&41].flags.to_string(), "FRS");
    assert!(s.new.is_empty());
}

#[tokio::test]
async fn assign_uid_refuses_a_uid_in_use() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(&root, "cur", &format!("1_0.1.h,U=3,FMD5={m}:2,S"), b"a");
    put(&root, "cur", "foreign:2,S", b"b");
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    let err = f.assign_uid(MsgRef::New(NewId(0)), 3).await.unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Message);
    assert_eq!(names(&root, "cur").len(), 2);
}

#[tokio::test]
async fn delete_unlinks_only_named_files() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(&root, "cur", &format!("1_0.1.h,U=3,FMD5={m}:2,S"), b"a");
    put(&root, "cur", &format!("1_1.1.h,U=4,FMD5={m}:2,S"), b"a");
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    f.delete(&[3]).await.unwrap();
    assert_eq!(
        names(&root, "cur"),
        vec![format!("1_1.1.h,U=4,FMD5={m}:2,S")]
    );
}

#[tokio::test]
async fn vanished_files_are_skipped() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    let n = format!("1_0.1.h,U=3,FMD5={m}:2,S");
    put(&root, "cur", &n, b"a");
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    fs::remove_file(root.join("cur").join(&n)).unwrap();
    let mut sink = Collect::default();
    f.fetch(&[MsgRef::Uid(3)], &mut sink).await.unwrap();
    assert!(sink.0.is_empty());
    f.add_flags(&[3], Flags::from_letters("F")).await.unwrap();
    f.delete(&[3]).await.unwrap();
    assert!(names(&root, "cur").is_empty() && names(&root, "new").is_empty());
}

#[tokio::test]
async fn file_renamed_by_a_client_is_found_again() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    let n = format!("1_0.1.h,U=3,FMD5={m}:2,");
    put(&root, "new", &n, b"a");
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    // The user read it in mutt meanwhile.
    let moved = format!("1_0.1.h,U=3,FMD5={m}:2,S");
    fs::rename(root.join("new").join(&n), root.join("cur").join(&moved)).unwrap();
    f.add_flags(&[3], Flags::from_letters("F")).await.unwrap();
    assert_eq!(
        names(&root, "cur"),
        vec![format!("1_0.1.h,U=3,FMD5={m}:2,FS")]
    );
    assert!(names(&root, "new").is_empty());
}

/// A message larger than one write's piece is written piece by piece; a
/// CRLF cut by a piece's end still becomes one LF, and a bare CR stays.
#[tokio::test]
async fn a_large_message_is_written_in_pieces_with_lf_ends() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", false, true).unwrap();
    f.snapshot().await.unwrap();
    let mut wire = b"Subject: big\r\n\r\n".to_vec();
    // The first piece ends between a CR and its LF.
    wire.resize(LF_CHUNK - 1, b'a');
    wire.extend_from_slice(b"\r\n");
    // The second one with a bare CR.
    wire.resize(2 * LF_CHUNK - 1, b'b');
    wire.extend_from_slice(b"\rc\r\nend\r\n");
    let got = f.append(&msg(&wire, "", None), Some(7)).await.unwrap();
    assert_eq!(got, Some(7));
    let new = names(&root, "new");
    assert_eq!(new.len(), 1);
    let on_disk = fs::read(root.join("new").join(&new[0])).unwrap();
    let mut want = b"Subject: big\n\n".to_vec();
    want.resize(LF_CHUNK - 3, b'a');
    want.push(b'\n');
    want.resize(2 * LF_CHUNK - 4, b'b');
    want.extend_from_slice(b"\rc\nend\n");
    assert_eq!(on_disk.len(), want.len());
    assert!(on_disk == want, "the LF form differs");
}

#[tokio::test]
async fn rename_never_overwrites() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(&root, "new", &format!("1_0.1.h,U=3,FMD5={m}:2,"), b"mine");
    // Same unique part already in cur/ under the target name.
    put(&root, "cur", &format!("1_0.1.h,U=3,FMD5={m}:2,S"), b"other");
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    // The duplicate is caught at scan time.
    assert!(f.snapshot().await.is_err());
    // And if it appears after the scan, the rename refuses.
    fs::remove_file(root.join("cur").join(format!("1_0.1.h,U=3,FMD5={m}:2,S"))).unwrap();
    f.snapshot().await.unwrap();
    put(&root, "cur", &format!("1_0.1.h,U=3,FMD5={m}:2,S"), b"other");
    let err = f
        .add_flags(&[3], Flags::from_letters("S"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Message);
    assert_eq!(
        fs::read(root.join("new").join(format!("1_0.1.h,U=3,FMD5={m}:2,"))).unwrap(),
        b"mine"
    );
    assert_eq!(
        fs::read(root.join("cur").join(format!("1_0.1.h,U=3,FMD5={m}:2,S"))).unwrap(),
        b"other"
    );
}

#[tokio::test]
async fn unknown_refs_are_errors() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    let mut sink = Collect::default();
    let err = f
        .fetch(&[MsgRef::New(NewId(5))], &mut sink)
        .await
        .unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Message);
    assert!(err.message.contains("-6"), "{}", err.message);
}

#[test]
fn out_of_space_is_a_repository_error() {
    let e = Error::message_io("/x", "write", io::Error::from(io::ErrorKind::StorageFull));
    assert_eq!(StoreError::from(e).kind, StoreErrorKind::Repository);
    let e = Error::message_io(
        "/x/y",
        "write",
        io::Error::from(io::ErrorKind::PermissionDenied),
    );
    let se = StoreError::from(e);
    assert_eq!(se.kind, StoreErrorKind::Message);
    assert!(
        se.message.starts_with("/x/y: cannot write message file"),
        "{}",
        se.message
    );
}

#[test]
fn select_by_name_time_and_size() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(
        &root,
        "cur",
        &format!("1000_0.host,U=1,FMD5={m}:2,S"),
        b"old\n",
    );
    put(
        &root,
        "cur",
        &format!("3000_0.host,U=2,FMD5={m}:2,S"),
        b"recent\n",
    );
    put(&root, "new", "2500.M1P2.host", b"new and big enough\n");
    put(&root, "new", "nodigits.host", b"x\n");
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    let snap = f.scan().unwrap();
    let new_id = |body: &[u8]| {
        let n = snap
            .new
            .iter()
            .find(|n| n.meta.size == body.len() as u64)
            .unwrap();
        MsgRef::New(n.id)
    };
    let big = new_id(b"new and big enough\n");
    let undated = new_id(b"x\n");
    let by_time = f.select(Some(2000), None).unwrap();
    assert_eq!(
        by_time,
        [MsgRef::Uid(2), big, undated].into_iter().collect()
    );
    let by_size = f.select(None, Some(7)).unwrap();
    assert_eq!(
        by_size,
        [MsgRef::Uid(1), MsgRef::Uid(2), undated]
            .into_iter()
            .collect()
    );
    assert_eq!(
        f.select(Some(2000), Some(7)).unwrap(),
        [MsgRef::Uid(2), undated].into_iter().collect()
    );
}

#[test]
fn name_time_is_the_first_digit_run() {
    assert_eq!(
        name_time(OsStr::new("1700000000.M1P2.host")),
        Some(1_700_000_000)
    );
    assert_eq!(name_time(OsStr::new("abc12def34")), Some(12));
    assert_eq!(name_time(OsStr::new("no-digits")), None);
    assert_eq!(
        name_time(OsStr::new("99999999999999999999999")),
        Some(i64::MAX)
    );
}

fn mtime_of(root: &Path, sub: &str, name: &str) -> i64 {
    mtime_secs(&fs::metadata(root.join(sub).join(name)).unwrap()).unwrap()
}

const DATED: &[u8] = b"Subject: x\r\nDate: Tue,\r\n 1 Jul 2003 10:52:37 +0200\r\n\
    Delivery-date: Wed, 2 Jul 2003 10:52:37 +0200\r\n\r\nDate: Fri, 1 Jan 2010 00:00:00 +0000\r\n";
/// `DATED`'s Date: 2003-07-01 08:52:37 UTC.
const DATE: i64 = 1_057_049_557;

#[tokio::test]
async fn utime_from_header_sets_mtime_from_date() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", false, false)
        .unwrap()
        .with_header_times(true, false);
    f.snapshot().await.unwrap();
    f.append(&msg(DATED, "S", Some(1_000_000_000)), Some(1))
        .await
        .unwrap();
    let n = &names(&root, "cur")[0];
    assert_eq!(mtime_of(&root, "cur", n), DATE);
    // The name keeps the time of writing.
    let secs: i64 = n.split('_').next().unwrap().parse().unwrap();
    assert!(secs > 1_600_000_000, "{n}");

    // No usable Date: the server's date, as without the option.
    for body in [
        &b"Subject: none\r\n\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\r\n"[..],
        b"Date: not a date\r\n\r\n",
        b"Delivery-date: Tue, 1 Jul 2003 10:52:37 +0200\r\n\r\n",
    ] {
        let got = f
            .append(&msg(body, "", Some(1_000_000_000)), None)
            .await
            .unwrap();
        assert_eq!(got, None);
    }
    for n in names(&root, "new") {
        assert_eq!(mtime_of(&root, "new", &n), 1_000_000_000, "{n}");
    }
}

#[tokio::test]
async fn without_the_options_internaldate_and_now_are_used() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    f.append(&msg(DATED, "", Some(1_000_000_000)), Some(1))
        .await
        .unwrap();
    let n = &names(&root, "new")[0];
    assert_eq!(mtime_of(&root, "new", n), 1_000_000_000);
    let secs: i64 = n.split('_').next().unwrap().parse().unwrap();
    assert!(secs > 1_600_000_000, "{n}");
}

#[tokio::test]
async fn filename_use_mail_timestamp_puts_date_in_the_name() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", false, false)
        .unwrap()
        .with_header_times(false, true);
    f.snapshot().await.unwrap();
    f.append(&msg(DATED, "S", Some(1_000_000_000)), Some(1))
        .await
        .unwrap();
    // Delivery-date only, then neither.
    let delivery = b"Delivery-date: Wed, 2 Jul 2003 08:52:37 +0000\r\nDate: junk\r\n\r\n";
    f.append(&msg(delivery, "S", None), Some(2)).await.unwrap();
    f.append(&msg(b"Subject: x\r\n\r\n", "S", None), Some(3))
        .await
        .unwrap();
    let by_uid = |uid: u32| {
        names(&root, "cur")
            .into_iter()
            .find(|n| n.contains(&format!(",U={uid},")))
            .unwrap()
    };
    let secs = |n: &str| n.split('_').next().unwrap().parse::<i64>().unwrap();
    let first = by_uid(1);
    assert!(first.starts_with(&format!("{DATE}_")), "{first}");
    // The mtime stays the server's date.
    assert_eq!(mtime_of(&root, "cur", &first), 1_000_000_000);
    assert_eq!(secs(&by_uid(2)), DATE + 86_400);
    assert!(secs(&by_uid(3)) > 1_600_000_000);
    // The folder reads its own names back with their UIDs.
    let snap = f.snapshot().await.unwrap();
    assert_eq!(snap.uids.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(snap.new.is_empty());
}

#[tokio::test]
async fn both_header_options_together() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", true, false)
        .unwrap()
        .with_header_times(true, true);
    f.snapshot().await.unwrap();
    f.append(&msg(DATED, "", None), Some(9)).await.unwrap();
    let n = &names(&root, "new")[0];
    assert!(n.starts_with(&format!("{DATE}_")), "{n}");
    assert!(n.ends_with("!2,"), "{n}");
    assert_eq!(mtime_of(&root, "new", n), DATE);
}

#[test]
fn index_names_drop_the_folders_fmd5_and_give_it_back() {
    let md5 = "0123456789abcdef0123456789abcdef";
    let cases = [
        format!("1763795123_0.1.host,U=17,FMD5={md5}:2,S"),
        // Another folder's FMD5 is kept as it is.
        "1763795123_0.1.host,U=17,FMD5=ffffffffffffffffffffffffffffffff:2,S".to_string(),
        format!("1763795123_0.1.host,FMD5=x,U=3,FMD5={md5}:2,"),
        "plain-name-from-a-client:2,FS".to_string(),
    ];
    for full in cases {
        let name = super::Name::new(full.clone().into(), md5);
        assert_eq!(name.full(md5).to_str(), Some(full.as_str()));
    }
    let ours = super::Name::new(format!("1_0.1.h,U=17,FMD5={md5}:2,S").into(), md5);
    assert_eq!(ours.rest.to_str(), Some("1_0.1.h,U=17:2,S"));
    // A non-UTF-8 name is kept byte for byte.
    use std::os::unix::ffi::OsStrExt;
    let raw = std::ffi::OsStr::from_bytes(b"bad\xff,FMD5=0123456789abcdef0123456789abcdef");
    let name = super::Name::new(raw.to_os_string(), md5);
    assert_eq!(&*name.full(md5), raw);
}

/// Whether `root` is on a file system whose inotify the folder trusts
/// (`watch::LOCAL_FS`); without it a folder has no proof to give.
fn watchable(root: &Path) -> bool {
    ChangeWatch::start(root).is_some()
}

/// A folder after a sync of every kind of change: a write to new/ and one
/// to cur/, a rename within cur/, a move from new/ to cur/, a deletion and
/// a UID given to a client's message.
async fn synced_folder(root: &Path) -> MaildirFolder {
    let m = md5();
    put(root, "cur", &format!("1_0.1.h,U=3,FMD5={m}:2,S"), b"a");
    put(root, "new", &format!("1_1.1.h,U=4,FMD5={m}:2,"), b"b");
    put(root, "cur", &format!("1_2.1.h,U=5,FMD5={m}:2,S"), b"c");
    put(root, "cur", "1700000000.M1.host:2,S", b"d");
    let mut f = MaildirFolder::open(root, "INBOX", false, false).unwrap();
    let s = f.snapshot().await.unwrap();
    f.append(&msg(b"new\r\n", "", None), Some(10))
        .await
        .unwrap();
    f.append(&msg(b"seen\r\n", "S", None), Some(11))
        .await
        .unwrap();
    f.add_flags(&[3], Flags::from_letters("F")).await.unwrap();
    f.add_flags(&[4], Flags::from_letters("S")).await.unwrap();
    f.delete(&[5]).await.unwrap();
    f.assign_uid(MsgRef::New(s.new[0].id), 12).await.unwrap();
    f
}

#[tokio::test]
async fn proof_after_our_own_changes_matches_a_new_listing() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = synced_folder(&root).await;
    let Some(proof) = f.take_proof() else {
        assert!(!watchable(&root), "no proof on a watchable file system");
        return;
    };
    watch::barrier(&root.join("new"));
    watch::barrier(&root.join("cur"));
    assert_eq!(proof.watch.verify(), watch::Verdict::OnlyOurs);
    let listed: Vec<(Uid, Flags)> = f.listing().unwrap().unwrap().into_iter().collect();
    assert_eq!(proof.listing, listed);
    assert_eq!(
        listed.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
        vec![3, 4, 10, 11, 12]
    );
}

#[tokio::test]
async fn proof_sees_a_mail_client_change_during_the_sync() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    let mut f = synced_folder(&root).await;
    // The client marks a message flagged after our scan.
    fs::rename(
        root.join("cur").join(format!("1_0.1.h,U=3,FMD5={m}:2,FS")),
        root.join("cur").join(format!("1_0.1.h,U=3,FMD5={m}:2,S")),
    )
    .unwrap();
    let Some(proof) = f.take_proof() else {
        assert!(!watchable(&root), "no proof on a watchable file system");
        return;
    };
    watch::barrier(&root.join("cur"));
    assert_eq!(proof.watch.verify(), watch::Verdict::Changed);
}

#[tokio::test]
async fn no_proof_while_a_message_has_no_uid_or_after_a_range_scan() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    put(&root, "new", "1700000000.M1.host", b"d");
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    assert!(f.take_proof().is_none());
    fs::remove_file(root.join("new/1700000000.M1.host")).unwrap();
    f.scan_range(1, 10, &[]).unwrap();
    assert!(f.take_proof().is_none());
}

#[test]
fn census_orders_uids_and_keeps_each_ones_flags() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(&root, "cur", &format!("1_0.1.h,U=30,FMD5={m}:2,FS"), b"a");
    put(&root, "cur", &format!("1_1.1.h,U=7,FMD5={m}:2,S"), b"b");
    put(&root, "new", &format!("1_2.1.h,U=12,FMD5={m}"), b"c");
    put(&root, "cur", &format!("1_3.1.h,U=500,FMD5={m}:2,RSa"), b"d");
    // No UID this folder trusts: counted as new, not listed.
    put(&root, "cur", "1_4.1.h,U=8,FMD5=0123:2,S", b"e");
    put(&root, "new", "1_5.1.h", b"f");
    let f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    let census = f.census().unwrap();
    assert_eq!(census.uids().collect::<Vec<_>>(), vec![7, 12, 30, 500]);
    assert_eq!(census.len(), 4);
    assert_eq!(census.new, 2);
    assert!(census.exact());
    let flags = |snap: &Snapshot| -> Vec<(Uid, String)> {
        snap.uids
            .iter()
            .map(|(u, m)| (*u, m.flags.letters().collect()))
            .collect()
    };
    assert_eq!(
        flags(&census.range(1, u32::MAX)),
        vec![
            (7, "S".to_string()),
            (12, String::new()),
            (30, "FS".to_string()),
            (500, "RSa".to_string())
        ]
    );
    assert_eq!(
        flags(&census.range(12, 30)),
        vec![(12, String::new()), (30, "FS".to_string())]
    );
    assert!(census.range(31, 499).uids.is_empty());
    assert!(census.range(600, 500).uids.is_empty());
}

#[test]
fn census_with_a_uid_claimed_twice_is_not_exact() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    put(&root, "cur", &format!("1_0.1.h,U=4,FMD5={m}:2,S"), b"a");
    put(&root, "cur", &format!("1_1.1.h,U=4,FMD5={m}:2,F"), b"b");
    put(&root, "cur", &format!("1_2.1.h,U=5,FMD5={m}:2,"), b"c");
    let f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    let census = f.census().unwrap();
    assert!(!census.exact());
    assert_eq!(census.uids().collect::<Vec<_>>(), vec![4, 5]);
}

#[test]
fn census_with_more_flag_sets_than_its_index_holds_is_not_exact() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    // 300 distinct sets of keyword letters: more than the 256 an index holds.
    let letters: Vec<char> = ('a'..='z').collect();
    for uid in 1..=300u32 {
        let set: String = letters
            .iter()
            .enumerate()
            .filter(|(i, _)| uid & (1 << i) != 0)
            .map(|(_, c)| *c)
            .collect();
        put(
            &root,
            "cur",
            &format!("1_{uid}.1.h,U={uid},FMD5={m}:2,{set}"),
            b"x",
        );
    }
    let f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    let census = f.census().unwrap();
    assert_eq!(census.len(), 300);
    assert!(!census.exact());
    assert_eq!(census.uids().last(), Some(300));
}

/// Pieces from a list, as a fetching store hands them over.
struct Listed(std::collections::VecDeque<Vec<u8>>);

#[async_trait]
impl Pieces for Listed {
    async fn next(&mut self) -> Result<Option<bytes::Bytes>, StoreError> {
        Ok(self.0.pop_front().map(bytes::Bytes::from))
    }
}

/// A message written in pieces is the file a whole write makes, wherever
/// the pieces are cut: between a CR and its LF, after a lone CR, into
/// pieces of one byte.
#[tokio::test]
async fn append_in_pieces_writes_what_a_whole_append_writes() {
    let wire = b"Subject: pieces\r\n\r\nline\r\nlone\rcr\r\r\nend\r".to_vec();
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    f.append(&msg(&wire, "S", None), Some(1)).await.unwrap();
    let whole = fs::read(root.join("cur").join(&names(&root, "cur")[0])).unwrap();
    assert_eq!(whole, b"Subject: pieces\n\nline\nlone\rcr\r\nend\r");

    let mut uid = 1;
    let cuts: Vec<Vec<usize>> = (1..wire.len())
        .map(|i| vec![i])
        .chain([(1..wire.len()).collect()])
        .collect();
    for cut in cuts {
        uid += 1;
        let mut pieces = Vec::new();
        let mut at = 0;
        for c in cut.iter().copied().chain([wire.len()]) {
            pieces.push(wire[at..c].to_vec());
            at = c;
        }
        let head = msg(&pieces.remove(0), "", Some(1_000_000_000));
        let mut rest = Listed(pieces.into());
        let got = f
            .append_in_pieces(&head, &mut rest, Some(uid))
            .await
            .unwrap();
        assert_eq!(got, Some(uid));
        let path = f.path_of(&f.uids[&uid]);
        assert_eq!(fs::read(&path).unwrap(), whole, "cut at {cut:?}");
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(mtime, UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    }
    assert!(names(&root, "tmp").is_empty());
}

/// A piece that fails (the connection dropped) leaves no file anywhere,
/// and the fetching store's error comes back as it was.
#[tokio::test]
async fn a_failed_piece_leaves_nothing() {
    struct Failing(bool);
    #[async_trait]
    impl Pieces for Failing {
        async fn next(&mut self) -> Result<Option<bytes::Bytes>, StoreError> {
            if std::mem::replace(&mut self.0, true) {
                return Err(StoreError::new(
                    StoreErrorKind::Transient,
                    "connection lost",
                ));
            }
            Ok(Some(bytes::Bytes::from_static(b"more\r\n")))
        }
    }
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    let head = msg(b"Subject: x\r\n\r\n", "S", None);
    let err = f
        .append_in_pieces(&head, &mut Failing(false), Some(5))
        .await
        .unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::Transient);
    assert_eq!(err.message, "connection lost");
    for sub in ["tmp", "new", "cur"] {
        assert!(names(&root, sub).is_empty(), "{sub}");
    }
    assert!(f.snapshot().await.unwrap().uids.is_empty());
}

/// What a sink got of each message: the pieces and the announced total.
#[derive(Default)]
struct PieceLog(Vec<(Vec<bytes::Bytes>, Option<u64>)>);

#[async_trait]
impl MessageSink for PieceLog {
    async fn accept(&mut self, msg: Message) -> Result<(), StoreError> {
        self.0.push((vec![msg.bytes], None));
        Ok(())
    }

    async fn accept_in_pieces(
        &mut self,
        head: Message,
        rest: &mut dyn Pieces,
    ) -> Result<(), StoreError> {
        let total = rest.total();
        let mut pieces = vec![head.bytes];
        while let Some(p) = rest.next().await? {
            pieces.push(p);
        }
        self.0.push((pieces, total));
        Ok(())
    }
}

/// A file above one read piece is handed over in pieces of CRLF text
/// whose sum is the whole file's CRLF form, its length announced first;
/// a CR ending one piece keeps the LF starting the next from getting
/// another. A small file comes whole.
#[tokio::test]
async fn a_big_file_is_handed_over_in_pieces_with_its_length() {
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let m = md5();
    let mut big = b"Subject: big\n\n".to_vec();
    while big.len() < READ_PIECE - 1 {
        big.extend_from_slice(b"a line with a bare LF\n");
    }
    big.truncate(READ_PIECE - 1);
    // A CR as the last byte of the first piece, its LF the first of the
    // second; a bare LF first in the third.
    big.extend_from_slice(b"\r\n");
    while big.len() < 2 * READ_PIECE {
        big.extend_from_slice(b"crlf line\r\n");
    }
    big.truncate(2 * READ_PIECE);
    big.extend_from_slice(b"\nlast\rline\n");
    put(&root, "cur", &format!("1_0.1.h,U=1,FMD5={m}:2,S"), &big);
    put(
        &root,
        "cur",
        &format!("1_1.1.h,U=2,FMD5={m}:2,S"),
        b"small\n",
    );
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    let mut log = PieceLog::default();
    f.fetch(&[MsgRef::Uid(1), MsgRef::Uid(2)], &mut log)
        .await
        .unwrap();
    let want = lf_to_crlf(&big);
    let (pieces, total) = &log.0[0];
    assert_eq!(pieces.len(), 3);
    assert_eq!(*total, Some(want.len() as u64));
    assert_eq!(pieces.concat(), want);
    assert_eq!(
        log.0[1],
        (vec![bytes::Bytes::from_static(b"small\r\n")], None)
    );
}

/// A file that grows while its pieces are read is an error, not a
/// message longer than it said.
#[tokio::test]
async fn a_file_that_changes_while_handed_over_is_an_error() {
    struct Grow(PathBuf);
    #[async_trait]
    impl MessageSink for Grow {
        async fn accept(&mut self, _: Message) -> Result<(), StoreError> {
            panic!("handed over whole");
        }
        async fn accept_in_pieces(
            &mut self,
            _head: Message,
            rest: &mut dyn Pieces,
        ) -> Result<(), StoreError> {
            let mut f = OpenOptions::new().append(true).open(&self.0).unwrap();
            f.write_all(b"more\n").unwrap();
            while rest.next().await?.is_some() {}
            Ok(())
        }
    }
    let t = tempfile::tempdir().unwrap();
    let root = make(t.path());
    let name = format!("1_0.1.h,U=1,FMD5={}:2,S", md5());
    put(&root, "cur", &name, &vec![b'x'; READ_PIECE + 10]);
    let mut f = MaildirFolder::open(&root, "INBOX", false, false).unwrap();
    f.snapshot().await.unwrap();
    let err = f
        .fetch(&[MsgRef::Uid(1)], &mut Grow(root.join("cur").join(&name)))
        .await
        .unwrap_err();
    assert!(err.message.contains("changed while it was read"), "{err}");
}
