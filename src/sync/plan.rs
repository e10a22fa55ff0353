//! The decision engine: from the remote list, the local list and the status
//! cache, decide every action of one folder sync, in OfflineIMAP's pass
//! order.
//!
//! Pure: no I/O, no clock, no async runtime. Each arm carries the case id
//! that `docs/sync.md` and the tests use (R1-download, L2-delete, ...).
//!
//! The passes are planned at once, as if the earlier passes had already been
//! applied: a small simulation of the three lists is updated after each
//! decision, so a message downloaded by R1 is not uploaded again by L1.
//! Flag actions name only the letters that really change on their side;
//! the status value they write is the one OfflineIMAP's pass would write.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

use super::model::{Flags, MsgRef, Side, Snapshot, StatusSnapshot, Uid};

/// What the configuration allows this sync to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlanOptions {
    /// Never modify the Maildir: the remote -> local passes are skipped.
    pub local_readonly: bool,
    /// Never modify the server: the local -> remote passes are skipped.
    pub remote_readonly: bool,
    /// Propagate deletions made on the server to the Maildir.
    pub remote_sync_deletes: bool,
    /// Propagate deletions made in the Maildir to the server.
    pub local_sync_deletes: bool,
}

impl Default for PlanOptions {
    /// OfflineIMAP's defaults: both sides writable, `sync_deletes = yes`.
    fn default() -> Self {
        PlanOptions {
            local_readonly: false,
            remote_readonly: false,
            remote_sync_deletes: true,
            local_sync_deletes: true,
        }
    }
}

/// Why an action was planned: one variant per arm of [`plan`]. `Display`
/// gives the phrase used in dry-run and `-d sync` lines; [`Why::case`] the
/// id of the arm in `docs/sync.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Why {
    /// R1-download: the server has a UID the status does not know and the
    /// Maildir lacks it.
    NewOnRemote,
    /// R1-record: both sides hold a UID the status does not know.
    RemoteUidAlreadyLocal,
    /// R2-delete: the status knows the UID, the server no longer has it.
    DeletedOnRemote,
    /// R2-forget / L2-forget: the status knows the UID, neither side has it.
    GoneFromBoth,
    /// R3-flags: the server's flags differ from the status.
    FlagsChangedOnRemote,
    /// L1-upload-new: a Maildir message without a UID.
    NewLocal,
    /// L1-upload-uid: a Maildir message whose UID neither the status nor
    /// the server knows.
    LocalUidUnknownToRemote,
    /// L1-record: both sides hold a UID the status does not know, found by
    /// the local pass (only when the remote -> local pass was skipped).
    LocalUidAlreadyRemote,
    /// L2-delete: the status knows the UID, the Maildir no longer has it.
    DeletedLocally,
    /// L3-flags: the Maildir's flags differ from the status.
    FlagsChangedLocally,
    /// F-record: the flag passes moved the status, but neither side needed
    /// a change (both made the same change, or the other side is readonly).
    FlagsAlreadyAgree,
}

impl Why {
    /// The arm's id in `docs/sync.md` and in the tests' names.
    pub fn case(self) -> &'static str {
        match self {
            Why::NewOnRemote => "R1-download",
            Why::RemoteUidAlreadyLocal => "R1-record",
            Why::DeletedOnRemote => "R2-delete",
            Why::GoneFromBoth => "R2-forget",
            Why::FlagsChangedOnRemote => "R3-flags",
            Why::NewLocal => "L1-upload-new",
            Why::LocalUidUnknownToRemote => "L1-upload-uid",
            Why::LocalUidAlreadyRemote => "L1-record",
            Why::DeletedLocally => "L2-delete",
            Why::FlagsChangedLocally => "L3-flags",
            Why::FlagsAlreadyAgree => "F-record",
        }
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Why::NewOnRemote => "new on remote",
            Why::RemoteUidAlreadyLocal => "already in the Maildir, not yet in the status",
            Why::DeletedOnRemote => "deleted on remote",
            Why::GoneFromBoth => "gone from both sides",
            Why::FlagsChangedOnRemote => "flags changed on remote",
            Why::NewLocal => "new in the Maildir",
            Why::LocalUidUnknownToRemote => "UID unknown to the server",
            Why::LocalUidAlreadyRemote => "already on the server, not yet in the status",
            Why::DeletedLocally => "deleted in the Maildir",
            Why::FlagsChangedLocally => "flags changed in the Maildir",
            Why::FlagsAlreadyAgree => "both sides already agree",
        })
    }
}

