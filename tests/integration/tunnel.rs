//! `preauthtunnel` and `transporttunnel` through the real binary: Dovecot's
//! own `imap` binary run pre-authenticated as the tunnel, a Python socket
//! relay to Dovecot's port as the transport, and a command that quits.

use std::fs;

use crate::harness::{Env, server_messages};
use crate::support::dovecot::{Dovecot, User};

/// A config with the remote section made only of `remote` (no host, user
/// or password unless given there).
fn write_config(env: &Env, remote: &str) {
    let text = format!(
        "[general]\naccounts = Test\nmetadata = {meta}\nfsync = no\n\n\
         [Account Test]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n\n\
         [Repository TestLocal]\ntype = Maildir\nlocalfolders = {mail}\nsep = /\n\n\
         [Repository TestRemote]\ntype = IMAP\n{remote}\n",
        meta = env.metadata().display(),
        mail = env.maildir().display(),
    );
    fs::write(env.config_path(), text).unwrap();
}

fn message(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@example.org>\r\n\r\nbody {subject}\r\n"
    )
    .into_bytes()
}

fn append(d: &Dovecot, user: &User, folder: &str, subject: &str) {
    let mut c = d.imap(user);
    c.append(folder, "\\Seen", &message(subject));
    c.logout();
}

/// Write a message into the local Maildir folder `folder` (sep `/`).
fn local_new(env: &Env, folder: &str, subject: &str) {
    let dir = env.maildir().join(folder);
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let body = String::from_utf8(message(subject))
        .unwrap()
        .replace("\r\n", "\n");
    fs::write(
        dir.join("new").join(format!("1700000000.{subject}.host")),
        body,
    )
    .unwrap();
}

fn subjects_on_server(d: &Dovecot, user: &User, folder: &str) -> Vec<String> {
    let mut out: Vec<String> = server_messages(d, user, folder)
        .iter()
        .map(|m| {
            let text = String::from_utf8_lossy(&m.bytes).into_owned();
            text.lines()
                .find_map(|l| l.strip_prefix("Subject: "))
                .unwrap()
                .trim()
                .to_owned()
        })
        .collect();
    out.sort();
    out
}

fn local_bodies(env: &Env, folder: &str) -> Vec<String> {
    let mut out: Vec<String> = env
        .local_messages(folder)
        .iter()
        .map(|m| String::from_utf8_lossy(&m.bytes).into_owned())
        .collect();
    out.sort();
    out
}

/// Both directions over the tunnel: the server's message comes down, a
/// local one goes up, and a second run changes nothing.
fn sync_both_ways(d: &Dovecot, user: &User, env: &Env) {
    append(d, user, "INBOX", "from-server");
    let out = env.sync();
    assert!(!out.contains("ERROR"), "{out}");
    let bodies = local_bodies(env, "INBOX");
    assert_eq!(bodies.len(), 1, "{out}");
    assert!(bodies[0].contains("Subject: from-server"), "{bodies:?}");

    local_new(env, "INBOX", "from-local");
    let out = env.sync();
    assert_eq!(
        subjects_on_server(d, user, "INBOX"),
        ["from-local", "from-server"],
        "{out}"
    );
    env.sync();
    assert_eq!(local_bodies(env, "INBOX").len(), 2);
}

#[test]
fn preauthtunnel_runs_dovecots_imap_already_logged_in() {
    let d = Dovecot::shared();
    let user = d.add_user("tunnelpre");
    let env = Env::for_user(d, &user);
    // No remotehost, remoteuser nor password: the command is logged in.
    write_config(
        &env,
        &format!(
            "preauthtunnel = /usr/lib/dovecot/imap -c {} -u {}\n",
            d.conf().display(),
            user.name
        ),
    );
    sync_both_ways(d, &user, &env);
}

#[test]
fn transporttunnel_carries_a_normal_login() {
    let d = Dovecot::shared();
    let user = d.add_user("tunneltransport");
    let env = Env::for_user(d, &user);
    // A byte relay between the pipes and Dovecot's port (nc is not
    // everywhere; python3 is needed by other tests anyway).
    let relay = env.dir.path().join("relay.py");
    fs::write(
        &relay,
        "import os, socket, sys, threading\n\
         s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n\
         def up():\n\
         \x20   while True:\n\
         \x20       b = os.read(0, 65536)\n\
         \x20       if not b:\n\
         \x20           break\n\
         \x20       s.sendall(b)\n\
         \x20   s.shutdown(socket.SHUT_WR)\n\
         threading.Thread(target=up, daemon=True).start()\n\
         while True:\n\
         \x20   b = s.recv(65536)\n\
         \x20   if not b:\n\
         \x20       break\n\
         \x20   os.write(1, b)\n",
    )
    .unwrap();
    // ssl = yes would be wrong for this plain port: over a tunnel it is
    // not used, as in OfflineIMAP.
    write_config(
        &env,
        &format!(
            "transporttunnel = python3 {} {}\nremoteuser = {}\nremotepass = {}\nssl = yes\n",
            relay.display(),
            d.port(),
            user.name,
            user.password
        ),
    );
    sync_both_ways(d, &user, &env);
}

#[test]
fn preauthtunnel_that_wants_a_login_is_refused() {
    let d = Dovecot::shared();
    let user = d.add_user("tunnelnotpre");
    let env = Env::for_user(d, &user);
    // Greets "* OK" like a server before login.
    write_config(
        &env,
        "preauthtunnel = printf '* OK ready\\r\\n'; exec sleep 5\n",
    );
    let run = env.run_capture(&[]);
    let text = run.text();
    assert_ne!(run.code, Some(0), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("repository TestRemote: preauthtunnel command greeted with OK")),
        "{text}"
    );
}

#[test]
fn a_tunnel_command_that_quits_is_a_one_line_error() {
    let d = Dovecot::shared();
    let user = d.add_user("tunnelbroken");
    let env = Env::for_user(d, &user);
    write_config(&env, "preauthtunnel = echo oops >&2; exit 7\n");
    let run = env.run_capture(&[]);
    let text = run.text();
    assert_ne!(run.code, Some(0), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("exited before greeting"))
        .unwrap_or_else(|| panic!("no tunnel error in:\n{text}"));
    assert!(line.contains("echo oops >&2; exit 7"), "{line}");
    assert!(line.contains("exit status: 7"), "{line}");
    assert!(line.contains("repository TestRemote"), "{line}");
    // The command's own stderr is passed through.
    assert!(text.contains("oops"), "{text}");
}
