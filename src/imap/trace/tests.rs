use std::sync::{Arc, Mutex};

use super::*;

/// A tracer whose lines are collected.
fn tracer() -> (Tracer, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = lines.clone();
    let t = Tracer::new(Box::new(move |l: &str| {
        out.lock().unwrap().push(l.to_owned())
    }));
    (t, lines)
}

fn take(lines: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *lines.lock().unwrap())
}

/// Feeds `bytes` one byte at a time, as a slow connection would.
fn sent_bytewise(t: &mut Tracer, bytes: &[u8]) {
    for b in bytes {
        t.sent(std::slice::from_ref(b));
    }
}

fn assert_nowhere(lines: &[String], secret: &str) {
    for l in lines {
        assert!(!l.contains(secret), "{secret:?} leaked in {l:?}");
    }
}

#[test]
fn plain_commands_and_responses_are_shown() {
    let (mut t, lines) = tracer();
    t.received(b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
    // async-imap writes tag, space, text and CRLF separately.
    t.sent(b"A1");
    t.sent(b" ");
    t.sent(b"SELECT \"INBOX\"");
    t.sent(b"\r\n");
    t.received(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\nA1 OK [READ-WRITE] done\r\n");
    assert_eq!(
        take(&lines),
        [
            "S: * OK [CAPABILITY IMAP4rev1] ready",
            "C: A1 SELECT \"INBOX\"",
            "S: * 3 EXISTS",
            "S: * OK [UIDVALIDITY 7] x",
            "S: A1 OK [READ-WRITE] done",
        ]
    );
}

#[test]
fn responses_split_anywhere_are_reassembled() {
    let (mut t, lines) = tracer();
    let wire = b"* 1 FETCH (UID 5 FLAGS (\\Seen))\r\nA2 OK done\r\n";
    for chunk in wire.chunks(3) {
        t.received(chunk);
    }
    assert_eq!(
        take(&lines),
        ["S: * 1 FETCH (UID 5 FLAGS (\\Seen))", "S: A2 OK done"]
    );
}

#[test]
fn server_literals_are_summarised_in_one_line() {
    let (mut t, lines) = tracer();
    let body = "Subject: secret body\r\n\r\nline one\r\nline two\r\n";
    let wire = format!(
        "* 1 FETCH (UID 9 BODY[] {{{}}}\r\n{body} FLAGS (\\Seen))\r\n* 2 FETCH (BODY[] {{0}}\r\n)\r\n",
        body.len()
    );
    for chunk in wire.as_bytes().chunks(7) {
        t.received(chunk);
    }
    let got = take(&lines);
    assert_eq!(
        got,
        [
            format!(
                "S: * 1 FETCH (UID 9 BODY[] {{{} bytes}} FLAGS (\\Seen))",
                body.len()
            ),
            "S: * 2 FETCH (BODY[] {0 bytes})".to_owned(),
        ]
    );
    assert_nowhere(&got, "secret body");
    assert_nowhere(&got, "line one");
}

#[test]
fn append_literal_shows_only_its_size() {
    let (mut t, lines) = tracer();
    t.sent(b"A3 APPEND \"INBOX\" (\\Seen) {26}\r\n");
    t.received(b"+ OK\r\n");
    t.sent(b"Subject: hi\r\n\r\nbody text\r\n");
    t.sent(b"\r\n");
    t.received(b"A3 OK [APPENDUID 7 12] done\r\n");
    let got = take(&lines);
    assert_eq!(
        got,
        [
            "C: A3 APPEND \"INBOX\" (\\Seen) {26}",
            "S: + OK",
            "C: {26 bytes}",
            "S: A3 OK [APPENDUID 7 12] done",
        ]
    );
    assert_nowhere(&got, "body text");
}

#[test]
fn login_with_quoted_password_hides_it() {
    let (mut t, lines) = tracer();
    sent_bytewise(&mut t, b"A1 LOGIN \"joe\" \"s3cr\\\"et pw\"\r\n");
    t.received(b"A1 OK logged in\r\n");
    t.sent(b"A2 LIST \"\" \"*\"\r\n");
    let got = take(&lines);
    assert_eq!(
        got,
        [
            "C: A1 LOGIN \"joe\" <password hidden>",
            "S: A1 OK logged in",
            "C: A2 LIST \"\" \"*\"",
        ]
    );
    assert_nowhere(&got, "s3cr");
}

#[test]
fn login_with_atoms_and_lower_case_verb() {
    let (mut t, lines) = tracer();
    t.sent(b"x login joe hunter2\r\n");
    let got = take(&lines);
    assert_eq!(got, ["C: x login joe <password hidden>"]);
}

#[test]
fn login_with_literal_password_hides_it_and_its_size() {
    let (mut t, lines) = tracer();
    t.sent(b"P3 LOGIN \"joe\" {11}\r\n");
    t.received(b"+ go ahead\r\n");
    t.sent(b"hunter2 pw!\r\n");
    t.received(b"P3 OK done\r\n");
    let got = take(&lines);
    assert_eq!(
        got,
        [
            "C: P3 LOGIN \"joe\" <password hidden>",
            "S: + go ahead",
            "C: <password hidden>",
            "S: P3 OK done",
        ]
    );
    assert_nowhere(&got, "hunter2");
    assert_nowhere(&got, "11");
}

#[test]
fn login_with_literal_user_then_password() {
    let (mut t, lines) = tracer();
    t.sent(b"P3 LOGIN {3}\r\n");
    t.sent(b"joe \"hunter2\"\r\n");
    t.sent(b"P4 LOGIN {3}\r\n");
    t.sent(b"ann {7}\r\n");
    t.sent(b"hunter2\r\n");
    let got = take(&lines);
    assert_eq!(
        got,
        [
            "C: P3 LOGIN {3}",
            "C: {3 bytes} <password hidden>",
            "C: P4 LOGIN {3}",
            "C: {3 bytes} <password hidden>",
            "C: <password hidden>",
        ]
    );
    assert_nowhere(&got, "hunter2");
}

#[test]
fn login_that_cannot_be_parsed_hides_everything() {
    let (mut t, lines) = tracer();
    t.sent(b"A1 LOGIN \"unterminated hunter2\r\n");
    let got = take(&lines);
    assert_eq!(got, ["C: A1 LOGIN <credentials hidden>"]);
}

#[test]
fn authenticate_responses_are_hidden_until_the_tagged_answer() {
    let (mut t, lines) = tracer();
    // base64 of "\0joe\0hunter2"
    let b64 = "AGpvZQBodW50ZXIy";
    t.sent(b"A1 AUTHENTICATE PLAIN\r\n");
    t.received(b"+ \r\n");
    t.sent(format!("{b64}\r\n").as_bytes());
    t.received(b"A1 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
    t.sent(b"A2 CAPABILITY\r\n");
    let got = take(&lines);
    assert_eq!(
        got,
        [
            "C: A1 AUTHENTICATE PLAIN",
            "S: + ",
            "C: <credentials hidden>",
            "S: A1 OK [CAPABILITY IMAP4rev1] Logged in",
            "C: A2 CAPABILITY",
        ]
    );
    assert_nowhere(&got, b64);
}

#[test]
fn authenticate_login_mechanism_hides_every_step() {
    let (mut t, lines) = tracer();
    t.sent(b"A1 AUTHENTICATE LOGIN\r\n");
    t.received(b"+ VXNlcm5hbWU6\r\n");
    t.sent(b"am9l\r\n");
    t.received(b"+ UGFzc3dvcmQ6\r\n");
    t.sent(b"aHVudGVyMg==\r\n");
    // An untagged line or another tag does not end the exchange.
    t.received(b"* OK still here\r\nA10 OK not ours\r\n");
    t.sent(b"more\r\n");
    t.received(b"A1 NO [AUTHENTICATIONFAILED] nope\r\n");
    let got = take(&lines);
    assert_eq!(
        got,
        [
            "C: A1 AUTHENTICATE LOGIN",
            "S: + VXNlcm5hbWU6",
            "C: <credentials hidden>",
            "S: + UGFzc3dvcmQ6",
            "C: <credentials hidden>",
            "S: * OK still here",
            "S: A10 OK not ours",
            "C: <credentials hidden>",
            "S: A1 NO [AUTHENTICATIONFAILED] nope",
        ]
    );
    assert_nowhere(&got, "aHVudGVyMg");
}

#[test]
fn xoauth2_token_and_the_error_round_are_hidden() {
    let (mut t, lines) = tracer();
    // base64 of "user=joe\x01auth=Bearer ya29.tok\x01\x01"
    let b64 = "dXNlcj1qb2UBYXV0aD1CZWFyZXIgeWEyOS50b2sBAQ==";
    t.sent(b"A1 AUTHENTICATE XOAUTH2\r\n");
    t.received(b"+ \r\n");
    t.sent(format!("{b64}\r\n").as_bytes());
    // Dovecot's and Gmail's refusal: an error JSON as a challenge, then
    // the client's empty answer, then NO.
    t.received(b"+ eyJzdGF0dXMiOiI0MDEifQ==\r\n");
    t.sent(b"\r\n");
    t.received(b"A1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
    t.sent(b"A2 AUTHENTICATE CRAM-MD5\r\n");
    let got = take(&lines);
    assert_eq!(
        got,
        [
            "C: A1 AUTHENTICATE XOAUTH2",
            "S: + ",
            "C: <credentials hidden>",
            "S: + eyJzdGF0dXMiOiI0MDEifQ==",
            "C: <credentials hidden>",
            "S: A1 NO [AUTHENTICATIONFAILED] Authentication failed.",
            "C: A2 AUTHENTICATE CRAM-MD5",
        ]
    );
    assert_nowhere(&got, b64);
    assert_nowhere(&got, "ya29");
}

#[test]
fn authenticate_initial_response_is_hidden() {
    let (mut t, lines) = tracer();
    t.sent(b"A1 AUTHENTICATE PLAIN AGpvZQBodW50ZXIy\r\n");
    t.received(b"A1 OK done\r\n");
    let got = take(&lines);
    assert_eq!(
        got,
        [
            "C: A1 AUTHENTICATE PLAIN <credentials hidden>",
            "S: A1 OK done"
        ]
    );
}

#[test]
fn long_lines_are_cut_when_shown() {
    let (mut t, lines) = tracer();
    let long = format!("* SEARCH {}\r\n", "1 ".repeat(5000));
    t.received(long.as_bytes());
    let got = take(&lines);
    assert_eq!(got.len(), 1);
    assert!(got[0].ends_with(&format!("... (+{} bytes)", long.len() - 2 - MAX_SHOWN)));
    assert!(got[0].len() < MAX_SHOWN + 40);
}

#[test]
fn literal_markers() {
    assert_eq!(literal_at_end(b"A APPEND x {42}"), Some((42, 4)));
    assert_eq!(literal_at_end(b"A APPEND x {42+}"), Some((42, 5)));
    assert_eq!(literal_at_end(b"* OK {}"), None);
    assert_eq!(literal_at_end(b"* OK {x}"), None);
    assert_eq!(literal_at_end(b"* OK done"), None);
}

#[test]
fn notes_are_marked() {
    let (t, lines) = tracer();
    t.note("TLS established");
    assert_eq!(take(&lines), ["-- TLS established"]);
}
