use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use super::*;
use crate::event::{AccountId, Event, WorkerId};

fn draw(state: &State, now: Instant, theme: &Theme, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(state, now, theme, f)).unwrap();
    term.backend().buffer().clone()
}

fn text(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect()
}

/// One letter per cell for its foreground colour: `.` the terminal's own,
/// k black, r red, g green, y yellow, b blue, m magenta, c cyan, w white
/// (gray); upper case when bold.
fn colours(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| {
            let row: String = (0..buf.area.width)
                .map(|x| {
                    let cell = &buf[(x, y)];
                    let c = match cell.fg {
                        Color::Reset => '.',
                        Color::Black => 'k',
                        Color::Red => 'r',
                        Color::Green => 'g',
                        Color::Yellow => 'y',
                        Color::Blue => 'b',
                        Color::Magenta => 'm',
                        Color::Cyan => 'c',
                        Color::Gray => 'w',
                        _ => '?',
                    };
                    if cell.modifier.contains(Modifier::BOLD) {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            row.trim_end_matches('.').to_string()
        })
        .collect()
}

fn w(account: u16, slot: u16) -> WorkerId {
    WorkerId {
        account: AccountId(account),
        slot,
    }
}

/// Two accounts: `personal` asleep for 4:50 more after copying three
/// messages, `work` busy with three workers.
fn scene(now: Instant) -> State {
    let start = now - Duration::from_secs(10);
    let mut s = State::new(["personal".to_string(), "work".to_string()]);
    let evs = vec![
        Event::AccountStarted {
            account: AccountId(0),
            name: "personal".into(),
        },
        Event::Connecting {
            worker: w(0, 0),
            repo: "PersonalRemote".into(),
            host: "imap.example.org".into(),
            port: 993,
        },
        Event::WorkerStarted {
            worker: w(0, 1),
            name: "Folder INBOX".into(),
        },
        Event::FolderStarted {
            worker: w(0, 1),
            folder: "INBOX".into(),
            from_type: "IMAP".into(),
            to_type: "Maildir".into(),
        },
    ];
    for ev in &evs {
        s.apply(ev, start);
    }
    for n in 1..=3 {
        s.apply(
            &Event::MessageCopying {
                worker: w(0, 1),
                uid: (40 + n).to_string(),
                n,
                total: 3,
                from_repo: "PersonalRemote".into(),
                to_repo: "PersonalLocal".into(),
                folder: "INBOX".into(),
            },
            start,
        );
        s.apply(
            &Event::MessageCopied {
                worker: w(0, 1),
                bytes: 4096,
            },
            start,
        );
    }
    let evs = vec![
        Event::WorkerFinished { worker: w(0, 1) },
        Event::WorkerFinished { worker: w(0, 0) },
        Event::AccountFinished {
            account: AccountId(0),
            name: "personal".into(),
            elapsed_secs: 4,
        },
    ];
    for ev in &evs {
        s.apply(ev, start + Duration::from_secs(4));
    }
    s.apply(
        &Event::Sleeping {
            account: AccountId(0),
            until: now + Duration::from_secs(290),
        },
        start + Duration::from_secs(4),
    );
    let evs = vec![
        Event::AccountStarted {
            account: AccountId(1),
            name: "work".into(),
        },
        Event::SyncingFolders {
            worker: w(1, 0),
            from_type: "IMAP".into(),
            to_type: "Maildir".into(),
        },
        Event::WorkerStarted {
            worker: w(1, 1),
            name: "Folder Sent".into(),
        },
        Event::MessageCopying {
            worker: w(1, 1),
            uid: "7".into(),
            n: 1,
            total: 20,
            from_repo: "WorkRemote".into(),
            to_repo: "WorkLocal".into(),
            folder: "Sent".into(),
        },
        Event::WorkerStarted {
            worker: w(1, 2),
            name: "Folder Lists/rust".into(),
        },
        Event::MessageListLoading {
            worker: w(1, 2),
            repo: "WorkRemote".into(),
            folder: "Lists/rust".into(),
        },
        Event::Logged {
            worker: Some(w(1, 2)),
            level: crate::event::Level::Warning,
            text: "Lists/rust: UID validity changed, skipping".into(),
        },
    ];
    for ev in &evs {
        s.apply(ev, now - Duration::from_secs(2));
    }
    s.apply(
        &Event::MessageCopied {
            worker: w(1, 1),
            bytes: 1_048_576,
        },
        now - Duration::from_secs(1),
    );
    s
}

/// One letter per cell for its modifiers: `.` none, B bold, D dim,
/// R reverse, X bold and reverse.
fn modifiers(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| {
            let row: String = (0..buf.area.width)
                .map(|x| {
                    let m = buf[(x, y)].modifier;
                    if m.contains(Modifier::BOLD | Modifier::REVERSED) {
                        'X'
                    } else if m.contains(Modifier::BOLD) {
                        'B'
                    } else if m.contains(Modifier::DIM) {
                        'D'
                    } else if m.contains(Modifier::REVERSED) {
                        'R'
                    } else {
                        '.'
                    }
                })
                .collect();
            row.trim_end_matches('.').to_string()
        })
        .collect()
}

#[test]
fn classic_80x24() {
    let now = Instant::now();
    let buf = draw(&scene(now), now, &Theme::classic(), 80, 24);
    let mut want_text = vec![
        " offlineimap 0.1.0                                               ? help  q quit",
        "*** Processing account personal",
        "Establishing connection to imap.example.org:993 (PersonalRemote)",
        "Syncing INBOX: IMAP -> Maildir",
        "Copy message UID 41 (1/3) PersonalRemote:INBOX -> PersonalLocal:INBOX",
        "Copy message UID 42 (2/3) PersonalRemote:INBOX -> PersonalLocal:INBOX",
        "Copy message UID 43 (3/3) PersonalRemote:INBOX -> PersonalLocal:INBOX",
        "*** Finished account 'personal' in 0:04",
        "*** Processing account work",
        "Copy message UID 7 (1/20) WorkRemote:Sent -> WorkLocal:Sent",
        "Lists/rust: UID validity changed, skipping",
    ];
    want_text.extend([""; 10]);
    want_text.extend([
        "2: [active]         work: @@@  1/20 msgs  1.0 MiB  512.0 KiB/s",
        "1: [  4:50]     personal: @@  3/3 msgs  12.0 KiB  3.0 KiB/s",
        "0: [active]     *Control: @",
    ]);
    let banner = format!(" offlineimap {}", env!("CARGO_PKG_VERSION"));
    want_text[0] = &banner;
    let mut got = text(&buf);
    assert!(got[0].starts_with(&banner) && got[0].ends_with("? help  q quit"));
    got[0] = banner.clone();
    assert_eq!(got, want_text);

    // Banner bold white (gray) on blue; each log line in its worker's
    // light: connecting white, folder cyan, copying yellow, account start
    // magenta, the warning bold red, the finished account plain.
    // Lights: work = listing folders (blue), copying (yellow), warning
    // (bold red); personal = sleeping (red), finished (black); *Control red.
    let mut want_fg: Vec<String> = vec![
        "W".repeat(80),
        "m".repeat(31),
        "w".repeat(64),
        "c".repeat(30),
        "y".repeat(69),
        "y".repeat(69),
        "y".repeat(69),
        String::new(),
        "m".repeat(27),
        "y".repeat(59),
        "R".repeat(42),
    ];
    want_fg.extend(vec![String::new(); 10]);
    want_fg.extend([
        format!("{}byR..{}", ".".repeat(26), "c".repeat(31)),
        format!("{}rk..{}", ".".repeat(26), "c".repeat(29)),
        format!("{}r", ".".repeat(26)),
    ]);
    assert_eq!(colours(&buf), want_fg);
    for x in 0..80 {
        assert_eq!(buf[(x, 0)].bg, Color::Blue, "banner cell {x}");
    }
}

#[test]
fn classic_40x10_truncates_and_keeps_the_account_lines() {
    let now = Instant::now();
    let buf = draw(&scene(now), now, &Theme::classic(), 40, 10);
    let got = text(&buf);
    assert!(got[0].ends_with("? help  q quit"), "{:?}", got[0]);
    assert_eq!(
        got[1..],
        [
            "Copy message UID 42 (2/3) PersonalRemote",
            "Copy message UID 43 (3/3) PersonalRemote",
            "*** Finished account 'personal' in 0:04",
            "*** Processing account work",
            "Copy message UID 7 (1/20) WorkRemote:Sen",
            "Lists/rust: UID validity changed, skippi",
            "2: [active]         work: @@@  1/20 msgs",
            "1: [  4:50]     personal: @@  3/3 msgs",
            "0: [active]     *Control: @",
        ]
    );
    assert_eq!(
        colours(&buf),
        [
            "W".repeat(40),
            "y".repeat(40),
            "y".repeat(40),
            String::new(),
            "m".repeat(27),
            "y".repeat(40),
            "R".repeat(40),
            format!("{}byR..{}", ".".repeat(26), "c".repeat(9)),
            format!("{}rk..{}", ".".repeat(26), "c".repeat(10)),
            format!("{}r", ".".repeat(26)),
        ]
    );
}

#[test]
fn the_countdown_ticks_with_the_clock() {
    let now = Instant::now();
    let s = scene(now);
    let theme = Theme::classic();
    let row = |buf: &Buffer| text(buf)[8].clone();
    assert!(row(&draw(&s, now, &theme, 40, 10)).starts_with("1: [  4:50]"));
    let later = now + Duration::from_secs(1);
    assert!(row(&draw(&s, later, &theme, 40, 10)).starts_with("1: [  4:49]"));
    let later = now + Duration::from_secs(200);
    assert!(row(&draw(&s, later, &theme, 40, 10)).starts_with("1: [  1:30]"));
}

#[test]
fn mono_40x10_uses_letters_and_attributes_not_colours() {
    let now = Instant::now();
    let buf = draw(&scene(now), now, &Theme::mono(), 40, 10);
    let got = text(&buf);
    assert_eq!(
        got[7..],
        [
            "2: [active]         work: lC!  1/20 msgs",
            "1: [  4:50]     personal: z.  3/3 msgs",
            "0: [active]     *Control: *",
        ]
    );
    assert!(colours(&buf).iter().all(String::is_empty));
    let m = modifiers(&buf);
    assert_eq!(m[0], "X".repeat(40));
    // l plain, C bold, ! bold reverse; z and . dim; progress dim.
    assert_eq!(m[7], format!("{}BX..{}", ".".repeat(27), "D".repeat(9)));
    assert_eq!(m[8], format!("{}DD..{}", ".".repeat(26), "D".repeat(10)));
    assert_eq!(m[9], "");
    // Log lines take their light's attributes: the warning bold reverse,
    // copying and account start bold, the finished account plain.
    assert_eq!(m[6], "X".repeat(40));
    assert_eq!(m[5], "B".repeat(40));
    assert_eq!(m[4], "B".repeat(27));
    assert_eq!(m[3], "");
}

/// Characters `from..to` of a row (box drawing is several bytes wide).
fn cols(row: &str, from: usize, to: usize) -> String {
    row.chars().skip(from).take(to - from).collect()
}

#[test]
fn help_overlay_lists_keys_and_a_coloured_legend() {
    let now = Instant::now();
    let mut s = scene(now);
    s.input(crate::ui::blinkenlights::keys::Input::Help, 10);
    let buf = draw(&s, now, &Theme::classic(), 80, 24);
    let got = text(&buf);
    assert_eq!(
        cols(&got[0], 18, 62),
        "┌ Keys ────────────────────────────────────┐"
    );
    assert_eq!(
        cols(&got[1], 18, 80),
        "│ 1-9        sync that account now         │"
    );
    assert_eq!(
        cols(&got[2], 18, 62),
        "│ q          quit after the current folders│"
    );
    assert_eq!(
        cols(&got[9], 18, 80),
        "│ Lights (classic theme):                  │"
    );
    assert_eq!(
        cols(&got[17], 18, 80),
        "│  @ deleting messages                     │"
    );
    assert_eq!(
        cols(&got[23], 18, 80),
        "└──────────────────────────────────────────┘"
    );
    // The legend's glyphs, top to bottom, in their colours.
    let legend: String = (10..23)
        .map(|y| {
            let c = &buf[(21, y)];
            assert_eq!(c.symbol(), "@");
            match (c.fg, c.modifier.contains(Modifier::BOLD)) {
                (Color::Red, false) => 'r',
                (Color::Red, true) => 'R',
                (Color::Magenta, _) => 'm',
                (Color::Gray, _) => 'w',
                (Color::Blue, _) => 'b',
                (Color::Cyan, _) => 'c',
                (Color::Green, _) => 'g',
                (Color::Yellow, _) => 'y',
                (Color::Black, _) => 'k',
                _ => '?',
            }
        })
        .collect();
    assert_eq!(legend, "rmwbcgyrbwRrk");
    s.input(crate::ui::blinkenlights::keys::Input::Help, 10);
    let buf = draw(&s, now, &Theme::classic(), 80, 24);
    assert!(!text(&buf).iter().any(|l| l.contains("Keys")));
}

#[test]
fn scrolled_back_shows_older_lines_and_says_so() {
    let now = Instant::now();
    let mut s = scene(now);
    s.input(crate::ui::blinkenlights::keys::Input::LineUp, 6);
    s.input(crate::ui::blinkenlights::keys::Input::LineUp, 6);
    s.input(crate::ui::blinkenlights::keys::Input::LineUp, 6);
    let buf = draw(&s, now, &Theme::classic(), 40, 10);
    let got = text(&buf);
    assert_eq!(
        got[0],
        format!("{}back 3 lines, End follows", " ".repeat(14))
    );
    assert_eq!(
        got[1..7],
        [
            "Establishing connection to imap.example.",
            "Syncing INBOX: IMAP -> Maildir",
            "Copy message UID 41 (1/3) PersonalRemote",
            "Copy message UID 42 (2/3) PersonalRemote",
            "Copy message UID 43 (3/3) PersonalRemote",
            "*** Finished account 'personal' in 0:04",
        ]
    );
    assert_eq!(colours(&buf)[1], "w".repeat(40));
    assert_eq!(colours(&buf)[2], "c".repeat(30));
}

#[test]
fn tiny_screens_keep_control_last_and_do_not_panic() {
    let now = Instant::now();
    let s = scene(now);
    let theme = Theme::classic();
    let buf = draw(&s, now, &theme, 30, 3);
    let got = text(&buf);
    assert_eq!(got[1], "1: [  4:50]     personal: @@");
    assert_eq!(got[2], "0: [active]     *Control: @");
    for (w, h) in [(1, 1), (5, 2), (0, 0), (200, 1)] {
        let _ = draw(&s, now, &theme, w, h);
    }
}

#[test]
fn quitting_is_shown_in_the_banner() {
    let now = Instant::now();
    let mut s = scene(now);
    s.input(crate::ui::blinkenlights::keys::Input::Quit, 6);
    let buf = draw(&s, now, &Theme::classic(), 80, 24);
    let got = text(&buf);
    assert!(got[0].ends_with("shutting down after the current folders; q again stops now"));
    assert_eq!(
        got[11],
        "Requested shutdown via 'q': finishing the current folders"
    );
    assert_eq!(colours(&buf)[11], "R".repeat(57));
    assert_eq!(colours(&buf)[23], format!("{}R", ".".repeat(26)));
}

#[test]
fn the_password_prompt_draws_nothing_typed() {
    use crate::ui::blinkenlights::keys::PromptKey;
    let now = Instant::now();
    let mut s = scene(now);
    s.begin_prompt(crate::event::AccountId(0), "joe");
    for c in "zqsecret".chars() {
        s.prompt_key(PromptKey::Char(c));
    }
    let buf = draw(&s, now, &Theme::classic(), 80, 24);
    let got = text(&buf);
    assert!(got[0].ends_with("typing a password (not shown): Enter sends, Esc gives none"));
    assert!(
        got.iter()
            .any(|l| l == " *** Please enter password for user 'joe':")
    );
    assert!(got.iter().all(|l| !l.contains("secret")), "{got:#?}");
}
