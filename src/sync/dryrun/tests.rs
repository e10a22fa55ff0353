use futures::executor::block_on;

use super::*;
use crate::sync::apply::{self, Progress};
use crate::sync::memory::{Faults, MemStatus, MemStore};
use crate::sync::plan::{PlanOptions, plan};

fn f(s: &str) -> Flags {
    Flags::from_letters(s)
}

fn body(n: u32) -> Vec<u8> {
    format!("Subject: message {n}\r\n\r\nbody {n}\r\n").into_bytes()
}

/// A folder pair with one of everything: a flag added on the server (2),
/// a flag removed locally (1), a deletion on each side (3 on the server,
/// 4 locally), a new server message (5), a new local message (the one
/// with body 7), and a server message (6) that is an interrupted upload
/// of a local message without UID, which pairing links.
struct World {
    remote: MemStore,
    local: MemStore,
    status: MemStatus,
    faults: Faults,
}

fn world() -> World {
    let faults = Faults::new();
    let mut remote = MemStore::server().with_faults(faults.clone());
    let mut local = MemStore::maildir().with_faults(faults.clone());
    remote.insert(1, f("S"), &body(1));
    remote.insert(2, f("FS"), &body(2));
    remote.insert(4, f("S"), &body(4));
    remote.insert(5, f(""), &body(5));
    remote.insert(6, f("S"), &body(6));
    local.insert(1, f(""), &body(1));
    local.insert(2, f("S"), &body(2));
    local.insert(3, f(""), &body(3));
    local.insert_new(f("S"), &body(6));
    local.insert_new(f("D"), &body(7));
    let status = MemStatus::new(
        [(1, f("S")), (2, f("S")), (3, f("")), (4, f("S"))]
            .into_iter()
            .collect(),
    )
    .with_faults(faults.clone());
    World {
        remote,
        local,
        status,
        faults,
    }
}

/// Syncs the world as `account::folder_sync` does, through [`Stores`];
/// returns every progress report but `Copied` (whose byte count a dry run
/// cannot know), the writes stopped, and the paired count.
fn sync(w: &mut World, dry: bool) -> (Vec<Progress>, (Vec<Would>, Vec<Would>), usize) {
    block_on(async {
        let remote_snap = w.remote.snapshot().await.unwrap();
        let mut local_snap = w.local.snapshot().await.unwrap();
        let mut status_snap = w.status.load().unwrap();
        let mut stores = Stores::new(dry, &mut w.remote, &mut w.local, &mut w.status);
        let (r, l, s) = stores.reading();
        let paired =
            apply::pair_new_messages(&remote_snap, &mut local_snap, &mut status_snap, r, l, s)
                .await
                .unwrap();
        let the_plan = plan(
            &remote_snap,
            &local_snap,
            &status_snap,
            &PlanOptions::default(),
        );
        let mut reports = Vec::new();
        let mut progress = |p: Progress| {
            if !matches!(p, Progress::Copied { .. }) {
                reports.push(p);
            }
        };
        let (r, l, s) = stores.applying();
        let summary = apply::apply(&the_plan, r, l, s, &mut progress, &|| false)
            .await
            .unwrap();
        assert_eq!(summary.skipped, 0);
        assert_eq!(
            summary.uid_unknown, 0,
            "a dry run must not warn of unknown UIDs"
        );
        let (wr, wl) = stores.would();
        let would = (wr.to_vec(), wl.to_vec());
        (reports, would, paired)
    })
}

#[test]
fn a_dry_run_changes_nothing_and_reports_what_a_real_run_does() {
    let mut dry = world();
    let (dry_reports, (remote_would, local_would), dry_paired) = sync(&mut dry, true);

    // Nothing changed anywhere: not one mutating step was taken.
    assert_eq!(dry.faults.steps(), 0);
    let fresh = world();
    assert_eq!(dry.remote.messages(), fresh.remote.messages());
    assert_eq!(dry.local.messages(), fresh.local.messages());
    assert_eq!(dry.local.bodies(), fresh.local.bodies());
    assert_eq!(dry.status.committed(), fresh.status.committed());
    assert_eq!(dry.status.commits(), 0);

    // The same reports, in the same order, as the real run.
    let mut live = world();
    let (live_reports, (live_rw, live_lw), live_paired) = sync(&mut live, false);
    assert!(live.faults.steps() > 0);
    assert!(live_rw.is_empty() && live_lw.is_empty());
    assert_eq!(dry_paired, 1);
    assert_eq!(dry_paired, live_paired);
    assert_eq!(dry_reports, live_reports);

    // Every kind of action was planned and reported.
    let reported = |pred: &dyn Fn(&Progress) -> bool| dry_reports.iter().any(pred);
    assert!(reported(&|p| matches!(
        p,
        Progress::Copying {
            id: MsgRef::Uid(5),
            from: Side::Remote,
            ..
        }
    )));
    assert!(reported(&|p| matches!(
        p,
        Progress::Copying {
            id: MsgRef::New(_),
            from: Side::Local,
            ..
        }
    )));
    assert!(reported(
        &|p| matches!(p, Progress::Deleting { on: Side::Local, uids } if uids == &[3])
    ));
    assert!(reported(
        &|p| matches!(p, Progress::Deleting { on: Side::Remote, uids } if uids == &[4])
    ));
    assert!(reported(&|p| matches!(
        p,
        Progress::FlagsAdding { on: Side::Local, uids, flags } if uids == &[2] && *flags == f("F")
    )));
    assert!(reported(&|p| matches!(
        p,
        Progress::FlagsRemoving { on: Side::Remote, uids, flags } if uids == &[1] && *flags == f("S")
    )));

    // And each write was stopped at the decorator, not silently lost.
    assert!(remote_would.contains(&Would::Delete { uids: vec![4] }));
    assert!(remote_would.contains(&Would::RemoveFlags {
        uids: vec![1],
        flags: f("S")
    }));
    assert!(remote_would.iter().any(|w| matches!(
        w,
        Would::Append {
            id: MsgRef::New(_),
            uid: None
        }
    )));
    assert!(local_would.contains(&Would::Delete { uids: vec![3] }));
    assert!(local_would.contains(&Would::AddFlags {
        uids: vec![2],
        flags: f("F")
    }));
    assert!(local_would.contains(&Would::Append {
        id: MsgRef::Uid(5),
        uid: Some(5)
    }));
    // Pairing's relabel of the interrupted upload, and the upload's.
    assert!(
        local_would
            .iter()
            .any(|w| matches!(w, Would::AssignUid { uid: 6, .. }))
    );
    assert_eq!(
        local_would
            .iter()
            .filter(|w| matches!(
                w,
                Would::AssignUid {
                    id: MsgRef::New(_),
                    ..
                }
            ))
            .count(),
        2
    );
}

