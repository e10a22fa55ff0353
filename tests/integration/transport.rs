//! The connection options through the real binary against private
//! Dovecots: `sslclientcert`/`sslclientkey` (a Dovecot that requires a
//! client certificate signed by a test CA), `usecompression` (Dovecot's
//! imap_zlib plugin) and `proxy` (SOCKS5 by microsocks, SOCKS4 and HTTP
//! CONNECT by small proxies in the test that count their connections).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::{Env, Run};
use crate::support::dovecot::{Dovecot, User};

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nbody of {subject}\r\n"
    )
    .into_bytes()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("openssl CLI not found");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA, a server certificate for 127.0.0.1/localhost and a client
/// certificate, all in `dir` (`ca.crt`, `server.{crt,key}`,
/// `client.{crt,key}`), made with the openssl CLI.
fn make_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=transport test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    fs::write(
        dir.join("server.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    fs::write(dir.join("client.ext"), "extendedKeyUsage = clientAuth\n").unwrap();
    for (name, cn) in [("server", "localhost"), ("client", "offlineimap client")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }
}

/// A Dovecot (STARTTLS on its plain port) that lets only clients with a
/// certificate from the test CA log in.
struct CertDovecot {
    // Dropped first: stopping it reads its config, which names files in
    // `pki`.
    dovecot: Dovecot,
    pki: tempfile::TempDir,
}

impl CertDovecot {
    fn start() -> CertDovecot {
        CertDovecot::start_with("")
    }

    /// With `extra` config lines.
    fn start_with(extra: &str) -> CertDovecot {
        let pki = tempfile::tempdir().unwrap();
        make_pki(pki.path());
        let p = pki.path().display();
        // Later settings override the plain instance's `ssl = no`.
        let dovecot = Dovecot::start_with_config(&format!(
            "ssl = yes\nssl_cert = <{p}/server.crt\nssl_key = <{p}/server.key\n\
             ssl_ca = <{p}/ca.crt\nssl_verify_client_cert = yes\nssl_require_crl = no\n\
             auth_ssl_require_client_cert = yes\n{extra}"
        ));
        CertDovecot { pki, dovecot }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.pki.path().join(name)
    }
}

/// Puts `message` into `user`'s INBOX through doveadm (a raw login would
/// need the client certificate).
fn doveadm_save(d: &Dovecot, user: &User, message: &[u8]) {
    let mut child = Command::new("doveadm")
        .arg("-c")
        .arg(d.conf())
        .args(["save", "-u", &user.name, "-m", "INBOX"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// The subjects in `user`'s INBOX, through doveadm.
fn doveadm_subjects(d: &Dovecot, user: &User) -> Vec<String> {
    let out = d.doveadm(&["fetch", "-u", &user.name, "hdr.subject", "mailbox", "INBOX"]);
    let mut subjects: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("hdr.subject: "))
        .map(str::to_owned)
        .collect();
    subjects.sort();
    subjects
}

/// A message in the local INBOX (sep `/`), for the upload direction.
fn local_new_message(env: &Env, name: &str) {
    let inbox = env.maildir().join("INBOX");
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(inbox.join(sub)).unwrap();
    }
    fs::write(
        inbox.join("new").join(format!("1700000000.{name}.host")),
        mail(name),
    )
    .unwrap();
}

fn local_bodies(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = env
        .local_messages("INBOX")
        .iter()
        .map(|m| String::from_utf8_lossy(&m.bytes).into_owned())
        .collect();
    v.sort();
    v
}

fn starttls_lines(cd: &CertDovecot) -> String {
    format!(
        "ssl = no\nstarttls = yes\nsslcacertfile = {}\n",
        cd.file("ca.crt").display()
    )
}

#[test]
fn client_certificate_logs_in_and_syncs_both_ways() {
    let cd = CertDovecot::start();
    let d = &cd.dovecot;
    let user = d.add_user("cert");
    doveadm_save(d, &user, &mail("fromserver"));
    let env = Env::for_user(d, &user);
    env.write_config_tls(
        "sep = /\n",
        &starttls_lines(&cd),
        &format!(
            "sslclientcert = {}\nsslclientkey = {}\n",
            cd.file("client.crt").display(),
            cd.file("client.key").display()
        ),
    );
    local_new_message(&env, "fromlocal");
    env.sync();
    let bodies = local_bodies(&env);
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies.iter().any(|b| b.contains("body of fromserver")));
    assert_eq!(doveadm_subjects(d, &user), ["fromlocal", "fromserver"]);
}

#[test]
fn key_inside_the_certificate_file_is_found() {
    let cd = CertDovecot::start();
    let d = &cd.dovecot;
    let user = d.add_user("certkey");
    doveadm_save(d, &user, &mail("combined"));
    let both = cd.file("both.pem");
    let mut text = fs::read(cd.file("client.crt")).unwrap();
    text.extend(fs::read(cd.file("client.key")).unwrap());
    fs::write(&both, text).unwrap();
    let env = Env::for_user(d, &user);
    env.write_config_tls(
        "sep = /\n",
        &starttls_lines(&cd),
        &format!("sslclientcert = {}\n", both.display()),
    );
    env.sync();
    let bodies = local_bodies(&env);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains("body of combined"));
}

