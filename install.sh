#!/bin/sh
# Installs git-release from this checkout, then the pre-push hook of the repository you
# run it in (when that repository has a git-release.toml).
#
#   ./install.sh                 build and install into ~/.cargo/bin
#   ./install.sh --prefix DIR    install into DIR/bin instead
#   ./install.sh --demo          then show a release (and a refused tag) in a throwaway repository
#
# Running it again is harmless: it rebuilds, reinstalls and leaves an installed hook as is.
# Offline: once the crates are in cargo's cache, set CARGO_NET_OFFLINE=true.
set -eu

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

usage() {
    cat <<'EOF'
usage: ./install.sh [--prefix DIR] [--debug] [--demo]

  --prefix DIR  install the binary into DIR/bin (default: $CARGO_HOME or ~/.cargo)
  --debug       build without optimisations (quicker to build, slower to run)
  --demo        afterwards, cut a release in a throwaway repository and show the
                pre-push hook refusing a bad tag
EOF
}

prefix=${CARGO_HOME:-${HOME:?HOME is not set}/.cargo}
demo=false
debug=false
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
[ -f "$here/crates/monorel/Cargo.toml" ] ||
    die "$here is not a git-release checkout; run install.sh from the directory you cloned"

command -v git >/dev/null 2>&1 ||
    die "git is not installed; install it (Debian/Ubuntu: sudo apt-get install git, macOS: xcode-select --install) and run ./install.sh again"
command -v cargo >/dev/null 2>&1 ||
    die "cargo is not installed (or not on PATH); install Rust from https://rustup.rs, open a new shell and run ./install.sh again"

mkdir -p "$prefix" || die "cannot create $prefix; choose another place with --prefix DIR"
prefix=$(cd "$prefix" && pwd)
bin="$prefix/bin"

set -- install --locked --path "$here/crates/monorel" --root "$prefix"
if [ "$debug" = true ]; then
    set -- "$@" --debug
fi
case ${CARGO_NET_OFFLINE:-} in
true | 1) set -- "$@" --offline ;;
esac
say "building git-release and installing it into $bin"
cargo "$@" ||
    die "cargo install failed (see above); without network, fetch the crates once (cargo fetch --locked) and retry with CARGO_NET_OFFLINE=true"
git_release="$bin/git-release"
[ -x "$git_release" ] || die "cargo did not install $git_release"
say "installed $("$git_release" --version)"

# `git release --help` is `git help release`, which opens the man page git-release(1);
# man finds it beside the bin directory on PATH (man-db derives MANPATH from PATH).
man_dir="$prefix/share/man/man1"
if mkdir -p "$man_dir" && "$git_release" man >"$man_dir/git-release.1.tmp"; then
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
demo_dir=$(mktemp -d "${TMPDIR:-/tmp}/git-release-demo.XXXXXX")
trap 'rm -rf "$demo_dir"' EXIT
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
