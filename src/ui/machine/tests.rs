//! Golden tests for `machineui`: the shared line-UI event script, the exact
//! lines OfflineIMAP 7.2.0's MachineUI would print for it (the payloads
//! were encoded with Python's `urllib.parse.quote_plus` and pasted).

use std::time::{Duration, Instant};

use super::*;
use crate::ui::line::tests::{ACCT, render, script, w};

#[test]
fn machineui_golden() {
    let now = Instant::now();
    let expected = "\
msg:registerthread:Account+sync+Work:Work
msg:acct:Account+sync+Work:Work
msg:connecting:Account+sync+Work:imap.example.org%0A993%0ARemote
msg:syncfolders:Account+sync+Work:IMAP%0AMaildir
msg::Account+sync+Work:Creating+folder+Archive%2F2024%5BLocal%5D
msg:registerthread:Folder+INBOX+%5Bacc%3A+Work%5D:Work
msg:syncingfolder:Folder+INBOX+%5Bacc%3A+Work%5D:IMAP%0AINBOX%0AMaildir%0AINBOX%0A
msg:loadmessagelist:Folder+INBOX+%5Bacc%3A+Work%5D:IMAP%0AINBOX
msg:messagelistloaded:Folder+INBOX+%5Bacc%3A+Work%5D:IMAP%0AINBOX%0A10
msg:copyingmessage:Folder+INBOX+%5Bacc%3A+Work%5D:123%0AIMAP%0AINBOX%0AMaildir%5BINBOX%5D
msg:deletingmessages:Folder+INBOX+%5Bacc%3A+Work%5D:6%0C5%0C9%0C1%0C2%0C3%0AMaildir%09INBOX
msg:addingflags:Folder+INBOX+%5Bacc%3A+Work%5D:1%0C2%0C3%0AS%0AINBOX
msg:deletingflags:Folder+INBOX+%5Bacc%3A+Work%5D:7%0AF%0AINBOX
warn::Folder+INBOX+%5Bacc%3A+Work%5D:UID+validity+problem+for+folder+Junk
msg:threadExited:MainThread:Folder+INBOX+%5Bacc%3A+Work%5D
msg:unregisterthread:MainThread:Folder+INBOX+%5Bacc%3A+Work%5D
msg:registerthread:Folder+Sent+%5Bacc%3A+Work%5D:Work
msg::Folder+Sent+%5Bacc%3A+Work%5D:Skipping+Sent+%28not+changed%29
error::Folder+Sent+%5Bacc%3A+Work%5D:ERROR%3A+could+not+read+folder+Sent
msg:threadExited:MainThread:Folder+Sent+%5Bacc%3A+Work%5D
msg:unregisterthread:MainThread:Folder+Sent+%5Bacc%3A+Work%5D
msg:acctdone:Account+sync+Work:Work
msg:threadExited:MainThread:Account+sync+Work
msg:unregisterthread:MainThread:Account+sync+Work
msg:sleeping:Account+sync+Work:10%0A300
msg:_display:MainThread:from+the+main+thread
";
    let mut ui = MachineUi::with_clock(false, move || now);
    assert_eq!(render(&mut ui, &script(now)), expected);
}

#[test]
fn header_is_the_protocol_then_the_banner() {
    let header = MachineUi::new(false).header().unwrap();
    let lines: Vec<&str> = header.lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], "msg:protocol:MainThread:7.2.0");
    let banner = lines[1].strip_prefix("msg:initbanner:MainThread:").unwrap();
    assert!(
        banner.starts_with(&format!("offlineimap+{}%0A++", env!("CARGO_PKG_VERSION"))),
        "{banner}"
    );
}

