#!/bin/sh
# Installs git-release, then the pre-push hook of the repository you run it in (when that
# repository has a git-release.toml). Either builds it from this checkout with cargo, or
# installs a prebuilt archive made by scripts/dist.sh, with no Rust toolchain at all:
#
#   ./install.sh                 build and install into ~/.cargo/bin
#   ./install.sh --prefix DIR    install into DIR/bin instead
#   ./install.sh --demo          then show a release (and a refused tag) in a throwaway repository
#   ./install.sh --from ARCHIVE  install a prebuilt git-release-<version>-<target>.tar.gz
#                                (a path or an https:// URL) after checking its checksum
#                                (ARCHIVE.sha256 beside it, or --sha256 HEX); also set
#                                through GIT_RELEASE_FROM and GIT_RELEASE_SHA256
#
# Running it again is harmless: it reinstalls and leaves an installed hook as is.
# Offline: once the crates are in cargo's cache, set CARGO_NET_OFFLINE=true.
set -eu

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
# die MESSAGE [HINT...]: the error, then one `hint:` line per hint, and exit 1.
die() {
    printf 'error: %s\n' "$1" >&2
    shift
    for hint in "$@"; do
        printf 'hint: %s\n' "$hint" >&2
    done
    exit 1
}

usage() {
    cat <<'EOF'
usage: ./install.sh [--prefix DIR] [--debug] [--demo] [--from ARCHIVE [--sha256 HEX]]

  --prefix DIR    install the binary into DIR/bin (default: $CARGO_HOME or ~/.cargo)
  --debug         build without optimisations (quicker to build, slower to run)
  --demo          afterwards, cut a release in a throwaway repository and show the
                  pre-push hook refusing a bad tag
  --from ARCHIVE  install a prebuilt archive from scripts/dist.sh instead of building:
                  a path or an https:// URL (default: $GIT_RELEASE_FROM); needs no Rust
  --sha256 HEX    the archive's expected SHA-256 (default: $GIT_RELEASE_SHA256, else
                  the first word of ARCHIVE.sha256, fetched from beside the archive)
EOF
}

prefix=${CARGO_HOME:-${HOME:?HOME is not set}/.cargo}
demo=false
debug=false
from=${GIT_RELEASE_FROM:-}
sha256=${GIT_RELEASE_SHA256:-}
while [ $# -gt 0 ]; do
    case $1 in
    --prefix)
        [ $# -ge 2 ] || die "--prefix needs a directory, like --prefix ~/.local"
        prefix=$2
        shift 2
        ;;
    --prefix=*)
        prefix=${1#--prefix=}
        shift
        ;;
    --from)
        [ $# -ge 2 ] || die "--from needs an archive, like --from dist/git-release-0.1.0-x86_64-unknown-linux-gnu.tar.gz"
        from=$2
        shift 2
        ;;
    --sha256)
        [ $# -ge 2 ] || die "--sha256 needs the archive's SHA-256 in hex (64 characters)"
        sha256=$2
        shift 2
        ;;
    --from=*)
        from=${1#--from=}
        shift
        ;;
    --sha256=*)
        sha256=${1#--sha256=}
        shift
        ;;
    --demo)
        demo=true
        shift
        ;;
    --debug)
        debug=true
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        die "unknown option '$1'"
        ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)

command -v git >/dev/null 2>&1 ||
    die "git is not installed; install it (Debian/Ubuntu: sudo apt-get install git, macOS: xcode-select --install) and run ./install.sh again"

# Everything temporary (the downloaded archive, its contents, the demo) lives here.
tmp=""
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
make_tmp() {
    [ -n "$tmp" ] || tmp=$(mktemp -d "${TMPDIR:-/tmp}/git-release-install.XXXXXX") ||
        die "cannot create a temporary directory; set TMPDIR to a writable directory"
}

# --- The prebuilt archive (--from): fetched, checked and unpacked before anything is
# --- installed, so a refused archive leaves the machine as it was.

# Downloads https URL $1 to file $2 with curl or wget; https only, also after redirects.
download() {
    if command -v curl >/dev/null 2>&1; then
        curl --fail --silent --show-error --location --proto '=https' --proto-redir '=https' \
            --connect-timeout 20 --retry 2 --output "$2" "$1"
    else
        wget --quiet --https-only --tries=3 --timeout=20 --output-document="$2" "$1"
    fi
}

