//! The pre-push hook protocol and hook installation.
