//! Maildir file names as OfflineIMAP writes and reads them: parsing
//! (`,U=`, `,FMD5=`, flags after `:2,` or `!2,`), building fresh unique
//! names, and rewriting the flags or UID of an existing name; also the
//! time a message's `Date:` (or `Delivery-date:`) header gives, which
//! `utime_from_header` and `filename_use_mail_timestamp` use.
//!
//! Pure string functions, apart from the clock, pid and host name that a
//! fresh name needs (`new_name`). Nothing here touches the disk.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};

use crate::sync::model::{Flags, Uid};

/// The info separator OfflineIMAP writes by default (`maildir-windows-compatible = no`).
pub const INFO_SEP: char = ':';
/// The info separator used with `maildir-windows-compatible = yes`, since
/// `:` is not allowed in Windows file names.
pub const WINDOWS_INFO_SEP: char = '!';

/// The separator to write for a folder.
pub fn info_sep(windows_compatible: bool) -> char {
    if windows_compatible {
        WINDOWS_INFO_SEP
    } else {
        INFO_SEP
    }
}

/// Lowercase hex MD5 of a folder's visible (nametrans'd) name, as
/// OfflineIMAP stores it in `,FMD5=` to tell its own files from files a
/// mail client moved in from another folder.
pub fn fmd5(visible_folder_name: &str) -> String {
    let digest = Md5::digest(visible_folder_name.as_bytes());
    let mut s = String::with_capacity(32);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The parts of a Maildir file name that matter to a sync. Borrowed from
/// the name, so parsing a large folder allocates nothing per file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedName<'a> {
    /// Everything before the info separator: the unique part plus any
    /// `,X=` fields (ours or Dovecot's `,S=`/`,W=`). Kept verbatim when
    /// flags change.
    pub base: &'a str,
    /// The `,U=` value, if the name has one that is a valid non-zero UID.
    /// Whether it can be trusted depends on [`ParsedName::fmd5`].
    pub uid: Option<Uid>,
    /// The `,FMD5=` value, if any.
    pub fmd5: Option<&'a str>,
    /// The flags after `2,` (empty when the name has no `2,` info).
    pub flags: Flags,
}

impl ParsedName<'_> {
    /// The UID, but only when the name's FMD5 is this folder's: a file
    /// copied in from another folder carries that folder's UID, which means
    /// nothing here (OfflineIMAP treats it as a new message).
    pub fn trusted_uid(&self, folder_md5: &str) -> Option<Uid> {
        match self.fmd5 {
            Some(m) if m == folder_md5 => self.uid,
            _ => None,
        }
    }
}

/// Split a name at its info separator. Both `:` and `!` are accepted when
/// reading, whatever the folder's setting, so a Maildir can switch
/// `maildir-windows-compatible` without losing its flags. `:` never occurs
/// in a unique name (the Maildir spec escapes it), so its last occurrence
/// starts the info; `!` only counts when followed by `2,`, because some
/// clients do put `!` in unique names.
fn split_info(name: &str) -> (&str, Option<&str>) {
    if let Some(i) = name.rfind(INFO_SEP) {
        return (&name[..i], Some(&name[i + 1..]));
    }
    if let Some(i) = name.rfind("!2,") {
        return (&name[..i], Some(&name[i + 1..]));
    }
    (name, None)
}

/// Parse a file name (no directory part).
///
/// Never fails: a name we do not understand is a message without a UID
/// and without flags, which the sync uploads as new.
pub fn parse(name: &str) -> ParsedName<'_> {
    let (base, info) = split_info(name);
    let flags = match info.and_then(|i| i.strip_prefix("2,")) {
        // OfflineIMAP reads `\w*` after `2,`; non-letters in that run are
        // not flags and Flags ignores them.
        Some(f) => {
            let end = f
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(f.len());
            Flags::from_letters(&f[..end])
        }
        None => Flags::EMPTY,
    };
    let mut uid_field = None;
    let mut fmd5 = None;
    // The unique part comes first and may itself contain `=`; only the
    // comma-separated fields after it are `KEY=value`. The first of each
    // field counts, as OfflineIMAP's regex search finds the first.
    for field in base.split(',').skip(1) {
        if let Some(v) = field.strip_prefix("U=") {
            uid_field.get_or_insert(v);
        } else if let Some(v) = field.strip_prefix("FMD5=") {
            fmd5.get_or_insert(v);
        }
    }
    // UID 0 is not a valid IMAP UID; such a file is new.
    let uid = uid_field
        .and_then(|v| v.parse::<Uid>().ok())
        .filter(|u| *u != 0);
    ParsedName {
        base,
        uid,
        fmd5,
        flags,
    }
}

