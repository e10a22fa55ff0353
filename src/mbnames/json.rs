//! The intermediate files' JSON, byte for byte as Python's `json.dump`
//! writes it (`", "` and `": "` separators, non-ASCII as `\uXXXX`), and a
//! reader for it (pyeval's JSON decoder) that refuses anything but a list
//! of such entries.

use super::Item;
use crate::pyeval::json::Json;

/// `[{"accountname": ..., "foldername": ..., "localfolders": ...}, ...]`.
pub fn encode_items(items: &[Item]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str("{\"accountname\": ");
        encode_str(&item.accountname, &mut out);
        out.push_str(", \"foldername\": ");
        encode_str(&item.foldername, &mut out);
        out.push_str(", \"localfolders\": ");
        encode_str(&item.localfolders, &mut out);
        out.push('}');
    }
    out.push(']');
    out
}

fn encode_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Reads a list of items. Entries lacking one of the three keys (or with
/// a non-string value) are refused, as they could not be formatted.
pub fn decode_items(text: &str) -> Result<Vec<Item>, String> {
    let Json::List(entries) = crate::pyeval::json::decode(text)? else {
        return Err("not a list".to_owned());
    };
    entries
        .into_iter()
        .map(|e| {
            let Json::Object(mut fields) = e else {
                return Err("an entry is not an object".to_owned());
            };
            let mut get = |key: &str| match fields.remove(key) {
                Some(Json::Str(s)) => Ok(s),
                _ => Err(format!("an entry has no string '{key}'")),
            };
            Ok(Item {
                accountname: get("accountname")?,
                foldername: get("foldername")?,
                localfolders: get("localfolders")?,
            })
        })
        .collect()
}
