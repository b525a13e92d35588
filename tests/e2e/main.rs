//! The end-to-end suite: one test binary, a module per feature (jj's and ripgrep's layout).

mod deploy;
mod docs;
mod hook;
mod hostile;
mod install;
mod notes;
mod prompt;
mod registry;
mod release;
mod writes;
