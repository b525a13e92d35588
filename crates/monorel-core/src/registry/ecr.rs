//! AWS Elastic Container Registry (issue 4 fills this in).

use super::{FailureKind, ImageRef, ImageStatus, Promotion, Registry, RegistryFailure};
use crate::config::RegistryConfig;

/// The ECR backend.
#[derive(Debug)]
pub struct Ecr {
    region: Option<String>,
}

impl Ecr {
    /// Prepares a client; no network I/O happens until the first call.
    pub fn new(config: &RegistryConfig) -> Ecr {
        Ecr {
            region: config.region.clone(),
        }
    }

    fn not_ready(&self) -> RegistryFailure {
        RegistryFailure {
            kind: FailureKind::Other,
            message: "the ECR backend is not available in this build".into(),
            hint: "set [registry] kind = \"none\" to skip image checks".into(),
        }
    }
}

impl Registry for Ecr {
    fn describe(&self) -> String {
        format!(
            "ECR ({})",
            self.region.as_deref().unwrap_or("default region")
        )
    }

    fn check(&self, images: &[ImageRef]) -> Vec<ImageStatus> {
        images
            .iter()
            .map(|_| ImageStatus::Failed(self.not_ready()))
            .collect()
    }

    fn promote(
        &self,
        _source: &ImageRef,
        _target_tag: &str,
        _force: bool,
    ) -> Result<Promotion, RegistryFailure> {
        Err(self.not_ready())
    }
}