/// One step of a sync. Every action says how the status changes once it has
/// been carried out ([`Action::status_after`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Both sides already hold `uid`: only the status learns it, with `flags`.
    Record { uid: Uid, flags: Flags, why: Why },
    /// Copy the server's message `uid` into the Maildir, keeping its UID.
    Download { uid: Uid, flags: Flags, why: Why },
    /// Copy a Maildir message to the server; the server gives it a new UID
    /// and the Maildir message is relabelled with it.
    Upload {
        local: MsgRef,
        flags: Flags,
        why: Why,
    },
    /// Remove `uid` from side `on`, because the other side deleted it.
    Delete { uid: Uid, on: Side, why: Why },
    /// Drop the status row of a `uid` that neither side holds any more.
    Forget { uid: Uid, why: Why },
    /// Add and remove flag letters of `uid` on side `on`; the status then
    /// holds `status`.
    SetFlags {
        uid: Uid,
        on: Side,
        add: Flags,
        remove: Flags,
        status: Flags,
        why: Why,
    },
}

/// How the status cache changes once an action has been carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange {
    /// The row for this UID holds these flags.
    Set(Uid, Flags),
    /// The row for this UID goes.
    Remove(Uid),
    /// A row with these flags, under the UID the server assigns on upload
    /// (unknown until the upload has happened; no row if it stays unknown).
    SetUploaded(Flags),
}

impl Action {
    pub fn why(&self) -> Why {
        match self {
            Action::Record { why, .. }
            | Action::Download { why, .. }
            | Action::Upload { why, .. }
            | Action::Delete { why, .. }
            | Action::Forget { why, .. }
            | Action::SetFlags { why, .. } => *why,
        }
    }

    /// The status change to write once this action has succeeded on both
    /// sides.
    pub fn status_after(&self) -> StatusChange {
        match *self {
            Action::Record { uid, flags, .. } | Action::Download { uid, flags, .. } => {
                StatusChange::Set(uid, flags)
            }
            Action::Upload { flags, .. } => StatusChange::SetUploaded(flags),
            Action::Delete { uid, .. } | Action::Forget { uid, .. } => StatusChange::Remove(uid),
            Action::SetFlags { uid, status, .. } => StatusChange::Set(uid, status),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Record { uid, flags, why } => {
                write!(f, "record UID {uid} in status, flags '{flags}' ({why})")
            }
            Action::Download { uid, flags, why } => {
                write!(f, "copy UID {uid} Remote -> Local, flags '{flags}' ({why})")
            }
            Action::Upload { local, flags, why } => {
                write!(
                    f,
                    "copy UID {local} Local -> Remote, flags '{flags}' ({why})"
                )
            }
            Action::Delete { uid, on, why } => write!(f, "delete UID {uid} on {on} ({why})"),
            Action::Forget { uid, why } => write!(f, "forget UID {uid} in status ({why})"),
            Action::SetFlags {
                uid,
                on,
                add,
                remove,
                why,
                ..
            } => {
                write!(f, "flags of UID {uid} on {on}:")?;
                if !add.is_empty() {
                    write!(f, " +{add}")?;
                }
                if !remove.is_empty() {
                    write!(f, " -{remove}")?;
                }
                write!(f, " ({why})")
            }
        }
    }
}

/// The ordered actions of one folder sync: remote -> local copy, delete and
/// flags passes, then local -> remote copy, delete and flags passes, then
/// status-only flag records. Within a pass, status-only actions come first
/// and the rest are sorted by UID, so each pass groups into few store calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub actions: Vec<Action>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    pub fn len(&self) -> usize {
        self.actions.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Action> {
        self.actions.iter()
    }
}

impl<'a> IntoIterator for &'a Plan {
    type Item = &'a Action;
    type IntoIter = std::slice::Iter<'a, Action>;

    fn into_iter(self) -> Self::IntoIter {
        self.actions.iter()
    }
}

impl fmt::Display for Plan {
    /// One dry-run line per action.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.actions {
            writeln!(f, "{a}")?;
        }
        Ok(())
    }
}