/// The time-and-sequence part of a fresh name: OfflineIMAP numbers the
/// files it creates within one second 0, 1, 2, … per process.
fn time_seq() -> (u64, u64) {
    static LAST: Mutex<(u64, u64)> = Mutex::new((0, 0));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // A poisoned lock only means another thread panicked mid-update of two
    // integers; the values are still usable.
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    // A clock that steps back keeps the old second, so names stay unique.
    if now > last.0 {
        *last = (now, 0);
    } else {
        last.1 += 1;
    }
    *last
}

/// This host's name with the characters that would break the name grammar
/// replaced (`/` by `-` as OfflineIMAP does; also `:`, `!` and `,`, which
/// OfflineIMAP leaves alone but which would confuse a parser).
fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let h = gethostname::gethostname().to_string_lossy().into_owned();
        let h: String = h
            .chars()
            .map(|c| match c {
                '/' | ':' | '!' | ',' => '-',
                c => c,
            })
            .collect();
        if h.is_empty() { "localhost".into() } else { h }
    })
}

/// A fresh unique name
/// `<secs>_<seq>.<pid>.<host>,U=<uid>,FMD5=<md5>:2,<flags>`, `secs` being
/// now. With `uid = None` the `,U=` and `,FMD5=` fields are left out, so
/// the file is a new message to the next scan.
pub fn new_name(
    uid: Option<Uid>,
    folder_md5: &str,
    flags: Flags,
    windows_compatible: bool,
) -> String {
    new_name_at(None, uid, folder_md5, flags, windows_compatible)
}

/// [`new_name`] whose time part is `time` (seconds since the epoch, e.g.
/// the message's `Date:` with `filename_use_mail_timestamp`) instead of
/// now. A time before 1970 is not used: a name must start with digits for
/// `maxage` and mail clients to read its time, so such a name gets now.
pub fn new_name_at(
    time: Option<i64>,
    uid: Option<Uid>,
    folder_md5: &str,
    flags: Flags,
    windows_compatible: bool,
) -> String {
    let (secs, seq) = match time.and_then(|t| u64::try_from(t).ok()) {
        Some(t) => dated_seq(t),
        None => time_seq(),
    };
    let mut name = format!("{secs}_{seq}.{}.{}", std::process::id(), hostname());
    if let Some(uid) = uid {
        let _ = write!(name, ",U={uid},FMD5={folder_md5}");
    }
    let _ = write!(name, "{}2,{flags}", info_sep(windows_compatible));
    name.replace('/', "-")
}

/// The sequence number for a name carrying a message's own time: counted
/// per second, as OfflineIMAP does, since messages of one second may
/// arrive far apart among others. Kept apart from the clock's counter so
/// that neither disturbs the other's uniqueness.
fn dated_seq(secs: u64) -> (u64, u64) {
    static SEEN: Mutex<Option<HashMap<u64, u64>>> = Mutex::new(None);
    // A poisoned lock only means another thread panicked mid-update of a
    // counter; the map is still usable.
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let next = seen
        .get_or_insert_with(HashMap::new)
        .entry(secs)
        .or_insert(0);
    let seq = *next;
    *next += 1;
    (secs, seq)
}

