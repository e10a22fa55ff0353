//! Tests for the parent module; unwrap is fine here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::*;

const INBOX_MD5: &str = "7e33429f656f1e6e9d79b29c3f82c57e";

#[test]
fn fmd5_matches_python_hashlib() {
    assert_eq!(fmd5("INBOX"), INBOX_MD5);
    assert_eq!(fmd5("Lists.foo"), "e14c1987ac1ea8de061348265180f4a3");
    // UTF-8 bytes of the visible name, as OfflineIMAP encodes it.
    assert_eq!(fmd5("Entwürfe"), "6935862f74f620598b6b2549c202aafa");
}

#[test]
fn parses_offlineimap_name() {
    let n = format!("1700000000_3.4242.myhost,U=17,FMD5={INBOX_MD5}:2,FS");
    let p = parse(&n);
    assert_eq!(
        p.base,
        format!("1700000000_3.4242.myhost,U=17,FMD5={INBOX_MD5}")
    );
    assert_eq!(p.uid, Some(17));
    assert_eq!(p.fmd5, Some(INBOX_MD5));
    assert_eq!(p.flags.to_string(), "FS");
    assert_eq!(p.trusted_uid(INBOX_MD5), Some(17));
}

#[test]
fn uid_untrusted_when_fmd5_is_another_folders() {
    let n = "1700000000_3.4242.myhost,U=17,FMD5=00000000000000000000000000000000:2,S";
    let p = parse(n);
    assert_eq!(p.uid, Some(17));
    assert_eq!(p.trusted_uid(INBOX_MD5), None);
    // No FMD5 at all: also new.
    assert_eq!(
        parse("1700000000_3.4242.myhost,U=17:2,S").trusted_uid(INBOX_MD5),
        None
    );
}

#[test]
fn windows_separator_is_read_whatever_the_setting() {
    let n = format!("1700000000_0.1.h,U=5,FMD5={INBOX_MD5}!2,RS");
    let p = parse(&n);
    assert_eq!(p.trusted_uid(INBOX_MD5), Some(5));
    assert_eq!(p.flags.to_string(), "RS");
    assert_eq!(p.base, format!("1700000000_0.1.h,U=5,FMD5={INBOX_MD5}"));
}

#[test]
fn foreign_names_keep_their_parts() {
    let p = parse("1700000000.M1P2Q3.host:2,S");
    assert_eq!(p.base, "1700000000.M1P2Q3.host");
    assert_eq!(p.uid, None);
    assert_eq!(p.flags.to_string(), "S");

    let p = parse("1700000000.M1P2Q3.host");
    assert_eq!(p.base, "1700000000.M1P2Q3.host");
    assert!(p.flags.is_empty());

    // Dovecot's size fields.
    let p = parse("1700000000.M1P2Q3.host,S=1234,W=1300:2,RS");
    assert_eq!(p.base, "1700000000.M1P2Q3.host,S=1234,W=1300");
    assert_eq!(p.flags.to_string(), "RS");
    assert_eq!(
        with_flags(
            "1700000000.M1P2Q3.host,S=1234,W=1300:2,RS",
            Flags::from_letters("FRS"),
            false
        ),
        "1700000000.M1P2Q3.host,S=1234,W=1300:2,FRS"
    );

    // Experimental `1,` info: no flags.
    let p = parse("1700000000.x.host:1,foo");
    assert!(p.flags.is_empty());
    assert_eq!(p.base, "1700000000.x.host");

    // An exclamation mark that is not `!2,` is part of the unique name.
    let p = parse("17.wow!.host");
    assert_eq!(p.base, "17.wow!.host");
}

#[test]
fn zero_or_garbage_uid_is_new() {
    assert_eq!(
        parse(&format!("1_0.1.h,U=0,FMD5={INBOX_MD5}:2,")).trusted_uid(INBOX_MD5),
        None
    );
    assert_eq!(
        parse(&format!("1_0.1.h,U=x1,FMD5={INBOX_MD5}:2,")).trusted_uid(INBOX_MD5),
        None
    );
    assert_eq!(
        parse(&format!("1_0.1.h,U=99999999999,FMD5={INBOX_MD5}:2,")).trusted_uid(INBOX_MD5),
        None
    );
}

#[test]
fn flags_stop_at_non_word_characters() {
    let p = parse("1.x.h:2,S,junk-T");
    assert_eq!(p.flags.to_string(), "S");
}