/// Decide every action of one folder sync. `remote.new` is ignored (a
/// server has no messages without UIDs).
pub fn plan(
    remote: &Snapshot,
    local: &Snapshot,
    status: &StatusSnapshot,
    opts: &PlanOptions,
) -> Plan {
    let mut sim = Sim {
        remote: remote.uids.iter().map(|(u, m)| (*u, m.flags)).collect(),
        local: local.uids.iter().map(|(u, m)| (*u, m.flags)).collect(),
        status: status.clone(),
        written: status.clone(),
        actions: Vec::new(),
    };
    // OfflineIMAP skips a whole direction for a readonly destination, so
    // nothing is recorded from it either.
    if !opts.local_readonly {
        sim.remote_copy();
        sim.delete_pass(Side::Remote, opts.remote_sync_deletes);
        sim.flags_pass(Side::Remote);
    }
    if !opts.remote_readonly {
        sim.local_copy(local);
        sim.delete_pass(Side::Local, opts.local_sync_deletes);
        sim.flags_pass(Side::Local);
    }
    sim.record_agreed_flags();
    Plan {
        actions: sim.actions,
    }
}

/// The three lists as they will be after the actions planned so far.
struct Sim {
    remote: BTreeMap<Uid, Flags>,
    local: BTreeMap<Uid, Flags>,
    /// The status as OfflineIMAP's passes would leave it.
    status: BTreeMap<Uid, Flags>,
    /// The status as the planned actions will write it. It lags behind
    /// `status` only where a flag pass moved the status without any store
    /// change; `record_agreed_flags` closes that gap.
    written: BTreeMap<Uid, Flags>,
    actions: Vec<Action>,
}

impl Sim {
    fn set_status(&mut self, uid: Uid, flags: Flags) {
        self.status.insert(uid, flags);
        self.written.insert(uid, flags);
    }

    fn remove_status(&mut self, uid: Uid) {
        self.status.remove(&uid);
        self.written.remove(&uid);
    }

    /// R1: server UIDs the status does not know.
    fn remote_copy(&mut self) {
        let mut records = Vec::new();
        let mut downloads = Vec::new();
        let unknown = missing_from(&self.remote, &self.status);
        for (uid, flags) in unknown {
            match self.local.entry(uid) {
                Entry::Occupied(_) => {
                    // R1-record: the Maildir already has it (an earlier run
                    // died before writing the status); L3 then pushes the
                    // local flags.
                    records.push(Action::Record {
                        uid,
                        flags,
                        why: Why::RemoteUidAlreadyLocal,
                    });
                }
                Entry::Vacant(e) => {
                    // R1-download
                    downloads.push(Action::Download {
                        uid,
                        flags,
                        why: Why::NewOnRemote,
                    });
                    e.insert(flags);
                }
            }
            self.set_status(uid, flags);
        }
        self.actions.extend(records);
        self.actions.extend(downloads);
    }