#[test]
fn without_a_client_certificate_the_login_is_refused() {
    let cd = CertDovecot::start();
    let d = &cd.dovecot;
    let user = d.add_user("nocert");
    doveadm_save(d, &user, &mail("kept"));
    let env = Env::for_user(d, &user);
    env.write_config_tls("sep = /\n", &starttls_lines(&cd), "");
    let run = env.run_capture(&[]);
    assert_ne!(run.code, Some(0), "{run:?}");
    let text = run.text();
    assert!(
        text.lines()
            .any(|l| l.contains("127.0.0.1") && l.contains("LOGIN")),
        "no login error line in:\n{text}"
    );
    assert!(env.local_messages("INBOX").is_empty(), "{text}");
}

#[test]
fn unreadable_client_certificate_is_a_config_error_before_connecting() {
    let cd = CertDovecot::start();
    let d = &cd.dovecot;
    let user = d.add_user("badcert");
    let env = Env::for_user(d, &user);
    let missing = cd.file("missing.pem");
    env.write_config_tls(
        "sep = /\n",
        &starttls_lines(&cd),
        &format!("sslclientcert = {}\n", missing.display()),
    );
    // (The harness's start-up probes show up as imap-login lines too, and
    // Dovecot may write them a little later: wait until the count settles.)
    let mut before = d.log().matches("imap-login").count();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let now = d.log().matches("imap-login").count();
        if now == before {
            break;
        }
        before = now;
    }
    let run: Run = env.run_capture(&[]);
    assert_ne!(run.code, Some(0), "{run:?}");
    let text = run.text();
    let line = text
        .lines()
        .find(|l| l.contains("[Repository TestRemote] sslclientcert: cannot read"))
        .unwrap_or_else(|| panic!("no config error in:\n{text}"));
    assert!(line.contains("missing.pem"), "{line}");
    assert_eq!(
        d.log().matches("imap-login").count(),
        before,
        "a connection was made:\n{}",
        d.log()
    );
}

// ---------------------------------------------------------------- proxy

/// A user with one message on the server and an `Env` whose account goes
/// through `proxy` (remote lines `tls`; `remotehost` as given).
fn proxied_env(d: &Dovecot, name: &str, port: u16, host: &str, tls: &str, proxy: &str) -> Env {
    let user = d.add_user(name);
    let mut c = d.imap(&user);
    c.append("INBOX", "\\Seen", &mail(name));
    c.logout();
    let env = Env::new(port, &user.name, &user.password);
    env.write_config_tls("sep = /\n", tls, "");
    let text = fs::read_to_string(env.config_path())
        .unwrap()
        .replace(
            "remoterepository = TestRemote\n",
            &format!("remoterepository = TestRemote\nproxy = {proxy}\n"),
        )
        .replace("remotehost = 127.0.0.1", &format!("remotehost = {host}"));
    fs::write(env.config_path(), text).unwrap();
    env
}