# Prints the SHA-256 of file $1 in lowercase hex.
sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sum=$(sha256sum <"$1")
    elif command -v shasum >/dev/null 2>&1; then
        sum=$(shasum -a 256 <"$1")
    else
        sum=$(openssl dgst -sha256 -r <"$1")
    fi
    printf '%s\n' "${sum%% *}"
}

# Returns whether $1 is 64 hex digits.
is_sha256() {
    case $1 in
    *[!0-9a-fA-F]*) return 1 ;;
    esac
    [ ${#1} -eq 64 ]
}

# Fetches, checks and unpacks the archive $from; sets $new_bin and $new_man.
unpack_archive() {
    case $from in
    *.tar.gz | *.tgz) ;;
    *) die "--from takes a .tar.gz archive made by scripts/dist.sh, like git-release-0.1.0-x86_64-unknown-linux-gnu.tar.gz; got '$from'" ;;
    esac
    command -v sha256sum >/dev/null 2>&1 || command -v shasum >/dev/null 2>&1 ||
        command -v openssl >/dev/null 2>&1 ||
        die "none of sha256sum, shasum or openssl is installed, so the archive's checksum cannot be checked; install coreutils"
    for tool in tar gzip; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is needed to unpack the archive; install it"
    done
    if [ -n "$sha256" ] && ! is_sha256 "$sha256"; then
        die "--sha256 (or GIT_RELEASE_SHA256) must be 64 hex digits, the output of sha256sum; got '$sha256'"
    fi
    make_tmp
    archive="$tmp/archive.tar.gz"
    sums="$tmp/archive.tar.gz.sha256"
    case $from in
    https://*)
        command -v curl >/dev/null 2>&1 || command -v wget >/dev/null 2>&1 ||
            die "neither curl nor wget is installed, so $from cannot be downloaded; nothing was installed" \
                "install one of them, or download the archive and its .sha256 yourself and pass the path to --from"
        say "downloading $from"
        download "$from" "$archive" || die "could not download $from (see above); check the URL and your network"
        if [ -z "$sha256" ]; then
            case $from in
            *'?'* | *'#'*) die "the checksum cannot be fetched from beside $from (the URL has a query); pass the archive's SHA-256 with --sha256 HEX" ;;
            esac
            download "$from.sha256" "$sums" ||
                die "could not download the checksum $from.sha256 (see above); publish it beside the archive (scripts/dist.sh writes it), or pass --sha256 HEX"
        fi
        ;;
    *://*)
        die "--from takes a local path or an https:// URL; '$from' is neither (a download over plain http could be altered on the way); nothing was installed"
        ;;
    *)
        [ -f "$from" ] || die "the archive $from does not exist (or is not a file)"
        cp "$from" "$archive" || die "cannot read $from"
        if [ -z "$sha256" ]; then
            [ -f "$from.sha256" ] ||
                die "no checksum for $from: put $from.sha256 beside it (scripts/dist.sh writes one), or pass the SHA-256 with --sha256 HEX; nothing was installed"
            cp "$from.sha256" "$sums" || die "cannot read $from.sha256"
        fi
        ;;
    esac

    # The expected sum: the first word of the .sha256 file (sha256sum's own format).
    if [ -z "$sha256" ]; then
        sha256=""
        read -r sha256 _ <"$sums" || true
        is_sha256 "$sha256" ||
            die "$from.sha256 does not start with a SHA-256 (64 hex digits, as sha256sum writes it); nothing was installed"
    fi
    expected=$(printf '%s' "$sha256" | tr 'A-F' 'a-f')
    actual=$(sha256_of "$archive") || die "cannot compute the SHA-256 of $from"
    if [ "$actual" != "$expected" ]; then
        die "checksum mismatch for $from: expected $expected, got $actual; nothing was installed" \
            "the archive is damaged or is not the one that was published: download it again, or ask whoever published it for the right checksum"
    fi
    say "checksum ok: sha256 $actual"

    # Unpack only what we expect: one top directory, no absolute or parent paths.
    gzip -dc <"$archive" >"$tmp/archive.tar" || die "$from is not a gzip archive, although its checksum matches; rebuild it with scripts/dist.sh"
    tar -tf "$tmp/archive.tar" >"$tmp/list" || die "$from is not a tar archive; rebuild it with scripts/dist.sh"
    while IFS= read -r entry; do
        case $entry in
        git-release-*/*) ;;
        *) die "$from holds '$entry', outside the git-release-<version>-<target>/ directory that scripts/dist.sh makes; nothing was installed" ;;
        esac
        case /$entry/ in
        */../*) die "$from holds the path '$entry', which points outside the archive; nothing was installed" ;;
        esac
    done <"$tmp/list"
    tar -tvf "$tmp/archive.tar" >"$tmp/modes" || die "cannot list $from"
    while read -r mode _; do
        case $mode in
        -* | d*) ;;
        *) die "$from holds a link or a special file ($mode); scripts/dist.sh makes only files and directories, so nothing was installed" ;;
        esac
    done <"$tmp/modes"
    mkdir "$tmp/unpacked"
    (cd "$tmp/unpacked" && tar -xf ../archive.tar) || die "cannot unpack $from (see above)"
    set -- "$tmp/unpacked"/git-release-*/bin/git-release
    if [ $# -ne 1 ] || [ ! -f "$1" ] || [ -h "$1" ]; then
        die "$from has no bin/git-release in its git-release-<version>-<target>/ directory; rebuild it with scripts/dist.sh"
    fi
    new_bin=$1
    new_man="${1%/bin/git-release}/share/man/man1/git-release.1"
    # A binary for another system (or a broken one) is refused before it is installed.
    if ! version=$("$new_bin" --version 2>&1); then
        die "the git-release in $from does not run on this machine ($(uname -sm)): $version; use the archive built for this system"
    fi
    case $version in
    git-release\ *) ;;
    *) die "the git-release in $from answers --version with '$version'; rebuild the archive with scripts/dist.sh" ;;
    esac
}

