//! The planner's cost on one folder of 20,000 messages: 1 % deleted in the
//! Maildir, 1 % with local flag changes, the rest the same everywhere.
//!
//!     cargo run --release --example plan_bench
//!
//! Prints the best of 30 plans (wall time of `sync::plan::plan` alone).
//! Figures in docs/performance.md.

use offlineimap::sync::model::{Flags, MessageMeta, Snapshot, StatusSnapshot};
use offlineimap::sync::plan::{PlanOptions, plan};

fn main() {
    let letters = ["", "S", "SF", "F", "RS", "ST"];
    let n: u32 = 20_000;
    let status: StatusSnapshot = (1..=n)
        .map(|u| (u, Flags::from_letters(letters[u as usize % letters.len()])))
        .collect();
    let (mut local, mut remote) = (Snapshot::default(), Snapshot::default());
    for (u, f) in &status {
        remote.uids.insert(*u, MessageMeta { flags: *f, size: 0 });
        if u % 100 == 7 {
            continue;
        }
        let flags = if u % 100 == 3 {
            Flags::from_letters("FS")
        } else {
            *f
        };
        local.uids.insert(*u, MessageMeta { flags, size: 0 });
    }
    let opts = PlanOptions {
        local_readonly: false,
        remote_readonly: false,
        remote_sync_deletes: true,
        local_sync_deletes: true,
    };
    let mut best = std::time::Duration::MAX;
    let mut actions = 0;
    for _ in 0..30 {
        let t = std::time::Instant::now();
        let p = plan(&remote, &local, &status, &opts);
        best = best.min(t.elapsed());
        actions = p.actions.len();
    }
    println!(
        "plan of {n} messages: best of 30 {:.3} ms, {actions} actions",
        best.as_secs_f64() * 1000.0
    );
}
