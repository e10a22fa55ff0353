use std::time::Duration;

use super::*;
use crate::ui::theme::Theme;
use ratatui::style::Color;

const ACC: AccountId = AccountId(0);

fn w(slot: u16) -> WorkerId {
    WorkerId { account: ACC, slot }
}

fn t0() -> Instant {
    // Any fixed point; only differences matter.
    Instant::now()
}

/// The lights of account `i` as their classic colours, so the assertions
/// say what the user sees.
fn colours(state: &State, i: usize) -> Vec<Color> {
    let theme = Theme::classic();
    state.accounts[i]
        .lights
        .iter()
        .map(|l| theme.light(*l).fg.unwrap())
        .collect()
}

fn copying(slot: u16, n: usize, total: usize) -> Event {
    Event::MessageCopying {
        worker: w(slot),
        uid: n.to_string(),
        n,
        total,
        from_repo: "Remote".into(),
        to_repo: "Local".into(),
        folder: "INBOX".into(),
    }
}

#[test]
fn accounts_exist_before_their_first_sync() {
    let s = State::new(["personal".to_string(), "work".to_string()]);
    assert_eq!(s.accounts.len(), 2);
    assert_eq!(s.accounts[1].name, "work");
    assert_eq!(s.accounts[0].phase, Phase::Queued);
    assert!(s.accounts[0].lights.is_empty());
    assert_eq!(s.control, Light::Main);
}

#[test]
fn an_event_script_drives_the_lights_and_their_colours() {
    let now = t0();
    let mut s = State::new(["personal".to_string()]);
    let step = |s: &mut State, ev: Event| s.apply(&ev, now);

    step(
        &mut s,
        Event::AccountStarted {
            account: ACC,
            name: "personal".into(),
        },
    );
    assert_eq!(s.accounts[0].phase, Phase::Active);
    assert_eq!(s.accounts[0].lights, vec![Light::Account]);
    assert_eq!(colours(&s, 0), vec![Color::Magenta]);

    step(
        &mut s,
        Event::WorkerStarted {
            worker: w(0),
            name: "Account sync personal".into(),
        },
    );
    assert_eq!(colours(&s, 0), vec![Color::Magenta]);

    step(
        &mut s,
        Event::Connecting {
            worker: w(0),
            repo: "Remote".into(),
            host: "imap.example.org".into(),
            port: 993,
        },
    );
    assert_eq!(colours(&s, 0), vec![Color::Gray]);

    step(
        &mut s,
        Event::SyncingFolders {
            worker: w(0),
            from_type: "IMAP".into(),
            to_type: "Maildir".into(),
        },
    );
    assert_eq!(colours(&s, 0), vec![Color::Blue]);

    // Two folder workers: slots 1 and 2.
    step(
        &mut s,
        Event::WorkerStarted {
            worker: w(1),
            name: "Folder INBOX".into(),
        },
    );
    step(
        &mut s,
        Event::Connecting {
            worker: w(2),
            repo: "Remote".into(),
            host: "h".into(),
            port: 1,
        },
    );
    assert_eq!(colours(&s, 0), vec![Color::Blue, Color::Cyan, Color::Gray]);

    step(
        &mut s,
        Event::MessageListLoading {
            worker: w(1),
            repo: "Remote".into(),
            folder: "INBOX".into(),
        },
    );
    step(
        &mut s,
        Event::FolderStarted {
            worker: w(2),
            folder: "Sent".into(),
            from_type: "IMAP".into(),
            to_type: "Maildir".into(),
        },
    );
    assert_eq!(colours(&s, 0), vec![Color::Blue, Color::Green, Color::Cyan]);

    step(&mut s, copying(1, 1, 3));
    step(
        &mut s,
        Event::MessagesDeleting {
            worker: w(2),
            uids: vec![5, 6],
            repo: "Local".into(),
            folder: "Sent".into(),
        },
    );
    assert_eq!(colours(&s, 0), vec![Color::Blue, Color::Yellow, Color::Red]);
    assert_eq!(s.accounts[0].lights[2], Light::Deleting);

    step(
        &mut s,
        Event::FlagsAdding {
            worker: w(2),
            uids: vec![1],
            flags: "S".into(),
            repo: "Local".into(),
            folder: "Sent".into(),
        },
    );
    assert_eq!(s.accounts[0].lights[2], Light::Flags);
    assert_eq!(colours(&s, 0)[2], Color::Blue);

    // A warning turns its worker's light bold red.
    step(
        &mut s,
        Event::Logged {
            worker: Some(w(2)),
            level: Level::Warning,
            text: "something odd".into(),
        },
    );
    assert_eq!(s.accounts[0].lights[2], Light::Warning);
    let theme = Theme::classic();
    assert_eq!(
        theme.light(Light::Warning),
        ratatui::style::Style::new()
            .fg(Color::Red)
            .add_modifier(ratatui::style::Modifier::BOLD)
    );

    // A finished worker goes black; its slot stays.
    step(&mut s, Event::WorkerFinished { worker: w(2) });
    assert_eq!(
        colours(&s, 0),
        vec![Color::Blue, Color::Yellow, Color::Black]
    );

    // The account's own worker finishes, then the account sleeps: red.
    step(&mut s, Event::WorkerFinished { worker: w(1) });
    step(&mut s, Event::WorkerFinished { worker: w(0) });
    step(
        &mut s,
        Event::AccountFinished {
            account: ACC,
            name: "personal".into(),
            elapsed_secs: 3,
        },
    );
    assert_eq!(s.accounts[0].phase, Phase::Done);
    assert_eq!(colours(&s, 0), vec![Color::Black; 3]);
    let until = now + Duration::from_secs(290);
    step(
        &mut s,
        Event::Sleeping {
            account: ACC,
            until,
        },
    );
    assert_eq!(s.accounts[0].phase, Phase::Sleeping { until });
    assert_eq!(colours(&s, 0), vec![Color::Red, Color::Black, Color::Black]);

    // The next sync reuses the slots.
    step(
        &mut s,
        Event::AccountStarted {
            account: ACC,
            name: "personal".into(),
        },
    );
    assert_eq!(
        colours(&s, 0),
        vec![Color::Magenta, Color::Black, Color::Black]
    );
    assert_eq!(s.accounts[0].phase, Phase::Active);
}

