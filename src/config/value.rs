//! Conversions of option values (strings) into typed values, with the
//! one-line complaint used when a value does not fit.
//!
//! Pure: the environment is passed in, nothing is read from the system.

use std::path::PathBuf;
use std::time::Duration;

/// A comma-separated list (`filterheaders`): items trimmed, empty ones
/// dropped.
pub fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// ConfigParser's booleans, case-insensitive.
pub fn boolean(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("expected yes/no, got '{s}'")),
    }
}

/// A whole number, as Python's `int()` reads a config value (surrounding
/// blanks and a leading `+` allowed).
pub fn integer(s: &str) -> Option<i64> {
    let t = s.trim();
    t.strip_prefix('+')
        .unwrap_or(t)
        .parse()
        .ok()
        .filter(|_| !t.starts_with("+-"))
}

/// A count that must be at least 1 (`maxsyncaccounts`, `maxconnections`).
pub fn positive(s: &str) -> Result<usize, String> {
    match integer(s) {
        Some(n) if n >= 1 => {
            usize::try_from(n).map_err(|_| format!("expected a positive whole number, got '{s}'"))
        }
        _ => Err(format!("expected a positive whole number, got '{s}'")),
    }
}

/// `maxsize`: a number of bytes, at least 1.
pub fn maxsize(s: &str) -> Result<u64, String> {
    match integer(s) {
        Some(n) if n >= 1 => {
            u64::try_from(n).map_err(|_| format!("expected a positive number of bytes, got '{s}'"))
        }
        _ => Err(format!("expected a positive number of bytes, got '{s}'")),
    }
}

/// A `YYYY-MM-DD` date as OfflineIMAP accepts it for `maxage` and
/// `startdate`: year 1900 or later and not after `today`.
pub fn date(s: &str, today: chrono::NaiveDate) -> Result<chrono::NaiveDate, String> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("expected a date YYYY-MM-DD, got '{s}'"))?;
    if chrono::Datelike::year(&d) < 1900 {
        return Err(format!("the year of '{s}' is before 1900"));
    }
    if d > today {
        return Err(format!("'{s}' is in the future"));
    }
    Ok(d)
}

/// `maxage`: a number of days (at least 1) or a `YYYY-MM-DD` date.
pub fn maxage(s: &str, today: chrono::NaiveDate) -> Result<crate::config::MaxAge, String> {
    if let Some(n) = integer(s) {
        return match u32::try_from(n) {
            Ok(days) if days >= 1 => Ok(crate::config::MaxAge::Days(days)),
            _ => Err(format!(
                "expected a number of days (1 or more) or a date YYYY-MM-DD, got '{s}'"
            )),
        };
    }
    if s.trim().parse::<f64>().is_ok() {
        return Err(format!(
            "expected a whole number of days or a date YYYY-MM-DD, got '{s}'"
        ));
    }
    match date(s, today) {
        Ok(d) => Ok(crate::config::MaxAge::Since(d)),
        Err(e) if e.starts_with("expected") => Err(format!(
            "expected a number of days or a date YYYY-MM-DD, got '{s}'"
        )),
        Err(e) => Err(e),
    }
}

/// A TCP port, 1..=65535.
pub fn port(s: &str) -> Result<u16, String> {
    match integer(s) {
        Some(n) if (1..=65535).contains(&n) => {
            u16::try_from(n).map_err(|_| format!("expected a port number, got '{s}'"))
        }
        _ => Err(format!("expected a port number, got '{s}'")),
    }
}

/// `customflag_x`: an IMAP keyword that can stand in a flag list as
/// written, an atom (RFC 3501 `flag-keyword`): no space, parenthesis,
/// brace, quote, backslash, `%`, `*`, `]` or control character.
pub fn imap_keyword(s: &str) -> Result<String, String> {
    let s = s.trim();
    let atom = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
        });
    if atom {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "'{s}' is not an IMAP keyword (an atom without spaces, parentheses, quotes or backslashes)"
        ))
    }
}

/// `socktimeout`: whole seconds; 0 means no timeout.
pub fn seconds(s: &str) -> Result<Option<Duration>, String> {
    match integer(s) {
        Some(0) => Ok(None),
        Some(n) if n > 0 => Ok(Some(Duration::from_secs(n.unsigned_abs()))),
        _ => Err(format!(
            "expected a whole number of seconds (0 or more), got '{s}'"
        )),
    }
}

/// `autorefresh`: minutes, fractions allowed. Returns the (finite) number;
/// the caller decides what zero and negative values mean.
pub fn minutes(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && Duration::try_from_secs_f64(m.abs() * 60.0).is_ok() => Ok(m),
        _ => Err(format!("expected a number of minutes, got '{s}'")),
    }
}

