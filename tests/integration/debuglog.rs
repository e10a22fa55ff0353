//! `-d`: the real binary against the private Dovecot with debug output
//! on. The IMAP trace shows the conversation but never the password, in
//! any form (AUTHENTICATE PLAIN, AUTHENTICATE LOGIN, the LOGIN command),
//! nor a message body, either way; `maildir` and `thread` add their lines;
//! an unknown type stops the run.

use std::fs;

use crate::harness::{Env, Run};
use crate::support::dovecot::{Dovecot, User};

const BODY_MARKER: &str = "body-marker-4f1c";

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\n{BODY_MARKER}\r\n"
    )
    .into_bytes()
}

/// A user with one message in INBOX, and an `Env` for it.
fn setup(d: &Dovecot, name: &str) -> (User, Env) {
    let user = d.add_user(name);
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail(name));
    c.logout();
    let env = Env::for_user(d, &user);
    (user, env)
}

/// Standard base64 (RFC 4648, padded), to look for encoded secrets.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every form in which the password could leak through a trace.
fn secret_forms(user: &User) -> Vec<String> {
    let mut forms = vec![
        user.password.clone(),
        base64(user.password.as_bytes()),
        base64(format!("\0{}\0{}", user.name, user.password).as_bytes()),
    ];
    // Unpadded too, as a prefix of any encoding that starts the same way.
    let plain = base64(format!("\0{}\0{}", user.name, user.password).as_bytes());
    forms.push(plain.trim_end_matches('=').to_owned());
    forms
}

fn assert_no_secret(user: &User, what: &str, text: &str) {
    for form in secret_forms(user) {
        assert!(!text.contains(&form), "{what} contains {form:?}:\n{text}");
    }
}

/// Runs with `-d TYPES -l LOG` (and `-o -u basic`); returns the run and
/// the log file's text.
fn run_debug(env: &Env, types: &str) -> (Run, String) {
    let log = env.dir.path().join("debug.log");
    let run = env.run_capture(&["-d", types, "-l", log.to_str().unwrap()]);
    let log_text = fs::read_to_string(&log).unwrap_or_default();
    (run, log_text)
}

fn check_imap_trace(user: &User, env: &Env, run: &Run, log: &str) {
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert_eq!(env.local_messages("INBOX").len(), 1, "{}", run.text());
    let out = run.text();
    for (what, text) in [("output", out.as_str()), ("log file", log)] {
        assert_no_secret(user, what, text);
        assert!(!text.contains(BODY_MARKER), "{what} shows a body:\n{text}");
        for want in [
            "[imap]: S: * OK",
            "[imap]: C: ",
            " SELECT \"INBOX\"",
            " UID FETCH ",
            "bytes}",
            "Now debugging for imap: IMAP protocol debugging",
            "Debug mode: Forcing to singlethreaded.",
        ] {
            assert!(text.contains(want), "{what} lacks {want:?}:\n{text}");
        }
    }
    assert!(log.contains(" DEBUG: [imap]: C: "), "{log}");
}

#[test]
fn imap_trace_with_authenticate_plain_hides_the_credentials() {
    let d = Dovecot::shared();
    let (user, env) = setup(d, "debug-plain");
    let (run, log) = run_debug(&env, "imap");
    check_imap_trace(&user, &env, &run, &log);
    let out = run.text();
    // Dovecot offers SASL-IR: the credentials go with the command.
    assert!(
        out.contains(" AUTHENTICATE PLAIN <credentials hidden>"),
        "{out}"
    );
}

#[test]
fn imap_trace_with_sasl_login_hides_user_and_password_steps() {
    // Only AUTH=LOGIN (and LOGINDISABLED): the user name and the password
    // each go out base64-encoded as a continuation line.
    let d = Dovecot::start_with_config("auth_mechanisms = login\n");
    let user = d.add_user("debug-login");
    let env = Env::for_user(&d, &user);
    // The raw test client logs in with LOGIN, which this Dovecot refuses:
    // the message starts on the local side instead, and its upload shows
    // that a literal the client sends is summarised too.
    let inbox = env.maildir().join("INBOX");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    fs::write(
        inbox.join("new").join("1700000000.M1P1.test"),
        mail("debug-login"),
    )
    .unwrap();
    let (run, log) = run_debug(&env, "imap");
    check_imap_trace(&user, &env, &run, &log);
    let out = run.text();
    assert!(out.contains(" AUTHENTICATE LOGIN"), "{out}");
    assert!(out.contains(" APPEND \"INBOX\" "), "{out}");
    let size = mail("debug-login").len();
    assert!(
        out.contains(&format!("[imap]: C: {{{size} bytes}}")),
        "{out}"
    );
    assert!(!out.contains(&base64(user.name.as_bytes())), "{out}");
}

