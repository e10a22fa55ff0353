//! `-P DIR`: a plain-text timing profile of each account's sync, written
//! to `DIR/<timestamp>_<account>.prof` when the sync ends.
//!
//! OfflineIMAP wrote a Python cProfile of each account thread there. A
//! profile of Rust code by function is what `perf` is for; what a user
//! wants to know from `-P` is where a sync's time goes, which the events
//! the UIs receive already tell: per folder and phase (listing each side,
//! copying, deleting, flags), plus connecting, the folder lists and the
//! hooks. A phase of a worker lasts from its first event to the worker's
//! next event, so the time spent after a phase's last event (say, writing
//! the status cache after the flags) counts towards that phase.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, UnboundedReceiver};

use crate::event::{AccountId, Event, Level, WorkerId};

/// The scope of the account-wide rows (connecting, folder lists, hooks).
const ACCOUNT: &str = "(account)";

/// One row of a profile.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    scope: String,
    phase: String,
    time: Duration,
    count: u64,
    bytes: u64,
}

/// What one worker is doing now.
struct Worker {
    folder: Option<(String, Instant)>,
    phase: Option<(String, Instant)>,
}

/// One account's sync being recorded.
struct Run {
    name: String,
    started: Instant,
    started_at: chrono::DateTime<chrono::Utc>,
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Run {
    fn row(&mut self, scope: &str, phase: &str) -> &mut Row {
        let i = match self
            .rows
            .iter()
            .position(|r| r.scope == scope && r.phase == phase)
        {
            Some(i) => i,
            None => {
                self.rows.push(Row {
                    scope: scope.to_owned(),
                    phase: phase.to_owned(),
                    time: Duration::ZERO,
                    count: 0,
                    bytes: 0,
                });
                self.rows.len() - 1
            }
        };
        &mut self.rows[i]
    }
}

/// Turns events into profiles; pure, so it can be fed by hand.
#[derive(Default)]
pub struct Recorder {
    runs: HashMap<AccountId, Run>,
    workers: HashMap<WorkerId, Worker>,
}

/// A finished profile: the file name's parts and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub account: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub text: String,
}

impl Profile {
    /// `<YYYYmmddHHMMSS>_<account>.prof` (UTC), with `/` in the account
    /// name made harmless.
    pub fn file_name(&self) -> String {
        format!(
            "{}_{}.prof",
            self.started_at.format("%Y%m%d%H%M%S"),
            self.account.replace(['/', '\0'], "_")
        )
    }
}