#[test]
fn dry_status_answers_as_if_written_but_writes_nothing() {
    let mut inner = MemStatus::new([(1, f("S")), (2, f(""))].into_iter().collect());
    let mut dry = DryRunStatus::new(&mut inner);
    dry.set(3, f("F")).unwrap();
    dry.set(1, f("RS")).unwrap();
    dry.remove(2).unwrap();
    dry.commit().unwrap();
    let seen = dry.load().unwrap();
    assert_eq!(seen, [(1, f("RS")), (3, f("F"))].into_iter().collect());
    assert_eq!(dry.commits(), 1);
    assert_eq!(dry.would().len(), 3);
    assert_eq!(
        inner.committed(),
        &[(1, f("S")), (2, f(""))].into_iter().collect()
    );
    assert_eq!(inner.commits(), 0);
    assert_eq!(inner.load().unwrap(), *inner.committed());
}

#[test]
fn skipped_bodies_are_placeholders_and_appends_get_plausible_uids() {
    let mut server = MemStore::server();
    server.insert(7, f("S"), &body(7));
    let mut dry = DryRunStore::new(&mut server);
    block_on(async {
        dry.snapshot().await.unwrap();
        struct Keep(Vec<Message>);
        #[async_trait]
        impl MessageSink for Keep {
            async fn accept(&mut self, msg: Message) -> Result<(), StoreError> {
                self.0.push(msg);
                Ok(())
            }
        }
        let mut read = Keep(Vec::new());
        dry.fetch(&[MsgRef::Uid(7)], &mut read).await.unwrap();
        assert_eq!(read.0[0].bytes, body(7));
        dry.skip_bodies(true);
        let mut skipped = Keep(Vec::new());
        dry.fetch(&[MsgRef::Uid(7), MsgRef::Uid(9)], &mut skipped)
            .await
            .unwrap();
        assert_eq!(skipped.0.len(), 2);
        assert!(skipped.0.iter().all(|m| m.bytes.is_empty()));
        let msg = skipped.0.remove(0);
        assert_eq!(dry.append(&msg, None).await.unwrap(), Some(8));
        assert_eq!(dry.append(&msg, None).await.unwrap(), Some(9));
        assert_eq!(dry.append(&msg, Some(3)).await.unwrap(), Some(3));
    });
    assert_eq!(server.messages().len(), 1);
    assert_eq!(server.faults().steps(), 0);
}

#[test]
fn a_missing_folder_is_empty_and_refuses_writes() {
    block_on(async {
        let mut empty = EmptyFolder::new("Archive");
        assert_eq!(empty.snapshot().await.unwrap(), Snapshot::default());
        let e = empty.delete(&[1]).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Folder);
        assert!(e.message.contains("Archive"), "{e}");
        // Wrapped, as a dry run uses it, writes are stopped before it.
        let mut dry = DryRunStore::new(&mut empty);
        dry.delete(&[1]).await.unwrap();
        assert_eq!(dry.would(), &[Would::Delete { uids: vec![1] }]);
    });
}

#[test]
fn copy_announcements_count_each_direction() {
    let remote_snap = block_on(MemStore::server().snapshot()).unwrap();
    let mut local = MemStore::maildir();
    local.insert_new(f(""), &body(1));
    local.insert_new(f(""), &body(2));
    let local_snap = block_on(local.snapshot()).unwrap();
    let mut server = MemStore::server();
    server.insert(1, f(""), &body(3));
    let server_snap = block_on(server.snapshot()).unwrap();
    let repo = |s: Side| match s {
        Side::Remote => "Remote".to_owned(),
        Side::Local => "Local".to_owned(),
    };
    let p = plan(
        &server_snap,
        &local_snap,
        &StatusSnapshot::new(),
        &PlanOptions::default(),
    );
    assert_eq!(
        copy_announcements(&p, "INBOX", &repo),
        [
            "[DRYRUN] Copy 1 messages from INBOX[Remote] to Local",
            "[DRYRUN] Copy 2 messages from INBOX[Local] to Remote",
        ]
    );
    let nothing = plan(
        &remote_snap,
        &Snapshot::default(),
        &StatusSnapshot::new(),
        &PlanOptions::default(),
    );
    assert!(copy_announcements(&nothing, "INBOX", &repo).is_empty());
}
