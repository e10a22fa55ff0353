//! FolderModSeq files: what a CONDSTORE server reported for a folder at
//! the end of a sync that left the server, the status cache and the
//! Maildir in agreement, so that the next sync can tell the server's side
//! is unchanged without listing it.
//!
//! `<metadata>/Repository-<remote>/FolderModSeq/<basename>` holds one
//! line: `<uidvalidity> <uidnext> <highestmodseq> <exists> <statusdigest>
//! <localstamp>` (decimal numbers, the digest and the stamp 16 lowercase
//! hex digits), replaced atomically. OfflineIMAP does not know this
//! directory and never reads it; none of its own files are touched.
//!
//! The local stamp ([`local_stamp`]) says the Maildir folder and the
//! status database have not been touched since the status cache was
//! proven equal to the Maildir; with an unchanged server too, a sync has
//! nothing to do and can skip the folder without reading either.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::Error;
use super::paths::{folder_basename, repository_dir};
use super::validity::write_atomically;
use crate::sync::model::{Flags, StatusSnapshot, Uid};

/// The server's state of a folder at the end of a sync, and a digest of the
/// status cache as it then was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModSeqState {
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub highest_modseq: u64,
    pub exists: u32,
    /// [`status_digest`] of the status cache the server's state agreed with.
    pub status_digest: u64,
    /// [`LocalStamp::digest`] of the Maildir folder and status database,
    /// taken when the Maildir was proven to hold exactly the status cache;
    /// 0 when that was not proven.
    pub local: u64,
}

impl ModSeqState {
    /// Same server state and status digest; the local stamp aside.
    pub fn same_server(&self, other: &ModSeqState) -> bool {
        ModSeqState { local: 0, ..*self } == ModSeqState { local: 0, ..*other }
    }
}

/// Identity and modification times of the files that make up a folder's
/// local state (the Maildir's `cur/` and `new/`, the status database).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalStamp {
    /// FNV-1a over device, inode, size and mtime (to the nanosecond) of
    /// each file; never 0.
    pub digest: u64,
    /// The newest of the modification times.
    pub newest: std::time::SystemTime,
    /// Some mtime has no sub-second part: the file system may keep whole
    /// seconds only, and a change within the same second would not show.
    pub coarse: bool,
}

