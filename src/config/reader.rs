//! Turns a parsed file plus the command-line overrides into [`Config`]:
//! picks the accounts to sync, follows them to their repositories, applies
//! defaults from the options table and checks every value it reads.
//!
//! Only the accounts being synced (and their repositories) are checked, as
//! OfflineIMAP does: a broken account that is not synced is no error.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::ini::{DEFAULT_SECTION, Ini};
use super::netrc::Netrc;
use super::options::{self, DefaultValue, OPTIONS, OptionSpec, Scope, Support};
use super::{
    Account, AuthMechanism, Between, ClientCert, Config, CopyRules, Error, ErrorKind, Evaluator,
    Expr, FolderRules, Folders, General, Hooks, ImapRepository, LabelSync, MaildirRepository,
    Mbnames, OAuth2, Overrides, RepositoryCommon, Secret, Sources, SyncWindow, Tls, TlsVersion,
    Tunnel, value,
};
use crate::expr;
use crate::pyeval::{self, Python};

/// Connections per IMAP repository when `maxconnections` is not set.
/// OfflineIMAP uses one; four folders at once is what makes a first sync
/// and a resync with changes in several folders fast here (bench/run:
/// docs/performance.md), and stays well below what servers allow one
/// user (Dovecot 10 per address, Gmail 15; Thunderbird uses up to 5).
pub const DEFAULT_MAXCONNECTIONS: usize = 4;

/// The token endpoint a `type = Gmail` repository uses when
/// `oauth2_request_url` is not set.
pub const GMAIL_OAUTH2_REQUEST_URL: &str = "https://accounts.google.com/o/oauth2/token";

/// Defaults of a `type = Gmail` repository, as OfflineIMAP's: the port is
/// 993 even with `ssl = no` (plain IMAP's would be 143).
const GMAIL_DEFAULTS: &[(&str, &str)] = &[
    ("remotehost", "imap.gmail.com"),
    ("remoteport", "993"),
    ("ssl", "yes"),
    ("oauth2_request_url", GMAIL_OAUTH2_REQUEST_URL),
];

/// What a `type = Gmail` repository assumes for `option` when it is unset,
/// if that is not the table's default.
pub(crate) fn gmail_default(option: &str) -> Option<&'static str> {
    GMAIL_DEFAULTS
        .iter()
        .find(|(name, _)| *name == option)
        .map(|&(_, v)| v)
}

const ACCOUNT_PREFIX: &str = "Account ";
const REPOSITORY_PREFIX: &str = "Repository ";

/// The Blinkenlights section, and its pre-2011 OfflineIMAP name.
const UI_SECTIONS: [&str; 2] = ["ui.blinkenlights", "ui.Curses.Blinkenlights"];

pub(super) fn read(
    text: &str,
    file: &Path,
    overrides: &Overrides,
    sources: &Sources<'_>,
) -> Result<Config, Error> {
    let mut ini = Ini::parse(text).map_err(|e| Error {
        line: e.line,
        section: e.section,
        option: e.option,
        ..Error::new(file, ErrorKind::Syntax, e.message)
    })?;
    for s in &overrides.settings {
        ini.set(&s.section, &s.option, &s.value);
    }
    let mut reader = Reader {
        ini: &ini,
        file,
        env: sources.env,
        sources,
        overrides,
        warnings: Vec::new(),
        python: Arc::new(Python::with_program(None, None)),
        python_checks: RefCell::new(Vec::new()),
    };
    reader.config()
}

struct Reader<'a> {
    ini: &'a Ini,
    file: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    sources: &'a Sources<'a>,
    overrides: &'a Overrides,
    warnings: Vec<String>,
    /// Replaced by the real one once `[general] pythonfile` is known.
    python: Arc<Python>,
    /// Expressions left to `python3`, checked together at the end.
    python_checks: RefCell<Vec<PythonCheck>>,
}

/// An expression to check with `python3`, and why it needs it.
struct PythonCheck {
    section: String,
    option: String,
    source: String,
    why: String,
}

/// What `python3` runs to check an expression: evaluating it (not calling
/// it) catches syntax errors and unknown names. The value is dropped, as it
/// is usually a function, which cannot be passed back.
const CHECK: &str = "lambda source: (eval(source), None)[1]";

/// Tells an expression the built-in evaluator can compile but not run
/// from one it can: evaluates it and, if it is a lambda, calls it with
/// sample folder names. Only [`expr::ErrorKind::NotSupported`] counts;
/// any other error is left to show on real folders.
fn probe(e: &expr::Expr) -> Result<(), expr::ExprError> {
    let env = expr::Env::offlineimap();
    let sample = || expr::Value::Str("INBOX".to_owned());
    let result = match e.lambda_arity() {
        Some(1) => e.call(&env, &[sample()]).map(drop),
        Some(2) => e.call(&env, &[sample(), sample()]).map(drop),
        _ => e.eval(&env).map(drop),
    };
    match result {
        Err(err) if err.is_not_supported() => Err(err),
        _ => Ok(()),
    }
}