#[test]
fn new_name_has_offlineimap_shape() {
    let n = new_name(Some(42), INBOX_MD5, Flags::from_letters("SF"), false);
    let p = parse(&n);
    assert_eq!(p.trusted_uid(INBOX_MD5), Some(42));
    assert_eq!(p.flags.to_string(), "FS");
    assert!(n.ends_with(&format!(",U=42,FMD5={INBOX_MD5}:2,FS")), "{n}");
    let (prefix, _) = n.split_once(',').unwrap();
    let mut parts = prefix.splitn(3, '.');
    let timeseq = parts.next().unwrap();
    let (secs, seq) = timeseq.split_once('_').unwrap();
    assert!(secs.parse::<u64>().unwrap() > 1_600_000_000);
    seq.parse::<u64>().unwrap();
    assert_eq!(parts.next().unwrap(), std::process::id().to_string());
    assert!(!parts.next().unwrap().is_empty());
    assert!(!n.contains('/'));

    let w = new_name(Some(1), INBOX_MD5, Flags::EMPTY, true);
    assert!(w.ends_with("!2,"), "{w}");
    assert!(!w.contains(':'));

    let anon = new_name(None, INBOX_MD5, Flags::from_letters("S"), false);
    assert!(!anon.contains(",U=") && !anon.contains("FMD5"), "{anon}");
    assert!(anon.ends_with(":2,S"));
}

#[test]
fn new_names_are_unique_within_a_second() {
    let names: std::collections::BTreeSet<String> = (0..500)
        .map(|_| new_name(Some(1), INBOX_MD5, Flags::EMPTY, false))
        .collect();
    assert_eq!(names.len(), 500);
}

#[test]
fn with_flags_rewrites_only_the_info() {
    let n = format!("1_0.1.h,U=5,FMD5={INBOX_MD5}:2,S");
    assert_eq!(
        with_flags(&n, Flags::from_letters("TSa"), false),
        format!("1_0.1.h,U=5,FMD5={INBOX_MD5}:2,STa")
    );
    assert_eq!(
        with_flags(&n, Flags::EMPTY, true),
        format!("1_0.1.h,U=5,FMD5={INBOX_MD5}!2,")
    );
    assert_eq!(
        with_flags("plain", Flags::from_letters("S"), false),
        "plain:2,S"
    );
}

#[test]
fn with_uid_replaces_uid_and_fmd5_keeping_the_rest() {
    let n = "1700000000.M1P2Q3.host,S=1234,U=9,FMD5=00000000000000000000000000000000:2,RS";
    let r = with_uid(n, 77, INBOX_MD5, false);
    assert_eq!(
        r,
        format!("1700000000.M1P2Q3.host,S=1234,U=77,FMD5={INBOX_MD5}:2,RS")
    );
    assert_eq!(parse(&r).trusted_uid(INBOX_MD5), Some(77));
    let r = with_uid("1700000000.M1P2Q3.host", 3, INBOX_MD5, true);
    assert_eq!(r, format!("1700000000.M1P2Q3.host,U=3,FMD5={INBOX_MD5}!2,"));
}

#[test]
fn line_end_conversion() {
    assert_eq!(lf_to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    assert_eq!(crlf_to_lf(b"a\r\nb\rc\n"), b"a\nb\rc\n");
    // The documented loss: a CR right before CRLF.
    assert_eq!(lf_to_crlf(&crlf_to_lf(b"x\r\r\n")), b"x\r\n");
    assert_eq!(lf_to_crlf(b""), b"");
    assert_eq!(crlf_to_lf(b"\r"), b"\r");
}

proptest! {
    #[test]
    fn parse_never_panics(s in "\\PC*") {
        let _ = parse(&s);
        let _ = with_flags(&s, Flags::from_letters("S"), false);
        let _ = with_uid(&s, 1, INBOX_MD5, true);
    }

    /// IMAP bytes without bare LF and without CR before CRLF round-trip
    /// through a Maildir file unchanged.
    #[test]
    fn crlf_round_trips(parts in proptest::collection::vec("[a-z\r ]{0,8}", 0..20)) {
        let mut wire = Vec::new();
        for p in &parts {
            let p = p.trim_end_matches('\r');
            wire.extend_from_slice(p.as_bytes());
            wire.extend_from_slice(b"\r\n");
        }
        prop_assert_eq!(lf_to_crlf(&crlf_to_lf(&wire)), wire);
    }
}

/// Seconds since the epoch of a local wall-clock time, for dates without
/// a zone (Python reads those as local time).
fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    use chrono::TimeZone;
    chrono::Local
        .with_ymd_and_hms(y, mo, d, h, mi, s)
        .earliest()
        .unwrap()
        .timestamp()
}

