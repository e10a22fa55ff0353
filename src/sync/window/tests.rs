//! Tests of the sync window: examples of OfflineIMAP's behaviour, and
//! properties over random folders synced through the in-memory stores:
//! whatever the options, nothing outside the window is copied, deleted or
//! reflagged, on either side.

#![allow(clippy::unwrap_used)]

use futures::executor::block_on;
use proptest::prelude::*;

use super::{Inside, restrict};
use crate::sync::apply::apply;
use crate::sync::memory::{MemStatus, MemStore};
use crate::sync::model::{Flags, MessageMeta, MsgRef, NewId, NewMessage, Side, Snapshot, Uid};
use crate::sync::plan::{Action, PlanOptions, Why, plan};
use crate::sync::store::{StatusCache, Store};

fn f(s: &str) -> Flags {
    Flags::from_letters(s)
}

fn snap(uids: &[(Uid, &str)]) -> Snapshot {
    Snapshot {
        uids: uids
            .iter()
            .map(|(u, fl)| {
                (
                    *u,
                    MessageMeta {
                        flags: f(fl),
                        size: 0,
                    },
                )
            })
            .collect(),
        new: Vec::new(),
    }
}

fn status(uids: &[(Uid, &str)]) -> crate::sync::model::StatusSnapshot {
    uids.iter().map(|(u, fl)| (*u, f(fl))).collect()
}

fn inside(remote: &[Uid], local: &[Uid], new: &[u32]) -> Inside {
    Inside {
        remote: remote.iter().copied().collect(),
        local: local
            .iter()
            .map(|u| MsgRef::Uid(*u))
            .chain(new.iter().map(|n| MsgRef::New(NewId(*n))))
            .collect(),
    }
}

fn planned(
    r: &Snapshot,
    l: &Snapshot,
    s: &crate::sync::model::StatusSnapshot,
    i: &Inside,
) -> Vec<Action> {
    let w = restrict(r, l, s, i);
    plan(&w.remote, &w.local, &w.status, &PlanOptions::default()).actions
}

#[test]
fn everything_inside_changes_nothing() {
    let r = snap(&[(1, "S"), (2, "")]);
    let mut l = snap(&[(2, "F"), (3, "")]);
    l.new.push(NewMessage {
        id: NewId(0),
        meta: MessageMeta {
            flags: Flags::EMPTY,
            size: 10,
        },
    });
    let s = status(&[(2, ""), (3, "")]);
    let w = restrict(&r, &l, &s, &inside(&[1, 2], &[2, 3], &[0]));
    assert_eq!((w.remote, w.local, w.status), (r, l, s));
}

#[test]
fn old_message_deleted_on_the_server_stays_in_the_maildir() {
    // maxage: UIDs from 5 on are inside; 1 is old and gone from the server.
    let r = snap(&[(5, ""), (6, "")]);
    let l = snap(&[(1, "S"), (5, ""), (6, "")]);
    let s = status(&[(1, "S"), (5, ""), (6, "")]);
    let actions = planned(&r, &l, &s, &inside(&[5, 6], &[5, 6], &[]));
    assert_eq!(
        actions,
        [Action::Forget {
            uid: 1,
            why: Why::GoneFromBoth
        }]
    );
}

#[test]
fn old_message_deleted_locally_stays_on_the_server() {
    let r = snap(&[(1, ""), (5, "")]);
    let l = snap(&[(5, "")]);
    let s = status(&[(1, ""), (5, "")]);
    let actions = planned(&r, &l, &s, &inside(&[5], &[5], &[]));
    assert_eq!(
        actions,
        [Action::Forget {
            uid: 1,
            why: Why::GoneFromBoth
        }]
    );
}

#[test]
fn recent_deletions_still_propagate() {
    let r = snap(&[(5, "")]);
    let l = snap(&[(6, "")]);
    let s = status(&[(5, ""), (6, "")]);
    let actions = planned(&r, &l, &s, &inside(&[5, 6], &[5, 6], &[]));
    assert!(actions.contains(&Action::Delete {
        uid: 6,
        on: Side::Local,
        why: Why::DeletedOnRemote
    }));
    assert!(actions.contains(&Action::Delete {
        uid: 5,
        on: Side::Remote,
        why: Why::DeletedLocally
    }));
}