/// The first `header:` field (name case-insensitive) of a message in wire
/// or file form, unfolded. Only the header part is read: it ends at the
/// first empty line. Bytes that are not UTF-8 are replaced, which cannot
/// matter to a date.
pub fn header_value(message: &[u8], header: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in message.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let folded = matches!(line.first(), Some(b' ' | b'\t'));
        if let Some(v) = value.as_mut() {
            if folded {
                v.push(' ');
                v.push_str(String::from_utf8_lossy(line).trim());
                continue;
            }
            break;
        }
        if folded {
            continue;
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let name = &line[..colon];
        // RFC 5322 allows no space before the colon, but old mailers wrote
        // one, and Python's parser accepts it too.
        let name = name.strip_suffix(b" ").unwrap_or(name);
        if name.eq_ignore_ascii_case(header.as_bytes()) {
            value = Some(
                String::from_utf8_lossy(&line[colon + 1..])
                    .trim()
                    .to_owned(),
            );
        }
    }
    value
}

/// The time (seconds since the epoch) in the message's `header` field
/// (`Date` or `Delivery-date`), or `None` when it is missing or no date.
pub fn header_date(message: &[u8], header: &str) -> Option<i64> {
    parse_date(&header_value(message, header)?)
}

/// An RFC 2822 date (`Tue, 1 Jul 2003 10:52:37 +0200`), strictly first
/// and then as leniently as Python's `email.utils.parsedate_tz`, which
/// OfflineIMAP uses: any or a wrong day of the week, month before day,
/// two- and three-digit years (RFC 2822's obsolete rule: below 50 is
/// 20xx, else 19xx), no seconds, comments, zone names (`GMT`, `EST`, …).
/// A missing or unknown zone means local time, as in Python. Returns
/// seconds since the epoch; never panics.
pub fn parse_date(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc2822(value) {
        return Some(t.timestamp());
    }
    lenient_date(value)
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Offset in seconds east of UTC for a zone name RFC 822 or common mail
/// software writes.
fn zone_name(name: &str) -> Option<i32> {
    let hours = match name.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" => 0,
        "EDT" => -4,
        "EST" | "CDT" => -5,
        "CST" | "MDT" => -6,
        "MST" | "PDT" => -7,
        "PST" => -8,
        _ => return None,
    };
    Some(hours * 3600)
}