#[test]
fn parse_date_reads_rfc2822_and_its_zones() {
    // 2003-07-01 08:52:37 UTC.
    let t = 1_057_049_557;
    assert_eq!(parse_date("Tue, 1 Jul 2003 10:52:37 +0200"), Some(t));
    assert_eq!(parse_date("1 Jul 2003 08:52:37 +0000"), Some(t));
    assert_eq!(parse_date("Tue, 01 Jul 2003 04:52:37 -0400"), Some(t));
    assert_eq!(parse_date("Tue, 1 Jul 2003 08:52:37 GMT"), Some(t));
    assert_eq!(parse_date("Tue, 1 Jul 2003 08:52:37 UT"), Some(t));
    assert_eq!(parse_date("Tue, 1 Jul 2003 04:52:37 EDT"), Some(t));
    assert_eq!(parse_date("Tue, 1 Jul 2003 00:52:37 PST"), Some(t));
    assert_eq!(parse_date("Tue, 1 Jul 2003 03:52:37 EST"), Some(t));
    assert_eq!(
        parse_date("  Tue, 1 Jul 2003 10:52:37 +0200 (CEST)  "),
        Some(t)
    );
    // Half-hour zones.
    assert_eq!(parse_date("Tue, 1 Jul 2003 14:22:37 +0530"), Some(t));
    // No seconds.
    assert_eq!(parse_date("Tue, 1 Jul 2003 10:52 +0200"), Some(t - 37));
}

#[test]
fn parse_date_is_as_lenient_as_python() {
    let t = 1_057_049_557;
    // A wrong day of the week is ignored, as Python does.
    assert_eq!(parse_date("Fri, 1 Jul 2003 10:52:37 +0200"), Some(t));
    // No comma after it, or a full name.
    assert_eq!(parse_date("Tue 1 Jul 2003 10:52:37 +0200"), Some(t));
    assert_eq!(parse_date("Tuesday, 1 July 2003 10:52:37 +0200"), Some(t));
    // Month first, and a zone with a colon.
    assert_eq!(parse_date("Jul 1 2003 10:52:37 +02:00"), Some(t));
    // Lowercase and the zone name inside a comment.
    assert_eq!(parse_date("tue, 1 jul 2003 08:52:37 (UTC) gmt"), Some(t));
    // Two-digit years: below 50 is 20xx, from 50 on 19xx (RFC 2822).
    assert_eq!(parse_date("Tue, 1 Jul 03 10:52:37 +0200"), Some(t));
    assert_eq!(
        parse_date("Thu, 1 Jan 70 00:00:00 +0000"),
        Some(0),
        "70 is 1970"
    );
    assert_eq!(
        parse_date("Sat, 1 Jan 49 00:00:00 +0000"),
        Some(2_493_072_000)
    );
    // Three-digit years are 1900 + n.
    assert_eq!(parse_date("1 Jan 100 00:00:00 +0000"), Some(946_684_800));
    // A leap second counts as the second before it.
    assert_eq!(
        parse_date("Wed, 31 Dec 2008 23:59:60 +0000"),
        parse_date("Wed, 31 Dec 2008 23:59:59 +0000")
    );
    // asctime form (some old mailers): local time, no zone.
    assert_eq!(
        parse_date("Tue Jul  1 10:52:37 2003"),
        Some(local(2003, 7, 1, 10, 52, 37))
    );
    // No zone, or one nobody defined: local time, as in Python.
    assert_eq!(
        parse_date("1 Jul 2003 10:52:37"),
        Some(local(2003, 7, 1, 10, 52, 37))
    );
    assert_eq!(
        parse_date("1 Jul 2003 10:52:37 CEST"),
        Some(local(2003, 7, 1, 10, 52, 37))
    );
}

