//! Whole-engine tests: properties of `plan` over random folders, and crash
//! tests that stop `apply` at every mutating step and check that the next
//! run loses and duplicates nothing.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use futures::executor::block_on;
use proptest::prelude::*;

use super::apply::{Summary, apply, pair_new_messages};
use super::memory::{Faults, MemStatus, MemStore};
use super::model::{Flags, MessageMeta, NewId, NewMessage, Side, Snapshot, StatusSnapshot, Uid};
use super::plan::{Action, Plan, PlanOptions, plan};
use super::store::{StatusCache, Store, StoreError};

const LETTERS: [char; 5] = ['D', 'F', 'R', 'S', 'T'];

fn flags_from_bits(bits: u8) -> Flags {
    let mut f = Flags::EMPTY;
    for (i, c) in LETTERS.iter().enumerate() {
        if bits & (1 << i) != 0 {
            f.insert(*c);
        }
    }
    f
}

/// One UID's situation at the start of a sync.
#[derive(Clone, Debug)]
struct UidCase {
    on_remote: bool,
    on_local: bool,
    in_status: bool,
    remote_flags: Flags,
    local_flags: Flags,
    status_flags: Flags,
    /// When only the server has it: the Maildir also holds it as a new
    /// message, as an upload interrupted before the relabel leaves it.
    leftover: bool,
}

#[derive(Clone, Debug)]
struct Scenario {
    uids: Vec<UidCase>,
    /// Flags of Maildir messages without UID.
    new: Vec<Flags>,
}

fn uid_case() -> impl Strategy<Value = UidCase> {
    (any::<(bool, bool, bool, bool)>(), 0u8..32, 0u8..32, 0u8..32).prop_map(
        |((r, l, s, leftover), rf, lf, sf)| UidCase {
            on_remote: r,
            on_local: l,
            in_status: s,
            remote_flags: flags_from_bits(rf),
            local_flags: flags_from_bits(lf),
            status_flags: flags_from_bits(sf),
            leftover: leftover && r && !l && !s,
        },
    )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(uid_case(), 0..7),
        prop::collection::vec((0u8..32).prop_map(flags_from_bits), 0..3),
    )
        .prop_map(|(uids, new)| Scenario { uids, new })
}

fn options() -> impl Strategy<Value = PlanOptions> {
    any::<(bool, bool, bool, bool)>().prop_map(|(lr, rr, rd, ld)| PlanOptions {
        local_readonly: lr,
        remote_readonly: rr,
        remote_sync_deletes: rd,
        local_sync_deletes: ld,
    })
}

fn uid_of(i: usize) -> Uid {
    i as Uid + 1
}

fn body_of_uid(uid: Uid) -> Vec<u8> {
    format!("Subject: uid {uid}\r\n\r\nbody {uid}\r\n").into_bytes()
}

fn body_of_new(k: usize) -> Vec<u8> {
    format!("Subject: new {k}\r\n\r\nnew body {k}\r\n").into_bytes()
}

struct World {
    remote: MemStore,
    local: MemStore,
    status: MemStatus,
}

impl Scenario {
    /// The server assigns UIDs from 100, above every UID in the scenario,
    /// as a real server's UIDNEXT is above every UID it ever gave out.
    fn world(&self, faults: &Faults, uidplus: bool) -> World {
        let mut remote = MemStore::server()
            .with_next_uid(100)
            .with_faults(faults.clone());
        if !uidplus {
            remote = remote.without_uidplus();
        }
        let mut local = MemStore::maildir().with_faults(faults.clone());
        let mut status = StatusSnapshot::new();
        for (i, c) in self.uids.iter().enumerate() {
            let uid = uid_of(i);
            if c.on_remote {
                remote.insert(uid, c.remote_flags, &body_of_uid(uid));
            }
            if c.on_local {
                local.insert(uid, c.local_flags, &body_of_uid(uid));
            }
            if c.in_status {
                status.insert(uid, c.status_flags);
            }
            if c.leftover {
                local.insert_new(c.remote_flags, &body_of_uid(uid));
            }
        }
        for (k, f) in self.new.iter().enumerate() {
            local.insert_new(*f, &body_of_new(k));
        }
        World {
            remote,
            local,
            status: MemStatus::new(status).with_faults(faults.clone()),
        }
    }

    /// The snapshots and status without building stores (for pure tests).
    fn inputs(&self) -> (Snapshot, Snapshot, StatusSnapshot) {
        let w = self.world(&Faults::new(), true);
        block_on(async {
            let mut w = w;
            let r = w.remote.snapshot().await.unwrap();
            let l = w.local.snapshot().await.unwrap();
            (r, l, w.status.load().unwrap())
        })
    }