#[test]
fn log_lines_take_the_colour_of_their_worker() {
    let now = t0();
    let mut s = State::new(["a".to_string()]);
    s.apply(
        &Event::AccountStarted {
            account: ACC,
            name: "a".into(),
        },
        now,
    );
    s.apply(&copying(1, 1, 2), now);
    s.apply(
        &Event::Logged {
            worker: None,
            level: Level::Error,
            text: "boom".into(),
        },
        now,
    );
    s.apply(
        &Event::Logged {
            worker: None,
            level: Level::Info,
            text: "plain".into(),
        },
        now,
    );
    // Debug-level events (message list loading) are not logged, as in Basic.
    s.apply(
        &Event::MessageListLoading {
            worker: w(1),
            repo: "R".into(),
            folder: "F".into(),
        },
        now,
    );
    let got: Vec<(&str, Light)> = s.log.iter().map(|l| (l.text.as_str(), l.light)).collect();
    assert_eq!(
        got,
        vec![
            ("*** Processing account a", Light::Account),
            (
                "Copy message UID 1 (1/2) Remote:INBOX -> Local:INBOX",
                Light::Copying
            ),
            ("ERROR: boom", Light::Warning),
            // The control light stays red after the error.
            ("plain", Light::Warning),
        ]
    );
    assert_eq!(s.control, Light::Warning);
    assert_eq!(s.problems, vec!["ERROR: boom".to_string()]);
}

#[test]
fn progress_adds_up_passes_and_bytes() {
    let start = t0();
    let mut s = State::new(["a".to_string()]);
    s.apply(
        &Event::AccountStarted {
            account: ACC,
            name: "a".into(),
        },
        start,
    );
    // Slot 1 copies 3 messages in INBOX, then 2 in another folder; slot 2
    // copies 1 concurrently.
    for n in 1..=3 {
        s.apply(&copying(1, n, 3), start);
        s.apply(
            &Event::MessageCopied {
                worker: w(1),
                bytes: 1000,
            },
            start,
        );
    }
    s.apply(&copying(2, 1, 1), start);
    s.apply(&copying(1, 1, 2), start);
    let p = s.accounts[0].progress;
    assert_eq!((p.messages_done, p.messages_total), (3, 6));
    s.apply(
        &Event::MessageCopied {
            worker: w(2),
            bytes: 2000,
        },
        start,
    );
    let p = s.accounts[0].progress;
    assert_eq!((p.messages_done, p.bytes_done), (4, 5000));
    let later = start + Duration::from_secs(2);
    assert_eq!(p.rate(later), Some(2500.0));
    assert_eq!(
        progress_text(&p, later).unwrap(),
        "4/6 msgs  4.9 KiB  2.4 KiB/s"
    );
    // Finished: the rate is over the whole sync and no longer changes.
    s.apply(
        &Event::AccountFinished {
            account: ACC,
            name: "a".into(),
            elapsed_secs: 4,
        },
        start + Duration::from_secs(4),
    );
    let p = s.accounts[0].progress;
    assert_eq!(p.rate(start + Duration::from_secs(100)), Some(1250.0));
    // A new sync starts from zero.
    s.apply(
        &Event::AccountStarted {
            account: ACC,
            name: "a".into(),
        },
        later,
    );
    assert_eq!(progress_text(&s.accounts[0].progress, later), None);
}