impl Reader<'_> {
    fn config(&mut self) -> Result<Config, Error> {
        if self.ini.section("general").is_none() {
            // Section names are case-sensitive, which surprises people.
            let message = match self
                .ini
                .sections
                .iter()
                .find(|s| s.name.trim().eq_ignore_ascii_case("general"))
            {
                Some(s) => format!(
                    "no [general] section ([{}] does not count: section names are case-sensitive)",
                    s.name
                ),
                None => "no [general] section".to_owned(),
            };
            return Err(Error::new(self.file, ErrorKind::Missing, message));
        }
        let mut general = self.general()?;
        self.python = Arc::new(Python::new(
            general.pythonfile.clone(),
            (self.env)("PATH").as_deref(),
        ));
        self.check_support("general", &[Scope::General])?;
        general.mbnames = self.mbnames()?;
        let defined_accounts: Vec<String> = self
            .ini
            .sections
            .iter()
            .filter_map(|s| s.name.strip_prefix(ACCOUNT_PREFIX))
            .map(str::to_owned)
            .collect();

        let (names, section, option) = match &self.overrides.accounts {
            Some(list) => (list.join(","), None, "-a"),
            None => (
                self.required("general", Scope::General, "accounts")?,
                Some("general"),
                "accounts",
            ),
        };
        let mut wanted: Vec<String> = Vec::new();
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if wanted.iter().any(|w| w == name) {
                self.warnings.push(format!(
                    "account '{name}' is listed twice in {option}; syncing it once"
                ));
            } else {
                wanted.push(name.to_owned());
            }
        }
        let at = |kind, message: String| Error {
            section: section.map(str::to_owned),
            option: Some(option.to_owned()),
            ..Error::new(self.file, kind, message)
        };
        if wanted.is_empty() {
            return Err(at(ErrorKind::Missing, "no account names given".to_owned()));
        }
        if let Some(missing) = wanted.iter().find(|w| !defined_accounts.contains(w)) {
            return Err(at(
                ErrorKind::Undefined,
                format!("account '{missing}' is not defined"),
            ));
        }
        let accounts = wanted
            .iter()
            .map(|name| self.account(name, &general))
            .collect::<Result<Vec<_>, _>>()?;
        self.check_python()?;

        let unknown = self.unknown();
        for (section, option, scopes) in &unknown {
            let hint = options::suggest(scopes, option)
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            self.warnings.push(format!(
                "{}: [{section}] {option}: unknown option, ignored{hint}",
                self.file.display()
            ));
        }
        Ok(Config {
            path: self.file.to_owned(),
            general,
            accounts,
            defined_accounts,
            unknown: unknown.into_iter().map(|(s, o, _)| (s, o)).collect(),
            warnings: std::mem::take(&mut self.warnings),
            python: self.python.clone(),
        })
    }

    fn general(&self) -> Result<General, Error> {
        let g = "general";
        let scope = Scope::General;
        let ui = self
            .get(g, "ui")?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        Ok(General {
            metadata: self
                .typed(g, scope, "metadata", |s| Ok(value::path(s, self.env)))?
                .unwrap_or_default(),
            fsync: self.boolean(g, scope, "fsync")?,
            ui,
            maxsyncaccounts: self
                .typed(g, scope, "maxsyncaccounts", value::positive)?
                .unwrap_or(1),
            socktimeout: self
                .typed(g, scope, "socktimeout", value::seconds)?
                .flatten(),
            ui_theme: self.blinkenlights("theme")?,
            ui_statuschar: self.blinkenlights("statuschar")?,
            pythonfile: self
                .get(g, "pythonfile")?
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .map(|s| value::path(&s, self.env)),
            ignore_keyring: self.boolean(g, scope, "ignore-keyring")?,
            ignore_readonly: self.boolean(g, scope, "ignore-readonly")?,
            update_keyring: self.boolean(g, scope, "update-keyring")?,
            dry_run: self.boolean(g, scope, "dry-run")?,
            // Read once `python` is known (see `config`).
            mbnames: None,
        })
    }

    fn account(&mut self, name: &str, general: &General) -> Result<Account, Error> {
        let sec = format!("{ACCOUNT_PREFIX}{name}");
        let scope = Scope::Account;
        self.check_support(&sec, &[scope])?;
        let autorefresh = if self.overrides.run_once {
            None
        } else {
            match self.typed(&sec, scope, "autorefresh", value::minutes)? {
                Some(m) if m < 0.0 => {
                    self.warnings.push(format!(
                        "[{sec}] autorefresh is negative ({m}); syncing once"
                    ));
                    None
                }
                Some(m) if m > 0.0 => Duration::try_from_secs_f64(m * 60.0).ok(),
                _ => None,
            }
        };
        // `quick` only has to be a number (OfflineIMAP reads it as one):
        // every sync is a full sync here, which is never less safe.
        self.typed(&sec, scope, "quick", |s| {
            value::integer(s).ok_or_else(|| format!("'{s}' is not a whole number"))
        })?;
        let windows_compatible = self.boolean(&sec, scope, "maildir-windows-compatible")?;
        let local_name = self.repository_name(&sec, "localrepository")?;
        let remote_name = self.repository_name(&sec, "remoterepository")?;
        let utf8foldernames = self.boolean(&sec, scope, "utf8foldernames")?;
        if utf8foldernames {
            self.utf8_without_decode(&sec, &remote_name)?;
        }
        let local = self.maildir(name, &local_name, windows_compatible)?;
        let remote = self.imap(name, &remote_name, general)?;
        let folders = Folders {
            utf8foldernames,
            ..self.folders(&local_name, &remote_name)?
        };
        let hook = |option| -> Result<Option<String>, Error> {
            Ok(self
                .get(&sec, option)?
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()))
        };
        let hooks = Hooks {
            presynchook: hook("presynchook")?,
            postsynchook: hook("postsynchook")?,
        };
        let window = self.window(&sec, &local_name, &remote_name)?;
        let copy = self.copy_rules(&sec, &remote_name, &local_name)?;
        let between = self.between(&remote_name, autorefresh.is_some())?;
        Ok(Account {
            name: name.to_owned(),
            local,
            remote,
            autorefresh,
            folders,
            hooks,
            window,
            copy,
            between,
        })
    }

    /// `holdconnectionopen`, `keepalive` and `idlefolders` of the remote
    /// repository, with OfflineIMAP's rules: `idlefolders` forces
    /// `holdconnectionopen` and makes `keepalive` default to 29 minutes.
    /// Without `autorefresh` there is no sleep to use them in.
    fn between(&mut self, remote: &str, autorefresh: bool) -> Result<Between, Error> {
        let sec = format!("{REPOSITORY_PREFIX}{remote}");
        let scope = Scope::Imap;
        let idlefolders = match self.expression(&sec, "idlefolders")? {
            None => Vec::new(),
            Some(e) => self.string_list(&sec, &e)?,
        };
        let keepalive = self.typed(&sec, scope, "keepalive", |s| {
            value::integer(s)
                .ok_or_else(|| format!("expected a whole number of seconds, got '{s}'"))
        })?;
        let keepalive = match keepalive {
            Some(n) => u64::try_from(n).ok().filter(|n| *n > 0),
            None if !idlefolders.is_empty() => Some(29 * 60),
            None => None,
        }
        .map(Duration::from_secs);
        let hold = self.boolean(&sec, scope, "holdconnectionopen")? || !idlefolders.is_empty();
        if !autorefresh && !self.overrides.run_once && !idlefolders.is_empty() {
            // OfflineIMAP says nothing here, and users wonder why IDLE
            // never happens.
            self.warnings.push(format!(
                "[{sec}] idlefolders: ignored: autorefresh is not set, so there is no wait between syncs to watch folders in"
            ));
        }
        Ok(Between {
            hold,
            keepalive,
            idlefolders,
        })
    }

    /// `filterheaders` of the account (OfflineIMAP reads it there, not in
    /// the repository), `newmail_hook` and `copy_ignore_eval` of the
    /// remote repository.
    fn copy_rules(&mut self, sec: &str, remote: &str, local: &str) -> Result<CopyRules, Error> {
        let rsec = format!("{REPOSITORY_PREFIX}{remote}");
        Ok(CopyRules {
            filterheaders: self
                .get(sec, "filterheaders")?
                .map(|v| value::comma_list(&v))
                .unwrap_or_default(),
            newmail_hook: self.expression(&rsec, "newmail_hook")?,
            copy_ignore_eval: self.expression(&rsec, "copy_ignore_eval")?,
            labels: self.label_sync(sec, &rsec, local)?,
        })
    }

    /// `synclabels` and its options. As in OfflineIMAP, labels are synced
    /// only between a `type = Gmail` remote and a `type = GmailMaildir`
    /// local repository; with another pair a warning says nothing happens.
    fn label_sync(
        &mut self,
        sec: &str,
        rsec: &str,
        local: &str,
    ) -> Result<Option<LabelSync>, Error> {
        let scope = Scope::Account;
        if !self.boolean(sec, scope, "synclabels")? {
            return Ok(None);
        }
        let lsec = format!("{REPOSITORY_PREFIX}{local}");
        let local_gmail = self
            .get(&lsec, "type")?
            .is_some_and(|t| t.trim() == "GmailMaildir");
        if !self.is_gmail(rsec) || !local_gmail {
            self.warnings.push(format!(
                "{}: [{sec}] synclabels: ignored: labels are synced only between a type = Gmail remote and a type = GmailMaildir local repository",
                self.file.display()
            ));
            return Ok(None);
        }
        let header = self.required(sec, scope, "labelsheader")?.trim().to_owned();
        if header.is_empty() || header.contains(|c: char| c == ':' || c.is_whitespace()) {
            return Err(self.error(
                sec,
                "labelsheader",
                ErrorKind::Invalid,
                format!("'{header}' is not a header field name"),
            ));
        }
        let ignore = self
            .get(sec, "ignorelabels")?
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(LabelSync { header, ignore }))
    }

    /// `maxage` and `maxsize` of the account, `startdate` of its two
    /// repositories. OfflineIMAP refuses to sync a folder when more than one
    /// of `maxage` and the `startdate`s is set; that is known here already.
    fn window(&self, sec: &str, local: &str, remote: &str) -> Result<SyncWindow, Error> {
        let today = chrono::Local::now().date_naive();
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        let maxage_raw = self.get(sec, "maxage")?;
        let maxage = if set(&maxage_raw) {
            self.typed(sec, Scope::Account, "maxage", |s| value::maxage(s, today))?
        } else {
            None
        };
        let maxsize_raw = self.get(sec, "maxsize")?;
        let maxsize = if set(&maxsize_raw) {
            self.typed(sec, Scope::Account, "maxsize", value::maxsize)?
        } else {
            None
        };
        let startdate = |repo: &str, scope: Scope| -> Result<Option<chrono::NaiveDate>, Error> {
            let rsec = format!("{REPOSITORY_PREFIX}{repo}");
            if !set(&self.get(&rsec, "startdate")?) {
                return Ok(None);
            }
            self.typed(&rsec, scope, "startdate", |s| value::date(s, today))
        };
        let local_startdate = startdate(local, Scope::Maildir)?;
        let remote_startdate = startdate(remote, Scope::Imap)?;
        let both = |option: &str, other: String| {
            Err(self.error(
                sec,
                option,
                ErrorKind::Invalid,
                format!(
                    "may not be used together with {other} (OfflineIMAP allows at most one of maxage and the startdate of either repository)"
                ),
            ))
        };
        let local_sd = || format!("startdate of [{REPOSITORY_PREFIX}{local}]");
        let remote_sd = || format!("startdate of [{REPOSITORY_PREFIX}{remote}]");
        match (
            maxage.is_some(),
            local_startdate.is_some(),
            remote_startdate.is_some(),
        ) {
            (true, true, _) => return both("maxage", local_sd()),
            (true, false, true) => return both("maxage", remote_sd()),
            (false, true, true) => {
                return Err(self.error(
                    &format!("{REPOSITORY_PREFIX}{local}"),
                    "startdate",
                    ErrorKind::Invalid,
                    format!(
                        "may not be used together with {} (OfflineIMAP allows at most one of maxage and the startdate of either repository)",
                        remote_sd()
                    ),
                ));
            }
            _ => {}
        }
        Ok(SyncWindow {
            maxage,
            maxsize,
            local_startdate,
            remote_startdate,
        })
    }

    /// OfflineIMAP aborts an account that sets `utf8foldernames` while its
    /// remote repository sets `decodefoldernames`: both decode the same
    /// names, at different steps. Checked before the repository's own
    /// refusal of `decodefoldernames`, so that the message names both.
    fn utf8_without_decode(&self, sec: &str, remote: &str) -> Result<(), Error> {
        let rsec = format!("{REPOSITORY_PREFIX}{remote}");
        let Some(v) = self.get(&rsec, "decodefoldernames")? else {
            return Ok(());
        };
        if value::boolean(&v).unwrap_or(true) {
            return Err(self.error(
                sec,
                "utf8foldernames",
                ErrorKind::Invalid,
                format!(
                    "may not be used together with decodefoldernames of [{rsec}] \
                     (OfflineIMAP does not sync the account then); remove decodefoldernames"
                ),
            ));
        }
        Ok(())
    }

    /// The repository an account option names; its section must exist.
    fn repository_name(&self, sec: &str, option: &str) -> Result<String, Error> {
        let name = self
            .required(sec, Scope::Account, option)?
            .trim()
            .to_owned();
        if name.is_empty() {
            return Err(self.error(sec, option, ErrorKind::Missing, "names no repository"));
        }
        if self
            .ini
            .section(&format!("{REPOSITORY_PREFIX}{name}"))
            .is_none()
        {
            return Err(self.error(
                sec,
                option,
                ErrorKind::Undefined,
                format!(
                    "repository '{name}' is not defined (no [{REPOSITORY_PREFIX}{name}] section)"
                ),
            ));
        }
        Ok(name)
    }

    /// Checks the `type` of a repository used on `side` of `account`.
    fn check_type(&self, account: &str, repo: &str, local: bool) -> Result<(), Error> {
        let sec = format!("{REPOSITORY_PREFIX}{repo}");
        let ty = self.required(&sec, Scope::Repository, "type")?;
        let ty = ty.trim();
        let (side, used_as) = if local {
            ("local", "localrepository")
        } else {
            ("remote", "remoterepository")
        };
        let fail = |kind, message: String| Err(self.error(&sec, "type", kind, message));
        match (ty, local) {
            ("Maildir" | "GmailMaildir", true) | ("IMAP" | "Gmail", false) => Ok(()),
            ("IMAP", true) => fail(
                ErrorKind::Unsupported,
                format!(
                    "type IMAP is not supported yet for a local repository (account '{account}' uses it as {used_as})"
                ),
            ),
            ("Maildir" | "GmailMaildir", false) | ("Gmail", true) => fail(
                ErrorKind::Invalid,
                format!(
                    "type {ty} cannot be a {side} repository (account '{account}' uses it as {used_as})"
                ),
            ),
            _ => fail(
                ErrorKind::Invalid,
                format!("expected Maildir, GmailMaildir, IMAP or Gmail, got '{ty}'"),
            ),
        }
    }

    fn common(&self, sec: &str, name: &str, scope: Scope) -> Result<RepositoryCommon, Error> {
        Ok(RepositoryCommon {
            name: name.to_owned(),
            readonly: self.boolean(sec, scope, "readonly")?,
            createfolders: self.boolean(sec, scope, "createfolders")?,
            sync_deletes: self.boolean(sec, scope, "sync_deletes")?,
        })
    }

    fn maildir(
        &mut self,
        account: &str,
        name: &str,
        account_windows: bool,
    ) -> Result<MaildirRepository, Error> {
        self.check_type(account, name, true)?;
        let sec = format!("{REPOSITORY_PREFIX}{name}");
        let scope = Scope::Maildir;
        self.check_support(&sec, &[scope])?;
        let localfolders = self.required(&sec, scope, "localfolders")?;
        if localfolders.trim().is_empty() {
            return Err(self.error(
                &sec,
                "localfolders",
                ErrorKind::Missing,
                "names no directory",
            ));
        }
        let sep = self
            .typed(&sec, scope, "sep", |s| {
                let mut chars = s.trim().chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Ok(c),
                    _ => Err(format!("expected a single character, got '{s}'")),
                }
            })?
            .unwrap_or('.');
        // These two fall back on [general]'s option of the same name.
        let or_general = |option: &str| -> Result<bool, Error> {
            match self.typed(&sec, scope, option, value::boolean)? {
                Some(b) => Ok(b),
                None => self.boolean("general", Scope::General, option),
            }
        };
        let mut customflags = Vec::new();
        for letter in 'a'..='z' {
            let option = format!("customflag_{letter}");
            let Some(keyword) = self.get(&sec, &option)? else {
                continue;
            };
            if keyword.trim().is_empty() {
                continue;
            }
            let keyword = value::imap_keyword(&keyword)
                .map_err(|m| self.error(&sec, &option, ErrorKind::Invalid, m))?;
            customflags.push((letter, keyword));
        }
        Ok(MaildirRepository {
            customflags,
            common: self.common(&sec, name, scope)?,
            localfolders: value::path(&localfolders, self.env),
            sep,
            windows_compatible: account_windows
                || self.boolean(&sec, scope, "maildir-windows-compatible")?,
            restoreatime: self.boolean(&sec, scope, "restoreatime")?,
            utime_from_header: or_general("utime_from_header")?,
            filename_use_mail_timestamp: or_general("filename_use_mail_timestamp")?,
        })
    }

    fn imap(
        &mut self,
        account: &str,
        name: &str,
        general: &General,
    ) -> Result<ImapRepository, Error> {
        self.check_type(account, name, false)?;
        let sec = format!("{REPOSITORY_PREFIX}{name}");
        let scope = Scope::Imap;
        self.check_support(&sec, &[scope])?;
        let auth_mechanisms = self.auth_mechanisms(&sec)?;
        let oauth2 = self.oauth2(&sec, account)?;
        let remote_identity = self
            .get(&sec, "remote_identity")?
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let tunnel = self.tunnel(&sec)?;
        // With a tunnel OfflineIMAP never asks for the host; it only names
        // the netrc and keyring entries.
        let remotehost = match self.evaluate(&sec, "remotehosteval")? {
            Some(pyeval::Value::Str(h)) => h.trim().to_owned(),
            Some(other) => {
                return Err(self.wrong_type(&sec, "remotehosteval", "str", &other));
            }
            None if tunnel.is_some() => self
                .get(&sec, "remotehost")?
                .or_else(|| self.gmail_default(&sec, "remotehost").map(str::to_owned))
                .map(|h| h.trim().to_owned())
                .unwrap_or_default(),
            None => self.required(&sec, scope, "remotehost")?.trim().to_owned(),
        };
        if remotehost.is_empty() && tunnel.is_none() {
            return Err(self.error(&sec, "remotehost", ErrorKind::Missing, "names no host"));
        }
        let ssl = self.boolean(&sec, scope, "ssl")?;
        let starttls = self.boolean(&sec, scope, "starttls")?;
        let tls = match (ssl, starttls) {
            // The command carries the bytes as they are (OfflineIMAP
            // neither wraps a tunnel in TLS nor starts TLS over one).
            _ if tunnel.is_some() => Tls::None,
            (true, _) => Tls::Implicit,
            (false, true) => Tls::StartTls,
            (false, false) => Tls::None,
        };
        let port = match self.evaluate(&sec, "remoteporteval")? {
            _ if tunnel.is_some() => 0,
            Some(v) => {
                let text = match &v {
                    pyeval::Value::Int(n) => n.to_string(),
                    pyeval::Value::Str(s) => s.clone(),
                    other => return Err(self.wrong_type(&sec, "remoteporteval", "int", other)),
                };
                value::port(&text)
                    .map_err(|m| self.error(&sec, "remoteporteval", ErrorKind::Invalid, m))?
            }
            None => self
                .typed(&sec, scope, "remoteport", value::port)?
                .unwrap_or(if ssl { 993 } else { 143 }),
        };
        let mut netrc = NetrcFiles::default();
        let (user, password) = match &tunnel {
            // Already logged in: no user, no password to look for.
            Some(Tunnel::PreAuth(_)) => (None, None),
            _ => {
                let user = self.user(&sec, &remotehost, &mut netrc)?;
                // With an OAuth2 token the keyring is not asked: the token
                // logs in, and a keyring that cannot be reached would only
                // warn.
                let keyring_ok = !general.ignore_keyring && oauth2.is_none();
                let password =
                    self.password(&sec, &remotehost, user.as_deref(), &mut netrc, keyring_ok)?;
                (user, password)
            }
        };
        let host = match &tunnel {
            Some(t) => t.command().to_owned(),
            None => remotehost,
        };
        let ca_setting = self
            .get(&sec, "sslcacertfile")?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        let ca_file = ca_setting
            .as_deref()
            .filter(|s| *s != "OS-DEFAULT")
            .map(|s| value::path(s, self.env));
        let cert_fingerprints = match self.get(&sec, "cert_fingerprint")? {
            Some(v) => cert_fingerprints(&v)
                .map_err(|m| self.error(&sec, "cert_fingerprint", ErrorKind::Invalid, m))?,
            None => Vec::new(),
        };
        if !cert_fingerprints.is_empty() && tls == Tls::None && self.own(&sec, "cert_fingerprint") {
            self.warnings.push(format!(
                "{}: [{sec}] cert_fingerprint: ignored: ssl and starttls are off, so there is no certificate to check",
                self.file.display()
            ));
        }
        // As in OfflineIMAP: a fingerprint alone replaces the CA check; with
        // sslcacertfile also set, both must pass.
        let verify_ca = cert_fingerprints.is_empty() || ca_setting.is_some();
        let tls_min_version = self.tls_min_version(&sec, tls)?;
        let maxconnections = self
            .typed(&sec, scope, "maxconnections", value::positive)?
            .unwrap_or(DEFAULT_MAXCONNECTIONS);
        let client_cert = self.client_cert(&sec, tls)?;
        let compression = self.boolean(&sec, scope, "usecompression")?;
        let account_sec = format!("Account {account}");
        let proxy = match self.get(&account_sec, "proxy")? {
            _ if tunnel.is_some() => None,
            Some(v) => super::proxy::parse(&v)
                .map_err(|m| self.error(&account_sec, "proxy", ErrorKind::Invalid, m))?,
            None => None,
        };
        Ok(ImapRepository {
            common: self.common(&sec, name, scope)?,
            host,
            port,
            user,
            password,
            tls,
            ca_file,
            cert_fingerprints,
            verify_ca,
            tls_min_version,
            expunge: self.boolean(&sec, scope, "expunge")?,
            maxconnections: if self.overrides.single_thread {
                1
            } else {
                maxconnections
            },
            tunnel,
            client_cert,
            compression,
            proxy,
            auth_mechanisms,
            remote_identity,
            oauth2,
            ipv6: self.typed(&sec, scope, "ipv6", value::boolean)?,
            retrycount: self
                .typed(&sec, scope, "retrycount", |s| {
                    value::integer(s)
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| format!("expected a whole number of retries, got '{s}'"))
                })?
                .unwrap_or(2),
        })
    }

    /// `sslclientcert` and `sslclientkey`, read and checked now. Without
    /// TLS there is no handshake to show them in: a warning, as for
    /// `cert_fingerprint`.
    fn client_cert(&mut self, sec: &str, tls: Tls) -> Result<Option<ClientCert>, Error> {
        let setting = |option: &str| -> Result<Option<String>, Error> {
            Ok(self
                .get(sec, option)?
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()))
        };
        let (cert, key) = (setting("sslclientcert")?, setting("sslclientkey")?);
        let Some(cert) = cert else {
            if key.is_some() {
                return Err(self.error(
                    sec,
                    "sslclientkey",
                    ErrorKind::Missing,
                    "needs sslclientcert (the certificate the key belongs to)",
                ));
            }
            return Ok(None);
        };
        if tls == Tls::None {
            self.warnings.push(format!(
                "{}: [{sec}] sslclientcert: ignored: ssl and starttls are off, so there is no TLS handshake to show it in",
                self.file.display()
            ));
            return Ok(None);
        }
        let cert = value::path(&cert, self.env);
        let key = key.map(|k| value::path(&k, self.env));
        super::client_cert::load(&cert, key.as_deref())
            .map(Some)
            .map_err(|p| self.error(sec, p.option, ErrorKind::Read, p.message))
    }

    /// `ssl_version` and `tls_level`. OfflineIMAP (through imaplib2) uses
    /// `ssl_version` to pick one protocol and `tls_level` to limit which
    /// `ssl_version` values are allowed; both are checked the same way
    /// here, with ssl on. The version becomes a floor, never below TLS
    /// 1.2: an older one is warned about and not allowed.
    fn tls_min_version(&mut self, sec: &str, tls: Tls) -> Result<Option<TlsVersion>, Error> {
        let scope = Scope::Imap;
        let version = self
            .get(sec, "ssl_version")?
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty());
        let level = self
            .value(sec, scope, "tls_level")?
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "tls_compat".to_owned());
        // The ssl_version values each tls_level allows, as in imaplib2
        // (`tls1_3` is this version's own addition).
        let allowed: &[&str] = match level.as_str() {
            "tls_secure" => &["tls1_1", "tls1_2", "tls1_3"],
            "tls_no_ssl" => &["tls1", "tls1_1", "tls1_2", "tls1_3"],
            "tls_compat" => &["tls1", "tls1_1", "tls1_2", "tls1_3", "ssl23", "ssl3"],
            other => {
                return Err(self.error(
                    sec,
                    "tls_level",
                    ErrorKind::Invalid,
                    format!("expected tls_compat, tls_no_ssl or tls_secure, got '{other}'"),
                ));
            }
        };
        let Some(version) = version else {
            if tls == Tls::Implicit && level != "tls_compat" {
                return Err(self.error(
                    sec,
                    "tls_level",
                    ErrorKind::Invalid,
                    format!("tls_level = {level} needs ssl_version set too"),
                ));
            }
            return Ok(None);
        };
        let floor = match version.as_str() {
            "tls1_3" => Some(TlsVersion::Tls13),
            "tls1_2" => Some(TlsVersion::Tls12),
            "ssl23" => None,
            "tls1" | "tls1_1" | "ssl3" => {
                if self.own(sec, "ssl_version") {
                    self.warnings.push(format!(
                        "{}: [{sec}] ssl_version: {version} is not allowed by this version: TLS 1.2 or newer is required",
                        self.file.display()
                    ));
                }
                None
            }
            other => {
                return Err(self.error(
                    sec,
                    "ssl_version",
                    ErrorKind::Invalid,
                    format!("expected tls1_2, tls1_3, ssl23, tls1_1, tls1 or ssl3, got '{other}'"),
                ));
            }
        };
        if tls == Tls::Implicit && !allowed.contains(&version.as_str()) {
            return Err(self.error(
                sec,
                "ssl_version",
                ErrorKind::Invalid,
                format!("{version} is not allowed with tls_level = {level}"),
            ));
        }
        Ok(floor)
    }

    /// `preauthtunnel` or `transporttunnel`; both at once is an error, as
    /// in OfflineIMAP.
    /// A `type = Gmail` repository never uses `preauthtunnel` (as in
    /// OfflineIMAP, whose Gmail repository always answers "none").
    fn tunnel(&mut self, sec: &str) -> Result<Option<Tunnel>, Error> {
        let read = |option: &str| -> Result<Option<String>, Error> {
            Ok(self
                .get(sec, option)?
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()))
        };
        let mut preauth = read("preauthtunnel")?;
        let transport = read("transporttunnel")?;
        if preauth.is_some() && self.is_gmail(sec) {
            preauth = None;
            if self.own(sec, "preauthtunnel") {
                self.warnings.push(format!(
                    "{}: [{sec}] preauthtunnel: ignored: a type = Gmail repository never uses it (as in OfflineIMAP)",
                    self.file.display()
                ));
            }
        }
        match (preauth, transport) {
            (Some(_), Some(_)) => Err(self.error(
                sec,
                "transporttunnel",
                ErrorKind::Invalid,
                "set only one of preauthtunnel and transporttunnel",
            )),
            (Some(c), None) => Ok(Some(Tunnel::PreAuth(c))),
            (None, Some(c)) => Ok(Some(Tunnel::Transport(c))),
            (None, None) => Ok(None),
        }
    }

    /// Folder selection of an account's two repositories, with `-f`
    /// applied to the remote one.
    fn folders(&self, local: &str, remote: &str) -> Result<Folders, Error> {
        let lsec = format!("{REPOSITORY_PREFIX}{local}");
        let rsec = format!("{REPOSITORY_PREFIX}{remote}");
        let mut remote_rules = self.folder_rules(&rsec)?;
        if let Some(names) = &self.overrides.folders {
            // OfflineIMAP turns `-f a,b` into this very lambda.
            let list: Vec<String> = names
                .iter()
                .map(|n| expr::Value::Str(n.clone()).repr())
                .collect();
            let source = format!("lambda f: f in [{}]", list.join(", "));
            let compiled = expr::compile(&source).map_err(|e| Error {
                option: Some("-f".to_owned()),
                ..Error::new(self.file, ErrorKind::Invalid, e.to_string())
            })?;
            remote_rules.folderfilter = Some(Expr::builtin("-f", compiled));
            remote_rules.folderincludes.clear();
        }
        let reference = self
            .get(&rsec, "reference")?
            .map(|r| r.trim().to_owned())
            // OfflineIMAP's own default is the quoted empty string.
            .filter(|r| !r.is_empty() && r != "\"\"");
        let local_rules = self.folder_rules(&lsec)?;
        Ok(Folders {
            local: local_rules,
            remote: remote_rules,
            subscribedonly: self.boolean(&rsec, Scope::Imap, "subscribedonly")?,
            reference,
            // An account option: `account` sets it.
            utf8foldernames: false,
            // Also for built-in rules: one may meet something beyond the
            // evaluator on a folder the load-time probe did not try.
            // Nothing starts until python3 is asked.
            python: Some(self.python.clone()),
        })
    }

    fn folder_rules(&self, sec: &str) -> Result<FolderRules, Error> {
        let folderincludes = match self.expression(sec, "folderincludes")? {
            None => Vec::new(),
            Some(e) => self.string_list(sec, &e)?,
        };
        // dynamic_folderfilter: both values call folderfilter afresh at
        // every sync, as OfflineIMAP ends up doing (docs/config.md); only
        // the value's spelling is checked.
        self.boolean(sec, Scope::Repository, "dynamic_folderfilter")?;
        Ok(FolderRules {
            section: sec.to_owned(),
            folderfilter: self.expression(sec, "folderfilter")?,
            nametrans: self.expression(sec, "nametrans")?,
            folderincludes,
            foldersort: self.expression(sec, "foldersort")?,
        })
    }

    /// A Python-expression option, compiled: a syntax error is a
    /// configuration error now rather than a failure in the middle of a
    /// sync. With `[general] pythonfile` set, or for an expression beyond
    /// the built-in evaluator, the expression is left to `python3`, which
    /// checks it (in one batch for all of them, see `check_python`).
    fn expression(&self, sec: &str, option: &str) -> Result<Option<Expr>, Error> {
        let Some(text) = self.get(sec, option)? else {
            return Ok(None);
        };
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let python = |why: String| {
            self.python_checks.borrow_mut().push(PythonCheck {
                section: sec.to_owned(),
                option: option.to_owned(),
                source: text.to_owned(),
                why,
            });
            Ok(Some(Expr {
                option: option.to_owned(),
                eval: Evaluator::Python(text.to_owned()),
            }))
        };
        if self.python.pythonfile().is_some() {
            return python("[general] pythonfile is set".to_owned());
        }
        match expr::compile(text).and_then(|c| probe(&c).map(|()| c)) {
            Ok(compiled) => Ok(Some(Expr::builtin(option, compiled))),
            Err(e) if e.is_not_supported() => {
                python(format!("for the built-in evaluator, {}", e.message()))
            }
            Err(e) => Err(self.error(sec, option, ErrorKind::Invalid, e.to_string())),
        }
    }

    /// Checks every expression left to `python3` in one round trip: each
    /// is evaluated once (as OfflineIMAP does when it reads them), so a
    /// syntax error or an unknown name stops the run before any sync.
    fn check_python(&self) -> Result<(), Error> {
        let checks = std::mem::take(&mut *self.python_checks.borrow_mut());
        if checks.is_empty() {
            return Ok(());
        }
        let requests: Vec<pyeval::Request> = checks
            .iter()
            .map(|c| pyeval::Request::call(CHECK, vec![pyeval::Value::Str(c.source.clone())]))
            .collect();
        let replies = self
            .python
            .batch(&requests)
            .map_err(|e| self.python_error(&checks[0], e))?;
        for (check, reply) in checks.iter().zip(replies) {
            if let Err(raised) = reply {
                return Err(self.error(&check.section, &check.option, ErrorKind::Invalid, raised));
            }
        }
        Ok(())
    }

    /// An error of the `python3` process itself, blamed on the option that
    /// needed it (or on `pythonfile` when that is what failed).
    fn python_error(&self, check: &PythonCheck, e: pyeval::Error) -> Error {
        match e {
            pyeval::Error::NotFound => self.error(
                &check.section,
                &check.option,
                ErrorKind::Unsupported,
                format!(
                    "needs {} ({}), but it was not found in PATH",
                    pyeval::PROGRAM,
                    check.why
                ),
            ),
            e @ pyeval::Error::Pythonfile { .. } => {
                self.error("general", "pythonfile", ErrorKind::Invalid, e.to_string())
            }
            e => self.error(
                &check.section,
                &check.option,
                ErrorKind::Read,
                e.to_string(),
            ),
        }
    }

    /// Evaluates a `folderincludes`-like expression to a list of strings.
    fn string_list(&self, sec: &str, e: &Expr) -> Result<Vec<String>, Error> {
        let fail = |kind, message: String| self.error(sec, &e.option, kind, message);
        let compiled = match &e.eval {
            Evaluator::Builtin(c) => c,
            Evaluator::Python(source) => {
                // Needed now, so evaluated now rather than checked later.
                let check = self.python_checks.borrow_mut().pop();
                let value = self.python.eval(source).map_err(|err| match &check {
                    Some(c) => self.python_error(c, err),
                    None => fail(ErrorKind::Read, err.to_string()),
                })?;
                let value = value.map_err(|raised| fail(ErrorKind::Invalid, raised))?;
                let pyeval::Value::List(items) = value else {
                    return Err(fail(
                        ErrorKind::Invalid,
                        format!("expected a list of folder names, got {}", value.type_name()),
                    ));
                };
                return items
                    .into_iter()
                    .map(|v| match v {
                        pyeval::Value::Str(s) => Ok(s),
                        other => Err(fail(
                            ErrorKind::Invalid,
                            format!(
                                "expected a list of folder names, but it holds a {}",
                                other.type_name()
                            ),
                        )),
                    })
                    .collect();
            }
        };
        let value = compiled.eval(&expr::Env::offlineimap()).map_err(|err| {
            let kind = if err.is_not_supported() {
                ErrorKind::Unsupported
            } else {
                ErrorKind::Invalid
            };
            fail(kind, err.to_string())
        })?;
        let items = match value {
            expr::Value::List(v) | expr::Value::Tuple(v) | expr::Value::Set(v) => v,
            other => {
                return Err(fail(
                    ErrorKind::Invalid,
                    format!("expected a list of folder names, got {}", other.type_name()),
                ));
            }
        };
        items
            .into_iter()
            .map(|v| match v {
                expr::Value::Str(s) => Ok(s),
                other => Err(fail(
                    ErrorKind::Invalid,
                    format!(
                        "expected a list of folder names, but it holds {}",
                        other.repr()
                    ),
                )),
            })
            .collect()
    }

    /// `remoteusereval`, else `remoteuser`, else the login of the host's
    /// entry in `~/.netrc`, else in `/etc/netrc` (OfflineIMAP's order).
    fn user(
        &mut self,
        sec: &str,
        host: &str,
        netrc: &mut NetrcFiles,
    ) -> Result<Option<String>, Error> {
        match self.evaluate(sec, "remoteusereval")? {
            Some(pyeval::Value::Str(u)) => return Ok(Some(u)),
            Some(other) => return Err(self.wrong_type(sec, "remoteusereval", "str", &other)),
            None => {}
        }
        if let Some(u) = self.get(sec, "remoteuser")?.filter(|u| !u.is_empty()) {
            return Ok(Some(u));
        }
        for n in netrc.load(self)? {
            if let Some(login) = n.find(host, None).and_then(|e| e.login.clone()) {
                return Ok(Some(login));
            }
        }
        Ok(None)
    }

    /// The password, from the first source that has one, in OfflineIMAP's
    /// order: `remotepasseval`, `remotepass`, the first line of
    /// `remotepassfile` (stripped), `~/.netrc`, `/etc/netrc` (an entry for
    /// the host whose login is the user), the keyring (when `use_keyring`:
    /// not with `ignore-keyring` nor an OAuth2 token). `None` leaves it to
    /// the UI to ask. Neither the
    /// password nor any part of it may reach an error message.
    fn password(
        &mut self,
        sec: &str,
        host: &str,
        user: Option<&str>,
        netrc: &mut NetrcFiles,
        use_keyring: bool,
    ) -> Result<Option<Secret>, Error> {
        match self.evaluate(sec, "remotepasseval")? {
            Some(pyeval::Value::Str(p)) => return Ok(Some(Secret::new(p))),
            Some(other) => return Err(self.wrong_type(sec, "remotepasseval", "str", &other)),
            None => {}
        }
        match self.ini.get(sec, "remotepass") {
            Ok(Some(p)) => return Ok(Some(Secret::new(p))),
            Ok(None) => {}
            Err(_) => {
                return Err(self.error(
                    sec,
                    "remotepass",
                    ErrorKind::Syntax,
                    "a '%' must be written '%%' (the value is not shown because it is a password)",
                ));
            }
        }
        if let Some(file) = self.get(sec, "remotepassfile")? {
            let path = value::path(file.trim(), self.env);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                self.error(
                    sec,
                    "remotepassfile",
                    ErrorKind::Read,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let first = text.lines().next().unwrap_or("").trim();
            return Ok(Some(Secret::new(first)));
        }
        for n in netrc.load(self)? {
            if let Some(p) = n.find(host, user).and_then(|e| e.password.clone()) {
                return Ok(Some(p));
            }
        }
        if let (true, Some(user), Some(keyring)) = (use_keyring, user, self.sources.keyring) {
            match keyring.get(host, user) {
                Ok(found) => return Ok(found),
                Err(why) => self.warnings.push(format!(
                    "[{sec}] cannot read the password from the keyring: {why}"
                )),
            }
        }
        Ok(None)
    }

    /// Evaluates the Python expression of `option`: with the built-in
    /// evaluator when it can, else (or whenever `[general] pythonfile` is
    /// set) with the run's `python3`. `None` when the option is unset.
    fn evaluate(&self, sec: &str, option: &str) -> Result<Option<pyeval::Value>, Error> {
        let Some(source) = self.get(sec, option)? else {
            return Ok(None);
        };
        let source = source.trim();
        if source.is_empty() {
            return Ok(None);
        }
        let why = if self.python.pythonfile().is_some() {
            "[general] pythonfile is set".to_owned()
        } else {
            match crate::expr::compile(source).and_then(|e| e.eval(&crate::expr::Env::with_os())) {
                Ok(v) => {
                    return from_expr(v).map(Some).map_err(|t| {
                        self.error(
                            sec,
                            option,
                            ErrorKind::Invalid,
                            format!("must give a value, not {t}"),
                        )
                    });
                }
                Err(e) if e.is_not_supported() => {
                    format!("for the built-in evaluator, {}", e.message())
                }
                Err(e) => {
                    let first = e.to_string();
                    let first = first.lines().next().unwrap_or_default().to_owned();
                    return Err(self.error(sec, option, ErrorKind::Invalid, first));
                }
            }
        };
        match self.python.eval(source) {
            Ok(Ok(v)) => Ok(Some(v)),
            Ok(Err(raised)) => Err(self.error(sec, option, ErrorKind::Invalid, raised)),
            Err(pyeval::Error::NotFound) => Err(self.error(
                sec,
                option,
                ErrorKind::Unsupported,
                format!(
                    "needs {} ({why}), but it was not found in PATH",
                    pyeval::PROGRAM
                ),
            )),
            Err(e @ pyeval::Error::Pythonfile { .. }) => {
                Err(self.error("general", "pythonfile", ErrorKind::Invalid, e.to_string()))
            }
            Err(e) => Err(self.error(sec, option, ErrorKind::Read, e.to_string())),
        }
    }

    /// An `*eval` option whose value has the wrong type; the value itself
    /// is not shown (it may be a password).
    fn wrong_type(&self, sec: &str, option: &str, want: &str, got: &pyeval::Value) -> Error {
        self.error(
            sec,
            option,
            ErrorKind::Invalid,
            format!("must give a {want}, not {}", got.type_name()),
        )
    }

    /// `auth_mechanisms`: the mechanisms in the order given. Unknown names
    /// are an error, as in OfflineIMAP; GSSAPI is kept (the login skips it
    /// with a warning) but cannot be the only one.
    fn auth_mechanisms(&mut self, sec: &str) -> Result<Vec<AuthMechanism>, Error> {
        let Some(v) = self.get(sec, "auth_mechanisms")? else {
            return Ok(AuthMechanism::DEFAULT.to_vec());
        };
        let mut mechs = Vec::new();
        for name in v.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            let Some(m) = AuthMechanism::parse(name) else {
                let known: Vec<&str> = AuthMechanism::DEFAULT.iter().map(|m| m.name()).collect();
                return Err(self.error(
                    sec,
                    "auth_mechanisms",
                    ErrorKind::Invalid,
                    format!("unknown mechanism '{name}' (known: {})", known.join(", ")),
                ));
            };
            if !mechs.contains(&m) {
                mechs.push(m);
            }
        }
        if mechs.iter().all(|m| *m == AuthMechanism::Gssapi) {
            return Err(self.error(
                sec,
                "auth_mechanisms",
                ErrorKind::Unsupported,
                "this version does not do GSSAPI (Kerberos) and no other mechanism is listed",
            ));
        }
        Ok(mechs)
    }

    /// The `oauth2_*` options; `None` when no token is configured (the
    /// XOAUTH2 mechanism is then skipped, as in OfflineIMAP). The values
    /// are secrets: no error shows them.
    fn oauth2(&mut self, sec: &str, account: &str) -> Result<Option<OAuth2>, Error> {
        let access_token = self.secret_option(sec, "oauth2_access_token")?;
        let refresh_token = self.secret_option(sec, "oauth2_refresh_token")?;
        if access_token.is_none() && refresh_token.is_none() {
            return Ok(None);
        }
        let client_id = self.secret_option(sec, "oauth2_client_id")?;
        let client_secret = self.secret_option(sec, "oauth2_client_secret")?;
        // value(), not get(): type Gmail has Google's endpoint as default.
        let request_url = self
            .value(sec, Scope::Imap, "oauth2_request_url")?
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        if access_token.is_none() && request_url.is_none() {
            return Err(self.error(
                sec,
                "oauth2_request_url",
                ErrorKind::Missing,
                "is needed to trade oauth2_refresh_token for an access token",
            ));
        }
        if let Some(url) = &request_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(self.error(
                sec,
                "oauth2_request_url",
                ErrorKind::Invalid,
                format!("expected an http:// or https:// URL, got '{url}'"),
            ));
        }
        let asec = format!("{ACCOUNT_PREFIX}{account}");
        let proxy = match self.get(&asec, "authproxy")? {
            Some(p) if !p.trim().is_empty() => {
                let p = p.trim().to_owned();
                super::oauth2::proxy_url(&p)
                    .map_err(|m| self.error(&asec, "authproxy", ErrorKind::Invalid, m))?;
                Some(p)
            }
            _ => None,
        };
        Ok(Some(OAuth2 {
            access_token,
            refresh_token,
            client_id,
            client_secret,
            request_url,
            proxy,
        }))
    }

    /// `option_eval` (a Python expression giving a str), else `option`;
    /// empty counts as unset. The value is a secret.
    fn secret_option(&mut self, sec: &str, option: &str) -> Result<Option<Secret>, Error> {
        let eval = format!("{option}_eval");
        match self.evaluate(sec, &eval)? {
            Some(pyeval::Value::Str(v)) => return Ok(Some(Secret::new(v.trim()))),
            Some(other) => return Err(self.wrong_type(sec, &eval, "str", &other)),
            None => {}
        }
        match self.ini.get(sec, option) {
            Ok(v) => Ok(v
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(Secret::new)),
            Err(_) => Err(self.error(
                sec,
                option,
                ErrorKind::Syntax,
                "a '%' must be written '%%' (the value is not shown because it is a secret)",
            )),
        }
    }

    /// Whether `option` is written in `sec` itself (not inherited from
    /// `[DEFAULT]`).
    fn own(&self, sec: &str, option: &str) -> bool {
        self.ini
            .section(sec)
            .is_some_and(|s| s.entries.iter().any(|e| e.name == option))
    }

    /// Warns about (or refuses) the OfflineIMAP options of `sec` that this
    /// build does not act on, when set to anything but their default.
    /// Refused options count when inherited from `[DEFAULT]`; warnings are
    /// given only where an option is written, so one `[DEFAULT]` line does
    /// not warn once per section.
    fn check_support(&mut self, sec: &str, scopes: &[Scope]) -> Result<(), Error> {
        let specs = OPTIONS.iter().filter(|o| {
            o.support != Support::Yes
                && o.scope != Scope::Mbnames
                && scopes.iter().any(|&s| o.scope.applies_to(s))
        });
        for spec in specs {
            let names: Vec<String> = if spec.name == options::CUSTOMFLAG {
                ('a'..='z').map(|c| format!("customflag_{c}")).collect()
            } else {
                vec![spec.name.to_owned()]
            };
            for name in names {
                let Ok(Some(v)) = self.ini.get(sec, &name) else {
                    continue;
                };
                if is_default(spec, &v) {
                    continue;
                }
                match spec.support {
                    Support::Refused(why) => {
                        return Err(self.error(sec, &name, ErrorKind::Unsupported, why));
                    }
                    Support::Ignored(instead) if self.own(sec, &name) => {
                        self.warnings.push(format!(
                            "{}: [{sec}] {name}: not supported by this version, ignored: {instead}",
                            self.file.display()
                        ));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// `[mbnames]`, when `enabled`: every option is checked now, as
    /// OfflineIMAP evaluates them at start-up. `header`, `sep` and `footer`
    /// are evaluated; `peritem` is read raw (its `%(accountname)s` is no
    /// interpolation) and tried on a sample item.
    fn mbnames(&self) -> Result<Option<Mbnames>, Error> {
        let sec = "mbnames";
        let scope = Scope::Mbnames;
        if self.ini.section(sec).is_none() || !self.boolean(sec, scope, "enabled")? {
            return Ok(None);
        }
        let string = |option: &str| -> Result<String, Error> {
            match self.evaluate(sec, option)? {
                Some(pyeval::Value::Str(s)) => Ok(s),
                Some(other) => Err(self.wrong_type(sec, option, "str", &other)),
                None => Err(self.error(sec, option, ErrorKind::Missing, "required, but not set")),
            }
        };
        let filename = self.required(sec, scope, "filename")?;
        let filename = filename.trim();
        if filename.is_empty() {
            return Err(self.error(sec, "filename", ErrorKind::Missing, "required, but empty"));
        }
        let header = string("header")?;
        let peritem = match self.ini.raw(sec, "peritem") {
            Some(e) => e.value.clone(),
            None => {
                return Err(self.error(
                    sec,
                    "peritem",
                    ErrorKind::Missing,
                    "required, but not set",
                ));
            }
        };
        self.check_peritem(&peritem)?;
        let sep = string("sep")?;
        let footer = string("footer")?;
        Ok(Some(Mbnames {
            filename: value::path(filename, self.env),
            header,
            peritem,
            sep,
            footer,
            incremental: self.boolean(sec, scope, "incremental")?,
            folderfilter: self.expression(sec, "folderfilter")?,
            sort_keyfunc: self.expression(sec, "sort_keyfunc")?,
            python: Some(self.python.clone()),
        }))
    }

    /// Formats a sample item with `peritem`, so that a bad template (an
    /// unknown key, a lone `%`) stops the run now. What the built-in
    /// evaluator cannot format is left to `python3`'s batch check.
    fn check_peritem(&self, peritem: &str) -> Result<(), Error> {
        let item = format!(
            "{} % {{'accountname': 'a', 'foldername': 'f', 'localfolders': '/l'}}",
            expr::Value::Str(peritem.to_owned()).repr()
        );
        let result = expr::compile(&item).and_then(|e| e.eval(&expr::Env::new()));
        match result {
            Ok(expr::Value::Str(_)) => Ok(()),
            Ok(other) => Err(self.error(
                "mbnames",
                "peritem",
                ErrorKind::Invalid,
                format!("must give a str, not {}", other.type_name()),
            )),
            Err(e) if e.is_not_supported() => {
                self.python_checks.borrow_mut().push(PythonCheck {
                    section: "mbnames".to_owned(),
                    option: "peritem".to_owned(),
                    source: item,
                    why: format!("for the built-in evaluator, {}", e.message()),
                });
                Ok(())
            }
            Err(e) => Err(self.error(
                "mbnames",
                "peritem",
                ErrorKind::Invalid,
                e.message().to_owned(),
            )),
        }
    }

    /// An option of `[ui.blinkenlights]`, or of the section OfflineIMAP
    /// used until 2011, `[ui.Curses.Blinkenlights]`, which old configs
    /// still carry.
    fn blinkenlights(&self, option: &str) -> Result<Option<String>, Error> {
        for sec in UI_SECTIONS {
            if self.ini.section(sec).is_some()
                && let Some(v) = self.get(sec, option)?
            {
                let v = v.trim().to_owned();
                if !v.is_empty() {
                    return Ok(Some(v));
                }
            }
        }
        Ok(None)
    }

    /// Options the file sets that no section of theirs knows, with the
    /// scopes their section has (for "did you mean").
    fn unknown(&self) -> Vec<(String, String, &'static [Scope])> {
        const ALL: &[Scope] = &[
            Scope::General,
            Scope::Account,
            Scope::Maildir,
            Scope::Imap,
            Scope::Blinkenlights,
            Scope::Mbnames,
        ];
        let mut out = Vec::new();
        for e in &self.ini.defaults.entries {
            if !options::known_anywhere(&e.name) {
                out.push((DEFAULT_SECTION.to_owned(), e.name.clone(), ALL));
            }
        }
        for s in &self.ini.sections {
            let scopes: &'static [Scope] = if s.name == "general" {
                &[Scope::General]
            } else if s.name == "mbnames" {
                &[Scope::Mbnames]
            } else if UI_SECTIONS.contains(&s.name.as_str()) {
                &[Scope::Blinkenlights]
            } else if s.name.starts_with(ACCOUNT_PREFIX) {
                &[Scope::Account]
            } else if s.name.starts_with(REPOSITORY_PREFIX) {
                match self
                    .ini
                    .get(&s.name, "type")
                    .ok()
                    .flatten()
                    .as_deref()
                    .map(str::trim)
                {
                    Some("Maildir" | "GmailMaildir") => &[Scope::Maildir],
                    Some("IMAP" | "Gmail") => &[Scope::Imap],
                    _ => &[Scope::Maildir, Scope::Imap],
                }
            } else {
                &[]
            };
            for e in &s.entries {
                if !scopes
                    .iter()
                    .any(|&sc| options::find(sc, &e.name).is_some())
                {
                    out.push((s.name.clone(), e.name.clone(), scopes));
                }
            }
        }
        out
    }

    fn error(
        &self,
        section: &str,
        option: &str,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Error {
        Error {
            section: Some(section.to_owned()),
            option: Some(option.to_owned()),
            ..Error::new(self.file, kind, message)
        }
    }

    /// The interpolated value as written (own section or `[DEFAULT]`).
    fn get(&self, sec: &str, option: &str) -> Result<Option<String>, Error> {
        self.ini
            .get(sec, option)
            .map_err(|e| self.error(sec, option, ErrorKind::Syntax, e.0))
    }

    /// The value as written, else the table's default (or a `type = Gmail`
    /// repository's own); an absent required option is an error.
    fn value(&self, sec: &str, scope: Scope, option: &str) -> Result<Option<String>, Error> {
        if let Some(v) = self.get(sec, option)? {
            return Ok(Some(v));
        }
        if let Some(d) = self.gmail_default(sec, option) {
            return Ok(Some(d.to_owned()));
        }
        match options::find(scope, option).map(|o| o.default) {
            Some(DefaultValue::Value(d)) => Ok(Some(d.to_owned())),
            Some(DefaultValue::Required) => {
                Err(self.error(sec, option, ErrorKind::Missing, "required, but not set"))
            }
            Some(DefaultValue::Unset | DefaultValue::Derived(_)) | None => Ok(None),
        }
    }

    /// Whether `sec` is a repository of `type = Gmail`.
    fn is_gmail(&self, sec: &str) -> bool {
        sec.starts_with(REPOSITORY_PREFIX)
            && self
                .ini
                .get(sec, "type")
                .ok()
                .flatten()
                .is_some_and(|t| t.trim() == "Gmail")
    }

    /// What `type = Gmail` assumes for an option left unset, where that
    /// differs from (or is missing in) the table: OfflineIMAP's Gmail
    /// repository is IMAP with Google's server filled in.
    fn gmail_default(&self, sec: &str, option: &str) -> Option<&'static str> {
        if !self.is_gmail(sec) {
            return None;
        }
        gmail_default(option)
    }

    fn required(&self, sec: &str, scope: Scope, option: &str) -> Result<String, Error> {
        self.value(sec, scope, option)?
            .ok_or_else(|| self.error(sec, option, ErrorKind::Missing, "required, but not set"))
    }

    fn typed<T>(
        &self,
        sec: &str,
        scope: Scope,
        option: &str,
        convert: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, Error> {
        self.value(sec, scope, option)?
            .map(|v| convert(&v).map_err(|m| self.error(sec, option, ErrorKind::Invalid, m)))
            .transpose()
    }

    /// Every boolean in the table has a default, so absent means that.
    fn boolean(&self, sec: &str, scope: Scope, option: &str) -> Result<bool, Error> {
        Ok(self
            .typed(sec, scope, option, value::boolean)?
            .unwrap_or(false))
    }
}

/// Whether `v` leaves an option at its default (so an ignored or refused
/// option set to it needs no word): empty, or equal to the default value
/// (as booleans when both are).
fn is_default(spec: &OptionSpec, v: &str) -> bool {
    let v = v.trim();
    if v.is_empty() {
        return true;
    }
    match spec.default {
        DefaultValue::Value(d) => match (value::boolean(v), value::boolean(d)) {
            (Ok(a), Ok(b)) => a == b,
            _ => {
                v.eq_ignore_ascii_case(d)
                    || value::integer(v).is_some_and(|n| Some(n) == value::integer(d))
            }
        },
        _ => false,
    }
}

/// The built-in evaluator's result as a value Python would pass back; the
/// type name of anything else.
fn from_expr(v: crate::expr::Value) -> Result<pyeval::Value, &'static str> {
    use crate::expr::Value as E;
    Ok(match v {
        E::None => pyeval::Value::None,
        E::Bool(b) => pyeval::Value::Bool(b),
        E::Int(i) => pyeval::Value::Int(i),
        E::Float(f) => pyeval::Value::Float(f),
        E::Str(s) => pyeval::Value::Str(s),
        E::List(l) | E::Tuple(l) | E::Set(l) => {
            pyeval::Value::List(l.into_iter().map(from_expr).collect::<Result<_, _>>()?)
        }
        other => return Err(other.type_name()),
    })
}

/// `~/.netrc` and `/etc/netrc`, read on first need, once per repository.
#[derive(Default)]
struct NetrcFiles {
    loaded: Option<Vec<Netrc>>,
}

impl NetrcFiles {
    fn load(&mut self, reader: &Reader<'_>) -> Result<&[Netrc], Error> {
        if self.loaded.is_none() {
            let mut files = Vec::new();
            let home = (reader.env)("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".netrc"));
            for (path, system) in home
                .into_iter()
                .map(|p| (p, false))
                .chain([(reader.sources.system_netrc.clone(), true)])
            {
                if let Some(n) = read_netrc(reader.file, &path, system)? {
                    files.push(n);
                }
            }
            self.loaded = Some(files);
        }
        Ok(self.loaded.as_deref().unwrap_or_default())
    }
}

/// `cert_fingerprint`: a comma-separated list of hex digests of the DER
/// certificate; colons and case do not matter, as in OfflineIMAP. Each
/// must have the length of a SHA-1 or SHA-2 digest, so a typo is caught
/// here rather than as a mismatch at connect time.
pub(crate) fn cert_fingerprints(v: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in v.split(',') {
        let part = part.trim();
        let hex = part.replace(':', "").to_ascii_lowercase();
        if hex.is_empty() {
            continue;
        }
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("'{part}' is not a hexadecimal fingerprint"));
        }
        if ![40, 56, 64, 96, 128].contains(&hex.len()) {
            return Err(format!(
                "'{part}' has {} hex digits; a SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512 fingerprint has 40, 56, 64, 96 or 128",
                hex.len()
            ));
        }
        out.push(hex);
    }
    Ok(out)
}

/// One netrc file; `None` when it does not exist (or, for the system
/// file, may not be read), as OfflineIMAP does.
fn read_netrc(config: &Path, path: &Path, system: bool) -> Result<Option<Netrc>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if system && e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(None),
        Err(e) => {
            return Err(Error::new(
                path,
                ErrorKind::Read,
                format!(
                    "cannot read this netrc file (needed by {}): {e}",
                    config.display()
                ),
            ));
        }
    };
    Netrc::parse(&text).map(Some).map_err(|e| Error {
        line: Some(e.line),
        ..Error::new(path, ErrorKind::Syntax, e.message)
    })
}