# Copies file $1 to $2 with mode $3 through a temporary file and a rename, so a reader
# never sees half a file and a symlink at $2 is replaced, not followed.
install_file() {
    part="$(dirname "$2")/.$(basename "$2").part.$$"
    if ! { rm -f "$part" && cp "$1" "$part" && chmod "$3" "$part" && mv -f "$part" "$2"; }; then
        rm -f "$part"
        return 1
    fi
}

new_bin=""
new_man=""
if [ -n "$from" ]; then
    [ "$debug" = false ] || die "--debug chooses how to build from source; leave it out with --from (the archive is already built)"
    unpack_archive
else
    [ -f "$here/crates/monorel/Cargo.toml" ] ||
        die "$here is not a git-release checkout; run install.sh from the directory you cloned (or install a prebuilt archive with --from)"
    command -v cargo >/dev/null 2>&1 ||
        die "cargo is not installed (or not on PATH); install Rust from https://rustup.rs, open a new shell and run ./install.sh again (or, if your team publishes a prebuilt archive, ./install.sh --from <path-or-https-URL>)"
fi

mkdir -p "$prefix" || die "cannot create $prefix; choose another place with --prefix DIR"
prefix=$(cd "$prefix" && pwd)
bin="$prefix/bin"
git_release="$bin/git-release"

if [ -n "$new_bin" ]; then
    say "installing the prebuilt git-release into $bin"
    { mkdir -p "$bin" && install_file "$new_bin" "$git_release" 755; } ||
        die "cannot write $git_release; choose another place with --prefix DIR"
else
    set -- install --locked --path "$here/crates/monorel" --root "$prefix"
    if [ "$debug" = true ]; then
        set -- "$@" --debug
    else
        # The `from-source` profile (Cargo.toml): fat LTO at opt-level 1, far less CPU than
        # `release` for a start-up within noise of it (docs/benchmarks.md, "Build cost").
        set -- "$@" --profile from-source
    fi
    case ${CARGO_NET_OFFLINE:-} in
    true | 1) set -- "$@" --offline ;;
    esac
    say "building git-release and installing it into $bin"
    cargo "$@" ||
        die "cargo install failed (see above); without network, fetch the crates once (cargo fetch --locked) and retry with CARGO_NET_OFFLINE=true"
