//! The end-to-end suite: one test binary, a module per feature (jj's and ripgrep's layout).

mod also;
mod ci_github;
mod crash;
mod deploy;
mod docs;
mod hook;
mod hostile;
mod install;
mod lambda_s3;
mod live;
mod notes;
mod oci;
mod odd_tags;
mod progress;
mod prompt;
mod registry;
mod release;
mod repo_format;
mod s3;
mod sam;
mod writes;
