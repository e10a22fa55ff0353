//! A private Dovecot for tests: config, users and mail all live in a temp
//! dir, it listens on free loopback ports, and it is stopped when the
//! `Dovecot` is dropped, or, for the per-binary shared instances, by a
//! watchdog once the test process has exited.
//!
//! Helpers here prepare and inspect server state through Dovecot itself
//! (`doveadm`) or the raw [`TestClient`], never through the code under
//! test.

use std::fs;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::imap_client::TestClient;

/// Mail is stored under this uid/gid: Dovecot refuses uid 0, and no
/// account needs to exist for it.
const MAIL_UID: u32 = 64123;

static PLAIN: LazyLock<Dovecot> = LazyLock::new(|| Dovecot::launch(false, ""));
static TLS: LazyLock<Dovecot> = LazyLock::new(|| Dovecot::launch(true, ""));

/// A test user (unique per `add_user` call).
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub password: String,
}

pub struct Dovecot {
    dir: tempfile::TempDir,
    conf: PathBuf,
    port: u16,
    tls_port: Option<u16>,
    ca_file: Option<PathBuf>,
    users: AtomicU32,
    /// Shared instances never drop; a watchdog stops them instead.
    shared: bool,
}

impl Dovecot {
    /// The plain-text Dovecot shared by this test binary.
    pub fn shared() -> &'static Dovecot {
        &PLAIN
    }

    /// The TLS-enabled Dovecot shared by this test binary (STARTTLS on
    /// `port()`, implicit TLS on `tls_port()`).
    pub fn shared_tls() -> &'static Dovecot {
        &TLS
    }

    /// A Dovecot of one's own (plain text), stopped on drop.
    pub fn start() -> Dovecot {
        Dovecot::start_with_config("")
    }

    /// A plain-text Dovecot of one's own with extra config lines appended
    /// (e.g. `imap_capability = ...` to hide an extension).
    pub fn start_with_config(extra: &str) -> Dovecot {
        let mut d = Dovecot::launch(false, extra);
        d.shared = false;
        d
    }

    /// A TLS Dovecot of one's own, stopped on drop.
    pub fn start_tls() -> Dovecot {
        let mut d = Dovecot::launch(true, "");
        d.shared = false;
        d
    }

    fn launch(tls: bool, extra: &str) -> Dovecot {
        if !Path::new("/usr/sbin/dovecot").exists() && which("dovecot").is_none() {
            panic!("dovecot not found: run scripts/test (installs dovecot-imapd)");
        }
        let dir = tempfile::Builder::new()
            .prefix("dovecot-test-")
            .tempdir()
            .unwrap();
        // Dovecot's unprivileged processes must reach into the temp dir.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(MAIL_UID), Some(MAIL_UID)).unwrap();
        fs::create_dir(dir.path().join("passwd")).unwrap();
        fs::set_permissions(dir.path().join("passwd"), fs::Permissions::from_mode(0o755)).unwrap();
        let ca_file = tls.then(|| make_certificates(dir.path()));

        let conf = dir.path().join("dovecot.conf");
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let tls_port = tls.then(free_port);
            fs::write(&conf, config_text(dir.path(), port, tls_port) + extra).unwrap();
            let status = Command::new(dovecot_bin())
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            let log = dir.path().join("dovecot.log");
            let ports: Vec<u16> = std::iter::once(port).chain(tls_port).collect();
            if status.success() && wait_for_ports(&ports, Duration::from_secs(10)) {
                let d = Dovecot {
                    conf: conf.clone(),
                    port,
                    tls_port,
                    ca_file,
                    users: AtomicU32::new(0),
                    shared: true,
                    dir,
                };
                d.spawn_watchdog();
                return d;
            }
            last_log = fs::read_to_string(&log).unwrap_or_default();
            stop(&conf, dir.path());
        }
        panic!("dovecot did not start; its log:\n{last_log}");
    }

    /// Stops this instance (and removes its temp dir) once the test
    /// process is gone: statics are never dropped.
    fn spawn_watchdog(&self) {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             doveadm -c '{conf}' stop >/dev/null 2>&1 || kill -TERM \"$(cat '{dir}/run/master.pid')\" 2>/dev/null; \
             sleep 0.5; rm -rf '{dir}'",
            pid = std::process::id(),
            conf = self.conf.display(),
            dir = self.dir.path().display(),
        );
        let _ = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }

    /// The plain-text port (offers STARTTLS on a TLS instance).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The implicit-TLS port. Panics on a plain instance.
    pub fn tls_port(&self) -> u16 {
        self.tls_port
            .expect("not a TLS instance: use Dovecot::start_tls")
    }

    /// The PEM CA that signed the server certificate. Panics on a plain
    /// instance.
    pub fn ca_file(&self) -> &Path {
        self.ca_file
            .as_deref()
            .expect("not a TLS instance: use Dovecot::start_tls")
    }

    /// The config file, for `doveadm -c`.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// Dovecot's log (useful in assertion messages).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// A fresh user with its own (empty) mail store.
    pub fn add_user(&self, name: &str) -> User {
        let n = self.users.fetch_add(1, Ordering::SeqCst);
        let user = User {
            name: format!("{name}{n}"),
            password: format!("pw-{name}-{n}-secret"),
        };
        // One passwd-file per user: Dovecot re-reads a changed passwd-file
        // at most once a second, so appending to a shared one races with
        // the logins of other tests; a new file is read on first use.
        let path = self.dir.path().join("passwd").join(&user.name);
        let tmp = path.with_extension("tmp");
        let mut f = fs::File::create(&tmp).unwrap();
        writeln!(f, "{}:{{PLAIN}}{}", user.name, user.password).unwrap();
        drop(f);
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)).unwrap();
        fs::rename(&tmp, &path).unwrap();
        user
    }

    /// The Maildir root of a user (`LAYOUT=fs`: folder `a/b` is `a/b/`).
    pub fn maildir(&self, user: &User) -> PathBuf {
        self.dir
            .path()
            .join("home")
            .join(&user.name)
            .join("Maildir")
    }

    /// A raw client, logged in as `user`, on the plain port.
    pub fn imap(&self, user: &User) -> TestClient {
        let mut c = TestClient::connect(self.port);
        let (_, done) = c.command(&format!("LOGIN \"{}\" \"{}\"", user.name, user.password));
        assert!(
            done.starts_with("OK"),
            "LOGIN {}: {done}\nDovecot log:\n{}",
            user.name,
            self.log()
        );
        c
    }

    /// Run `doveadm -c <conf> <args>`; panics with its output on failure.
    pub fn doveadm(&self, args: &[&str]) -> Output {
        let out = Command::new("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "doveadm {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Set a folder's UIDVALIDITY (for UIDVALIDITY-change tests).
    pub fn set_uidvalidity(&self, user: &User, folder: &str, value: u32) {
        self.doveadm(&[
            "mailbox",
            "update",
            "-u",
            &user.name,
            "--uid-validity",
            &value.to_string(),
            folder,
        ]);
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if self.shared {
            return;
        }
        stop(&self.conf, self.dir.path());
    }
}

/// Stops the instance whose config is `conf`. `doveadm stop` reads the
/// config first, so it fails once a file the config names (a certificate
/// in another temp dir, say) is gone; the master's pid file still says
/// whom to signal then.
fn stop(conf: &Path, dir: &Path) {
    let stopped = Command::new("doveadm")
        .arg("-c")
        .arg(conf)
        .arg("stop")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if stopped {
        return;
    }
    if let Ok(pid) = fs::read_to_string(dir.join("run/master.pid")) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(pid.trim())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

fn dovecot_bin() -> PathBuf {
    which("dovecot").unwrap_or_else(|| PathBuf::from("/usr/sbin/dovecot"))
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn wait_for_ports(ports: &[u16], limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ports
            .iter()
            .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn config_text(dir: &Path, port: u16, tls_port: Option<u16>) -> String {
    let d = dir.display();
    let ssl = match tls_port {
        Some(_) => format!("ssl = yes\nssl_cert = <{d}/server.crt\nssl_key = <{d}/server.key\n"),
        None => "ssl = no\n".to_string(),
    };
    let imaps_port = tls_port.unwrap_or(0);
    format!(
        "base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap
{ssl}disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {MAIL_UID}
last_valid_uid = {MAIL_UID}
first_valid_gid = {MAIL_UID}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd/%u
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={d}/home/%u
}}
mail_location = maildir:~/Maildir:LAYOUT=fs:INBOX=~/Maildir/INBOX
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
"
    )
}

/// A throwaway CA and a server certificate for 127.0.0.1/localhost,
/// made with the openssl CLI. Returns the CA's PEM path.
fn make_certificates(dir: &Path) -> PathBuf {
    let run = |args: &[&str]| {
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
    };
    fs::write(
        dir.join("server.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n\
         keyUsage = digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=offlineimap test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);
    // Dovecot's config parser reads the key as root; keep it private.
    fs::set_permissions(dir.join("server.key"), fs::Permissions::from_mode(0o600)).unwrap();
    dir.join("ca.crt")
}
