//! Proof that nobody but this sync touched a Maildir folder's `cur/` and
//! `new/` since it was scanned, without listing them again.
//!
//! A folder's local stamp (`account::folder_sync::stamp_one`) may only be
//! written when the Maildir holds exactly what the status cache says. The
//! sync knows what it left there (its scan plus its own renames, writes and
//! deletions), but a mail client may have changed the folder meanwhile, and
//! the directory's mtime cannot tell its change from ours. Listing the
//! directories again answers that, at the price of a second full read of
//! every name (a fifth of a resync's CPU in docs/performance.md's profile).
//!
//! This watch answers it with inotify instead: set up before the scan, it
//! counts the kernel's create, delete and move events per directory. Every
//! operation of ours that succeeded adds exactly the events it causes to
//! the expected counts (a rename within `cur/` one `IN_MOVED_FROM` and one
//! `IN_MOVED_TO`, a write through `tmp/` one `IN_MOVED_TO`, a deletion one
//! `IN_DELETE`). Anyone else's change can only add events, so the counts
//! agree exactly when no one else changed the directories. A lost event
//! (queue overflow), a directory moved or removed, or a file system whose
//! inotify does not see other machines' changes (anything not in
//! [`LOCAL_FS`]) make the answer "unknown", and the caller lists the
//! directories as before.

use std::mem::MaybeUninit;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rustix::fd::OwnedFd;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

/// File systems whose inotify reports every change to a directory: those
/// where all changes go through this kernel. Not NFS, SMB, FUSE or
/// overlays, where another machine or layer can change a directory
/// without an event here.
const LOCAL_FS: [i64; 6] = [
    0xEF53,      // ext2/3/4
    0x5846_5342, // xfs
    0x9123_683E, // btrfs
    0x0102_1994, // tmpfs
    0xF2F5_2010, // f2fs
    0x2FC1_2FC1, // zfs
];

/// What a change did to a directory, as inotify names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Create,
    Delete,
    MovedFrom,
    MovedTo,
}

impl Kind {
    fn index(self) -> usize {
        match self {
            Kind::Create => 0,
            Kind::Delete => 1,
            Kind::MovedFrom => 2,
            Kind::MovedTo => 3,
        }
    }

    fn of(flags: ReadFlags) -> Option<Kind> {
        // One kind per event; anything else (or more) is not a change we
        // can account for.
        let kinds = [
            (ReadFlags::CREATE, Kind::Create),
            (ReadFlags::DELETE, Kind::Delete),
            (ReadFlags::MOVED_FROM, Kind::MovedFrom),
            (ReadFlags::MOVED_TO, Kind::MovedTo),
        ];
        let mut found = None;
        for (flag, kind) in kinds {
            if flags.contains(flag) {
                if found.is_some() {
                    return None;
                }
                found = Some(kind);
            }
        }
        found
    }
}

/// The watched directories, in the order `new/`, `cur/`.
pub(crate) const NEW: usize = 0;
pub(crate) const CUR: usize = 1;

/// What [`ChangeWatch::verify`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every event was one of ours: nobody else changed the directories.
    OnlyOurs,
    /// Somebody else did.
    Changed,
    /// Events were lost or a directory went away: list them to know.
    Unknown,
}

/// An inotify watch on a folder's `new/` and `cur/` with the events this
/// sync expects from its own changes.
#[derive(Debug)]
pub struct ChangeWatch {
    /// `None` only once dropped (see [`retire`]).
    fd: Option<OwnedFd>,
    wd: [i32; 2],
    expected: [[u64; 4]; 2],
}

