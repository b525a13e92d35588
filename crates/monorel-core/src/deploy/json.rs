//! Editing a JSON variables file in place.
//!
//! A `*.tfvars.json` file belongs to the team: it may hold numbers no `f64` or `u64`
//! holds (`12345678901234567890123`, `1e400`; Terraform's numbers are arbitrary
//! precision), keys in the order they chose, and their own indentation. Decoding it into
//! `serde_json::Value` and printing it again would change all three. So the file is only
//! *scanned*: a small validating scanner (RFC 8259) finds where each top-level member's
//! key and value are, and an edit splices text at those offsets. Every byte outside the
//! changed member stays as it was.

use std::ops::Range;

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 128;

/// One top-level `"key": value` member.
#[derive(Debug)]
pub(super) struct Member {
    /// The decoded key.
    pub key: String,
    /// The key's text, quotes included.
    key_span: Range<usize>,
    /// The value's text.
    pub value: Range<usize>,
    /// The whitespace before the key (after `{` or after the previous comma).
    lead: Range<usize>,
}

/// A top-level object: where its braces are and its members, in file order.
#[derive(Debug)]
pub(super) struct Object {
    open: usize,
    close: usize,
    pub members: Vec<Member>,
}

impl Object {
    /// Returns the member named `key`.
    pub fn get(&self, key: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.key == key)
    }
}

struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn error(&self, what: &str) -> String {
        let before = &self.text[..self.pos.min(self.text.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.len()
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        format!("{what} at line {line} column {column}")
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", byte as char)))
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'{') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.string()?;
                    self.skip_ws();
                    self.expect(b':')?;
                    self.skip_ws();
                    self.value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error("expected `,` or `}`")),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_ws();
                    self.value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.error("expected `,` or `]`")),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            _ => Err(self.error("expected a value")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        if self.text[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), String> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        Ok(())
    }

    fn string(&mut self) -> Result<(), String> {
        self.expect(b'"')?;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            let hex = self.text.get(self.pos + 1..self.pos + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.error("invalid `\\u` escape"));
                            }
                            self.pos += 5;
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                Some(0..=0x1f) => return Err(self.error("control character in a string")),
                Some(_) => self.pos += 1,
            }
        }
    }
}

/// Scans `text` (no byte-order mark) as a JSON document whose top level is an object.
pub(super) fn parse_object(text: &str) -> Result<Object, String> {
    let mut s = Scanner {
        text: text.as_bytes(),
        pos: 0,
    };
    s.skip_ws();
    if s.peek() != Some(b'{') {
        return Err(s.error("the top level must be an object of variables"));
    }
    let open = s.pos;
    s.pos += 1;
    let mut members: Vec<Member> = Vec::new();
    let mut lead_start = s.pos;
    s.skip_ws();
    let close = if s.peek() == Some(b'}') {
        s.pos
    } else {
        loop {
            s.skip_ws();
            let lead = lead_start..s.pos;
            let key_start = s.pos;
            s.string()?;
            let key_span = key_start..s.pos;
            let key: String = serde_json::from_str(&text[key_span.clone()])
                .map_err(|e| s.error(&format!("invalid key ({e})")))?;
            s.skip_ws();
            s.expect(b':')?;
            s.skip_ws();
            let value_start = s.pos;
            s.value(1)?;
            let value = value_start..s.pos;
            if members.iter().any(|m| m.key == key) {
                return Err(format!(
                    "variable `{}` is set twice",
                    crate::text::line(&key)
                ));
            }
            members.push(Member {
                key,
                key_span,
                value,
                lead,
            });
            s.skip_ws();
            match s.peek() {
                Some(b',') => {
                    s.pos += 1;
                    lead_start = s.pos;
                }
                Some(b'}') => break s.pos,
                _ => return Err(s.error("expected `,` or `}`")),
            }
        }
    };
    s.pos = close + 1;
    s.skip_ws();
    if s.pos != text.len() {
        return Err(s.error("unexpected text after the object"));
    }
    Ok(Object {
        open,
        close,
        members,
    })
}

/// Returns the string value of `key`, or `None` when it is missing or not a string.
pub(super) fn get_string(text: &str, key: &str) -> Result<Option<String>, String> {
    let object = parse_object(text)?;
    Ok(object
        .get(key)
        .filter(|m| text[m.value.clone()].starts_with('"'))
        .and_then(|m| serde_json::from_str(&text[m.value.clone()]).ok()))
}

