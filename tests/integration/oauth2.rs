//! OAuth2 (XOAUTH2) and `remote_identity` through the real binary
//! against private Dovecots.
//!
//! Dovecot's `oauth2` passdb checks each bearer token by POSTing it to an
//! introspection URL; a small HTTP server in this file answers that, and
//! also plays the OAuth2 token endpoint that trades a refresh token for
//! an access token. So the whole path is real: the token request with its
//! form fields, the SASL XOAUTH2 exchange, Dovecot's verdict.
//!
//! `remote_identity` logs in as a Dovecot master user with SASL PLAIN's
//! authorization identity and must sync the target user's mailbox.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::{Env, Run};
use crate::support::dovecot::{Dovecot, User};

fn mail(subject: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@example.org>\r\n\r\nbody of {subject}\r\n"
    )
    .into_bytes()
}

/// One request the HTTP server got: path and decoded form fields.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    form: BTreeMap<String, String>,
}

/// What the server knows: access tokens Dovecot should accept (token →
/// user name), and the refresh token it trades for a new access token.
#[derive(Default)]
struct Tokens {
    valid: HashMap<String, String>,
    /// refresh token → (access token it gives, user it is for)
    refresh: HashMap<String, (String, String)>,
}

/// The token endpoint (`POST /token`) and Dovecot's introspection URL
/// (`POST /introspect`), on 127.0.0.1. Serves until dropped; every
/// request is recorded.
struct OAuthServer {
    port: u16,
    tokens: Arc<Mutex<Tokens>>,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl OAuthServer {
    fn start() -> OAuthServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let tokens = Arc::new(Mutex::new(Tokens::default()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (t, r, s) = (tokens.clone(), requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (t, r) = (t.clone(), r.clone());
                std::thread::spawn(move || serve(conn, &t, &r));
            }
        });
        OAuthServer {
            port,
            tokens,
            requests,
            stop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn accept(&self, token: &str, user: &str) {
        let mut t = self.tokens.lock().unwrap();
        t.valid.insert(token.into(), user.into());
    }

    fn refresh(&self, refresh_token: &str, gives: &str, user: &str) {
        let mut t = self.tokens.lock().unwrap();
        t.refresh
            .insert(refresh_token.into(), (gives.into(), user.into()));
    }

    fn requests(&self, path: &str) -> Vec<Request> {
        let r = self.requests.lock().unwrap();
        r.iter().filter(|q| q.path == path).cloned().collect()
    }

    /// Dovecot config lines: an oauth2 passdb asking this server, and the
    /// XOAUTH2 mechanism.
    fn dovecot_config(&self, dir: &std::path::Path) -> String {
        let ext = dir.join("dovecot-oauth2.conf.ext");
        fs::write(
            &ext,
            format!(
                "introspection_mode = post\nintrospection_url = {}\n\
                 username_attribute = username\nactive_attribute = active\nactive_value = true\n",
                self.url("/introspect")
            ),
        )
        .unwrap();
        format!(
            "auth_mechanisms = $auth_mechanisms xoauth2 oauthbearer\n\
             passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\n",
            ext.display()
        )
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn parse_form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (url_decode(k), url_decode(v))
        })
        .collect()
}

/// Reads one HTTP/1.1 request, answers it, closes the connection.
fn serve(conn: TcpStream, tokens: &Mutex<Tokens>, requests: &Mutex<Vec<Request>>) {
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let form = parse_form(&String::from_utf8_lossy(&body));
    requests.lock().unwrap().push(Request {
        path: path.clone(),
        form: form.clone(),
    });
    let (status, answer) = {
        let mut t = tokens.lock().unwrap();
        match path.as_str() {
            "/token" => {
                let given = form.get("refresh_token").cloned().unwrap_or_default();
                match t.refresh.get(&given).cloned() {
                    Some((access, user))
                        if form.get("grant_type").map(String::as_str) == Some("refresh_token") =>
                    {
                        t.valid.insert(access.clone(), user);
                        (
                            "200 OK",
                            format!(
                                r#"{{"access_token": "{access}", "expires_in": 3600, "token_type": "Bearer"}}"#
                            ),
                        )
                    }
                    _ => (
                        "400 Bad Request",
                        r#"{"error": "invalid_grant", "error_description": "Bad Request"}"#
                            .to_owned(),
                    ),
                }
            }
            "/introspect" => {
                let token = form.get("token").cloned().unwrap_or_default();
                match t.valid.get(&token) {
                    Some(user) => (
                        "200 OK",
                        format!(r#"{{"active": true, "username": "{user}"}}"#),
                    ),
                    None => ("200 OK", r#"{"active": false}"#.to_owned()),
                }
            }
            _ => ("404 Not Found", "{}".to_owned()),
        }
    };
    let mut conn = conn;
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = conn.flush();
}

/// A Dovecot with the oauth2 passdb, a user with one INBOX message, and
/// an `Env` whose config (written by `config`) has no password.
struct Setup {
    server: OAuthServer,
    dovecot: Dovecot,
    user: User,
    env: Env,
    _ext_dir: tempfile::TempDir,
}

fn setup(name: &str) -> Setup {
    let server = OAuthServer::start();
    let ext_dir = tempfile::tempdir().unwrap();
    // Dovecot's auth process (an unprivileged user) reads the .ext file.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(ext_dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let dovecot = Dovecot::start_with_config(&server.dovecot_config(ext_dir.path()));
    let user = dovecot.add_user(name);
    let mut c = dovecot.imap(&user);
    c.append("INBOX", "\\Seen", &mail(&format!("{name}-hello")));
    let env = Env::new(dovecot.port(), &user.name, "");
    Setup {
        server,
        dovecot,
        user,
        env,
        _ext_dir: ext_dir,
    }
}

/// Writes the config with `remote` as the OAuth2 (or other) lines of the
/// remote repository, and no password.
fn write_config(env: &Env, user: &str, account: &str, remote: &str) {
    let text = format!(
        "[general]\naccounts = Test\nmetadata = {meta}\nfsync = no\n\n\
         [Account Test]\nlocalrepository = TestLocal\nremoterepository = TestRemote\n{account}\n\n\
         [Repository TestLocal]\ntype = Maildir\nlocalfolders = {mail}\nsep = /\n\n\
         [Repository TestRemote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n\
         ssl = no\nstarttls = no\nremoteuser = {user}\n{remote}\n",
        meta = env.metadata().display(),
        mail = env.maildir().display(),
        port = env.port,
    );
    fs::write(env.config_path(), text).unwrap();
}

fn assert_synced(s: &Setup, run: &Run) {
    assert_eq!(
        run.code,
        Some(0),
        "{}\nDovecot log:\n{}",
        run.text(),
        s.dovecot.log()
    );
    let msgs = s.env.local_messages("INBOX");
    assert_eq!(msgs.len(), 1, "{}", run.text());
    assert!(
        String::from_utf8_lossy(&msgs[0].bytes).contains("-hello"),
        "{}",
        run.text()
    );
}

#[test]
fn static_access_token_syncs_inbox() {
    let s = setup("oastatic");
    let token = "static-access-token-7d1f";
    s.server.accept(token, &s.user.name);
    write_config(
        &s.env,
        &s.user.name,
        "",
        &format!("oauth2_access_token = {token}\n"),
    );
    let run = s.env.run_capture(&[]);
    assert_synced(&s, &run);
    assert!(!run.text().contains(token), "{}", run.text());
    // Dovecot asked about exactly that token; no token request was made.
    let asked = s.server.requests("/introspect");
    assert!(
        asked
            .iter()
            .any(|q| q.form.get("token").map(String::as_str) == Some(token)),
        "{asked:?}"
    );
    assert!(s.server.requests("/token").is_empty());
}

#[test]
fn refresh_token_is_traded_once_and_logs_in() {
    let s = setup("oarefresh");
    let refresh = "refresh-token-9c2e";
    let access = "fresh-access-token-41aa";
    s.server.refresh(refresh, access, &s.user.name);
    let mut c = s.dovecot.imap(&s.user);
    c.create("Other");
    c.append("Other", "", &mail("oarefresh-other"));
    write_config(
        &s.env,
        &s.user.name,
        "",
        &format!(
            "oauth2_refresh_token_eval = '{refresh}'\noauth2_client_id = my client\n\
             oauth2_client_secret = s3cr&t\noauth2_request_url = {}\nmaxconnections = 3\n",
            s.server.url("/token")
        ),
    );
    let run = s.env.run_capture(&[]);
    assert_synced(&s, &run);
    assert_eq!(s.env.local_messages("Other").len(), 1, "{}", run.text());
    let asked = s.server.requests("/token");
    assert_eq!(asked.len(), 1, "one token request per run: {asked:?}");
    let form = &asked[0].form;
    let want: BTreeMap<String, String> = [
        ("grant_type", "refresh_token"),
        ("client_id", "my client"),
        ("client_secret", "s3cr&t"),
        ("refresh_token", refresh),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(form, &want);
    // Every connection used the one token.
    let introspected = s.server.requests("/introspect");
    assert!(!introspected.is_empty());
    assert!(
        introspected
            .iter()
            .all(|q| q.form.get("token").map(String::as_str) == Some(access)),
        "{introspected:?}"
    );
    for secret in [refresh, access, "s3cr&t"] {
        assert!(!run.text().contains(secret), "{}", run.text());
    }
}

#[test]
fn wrong_token_is_one_clear_error_and_changes_nothing() {
    let s = setup("oawrong");
    let token = "not-a-valid-token-55e0";
    write_config(
        &s.env,
        &s.user.name,
        "",
        &format!("oauth2_access_token = {token}\nauth_mechanisms = XOAUTH2\n"),
    );
    let run = s.env.run_capture(&[]);
    let text = run.text();
    assert_ne!(run.code, Some(0), "{text}");
    assert!(!text.contains(token), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("LOGIN failed"))
        .unwrap_or_else(|| panic!("no login error in:\n{text}"));
    assert!(
        line.contains(&format!(
            "127.0.0.1: LOGIN failed for user {}: XOAUTH2: ",
            s.user.name
        )),
        "{line}"
    );
    assert!(
        !s.env.maildir().join("INBOX").exists(),
        "nothing may be synced: {text}"
    );

    // A refresh token the endpoint refuses: its error is quoted, the
    // secrets are not.
    write_config(
        &s.env,
        &s.user.name,
        "",
        &format!(
            "oauth2_refresh_token = bad-refresh-3f\noauth2_client_secret = cs-77\n\
             oauth2_request_url = {}\n",
            s.server.url("/token")
        ),
    );
    let run = s.env.run_capture(&[]);
    let text = run.text();
    assert_ne!(run.code, Some(0), "{text}");
    assert!(text.contains("invalid_grant (Bad Request)"), "{text}");
    assert!(
        text.contains("XOAUTH2: OAuth2 token endpoint http://127.0.0.1:"),
        "{text}"
    );
    // The default list goes on to PLAIN, which has no password.
    assert!(
        text.contains(&format!(
            "; PLAIN, LOGIN: no password configured for user {}",
            s.user.name
        )),
        "{text}"
    );
    // With a token, no password is looked for in the keyring.
    assert!(!text.contains("keyring"), "{text}");
    for secret in ["bad-refresh-3f", "cs-77"] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(!s.env.maildir().join("INBOX").exists(), "{text}");
}

/// Every form in which a token could leak through a trace.
fn leak_forms(user: &str, secret: &str) -> Vec<String> {
    use base64_forms::encode;
    let sasl = format!("user={user}\x01auth=Bearer {secret}\x01\x01");
    vec![
        secret.to_owned(),
        encode(secret.as_bytes()),
        encode(sasl.as_bytes()),
        encode(sasl.as_bytes()).trim_end_matches('=').to_owned(),
    ]
}

mod base64_forms {
    /// Standard base64 (RFC 4648, padded).
    pub fn encode(bytes: &[u8]) -> String {
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
}

#[test]
fn imap_trace_hides_tokens() {
    let s = setup("oatrace");
    let refresh = "trace-refresh-token-e81b";
    let access = "trace-access-token-0c3d";
    s.server.refresh(refresh, access, &s.user.name);
    write_config(
        &s.env,
        &s.user.name,
        "",
        &format!(
            "oauth2_refresh_token = {refresh}\noauth2_client_secret = trace-client-secret\n\
             oauth2_request_url = {}\n",
            s.server.url("/token")
        ),
    );
    let log = s.env.dir.path().join("debug.log");
    let run = s
        .env
        .run_capture(&["-d", "imap", "-l", log.to_str().unwrap()]);
    assert_synced(&s, &run);
    let log_text = fs::read_to_string(&log).unwrap();
    let out = run.text();
    for (what, text) in [("output", out.as_str()), ("log file", log_text.as_str())] {
        assert!(
            text.contains("AUTHENTICATE XOAUTH2"),
            "{what} lacks the AUTHENTICATE line:\n{text}"
        );
        assert!(text.contains("<credentials hidden>"), "{what}:\n{text}");
        for secret in [refresh, access, "trace-client-secret"] {
            for form in leak_forms(&s.user.name, secret) {
                assert!(!text.contains(&form), "{what} contains {form:?}:\n{text}");
            }
        }
    }
}

#[test]
fn remote_identity_syncs_the_target_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let master_file = dir.path().join("master.passwd");
    fs::write(&master_file, "admin:{PLAIN}master-pw-19\n").unwrap();
    fs::set_permissions(&master_file, fs::Permissions::from_mode(0o644)).unwrap();
    let d = Dovecot::start_with_config(&format!(
        "passdb {{\n  driver = passwd-file\n  master = yes\n  pass = yes\n  \
         args = scheme=PLAIN username_format=%u {}\n}}\n",
        master_file.display()
    ));
    let target = d.add_user("target");
    let other = d.add_user("bystander");
    d.imap(&target)
        .append("INBOX", "\\Seen", &mail("for-target"));
    d.imap(&other)
        .append("INBOX", "\\Seen", &mail("for-bystander"));
    let env = Env::new(d.port(), "admin", "master-pw-19");
    write_config(
        &env,
        "admin",
        "",
        &format!(
            "remotepass = master-pw-19\nremote_identity = {}\n",
            target.name
        ),
    );
    let run = env.run_capture(&[]);
    assert_eq!(
        run.code,
        Some(0),
        "{}\nDovecot log:\n{}",
        run.text(),
        d.log()
    );
    let msgs = env.local_messages("INBOX");
    assert_eq!(msgs.len(), 1, "{}", run.text());
    assert!(String::from_utf8_lossy(&msgs[0].bytes).contains("for-target"));

    // Without PLAIN there is no way to carry the identity: a clear error.
    let env2 = Env::new(d.port(), "admin", "master-pw-19");
    write_config(
        &env2,
        "admin",
        "",
        &format!(
            "remotepass = master-pw-19\nremote_identity = {}\nauth_mechanisms = LOGIN\n",
            target.name
        ),
    );
    let run = env2.run_capture(&[]);
    assert_ne!(run.code, Some(0), "{}", run.text());
    assert!(
        run.text()
            .contains("remote_identity needs SASL PLAIN, which auth_mechanisms does not list"),
        "{}",
        run.text()
    );
    assert!(!env2.maildir().join("INBOX").exists());
}

/// OfflineIMAP's default order against a server offering everything:
/// GSSAPI is skipped with a warning, a refused XOAUTH2 token gives way
/// to CRAM-MD5 (with a warning naming why XOAUTH2 failed), and the
/// password never shows.
#[test]
fn default_order_falls_back_from_a_refused_token_to_cram_md5() {
    let server = OAuthServer::start();
    let ext_dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(ext_dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let dovecot = Dovecot::start_with_config(&format!(
        "{}auth_mechanisms = $auth_mechanisms cram-md5 gssapi\n",
        server.dovecot_config(ext_dir.path())
    ));
    let user = dovecot.add_user("oafallback");
    dovecot
        .imap(&user)
        .append("INBOX", "\\Seen", &mail("oafallback-hello"));
    let env = Env::new(dovecot.port(), &user.name, &user.password);
    write_config(
        &env,
        &user.name,
        "",
        &format!(
            "remotepass = {}\noauth2_access_token = refused-token-d4\n",
            user.password
        ),
    );
    let log = env.dir.path().join("debug.log");
    let run = env.run_capture(&["-d", "imap", "-l", log.to_str().unwrap()]);
    let text = run.text();
    assert_eq!(run.code, Some(0), "{text}\nDovecot log:\n{}", dovecot.log());
    assert_eq!(env.local_messages("INBOX").len(), 1, "{text}");
    let caps = text
        .lines()
        .find(|l| l.contains("AUTH=GSSAPI"))
        .unwrap_or_else(|| panic!("server does not offer GSSAPI:\n{text}"));
    assert!(
        caps.contains("AUTH=XOAUTH2") && caps.contains("AUTH=CRAM-MD5"),
        "{caps}"
    );
    assert!(
        text.contains("GSSAPI (Kerberos) is offered but not supported by this version"),
        "{text}"
    );
    assert!(text.contains("AUTHENTICATE XOAUTH2"), "{text}");
    assert!(text.contains("AUTHENTICATE CRAM-MD5"), "{text}");
    assert!(!text.contains("AUTHENTICATE PLAIN"), "{text}");
    let warning = text
        .lines()
        .find(|l| l.contains("XOAUTH2 failed"))
        .unwrap_or_else(|| panic!("no warning about XOAUTH2:\n{text}"));
    assert!(warning.contains("127.0.0.1"), "{warning}");
    for secret in [user.password.as_str(), "refused-token-d4"] {
        assert!(!text.contains(secret), "{text}");
    }
}

/// A token for a server without XOAUTH2: the error says so, rather than
/// only that no password is configured.
#[test]
fn token_for_a_server_without_xoauth2_says_so() {
    let d = Dovecot::shared();
    let user = d.add_user("oanoxoauth");
    let env = Env::new(d.port(), &user.name, "");
    write_config(&env, &user.name, "", "oauth2_access_token = tok-a9\n");
    let run = env.run_capture(&[]);
    let text = run.text();
    assert_ne!(run.code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "127.0.0.1: LOGIN failed for user {}: XOAUTH2: not offered by the server (PLAIN, LOGIN); \
             PLAIN, LOGIN: no password configured for user {}",
            user.name, user.name
        )),
        "{text}"
    );
    assert!(!text.contains("tok-a9"), "{text}");
}

/// A one-connection-at-a-time HTTP CONNECT proxy on 127.0.0.1 that
/// records each CONNECT target and relays the bytes.
fn connect_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        // Bounded: a test makes one token request.
        for conn in listener.incoming().take(4) {
            let Ok(client) = conn else { continue };
            let record = record.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                }
                let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                record.lock().unwrap().push(line.trim().to_owned());
                let upstream = TcpStream::connect(&target).unwrap();
                let mut client_w = client;
                client_w
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let mut up_r = upstream.try_clone().unwrap();
                let mut down_w = client_w.try_clone().unwrap();
                let back = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut up_r, &mut down_w);
                    let _ = down_w.shutdown(std::net::Shutdown::Write);
                });
                let mut up_w = upstream;
                // Bytes the reader already buffered belong upstream too.
                let _ = up_w.write_all(reader.buffer());
                let mut rest = reader.into_inner();
                let _ = std::io::copy(&mut rest, &mut up_w);
                let _ = up_w.shutdown(std::net::Shutdown::Write);
                let _ = back.join();
            });
        }
    });
    (port, seen)
}

#[test]
fn authproxy_carries_the_token_request() {
    let s = setup("oaproxy");
    let refresh = "proxied-refresh-61";
    s.server.refresh(refresh, "proxied-access-62", &s.user.name);
    let (proxy_port, seen) = connect_proxy();
    write_config(
        &s.env,
        &s.user.name,
        &format!("authproxy = HTTP:127.0.0.1:{proxy_port}"),
        &format!(
            "oauth2_refresh_token = {refresh}\noauth2_request_url = {}\n",
            s.server.url("/token")
        ),
    );
    let run = s.env.run_capture(&[]);
    assert_synced(&s, &run);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [format!("CONNECT 127.0.0.1:{} HTTP/1.1", s.server.port)],
        "{}",
        run.text()
    );
    assert_eq!(s.server.requests("/token").len(), 1);
}
