use tokio::sync::mpsc;

use super::*;
use crate::event::AccountId;

fn split(max: usize, chunks: &[&[u8]]) -> Vec<String> {
    let mut s = LineSplitter::new(max);
    let mut out = Vec::new();
    let mut emit = |l: String| out.push(l);
    for c in chunks {
        s.push(c, &mut emit);
    }
    s.finish(&mut emit);
    out
}

#[test]
fn lines_are_split_on_newlines_across_chunks() {
    assert_eq!(
        split(100, &[b"one\ntw", b"o\r\n", b"\nlast"]),
        ["one", "two", "", "last"]
    );
}

#[test]
fn a_trailing_newline_adds_no_empty_line() {
    assert_eq!(split(100, &[b"a\nb\n"]), ["a", "b"]);
    assert!(split(100, &[b""]).is_empty());
}

#[test]
fn long_lines_are_cut_at_the_limit() {
    assert_eq!(
        split(4, &[b"abcdefghij\nxy\n"]),
        ["abcd", "efgh", "ij", "xy"]
    );
    // A line of exactly the limit: its newline ends it, no empty line.
    assert_eq!(split(4, &[b"abcd", b"\nef\n"]), ["abcd", "ef"]);
}

#[test]
fn invalid_utf8_is_shown_not_dropped() {
    assert_eq!(split(100, &[b"caf\xe9\n"]), ["caf\u{fffd}"]);
}

fn reporter() -> (Reporter, mpsc::UnboundedReceiver<Event>, WorkerId) {
    let (tx, rx) = mpsc::unbounded_channel();
    let rep = Reporter::new(AccountId(0), tx);
    let worker = rep.worker(0);
    (rep, rx, worker)
}

fn drain(rx: &mut mpsc::UnboundedReceiver<Event>) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        out.push(ev);
    }
    out
}

fn logged(events: &[Event], level: Level) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Logged { level: l, text, .. } if *l == level => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_hook_reports_its_start_output_and_code() {
    let (rep, mut rx, worker) = reporter();
    let cmd = "echo out; echo err >&2; echo \"mode=$OFFLINEIMAPSYNCMODE\"; exit 3";
    let code = run(&rep, worker, Hook::Pre, cmd, SYNC_MODE).await.unwrap();
    assert_eq!(code, 3);
    let events = drain(&mut rx);
    assert_eq!(
        events.first(),
        Some(&Event::HookStarted {
            worker,
            which: "presynchook".into(),
            command: cmd.into(),
        })
    );
    assert_eq!(
        events.last(),
        Some(&Event::HookFinished {
            worker,
            which: "presynchook".into(),
            code: 3,
        })
    );
    let mut info = logged(&events, Level::Info);
    info.sort();
    assert_eq!(
        info,
        [
            "Hook stderr: err",
            "Hook stdout: mode=full",
            "Hook stdout: out"
        ]
    );
}

#[tokio::test]
async fn a_failing_hook_is_a_warning_naming_it() {
    let (rep, mut rx, worker) = reporter();
    let ok = call(
        &rep,
        worker,
        Hook::Post,
        Some("exit 7"),
        &CancellationToken::new(),
        false,
        SYNC_MODE,
    )
    .await;
    assert!(ok, "a hook that ran is no error");
    let events = drain(&mut rx);
    assert_eq!(
        logged(&events, Level::Warning),
        ["postsynchook 'exit 7' exited with code 7"]
    );
}

#[tokio::test]
async fn a_killed_hook_reports_the_signal() {
    let (rep, mut rx, worker) = reporter();
    let code = run(&rep, worker, Hook::Pre, "kill -9 $$", SYNC_MODE)
        .await
        .unwrap();
    assert_eq!(code, -9);
    drain(&mut rx);
    assert!(
        call(
            &rep,
            worker,
            Hook::Pre,
            Some("kill -9 $$"),
            &CancellationToken::new(),
            false,
            SYNC_MODE,
        )
        .await
    );
    assert_eq!(
        logged(&drain(&mut rx), Level::Warning),
        ["presynchook 'kill -9 $$' was killed by signal 9"]
    );
}

#[tokio::test]
async fn no_hook_runs_when_unset_empty_or_aborting() {
    let (rep, mut rx, worker) = reporter();
    let marker = tempfile::tempdir().unwrap();
    let file = marker.path().join("ran");
    let cmd = format!("touch '{}'", file.display());
    assert!(
        call(
            &rep,
            worker,
            Hook::Pre,
            None,
            &CancellationToken::new(),
            false,
            SYNC_MODE,
        )
        .await
    );
    assert!(
        call(
            &rep,
            worker,
            Hook::Pre,
            Some("  "),
            &CancellationToken::new(),
            false,
            SYNC_MODE,
        )
        .await
    );
    let aborted = CancellationToken::new();
    aborted.cancel();
    assert!(
        call(
            &rep,
            worker,
            Hook::Post,
            Some(&cmd),
            &aborted,
            false,
            SYNC_MODE,
        )
        .await
    );
    assert!(drain(&mut rx).is_empty());
    assert!(!file.exists());
    // The same command does run when nothing stops it.
    assert!(
        call(
            &rep,
            worker,
            Hook::Post,
            Some(&cmd),
            &CancellationToken::new(),
            false,
            SYNC_MODE,
        )
        .await
    );
    assert!(file.exists());
}

#[tokio::test]
async fn a_chatty_hook_is_cut_short_in_the_log() {
    let (rep, mut rx, worker) = reporter();
    let n = MAX_LINES + 5;
    let code = run(&rep, worker, Hook::Post, &format!("seq 1 {n}"), SYNC_MODE)
        .await
        .unwrap();
    assert_eq!(code, 0);
    let info = logged(&drain(&mut rx), Level::Info);
    assert_eq!(info.len(), MAX_LINES + 1);
    assert_eq!(info[0], "Hook stdout: 1");
    assert_eq!(info[MAX_LINES - 1], format!("Hook stdout: {MAX_LINES}"));
    assert_eq!(info[MAX_LINES], "Hook stdout: (5 more lines not shown)");
}

#[tokio::test]
async fn a_dry_run_announces_the_hook_and_does_not_run_it() {
    let (rep, mut rx, worker) = reporter();
    let marker = tempfile::tempdir().unwrap();
    let file = marker.path().join("ran");
    let cmd = format!("touch '{}'", file.display());
    assert!(
        call(
            &rep,
            worker,
            Hook::Pre,
            Some(&cmd),
            &CancellationToken::new(),
            true,
            SYNC_MODE,
        )
        .await
    );
    let events = drain(&mut rx);
    assert!(
        matches!(&events[..], [Event::HookStarted { command, .. }] if *command == cmd),
        "{events:?}"
    );
    assert!(!file.exists());
}
