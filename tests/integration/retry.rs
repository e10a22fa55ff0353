//! A folder whose connection breaks is tried again on a new connection
//! (`retrycount` times). A relay between the binary and Dovecot cuts the first
//! connection as soon as the client selects a folder; the run must still
//! sync everything, with a warning, and exit 0.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::{Env, server_flags};
use crate::support::dovecot::Dovecot;

/// Forwards connections to Dovecot; the first connection on which the
/// client sends a SELECT is cut there (both ways), later ones never.
fn cutting_relay(target: u16) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let cuts = Arc::new(AtomicUsize::new(0));
    let seen = cuts.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            let seen = seen.clone();
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut s_read, mut c_write) = (server, client);
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                while let Ok(k) = c_read.read(&mut buf) {
                    if k == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&buf[..k]).to_ascii_uppercase();
                    if text.contains(" SELECT ")
                        && seen
                            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                    {
                        let _ = s_write.shutdown(Shutdown::Both);
                        let _ = c_read.shutdown(Shutdown::Both);
                        return;
                    }
                    if s_write.write_all(&buf[..k]).is_err() {
                        break;
                    }
                }
                let _ = s_write.shutdown(Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s_read, &mut c_write);
                let _ = c_write.shutdown(Shutdown::Write);
            });
        }
    });
    (port, cuts)
}

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\n{subject}\r\n"
    )
    .into_bytes()
}

#[test]
fn a_folder_whose_connection_breaks_is_tried_again() {
    let d = Dovecot::shared();
    let user = d.add_user("retry_select");
    let mut c = d.imap(&user);
    c.create("Work");
    c.append("INBOX", "\\Seen", &mail("a"));
    c.append("Work", "", &mail("w"));
    c.logout();
    let (port, cuts) = cutting_relay(d.port());
    let env = Env::new(port, &user.name, &user.password);
    let run = env.run_capture(&["-u", "basic"]);
    let text = run.text();
    assert_eq!(
        cuts.load(Ordering::SeqCst),
        1,
        "the relay cut nothing: {text}"
    );
    assert_eq!(run.code, Some(0), "{text}");
    assert!(
        text.contains("trying it again on a new connection (retry 1 of 2)"),
        "{text}"
    );
    assert_eq!(env.local_messages("INBOX").len(), 1, "{text}");
    assert_eq!(env.local_messages("Work").len(), 1, "{text}");
    assert_eq!(server_flags(d, &user, "INBOX").len(), 1);
    // And the next run has nothing to do.
    let out = env.sync();
    assert!(!out.contains("Copy message"), "{out}");
}

#[test]
fn retrycount_zero_fails_the_folder_instead() {
    let d = Dovecot::shared();
    let user = d.add_user("retry_zero");
    let mut c = d.imap(&user);
    c.append("INBOX", "\\Seen", &mail("a"));
    c.logout();
    let (port, cuts) = cutting_relay(d.port());
    let env = Env::new(port, &user.name, &user.password);
    env.write_config("retrycount = 0\n");
    let run = env.run_capture(&["-u", "basic"]);
    let text = run.text();
    assert_eq!(
        cuts.load(Ordering::SeqCst),
        1,
        "the relay cut nothing: {text}"
    );
    assert_ne!(run.code, Some(0), "{text}");
    assert!(!text.contains("trying it again"), "{text}");
    assert!(text.contains("Aborting sync, folder 'INBOX'"), "{text}");
    assert_eq!(env.local_messages("INBOX").len(), 0, "{text}");
    // The next run (the relay no longer cuts) syncs it.
    env.sync();
    assert_eq!(env.local_messages("INBOX").len(), 1);
}