    /// The bodies each side must hold after a full two-way sync with
    /// deletions propagated: everything except what the user deleted on
    /// one side since the last sync.
    fn expected_bodies(&self) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        for (i, c) in self.uids.iter().enumerate() {
            let deleted = c.in_status && !(c.on_remote && c.on_local);
            if (c.on_remote || c.on_local) && !deleted {
                v.push(body_of_uid(uid_of(i)));
            }
        }
        for k in 0..self.new.len() {
            v.push(body_of_new(k));
        }
        v.sort();
        v
    }
}

impl World {
    async fn pair_and_plan(&mut self, opts: &PlanOptions) -> Result<Plan, StoreError> {
        let mut rs = self.remote.snapshot().await?;
        let mut ls = self.local.snapshot().await?;
        rs.new.clear();
        let mut st = self.status.load()?;
        pair_new_messages(
            &rs,
            &mut ls,
            &mut st,
            &mut self.remote,
            &mut self.local,
            &mut self.status,
        )
        .await?;
        Ok(plan(&rs, &ls, &st, opts))
    }

    fn sync(&mut self, opts: &PlanOptions) -> Result<Summary, StoreError> {
        block_on(async {
            let p = self.pair_and_plan(opts).await?;
            apply(
                &p,
                &mut self.remote,
                &mut self.local,
                &mut self.status,
                &mut |_| {},
                &|| false,
            )
            .await
        })
    }

    fn plan_now(&mut self, opts: &PlanOptions) -> Plan {
        block_on(self.pair_and_plan(opts)).unwrap()
    }
}

