//! The old name of the display half of [`crate::text`], kept so existing callers build.
//!
//! New code calls [`crate::text::line()`] (one-line contexts) or [`crate::text::block()`]
//! directly; this module only forwards to the gate, so there is still one escaping rule.

pub use crate::text::line as for_terminal;