#[test]
fn a_message_inside_on_one_side_only_is_left_alone() {
    // maxsize: the server's copy (CRLF) is over the limit, the Maildir's
    // (LF) under it. Shown on the Maildir side alone it would look deleted
    // on the server, and be deleted locally.
    let r = snap(&[(1, "S")]);
    let l = snap(&[(1, "S")]);
    let s = status(&[(1, "S")]);
    let actions = planned(&r, &l, &s, &inside(&[], &[1], &[]));
    assert!(
        actions
            .iter()
            .all(|a| matches!(a, Action::Forget { uid: 1, .. })),
        "{actions:?}"
    );
    // Once forgotten, it is not uploaded again either.
    let actions = planned(&r, &l, &status(&[]), &inside(&[], &[1], &[]));
    assert_eq!(actions, []);
}

#[test]
fn old_and_big_messages_are_not_copied_nor_reflagged() {
    let r = snap(&[(1, "S"), (2, ""), (3, "F")]);
    let mut l = snap(&[(3, ""), (4, "")]);
    l.new.push(NewMessage {
        id: NewId(0),
        meta: MessageMeta {
            flags: Flags::EMPTY,
            size: 10,
        },
    });
    let s = status(&[(3, "")]);
    // 1 and 3 are outside on the server, 4 and the new message locally.
    let actions = planned(&r, &l, &s, &inside(&[2, 4], &[3], &[]));
    assert_eq!(
        actions,
        [
            Action::Download {
                uid: 2,
                flags: Flags::EMPTY,
                why: Why::NewOnRemote
            },
            Action::Forget {
                uid: 3,
                why: Why::GoneFromBoth
            },
        ]
    );
}

/// One UID's situation, with whether each side holds it inside its window.
#[derive(Clone, Debug)]
struct Case {
    on_remote: bool,
    on_local: bool,
    in_status: bool,
    remote_inside: bool,
    local_inside: bool,
    remote_flags: Flags,
    local_flags: Flags,
    status_flags: Flags,
}

const LETTERS: [char; 3] = ['F', 'S', 'T'];

fn flags_from_bits(bits: u8) -> Flags {
    let mut fl = Flags::EMPTY;
    for (i, c) in LETTERS.iter().enumerate() {
        if bits & (1 << i) != 0 {
            fl.insert(*c);
        }
    }
    fl
}

fn case() -> impl Strategy<Value = Case> {
    (any::<[bool; 5]>(), 0u8..8, 0u8..8, 0u8..8).prop_map(|(b, rf, lf, sf)| Case {
        on_remote: b[0],
        on_local: b[1],
        in_status: b[2],
        remote_inside: b[3],
        local_inside: b[4],
        remote_flags: flags_from_bits(rf),
        local_flags: flags_from_bits(lf),
        status_flags: flags_from_bits(sf),
    })
}

fn options() -> impl Strategy<Value = PlanOptions> {
    any::<[bool; 4]>().prop_map(|b| PlanOptions {
        local_readonly: b[0],
        remote_readonly: b[1],
        remote_sync_deletes: b[2],
        local_sync_deletes: b[3],
    })
}

fn body(uid: Uid) -> Vec<u8> {
    format!("Subject: {uid}\r\n\r\nbody {uid}\r\n").into_bytes()
}

fn new_body(k: usize) -> Vec<u8> {
    format!("Subject: new {k}\r\n\r\nnew {k}\r\n").into_bytes()
}

struct World {
    remote: MemStore,
    local: MemStore,
    status: MemStatus,
    inside: Inside,
}

fn world(cases: &[Case], new: &[bool]) -> World {
    let mut remote = MemStore::server().with_next_uid(100);
    let mut local = MemStore::maildir();
    let mut st = crate::sync::model::StatusSnapshot::new();
    let mut inside = Inside::default();
    for (i, c) in cases.iter().enumerate() {
        let uid = i as Uid + 1;
        if c.on_remote {
            remote.insert(uid, c.remote_flags, &body(uid));
        }
        if c.on_local {
            local.insert(uid, c.local_flags, &body(uid));
        }
        if c.in_status {
            st.insert(uid, c.status_flags);
        }
        if c.remote_inside {
            inside.remote.insert(uid);
        }
        if c.local_inside {
            inside.local.insert(MsgRef::Uid(uid));
        }
    }
    for (k, ins) in new.iter().enumerate() {
        let id = local.insert_new(Flags::EMPTY, &new_body(k));
        if *ins {
            inside.local.insert(MsgRef::New(id));
        }
    }
    World {
        remote,
        local,
        status: MemStatus::new(st),
        inside,
    }
}