/// `+hhmm`, `-hhmm` or `+hh:mm`.
fn zone_number(tok: &str) -> Option<i32> {
    let (sign, rest) = match tok.as_bytes().first()? {
        b'+' => (1, &tok[1..]),
        b'-' => (-1, &tok[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hh: i32 = digits[..2].parse().ok()?;
    let mm: i32 = digits[2..].parse().ok()?;
    (hh < 24 && mm < 60).then_some(sign * (hh * 3600 + mm * 60))
}

fn lenient_date(value: &str) -> Option<i64> {
    use chrono::{FixedOffset, Local, NaiveDate, NaiveTime, TimeZone};

    // Comments may hold anything, zone names included ("(CEST)"): drop
    // them, nested ones too.
    let mut text = String::with_capacity(value.len());
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => text.push(if c == ',' { ' ' } else { c }),
            _ => {}
        }
    }
    let (mut day, mut month, mut year) = (None, None, None);
    let mut time = None;
    let mut zone: Option<i32> = None;
    for tok in text.split_whitespace() {
        let lower = tok.to_ascii_lowercase();
        if tok.contains(':') && tok.starts_with(|c: char| c.is_ascii_digit()) {
            let parts: Vec<&str> = tok.split(':').collect();
            let num = |i: usize| -> Option<u32> { parts.get(i)?.parse().ok() };
            let (h, m, s) = match parts.len() {
                2 => (num(0)?, num(1)?, 0),
                3 => (num(0)?, num(1)?, num(2)?),
                _ => return None,
            };
            // A leap second is kept as the second before it.
            time = Some(NaiveTime::from_hms_opt(h, m, s.min(59))?);
        } else if let Some(z) = zone_number(tok) {
            zone = Some(z);
        } else if tok.bytes().all(|b| b.is_ascii_digit()) {
            let n: i32 = tok.parse().ok()?;
            if day.is_none() && tok.len() <= 2 {
                day = Some(u32::try_from(n).ok()?);
            } else if year.is_none() {
                year = Some(match tok.len() {
                    1 | 2 if n < 50 => n + 2000,
                    1..=3 => n + 1900,
                    _ => n,
                });
            } else {
                return None;
            }
        } else if let Some(m) = MONTHS
            .iter()
            .position(|m| lower.len() >= 3 && lower.starts_with(m))
        {
            month = Some(u32::try_from(m).ok()? + 1);
        } else if WEEKDAYS
            .iter()
            .any(|d| lower.len() >= 3 && lower.starts_with(d))
        {
            // Python ignores the day of the week; a wrong one is common.
        } else if let Some(z) = zone_name(tok) {
            zone = Some(z);
        } else if tok.bytes().all(|b| b.is_ascii_alphabetic()) {
            // An unknown zone name (CEST, …): local time, as in Python.
        } else {
            return None;
        }
    }
    let date = NaiveDate::from_ymd_opt(year?, month?, day?)?;
    let at = date.and_time(time?);
    let stamp = match zone {
        Some(z) => FixedOffset::east_opt(z)?
            .from_local_datetime(&at)
            .single()?
            .timestamp(),
        None => Local.from_local_datetime(&at).earliest()?.timestamp(),
    };
    Some(stamp)
}

/// `name` with its flags replaced: everything before the info separator is
/// kept, the info becomes `2,<sorted flags>` behind this folder's separator.
pub fn with_flags(name: &str, flags: Flags, windows_compatible: bool) -> String {
    let (base, _) = split_info(name);
    format!("{base}{}2,{flags}", info_sep(windows_compatible))
}

/// `name` carrying `,U=<uid>,FMD5=<md5>`: any old `U=`/`FMD5=` fields are
/// dropped and the new ones appended to the base, the unique part and other
/// fields (e.g. Dovecot's `,S=`) are kept, and so are the flags.
///
/// OfflineIMAP instead generates a whole fresh name here; keeping the
/// unique part preserves the file's timestamp prefix (used by `maxage`)
/// and is just as unique within the folder.
pub fn with_uid(name: &str, uid: Uid, folder_md5: &str, windows_compatible: bool) -> String {
    let parsed = parse(name);
    let mut fields = parsed.base.split(',');
    let mut base = fields.next().unwrap_or("").to_owned();
    for f in fields {
        if !(f.starts_with("U=") || f.starts_with("FMD5=")) {
            base.push(',');
            base.push_str(f);
        }
    }
    let _ = write!(
        base,
        ",U={uid},FMD5={folder_md5}{}2,{}",
        info_sep(windows_compatible),
        parsed.flags
    );
    base
}

/// `\n` not preceded by `\r` becomes `\r\n`: a Maildir file (LF) to IMAP's
/// wire form. Existing CRLF pairs are left alone, so CRLF files pass
/// through unchanged.
pub fn lf_to_crlf(bytes: &[u8]) -> Vec<u8> {
    // memchr finds line ends many bytes at a time; messages are copied
    // between them in whole runs.
    let extra = memchr::memchr_iter(b'\n', bytes).count();
    let mut out = Vec::with_capacity(bytes.len() + extra);
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', bytes) {
        if i == 0 || bytes[i - 1] != b'\r' {
            out.extend_from_slice(&bytes[start..i]);
            out.push(b'\r');
            start = i;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out
}

/// `\r\n` becomes `\n`; a lone `\r` or `\n` is left alone. The inverse of
/// [`lf_to_crlf`] for every input without a bare LF and without a CR
/// directly before a CRLF (see docs/formats.md).
pub fn crlf_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    crlf_to_lf_into(bytes, &mut out);
    out
}

/// [`crlf_to_lf`] into `out` (cleared first), so that a caller writing
/// many messages reuses one buffer instead of faulting in a fresh one
/// per message.
pub fn crlf_to_lf_into(bytes: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(bytes.len());
    let mut start = 0;
    for i in memchr::memchr_iter(b'\r', bytes) {
        if bytes.get(i + 1) == Some(&b'\n') {
            out.extend_from_slice(&bytes[start..i]);
            // The LF after it starts the next run.
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests;