impl Recorder {
    /// Takes in one event seen at `now`; returns the profile of an account
    /// whose sync just ended.
    pub fn feed(&mut self, ev: &Event, now: Instant) -> Option<Profile> {
        match ev {
            Event::AccountStarted { account, name } => {
                self.runs.insert(
                    *account,
                    Run {
                        name: name.clone(),
                        started: now,
                        started_at: chrono::Utc::now(),
                        rows: Vec::new(),
                        notes: Vec::new(),
                    },
                );
            }
            Event::WorkerStarted { worker, .. } => {
                self.end_worker(*worker, now);
                self.workers.insert(
                    *worker,
                    Worker {
                        folder: None,
                        phase: None,
                    },
                );
            }
            Event::Connecting { worker, repo, .. } => {
                self.begin(*worker, now, Some(ACCOUNT), &format!("connect {repo}"));
            }
            Event::SyncingFolders { worker, .. } => {
                self.begin(*worker, now, Some(ACCOUNT), "folder lists");
            }
            Event::FolderCreating { worker, .. } => {
                self.begin(*worker, now, Some(ACCOUNT), "create folders");
                self.count(*worker, 1, 0);
            }
            Event::FolderStarted { worker, folder, .. } => {
                // The folder lists are done once folders sync; the account
                // worker then only waits for them, which is no phase.
                let listing: Vec<WorkerId> = self
                    .workers
                    .iter()
                    .filter(|(id, w)| {
                        id.account == worker.account
                            && w.phase.as_ref().is_some_and(|(k, _)| {
                                k.starts_with(&format!("{ACCOUNT}\tfolder lists"))
                                    || k.starts_with(&format!("{ACCOUNT}\tcreate folders"))
                            })
                    })
                    .map(|(id, _)| *id)
                    .collect();
                for id in listing {
                    self.close(id, now);
                }
                self.end_folder(*worker, now);
                if let Some(w) = self.workers.get_mut(worker) {
                    w.folder = Some((folder.clone(), now));
                }
                self.begin(*worker, now, None, "select");
            }
            Event::FolderSkipped {
                worker,
                folder,
                reason,
            } => {
                if let Some(run) = self.runs.get_mut(&worker.account) {
                    run.notes.push(format!("skipped {folder}: {reason}"));
                }
            }
            Event::MessageListLoading { worker, repo, .. } => {
                self.begin(*worker, now, None, &format!("list {repo}"));
            }
            Event::MessageListLoaded { worker, count, .. } => {
                self.count(*worker, *count as u64, 0);
                self.begin(*worker, now, None, "plan");
            }
            Event::MessageCopying {
                worker,
                from_repo,
                to_repo,
                ..
            } => {
                self.begin(
                    *worker,
                    now,
                    None,
                    &format!("copy {from_repo} -> {to_repo}"),
                );
                self.count(*worker, 1, 0);
            }
            Event::MessageCopied { worker, bytes } => self.count(*worker, 0, *bytes),
            Event::MessagesDeleting {
                worker, uids, repo, ..
            } => {
                self.begin(*worker, now, None, &format!("delete on {repo}"));
                self.count(*worker, uids.len() as u64, 0);
            }
            Event::FlagsAdding {
                worker, uids, repo, ..
            }
            | Event::FlagsRemoving {
                worker, uids, repo, ..
            } => {
                self.begin(*worker, now, None, &format!("flags on {repo}"));
                self.count(*worker, uids.len() as u64, 0);
            }
            Event::HookStarted { worker, which, .. } => {
                self.begin(*worker, now, Some(ACCOUNT), which);
            }
            Event::HookFinished { worker, .. } => self.close(*worker, now),
            Event::WorkerFinished { worker } => self.end_worker(*worker, now),
            Event::AccountFinished { account, .. } => {
                let ids: Vec<WorkerId> = self
                    .workers
                    .keys()
                    .filter(|w| w.account == *account)
                    .copied()
                    .collect();
                for w in ids {
                    self.end_worker(w, now);
                }
                let run = self.runs.remove(account)?;
                return Some(render(run, now));
            }
            Event::ValidityProblem { .. } | Event::Sleeping { .. } | Event::Logged { .. } => {}
        }
        None
    }

    /// Ends the worker's phase and opens `phase`, in `scope` (the
    /// worker's folder when `None`). The same phase going on is left open.
    fn begin(&mut self, worker: WorkerId, now: Instant, scope: Option<&str>, phase: &str) {
        let w = self.workers.entry(worker).or_insert(Worker {
            folder: None,
            phase: None,
        });
        let scope = scope
            .map(str::to_owned)
            .or_else(|| w.folder.as_ref().map(|(f, _)| f.clone()))
            .unwrap_or_else(|| ACCOUNT.to_owned());
        let key = format!("{scope}\t{phase}");
        if w.phase.as_ref().is_some_and(|(k, _)| *k == key) {
            return;
        }
        self.close(worker, now);
        if let Some(w) = self.workers.get_mut(&worker) {
            w.phase = Some((key, now));
        }
    }

    /// Adds to the counters of the worker's open phase.
    fn count(&mut self, worker: WorkerId, count: u64, bytes: u64) {
        let Some((key, _)) = self.workers.get(&worker).and_then(|w| w.phase.clone()) else {
            return;
        };
        let Some(run) = self.runs.get_mut(&worker.account) else {
            return;
        };
        let (scope, phase) = key.split_once('\t').unwrap_or((ACCOUNT, &key));
        let row = run.row(scope, phase);
        row.count += count;
        row.bytes += bytes;
    }