fn synced_one(env: &Env, name: &str) {
    let local = env.local_messages("INBOX");
    assert_eq!(local.len(), 1, "{local:?}");
    assert!(String::from_utf8_lossy(&local[0].bytes).contains(&format!("body of {name}")));
}

/// microsocks on a free port, killed on drop; what it prints (a line per
/// connection it makes) goes to a file.
struct Microsocks {
    child: std::process::Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Microsocks {
    fn start() -> Microsocks {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("microsocks.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Line-buffered, so the connection lines are in the file at once.
        let out = fs::File::create(&log).unwrap();
        let child = Command::new("stdbuf")
            .args(["-oL", "-eL", "microsocks", "-i", "127.0.0.1"])
            .args(["-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("microsocks not found: run scripts/test (installs it)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Microsocks {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Microsocks {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A SOCKS4 or HTTP CONNECT proxy on a thread of the test, counting the
/// tunnels it opened and remembering their targets.
struct TestProxy {
    port: u16,
    tunnels: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl TestProxy {
    fn start(http: bool) -> TestProxy {
        use std::io::Read;
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tunnels = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = tunnels.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let target = if http {
                        let mut head = Vec::new();
                        let mut b = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") {
                            if client.read(&mut b).unwrap_or(0) == 0 {
                                return;
                            }
                            head.push(b[0]);
                        }
                        let head = String::from_utf8_lossy(&head).into_owned();
                        let mut words = head.split_whitespace();
                        assert_eq!(words.next(), Some("CONNECT"), "{head}");
                        words.next().unwrap().to_owned()
                    } else {
                        let mut req = [0u8; 8];
                        client.read_exact(&mut req).unwrap();
                        assert_eq!((req[0], req[1]), (4, 1), "not a SOCKS4 CONNECT");
                        // The user id, NUL-terminated.
                        let mut b = [0u8; 1];
                        while client.read(&mut b).unwrap_or(0) == 1 && b[0] != 0 {}
                        let port = u16::from_be_bytes([req[2], req[3]]);
                        format!("{}.{}.{}.{}:{port}", req[4], req[5], req[6], req[7])
                    };
                    let server = TcpStream::connect(target.as_str());
                    let ok = server.is_ok();
                    let answer: &[u8] = match (http, ok) {
                        (true, true) => b"HTTP/1.1 200 Connection established\r\n\r\n",
                        (true, false) => b"HTTP/1.1 502 Bad Gateway\r\n\r\n",
                        (false, true) => &[0, 0x5a, 0, 0, 0, 0, 0, 0],
                        (false, false) => &[0, 0x5b, 0, 0, 0, 0, 0, 0],
                    };
                    if client.write_all(answer).is_err() {
                        return;
                    }
                    let Ok(server) = server else { return };
                    seen.lock().unwrap().push(target);
                    let (mut c2, mut s2) =
                        (client.try_clone().unwrap(), server.try_clone().unwrap());
                    let up = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut c2, &mut s2);
                        let _ = s2.shutdown(std::net::Shutdown::Write);
                    });
                    let (mut client, mut server) = (client, server);
                    let _ = std::io::copy(&mut server, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Write);
                    let _ = up.join();
                });
            }
        });
        TestProxy { port, tunnels }
    }

    fn tunnels(&self) -> Vec<String> {
        self.tunnels.lock().unwrap().clone()
    }
}

#[test]
fn socks5_proxy_microsocks_carries_the_sync() {
    let d = Dovecot::shared();
    let socks = Microsocks::start();
    let env = proxied_env(
        d,
        "socks5",
        d.port(),
        "127.0.0.1",
        "ssl = no\nstarttls = no\n",
        &format!("SOCKS5:127.0.0.1:{}", socks.port),
    );
    env.sync();
    synced_one(&env, "socks5");
    let log = socks.log();
    assert!(
        log.contains(&format!("connected to 127.0.0.1:{}", d.port())),
        "microsocks made no connection to Dovecot:\n{log}\n{}",
        fs::read_to_string(env.config_path()).unwrap()
    );
}

