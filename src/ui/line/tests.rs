//! Golden tests: one event script, the exact text each line UI makes of it.

use std::time::{Duration, Instant};

use super::*;
use crate::event::{AccountId, Event, Level, WorkerId};

pub(crate) const ACCT: AccountId = AccountId(0);

pub(crate) fn w(slot: u16) -> WorkerId {
    WorkerId {
        account: ACCT,
        slot,
    }
}

/// A first sync of one account, in the order the workers would report it.
pub(crate) fn script(now: Instant) -> Vec<Event> {
    vec![
        Event::AccountStarted {
            account: ACCT,
            name: "Work".into(),
        },
        Event::WorkerStarted {
            worker: w(0),
            name: "Account sync Work".into(),
        },
        Event::Connecting {
            worker: w(0),
            repo: "Remote".into(),
            host: "imap.example.org".into(),
            port: 993,
        },
        Event::SyncingFolders {
            worker: w(0),
            from_type: "IMAP".into(),
            to_type: "Maildir".into(),
        },
        Event::FolderCreating {
            worker: w(0),
            folder: "Archive/2024".into(),
            repo: "Local".into(),
        },
        Event::WorkerStarted {
            worker: w(1),
            name: "Folder INBOX [acc: Work]".into(),
        },
        Event::FolderStarted {
            worker: w(1),
            folder: "INBOX".into(),
            from_type: "IMAP".into(),
            to_type: "Maildir".into(),
        },
        Event::MessageListLoading {
            worker: w(1),
            repo: "IMAP".into(),
            folder: "INBOX".into(),
        },
        Event::MessageListLoaded {
            worker: w(1),
            repo: "IMAP".into(),
            folder: "INBOX".into(),
            count: 10,
        },
        Event::MessageCopying {
            worker: w(1),
            uid: "123".into(),
            n: 4,
            total: 10,
            from_repo: "Remote".into(),
            to_repo: "Local".into(),
            folder: "INBOX".into(),
        },
        Event::MessageCopied {
            worker: w(1),
            bytes: 2048,
        },
        Event::MessagesDeleting {
            worker: w(1),
            uids: vec![6, 5, 9, 1, 2, 3],
            repo: "Maildir".into(),
            folder: "INBOX".into(),
        },
        Event::FlagsAdding {
            worker: w(1),
            uids: vec![1, 2, 3],
            flags: "S".into(),
            repo: "Local".into(),
            folder: "INBOX".into(),
        },
        Event::FlagsRemoving {
            worker: w(1),
            uids: vec![7],
            flags: "F".into(),
            repo: "Remote".into(),
            folder: "INBOX".into(),
        },
        Event::Logged {
            worker: Some(w(1)),
            level: Level::Debug,
            text: "a debug detail".into(),
        },
        Event::Logged {
            worker: Some(w(1)),
            level: Level::Warning,
            text: "UID validity problem for folder Junk".into(),
        },
        Event::WorkerFinished { worker: w(1) },
        Event::WorkerStarted {
            worker: w(1),
            name: "Folder Sent [acc: Work]".into(),
        },
        Event::FolderSkipped {
            worker: w(1),
            folder: "Sent".into(),
            reason: "not changed".into(),
        },
        Event::Logged {
            worker: Some(w(1)),
            level: Level::Error,
            text: "could not read folder Sent".into(),
        },
        Event::WorkerFinished { worker: w(1) },
        Event::AccountFinished {
            account: ACCT,
            name: "Work".into(),
            elapsed_secs: 125,
        },
        Event::Sleeping {
            account: ACCT,
            until: now + Duration::from_secs(300),
        },
        Event::Logged {
            worker: None,
            level: Level::Info,
            text: "from the main thread".into(),
        },
    ]
}

