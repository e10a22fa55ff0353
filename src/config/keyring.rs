//! The system keyring as a password source: the Secret Service (GNOME
//! Keyring, KWallet) through libsecret's `secret-tool` command.
//!
//! Entries are looked up and stored with the attributes Python's `keyring`
//! package uses (`service` = server host, `username` = login), so passwords
//! an OfflineIMAP installation saved are found. Talking to the service
//! through `secret-tool` keeps D-Bus out of this program; without
//! `secret-tool` in `PATH` the keyring is simply not consulted.
//!
//! What `secret-tool` (libsecret 0.20) does, checked against a real
//! gnome-keyring-daemon (tests/integration/keyring.rs): `lookup` writes the
//! secret exactly as stored, without a newline when stdout is not a
//! terminal; it exits 1 with an empty stderr when nothing matches (a
//! locked collection it cannot unlock looks the same), and exits 1 with
//! `secret-tool: REASON` on stderr when there is no D-Bus session or no
//! Secret Service on it. `store` replaces an item with the same attributes
//! and stores its stdin byte for byte.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::Secret;

/// Where passwords may be looked up and stored.
pub trait Keyring: Send + Sync {
    /// The password stored for `user` at `host`, if any. `Err` is a
    /// one-line reason the keyring could not be asked (never a password).
    fn get(&self, host: &str, user: &str) -> Result<Option<Secret>, String>;
    /// Stores (replaces) the password for `user` at `host`.
    fn set(&self, host: &str, user: &str, password: &Secret) -> Result<(), String>;
}

/// The `secret-tool` program.
#[derive(Clone, Debug)]
pub struct SecretTool {
    pub program: PathBuf,
}

/// The program looked for in `PATH`.
pub const SECRET_TOOL: &str = "secret-tool";

/// What Python's keyring stores as `application`; lookups do not need it.
const APPLICATION: &str = "Python keyring library";

impl SecretTool {
    /// `secret-tool` from a `PATH` value, if installed.
    pub fn find(path_var: Option<&str>) -> Option<SecretTool> {
        crate::pyeval::find_in_path(SECRET_TOOL, path_var).map(|program| SecretTool { program })
    }

    fn failure(&self, what: &str, status: std::process::ExitStatus, stderr: &[u8]) -> String {
        let text = String::from_utf8_lossy(stderr);
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        // secret-tool prefixes its messages with its own name, which the
        // program path before "lookup failed" already says.
        let first = first
            .trim()
            .strip_prefix("secret-tool:")
            .unwrap_or(first)
            .trim();
        if first.is_empty() {
            format!("{} {what} failed ({status})", self.program.display())
        } else {
            format!("{} {what} failed: {first}", self.program.display())
        }
    }
}

impl Keyring for SecretTool {
    fn get(&self, host: &str, user: &str) -> Result<Option<Secret>, String> {
        let out = Command::new(&self.program)
            .args(["lookup", "service", host, "username", user])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        if out.status.success() {
            let text = String::from_utf8(out.stdout)
                .map_err(|_| "the keyring's password is not UTF-8".to_owned())?;
            // `echo pw | secret-tool store ...`, the usual way to store one
            // by hand, keeps echo's newline; a line end cannot be part of
            // an IMAP password sent with LOGIN, so it is dropped.
            let password = text
                .strip_suffix("\r\n")
                .or_else(|| text.strip_suffix('\n'))
                .unwrap_or(&text);
            return Ok(Some(Secret::new(password)));
        }
        // "Not found" is exit status 1 with nothing on stderr.
        if out.status.code() == Some(1) && out.stderr.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        Err(self.failure("lookup", out.status, &out.stderr))
    }

    fn set(&self, host: &str, user: &str, password: &Secret) -> Result<(), String> {
        let label = format!("Password for '{user}' on '{host}'");
        let mut child = Command::new(&self.program)
            .args(["store", "--label", &label])
            .args([
                "application",
                APPLICATION,
                "service",
                host,
                "username",
                user,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        // The secret goes through a pipe, never the command line.
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(password.expose().as_bytes())
                .map_err(|e| format!("cannot write to {}: {e}", self.program.display()))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| format!("{} store: {e}", self.program.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(self.failure("store", out.status, &out.stderr))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in `secret-tool` keeping one entry in files, shaped like the
    /// real one (see the module doc): the secret comes back byte for byte,
    /// "not found" is a silent exit 1, a failure an exit 1 with
    /// `secret-tool: REASON`. The real one, against a real
    /// gnome-keyring-daemon, is tested in tests/integration/keyring.rs.
    fn fake_secret_tool(dir: &std::path::Path) -> SecretTool {
        let program = dir.join(SECRET_TOOL);
        let store = dir.join("keyring");
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\n\
                 store='{}'\n\
                 case \"$1\" in\n\
                 lookup) [ \"$3\" = broken ] && {{ echo 'secret-tool: Cannot autolaunch D-Bus without X11 $DISPLAY' >&2; exit 1; }}\n\
                 \x20 if [ -f \"$store.key\" ] && [ \"$(cat \"$store.key\")\" = \"$3 $5\" ]; then cat \"$store.secret\"; exit 0; fi; exit 1;;\n\
                 store) printf '%s\\n' \"$7 $9\" > \"$store.key\"; cat > \"$store.secret\"; printf 'label=%s app=%s\\n' \"$3\" \"$5\" > \"$store.meta\";;\n\
                 esac\n",
                store.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        SecretTool { program }
    }

    #[test]
    fn lookup_store_and_failures() {
        let dir = tempfile::tempdir().unwrap();
        let kr = fake_secret_tool(dir.path());
        assert_eq!(kr.get("imap.example.org", "me"), Ok(None));
        kr.set("imap.example.org", "me", &Secret::new(" s3 cret "))
            .unwrap();
        // Stored through the pipe exactly, without a newline.
        assert_eq!(
            std::fs::read(dir.path().join("keyring.secret")).unwrap(),
            b" s3 cret "
        );
        assert_eq!(
            kr.get("imap.example.org", "me").unwrap().unwrap().expose(),
            " s3 cret "
        );
        assert_eq!(kr.get("imap.example.org", "other"), Ok(None));
        let meta = std::fs::read_to_string(dir.path().join("keyring.meta")).unwrap();
        assert_eq!(
            meta,
            "label=Password for 'me' on 'imap.example.org' app=Python keyring library\n"
        );
        let err = kr.get("broken", "me").unwrap_err();
        assert_eq!(
            err,
            format!(
                "{} lookup failed: Cannot autolaunch D-Bus without X11 $DISPLAY",
                kr.program.display()
            )
        );
        assert!(SecretTool::find(Some(dir.path().to_str().unwrap())).is_some());
        assert!(SecretTool::find(Some("/nonexistent")).is_none());
    }

    #[test]
    fn a_stored_line_end_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let kr = fake_secret_tool(dir.path());
        for (stored, read) in [
            ("pw\n", "pw"),
            ("pw\r\n", "pw"),
            ("pw \n", "pw "),
            ("p\nw", "p\nw"),
            ("pw\n\n", "pw\n"),
        ] {
            kr.set("h", "u", &Secret::new(stored)).unwrap();
            assert_eq!(
                kr.get("h", "u").unwrap().unwrap().expose(),
                read,
                "{stored:?}"
            );
        }
    }
}
