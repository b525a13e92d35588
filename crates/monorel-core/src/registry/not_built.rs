//! A backend the configuration names but this build left out (a cargo feature, like
//! `ecr`, was turned off to build faster or smaller).
//!
//! It fails closed: every artifact check is a [`ArtifactStatus::Failed`], which the hook and
//! `check` treat as a refusal (unless `on-registry-error = "warn"`), and promotion is an
//! error. A build without a backend can never say yes about that backend's artifacts.

// Only some feature combinations use it; a default build has every backend.
#![cfg_attr(
    all(feature = "ecr", feature = "oci", feature = "s3"),
    allow(dead_code)
)]

use super::{
    ArtifactRef, ArtifactStatus, FailureKind, PromoteRequest, Promotion, Registry, RegistryFailure,
};

/// The stand-in for a backend that was not compiled in.
#[derive(Debug)]
pub struct NotBuilt {
    /// The `kind` value, like `ecr` (also the cargo feature's name).
    kind: &'static str,
    /// Its name for people, like `ECR`.
    name: &'static str,
}

impl NotBuilt {
    /// Returns the stand-in for `kind`.
    pub fn new(kind: &'static str, name: &'static str) -> NotBuilt {
        NotBuilt { kind, name }
    }

    fn failure(&self) -> RegistryFailure {
        RegistryFailure {
            kind: FailureKind::Other,
            message: format!(
                "this git-release was built without the {} backend (cargo feature `{}`), which git-release.toml's kind = \"{}\" needs",
                self.name, self.kind, self.kind
            ),
            hint: format!(
                "reinstall with the default features (`./install.sh`, or `cargo install --locked --path crates/monorel`), or add `--features {}`",
                self.kind
            ),
        }
    }
}

impl Registry for NotBuilt {
    fn describe(&self) -> String {
        format!("{} (not built in)", self.name)
    }

    fn check(&self, artifacts: &[ArtifactRef]) -> Vec<ArtifactStatus> {
        artifacts
            .iter()
            .map(|_| ArtifactStatus::Failed(self.failure()))
            .collect()
    }

    fn promote(&self, _request: &PromoteRequest) -> Result<Promotion, RegistryFailure> {
        Err(self.failure())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_left_out_of_the_build_fails_closed() {
        let registry = NotBuilt::new("ecr", "ECR");
        let image = ArtifactRef::Image(super::super::ImageRef {
            repository: "service-a-image".into(),
            tag: "0123abc".into(),
        });
        let statuses = registry.check(&[image.clone(), image.clone()]);
        assert_eq!(statuses.len(), 2);
        for status in statuses {
            let ArtifactStatus::Failed(failure) = status else {
                panic!("a backend that is not built in answered {status:?}");
            };
            assert!(failure
                .message
                .contains("built without the ECR backend (cargo feature `ecr`)"));
        }
        let request = PromoteRequest {
            source: image.clone(),
            target: image,
            commit: "0123abc".into(),
            tag: "service-a-v1.0.0".into(),
            force: false,
        };
        assert!(registry.promote(&request).is_err());
    }
}
