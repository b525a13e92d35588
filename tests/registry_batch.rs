//! The ECR backend as a library, against a real moto behind the counting proxy: the
//! batched check is judged by the calls that actually reach the registry.
//!
//! A test binary of its own with a single test, because the SDK reads its endpoint and
//! credentials from the process environment and setting that is only safe when no other
//! test runs in the same process.

use monorel_core::config::RegistryConfig;
use monorel_core::registry::ecr::Ecr;
use monorel_core::registry::{
    ArtifactRef, ArtifactStatus as ImageStatus, FailureKind, Identity, ImageRef, Registry,
};
use monorel_e2e::moto::{docker_manifest, Moto};
use monorel_e2e::proxy::{Fault, Proxy};

fn image(repository: &str, tag: &str) -> ImageRef {
    ImageRef {
        repository: repository.to_string(),
        tag: tag.to_string(),
    }
}

/// Puts one image per `(repository, tag)` in a single boto3 run; returns their digests.
fn put_images(moto: &Moto, images: &[ImageRef]) -> Vec<String> {
    let calls: Vec<(&str, serde_json::Value)> = images
        .iter()
        .map(|i| {
            let manifest = docker_manifest(&i.to_string());
            (
                "put_image",
                serde_json::json!({
                    "repositoryName": i.repository,
                    "imageTag": i.tag,
                    "imageManifest": manifest.to_string(),
                    "imageManifestMediaType": manifest["mediaType"],
                }),
            )
        })
        .collect();
    moto.ecr(&calls)
        .iter()
        .map(|a| {
            a["image"]["imageId"]["imageDigest"]
                .as_str()
                .unwrap_or_else(|| panic!("put_image: {a}"))
                .to_string()
        })
        .collect()
}

#[test]
fn check_batches_per_repository_and_stays_lazy() {
    let moto = Moto::start();
    let proxy = Proxy::start(
        "127.0.0.1:0",
        &format!("127.0.0.1:{}", moto.port),
        Fault::None,
    )
    .expect("proxy");
    for (key, value) in moto.env() {
        std::env::set_var(key, value);
    }
    std::env::set_var("AWS_ENDPOINT_URL", &proxy.endpoint);

    let config = RegistryConfig {
        region: Some("us-east-1".into()),
        ..RegistryConfig::default()
    };
    let ecr = Ecr::new(&config);
    assert!(!ecr.initialised(), "Ecr::new must not initialise the SDK");
    assert!(ecr.check(&[]).is_empty());
    assert!(
        !ecr.initialised(),
        "a check of no images must not touch AWS"
    );
    assert!(proxy.operations().is_empty());

    // 50 images across 10 repositories, as a push of 50 release tags would check.
    let repositories: Vec<String> = (0..10).map(|r| format!("service-{r}-image")).collect();
    let names: Vec<&str> = repositories.iter().map(String::as_str).collect();
    moto.create_repositories(&names, true);
    let present: Vec<ImageRef> = (0..50)
        .map(|i| image(&repositories[i % 10], &format!("{i:040x}")))
        .collect();
    let digests = put_images(&moto, &present);
    proxy.clear_operations();

    let mut wanted = present.clone();
    wanted.push(image(&repositories[3], &"f".repeat(40))); // missing image
    wanted.push(image("no-such-repository", &"e".repeat(40))); // missing repository
    wanted.push(present[7].clone()); // asked twice
    let statuses = ecr.check(&artifacts(&wanted));
    assert!(ecr.initialised());
    assert_eq!(statuses.len(), wanted.len());
    for (i, digest) in digests.iter().enumerate() {
        assert_eq!(
            statuses[i],
            ImageStatus::Present(Identity::Image {
                digest: digest.clone()
            }),
            "{}",
            wanted[i]
        );
    }
    assert_eq!(statuses[50], ImageStatus::Missing);
    match &statuses[51] {
        ImageStatus::Failed(f) => {
            assert_eq!(f.kind, FailureKind::RepositoryNotFound, "{f:?}");
            assert!(f.message.contains("no-such-repository"), "{}", f.message);
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert_eq!(statuses[52], statuses[7]);
    let operations = proxy.operations();
    assert_eq!(
        operations.len(),
        11,
        "one BatchGetImage per repository: {operations:?}"
    );
    assert!(operations.iter().all(|o| o == "BatchGetImage"));

    // More than 100 tags in one repository: split into calls of at most 100.
    moto.create_repositories(&["big-image"], true);
    let big: Vec<ImageRef> = (0..150)
        .map(|i| image("big-image", &format!("b{i:039x}")))
        .collect();
    let big_digests = put_images(&moto, &big);
    proxy.clear_operations();
    let statuses = ecr.check(&artifacts(&big));
    assert_eq!(proxy.operations().len(), 2, "150 tags = 2 calls");
    for (status, digest) in statuses.iter().zip(&big_digests) {
        assert_eq!(
            status,
            &ImageStatus::Present(Identity::Image {
                digest: digest.clone()
            })
        );
    }
}

/// The images as artifacts, for the trait.
fn artifacts(images: &[ImageRef]) -> Vec<ArtifactRef> {
    images.iter().cloned().map(ArtifactRef::Image).collect()
}