    /// Ends the worker's open phase, adding its time to its row.
    fn close(&mut self, worker: WorkerId, now: Instant) {
        let Some((key, since)) = self.workers.get_mut(&worker).and_then(|w| w.phase.take()) else {
            return;
        };
        let Some(run) = self.runs.get_mut(&worker.account) else {
            return;
        };
        let (scope, phase) = key.split_once('\t').unwrap_or((ACCOUNT, &key));
        run.row(scope, phase).time += now.saturating_duration_since(since);
    }

    fn end_folder(&mut self, worker: WorkerId, now: Instant) {
        self.close(worker, now);
        let Some((folder, since)) = self.workers.get_mut(&worker).and_then(|w| w.folder.take())
        else {
            return;
        };
        if let Some(run) = self.runs.get_mut(&worker.account) {
            let row = run.row(&folder, "total");
            row.time += now.saturating_duration_since(since);
            row.count += 1;
        }
    }

    fn end_worker(&mut self, worker: WorkerId, now: Instant) {
        self.end_folder(worker, now);
        self.workers.remove(&worker);
    }
}

fn render(run: Run, now: Instant) -> Profile {
    let wall = now.saturating_duration_since(run.started);
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# offlineimap {} timing profile (plain text, not a Python cProfile)",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(text, "# account: {}", run.name);
    let _ = writeln!(text, "# started: {}", run.started_at.to_rfc3339());
    let _ = writeln!(
        text,
        "# seconds: wall time of the phase, summed over the workers of this sync;"
    );
    let _ = writeln!(
        text,
        "# count: messages listed/copied/deleted/re-flagged, folders created, folder syncs"
    );
    let _ = writeln!(text, "scope\tphase\tseconds\tcount\tbytes");
    let _ = writeln!(text, "{ACCOUNT}\twall\t{:.3}\t\t", wall.as_secs_f64());
    for r in &run.rows {
        let _ = writeln!(
            text,
            "{}\t{}\t{:.3}\t{}\t{}",
            r.scope,
            r.phase,
            r.time.as_secs_f64(),
            if r.count > 0 {
                r.count.to_string()
            } else {
                String::new()
            },
            if r.bytes > 0 {
                r.bytes.to_string()
            } else {
                String::new()
            },
        );
    }
    for n in &run.notes {
        let _ = writeln!(text, "# {n}");
    }
    Profile {
        account: run.name,
        started_at: run.started_at,
        text,
    }
}

