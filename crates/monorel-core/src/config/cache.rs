//! A parsed copy of `git-release.toml`, kept in the git directory.
//!
//! The pre-push hook runs on every push, and in a monorepo of 1,000 services parsing the
//! TOML was a third of its work (docs/benchmarks.md). The copy is used only when the file
//! reads byte for byte as it did when the copy was made, by the very same build of
//! git-release, so it can never answer differently from a fresh parse. Anything else (no
//! copy, a stale or damaged one, a read-only git directory) falls back to parsing.

use std::path::{Path, PathBuf};

use super::Config;
use crate::safe_write::{self, Policy};

/// Where the parsed copy lives, and which build may use it.
#[derive(Debug, Clone)]
pub struct ConfigCache {
    path: PathBuf,
    build: String,
}

/// The file's layout: a line with the build, a line with the length of the TOML text, the
/// text itself, then the parsed configuration in postcard's compact binary form. The text
/// is kept whole and compared byte for byte: that costs less than hashing it, and an equal
/// text cannot be a collision.
const HEADER_LINES: usize = 2;

impl ConfigCache {
    /// The cache of the repository whose git directory is `git_dir`, for the running
    /// binary; `None` when the binary cannot be identified.
    ///
    /// A new build of git-release may read the same file differently (a new default, a new
    /// rule), so the copy is keyed by the binary's size and modification time as well as
    /// its version.
    pub fn for_running_binary(git_dir: &Path) -> Option<ConfigCache> {
        // On Linux one stat of the /proc link does what current_exe's readlink and a stat
        // of its answer do in two.
        let exe = if cfg!(target_os = "linux") {
            PathBuf::from("/proc/self/exe")
        } else {
            std::env::current_exe().ok()?
        };
        let meta = std::fs::metadata(exe).ok()?;
        let modified = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        let build = format!(
            "{} {} {}.{:09}",
            env!("CARGO_PKG_VERSION"),
            meta.len(),
            modified.as_secs(),
            modified.subsec_nanos()
        );
        Some(ConfigCache::new(git_dir, build))
    }

    /// The cache in `git_dir` for the build named `build`.
    pub fn new(git_dir: &Path, build: String) -> ConfigCache {
        ConfigCache {
            path: git_dir.join("git-release").join("config-cache"),
            build,
        }
    }

    /// The file that holds the copy.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the copy made from exactly `source` by this build, if there is one.
    pub(super) fn get(&self, source: &str) -> Option<Config> {
        let bytes = std::fs::read(&self.path).ok()?;
        let mut parts = bytes.splitn(HEADER_LINES + 1, |&b| b == b'\n');
        let build = parts.next()?;
        let length: usize = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
        let rest = parts.next()?;
        if build != self.build.as_bytes() || rest.get(..length)? != source.as_bytes() {
            return None;
        }
        postcard::from_bytes(&rest[length..]).ok()
    }

    /// Keeps `config`, parsed from `source`, for the next run. Failing to write is not an
    /// error: the next run parses again.
    pub(super) fn put(&self, source: &str, config: &Config) {
        let bytes = format!("{}\n{}\n{source}", self.build, source.len()).into_bytes();
        let Ok(bytes) = postcard::to_extend(config, bytes) else {
            return;
        };
        let Some(git_dir) = self.path.parent().and_then(Path::parent) else {
            return;
        };
        // Written under its lock and renamed over the copy, so a concurrent run reads
        // either the old copy or the new one, never half of one. A run that finds the
        // lock held skips the write: the other run is writing the same copy.
        let _ = safe_write::write(git_dir, &self.path, &bytes, Policy::NO_LINKS.no_wait());
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ConfigError, FILE_NAME};
    use super::*;

    /// Every section and every optional key, so a field the copy loses shows up.
    const FULL: &str = r#"
[defaults]
tag = "{service}_v{version}"
initial-version = "1.0.0"
remote = "upstream"
remote-timeout-seconds = 3

[registry]
kind = "ecr"
repository = "acme/{service}"
image-tag = "git-{short_sha}"
region = "eu-west-1"
registry-id = "123456789012"
timeout-seconds = 7
connect-timeout-seconds = 1

[hook]
allow-maintenance = true
allow-rewrite = true
on-registry-error = "warn"

[services.api]
path = "services/api"
repository = "legacy/api"
image-tag = "{sha}"

[services.web]
path = "apps/web"

[environments.prod]
dir = "infra/prod"
file = "{service}.tfvars.json"
variable = "{service_snake}_release"
"#;

    fn json(config: &Config) -> serde_json::Value {
        serde_json::to_value(config).expect("config serializes")
    }

    fn repository(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FILE_NAME), text).expect("write config");
        let git_dir = dir.path().join(".git");
        std::fs::create_dir(&git_dir).expect("git dir");
        (dir, git_dir)
    }

    #[test]
    fn the_copy_answers_exactly_as_a_fresh_parse() {
        let (dir, git_dir) = repository(FULL);
        let cache = ConfigCache::new(&git_dir, "build 1".into());
        let parsed = Config::load_cached(dir.path(), Some(&cache)).expect("parses");
        assert!(cache.path().is_file(), "the first load leaves a copy");
        let copy = cache.get(FULL).expect("the copy is used for the same text");
        assert_eq!(json(&copy), json(&parsed));
        assert_eq!(
            json(&copy),
            json(&Config::parse(FULL, "t").expect("parses"))
        );
    }

    #[test]
    fn another_text_or_another_build_parses_again() {
        let (dir, git_dir) = repository(FULL);
        let cache = ConfigCache::new(&git_dir, "build 1".into());
        Config::load_cached(dir.path(), Some(&cache)).expect("parses");
        assert!(cache.get(&FULL.replace("upstream", "origin")).is_none());
        assert!(ConfigCache::new(&git_dir, "build 2".into())
            .get(FULL)
            .is_none());

        // The file changes: the new text is parsed, and its errors are reported.
        std::fs::write(dir.path().join(FILE_NAME), "[services.api]\npaht = \"x\"\n")
            .expect("write config");
        let err = Config::load_cached(dir.path(), Some(&cache)).expect_err("typo");
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
        assert!(cache.get(FULL).is_some(), "an invalid file leaves no copy");
    }

    #[test]
    fn a_damaged_copy_is_replaced() {
        let (dir, git_dir) = repository(FULL);
        let cache = ConfigCache::new(&git_dir, "build 1".into());
        std::fs::create_dir_all(cache.path().parent().expect("parent")).expect("mkdir");
        std::fs::write(
            cache.path(),
            format!("build 1\n{}\n{FULL}\x01\x02", FULL.len()),
        )
        .expect("write");
        let parsed = Config::load_cached(dir.path(), Some(&cache)).expect("parses");
        assert_eq!(json(&cache.get(FULL).expect("rewritten")), json(&parsed));
    }

    #[test]
    fn an_unwritable_git_directory_only_costs_a_parse() {
        let (dir, _) = repository(FULL);
        // A file where the cache's directory would be: nothing can be written under it.
        let blocked = dir.path().join("not-a-directory");
        std::fs::write(&blocked, b"").expect("write");
        let cache = ConfigCache::new(&blocked, "build 1".into());
        let config = Config::load_cached(dir.path(), Some(&cache)).expect("parses anyway");
        assert_eq!(config.defaults.remote, "upstream");
        assert!(cache.get(FULL).is_none());
    }
}