fn assert_no_unjustified_delete(p: &Plan, r: &Snapshot, l: &Snapshot, s: &StatusSnapshot) {
    for a in p {
        if let Action::Delete { uid, on, .. } = a {
            assert!(s.contains_key(uid), "{a}: UID not in status");
            let other = match on.other() {
                Side::Remote => r,
                Side::Local => l,
            };
            assert!(
                !other.uids.contains_key(uid),
                "{a}: other side still has it"
            );
            let this = match on {
                Side::Remote => r,
                Side::Local => l,
            };
            assert!(this.uids.contains_key(uid), "{a}: nothing to delete");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// (a) No Delete{on: X} unless the status has the UID and the other
    /// side lacks it; no action twice.
    #[test]
    fn deletes_are_justified(sc in scenario(), opts in options()) {
        let (r, l, s) = sc.inputs();
        let p = plan(&r, &l, &s, &opts);
        assert_no_unjustified_delete(&p, &r, &l, &s);
        let mut seen = BTreeSet::new();
        for a in &p {
            prop_assert!(seen.insert(format!("{a:?}")), "duplicate action {a}");
        }
    }

    /// Readonly sides are never touched by the plan (an upload relabels the
    /// local file, which OfflineIMAP does too, so it is allowed).
    #[test]
    fn readonly_is_respected(sc in scenario(), opts in options()) {
        let (r, l, s) = sc.inputs();
        let p = plan(&r, &l, &s, &opts);
        for a in &p {
            match a {
                Action::Download { .. } => prop_assert!(!opts.local_readonly),
                Action::Upload { .. } => prop_assert!(!opts.remote_readonly),
                Action::Delete { on, .. } | Action::SetFlags { on, .. } => match on {
                    Side::Local => prop_assert!(!opts.local_readonly),
                    Side::Remote => prop_assert!(!opts.remote_readonly),
                },
                Action::Record { .. } | Action::Forget { .. } => {}
            }
        }
    }

    /// (b) Applying the plan and planning again gives an empty plan; in a
    /// full two-way sync both sides then hold the same UIDs, flags and
    /// bodies.
    #[test]
    fn apply_then_plan_is_empty(sc in scenario(), opts in options()) {
        let mut w = sc.world(&Faults::new(), true);
        w.sync(&opts).unwrap();
        let again = w.plan_now(&opts);
        prop_assert!(again.is_empty(), "second plan:\n{again}");
        let full = opts == PlanOptions::default();
        if full {
            prop_assert_eq!(w.remote.flags_by_uid(), w.local.flags_by_uid());
            prop_assert_eq!(w.local.new_messages().count(), 0);
            prop_assert_eq!(w.remote.bodies(), sc.expected_bodies());
            prop_assert_eq!(w.local.bodies(), sc.expected_bodies());
            let status_uids: Vec<Uid> = w.status.committed().keys().copied().collect();
            let remote_uids: Vec<Uid> = w.remote.messages().keys().copied().collect();
            prop_assert_eq!(status_uids, remote_uids);
        }
    }

    /// (c) The plan is a function of its inputs.
    #[test]
    fn plan_is_deterministic(sc in scenario(), opts in options()) {
        let (r, l, s) = sc.inputs();
        let mut shuffled = l.clone();
        shuffled.new.reverse();
        prop_assert_eq!(plan(&r, &l, &s, &opts), plan(&r, &l, &s, &opts));
        prop_assert_eq!(plan(&r, &l, &s, &opts), plan(&r, &shuffled, &s, &opts));
    }
}

/// Run the scenario with a crash at every mutating step k in turn, then
/// restart (status reloaded from what was committed) and sync until the
/// plan is empty; nothing may be lost or duplicated.
/// Returns how many crash points there were.
fn crash_at_every_step(sc: &Scenario, uidplus: bool) -> usize {
    let opts = PlanOptions::default();
    let expected = sc.expected_bodies();
    for k in 0.. {
        let faults = Faults::fail_at(k);
        let mut w = sc.world(&faults, uidplus);
        let first = w.sync(&opts);
        if !faults.tripped() {
            // k is past the last step: the run completed, and so do all
            // later k.
            assert!(first.is_ok(), "{first:?}");
            return k;
        }
        assert!(first.is_err(), "step {k}: crash not reported");
        faults.disarm();
        w.status = w.status.reopen(faults.clone());
        // Without UIDPLUS an upload needs one more run to be paired.
        let mut converged = false;
        for _ in 0..3 {
            w.sync(&opts).unwrap();
            if w.plan_now(&opts).is_empty() {
                converged = true;
                break;
            }
        }
        assert!(converged, "step {k}: no convergence: {}", w.plan_now(&opts));
        assert_eq!(w.remote.bodies(), expected, "step {k}: remote bodies");
        assert_eq!(w.local.bodies(), expected, "step {k}: local bodies");
        assert_eq!(
            w.remote.flags_by_uid(),
            w.local.flags_by_uid(),
            "step {k}: flags"
        );
    }
    unreachable!("the loop only ends by returning")
}

fn case(r: bool, l: bool, s: bool, rf: &str, lf: &str, sf: &str) -> UidCase {
    UidCase {
        on_remote: r,
        on_local: l,
        in_status: s,
        remote_flags: Flags::from_letters(rf),
        local_flags: Flags::from_letters(lf),
        status_flags: Flags::from_letters(sf),
        leftover: false,
    }
}

/// Every arm at once.
fn rich_scenario() -> Scenario {
    let mut leftover = case(true, false, false, "S", "", "");
    leftover.leftover = true;
    Scenario {
        uids: vec![
            case(true, false, false, "S", "", ""),   // 1 R1-download
            case(true, true, false, "S", "F", ""),   // 2 R1-record
            case(false, true, true, "", "S", "S"),   // 3 R2-delete
            case(false, false, true, "", "", "S"),   // 4 R2-forget
            case(true, true, true, "FS", "S", "S"),  // 5 R3-flags
            case(false, true, false, "", "R", ""),   // 6 L1-upload-uid
            case(true, false, true, "S", "", "S"),   // 7 L2-delete
            case(true, true, true, "S", "ST", "S"),  // 8 L3-flags
            case(true, true, true, "FS", "FS", "S"), // 9 F-record
            leftover,                                // 10 pairing
            case(true, true, true, "S", "S", "S"),   // 11 in sync
        ],
        new: vec![Flags::EMPTY, Flags::from_letters("S")],
    }
}

#[test]
fn crash_at_every_step_loses_and_duplicates_nothing() {
    // Pairing relabel, 3 uploads x 2 steps, download, 2 deletes, 2 flag
    // stores and the status commits: every one is a crash point.
    let steps = crash_at_every_step(&rich_scenario(), true);
    assert!(steps >= 12, "only {steps} crash points");
}

#[test]
fn crash_at_every_step_without_uidplus() {
    let steps = crash_at_every_step(&rich_scenario(), false);
    assert!(steps >= 8, "only {steps} crash points");
}

#[test]
fn rich_scenario_converges_in_one_run() {
    let sc = rich_scenario();
    let mut w = sc.world(&Faults::new(), true);
    let s = w.sync(&PlanOptions::default()).unwrap();
    assert_eq!(s.downloaded, 1);
    // Two new messages and local UID 6; the leftover of 10 is paired.
    assert_eq!(s.uploaded, 3);
    assert_eq!(s.deleted_local, 1);
    assert_eq!(s.deleted_remote, 1);
    assert!(w.plan_now(&PlanOptions::default()).is_empty());
    assert_eq!(w.remote.bodies(), sc.expected_bodies());
    assert_eq!(w.local.bodies(), sc.expected_bodies());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn random_crashes_lose_and_duplicate_nothing(sc in scenario(), uidplus in any::<bool>()) {
        crash_at_every_step(&sc, uidplus);
    }
}

#[test]
fn snapshot_helpers_agree_with_model() {
    // Guard for the scenario builder: a new local message is listed
    // without UID and with its LF size.
    let sc = Scenario {
        uids: vec![],
        new: vec![Flags::from_letters("S")],
    };
    let (_, l, _) = sc.inputs();
    let body = body_of_new(0);
    let lf_size = body.len() as u64 - 3;
    assert_eq!(
        l.new,
        vec![NewMessage {
            id: NewId(0),
            meta: MessageMeta {
                flags: Flags::from_letters("S"),
                size: lf_size
            }
        }]
    );
}

impl World {
    /// A sync as `account::folder_sync` runs a large folder: one UID range
    /// at a time, each range listed anew from the stores after the ranges
    /// before it were applied, with the carry (messages without a UID,
    /// orphans) paired in every range and uploaded with the last.
    fn sync_chunked(&mut self, opts: &PlanOptions, chunk: usize) -> Result<(), StoreError> {
        use super::chunk;
        block_on(async {
            let server: Vec<Uid> = self.remote.snapshot().await?.uids.keys().copied().collect();
            let local: Vec<Uid> = self.local.snapshot().await?.uids.keys().copied().collect();
            let status: Vec<Uid> = self.status.load()?.keys().copied().collect();
            let orphans = chunk::orphans(local.iter().copied(), &status, &server);
            let ranges = chunk::ranges(&server, &status, chunk);
            for (i, (lo, hi)) in ranges.iter().copied().enumerate() {
                let last = i + 1 == ranges.len();
                let rs = chunk::restrict(&self.remote.snapshot().await?, lo, hi, &[], false);
                let mut ls = chunk::restrict(&self.local.snapshot().await?, lo, hi, &orphans, true);
                let mut st = chunk::status_in(&self.status.load()?, lo, hi);
                pair_new_messages(
                    &rs,
                    &mut ls,
                    &mut st,
                    &mut self.remote,
                    &mut self.local,
                    &mut self.status,
                )
                .await?;
                chunk::for_plan(&mut ls, &orphans, last);
                let p = plan(&rs, &ls, &st, opts);
                apply(
                    &p,
                    &mut self.remote,
                    &mut self.local,
                    &mut self.status,
                    &mut |_| {},
                    &|| false,
                )
                .await?;
            }
            Ok(())
        })
    }

    /// Everything a sync leaves: each side's messages (UID, flags, body),
    /// those without a UID, and the status rows.
    #[allow(clippy::type_complexity)]
    fn state(
        &self,
    ) -> (
        Vec<(Uid, Flags, Vec<u8>)>,
        Vec<(Uid, Flags, Vec<u8>)>,
        Vec<(Flags, Vec<u8>)>,
        StatusSnapshot,
    ) {
        let side = |s: &MemStore| -> Vec<(Uid, Flags, Vec<u8>)> {
            s.messages()
                .iter()
                .map(|(u, m)| (*u, m.flags, m.bytes.clone()))
                .collect()
        };
        let mut new: Vec<(Flags, Vec<u8>)> = self
            .local
            .new_messages()
            .map(|(_, m)| (m.flags, m.bytes.clone()))
            .collect();
        new.sort();
        (
            side(&self.remote),
            side(&self.local),
            new,
            self.status.committed().clone(),
        )
    }
}

/// Orphan local UIDs (neither the status nor the server knows them) for
/// the chunked test, which the scenario above never makes: a local
/// message with such a UID, sometimes with its copy already on the server
/// under a higher UID (an upload interrupted before the relabel).
fn add_orphans(w: &mut World, orphans: &[(bool, u8)]) {
    for (k, (copied, bits)) in orphans.iter().enumerate() {
        let uid = 50 + k as Uid;
        let body = format!("Subject: orphan {k}\r\n\r\norphan {k}\r\n").into_bytes();
        w.local.insert(uid, flags_from_bits(*bits), &body);
        if *copied {
            w.remote
                .insert(60 + k as Uid, flags_from_bits(*bits), &body);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Syncing range by range (any range size) ends in exactly the state
    /// syncing the whole folder at once ends in: same messages, UIDs,
    /// flags and bodies on both sides, same status rows.
    #[test]
    fn chunked_sync_equals_whole_sync(
        sc in scenario(),
        opts in options(),
        chunk in 1usize..5,
        orphans in prop::collection::vec(any::<(bool, u8)>().prop_map(|(c, b)| (c, b % 32)), 0..3),
    ) {
        let mut whole = sc.world(&Faults::new(), true);
        add_orphans(&mut whole, &orphans);
        let mut ranged = sc.world(&Faults::new(), true);
        add_orphans(&mut ranged, &orphans);
        whole.sync(&opts).unwrap();
        ranged.sync_chunked(&opts, chunk).unwrap();
        prop_assert_eq!(whole.state(), ranged.state());
    }
}
