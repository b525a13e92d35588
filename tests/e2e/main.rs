//! The end-to-end suite: one test binary, a module per feature (jj's and ripgrep's layout).

mod deploy;
mod docs;
mod release;
