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
