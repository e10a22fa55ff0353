//! Modified UTF-7 (RFC 3501 §5.1.3), the encoding of IMAP mailbox names.
//!
//! Pure functions: printable ASCII stands for itself except `&`, which is
//! written `&-`; every other run of characters is UTF-16BE in a base64
//! variant (`,` instead of `/`, no padding) between `&` and `-`.

/// Why a wire name is not valid modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid modified UTF-7 in mailbox name {name:?}: {reason}")]
pub struct Utf7Error {
    pub name: String,
    pub reason: &'static str,
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn is_direct(c: char) -> bool {
    ('\x20'..='\x7e').contains(&c) && c != '&'
}

/// Encode a UTF-8 folder name for the wire.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if is_direct(c) {
            flush_encoded(&mut out, &mut pending);
            out.push(c);
        } else if c == '&' {
            flush_encoded(&mut out, &mut pending);
            out.push_str("&-");
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush_encoded(&mut out, &mut pending);
    out
}

fn flush_encoded(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let mut bits: u32 = 0;
    let mut nbits = 0;
    for u in units.drain(..) {
        bits = (bits << 16) | u32::from(u);
        nbits += 16;
        while nbits >= 6 {
            nbits -= 6;
            out.push(char::from(ALPHABET[((bits >> nbits) & 0x3f) as usize]));
        }
        bits &= (1 << nbits) - 1;
    }
    if nbits > 0 {
        out.push(char::from(
            ALPHABET[((bits << (6 - nbits)) & 0x3f) as usize],
        ));
    }
    out.push('-');
}

fn sextet(b: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == b).map(|p| p as u32)
}

/// Decode a wire name to UTF-8. Lenient only where harmless: an encoded
/// run that spells printable ASCII is accepted.
pub fn decode(wire: &str) -> Result<String, Utf7Error> {
    let err = |reason| Utf7Error {
        name: wire.to_string(),
        reason,
    };
    let bytes = wire.as_bytes();
    let mut out = String::with_capacity(wire.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(0x20..=0x7e).contains(&b) {
            return Err(err("byte outside printable ASCII"));
        }
        if b != b'&' {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let start = i + 1;
        let Some(len) = bytes[start..].iter().position(|&c| c == b'-') else {
            return Err(err("'&' without closing '-'"));
        };
        let run = &bytes[start..start + len];
        i = start + len + 1;
        if run.is_empty() {
            out.push('&');
            continue;
        }
        let mut units = Vec::with_capacity(run.len() * 6 / 16);
        let mut bits: u32 = 0;
        let mut nbits = 0;
        for &c in run {
            let v = sextet(c).ok_or_else(|| err("character outside the base64 alphabet"))?;
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 16 {
                nbits -= 16;
                units.push(((bits >> nbits) & 0xffff) as u16);
                bits &= (1 << nbits) - 1;
            }
        }
        if nbits >= 6 || bits != 0 {
            return Err(err("encoded run does not end on a UTF-16 boundary"));
        }
        for c in char::decode_utf16(units) {
            out.push(c.map_err(|_| err("unpaired UTF-16 surrogate"))?);
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_answers() {
        let cases = [
            ("INBOX", "INBOX"),
            ("Tom & Jerry", "Tom &- Jerry"),
            ("&", "&-"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("日本語", "&ZeVnLIqe-"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("Archive/2024", "Archive/2024"),
            ("😀", "&2D3eAA-"),
            ("a\u{7f}b", "a&AH8-b"),
            ("", ""),
        ];
        for (utf8, wire) in cases {
            assert_eq!(encode(utf8), wire, "encode {utf8:?}");
            assert_eq!(decode(wire).unwrap(), utf8, "decode {wire:?}");
        }
    }

    #[test]
    fn invalid_inputs_are_errors() {
        for bad in [
            "&ZeVnLIqe", // unterminated
            "&Ze*-",     // '*' not in alphabet
            "&ZeVn-",    // 24 bits: not a whole UTF-16 unit
            "&APx-",     // non-zero padding bits
            "&2D0-",     // lone high surrogate
            "Entwürfe",  // raw 8-bit
            "tab\there", // control character
        ] {
            assert!(decode(bad).is_err(), "{bad:?} should be rejected");
        }
        let e = decode("&ZeVn-").unwrap_err();
        assert!(e.to_string().contains("&ZeVn-"));
    }

    #[test]
    fn encoded_ascii_is_accepted() {
        assert_eq!(decode("&AGEAYg-").unwrap(), "ab");
    }

    proptest! {
        #[test]
        fn round_trip(s in any::<String>()) {
            let wire = encode(&s);
            prop_assert!(wire.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            prop_assert_eq!(decode(&wire).unwrap(), s);
        }

        #[test]
        fn decode_never_panics(s in "[ -~]{0,40}") {
            let _ = decode(&s);
        }
    }
}
