//! Turns a parsed file plus the command-line overrides into [`Config`]:
//! picks the accounts to sync, follows them to their repositories, applies
//! defaults from the options table and checks every value it reads.
//!
//! Only the accounts being synced (and their repositories) are checked, as
//! OfflineIMAP does: a broken account that is not synced is no error.

use std::path::Path;
use std::time::Duration;

use super::ini::{DEFAULT_SECTION, Ini};
use super::options::{self, DefaultValue, Scope};
use super::{
    Account, Config, Error, ErrorKind, Expr, FolderRules, Folders, General, ImapRepository,
    MaildirRepository, Overrides, RepositoryCommon, Secret, Tls, value,
};
use crate::expr;

const ACCOUNT_PREFIX: &str = "Account ";
const REPOSITORY_PREFIX: &str = "Repository ";

/// The Blinkenlights section, and its pre-2011 OfflineIMAP name.
const UI_SECTIONS: [&str; 2] = ["ui.blinkenlights", "ui.Curses.Blinkenlights"];

pub(super) fn read(
    text: &str,
    file: &Path,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
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
        env,
        overrides,
        warnings: Vec::new(),
    };
    reader.config()
}

struct Reader<'a> {
    ini: &'a Ini,
    file: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    overrides: &'a Overrides,
    warnings: Vec<String>,
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
        let general = self.general()?;
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
            .map(|name| self.account(name))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Config {
            path: self.file.to_owned(),
            general,
            accounts,
            defined_accounts,
            unknown: self.unknown(),
            warnings: std::mem::take(&mut self.warnings),
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
        })
    }

    fn account(&mut self, name: &str) -> Result<Account, Error> {
        let sec = format!("{ACCOUNT_PREFIX}{name}");
        let scope = Scope::Account;
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
        let windows_compatible = self.boolean(&sec, scope, "maildir-windows-compatible")?;
        let local_name = self.repository_name(&sec, "localrepository")?;
        let remote_name = self.repository_name(&sec, "remoterepository")?;
        let local = self.maildir(name, &local_name, windows_compatible)?;
        let remote = self.imap(name, &remote_name)?;
        let folders = self.folders(&local_name, &remote_name)?;
        Ok(Account {
            name: name.to_owned(),
            local,
            remote,
            autorefresh,
            folders,
        })
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
            ("Maildir", true) | ("IMAP", false) => Ok(()),
            ("GmailMaildir", true) | ("Gmail", false) => fail(
                ErrorKind::Unsupported,
                format!("type {ty} is not supported yet"),
            ),
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
                format!("expected Maildir or IMAP, got '{ty}'"),
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
        &self,
        account: &str,
        name: &str,
        account_windows: bool,
    ) -> Result<MaildirRepository, Error> {
        self.check_type(account, name, true)?;
        let sec = format!("{REPOSITORY_PREFIX}{name}");
        let scope = Scope::Maildir;
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
        Ok(MaildirRepository {
            common: self.common(&sec, name, scope)?,
            localfolders: value::path(&localfolders, self.env),
            sep,
            windows_compatible: account_windows
                || self.boolean(&sec, scope, "maildir-windows-compatible")?,
        })
    }

    fn imap(&self, account: &str, name: &str) -> Result<ImapRepository, Error> {
        self.check_type(account, name, false)?;
        let sec = format!("{REPOSITORY_PREFIX}{name}");
        let scope = Scope::Imap;
        let host = self.required(&sec, scope, "remotehost")?.trim().to_owned();
        if host.is_empty() {
            return Err(self.error(&sec, "remotehost", ErrorKind::Missing, "names no host"));
        }
        let ssl = self.boolean(&sec, scope, "ssl")?;
        let starttls = self.boolean(&sec, scope, "starttls")?;
        let tls = match (ssl, starttls) {
            (true, _) => Tls::Implicit,
            (false, true) => Tls::StartTls,
            (false, false) => Tls::None,
        };
        let port = self
            .typed(&sec, scope, "remoteport", value::port)?
            .unwrap_or(if ssl { 993 } else { 143 });
        let user = self.get(&sec, "remoteuser")?.filter(|u| !u.is_empty());
        let password = self.password(&sec)?;
        let ca_file = self
            .get(&sec, "sslcacertfile")?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && s != "OS-DEFAULT")
            .map(|s| value::path(&s, self.env));
        let maxconnections = self
            .typed(&sec, scope, "maxconnections", value::positive)?
            .unwrap_or(1);
        Ok(ImapRepository {
            common: self.common(&sec, name, scope)?,
            host,
            port,
            user,
            password,
            tls,
            ca_file,
            expunge: self.boolean(&sec, scope, "expunge")?,
            maxconnections: if self.overrides.single_thread {
                1
            } else {
                maxconnections
            },
        })
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
            remote_rules.folderfilter = Some(Expr {
                option: "-f".to_owned(),
                expr: compiled,
            });
            remote_rules.folderincludes.clear();
        }
        let reference = self
            .get(&rsec, "reference")?
            .map(|r| r.trim().to_owned())
            // OfflineIMAP's own default is the quoted empty string.
            .filter(|r| !r.is_empty() && r != "\"\"");
        Ok(Folders {
            local: self.folder_rules(&lsec)?,
            remote: remote_rules,
            subscribedonly: self.boolean(&rsec, Scope::Imap, "subscribedonly")?,
            reference,
        })
    }

    fn folder_rules(&self, sec: &str) -> Result<FolderRules, Error> {
        let folderincludes = match self.expression(sec, "folderincludes")? {
            None => Vec::new(),
            Some(e) => self.string_list(sec, &e)?,
        };
        Ok(FolderRules {
            section: sec.to_owned(),
            folderfilter: self.expression(sec, "folderfilter")?,
            nametrans: self.expression(sec, "nametrans")?,
            folderincludes,
            foldersort: self.expression(sec, "foldersort")?,
        })
    }

    /// A Python-expression option, compiled: a syntax error (or a construct
    /// the built-in evaluator lacks) is a configuration error now rather
    /// than a failure in the middle of a sync.
    fn expression(&self, sec: &str, option: &str) -> Result<Option<Expr>, Error> {
        let Some(text) = self.get(sec, option)? else {
            return Ok(None);
        };
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        match expr::compile(text) {
            Ok(compiled) => Ok(Some(Expr {
                option: option.to_owned(),
                expr: compiled,
            })),
            Err(e) => {
                let kind = if e.is_not_supported() {
                    ErrorKind::Unsupported
                } else {
                    ErrorKind::Invalid
                };
                Err(self.error(sec, option, kind, e.to_string()))
            }
        }
    }

    /// Evaluates a `folderincludes`-like expression to a list of strings.
    fn string_list(&self, sec: &str, e: &Expr) -> Result<Vec<String>, Error> {
        let fail = |kind, message: String| self.error(sec, &e.option, kind, message);
        let value = e.expr.eval(&expr::Env::offlineimap()).map_err(|err| {
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

    /// `remotepass`, else the first line of `remotepassfile` (stripped, as
    /// OfflineIMAP does). Neither the password nor any part of it may
    /// reach an error message.
    fn password(&self, sec: &str) -> Result<Option<Secret>, Error> {
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
        let Some(file) = self.get(sec, "remotepassfile")? else {
            return Ok(None);
        };
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
        Ok(Some(Secret::new(first)))
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

    /// Options the file sets that this build does not read.
    fn unknown(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for e in &self.ini.defaults.entries {
            if !options::known_anywhere(&e.name) {
                out.push((DEFAULT_SECTION.to_owned(), e.name.clone()));
            }
        }
        for s in &self.ini.sections {
            let scopes: &[Scope] = if s.name == "general" {
                &[Scope::General]
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
                    Some("Maildir") => &[Scope::Maildir],
                    Some("IMAP") => &[Scope::Imap],
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
                    out.push((s.name.clone(), e.name.clone()));
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

    /// The value as written, else the table's default; an absent required
    /// option is an error.
    fn value(&self, sec: &str, scope: Scope, option: &str) -> Result<Option<String>, Error> {
        if let Some(v) = self.get(sec, option)? {
            return Ok(Some(v));
        }
        match options::find(scope, option).map(|o| o.default) {
            Some(DefaultValue::Value(d)) => Ok(Some(d.to_owned())),
            Some(DefaultValue::Required) => {
                Err(self.error(sec, option, ErrorKind::Missing, "required, but not set"))
            }
            Some(DefaultValue::Unset | DefaultValue::Derived(_)) | None => Ok(None),
        }
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