#[test]
fn countdown_field_ticks_every_second() {
    let now = t0();
    let until = now + Duration::from_secs(290);
    let phase = Phase::Sleeping { until };
    assert_eq!(phase_field(phase, now), "  4:50");
    assert_eq!(
        phase_field(phase, now + Duration::from_millis(500)),
        "  4:50"
    );
    assert_eq!(phase_field(phase, now + Duration::from_secs(1)), "  4:49");
    assert_eq!(phase_field(phase, now + Duration::from_secs(290)), "  0:00");
    assert_eq!(phase_field(phase, now + Duration::from_secs(999)), "  0:00");
    let long = Phase::Sleeping {
        until: now + Duration::from_secs(125 * 60),
    };
    assert_eq!(phase_field(long, now), "125:00");
    assert_eq!(phase_field(Phase::Active, now), "active");
    assert_eq!(phase_field(Phase::Queued, now), "queued");
    assert_eq!(phase_field(Phase::Done, now), " done ");
}

#[test]
fn digits_sync_a_sleeping_account_and_refuse_otherwise() {
    let now = t0();
    let mut s = State::new(["personal".to_string(), "work".to_string()]);
    // Queued: not yet.
    assert_eq!(s.input(Input::Digit(1), 10), None);
    assert_eq!(
        s.log.back().unwrap().text,
        "Account personal has not started its first sync yet"
    );
    s.apply(
        &Event::AccountStarted {
            account: ACC,
            name: "personal".into(),
        },
        now,
    );
    assert_eq!(s.input(Input::Digit(1), 10), None);
    assert_eq!(
        s.log.back().unwrap().text,
        "Account personal is already syncing"
    );
    s.apply(
        &Event::Sleeping {
            account: ACC,
            until: now + Duration::from_secs(60),
        },
        now,
    );
    assert_eq!(s.input(Input::Digit(1), 10), Some(Effect::SyncNow(ACC)));
    assert_eq!(
        s.log.back().unwrap().text,
        "Requested synchronization for acc: personal"
    );
    // 0 is *Control, 3 names no account.
    let lines = s.log.len();
    assert_eq!(s.input(Input::Digit(0), 10), None);
    assert_eq!(s.input(Input::Digit(3), 10), None);
    assert_eq!(s.log.len(), lines);
    s.apply(
        &Event::Sleeping {
            account: AccountId(1),
            until: now,
        },
        now,
    );
    assert_eq!(
        s.input(Input::Digit(2), 10),
        Some(Effect::SyncNow(AccountId(1)))
    );
}

#[test]
fn quit_then_abort_then_ignored() {
    let mut s = State::new(["a".to_string()]);
    assert_eq!(s.input(Input::Quit, 10), Some(Effect::Quit));
    assert!(s.quitting);
    assert!(!s.aborting);
    assert_eq!(s.control, Light::Warning);
    assert_eq!(
        s.log.back().unwrap().text,
        "Requested shutdown via 'q': finishing the current folders"
    );
    assert_eq!(s.input(Input::Quit, 10), Some(Effect::Abort));
    assert!(s.aborting);
    assert_eq!(
        s.log.back().unwrap().text,
        "Requested immediate shutdown via a second 'q': stopping every account now"
    );
    assert_eq!(s.input(Input::Quit, 10), None);
}

fn typed(s: &mut State, text: &str) {
    for c in text.chars() {
        assert_eq!(s.prompt_key(PromptKey::Char(c)), None);
    }
}

#[test]
fn password_prompt_logs_offlineimap_lines_and_submits_the_typed_text() {
    let mut s = State::new(["a".to_string()]);
    s.scroll = 0;
    s.begin_prompt(ACC, "joe");
    let lines: Vec<&str> = s.log.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        lines,
        [
            " *** Input Required",
            " *** Please enter password for user 'joe': "
        ]
    );
    assert!(s.log.iter().all(|l| l.level == Level::Warning));
    // Keys that mean something else are part of the password now.
    typed(&mut s, "q1?hx");
    assert_eq!(s.prompt_key(PromptKey::Backspace), None);
    typed(&mut s, "sécret");
    // Nothing typed reaches the screen, the log or a Debug dump.
    assert_eq!(s.log.len(), 2);
    assert!(!format!("{s:?}").contains("sécret"));
    assert!(!s.quitting);
    assert_eq!(
        s.prompt_key(PromptKey::Submit),
        Some(PromptDone::Submitted("q1?hsécret".into()))
    );
    assert!(s.prompt.is_none());
    assert_eq!(s.log.len(), 2);
    // Without a prompt, prompt keys do nothing.
    assert_eq!(s.prompt_key(PromptKey::Submit), None);
}