pub(crate) fn render(ui: &mut dyn LineUi, events: &[Event]) -> String {
    let mut out = String::new();
    for ev in events {
        if let Some(line) = ui.line(ev) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn basic_golden() {
    let expected = "\
*** Processing account Work
Establishing connection to imap.example.org:993 (Remote)
Creating folder Archive/2024[Local]
Syncing INBOX: IMAP -> Maildir
Copy message UID 123 (4/10) Remote:INBOX -> Local:INBOX
Deleting 6 messages (1:3,5:6,9) in Maildir[INBOX]
Adding flag S to 3 messages on INBOX
Deleting flag F from 1 messages on INBOX
UID validity problem for folder Junk
Skipping Sent (not changed)
ERROR: could not read folder Sent
*** Finished account 'Work' in 2:05
from the main thread
";
    assert_eq!(
        render(&mut Basic::new(false), &script(Instant::now())),
        expected
    );
}

#[test]
fn basic_dry_run_marks_pretended_actions() {
    let out = render(&mut Basic::new(true), &script(Instant::now()));
    assert!(out.contains("\n[DRYRUN] Creating folder Archive/2024[Local]\n"));
    assert!(out.contains("\n[DRYRUN] Deleting 6 messages (1:3,5:6,9) in Maildir[INBOX]\n"));
    // OfflineIMAP prints no per-message copy line in a dry run, and its
    // flag lines look like real changes; here every pretended action is
    // marked, so a dry run's log never reads like a real sync's.
    assert!(out.contains("\n[DRYRUN] Copy message UID 123 (4/10) Remote:INBOX -> Local:INBOX\n"));
    assert!(out.contains("\n[DRYRUN] Adding flag S to 3 messages on INBOX\n"));
    assert!(out.contains("\n[DRYRUN] Deleting flag F from 1 messages on INBOX\n"));
    // Not actions: unmarked.
    assert!(out.contains("\nSyncing INBOX: IMAP -> Maildir\n"));
}

#[test]
fn quiet_golden() {
    let expected = "\
UID validity problem for folder Junk
ERROR: could not read folder Sent
";
    assert_eq!(
        render(&mut Quiet::new(false), &script(Instant::now())),
        expected
    );
}

#[test]
fn ttyui_golden() {
    let now = Instant::now();
    let expected = "\
Account sync Work:
 *** Processing account Work
 Establishing connection to imap.example.org:993 (Remote)
 Creating folder Archive/2024[Local]
Folder INBOX [acc: Work]:
 Syncing INBOX: IMAP -> Maildir
 Copy message UID 123 (4/10) Remote:INBOX -> Local:INBOX
 Deleting 6 messages (1:3,5:6,9) in Maildir[INBOX]
 Adding flag S to 3 messages on INBOX
 Deleting flag F from 1 messages on INBOX
 UID validity problem for folder Junk
Folder Sent [acc: Work]:
 Skipping Sent (not changed)
 ERROR: could not read folder Sent
Account sync Work:
 *** Finished account 'Work' in 2:05
 Next refresh in 5.0 minutes
from the main thread
";
    let mut ui = TtyUi::with_clock(false, move || now);
    assert_eq!(render(&mut ui, &script(now)), expected);
}

#[test]
fn connecting_without_host_or_port() {
    let ev = |host: &str, port| Event::Connecting {
        worker: w(0),
        repo: "Tunnel".into(),
        host: host.into(),
        port,
    };
    let mut ui = Basic::new(false);
    assert_eq!(
        ui.line(&ev("", 0)).as_deref(),
        Some("Establishing connection (Tunnel)")
    );
    assert_eq!(
        ui.line(&ev("h", 0)).as_deref(),
        Some("Establishing connection to h: (Tunnel)")
    );
}

#[test]
fn several_flag_letters_are_listed_with_commas() {
    let ev = Event::FlagsAdding {
        worker: w(0),
        uids: vec![1, 2],
        flags: "FS".into(),
        repo: "Local".into(),
        folder: "INBOX".into(),
    };
    assert_eq!(
        Basic::new(false).line(&ev).as_deref(),
        Some("Adding flag F, S to 2 messages on INBOX")
    );
}

#[test]
fn finished_times_are_minutes_and_padded_seconds() {
    let ev = |elapsed_secs| Event::AccountFinished {
        account: ACCT,
        name: "A".into(),
        elapsed_secs,
    };
    let mut ui = Basic::new(false);
    assert_eq!(
        ui.line(&ev(0)).as_deref(),
        Some("*** Finished account 'A' in 0:00")
    );
    assert_eq!(
        ui.line(&ev(3661)).as_deref(),
        Some("*** Finished account 'A' in 61:01")
    );
}

#[test]
fn next_refresh_speaks_only_when_the_first_step_crosses_a_minute() {
    let s = Duration::from_secs;
    assert_eq!(
        next_refresh(s(300)).as_deref(),
        Some("Next refresh in 5.0 minutes")
    );
    assert_eq!(
        next_refresh(s(125)).as_deref(),
        Some("Next refresh in 2.1 minutes")
    );
    // 2:05 and 1:55 are in different minutes; 1:50 and 1:40 are not.
    assert_eq!(next_refresh(s(110)), None);
    assert_eq!(next_refresh(s(30)), None);
    assert_eq!(
        next_refresh(s(5)).as_deref(),
        Some("Next refresh in 0.1 minutes")
    );
    assert_eq!(next_refresh(s(0)), None);
    // An instant already past must not panic or print.
    assert_eq!(next_refresh(Duration::ZERO), None);
}

#[test]
fn ttyui_reused_slot_gets_its_new_name() {
    let mut ui = TtyUi::new(false);
    let skip = |folder: &str| Event::FolderSkipped {
        worker: w(3),
        folder: folder.into(),
        reason: "not changed".into(),
    };
    let events = [
        Event::WorkerStarted {
            worker: w(3),
            name: "Folder A [acc: X]".into(),
        },
        skip("A"),
        Event::WorkerFinished { worker: w(3) },
        skip("orphan"),
        Event::WorkerStarted {
            worker: w(3),
            name: "Folder B [acc: X]".into(),
        },
        skip("B"),
    ];
    // Unnamed and without a known account, the orphan counts as main thread.
    assert_eq!(
        render(&mut ui, &events),
        "Folder A [acc: X]:\n Skipping A (not changed)\nSkipping orphan (not changed)\nFolder B [acc: X]:\n Skipping B (not changed)\n"
    );
}

#[test]
fn uid_sequences() {
    assert_eq!(uid_sequence(&[]), "");
    assert_eq!(uid_sequence(&[7]), "7");
    assert_eq!(uid_sequence(&[5, 6]), "5:6");
    assert_eq!(uid_sequence(&[1, 2, 3, 4, 5, 10, 12, 13]), "1:5,10,12:13");
    assert_eq!(uid_sequence(&[13, 1, 12]), "1,12:13");
    assert_eq!(
        uid_sequence(&[u32::MAX, u32::MAX - 1]),
        "4294967294:4294967295"
    );
    // Duplicates are kept, as OfflineIMAP does.
    assert_eq!(uid_sequence(&[5, 5, 6]), "5,5:6");
}

#[tokio::test]
async fn writer_loop_writes_every_line_and_ends_with_the_channel() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let now = Instant::now();
    for ev in script(now) {
        tx.send(ev).unwrap();
    }
    drop(tx);
    let mut out = Vec::new();
    run_line_ui(Quiet::new(false), rx, &mut out).await.unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "UID validity problem for folder Junk\nERROR: could not read folder Sent\n"
    );
}

