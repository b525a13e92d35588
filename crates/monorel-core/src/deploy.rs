//! Pinning environments to a release in Terraform variable files.
