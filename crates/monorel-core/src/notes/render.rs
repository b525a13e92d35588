//! Rendering release notes: plain text for the annotated tag's message, Markdown for a
//! GitHub or GitLab release body. The text is already sanitised ([`super::Entry`]);
//! Markdown additionally cannot open HTML.

use std::fmt::Write as _;

use super::{Entry, Group, Notes};

impl Notes {
    fn groups(&self) -> impl Iterator<Item = (Group, Vec<&Entry>)> + '_ {
        Group::ALL.into_iter().filter_map(|g| {
            let entries: Vec<&Entry> = self.commits.iter().filter(|e| e.group == g).collect();
            (!entries.is_empty()).then_some((g, entries))
        })
    }

    /// Renders the notes as plain text for an annotated tag's message: a title per group,
    /// then `- <short id> <subject>` lines (what `git log --oneline` shows), breaking
    /// notes indented under their commit.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (group, entries) in self.groups() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(group.title());
            out.push_str(":\n");
            for e in entries {
                out.push_str(&format!("- {} {}\n", e.short_id, e.subject));
                for note in &e.breaking_notes {
                    let mut prefix = "BREAKING CHANGE: ";
                    for line in note.lines() {
                        out.push_str(&format!("    {prefix}{line}\n").replace("    \n", "\n"));
                        prefix = "";
                    }
                }
            }
        }
        out
    }

    /// Renders the notes as Markdown for a GitHub or GitLab release body: a `###` heading
    /// per group, `- **scope:** description (short id)` items, breaking notes quoted.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        for (group, entries) in self.groups() {
            if !out.is_empty() {
                out.push('\n');
            }
            // Writing to a String cannot fail.
            let _ = write!(out, "### {}\n\n", group.title());
            for e in entries {
                let mut item = String::new();
                // The type is implied by the section for features, fixes and perf.
                let shown_type = match (group, e.kind.as_deref()) {
                    (Group::Features, _) | (Group::Fixes, _) | (Group::Performance, _) => None,
                    (_, Some("feat" | "fix" | "perf" | "revert")) if group != Group::Breaking => {
                        None
                    }
                    (_, kind) => kind,
                };
                match (shown_type, &e.scope) {
                    (Some(kind), Some(scope)) => item.push_str(&format!("{kind}({scope}): ")),
                    (Some(kind), None) => item.push_str(&format!("{kind}: ")),
                    (None, Some(scope)) => item.push_str(&format!("**{scope}:** ")),
                    (None, None) => {}
                }
                item.push_str(&e.description);
                let _ = writeln!(out, "- {} ({})", markdown_inert(&item), e.short_id);
                for note in &e.breaking_notes {
                    for line in note.lines() {
                        if line.is_empty() {
                            out.push_str("  >\n");
                        } else {
                            let _ = writeln!(out, "  > {}", markdown_inert(line));
                        }
                    }
                }
            }
        }
        out
    }
}

/// Returns `line` with every `<` that could open an HTML tag or comment outside a code
/// span escaped (`\<`): a commit subject ending in `<!--` must not hide the rest of a
/// release page. Inside backticks nothing changes, so `Vec<u8>` in a code span stays.
fn markdown_inert(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '`' {
            in_code = !in_code;
        }
        let opens_html = chars
            .peek()
            .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '!' | '/' | '?'));
        if c == '<' && !in_code && opens_html {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::markdown_inert;

    #[test]
    fn code_spans_and_comparisons_stay_as_written() {
        assert_eq!(
            markdown_inert("use `Vec<u8>` for a < b"),
            "use `Vec<u8>` for a < b"
        );
        assert_eq!(markdown_inert("x <b>y</b>"), "x \\<b>y\\</b>");
    }
}