/// A relay to `target` that removes ` AUTH=PLAIN` from what the server
/// says, so that the client falls back to the LOGIN command. Serves
/// connections until the test process ends.
fn relay_without_auth_plain(target: u16) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let server = TcpStream::connect(("127.0.0.1", target)).unwrap();
            let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut s_out);
                let _ = s_out.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let mut from_server = BufReader::new(server);
                let mut to_client = client;
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match from_server.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                    let text = String::from_utf8_lossy(&line).replace(" AUTH=PLAIN", "");
                    if to_client.write_all(text.as_bytes()).is_err() {
                        break;
                    }
                }
                let _ = to_client.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    port
}

#[test]
fn imap_trace_with_the_login_command_hides_the_password() {
    let d = Dovecot::shared();
    let (user, _) = setup(d, "debug-cmd");
    let env = Env::new(
        relay_without_auth_plain(d.port()),
        &user.name,
        &user.password,
    );
    let (run, log) = run_debug(&env, "imap");
    check_imap_trace(&user, &env, &run, &log);
    let out = run.text();
    assert!(
        out.contains(&format!(
            "[imap]: C: A0001 LOGIN \"{}\" <password hidden>",
            user.name
        )),
        "{out}"
    );
    assert!(!out.contains("AUTHENTICATE"), "{out}");
}

#[test]
fn maildir_and_thread_debugging() {
    let d = Dovecot::shared();
    let (user, env) = setup(d, "debug-maildir");
    let (run, log) = run_debug(&env, "maildir,thread");
    assert_eq!(run.code, Some(0), "{}", run.text());
    let out = run.text();
    assert_no_secret(&user, "output", &out);
    for text in [out.as_str(), log.as_str()] {
        assert!(text.contains("[maildir]: Wrote "), "{text}");
        assert!(text.contains("[maildir]: Scanned "), "{text}");
        assert!(
            text.contains("[thread]: Register new thread 'Folder INBOX"),
            "{text}"
        );
        assert!(
            text.contains("[thread]: Unregister thread 'Folder INBOX"),
            "{text}"
        );
        assert!(!text.contains("[imap]:"), "{text}");
        // Debugging threads keeps them.
        assert!(!text.contains("Forcing to singlethreaded"), "{text}");
    }
}

#[test]
fn without_dash_d_there_are_no_debug_lines() {
    let d = Dovecot::shared();
    let (_user, env) = setup(d, "debug-off");
    let (run, log) = run_debug_free(&env);
    assert_eq!(run.code, Some(0), "{}", run.text());
    for text in [run.text(), log] {
        assert!(!text.contains("[imap]"), "{text}");
        assert!(!text.contains("[maildir]"), "{text}");
        assert!(!text.contains("DEBUG"), "{text}");
        // A message OfflineIMAP logs at DEBUG only.
        assert!(!text.contains("Copying folder structure"), "{text}");
    }
}

fn run_debug_free(env: &Env) -> (Run, String) {
    let log = env.dir.path().join("plain.log");
    let run = env.run_capture(&["-l", log.to_str().unwrap()]);
    (run, fs::read_to_string(&log).unwrap_or_default())
}

#[test]
fn unknown_debug_type_stops_the_run() {
    let d = Dovecot::shared();
    let (_user, env) = setup(d, "debug-bad");
    let run = env.run_capture(&["-d", "imap,bogus"]);
    assert_eq!(run.code, Some(1), "{}", run.text());
    assert_eq!(
        run.stderr.trim_end(),
        "offlineimap: Invalid debug type: bogus (choose from imap, maildir, thread or ALL)"
    );
    assert!(env.local_messages("INBOX").is_empty());
}