fi
[ -x "$git_release" ] || die "$git_release was not installed"
say "installed $("$git_release" --version)"

# `git release --help` is `git help release`, which opens the man page git-release(1);
# man finds it beside the bin directory on PATH (man-db derives MANPATH from PATH).
# A prebuilt archive carries it; otherwise the binary prints it.
man_dir="$prefix/share/man/man1"
if [ -n "$new_man" ] && [ -f "$new_man" ] && mkdir -p "$man_dir" &&
    install_file "$new_man" "$man_dir/git-release.1" 644; then
    :
elif mkdir -p "$man_dir" && "$git_release" man >"$man_dir/git-release.1.tmp"; then
    mv "$man_dir/git-release.1.tmp" "$man_dir/git-release.1"
else
    rm -f "$man_dir/git-release.1.tmp"
    warn "could not write the man page into $man_dir; \`git release -h\` still shows the help"
fi

case ":$PATH:" in
*":$bin:"*) ;;
*)
    case ${SHELL:-} in
    */zsh) rc="$HOME/.zshrc" ;;
    */bash) rc="$HOME/.bashrc" ;;
    *) rc="$HOME/.profile" ;;
    esac
    warn "$bin is not on your PATH, so git cannot find \`git release\` (nor can the pre-push hook)"
    warn "add it with this line in $rc, then open a new shell:"
    # shellcheck disable=SC2016 # $PATH is meant literally: it is the line to add.
    printf '\n    export PATH="%s:$PATH"\n\n' "$bin" >&2
    ;;
esac

# The hook of the repository we are run in, if it uses git-release.
if top=$(git rev-parse --show-toplevel 2>/dev/null) && [ -f "$top/git-release.toml" ]; then
    say "installing the pre-push hook in $top"
    (cd "$top" && "$git_release" install --force)
fi

[ "$demo" = true ] || exit 0

# The demo: a throwaway monorepo with a bare remote, no registry, explicit identities and
# no user or system git config, so it runs the same on a fresh machine and in CI.
make_tmp
demo_dir="$tmp/demo"
mkdir "$demo_dir"
PATH="$bin:$PATH"
GIT_CONFIG_NOSYSTEM=1
GIT_CONFIG_GLOBAL=/dev/null
GIT_AUTHOR_NAME="git-release demo"
GIT_AUTHOR_EMAIL="demo@example.invalid"
GIT_COMMITTER_NAME="git-release demo"
GIT_COMMITTER_EMAIL="demo@example.invalid"
export PATH GIT_CONFIG_NOSYSTEM GIT_CONFIG_GLOBAL GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
    GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
unset GIT_DIR GIT_WORK_TREE

show() {
    printf '\n$ %s\n' "$*"
    "$@"
}

say "demo in $demo_dir (removed at the end)"
cd "$demo_dir"
git -c init.defaultBranch=main init -q --bare remote.git
git -c init.defaultBranch=main init -q mono
cd mono
mkdir -p services/service-a services/service-b
printf 'FROM scratch\n' >services/service-a/Dockerfile
printf 'FROM scratch\n' >services/service-b/Dockerfile
cat >git-release.toml <<'EOF'
# Demo: no image registry, so image checks are skipped (and every run says so).
[registry]
kind = "none"

[services.service-a]
path = "services/service-a"

[services.service-b]
path = "services/service-b"
EOF
git add -A
git commit -q -m "chore: import two services"
git remote add origin "file://$demo_dir/remote.git"
git push -q origin main

show git release install
printf 'hello\n' >services/service-a/app.txt
git add -A
git commit -q -m "feat(service-a): say hello"
show git release service-a --bump minor --push --yes

printf '\nNow a tag with a typo in the service name, created by hand as a lightweight tag:\n'
show git tag servce-a-v0.2.0
if show git push origin servce-a-v0.2.0; then
    die "the demo expected the pre-push hook to refuse servce-a-v0.2.0, but the push went through"
fi
printf '\nThe remote has only the good release:\n'
show git ls-remote --tags origin
printf '\n'
say "demo done: that is git-release. In your monorepo: git release init, git release install, git release <service>"
