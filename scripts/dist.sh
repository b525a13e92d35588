#!/usr/bin/env bash
# Packages git-release as a prebuilt archive that `./install.sh --from` installs without
# a Rust toolchain:
#
#   dist/git-release-<version>-<target>.tar.gz         the archive
#   dist/git-release-<version>-<target>.tar.gz.sha256  its checksum (sha256sum format)
#
# The archive holds one directory, git-release-<version>-<target>/, with
#   bin/git-release               the binary
#   share/man/man1/git-release.1  the man page (`git release --help` opens it)
#   hooks/pre-push                the hook shim (also embedded in the binary, which writes it)
#   BUILD-INFO                    version, target, cargo profile and commit it was built from
#
# Usage:
#   scripts/dist.sh                       build with the `release` profile (fat LTO: the
#                                         best start-up, ~13 CPU-minutes cold) and package it
#   scripts/dist.sh --profile NAME        build with another cargo profile (like dev)
#   scripts/dist.sh --binary PATH         package an already built binary, build nothing
#                                         (the test suite packages target/debug/git-release:
#                                         what it tests is the archive and the checksum path)
#   scripts/dist.sh --target TRIPLE       cross-build for TRIPLE (the binary must still run
#                                         here, to print its version and man page)
#   scripts/dist.sh --out DIR             write into DIR instead of dist/
#
# Prints the archive's path on stdout. Publish both files side by side (a bucket, a file
# share, a release page); `./install.sh --from <path-or-https-URL>` fetches the .sha256
# beside the archive and refuses an archive that does not match it.
# The archive is reproducible with GNU tar: the same binary and commit give the same bytes
# (file times are the commit's, owners are 0, gzip stores no name or time).
set -euo pipefail

say() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

root=$(cd "$(dirname "$0")/.." && pwd)
profile=release
binary=""
target=""
out="$root/dist"
while [ $# -gt 0 ]; do
    case $1 in
    --profile | --binary | --target | --out)
        [ $# -ge 2 ] || die "$1 needs a value (see scripts/dist.sh --help)"
        case $1 in
        --profile) profile=$2 ;;
        --binary) binary=$2 ;;
        --target) target=$2 ;;
        --out) out=$2 ;;
        esac
        shift 2
        ;;
    --profile=*) profile=${1#*=} && shift ;;
    --binary=*) binary=${1#*=} && shift ;;
    --target=*) target=${1#*=} && shift ;;
    --out=*) out=${1#*=} && shift ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        die "unknown option '$1'; scripts/dist.sh --help lists the options"
        ;;
    esac
done

for tool in tar gzip sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is needed to package the archive; install it"
done

cross=$target
if [ -z "$target" ]; then
    if command -v rustc >/dev/null 2>&1; then
        target=$(rustc -vV | sed -n 's/^host: //p')
    fi
    if [ -z "$target" ]; then
        target="$(uname -m)-$(uname -s | tr '[:upper:]' '[:lower:]')"
    fi
fi
case $target in
'' | *[!A-Za-z0-9_.-]*) die "the target '$target' is not a plain triple like x86_64-unknown-linux-gnu" ;;
esac

if [ -z "$binary" ]; then
    case $profile in
    dev) profile_dir=debug ;;
    *) profile_dir=$profile ;;
    esac
    set -- build --locked -p monorel --profile "$profile"
    target_root=${CARGO_TARGET_DIR:-$root/target}
    if [ -n "$cross" ]; then
        set -- "$@" --target "$target"
        binary="$target_root/$target/$profile_dir/git-release"
    else
        binary="$target_root/$profile_dir/git-release"
    fi
    say "cargo $*"
    (cd "$root" && cargo "$@") || die "cargo build failed (see above)"
else
    profile="prebuilt"
fi
{ [ -f "$binary" ] && [ -x "$binary" ]; } || die "$binary is not an executable file"

# The version the binary itself reports ("git-release 0.1.0"), so the name cannot lie.
version=$("$binary" --version) ||
    die "$binary does not run on this machine, so its version and man page cannot be read"
version=${version#git-release }
case $version in
'' | *[!A-Za-z0-9.+-]*) die "$binary reports an unexpected version '$version'" ;;
esac

name="git-release-$version-$target"
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
dir="$stage/$name"
mkdir -p "$dir/bin" "$dir/share/man/man1" "$dir/hooks"
cp "$binary" "$dir/bin/git-release"
chmod 755 "$dir/bin/git-release"
"$dir/bin/git-release" man >"$dir/share/man/man1/git-release.1"
cp "$root/hooks/pre-push" "$dir/hooks/pre-push"
chmod 755 "$dir/hooks/pre-push"
chmod 644 "$dir/share/man/man1/git-release.1"
commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
cat >"$dir/BUILD-INFO" <<EOF
name: git-release
version: $version
target: $target
profile: $profile
commit: $commit
EOF
chmod 644 "$dir/BUILD-INFO"

# Reproducible with GNU tar: sorted names, the commit's time, no owner names.
tar_flags=()
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}
    tar_flags=(--sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --format=gnu)
fi
archive="$name.tar.gz"
(cd "$stage" && tar ${tar_flags[@]+"${tar_flags[@]}"} -cf - "$name") | gzip -n >"$stage/$archive"
(cd "$stage" && sha256sum "$archive" >"$archive.sha256")
# Rename into place, checksum last: a reader never sees a checksum for a partial archive.
mv -f "$stage/$archive" "$out/$archive"
mv -f "$stage/$archive.sha256" "$out/$archive.sha256"
say "packaged $profile build of git-release $version for $target:"
say "  $out/$archive"
say "  $out/$archive.sha256 ($(cut -d' ' -f1 "$out/$archive.sha256"))"
printf '%s\n' "$out/$archive"
