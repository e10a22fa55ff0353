//! Syncing a large folder one UID range at a time, so that a sync's
//! memory follows the range size rather than the folder size: where the
//! ranges fall, and which local messages travel with every range.
//!
//! The planner decides each UID on its own (every pass looks at one UID's
//! server, Maildir and status entries), so planning a range from the three
//! lists cut to that range gives the whole folder's plan cut to it. Two
//! things cross ranges: pairing (a local message without a trusted UID
//! may match a server message of any range) and uploads (which take UIDs
//! above every range). Those local messages, the *carry*, are listed with
//! every range, paired with each range's server messages, and planned
//! (uploaded) only with the last range, in the order the whole-folder
//! plan uploads them. Pure: no I/O.

use super::model::{Side, Snapshot, StatusSnapshot, Uid};
use super::plan::Action;

/// Large folders are synced in ranges of this many UIDs.
pub const CHUNK: usize = 4096;

/// Folders with more messages than this (on the server, in the status
/// cache) are synced in ranges: as many as a range holds, so that no
/// folder's sync, whole or ranged, holds more than a range's metadata.
/// (It was twice [`CHUNK`] while each range listed the Maildir's
/// directory again; ranges are now planned from one census of it, and
/// on the large bench corpus a threshold of [`CHUNK`] cut the peak RSS of
/// a 1 % resync by 2-4 MiB: docs/performance.md.)
pub const CHUNK_ABOVE: usize = CHUNK;

/// `OFFLINEIMAP_SYNC_CHUNK` when set to a positive number: then both the
/// range size and the size above which a folder is ranged (a tuning knob
/// for tests and measurements, not a configuration option).
fn chunk_env() -> Option<usize> {
    std::env::var("OFFLINEIMAP_SYNC_CHUNK")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
}

/// The range size: [`CHUNK`] unless `OFFLINEIMAP_SYNC_CHUNK` says.
pub fn chunk_size() -> usize {
    chunk_env().unwrap_or(CHUNK)
}

/// The folder size above which a folder is ranged: [`CHUNK_ABOVE`] unless
/// `OFFLINEIMAP_SYNC_CHUNK` says.
pub fn chunk_threshold() -> usize {
    chunk_env().unwrap_or(CHUNK_ABOVE)
}

/// Contiguous UID ranges `lo..=hi` covering every UID from 1 to
/// `Uid::MAX`, each holding `chunk` UIDs of the union of `a` and `b`
/// (both ascending), the last running to `Uid::MAX` (local messages with a
/// UID above everything listed belong to it). Never empty.
pub fn ranges(a: &[Uid], b: &[Uid], chunk: usize) -> Vec<(Uid, Uid)> {
    let chunk = chunk.max(1);
    let mut out = Vec::new();
    let (mut i, mut j, mut n) = (0, 0, 0usize);
    let mut lo: Uid = 1;
    loop {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
                *x
            }
            (Some(x), Some(y)) if x < y => {
                i += 1;
                *x
            }
            (_, Some(y)) => {
                j += 1;
                *y
            }
            (Some(x), None) => {
                i += 1;
                *x
            }
            (None, None) => break,
        };
        n += 1;
        if n == chunk && next < Uid::MAX {
            out.push((lo, next));
            lo = next + 1;
            n = 0;
        }
    }
    out.push((lo, Uid::MAX));
    // A final cut exactly at the last UID leaves an empty tail range; it
    // still stands, for local messages with higher UIDs.
    out
}

/// The local UIDs (ascending) that neither the status cache nor the
/// server knows: messages whose copy the server lost or never had. Like
/// messages without a UID they are paired or uploaded, so they travel
/// with every range.
/// `local` is any ascending iterator (the Maildir's census, uncopied).
pub fn orphans(local: impl IntoIterator<Item = Uid>, status: &[Uid], server: &[Uid]) -> Vec<Uid> {
    local
        .into_iter()
        .filter(|u| status.binary_search(u).is_err() && server.binary_search(u).is_err())
        .collect()
}

/// The rows of `status` in `lo..=hi`.
pub fn status_in(status: &StatusSnapshot, lo: Uid, hi: Uid) -> StatusSnapshot {
    status.range(lo..=hi).map(|(u, f)| (*u, *f)).collect()
}

/// What a range's listing gives of `snap`: the UIDs in `lo..=hi` or in
/// `also` (ascending), and the messages without a UID when `new`.
pub fn restrict(snap: &Snapshot, lo: Uid, hi: Uid, also: &[Uid], new: bool) -> Snapshot {
    Snapshot {
        uids: snap
            .uids
            .iter()
            .filter(|(u, _)| (lo..=hi).contains(*u) || also.binary_search(u).is_ok())
            .map(|(u, m)| (*u, *m))
            .collect(),
        new: if new { snap.new.clone() } else { Vec::new() },
    }
}