#[test]
fn parse_date_refuses_what_is_no_date() {
    for bad in [
        "",
        "   ",
        "yesterday",
        "Tue, 1 Jul 2003",
        "Tue, 32 Jul 2003 10:52:37 +0200",
        "Tue, 1 Foo 2003 10:52:37 +0200",
        "Tue, 1 Jul 2003 25:52:37 +0200",
        "Tue, 1 Jul 2003 10:61:37 +0200",
        "Tue, 1 Jul 2003 10:52:37:11 +0200",
        "Tue, 1 Jul 2003 10:52:37 +99999",
        "1 Jul 2003 2004 10:52:37",
        "31 Feb 2003 10:52:37 +0000",
        "1 Jul 99999999999999999999 10:52:37 +0000",
        "1 Jul 2003 99999999999:52:37 +0000",
        "1 Jul 2003 -5:52:37 +0000",
        "\u{0}\u{fffd}",
        "((((",
        "1 Jul 2003 10:52:37 +0000 ))) 1 1 1",
    ] {
        assert_eq!(parse_date(bad), None, "{bad:?}");
    }
}

#[test]
fn header_value_reads_only_the_header_and_unfolds() {
    let m = b"Received: from x\r\n\tby y; Mon, 1 Jan 2001 00:00:00 +0000\r\n\
              Subject: s\r\nDATE : Tue,\r\n 1 Jul 2003\r\n\t10:52:37 +0200\r\n\
              Date: Wed, 2 Jul 2003 10:52:37 +0200\r\n\r\nDelivery-date: Thu, 3 Jul 2003 10:52:37 +0200\r\n";
    // The first Date counts, folded lines joined, the name's case and a
    // space before the colon ignored.
    assert_eq!(
        header_value(m, "Date").as_deref(),
        Some("Tue, 1 Jul 2003 10:52:37 +0200")
    );
    assert_eq!(header_date(m, "date"), Some(1_057_049_557));
    // A header in the body is no header.
    assert_eq!(header_value(m, "Delivery-date"), None);
    // LF form, as on disk.
    let lf = b"Delivery-date: Tue, 1 Jul 2003 10:52:37 +0200\nSubject: x\n\nbody\n";
    assert_eq!(header_date(lf, "Delivery-date"), Some(1_057_049_557));
    assert_eq!(header_date(lf, "Date"), None);
    // Not a prefix match.
    assert_eq!(header_value(b"Dates: x\r\n\r\n", "Date"), None);
    // Garbage never panics.
    assert_eq!(
        header_date(b"\xff\xfe: \x00\r\n\tDate: x\r\n", "Date"),
        None
    );
    assert_eq!(header_date(b"Date: \xff\xfe\r\n\r\n", "Date"), None);
    assert_eq!(header_date(b"Date:", "Date"), None);
    assert_eq!(header_date(b"", "Date"), None);
}

/// The time part (before `_`) and sequence of a fresh name.
fn time_part(name: &str) -> (u64, u64) {
    let (secs, rest) = name.split_once('_').unwrap();
    let seq = rest.split('.').next().unwrap();
    (secs.parse().unwrap(), seq.parse().unwrap())
}

#[test]
fn new_name_at_uses_the_given_time_with_its_own_sequence() {
    let t = 1_057_049_557;
    let a = new_name_at(Some(t), Some(1), INBOX_MD5, Flags::EMPTY, false);
    let b = new_name_at(Some(t), Some(2), INBOX_MD5, Flags::EMPTY, false);
    let c = new_name_at(Some(t + 1), Some(3), INBOX_MD5, Flags::EMPTY, false);
    assert_eq!(time_part(&a).0, 1_057_049_557);
    let (sa, sb) = (time_part(&a).1, time_part(&b).1);
    assert_eq!(sb, sa + 1, "{a} {b}");
    assert_eq!(time_part(&c).0, 1_057_049_558);
    assert!(b.ends_with(&format!(",U=2,FMD5={INBOX_MD5}:2,")), "{b}");
    // Times before 1970, and none at all, give now.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for time in [Some(-5), None] {
        let n = new_name_at(time, Some(1), INBOX_MD5, Flags::EMPTY, false);
        assert!(time_part(&n).0.abs_diff(now) < 5, "{n}");
    }
    // A dated name repeated many times stays unique.
    let names: std::collections::BTreeSet<String> = (0..200)
        .map(|_| new_name_at(Some(7), Some(1), INBOX_MD5, Flags::EMPTY, false))
        .collect();
    assert_eq!(names.len(), 200);
}