impl ChangeWatch {
    /// A watch on `root/new` and `root/cur`, or `None` when inotify is not
    /// to be trusted there or cannot be had (no inotify, the per-user
    /// limit reached): then the caller lists the directories.
    pub fn start(root: &Path) -> Option<ChangeWatch> {
        let fs_type = rustix::fs::statfs(root).ok()?.f_type;
        #[allow(clippy::unnecessary_cast)] // its type differs between targets
        if !LOCAL_FS.contains(&(fs_type as i64)) {
            return None;
        }
        let fd = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).ok()?;
        let mask = WatchFlags::CREATE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_FROM
            | WatchFlags::MOVED_TO
            | WatchFlags::DELETE_SELF
            | WatchFlags::MOVE_SELF
            | WatchFlags::ONLYDIR
            | WatchFlags::DONT_FOLLOW;
        let new = inotify::add_watch(&fd, root.join("new"), mask).ok()?;
        let cur = inotify::add_watch(&fd, root.join("cur"), mask).ok()?;
        // One directory under two names (a link): the counts would mix.
        if new == cur {
            return None;
        }
        Some(ChangeWatch {
            fd: Some(fd),
            wd: [new, cur],
            expected: [[0; 4]; 2],
        })
    }

    /// Our own operation on directory `dir` ([`NEW`] or [`CUR`]) caused
    /// one event of `kind`.
    pub(crate) fn ours(&mut self, dir: usize, kind: Kind) {
        if let Some(d) = self.expected.get_mut(dir) {
            d[kind.index()] += 1;
        }
    }

    /// Read every event queued so far and compare with ours. Call it after
    /// [`barrier`] so that every change whose mtime could have been seen
    /// has queued its event.
    pub fn verify(&self) -> Verdict {
        let mut seen = [[0u64; 4]; 2];
        let Some(fd) = self.fd.as_ref() else {
            return Verdict::Unknown;
        };
        let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
        let mut reader = inotify::Reader::new(fd, &mut buf);
        loop {
            let event = match reader.next() {
                Ok(e) => e,
                Err(rustix::io::Errno::AGAIN) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => return Verdict::Unknown,
            };
            let flags = event.events();
            if flags.intersects(
                ReadFlags::QUEUE_OVERFLOW
                    | ReadFlags::IGNORED
                    | ReadFlags::UNMOUNT
                    | ReadFlags::DELETE_SELF
                    | ReadFlags::MOVE_SELF,
            ) {
                return Verdict::Unknown;
            }
            let Some(dir) = self.wd.iter().position(|&w| w == event.wd()) else {
                return Verdict::Unknown;
            };
            // A directory made or moved inside new/ or cur/ is no message,
            // and none of ours.
            if flags.contains(ReadFlags::ISDIR) {
                return Verdict::Changed;
            }
            let Some(kind) = Kind::of(flags) else {
                return Verdict::Unknown;
            };
            seen[dir][kind.index()] += 1;
        }
        if seen == self.expected {
            Verdict::OnlyOurs
        } else {
            Verdict::Changed
        }
    }
}

impl Drop for ChangeWatch {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            for wd in self.wd {
                let _ = inotify::remove_watch(&fd, wd);
            }
            retire(fd);
        }
    }
}

/// Instances whose watches were removed, closed once the kernel is done
/// with the watches.
static RETIRED: Mutex<Vec<(Instant, OwnedFd)>> = Mutex::new(Vec::new());

/// How long the kernel may take to free removed watches: an SRCU grace
/// period (6-17 ms measured on the bench machine, HZ 250), with margin.
const REAP: Duration = Duration::from_millis(100);

/// Close an inotify instance without waiting for the kernel. Closing one
/// that still has watches, or whose removed watches the kernel has not
/// freed yet, blocks until an SRCU grace period ends (measured: 6-17 ms);
/// a sync that closed its last folder's watch so waited that long at its
/// very end. The watches are removed at once (that only queues them for
/// freeing), the descriptor is kept and closed by a later call, once
/// they are long freed, or by the process's exit. Bounded: a daemon
/// closes the previous sync's descriptors on the next one.
fn retire(fd: OwnedFd) {
    let Ok(mut retired) = RETIRED.lock() else {
        return; // poisoned: `fd` is closed here, the slow way
    };
    let now = Instant::now();
    retired.retain(|(at, _)| now.duration_since(*at) < REAP);
    retired.push((now, fd));
}

/// Wait until no change to `dir` is under way: one directory read takes
/// the directory's lock, which a rename, create or unlink holds from
/// before it sets the directory's mtime until after it queued its inotify
/// event. So after this, any change whose mtime a stat just saw has its
/// event queued.
pub fn barrier(dir: &Path) {
    use rustix::fs::{Mode, OFlags, RawDir};
    let Ok(fd) = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        // Gone: the verdict will say so (IN_DELETE_SELF or IN_MOVE_SELF).
        return;
    };
    // A small buffer: the kernel reads one block of the directory at most.
    let mut buf = [MaybeUninit::<u8>::uninit(); 512];
    let mut entries = RawDir::new(fd, &mut buf);
    let _ = entries.next();
}

#[cfg(test)]
mod tests;