#[tokio::test]
async fn writer_loop_stops_on_a_write_error() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tx.send(Event::Logged {
        worker: None,
        level: Level::Error,
        text: "x".into(),
    })
    .unwrap();
    // The sender stays alive: the loop must end on the error, not wait.
    let err = run_line_ui(Basic::new(false), rx, Broken)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    drop(tx);
}

#[test]
fn validity_problem_reads_as_offlineimap_warns_it() {
    let ev = Event::ValidityProblem {
        worker: w(1),
        folder: "INBOX".into(),
        repo: "Remote".into(),
        saved: 7,
        current: 9,
    };
    let want = "UID validity problem for folder INBOX (repo Remote) (saved 7; got 9); \
                skipping it. Please see FAQ and manual on how to handle this.\n";
    assert_eq!(
        render(&mut Basic::new(false), std::slice::from_ref(&ev)),
        want
    );
    // Quiet shows warnings too.
    assert_eq!(render(&mut Quiet::new(false), &[ev]), want);
}

/// A post-sync hook as the account reports it: start, output, exit code.
pub(crate) fn hook_script() -> Vec<Event> {
    vec![
        Event::HookStarted {
            worker: w(0),
            which: "postsynchook".into(),
            command: "notmuch new".into(),
        },
        Event::Logged {
            worker: Some(w(0)),
            level: Level::Info,
            text: "Hook stdout: Added 2 new messages".into(),
        },
        Event::HookFinished {
            worker: w(0),
            which: "postsynchook".into(),
            code: 0,
        },
    ]
}

#[test]
fn hooks_read_as_offlineimap_logs_them() {
    assert_eq!(
        render(&mut Basic::new(false), &hook_script()),
        "Calling hook: notmuch new\nHook stdout: Added 2 new messages\nHook return code: 0\n"
    );
    // Quiet shows none of it: a failing hook comes with its own warning.
    assert_eq!(render(&mut Quiet::new(false), &hook_script()), "");
}

fn debug_line(text: &str) -> Event {
    Event::Logged {
        worker: Some(w(1)),
        level: Level::Debug,
        text: text.into(),
    }
}

#[test]
fn debug_lines_only_with_dash_d() {
    let mut events = script(Instant::now());
    events.push(debug_line("[imap]: C: A1 NOOP"));
    for (name, ui) in [
        ("basic", &mut Basic::new(false) as &mut dyn LineUi),
        ("quiet", &mut Quiet::new(false)),
        ("ttyui", &mut TtyUi::new(false)),
    ] {
        let out = render(ui, &events);
        assert!(!out.contains("[imap]"), "{name}: {out}");
        assert!(!out.contains("Copying folder structure"), "{name}: {out}");
    }
    let basic = render(&mut Basic::new(false).with_debug(true), &events);
    assert!(
        basic.ends_with("from the main thread\n[imap]: C: A1 NOOP\n"),
        "{basic}"
    );
    // OfflineIMAP's DEBUG-level messages appear too.
    assert!(basic.contains("\nCopying folder structure from IMAP to Maildir\n"));
    // Quiet under -d shows everything, as OfflineIMAP's does.
    let quiet = render(&mut Quiet::new(false).with_debug(true), &events);
    assert_eq!(quiet, basic);
    let tty = render(&mut TtyUi::new(false).with_debug(true), &events);
    assert!(tty.ends_with(" [imap]: C: A1 NOOP\n"), "{tty}");
}
