//! The release-tag rules shared by the pre-push hook and `git release check`.