/// Generated once with
/// `python3 -c 'import urllib.parse; print(urllib.parse.quote_plus(s))'`.
#[test]
fn quote_plus_matches_python() {
    let table = [
        ("", ""),
        ("abc", "abc"),
        ("AZaz09", "AZaz09"),
        ("a b", "a+b"),
        ("a+b", "a%2Bb"),
        ("/", "%2F"),
        ("~", "~"),
        ("*", "%2A"),
        ("_.-", "_.-"),
        ("ü", "%C3%BC"),
        ("日本", "%E6%97%A5%E6%9C%AC"),
        ("\n", "%0A"),
        ("\t", "%09"),
        ("\x0c", "%0C"),
        ("%", "%25"),
        ("&=?#", "%26%3D%3F%23"),
        (":", "%3A"),
        ("Folder INBOX [acc: Work]", "Folder+INBOX+%5Bacc%3A+Work%5D"),
        ("😀", "%F0%9F%98%80"),
        ("!'()", "%21%27%28%29"),
        ("\x00", "%00"),
        ("\x7f", "%7F"),
        (
            r#"[]{}|\^`"<>;,@$"#,
            "%5B%5D%7B%7D%7C%5C%5E%60%22%3C%3E%3B%2C%40%24",
        ),
        ("Sent/2024 ~old*", "Sent%2F2024+~old%2A"),
    ];
    for (input, python) in table {
        assert_eq!(quote_plus(input), python, "{input:?}");
    }
}

