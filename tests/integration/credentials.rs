//! Where the password comes from, end to end: the real binary against the
//! private Dovecot with `remotepasseval` + `pythonfile` (through python3),
//! with only a `~/.netrc`, with `-k`, and with a wrong `remotepasseval`
//! (exit 1, the password never printed).

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::harness::{Env, Run};
use crate::support::dovecot::{Dovecot, User};

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nbody\r\n"
    )
    .into_bytes()
}

/// A user with one message in INBOX, and an `Env` for it.
fn setup(name: &str) -> (&'static Dovecot, User, Env) {
    let d = Dovecot::shared();
    let user = d.add_user(name);
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail(name));
    c.logout();
    let env = Env::for_user(d, &user);
    (d, user, env)
}

/// Writes the config with the remote's credential lines given (no
/// remoteuser/remotepass unless `remote` has them).
fn write_config(env: &Env, general: &str, remote: &str) {
    let text = format!(
        "[general]\naccounts = Test\nmetadata = {meta}\nfsync = no\n{general}\n\n\
         [Account Test]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n\n\
         [Repository TestLocal]\ntype = Maildir\nlocalfolders = {mail}\nsep = /\n\n\
         [Repository TestRemote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n\
         ssl = no\nstarttls = no\n{remote}\n",
        meta = env.metadata().display(),
        mail = env.maildir().display(),
        port = env.port,
    );
    fs::write(env.config_path(), text).unwrap();
}

fn synced_one_message(env: &Env, run: &Run) {
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert_eq!(env.local_messages("INBOX").len(), 1, "{}", run.text());
}

#[test]
fn remotepasseval_with_a_pythonfile_syncs() {
    let (_d, user, env) = setup("cred-pyfile");
    let py = env.dir.path().join("helpers.py");
    fs::write(
        &py,
        format!(
            "import os\n\
             _PASSWORDS = {{'test': {:?}}}\n\
             def get_password(name):\n    return _PASSWORDS[name]\n\
             def get_user(name):\n    return {:?}\n",
            user.password, user.name
        ),
    )
    .unwrap();
    write_config(
        &env,
        &format!("pythonfile = {}", py.display()),
        "remoteusereval = get_user('test')\nremotepasseval = get_password('test')",
    );
    let run = env.run_capture(&[]);
    synced_one_message(&env, &run);
    assert!(!run.text().contains(&user.password), "{}", run.text());
}

#[test]
fn netrc_alone_gives_user_and_password() {
    let (_d, user, env) = setup("cred-netrc");
    // HOME is the test's directory (Env::command sets it).
    let netrc = env.dir.path().join(".netrc");
    fs::write(
        &netrc,
        format!(
            "machine 127.0.0.1 login someone-else password nope\n\
             machine 127.0.0.1 login {} password \"{}\"\n",
            user.name, user.password
        ),
    )
    .unwrap();
    fs::set_permissions(&netrc, fs::Permissions::from_mode(0o600)).unwrap();
    // No remoteuser: the first entry's login would be used, so name the
    // user; the password then comes from the entry with that login.
    write_config(&env, "", &format!("remoteuser = {}", user.name));
    synced_one_message(&env, &env.run_capture(&[]));

    // Only the netrc: its (only) entry gives the user too.
    fs::write(
        &netrc,
        format!(
            "machine 127.0.0.1 login {} password {}\n",
            user.name, user.password
        ),
    )
    .unwrap();
    write_config(&env, "", "");
    synced_one_message(&env, &env.run_capture(&[]));
}

#[test]
fn dash_k_sets_the_password() {
    let (_d, user, env) = setup("cred-dash-k");
    write_config(&env, "", &format!("remoteuser = {}", user.name));
    let k = format!("Repository_TestRemote:remotepass={}", user.password);
    synced_one_message(&env, &env.run_capture(&["-k", &k]));
}

#[test]
fn wrong_remotepasseval_fails_without_printing_the_password() {
    let (_d, user, env) = setup("cred-wrong");
    let wrong = "not-the-password-4711";
    write_config(
        &env,
        "",
        &format!(
            "remoteuser = {}\nremotepasseval = 'not-the-' + 'password-4711'",
            user.name
        ),
    );
    let run = env.run_capture(&[]);
    assert_eq!(run.code, Some(1), "{}", run.text());
    assert!(!run.text().contains(wrong), "{}", run.text());
    assert!(env.local_messages("INBOX").is_empty());

    // A Python error in the pythonfile's function: one line naming the
    // option, before any connection.
    let py = env.dir.path().join("helpers.py");
    fs::write(
        &py,
        "def get_password(name):\n    return {'work': 'x'}[name]\n",
    )
    .unwrap();
    write_config(
        &env,
        &format!("pythonfile = {}", py.display()),
        &format!(
            "remoteuser = {}\nremotepasseval = get_password('home')",
            user.name
        ),
    );
    let run = env.run_capture(&[]);
    assert_eq!(run.code, Some(1), "{}", run.text());
    assert!(
        run.stderr
            .contains("[Repository TestRemote] remotepasseval: line 2: KeyError: 'home'"),
        "{}",
        run.text()
    );
}

#[test]
fn unknown_and_ignored_options_warn() {
    let (_d, user, env) = setup("cred-warn");
    write_config(
        &env,
        "",
        &format!(
            "remoteuser = {}\nremotepass = {}\nremoteusr = typo\nsinglethreadperfolder = yes",
            user.name, user.password
        ),
    );
    let run = env.run_capture(&[]);
    synced_one_message(&env, &run);
    let text = run.text();
    assert!(
        text.contains("[Repository TestRemote] remoteusr: unknown option, ignored (did you mean 'remoteuser'?)"),
        "{text}"
    );
    assert!(
        text.contains("[Repository TestRemote] singlethreadperfolder: not supported by this version, ignored: it has no effect (it tunes OfflineIMAP's threads)"),
        "{text}"
    );
}
