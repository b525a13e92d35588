//! Finding records in a sorted `packed-refs` buffer in place.
//!
//! Records are `<hex> <name>\n`, each optionally followed by its peeled line `^<hex>\n`;
//! gix hands out the buffer without its header line and sorted by name (it sorts an
//! unsorted file in memory). gix's own prefix search decodes and validates every record it
//! probes: ~26,000 instructions per service, run for each service of a push, so the hook
//! searches by name bytes alone. A record that is not well-formed cannot pass as a release
//! here either: callers take a name only if it is a strict release tag of the service.

use gix::bstr::ByteSlice;

/// Returns the offset of the first record of `records` whose name sorts at or after `name`
/// (`records.len()` when there is none).
pub(super) fn first_at_or_after(records: &[u8], hex_len: usize, name: &[u8]) -> usize {
    // `lo` and `hi` are record starts: every record before `lo` sorts before `name`, and
    // the record at `hi` (if any) does not.
    let (mut lo, mut hi) = (0, records.len());
    while lo < hi {
        let record = record_containing(records, lo, lo + (hi - lo) / 2);
        let (record_name, next) = read_record(records, record, hex_len);
        if record_name < name {
            lo = next;
        } else {
            hi = record;
        }
    }
    lo
}

/// Yields the names of the records of `records` (which starts at a record) as long as
/// they start with `prefix`.
pub(super) fn names_with_prefix<'a>(
    records: &'a [u8],
    hex_len: usize,
    prefix: &'a [u8],
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= records.len() {
            return None;
        }
        let (name, next) = read_record(records, at, hex_len);
        at = next;
        Some(name)
    })
    .take_while(move |name| name.starts_with(prefix))
}

/// Returns the start of the record whose lines hold offset `at`; `floor` is a record
/// start at or before `at`.
fn record_containing(records: &[u8], floor: usize, at: usize) -> usize {
    let start = line_start(records, floor, at);
    if start > floor && records[start] == b'^' {
        // A peeled line belongs to the record above it.
        line_start(records, floor, start - 1)
    } else {
        start
    }
}

fn line_start(records: &[u8], floor: usize, at: usize) -> usize {
    records[floor..at]
        .rfind_byte(b'\n')
        .map_or(floor, |newline| floor + newline + 1)
}

/// Returns the name of the record at `start` and where the next record starts.
fn read_record(records: &[u8], start: usize, hex_len: usize) -> (&[u8], usize) {
    let line = &records[start..];
    let (line, mut next) = match line.find_byte(b'\n') {
        Some(newline) => (&line[..newline], start + newline + 1),
        None => (line, records.len()),
    };
    if records.get(next) == Some(&b'^') {
        // A peeled line has a fixed length; search only when it is malformed (gix reads
        // such a file as corrupt, and a skipped line cannot make a name a release).
        next = match records.get(next + hex_len + 1) {
            Some(b'\n') => next + hex_len + 2,
            _ => records[next..]
                .find_byte(b'\n')
                .map_or(records.len(), |newline| next + newline + 1),
        };
    }
    (line.get(hex_len + 1..).unwrap_or_default(), next)
}

#[cfg(test)]
mod tests {
    use super::{first_at_or_after, names_with_prefix};

    const HEX: usize = 40;

    /// A sorted packed-refs body; every third record has a peeled line.
    fn packed(names: &[&str]) -> Vec<u8> {
        let mut sorted = names.to_vec();
        sorted.sort_unstable();
        let mut out = Vec::new();
        for (i, name) in sorted.iter().enumerate() {
            out.extend_from_slice(format!("{:040x} {name}\n", i + 1).as_bytes());
            if i % 3 == 0 {
                out.extend_from_slice(format!("^{:040x}\n", i + 1000).as_bytes());
            }
        }
        out
    }

    /// The names of all records, by reading every line: what the search must agree with.
    fn all_names(records: &[u8]) -> Vec<(usize, &[u8])> {
        let mut at = 0;
        let mut names = Vec::new();
        for line in records.split_inclusive(|&b| b == b'\n') {
            if !line.starts_with(b"^") {
                names.push((at, &line[HEX + 1..line.len() - 1]));
            }
            at += line.len();
        }
        names
    }

    #[test]
    fn the_search_lands_where_a_linear_scan_does() {
        let names: Vec<String> = (0..300)
            .map(|i| format!("refs/tags/svc-{:02}-v{}.{}.0", i % 17, i * 7 % 13, i))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let records = packed(&names);
        let index = all_names(&records);
        let probes = names.iter().map(|n| n.as_bytes()).chain([
            &b""[..],
            b"refs/tags/",
            b"refs/tags/svc-05-v",
            b"refs/tags/svc-05-v9",
            b"refs/tags/svc-99-v",
            b"refs/tags/svc-16-v99",
            b"zzz",
        ]);
        for probe in probes {
            let expected = index
                .iter()
                .find(|(_, name)| *name >= probe)
                .map_or(records.len(), |(at, _)| *at);
            assert_eq!(
                first_at_or_after(&records, HEX, probe),
                expected,
                "probe {}",
                String::from_utf8_lossy(probe)
            );
        }
    }

    #[test]
    fn a_prefix_yields_its_records_and_stops_after_them() {
        let records = packed(&[
            "refs/tags/a-v1.0.0",
            "refs/tags/a-v1.1.0",
            "refs/tags/a-v2-v1.0.0",
            "refs/tags/b-v1.0.0",
        ]);
        let prefix = b"refs/tags/a-v";
        let start = first_at_or_after(&records, HEX, prefix);
        let names: Vec<&[u8]> = names_with_prefix(&records[start..], HEX, prefix).collect();
        assert_eq!(
            names,
            [
                &b"refs/tags/a-v1.0.0"[..],
                b"refs/tags/a-v1.1.0",
                b"refs/tags/a-v2-v1.0.0"
            ]
        );
        let prefix = b"refs/tags/c-v";
        let start = first_at_or_after(&records, HEX, prefix);
        assert_eq!(start, records.len());
        assert_eq!(names_with_prefix(&records[start..], HEX, prefix).count(), 0);
    }

    #[test]
    fn malformed_lines_end_nothing_early_and_match_nothing() {
        let records = b"1111111111111111111111111111111111111111 refs/tags/a-v1.0.0\n\
^short\n\
garbage\n\
3333333333333333333333333333333333333333 refs/tags/a-v1.1.0";
        let names: Vec<&[u8]> = names_with_prefix(records, HEX, b"refs/tags/a-v").collect();
        // The line `garbage` has no name; it ends the run like any other non-matching name.
        assert_eq!(names, [&b"refs/tags/a-v1.0.0"[..]]);
    }
}