/// What a script does with a line: split on the first three colons, then
/// undo `quote_plus`.
fn parse(line: &str) -> (String, String, String, String) {
    fn unquote(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    let mut parts = line.splitn(4, ':');
    let mut next = || parts.next().unwrap().to_owned();
    let (sev, cmd, thread, payload) = (next(), next(), next(), next());
    (sev, cmd, unquote(&thread), unquote(&payload))
}

#[test]
fn every_line_parses_back_to_its_fields() {
    let now = Instant::now();
    let mut ui = MachineUi::with_clock(false, move || now);
    let text = render(&mut ui, &script(now));
    for line in text.lines() {
        assert_eq!(line.matches(':').count(), 3, "{line}");
    }
    let copy = text
        .lines()
        .find(|l| l.starts_with("msg:copyingmessage:"))
        .unwrap();
    let (sev, cmd, thread, payload) = parse(copy);
    assert_eq!((sev.as_str(), cmd.as_str()), ("msg", "copyingmessage"));
    assert_eq!(thread, "Folder INBOX [acc: Work]");
    let fields: Vec<&str> = payload.split('\n').collect();
    assert_eq!(fields, ["123", "IMAP", "INBOX", "Maildir[INBOX]"]);
}

#[test]
fn validity_problems_become_validityproblem() {
    let mut ui = MachineUi::new(false);
    ui.line(&Event::WorkerStarted {
        worker: w(1),
        name: "Folder Jünk/Old [acc: Work]".into(),
    });
    let ev = Event::ValidityProblem {
        worker: w(1),
        folder: "Jünk/Old".into(),
        repo: "Remote".into(),
        saved: 17,
        current: 42,
    };
    assert_eq!(
        ui.line(&ev).as_deref(),
        Some(
            "warn:validityproblem:Folder+J%C3%BCnk%2FOld+%5Bacc%3A+Work%5D:J%C3%BCnk%2FOld%0ARemote%0A17%0A42"
        )
    );
    // A warning whose text merely looks like one stays a plain warning.
    let ev = Event::Logged {
        worker: None,
        level: Level::Warning,
        text: "UID validity problem for folder X (repo R) (saved 1; got 2); skipping".into(),
    };
    assert!(ui.line(&ev).unwrap().starts_with("warn::MainThread:"));
}

#[test]
fn a_new_sync_after_sleeping_ends_the_sleep_and_registers_again() {
    let now = Instant::now();
    let mut ui = MachineUi::with_clock(false, move || now);
    let start = Event::AccountStarted {
        account: ACCT,
        name: "Work".into(),
    };
    let sleep = Event::Sleeping {
        account: ACCT,
        until: now + Duration::from_millis(89_600),
    };
    let worker = Event::WorkerStarted {
        worker: w(0),
        name: "Account sync Work".into(),
    };
    let done = Event::AccountFinished {
        account: ACCT,
        name: "Work".into(),
        elapsed_secs: 1,
    };
    let finished = Event::WorkerFinished { worker: w(0) };
    let events = [
        start.clone(),
        worker.clone(),
        finished.clone(),
        done,
        sleep,
        start,
        worker,
        finished,
    ];
    assert_eq!(
        render(&mut ui, &events),
        "\
msg:registerthread:Account+sync+Work:Work
msg:acct:Account+sync+Work:Work
msg:acctdone:Account+sync+Work:Work
msg:threadExited:MainThread:Account+sync+Work
msg:unregisterthread:MainThread:Account+sync+Work
msg:sleeping:Account+sync+Work:10%0A90
msg:sleeping:Account+sync+Work:0%0A0
msg:registerthread:Account+sync+Work:Work
msg:acct:Account+sync+Work:Work
"
    );
}

#[test]
fn connecting_without_host_or_port_prints_none() {
    let mut ui = MachineUi::new(false);
    let ev = Event::Connecting {
        worker: w(0),
        repo: "Tunnel".into(),
        host: String::new(),
        port: 0,
    };
    assert_eq!(
        ui.line(&ev).as_deref(),
        Some("msg:connecting:MainThread:None%0ANone%0ATunnel")
    );
}

#[test]
fn debug_messages_and_copy_completions_print_nothing() {
    let mut ui = MachineUi::new(false);
    let events = [
        Event::Logged {
            worker: None,
            level: Level::Debug,
            text: "detail".into(),
        },
        Event::MessageCopied {
            worker: w(1),
            bytes: 10,
        },
        // A worker never announced has nothing to unregister.
        Event::WorkerFinished { worker: w(5) },
    ];
    assert_eq!(render(&mut ui, &events), "");
}

#[test]
fn dry_run_marks_folder_creation() {
    let mut ui = MachineUi::new(true);
    let ev = Event::FolderCreating {
        worker: w(0),
        folder: "New".into(),
        repo: "Local".into(),
    };
    assert_eq!(
        ui.line(&ev).as_deref(),
        Some("msg::MainThread:%5BDRYRUN%5D+Creating+folder+New%5BLocal%5D")
    );
}

#[test]
fn getpass_names_the_account_thread_and_the_user() {
    let mut ui = MachineUi::new(false);
    ui.line(&Event::AccountStarted {
        account: ACCT,
        name: "Work".into(),
    });
    assert_eq!(
        ui.getpass(ACCT, "joe@example.org").as_deref(),
        Some("msg:getpass:Account+sync+Work:joe%40example.org")
    );
}

#[test]
fn hooks_become_callhook() {
    let mut ui = MachineUi::new(false);
    ui.line(&Event::AccountStarted {
        account: ACCT,
        name: "Work".into(),
    });
    let got = render(&mut ui, &crate::ui::line::tests::hook_script());
    assert_eq!(
        got,
        "msg:callhook:Account+sync+Work:Calling+hook%3A+notmuch+new\n\
         msg:_display:Account+sync+Work:Hook+stdout%3A+Added+2+new+messages\n\
         msg:callhook:Account+sync+Work:Hook+return+code%3A+0\n"
    );
}

#[test]
fn debug_lines_only_with_dash_d() {
    let ev = Event::Logged {
        worker: None,
        level: Level::Debug,
        text: "[imap]: C: A1 NOOP".into(),
    };
    assert_eq!(
        render(&mut MachineUi::new(false), std::slice::from_ref(&ev)),
        ""
    );
    assert_eq!(
        render(&mut MachineUi::new(false).with_debug(true), &[ev]),
        "debug::MainThread:%5Bimap%5D%3A+C%3A+A1+NOOP\n"
    );
}