/// Stamp `paths` (see [`LocalStamp`]); `seed` goes into the digest too
/// (the caller's digest of the settings a sync depends on, so that a
/// changed configuration never finds an old stamp valid). Any error (a
/// missing file, say) means "no stamp": the caller then does the full work.
pub fn local_stamp(paths: &[&Path], seed: u64) -> Option<LocalStamp> {
    use std::os::unix::fs::MetadataExt;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |v: u64| {
        for b in v.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(seed);
    let mut newest = std::time::UNIX_EPOCH;
    let mut coarse = false;
    for p in paths {
        let m = fs::metadata(p).ok()?;
        eat(m.dev());
        eat(m.ino());
        eat(m.size());
        eat(m.mtime() as u64);
        eat(m.mtime_nsec() as u64);
        coarse |= m.mtime_nsec() == 0;
        newest = newest.max(m.modified().ok()?);
    }
    Some(LocalStamp {
        digest: h.max(1),
        newest,
        coarse,
    })
}

/// `<metadata>/Repository-<R>/FolderModSeq/<basename>`; `folder` is the
/// folder's own name in the remote repository.
pub fn modseq_path(metadata: &Path, repository: &str, folder: &str) -> PathBuf {
    repository_dir(metadata, repository)
        .join("FolderModSeq")
        .join(folder_basename(folder))
}

/// A digest of every (UID, flags) pair of a status snapshot (FNV-1a, 64
/// bits: stable across builds, unlike std's hasher). A status changed by
/// anyone since the state was saved (OfflineIMAP itself, say) then no
/// longer matches, and the shortcut is not taken.
pub fn status_digest(status: &StatusSnapshot) -> u64 {
    let mut d = StatusDigest::new(status.len());
    for (uid, flags) in status {
        d.eat(*uid, *flags);
    }
    d.finish()
}

/// [`status_digest`] of a listing of (UID, flags) pairs in UID order.
pub fn listing_digest(listing: &[(Uid, Flags)]) -> u64 {
    let mut d = StatusDigest::new(listing.len());
    for (uid, flags) in listing {
        d.eat(*uid, *flags);
    }
    d.finish()
}

/// [`status_digest`] fed one row at a time, in UID order, for a status
/// cache too large to load at once.
pub struct StatusDigest(u64);

impl StatusDigest {
    /// A digest of a cache of `rows` rows.
    pub fn new(rows: usize) -> Self {
        let mut d = StatusDigest(0xcbf2_9ce4_8422_2325);
        d.bytes(&(rows as u64).to_le_bytes());
        d
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn eat(&mut self, uid: Uid, flags: Flags) {
        self.bytes(&uid.to_le_bytes());
        // The flags' letters as `Flags`' Display writes them, without a
        // String per row: this runs for every message of a resync.
        let mut letters = [0u8; 52];
        let mut n = 0;
        for c in flags.letters() {
            if let (Some(slot), Ok(b)) = (letters.get_mut(n), u8::try_from(c)) {
                *slot = b;
                n += 1;
            }
        }
        self.bytes(&letters[..n]);
        self.bytes(b"\n");
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

/// The saved state, or `None` when there is none or it cannot be read: the
/// file is only ever a hint to skip work, so anything odd means "do the
/// full listing".
pub fn read_modseq(path: &Path) -> Option<ModSeqState> {
    let text = fs::read_to_string(path).ok()?;
    parse(text.lines().next()?)
}

fn parse(line: &str) -> Option<ModSeqState> {
    let mut f = line.split_ascii_whitespace();
    let state = ModSeqState {
        uidvalidity: f.next()?.parse().ok()?,
        uidnext: f.next()?.parse().ok()?,
        highest_modseq: f.next()?.parse().ok()?,
        exists: f.next()?.parse().ok()?,
        status_digest: u64::from_str_radix(f.next()?, 16).ok()?,
        local: u64::from_str_radix(f.next()?, 16).ok()?,
    };
    f.next().is_none().then_some(state)
}

/// Write the state via `<file>.tmp` and a rename (see
/// [`write_atomically`]).
pub fn write_modseq(path: &Path, state: &ModSeqState, fsync: bool) -> Result<(), Error> {
    let line = format!(
        "{} {} {} {} {:016x} {:016x}\n",
        state.uidvalidity,
        state.uidnext,
        state.highest_modseq,
        state.exists,
        state.status_digest,
        state.local
    );
    write_atomically(path, &line, fsync)
}

/// Forget the saved state (a missing file is fine). Must succeed before a
/// sync changes anything, or a stale state could later be trusted.
pub fn remove_modseq(path: &Path) -> Result<(), Error> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, "remove", e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::status::validity::tmp_path;
    use crate::sync::model::Flags;

    fn state() -> ModSeqState {
        ModSeqState {
            uidvalidity: 1_700_000_123,
            uidnext: 42,
            highest_modseq: 9_000_000_000_000,
            exists: 41,
            status_digest: 0xdead_beef,
            local: 0x0123_4567_89ab_cdef,
        }
    }

    #[test]
    fn round_trip_and_format() {
        let t = tempfile::tempdir().unwrap();
        let p = modseq_path(t.path(), "Remote", "INBOX/Sub");
        assert!(p.ends_with("Repository-Remote/FolderModSeq/INBOX.Sub"));
        assert_eq!(read_modseq(&p), None);
        write_modseq(&p, &state(), true).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "1700000123 42 9000000000000 41 00000000deadbeef 0123456789abcdef\n"
        );
        assert_eq!(read_modseq(&p), Some(state()));
        assert!(!tmp_path(&p).exists());
        remove_modseq(&p).unwrap();
        assert_eq!(read_modseq(&p), None);
        remove_modseq(&p).unwrap();
    }

    #[test]
    fn local_stamp_sees_changes() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("cur"), t.path().join("db"));
        fs::create_dir(&a).unwrap();
        fs::write(&b, "x").unwrap();
        let s1 = local_stamp(&[&a, &b], 7).unwrap();
        assert_eq!(local_stamp(&[&a, &b], 7), Some(s1));
        assert_ne!(s1.digest, 0);
        // A new entry moves the directory's mtime (or, within one clock
        // tick, at least its size or nothing: then the tick rule applies,
        // see folder_sync), a rewrite the file's size.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(a.join("m"), "y").unwrap();
        assert_ne!(local_stamp(&[&a, &b], 7).unwrap().digest, s1.digest);
        let s2 = local_stamp(&[&a, &b], 7).unwrap();
        fs::write(&b, "xy").unwrap();
        assert_ne!(local_stamp(&[&a, &b], 7).unwrap().digest, s2.digest);
        assert_ne!(local_stamp(&[&a, &b], 8).unwrap().digest, s2.digest);
        assert_eq!(local_stamp(&[&a, &t.path().join("missing")], 7), None);
    }

    #[test]
    fn odd_files_mean_no_state() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("m");
        for text in [
            "",
            "1 2 3\n",
            "1 2 3 4\n",
            "1 2 3 4 zz\n",
            // The five-field form of earlier builds: no local stamp.
            "1 2 3 4 5\n",
            "1 2 3 4 5 6 7\n",
            "-1 2 3 4 5 6\n",
            "x 2 3 4 5 6\n",
        ] {
            fs::write(&p, text).unwrap();
            assert_eq!(read_modseq(&p), None, "{text:?}");
        }
        fs::write(&p, "1 2 3 4 ff 10\n").unwrap();
        let st = read_modseq(&p).unwrap();
        assert_eq!((st.status_digest, st.local), (255, 16));
    }

    #[test]
    fn digest_sees_every_uid_and_flag() {
        let mut a = StatusSnapshot::new();
        let empty = status_digest(&a);
        a.insert(1, Flags::from_letters("S"));
        a.insert(2, Flags::EMPTY);
        let d = status_digest(&a);
        assert_ne!(d, empty);
        let mut b = a.clone();
        b.insert(2, Flags::from_letters("F"));
        assert_ne!(status_digest(&b), d);
        let mut c = a.clone();
        c.remove(&2);
        assert_ne!(status_digest(&c), d);
        let mut e = a.clone();
        e.remove(&2);
        e.insert(3, Flags::EMPTY);
        assert_ne!(status_digest(&e), d);
        assert_eq!(status_digest(&a.clone()), d);
    }

    #[test]
    fn digest_is_the_one_saved_files_hold() {
        // FolderModSeq files written by earlier versions carry digests
        // taken over the flags' text: the digest may not change with how
        // it is computed. FNV-1a over the row count, then per row the UID,
        // the flags as Display writes them, and a newline.
        let mut st = StatusSnapshot::new();
        st.insert(7, Flags::from_letters("FS"));
        st.insert(9, Flags::EMPTY);
        st.insert(4_000_000_000, Flags::from_letters("DRTabz"));
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        feed(&(st.len() as u64).to_le_bytes());
        for (uid, flags) in &st {
            feed(&uid.to_le_bytes());
            feed(flags.to_string().as_bytes());
            feed(b"\n");
        }
        assert_eq!(status_digest(&st), h);
    }
}