/// `~` then `$VAR` / `${VAR}` expansion, as OfflineIMAP applies
/// `expanduser` then `expandvars` to paths. `~user` and unknown variables
/// are left as written (as Python does when it cannot resolve them).
pub fn path(s: &str, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    PathBuf::from(expand_vars(&expand_tilde(s, env), env))
}

fn expand_tilde(s: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let rest = match s.strip_prefix('~') {
        Some(r) if r.is_empty() || r.starts_with('/') => r,
        _ => return s.to_owned(),
    };
    match env("HOME") {
        // A trailing slash on HOME would double up with the one in `rest`.
        Some(home) if !home.is_empty() => {
            let home = if home.len() > 1 {
                home.trim_end_matches('/')
            } else {
                &home
            };
            if home == "/" && !rest.is_empty() {
                rest.to_owned()
            } else {
                format!("{home}{rest}")
            }
        }
        _ => s.to_owned(),
    }
}

fn expand_vars(s: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('$') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match (name.is_empty(), env(name)) {
            (false, Some(v)) => out.push_str(&v),
            _ => out.push_str(&rest[p..p + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // Tests may unwrap (house rules).
mod tests {
    use super::*;

    #[test]
    fn the_list_is_split_on_commas_and_trimmed() {
        assert_eq!(
            comma_list(" X-Spam-Status ,X-Keywords,, "),
            vec!["X-Spam-Status".to_owned(), "X-Keywords".to_owned()]
        );
        assert!(comma_list("").is_empty());
        assert!(comma_list(" , ").is_empty());
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/u".into()),
            "MAIL" => Some("/var/mail".into()),
            _ => None,
        }
    }

    #[test]
    fn booleans() {
        for t in ["yes", "YES", "true", "On", "1", " yes "] {
            assert_eq!(boolean(t), Ok(true), "{t}");
        }
        for f in ["no", "False", "OFF", "0"] {
            assert_eq!(boolean(f), Ok(false), "{f}");
        }
        assert_eq!(boolean("maybe"), Err("expected yes/no, got 'maybe'".into()));
        assert!(boolean("").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(integer(" +12 "), Some(12));
        assert_eq!(integer("-3"), Some(-3));
        assert_eq!(integer("+-3"), None);
        assert_eq!(integer("1.5"), None);
        assert_eq!(positive("2"), Ok(2));
        assert!(positive("0").is_err());
        assert_eq!(port("993"), Ok(993));
        assert_eq!(port("abc"), Err("expected a port number, got 'abc'".into()));
        assert!(port("0").is_err());
        assert!(port("65536").is_err());
        assert_eq!(imap_keyword(" $Label1 "), Ok("$Label1".to_owned()));
        assert!(imap_keyword("Work-Item").is_ok());
        for bad in ["", "a b", "\\Seen", "(x", "x]", "é"] {
            assert!(imap_keyword(bad).is_err(), "{bad}");
        }
        assert_eq!(seconds("0"), Ok(None));
        assert_eq!(seconds("30"), Ok(Some(Duration::from_secs(30))));
        assert!(seconds("-1").is_err());
        assert_eq!(minutes("2.5"), Ok(2.5));
        assert_eq!(minutes("-1"), Ok(-1.0));
        assert!(minutes("nan").is_err());
        assert!(minutes("inf").is_err());
        assert!(minutes("1e300").is_err());
        assert!(minutes("soon").is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(path("~/Mail", &env), PathBuf::from("/home/u/Mail"));
        assert_eq!(path("~", &env), PathBuf::from("/home/u"));
        assert_eq!(path("~other/x", &env), PathBuf::from("~other/x"));
        assert_eq!(path("$MAIL/x", &env), PathBuf::from("/var/mail/x"));
        assert_eq!(path("${MAIL}x", &env), PathBuf::from("/var/mailx"));
        assert_eq!(path("$NOPE/x$", &env), PathBuf::from("$NOPE/x$"));
        assert_eq!(path("${MAIL", &env), PathBuf::from("${MAIL"));
        assert_eq!(path("~/$MAIL", &env), PathBuf::from("/home/u//var/mail"));
        let no_home = |_: &str| None;
        assert_eq!(path("~/Mail", &no_home), PathBuf::from("~/Mail"));
        let slash_home = |n: &str| (n == "HOME").then(|| "/".to_owned());
        assert_eq!(path("~/Mail", &slash_home), PathBuf::from("/Mail"));
    }
}