#[test]
fn socks4_proxy_carries_the_sync() {
    let d = Dovecot::shared();
    let proxy = TestProxy::start(false);
    let env = proxied_env(
        d,
        "socks4",
        d.port(),
        "127.0.0.1",
        "ssl = no\nstarttls = no\n",
        &format!("socks4:127.0.0.1:{}", proxy.port),
    );
    env.sync();
    synced_one(&env, "socks4");
    let tunnels = proxy.tunnels();
    assert!(!tunnels.is_empty());
    assert!(
        tunnels
            .iter()
            .all(|t| *t == format!("127.0.0.1:{}", d.port())),
        "{tunnels:?}"
    );
}

#[test]
fn tls_through_an_http_connect_proxy_checks_the_host_name() {
    let d = Dovecot::shared_tls();
    let proxy = TestProxy::start(true);
    // `localhost`: resolved here (perhaps to ::1 first, where Dovecot does
    // not listen: the proxy says 502 and the next address is tried); the
    // certificate is checked against the name.
    let tls = format!("ssl = yes\nsslcacertfile = {}\n", d.ca_file().display());
    let env = proxied_env(
        d,
        "httpproxy",
        d.tls_port(),
        "localhost",
        &tls,
        &format!("HTTP:127.0.0.1:{}", proxy.port),
    );
    let log = env.dir.path().join("debug.log");
    let run = env.run_capture(&["-d", "imap", "-l", log.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    synced_one(&env, "httpproxy");
    let tunnels = proxy.tunnels();
    assert!(
        !tunnels.is_empty()
            && tunnels
                .iter()
                .all(|t| *t == format!("127.0.0.1:{}", d.tls_port())),
        "{tunnels:?}"
    );
    let trace = fs::read_to_string(&log).unwrap_or_default();
    assert!(trace.contains("through the Http proxy"), "{trace}");
}

#[test]
fn proxy_errors() {
    let d = Dovecot::shared();
    // A bad value: one config line naming the option.
    let env = proxied_env(
        d,
        "badproxy",
        d.port(),
        "127.0.0.1",
        "",
        "SOCKS4A:127.0.0.1:1080",
    );
    let run = env.run_capture(&[]);
    assert_ne!(run.code, Some(0), "{run:?}");
    let text = run.text();
    assert!(
        text.lines()
            .any(|l| l.contains("[Account Test] proxy: unknown proxy type 'SOCKS4A'")),
        "{text}"
    );
    // A proxy that is not there: the connection fails, naming it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = proxied_env(
        d,
        "noproxy",
        d.port(),
        "127.0.0.1",
        "ssl = no\nstarttls = no\n",
        &format!("SOCKS5:127.0.0.1:{closed}"),
    );
    let run = env.run_capture(&[]);
    assert_ne!(run.code, Some(0), "{run:?}");
    let text = run.text();
    assert!(
        text.contains(&format!("through SOCKS5 proxy 127.0.0.1:{closed}")),
        "{text}"
    );
    assert!(env.local_messages("INBOX").is_empty());
}

// ---------------------------------------------------------- compression

const ZLIB: &str = "mail_plugins = $mail_plugins zlib\n\
                    protocol imap {\n  mail_plugins = $mail_plugins imap_zlib\n}\n";

/// A large, very compressible message.
fn big_mail(subject: &str) -> Vec<u8> {
    let mut m = mail(subject);
    for i in 0..3000 {
        m.extend_from_slice(format!("line {i} of a long and repetitive body\r\n").as_bytes());
    }
    m
}

fn subject_of(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// Renames a local message file to carry `flags` (sorted letters).
fn set_local_flags(path: &Path, flags: &str) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let base = name.split(":2,").next().unwrap();
    fs::rename(path, path.with_file_name(format!("{base}:2,{flags}"))).unwrap();
}

/// Both directions, flags and deletions over two syncs; returns the end
/// state as (subject, flags) of the local INBOX and of the server's.
fn two_way_scenario(d: &Dovecot, name: &str, remote: &str, trace: Option<&Path>) -> Vec<String> {
    let user = d.add_user(name);
    let mut c = d.imap(&user);
    c.append("INBOX", "\\Seen", &mail("keep"));
    c.append("INBOX", "", &big_mail("big"));
    c.append("INBOX", "\\Seen", &mail("gone"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config(remote);
    local_new_message(&env, "uploaded");
    // A literal larger than the write buffer, through the compressor.
    fs::write(
        env.maildir().join("INBOX/new/1700000001.bigup.host"),
        big_mail("bigup"),
    )
    .unwrap();
    let mut args = vec![];
    let trace_arg;
    if let Some(t) = trace {
        trace_arg = t.to_str().unwrap().to_owned();
        args = vec!["-d", "imap", "-l", &trace_arg];
    }
    let run = env.run_capture(&args);
    assert_eq!(run.code, Some(0), "{run:?}");

    // Server: flag "big", delete "gone". Local: "keep" replied, the
    // uploaded one deleted.
    let mut c = d.imap(&user);
    c.select("INBOX");
    let uids = c.uids();
    for uid in uids {
        let subject = subject_of(&c.body(uid));
        match subject.as_str() {
            "big" => c.store(uid, "+FLAGS", "\\Flagged"),
            "gone" => c.store(uid, "+FLAGS", "\\Deleted"),
            _ => {}
        }
    }
    c.ok("EXPUNGE");
    c.logout();
    for m in env.local_messages("INBOX") {
        match subject_of(&m.bytes).as_str() {
            "keep" => set_local_flags(&m.path, "RS"),
            "uploaded" => fs::remove_file(&m.path).unwrap(),
            _ => {}
        }
    }
    let run = env.run_capture(&args);
    assert_eq!(run.code, Some(0), "{run:?}");

    let mut state: Vec<String> = env
        .local_messages("INBOX")
        .iter()
        .map(|m| {
            format!(
                "local {} {} {}",
                subject_of(&m.bytes),
                m.flags,
                m.bytes.len()
            )
        })
        .chain(
            crate::harness::server_messages(d, &user, "INBOX")
                .iter()
                .map(|m| {
                    format!(
                        "server {} {} {}",
                        subject_of(&m.bytes),
                        m.flags,
                        m.bytes.len()
                    )
                }),
        )
        .collect();
    state.sort();
    state
}

#[test]
fn compressed_sync_gives_the_same_result_and_really_compresses() {
    let d = Dovecot::start_with_config(ZLIB);
    let plain = two_way_scenario(&d, "nozip", "", None);
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace.log");
    let zipped = two_way_scenario(&d, "zip", "usecompression = yes\n", Some(&trace));
    assert_eq!(zipped, plain);
    // Sanity: the scenario did what it says.
    assert!(
        plain.iter().any(|l| l.starts_with("server big F ")),
        "{plain:?}"
    );
    assert!(
        plain.iter().any(|l| l.starts_with("server bigup ")),
        "{plain:?}"
    );
    assert!(
        plain.iter().any(|l| l.starts_with("server keep RS ")),
        "{plain:?}"
    );
    assert!(
        !plain
            .iter()
            .any(|l| l.contains("gone") || l.contains("uploaded")),
        "{plain:?}"
    );

    let trace = fs::read_to_string(&trace).unwrap();
    assert!(trace.contains("COMPRESS DEFLATE"), "{trace}");
    assert!(trace.contains("COMPRESS=DEFLATE on"), "{trace}");
    // The trace still shows the plain protocol after it.
    let after = &trace[trace.find("COMPRESS=DEFLATE on").unwrap()..];
    assert!(
        after.contains("UID FETCH") || after.contains("LIST"),
        "{after}"
    );
    // Byte counts: the big message went over the wire in far fewer bytes.
    let mut best = 0.0f64;
    for line in trace
        .lines()
        .filter(|l| l.contains("COMPRESS=DEFLATE: sent"))
    {
        let n: Vec<f64> = line
            .split_whitespace()
            .filter_map(|w| w.trim_end_matches(',').parse().ok())
            .collect();
        assert_eq!(n.len(), 4, "{line}");
        assert!(n[1] < n[0] && n[3] < n[2], "{line}");
        best = best.max(n[2] / n[3]);
    }
    assert!(
        best > 5.0,
        "no connection received well compressed data:\n{trace}"
    );
    // Dovecot saw it too: without the plugin it would have said BAD.
    assert!(!d.log().contains("Error"), "{}", d.log());
}

#[test]
fn a_server_without_compress_gets_one_warning_and_the_sync_goes_on() {
    let d = Dovecot::shared();
    let user = d.add_user("nocompress");
    let mut c = d.imap(&user);
    c.append("INBOX", "\\Seen", &mail("plainlink"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config("usecompression = yes\n");
    let text = env.sync();
    synced_one(&env, "plainlink");
    assert_eq!(
        text.matches("does not offer COMPRESS=DEFLATE").count(),
        1,
        "{text}"
    );
}

#[test]
fn client_certificate_compression_and_proxy_together() {
    let cd = CertDovecot::start_with(ZLIB);
    let d = &cd.dovecot;
    let proxy = TestProxy::start(true);
    let user = d.add_user("all3");
    doveadm_save(d, &user, &big_mail("together"));
    let env = Env::for_user(d, &user);
    env.write_config_tls(
        "sep = /\n",
        &starttls_lines(&cd),
        &format!(
            "sslclientcert = {}\nsslclientkey = {}\nusecompression = yes\n",
            cd.file("client.crt").display(),
            cd.file("client.key").display()
        ),
    );
    let text = fs::read_to_string(env.config_path()).unwrap().replace(
        "remoterepository = TestRemote\n",
        &format!(
            "remoterepository = TestRemote\nproxy = HTTP:127.0.0.1:{}\n",
            proxy.port
        ),
    );
    fs::write(env.config_path(), text).unwrap();
    local_new_message(&env, "up3");
    let trace = env.dir.path().join("trace.log");
    let run = env.run_capture(&["-d", "imap", "-l", trace.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let bodies = local_bodies(&env);
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(doveadm_subjects(d, &user), ["together", "up3"]);
    assert!(!proxy.tunnels().is_empty());
    let trace = fs::read_to_string(&trace).unwrap();
    assert!(trace.contains("COMPRESS=DEFLATE on"), "{trace}");
    assert!(trace.contains("TLS established"), "{trace}");
}

// ---------------------------------------------------------------- ipv6

/// `ipv6 = no` keeps to IPv4 addresses (Dovecot listens on 127.0.0.1 only,
/// so `localhost`'s ::1 would be refused first); `ipv6 = yes` with an IPv4
/// host is a clear one-line error naming the option, and no mailbox change.
#[test]
fn ipv6_option_picks_the_address_family() {
    let d = Dovecot::shared();
    let user = d.add_user("ipv6opt");
    let mut c = d.imap(&user);
    c.append("INBOX", "", &mail("v4"));
    c.logout();
    let env = Env::for_user(d, &user);
    env.write_config("ipv6 = no\n");
    let text = std::fs::read_to_string(env.config_path()).unwrap();
    std::fs::write(
        env.config_path(),
        text.replace("remotehost = 127.0.0.1", "remotehost = localhost"),
    )
    .unwrap();
    env.sync();
    assert_eq!(env.local_messages("INBOX").len(), 1);

    env.write_config("ipv6 = yes\n");
    let run = env.run_capture(&[]);
    assert_ne!(run.code, Some(0), "{}", run.text());
    let text = run.text();
    assert!(
        text.contains("127.0.0.1 has no IPv6 address (ipv6 = yes)"),
        "{text}"
    );
    assert_eq!(env.local_messages("INBOX").len(), 1);
}