/// Returns a new file for `pairs`: pretty-printed, keys sorted, with a trailing newline.
pub(super) fn new_file(pairs: &[(&str, &str)]) -> Result<String, String> {
    let map: std::collections::BTreeMap<&str, &str> = pairs.iter().copied().collect();
    let mut text = serde_json::to_string_pretty(&map).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

/// Returns `text` with `key` set to the string `value`, every other byte kept.
///
/// An existing member gets its value replaced where it stands. A new member is inserted
/// in key order when the keys are sorted, else at the end, laid out like its neighbour.
pub(super) fn set_string(text: &str, key: &str, value: &str) -> Result<String, String> {
    let object = parse_object(text)?;
    let encoded = serde_json::to_string(value).map_err(|e| e.to_string())?;
    if let Some(member) = object.get(key) {
        let current = &text[member.value.clone()];
        if serde_json::from_str::<String>(current).ok().as_deref() == Some(value) {
            return Ok(text.to_string());
        }
        return Ok(splice(text, member.value.clone(), &encoded));
    }
    let name = serde_json::to_string(key).map_err(|e| e.to_string())?;
    let members = &object.members;
    let Some(last) = members.last() else {
        // `{}`: the members go on their own lines, as in a new file.
        let inner = format!("\n  {name}: {encoded}\n");
        return Ok(splice(text, object.open + 1..object.close, &inner));
    };
    let sorted = members.windows(2).all(|w| w[0].key <= w[1].key);
    let index = if sorted {
        members.partition_point(|m| m.key.as_str() < key)
    } else {
        members.len()
    };
    Ok(match members.get(index) {
        Some(next) => {
            let sep = &text[next.key_span.end..next.value.start];
            let lead = &text[next.lead.clone()];
            let insert = format!("{name}{sep}{encoded},{lead}");
            splice(text, next.key_span.start..next.key_span.start, &insert)
        }
        None => {
            let sep = &text[last.key_span.end..last.value.start];
            let lead = &text[last.lead.clone()];
            let insert = format!(",{lead}{name}{sep}{encoded}");
            splice(text, last.value.end..last.value.end, &insert)
        }
    })
}

/// Returns `text` without the member `key` (unchanged when there is none).
pub(super) fn remove(text: &str, key: &str) -> Result<String, String> {
    let object = parse_object(text)?;
    let members = &object.members;
    let Some(index) = members.iter().position(|m| m.key == key) else {
        return Ok(text.to_string());
    };
    let range = if index > 0 {
        // From the end of the previous value: its comma, the lead, the member.
        members[index - 1].value.end..members[index].value.end
    } else if let Some(next) = members.get(1) {
        // The first of several: the member, its comma and the next one's lead.
        members[0].key_span.start..next.key_span.start
    } else {
        members[0].lead.start..members[0].value.end
    };
    Ok(splice(text, range, ""))
}

fn splice(text: &str, range: Range<usize>, with: &str) -> String {
    format!("{}{with}{}", &text[..range.start], &text[range.end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_no_float_can_hold_are_kept_byte_for_byte() {
        let old = "{\n    \"big\": 12345678901234567890123,\n    \"huge\": 1e400,\n    \"u128\": 340282366920938463463374607431768211455,\n    \"tag\": \"a-v1\",\n    \"nested\": {\"x\": [1.50, -0.0, true, null, \"\\u00e9\\n\"]}\n}\n";
        let new = set_string(old, "tag", "a-v2").expect("set");
        assert_eq!(new, old.replace("a-v1", "a-v2"));
        assert_eq!(
            get_string(&new, "tag").expect("get").as_deref(),
            Some("a-v2")
        );
        assert_eq!(get_string(&new, "big").expect("get"), None);
    }

    #[test]
    fn new_members_follow_the_layout_and_the_order() {
        // Sorted keys: inserted in order, laid out like the neighbour.
        let old = "{\n  \"a\": 1,\n  \"c\": 2\n}";
        assert_eq!(
            set_string(old, "b", "x").expect("set"),
            "{\n  \"a\": 1,\n  \"b\": \"x\",\n  \"c\": 2\n}"
        );
        assert_eq!(
            set_string(old, "0", "x").expect("set"),
            "{\n  \"0\": \"x\",\n  \"a\": 1,\n  \"c\": 2\n}"
        );
        assert_eq!(
            set_string(old, "z", "x").expect("set"),
            "{\n  \"a\": 1,\n  \"c\": 2,\n  \"z\": \"x\"\n}"
        );
        // Unsorted: at the end; compact stays compact.
        assert_eq!(
            set_string("{\"z\":1,\"a\":2}", "m", "x").expect("set"),
            "{\"z\":1,\"a\":2,\"m\":\"x\"}"
        );
        assert_eq!(
            set_string("{ }", "k", "v").expect("set"),
            "{\n  \"k\": \"v\"\n}"
        );
    }

    #[test]
    fn removal_takes_exactly_the_member() {
        let old = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}\n";
        assert_eq!(
            remove(old, "a").expect("rm"),
            "{\n  \"b\": 2,\n  \"c\": 3\n}\n"
        );
        assert_eq!(
            remove(old, "b").expect("rm"),
            "{\n  \"a\": 1,\n  \"c\": 3\n}\n"
        );
        assert_eq!(
            remove(old, "c").expect("rm"),
            "{\n  \"a\": 1,\n  \"b\": 2\n}\n"
        );
        assert_eq!(remove(old, "d").expect("rm"), old);
        assert_eq!(remove("{\"a\": 1}", "a").expect("rm"), "{}");
    }

    #[test]
    fn invalid_documents_are_refused_with_a_position() {
        for bad in [
            "[1]",
            "{\"a\": 1,}",
            "{\"a\" 1}",
            "{\"a\": 01}",
            "{\"a\": 1.}",
            "{\"a\": \"\u{1}\"}",
            "{\"a\": 1} x",
            "{\"a\": 1, \"a\": 2}",
            "{\"a\": tru}",
            "{\"a\": \"\\x\"}",
        ] {
            assert!(parse_object(bad).is_err(), "{bad:?} was accepted");
        }
        let deep = format!("{{\"a\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse_object(&deep).expect_err("deep");
        assert!(err.contains("nested too deeply"), "{err}");
        let err = parse_object("{\n  \"a\" 1}").expect_err("colon");
        assert_eq!(err, "expected `:` at line 2 column 7");
    }

    #[test]
    fn escaped_keys_are_compared_decoded() {
        let old = "{\"\\u0074ag\": \"old\"}";
        assert_eq!(
            set_string(old, "tag", "new").expect("set"),
            "{\"\\u0074ag\": \"new\"}"
        );
    }
}