impl World {
    fn outside(&self, uid: Uid) -> bool {
        (self.remote.message(uid).is_some() && !self.inside.remote.contains(&uid))
            || (self.local.message(uid).is_some() && !self.inside.local.contains(&MsgRef::Uid(uid)))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The plan names no UID that a side holds outside its window, except
    /// to forget its status row, and uploads no new message outside it.
    #[test]
    fn plan_never_touches_what_is_outside(
        cases in prop::collection::vec(case(), 0..8),
        new in prop::collection::vec(any::<bool>(), 0..3),
        opts in options(),
    ) {
        let mut w = world(&cases, &new);
        let (r, l, s) = block_on(async {
            (
                w.remote.snapshot().await.unwrap(),
                w.local.snapshot().await.unwrap(),
                w.status.load().unwrap(),
            )
        });
        let restricted = restrict(&r, &l, &s, &w.inside);
        let p = plan(&restricted.remote, &restricted.local, &restricted.status, &opts);
        for a in &p {
            match a {
                Action::Forget { .. } => {}
                Action::Upload { local: MsgRef::New(id), .. } => {
                    prop_assert!(w.inside.local.contains(&MsgRef::New(*id)), "{a}");
                }
                Action::Upload { local: MsgRef::Uid(uid), .. }
                | Action::Record { uid, .. }
                | Action::Download { uid, .. }
                | Action::Delete { uid, .. }
                | Action::SetFlags { uid, .. } => {
                    prop_assert!(!w.outside(*uid), "{a} touches a message outside the window");
                }
            }
        }
    }

    /// After a whole sync, every message outside the window is where it
    /// was, with its flags, and has not been copied to the other side.
    #[test]
    fn sync_keeps_what_is_outside(
        cases in prop::collection::vec(case(), 0..8),
        new in prop::collection::vec(any::<bool>(), 0..3),
        opts in options(),
    ) {
        let mut w = world(&cases, &new);
        let before_remote = w.remote.flags_by_uid();
        let before_local = w.local.flags_by_uid();
        block_on(async {
            let r = w.remote.snapshot().await.unwrap();
            let l = w.local.snapshot().await.unwrap();
            let s = w.status.load().unwrap();
            let restricted = restrict(&r, &l, &s, &w.inside);
            let p = plan(&restricted.remote, &restricted.local, &restricted.status, &opts);
            apply(&p, &mut w.remote, &mut w.local, &mut w.status, &mut |_| {}, &|| false)
                .await
                .unwrap();
        });
        let remote_bodies = w.remote.bodies();
        let local_bodies = w.local.bodies();
        for (i, c) in cases.iter().enumerate() {
            let uid = i as Uid + 1;
            let outside = (c.on_remote && !c.remote_inside) || (c.on_local && !c.local_inside);
            if !outside {
                continue;
            }
            let copies = |bodies: &[Vec<u8>]| bodies.iter().filter(|b| **b == body(uid)).count();
            if c.on_remote {
                prop_assert_eq!(w.remote.message(uid).map(|m| m.flags), before_remote.get(&uid).copied());
                prop_assert_eq!(copies(&remote_bodies), 1, "UID {} copied again", uid);
            } else {
                prop_assert!(!remote_bodies.contains(&body(uid)), "UID {} uploaded", uid);
            }
            if c.on_local {
                prop_assert_eq!(w.local.message(uid).map(|m| m.flags), before_local.get(&uid).copied());
                prop_assert_eq!(copies(&local_bodies), 1, "UID {} copied again", uid);
            } else {
                prop_assert!(!local_bodies.contains(&body(uid)), "UID {} downloaded", uid);
            }
        }
        for (k, ins) in new.iter().enumerate() {
            if !ins {
                prop_assert!(!remote_bodies.contains(&new_body(k)), "new message {} uploaded", k);
                prop_assert!(
                    w.local.new_messages().any(|(_, m)| m.bytes == new_body(k)),
                    "new message {} lost its place", k
                );
            }
        }
    }
}