    fn side(&self, side: Side) -> &BTreeMap<Uid, Flags> {
        match side {
            Side::Remote => &self.remote,
            Side::Local => &self.local,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<Uid, Flags> {
        match side {
            Side::Remote => &mut self.remote,
            Side::Local => &mut self.local,
        }
    }

    /// R2 (`source` = Remote) and L2 (`source` = Local): status UIDs that
    /// `source` no longer has were deleted there.
    fn delete_pass(&mut self, source: Side, sync_deletes: bool) {
        let dest = source.other();
        let mut forgets = Vec::new();
        let mut deletes = Vec::new();
        let gone = missing_from(&self.status, self.side(source));
        for (uid, _) in gone {
            if !self.side(dest).contains_key(&uid) {
                // R2-forget (L2-forget is reachable only when R2 did not run)
                forgets.push(Action::Forget {
                    uid,
                    why: Why::GoneFromBoth,
                });
                self.remove_status(uid);
            } else if sync_deletes {
                // R2-delete / L2-delete
                deletes.push(Action::Delete {
                    uid,
                    on: dest,
                    why: match source {
                        Side::Remote => Why::DeletedOnRemote,
                        Side::Local => Why::DeletedLocally,
                    },
                });
                self.side_mut(dest).remove(&uid);
                self.remove_status(uid);
            }
            // R2-keep / L2-keep: with sync_deletes off the row stays, so
            // the message is neither deleted nor copied back later.
        }
        self.actions.extend(forgets);
        self.actions.extend(deletes);
    }

    /// R3 (`source` = Remote) and L3 (`source` = Local): per flag, a change
    /// on `source` since the status wins on the other side. Run R3 then L3:
    /// a flag the server changed wins, otherwise the Maildir's value does.
    fn flags_pass(&mut self, source: Side) {
        let dest = source.other();
        let both = in_all(self.side(source), self.side(dest), &self.status);
        for (uid, src, dst, s) in both {
            let target = dst.union(src.difference(s)).difference(s.difference(src));
            if s != src {
                self.status.insert(uid, src);
            }
            if target != dst {
                // R3-flags / L3-flags
                self.actions.push(Action::SetFlags {
                    uid,
                    on: dest,
                    add: target.difference(dst),
                    remove: dst.difference(target),
                    status: src,
                    why: match source {
                        Side::Remote => Why::FlagsChangedOnRemote,
                        Side::Local => Why::FlagsChangedLocally,
                    },
                });
                self.side_mut(dest).insert(uid, target);
                self.written.insert(uid, src);
            }
        }
    }

    /// L1: Maildir messages the status does not know.
    fn local_copy(&mut self, local: &Snapshot) {
        let mut records = Vec::new();
        let mut uploads = Vec::new();
        let mut new: Vec<_> = local.new.iter().collect();
        new.sort_by_key(|n| n.id);
        for n in new {
            // L1-upload-new
            uploads.push(Action::Upload {
                local: MsgRef::New(n.id),
                flags: n.meta.flags,
                why: Why::NewLocal,
            });
        }
        let unknown = missing_from(&self.local, &self.status);
        for (uid, flags) in unknown {
            if self.remote.contains_key(&uid) {
                // L1-record: reachable only when R1 did not run.
                records.push(Action::Record {
                    uid,
                    flags,
                    why: Why::LocalUidAlreadyRemote,
                });
                self.set_status(uid, flags);
            } else {
                // L1-upload-uid: the copy gets a new UID, so the old one
                // leaves the picture.
                uploads.push(Action::Upload {
                    local: MsgRef::Uid(uid),
                    flags,
                    why: Why::LocalUidUnknownToRemote,
                });
                self.local.remove(&uid);
            }
        }
        self.actions.extend(records);
        self.actions.extend(uploads);
    }

    /// F-record: status rows the flag passes moved without any store change.
    fn record_agreed_flags(&mut self) {
        // Both hold the same UIDs (every change of keys is made to both):
        // walked in step, with a lookup only where they part.
        let mut written = self.written.iter();
        let stale: Vec<(Uid, Flags)> = self
            .status
            .iter()
            .filter(|(u, f)| match written.next() {
                Some((w, g)) if w == *u => g != *f,
                _ => self.written.get(u) != Some(f),
            })
            .map(|(u, f)| (*u, *f))
            .collect();
        for (uid, flags) in stale {
            self.actions.push(Action::Record {
                uid,
                flags,
                why: Why::FlagsAlreadyAgree,
            });
            self.written.insert(uid, flags);
        }
    }
}

/// The entries of `a` whose UID `b` lacks, ascending: one walk of both
/// maps in step instead of a lookup per entry (the planner's passes see
/// every message of a folder).
fn missing_from<V>(a: &BTreeMap<Uid, Flags>, b: &BTreeMap<Uid, V>) -> Vec<(Uid, Flags)> {
    let mut rest = b.keys().peekable();
    let mut out = Vec::new();
    for (u, f) in a {
        while rest.next_if(|k| *k < u).is_some() {}
        if rest.peek() != Some(&u) {
            out.push((*u, *f));
        }
    }
    out
}

/// Every UID all three maps hold, ascending, with its flags in each.
fn in_all(
    a: &BTreeMap<Uid, Flags>,
    b: &BTreeMap<Uid, Flags>,
    c: &BTreeMap<Uid, Flags>,
) -> Vec<(Uid, Flags, Flags, Flags)> {
    let (mut bs, mut cs) = (b.iter().peekable(), c.iter().peekable());
    let mut out = Vec::new();
    for (u, fa) in a {
        while bs.next_if(|(k, _)| *k < u).is_some() {}
        while cs.next_if(|(k, _)| *k < u).is_some() {}
        if let (Some((kb, fb)), Some((kc, fc))) = (bs.peek(), cs.peek())
            && *kb == u
            && *kc == u
        {
            out.push((*u, *fa, **fb, **fc));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sync::model::{MessageMeta, NewId, NewMessage};

    fn f(s: &str) -> Flags {
        Flags::from_letters(s)
    }

    /// A snapshot from `(uid, flags)` pairs.
    fn snap(uids: &[(Uid, &str)]) -> Snapshot {
        Snapshot {
            uids: uids
                .iter()
                .map(|(u, fl)| {
                    (
                        *u,
                        MessageMeta {
                            flags: f(fl),
                            size: 100,
                        },
                    )
                })
                .collect(),
            new: Vec::new(),
        }
    }

    fn status(rows: &[(Uid, &str)]) -> StatusSnapshot {
        rows.iter().map(|(u, fl)| (*u, f(fl))).collect()
    }

    fn full() -> PlanOptions {
        PlanOptions::default()
    }

    fn run(r: &Snapshot, l: &Snapshot, s: &StatusSnapshot, o: PlanOptions) -> Vec<Action> {
        plan(r, l, s, &o).actions
    }

    #[test]
    fn r1_new_on_remote_downloads() {
        let a = run(&snap(&[(1, "S")]), &snap(&[]), &status(&[]), full());
        assert_eq!(
            a,
            vec![Action::Download {
                uid: 1,
                flags: f("S"),
                why: Why::NewOnRemote
            }]
        );
    }

    #[test]
    fn r1_both_have_uid_not_in_status_records() {
        // Local flags win afterwards, as in OfflineIMAP.
        let a = run(&snap(&[(4, "S")]), &snap(&[(4, "F")]), &status(&[]), full());
        assert_eq!(
            a,
            vec![
                Action::Record {
                    uid: 4,
                    flags: f("S"),
                    why: Why::RemoteUidAlreadyLocal
                },
                Action::SetFlags {
                    uid: 4,
                    on: Side::Remote,
                    add: f("F"),
                    remove: f("S"),
                    status: f("F"),
                    why: Why::FlagsChangedLocally
                },
            ]
        );
    }

    #[test]
    fn r1_download_is_not_uploaded_again() {
        let a = run(&snap(&[(2, "")]), &snap(&[]), &status(&[]), full());
        assert_eq!(a.len(), 1);
        assert!(!a.iter().any(|x| matches!(x, Action::Upload { .. })));
    }

    #[test]
    fn r2_deleted_on_remote_deletes_local() {
        let a = run(&snap(&[]), &snap(&[(3, "S")]), &status(&[(3, "S")]), full());
        assert_eq!(
            a,
            vec![Action::Delete {
                uid: 3,
                on: Side::Local,
                why: Why::DeletedOnRemote
            }]
        );
    }

    #[test]
    fn r2_gone_from_both_forgets() {
        let a = run(&snap(&[]), &snap(&[]), &status(&[(3, "S")]), full());
        assert_eq!(
            a,
            vec![Action::Forget {
                uid: 3,
                why: Why::GoneFromBoth
            }]
        );
    }

    #[test]
    fn r2_sync_deletes_off_keeps_row() {
        let o = PlanOptions {
            remote_sync_deletes: false,
            ..full()
        };
        let a = run(&snap(&[]), &snap(&[(3, "S")]), &status(&[(3, "S")]), o);
        // Neither deleted locally nor uploaded again, row kept.
        assert_eq!(a, vec![]);
    }

    #[test]
    fn r3_flags_changed_on_remote_set_local() {
        let a = run(
            &snap(&[(5, "FS")]),
            &snap(&[(5, "S")]),
            &status(&[(5, "S")]),
            full(),
        );
        assert_eq!(
            a,
            vec![Action::SetFlags {
                uid: 5,
                on: Side::Local,
                add: f("F"),
                remove: Flags::EMPTY,
                status: f("FS"),
                why: Why::FlagsChangedOnRemote
            }]
        );
    }

    #[test]
    fn l1_new_local_uploads() {
        let mut l = snap(&[]);
        l.new.push(NewMessage {
            id: NewId(0),
            meta: MessageMeta {
                flags: f("S"),
                size: 10,
            },
        });
        let a = run(&snap(&[]), &l, &status(&[]), full());
        assert_eq!(
            a,
            vec![Action::Upload {
                local: MsgRef::New(NewId(0)),
                flags: f("S"),
                why: Why::NewLocal
            }]
        );
        assert_eq!(a[0].status_after(), StatusChange::SetUploaded(f("S")));
    }

    #[test]
    fn l1_local_uid_unknown_to_remote_uploads() {
        let a = run(&snap(&[]), &snap(&[(9, "R")]), &status(&[]), full());
        assert_eq!(
            a,
            vec![Action::Upload {
                local: MsgRef::Uid(9),
                flags: f("R"),
                why: Why::LocalUidUnknownToRemote
            }]
        );
    }

    #[test]
    fn l1_record_when_remote_pass_skipped() {
        let o = PlanOptions {
            local_readonly: true,
            ..full()
        };
        let a = run(&snap(&[(4, "S")]), &snap(&[(4, "F")]), &status(&[]), o);
        assert_eq!(
            a,
            vec![Action::Record {
                uid: 4,
                flags: f("F"),
                why: Why::LocalUidAlreadyRemote
            }]
        );
    }

    #[test]
    fn l2_deleted_locally_deletes_remote() {
        let a = run(&snap(&[(6, "S")]), &snap(&[]), &status(&[(6, "S")]), full());
        assert_eq!(
            a,
            vec![Action::Delete {
                uid: 6,
                on: Side::Remote,
                why: Why::DeletedLocally
            }]
        );
    }

    #[test]
    fn l2_sync_deletes_off_keeps_row() {
        let o = PlanOptions {
            local_sync_deletes: false,
            ..full()
        };
        let a = run(&snap(&[(6, "S")]), &snap(&[]), &status(&[(6, "S")]), o);
        assert_eq!(a, vec![]);
    }

    #[test]
    fn l2_gone_from_both_forgets_when_remote_pass_skipped() {
        let o = PlanOptions {
            local_readonly: true,
            ..full()
        };
        let a = run(&snap(&[]), &snap(&[]), &status(&[(6, "S")]), o);
        assert_eq!(
            a,
            vec![Action::Forget {
                uid: 6,
                why: Why::GoneFromBoth
            }]
        );
    }

    #[test]
    fn l3_flags_changed_locally_set_remote() {
        let a = run(
            &snap(&[(5, "S")]),
            &snap(&[(5, "")]),
            &status(&[(5, "S")]),
            full(),
        );
        assert_eq!(
            a,
            vec![Action::SetFlags {
                uid: 5,
                on: Side::Remote,
                add: Flags::EMPTY,
                remove: f("S"),
                status: Flags::EMPTY,
                why: Why::FlagsChangedLocally
            }]
        );
    }

    #[test]
    fn flags_remote_change_wins_per_flag() {
        // Status S. The server removed S and added F; the Maildir removed S
        // and added R and T. Per flag: S goes on both (they agree), F comes
        // from the server, R and T from the Maildir.
        let a = run(
            &snap(&[(7, "F")]),
            &snap(&[(7, "RT")]),
            &status(&[(7, "S")]),
            full(),
        );
        assert_eq!(
            a,
            vec![
                Action::SetFlags {
                    uid: 7,
                    on: Side::Local,
                    add: f("F"),
                    remove: Flags::EMPTY,
                    status: f("F"),
                    why: Why::FlagsChangedOnRemote
                },
                Action::SetFlags {
                    uid: 7,
                    on: Side::Remote,
                    add: f("RT"),
                    remove: Flags::EMPTY,
                    status: f("FRT"),
                    why: Why::FlagsChangedLocally
                },
            ]
        );
    }

    #[test]
    fn flags_conflict_remote_wins() {
        // Remote removed S, local kept it: the remote's change wins.
        let a = run(
            &snap(&[(7, "")]),
            &snap(&[(7, "S")]),
            &status(&[(7, "S")]),
            full(),
        );
        assert_eq!(
            a,
            vec![Action::SetFlags {
                uid: 7,
                on: Side::Local,
                add: Flags::EMPTY,
                remove: f("S"),
                status: Flags::EMPTY,
                why: Why::FlagsChangedOnRemote
            }]
        );
    }

    #[test]
    fn f_record_same_change_on_both_sides() {
        let a = run(
            &snap(&[(8, "FS")]),
            &snap(&[(8, "FS")]),
            &status(&[(8, "S")]),
            full(),
        );
        assert_eq!(
            a,
            vec![Action::Record {
                uid: 8,
                flags: f("FS"),
                why: Why::FlagsAlreadyAgree
            }]
        );
    }

    #[test]
    fn in_sync_folder_plans_nothing() {
        let a = run(
            &snap(&[(1, "S"), (2, "")]),
            &snap(&[(1, "S"), (2, "")]),
            &status(&[(1, "S"), (2, "")]),
            full(),
        );
        assert!(a.is_empty());
    }

    #[test]
    fn readonly_local_touches_no_maildir() {
        let o = PlanOptions {
            local_readonly: true,
            ..full()
        };
        let a = run(
            &snap(&[(1, "S"), (5, "FS")]),
            &snap(&[(3, "S"), (5, "S")]),
            &status(&[(3, "S"), (5, "S")]),
            o,
        );
        // No download of 1, no local delete of 3, no local flag change on 5;
        // 3 is gone from the server and stays (with its row).
        assert!(a.is_empty(), "{a:?}");
    }

    #[test]
    fn readonly_local_still_pushes_local_changes() {
        let o = PlanOptions {
            local_readonly: true,
            ..full()
        };
        let a = run(
            &snap(&[(5, "S"), (6, "")]),
            &snap(&[(5, "SF")]),
            &status(&[(5, "S"), (6, "")]),
            o,
        );
        assert_eq!(
            a,
            vec![
                Action::Delete {
                    uid: 6,
                    on: Side::Remote,
                    why: Why::DeletedLocally
                },
                Action::SetFlags {
                    uid: 5,
                    on: Side::Remote,
                    add: f("F"),
                    remove: Flags::EMPTY,
                    status: f("FS"),
                    why: Why::FlagsChangedLocally
                },
            ]
        );
    }

    #[test]
    fn readonly_remote_touches_no_server() {
        let o = PlanOptions {
            remote_readonly: true,
            ..full()
        };
        let mut l = snap(&[(3, "S"), (5, "SF"), (9, "")]);
        l.new.push(NewMessage {
            id: NewId(0),
            meta: MessageMeta {
                flags: Flags::EMPTY,
                size: 1,
            },
        });
        let a = run(
            &snap(&[(3, "S"), (5, "S")]),
            &l,
            &status(&[(3, "S"), (5, "S"), (7, "")]),
            o,
        );
        // 7 is gone from both: forgotten by R2. Nothing else: no upload,
        // no remote flag change.
        assert_eq!(
            a,
            vec![Action::Forget {
                uid: 7,
                why: Why::GoneFromBoth
            }]
        );
    }

    #[test]
    fn readonly_both_plans_nothing() {
        let o = PlanOptions {
            local_readonly: true,
            remote_readonly: true,
            ..full()
        };
        let a = run(
            &snap(&[(1, "S")]),
            &snap(&[(2, "")]),
            &status(&[(3, "")]),
            o,
        );
        assert!(a.is_empty());
    }

    #[test]
    fn passes_come_in_order() {
        let mut l = snap(&[(2, "S"), (3, "F"), (4, "")]);
        l.new.push(NewMessage {
            id: NewId(0),
            meta: MessageMeta {
                flags: Flags::EMPTY,
                size: 1,
            },
        });
        let a = run(
            &snap(&[(1, ""), (3, "S"), (4, "S"), (5, "")]),
            &l,
            &status(&[(2, "S"), (3, "S"), (4, ""), (5, "")]),
            full(),
        );
        let cases: Vec<&str> = a.iter().map(|x| x.why().case()).collect();
        assert_eq!(
            cases,
            vec![
                "R1-download",
                "R2-delete",
                "R3-flags",
                "L1-upload-new",
                "L2-delete",
                "L3-flags"
            ]
        );
    }

    #[test]
    fn display_reads_like_a_dry_run_line() {
        let a = Action::SetFlags {
            uid: 5,
            on: Side::Remote,
            add: f("F"),
            remove: f("S"),
            status: f("F"),
            why: Why::FlagsChangedLocally,
        };
        assert_eq!(
            a.to_string(),
            "flags of UID 5 on Remote: +F -S (flags changed in the Maildir)"
        );
        let d = Action::Upload {
            local: MsgRef::New(NewId(0)),
            flags: f("S"),
            why: Why::NewLocal,
        };
        assert_eq!(
            d.to_string(),
            "copy UID -1 Local -> Remote, flags 'S' (new in the Maildir)"
        );
    }
}