/// Writes `profile` into `dir` under a name not taken yet; the path.
pub fn write(dir: &Path, profile: &Profile) -> std::io::Result<PathBuf> {
    let base = profile.file_name();
    let mut n = 0;
    loop {
        let name = if n == 0 {
            base.clone()
        } else {
            format!("{}-{n}.prof", base.trim_end_matches(".prof"))
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(profile.text.as_bytes())?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Passes every event on and writes a profile into `dir` each time an
/// account's sync ends; a profile that cannot be written is a warning in
/// the stream.
pub fn tap(mut events: UnboundedReceiver<Event>, dir: PathBuf) -> UnboundedReceiver<Event> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut rec = Recorder::default();
        while let Some(ev) = events.recv().await {
            let done = rec.feed(&ev, Instant::now());
            let _ = tx.send(ev);
            if let Some(p) = done {
                let into = dir.clone();
                let written = tokio::task::spawn_blocking(move || write(&into, &p)).await;
                let (level, text) = match written {
                    Ok(Ok(path)) => (
                        Level::Info,
                        format!("Profile mode: wrote {}", path.display()),
                    ),
                    Ok(Err(e)) => (
                        Level::Warning,
                        format!(
                            "Profile mode: cannot write a profile into {}: {e}",
                            dir.display()
                        ),
                    ),
                    Err(e) => (Level::Warning, format!("Profile mode: {e}")),
                };
                let _ = tx.send(Event::Logged {
                    worker: None,
                    level,
                    text,
                });
            }
        }
    });
    rx
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn phases_per_folder_and_account() {
        let a = AccountId(0);
        let main = WorkerId {
            account: a,
            slot: 0,
        };
        let w = WorkerId {
            account: a,
            slot: 1,
        };
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut r = Recorder::default();
        let evs: Vec<(u64, Event)> = vec![
            (
                0,
                Event::AccountStarted {
                    account: a,
                    name: "Work".into(),
                },
            ),
            (
                0,
                Event::WorkerStarted {
                    worker: main,
                    name: "m".into(),
                },
            ),
            (
                0,
                Event::Connecting {
                    worker: main,
                    repo: "R".into(),
                    host: "h".into(),
                    port: 1,
                },
            ),
            (
                100,
                Event::SyncingFolders {
                    worker: main,
                    from_type: "IMAP".into(),
                    to_type: "Maildir".into(),
                },
            ),
            (
                150,
                Event::WorkerStarted {
                    worker: w,
                    name: "f".into(),
                },
            ),
            (
                150,
                Event::FolderStarted {
                    worker: w,
                    folder: "INBOX".into(),
                    from_type: "IMAP".into(),
                    to_type: "Maildir".into(),
                },
            ),
            (
                160,
                Event::MessageListLoading {
                    worker: w,
                    repo: "R".into(),
                    folder: "INBOX".into(),
                },
            ),
            (
                200,
                Event::MessageListLoaded {
                    worker: w,
                    repo: "R".into(),
                    folder: "INBOX".into(),
                    count: 3,
                },
            ),
            (
                210,
                Event::MessageCopying {
                    worker: w,
                    uid: "1".into(),
                    n: 1,
                    total: 2,
                    from_repo: "R".into(),
                    to_repo: "L".into(),
                    folder: "INBOX".into(),
                },
            ),
            (
                220,
                Event::MessageCopied {
                    worker: w,
                    bytes: 10,
                },
            ),
            (
                230,
                Event::MessageCopying {
                    worker: w,
                    uid: "2".into(),
                    n: 2,
                    total: 2,
                    from_repo: "R".into(),
                    to_repo: "L".into(),
                    folder: "INBOX".into(),
                },
            ),
            (
                240,
                Event::MessageCopied {
                    worker: w,
                    bytes: 5,
                },
            ),
            (300, Event::WorkerFinished { worker: w }),
            (400, Event::WorkerFinished { worker: main }),
        ];
        for (ms, ev) in &evs {
            assert!(r.feed(ev, at(*ms)).is_none());
        }
        let p = r
            .feed(
                &Event::AccountFinished {
                    account: a,
                    name: "Work".into(),
                    elapsed_secs: 0,
                },
                at(500),
            )
            .unwrap();
        assert!(p.file_name().ends_with("_Work.prof"), "{}", p.file_name());
        assert_eq!(p.file_name().len(), "20261122083000_Work.prof".len());
        let lines: Vec<&str> = p.text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                "scope\tphase\tseconds\tcount\tbytes",
                "(account)\twall\t0.500\t\t",
                "(account)\tconnect R\t0.100\t\t",
                "(account)\tfolder lists\t0.050\t\t",
                "INBOX\tselect\t0.010\t\t",
                "INBOX\tlist R\t0.040\t3\t",
                "INBOX\tplan\t0.010\t\t",
                "INBOX\tcopy R -> L\t0.090\t2\t15",
                "INBOX\ttotal\t0.150\t1\t",
            ]
        );
        assert!(p.text.contains("not a Python cProfile"));
    }

    #[test]
    fn written_names_never_clash() {
        let t = tempfile::tempdir().unwrap();
        let p = Profile {
            account: "a/b".into(),
            started_at: chrono::Utc::now(),
            text: "x\n".into(),
        };
        let one = write(t.path(), &p).unwrap();
        let two = write(t.path(), &p).unwrap();
        assert_ne!(one, two);
        assert!(
            one.file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with("_a_b.prof")
        );
        assert!(
            two.file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with("_a_b-1.prof")
        );
    }
}