#[test]
fn password_prompt_cancel_and_backspace_on_empty() {
    let mut s = State::new(["a".to_string()]);
    s.begin_prompt(ACC, "joe");
    assert_eq!(s.prompt_key(PromptKey::Backspace), None);
    typed(&mut s, "pw");
    assert_eq!(s.prompt_key(PromptKey::Cancel), Some(PromptDone::Cancelled));
    assert!(s.prompt.is_none());
    assert_eq!(
        s.log.back().unwrap().text,
        "No password entered for user 'joe'"
    );
    // A new prompt starts empty.
    s.begin_prompt(ACC, "joe");
    assert_eq!(
        s.prompt_key(PromptKey::Submit),
        Some(PromptDone::Submitted(String::new()))
    );
    s.begin_prompt(ACC, "joe");
    assert_eq!(
        s.prompt_key(PromptKey::Interrupt),
        Some(PromptDone::Cancelled)
    );
}

#[test]
fn password_prompt_follows_the_log_and_hides_help() {
    let mut s = State::new(["a".to_string()]);
    for i in 0..20 {
        s.note(format!("line {i}"), Light::Main, Level::Info);
    }
    s.input(Input::PageUp, 5);
    s.input(Input::Help, 5);
    assert!(s.scroll > 0 && s.help);
    s.begin_prompt(ACC, "joe");
    assert_eq!(s.scroll, 0);
    assert!(!s.help);
}

#[test]
fn scroll_back_pages_and_stays_put_while_lines_arrive() {
    let now = t0();
    let mut s = State::new(["a".to_string()]);
    for i in 0..50 {
        s.apply(
            &Event::Logged {
                worker: None,
                level: Level::Info,
                text: format!("line {i}"),
            },
            now,
        );
    }
    s.input(Input::PageUp, 10);
    assert_eq!(s.scroll, 10);
    s.input(Input::LineUp, 10);
    assert_eq!(s.scroll, 11);
    // A new line arrives: the view keeps showing the same lines.
    s.apply(
        &Event::Logged {
            worker: None,
            level: Level::Info,
            text: "new".into(),
        },
        now,
    );
    assert_eq!(s.scroll, 12);
    s.input(Input::PageDown, 10);
    assert_eq!(s.scroll, 2);
    s.input(Input::PageDown, 10);
    assert_eq!(s.scroll, 0);
    s.input(Input::Top, 10);
    assert_eq!(s.scroll, 50);
    s.input(Input::PageUp, 10);
    assert_eq!(s.scroll, 50);
    s.input(Input::Bottom, 10);
    assert_eq!(s.scroll, 0);
    s.input(Input::Help, 10);
    assert!(s.help);
    s.input(Input::Close, 10);
    assert!(!s.help);
}

#[test]
fn the_log_is_bounded() {
    let now = t0();
    let mut s = State::new(Vec::<String>::new());
    for i in 0..LOG_CAPACITY + 10 {
        s.apply(
            &Event::Logged {
                worker: None,
                level: Level::Info,
                text: format!("{i}"),
            },
            now,
        );
    }
    assert_eq!(s.log.len(), LOG_CAPACITY);
    assert_eq!(s.log.front().unwrap().text, "10");
}

#[test]
fn a_running_hook_lights_the_hook_colour() {
    let now = t0();
    let mut s = State::new(["a".to_string()]);
    s.apply(
        &Event::AccountStarted {
            account: ACC,
            name: "a".into(),
        },
        now,
    );
    s.apply(
        &Event::HookStarted {
            worker: w(0),
            which: "presynchook".into(),
            command: "check-network".into(),
        },
        now,
    );
    assert_eq!(s.accounts[0].lights, vec![Light::Hook]);
    assert_eq!(
        colours(&s, 0),
        vec![Theme::classic().light(Light::Hook).fg.unwrap()]
    );
    s.apply(
        &Event::HookFinished {
            worker: w(0),
            which: "presynchook".into(),
            code: 0,
        },
        now,
    );
    let got: Vec<(&str, Light)> = s.log.iter().map(|l| (l.text.as_str(), l.light)).collect();
    assert_eq!(
        &got[1..],
        [
            ("Calling hook: check-network", Light::Hook),
            ("Hook return code: 0", Light::Hook),
        ]
    );
}
