//! Tests for the parent module; unwrap is fine here.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::sync::model::Flags;

fn f(s: &str) -> Flags {
    Flags::from_letters(s)
}

fn fetch(uid: Uid, flags: &str, size: u64) -> Reported {
    Reported::Fetch {
        uid,
        meta: MessageMeta {
            flags: f(flags),
            size,
        },
    }
}

fn base(rows: &[(Uid, &str)]) -> StatusSnapshot {
    rows.iter().map(|(u, s)| (*u, f(s))).collect()
}

#[test]
fn listing_is_the_base_with_changes_and_without_the_expunged() {
    let d = Delta::from_reports(
        10,
        [
            fetch(2, "F", UNKNOWN_SIZE),
            Reported::Vanished(vec![4..=5]),
            fetch(10, "S", 300),
            fetch(11, "", 400),
        ],
    );
    let b = base(&[(1, "S"), (2, ""), (3, "R"), (4, ""), (5, "S"), (7, "")]);
    let whole = d.listing(&b, 1, Uid::MAX);
    let got: Vec<(Uid, String, u64)> = whole
        .uids
        .iter()
        .map(|(u, m)| (*u, m.flags.to_string(), m.size))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "S".into(), UNKNOWN_SIZE),
            (2, "F".into(), UNKNOWN_SIZE),
            (3, "R".into(), UNKNOWN_SIZE),
            (7, "".into(), UNKNOWN_SIZE),
            (10, "S".into(), 300),
            (11, "".into(), 400),
        ]
    );
    // Cut to a range, the listing is the whole listing's part.
    let part = d.listing(&b, 3, 10);
    assert_eq!(
        part.uids.keys().copied().collect::<Vec<_>>(),
        vec![3, 7, 10]
    );
    assert_eq!(d.new_uids(), vec![10, 11]);
    assert_eq!(d.old_changed().collect::<Vec<_>>(), vec![2]);
    assert!(d.sizes_known());
}

#[test]
fn a_later_vanished_removes_an_earlier_fetch_and_a_later_fetch_keeps_the_size() {
    let d = Delta::from_reports(
        5,
        [
            fetch(6, "", 100),
            fetch(7, "", 200),
            Reported::Vanished(vec![7..=7]),
            fetch(6, "S", UNKNOWN_SIZE),
        ],
    );
    assert_eq!(d.new_uids(), vec![6]);
    assert_eq!(d.changed[&6].size, 100);
    assert_eq!(d.changed[&6].flags, f("S"));
    assert!(d.is_vanished(7));
    assert!(!d.is_vanished(6));
}

#[test]
fn a_new_message_without_a_size_is_noticed() {
    let d = Delta::from_reports(5, [fetch(9, "", UNKNOWN_SIZE)]);
    assert!(!d.sizes_known());
}

#[test]
fn vanished_ranges_merge_whatever_their_order_or_direction() {
    let d = Delta::from_reports(
        100,
        [
            // A server may write a range high end first (`9:7`).
            Reported::Vanished(vec![RangeInclusive::new(9, 7), 1..=2]),
            Reported::Vanished(vec![3..=3, 20..=30, 25..=40]),
        ],
    );
    assert_eq!(d.vanished(), &[(1, 3), (7, 9), (20, 40)]);
    for u in [1, 2, 3, 7, 8, 9, 20, 33, 40] {
        assert!(d.is_vanished(u), "{u}");
    }
    for u in [4, 6, 10, 19, 41, Uid::MAX] {
        assert!(!d.is_vanished(u), "{u}");
    }
}

#[test]
fn nothing_reported_lists_the_base() {
    let d = Delta::from_reports(4, []);
    let b = base(&[(1, "S"), (3, "")]);
    let l = d.listing(&b, 1, Uid::MAX);
    assert_eq!(l.uids.len(), 2);
    assert!(d.new_uids().is_empty());
}

/// The whole folder's lists for a Maildir equal to `status`: the server's
/// is the status with `delta` applied.
fn whole(delta: &Delta, status: &StatusSnapshot) -> (Snapshot, Snapshot) {
    let hi = status.keys().next_back().copied().unwrap_or(0);
    let mut remote = delta.listing(status, 0, hi);
    for (u, m) in delta.changed.range(hi.saturating_add(1)..) {
        remote.uids.insert(*u, *m);
    }
    let local = Snapshot {
        uids: status
            .iter()
            .map(|(u, f)| (*u, MessageMeta { flags: *f, size: 0 }))
            .collect(),
        new: Vec::new(),
    };
    (remote, local)
}

/// The status rows `touched` needs: the changed old messages and the
/// expunged ones the cache holds.
fn touched_rows(delta: &Delta, status: &StatusSnapshot) -> StatusSnapshot {
    status
        .iter()
        .filter(|(u, _)| delta.changed.contains_key(u) || delta.is_vanished(**u))
        .map(|(u, f)| (*u, *f))
        .collect()
}

#[test]
fn the_touched_lists_plan_what_the_whole_folder_plans() {
    use crate::sync::plan::{PlanOptions, plan};
    // 60 messages with mixed flags; the server re-flagged some, expunged
    // some (one range reaching past the cache's end), and added three.
    let letters = ["", "S", "SF", "F", "RS", "ST"];
    let status: StatusSnapshot = (1..=60).map(|u| (u, f(letters[u as usize % 6]))).collect();
    let delta = Delta::from_reports(
        61,
        [
            fetch(3, "S", UNKNOWN_SIZE),
            fetch(10, "", UNKNOWN_SIZE),
            fetch(11, "SFR", UNKNOWN_SIZE),
            Reported::Vanished(vec![20..=22, 40..=40]),
            fetch(45, "T", UNKNOWN_SIZE),
            Reported::Vanished(vec![58..=70]),
            fetch(61, "S", 100),
            fetch(62, "", 200),
            fetch(63, "F", 300),
        ],
    );
    let all = [true, false];
    for local_readonly in all {
        for remote_readonly in all {
            for remote_sync_deletes in all {
                for local_sync_deletes in all {
                    let opts = PlanOptions {
                        local_readonly,
                        remote_readonly,
                        remote_sync_deletes,
                        local_sync_deletes,
                    };
                    let (remote, local) = whole(&delta, &status);
                    let full = plan(&remote, &local, &status, &opts);
                    let (r, l, s) = touched(&delta, touched_rows(&delta, &status));
                    let part = plan(&r, &l, &s, &opts);
                    assert_eq!(part.actions, full.actions, "{opts:?}");
                    assert!(!full.actions.is_empty() || local_readonly);
                }
            }
        }
    }
}