/// The local listing a range is planned from, once pairing is done: the
/// carry (messages without a UID, and `orphans`) only with the last range,
/// which uploads them.
pub fn for_plan(local: &mut Snapshot, orphans: &[Uid], last: bool) {
    if last {
        return;
    }
    local.new.clear();
    local.uids.retain(|u, _| orphans.binary_search(u).is_err());
}

/// The UID an action is about; `None` for an upload (its UID comes later).
pub fn uid_of(action: &Action) -> Option<Uid> {
    match action {
        Action::Record { uid, .. }
        | Action::Download { uid, .. }
        | Action::Delete { uid, .. }
        | Action::Forget { uid, .. }
        | Action::SetFlags { uid, .. } => Some(*uid),
        Action::Upload { .. } => None,
    }
}

/// Splits a range's actions, kept in order, into those that can run now and
/// those held back: every action of a UID that renames or deletes a local
/// file. A range planned from a census knows the Maildir's UIDs and flags
/// but not its file names; the held-back actions run once the names of
/// their files have been read, many ranges' at once, so that the folder's
/// directory is not read once per range. Holding back all of a UID's
/// actions keeps their order, and so the order of its status writes.
pub fn hold_local(actions: Vec<Action>) -> (Vec<Action>, Vec<Action>) {
    let mut touched: Vec<Uid> = actions
        .iter()
        .filter_map(|a| match a {
            Action::SetFlags {
                uid,
                on: Side::Local,
                ..
            }
            | Action::Delete {
                uid,
                on: Side::Local,
                ..
            } => Some(*uid),
            _ => None,
        })
        .collect();
    if touched.is_empty() {
        return (actions, Vec::new());
    }
    touched.sort_unstable();
    touched.dedup();
    actions
        .into_iter()
        .partition(|a| uid_of(a).is_none_or(|u| touched.binary_search(&u).is_err()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cut_the_union_and_cover_every_uid() {
        let r = ranges(&[1, 2, 5, 9], &[2, 3, 10], 2);
        assert_eq!(r, vec![(1, 2), (3, 5), (6, 10), (11, Uid::MAX)]);
        assert_eq!(ranges(&[], &[], 4), vec![(1, Uid::MAX)]);
        assert_eq!(ranges(&[7], &[], 4), vec![(1, Uid::MAX)]);
        assert_eq!(ranges(&[Uid::MAX], &[], 1), vec![(1, Uid::MAX)]);
    }

    #[test]
    fn actions_of_uids_with_a_local_file_change_are_held_in_order() {
        use super::super::plan::Why;
        use crate::sync::model::Flags;
        let f = Flags::from_letters;
        let actions = vec![
            Action::Download {
                uid: 1,
                flags: f("S"),
                why: Why::NewOnRemote,
            },
            Action::SetFlags {
                uid: 2,
                on: Side::Local,
                add: f("F"),
                remove: Flags::EMPTY,
                status: f("F"),
                why: Why::FlagsChangedOnRemote,
            },
            Action::SetFlags {
                uid: 3,
                on: Side::Remote,
                add: f("S"),
                remove: Flags::EMPTY,
                status: f("S"),
                why: Why::FlagsChangedLocally,
            },
            Action::SetFlags {
                uid: 2,
                on: Side::Remote,
                add: f("S"),
                remove: Flags::EMPTY,
                status: f("FS"),
                why: Why::FlagsChangedLocally,
            },
            Action::Delete {
                uid: 4,
                on: Side::Local,
                why: Why::DeletedOnRemote,
            },
        ];
        let (now, later) = hold_local(actions.clone());
        assert_eq!(now, vec![actions[0].clone(), actions[2].clone()]);
        assert_eq!(
            later,
            vec![actions[1].clone(), actions[3].clone(), actions[4].clone()]
        );
        let (now, later) = hold_local(vec![actions[0].clone()]);
        assert_eq!((now.len(), later.len()), (1, 0));
    }

    #[test]
    fn orphans_are_known_to_neither() {
        assert_eq!(orphans([1, 2, 3, 4], &[1], &[2]), vec![3, 4]);
    }

    #[test]
    fn carry_is_planned_only_last() {
        use crate::sync::model::{Flags, MessageMeta, NewId, NewMessage};
        let meta = MessageMeta {
            flags: Flags::EMPTY,
            size: 1,
        };
        let mut s = Snapshot {
            uids: [(1, meta), (5, meta)].into_iter().collect(),
            new: vec![NewMessage { id: NewId(0), meta }],
        };
        let mut last = s.clone();
        for_plan(&mut last, &[5], true);
        assert_eq!(last, s);
        for_plan(&mut s, &[5], false);
        assert_eq!(s.uids.keys().copied().collect::<Vec<_>>(), vec![1]);
        assert!(s.new.is_empty());
    }
}
