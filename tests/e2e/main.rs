//! The end-to-end suite: one test binary, a module per feature (jj's and ripgrep's layout).

mod crash;
mod deploy;
mod docs;
mod hook;
mod install;
mod odd_tags;
mod prompt;
mod registry;
mod release;
mod repo_format;
