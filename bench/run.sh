#!/usr/bin/env bash
# The speed benchmarks of issues 2, 3, 4, 11, 12, 13, 14 and 15: git-release against git's own commands, run
# side by side in the same hyperfine invocation (two passes per row, see hf), so the
# figures that matter are ratios (absolute times vary by machine and load). Never timed
# tests: this script is run by hand.
#
# Usage: bash bench/run.sh [ROW...]        rows: 1 2 3 4 5 6 7 8 9 10 11 12 (default: all)
# Writes bench/work/results/*.json and the generated section of docs/benchmarks.md.
#
# Environment:
#   BENCH_WARMUP    warm-up runs per command (default 3)
#   BENCH_MIN_RUNS  minimum measured runs per command and pass (default 30)
#   BENCH_BIN       use this git-release binary instead of building target/release's
#   BENCH_PASSES    hyperfine passes per row, alternating the command order (default 2)
#   MOTO_SERVER     moto_server binary (default: /work/main/.venv/bin/moto_server, then
#                   .venv/bin/moto_server, then moto_server on PATH)
#   LATENCY_PROXY   command template for the loopback latency proxy of row 5, with the
#                   placeholders {listen_port} {upstream_port} {delay_ms} (default: the
#                   monorel-e2e `latency-proxy` example, if the checkout has it)
#
# `-C DIR` goes after the subcommand: `git-release -C DIR next …` is rejected by clap today
# (the global -C conflicts with `args_conflicts_with_subcommands`). Hooks run with the
# repository as the working directory, as git runs them.
#
# Generated repositories are cached in bench/work/ (gitignored); delete a directory there
# to regenerate it. Rows whose command does not exist yet print "not available: <why>"
# and do not fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/bench/work
RESULTS=$WORK/results
DOC=$ROOT/docs/benchmarks.md
WARMUP=${BENCH_WARMUP:-3}
MIN_RUNS=${BENCH_MIN_RUNS:-30}
PASSES=${BENCH_PASSES:-2}
ROWS=("$@")
((${#ROWS[@]})) || ROWS=(1 2 3 4 5 6 7 8 9 10 11 12)
ZERO=0000000000000000000000000000000000000000

say() { printf '==> %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
bash "$ROOT/scripts/ensure-debian-packages.sh" hyperfine git python3

if [ -n "${BENCH_BIN:-}" ]; then
    BIN=$(cd "$(dirname "$BENCH_BIN")" && pwd)/$(basename "$BENCH_BIN")
else
    say "cargo build --release -p monorel"
    cargo build --locked --release -p monorel
    BIN=$ROOT/target/release/git-release
fi
# The hook shim and `git release` (git's subcommand discovery) find the binary on PATH.
PATH="$(dirname "$BIN"):$PATH"
export PATH
# Nothing from the caller's environment may steer git or the AWS SDK.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_CEILING_DIRECTORIES
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export NO_COLOR=1

mkdir -p "$RESULTS"
: >"$RESULTS/rows.tsv"
rm -f "$RESULTS"/*.json
HF=(--warmup "$WARMUP" --min-runs "$MIN_RUNS" --style basic)
FAILED=0

# Runs one row's hyperfine PASSES times, every other pass with the commands in reverse
# order: on a shared machine the load drifts while a row runs, and hyperfine runs all of
# one command's runs before the next command's; alternating the order keeps that drift
# from favouring either side. report.py pools the passes (OUT.p1.json, OUT.p2.json, …).
# Usage: hf OUT [hyperfine options…] -- NAME COMMAND [NAME COMMAND…]
hf() {
    local out=$1 opts=() args fwd=() rev=() i pass
    shift
    while (($#)) && [ "$1" != -- ]; do
        opts+=("$1")
        shift
    done
    shift
    args=("$@")
    for ((i = 0; i < ${#args[@]}; i += 2)); do fwd+=(-n "${args[i]}" "${args[i + 1]}"); done
    for ((i = ${#args[@]} - 2; i >= 0; i -= 2)); do rev+=(-n "${args[i]}" "${args[i + 1]}"); done
    for ((pass = 1; pass <= PASSES; pass++)); do
        if ((pass % 2)); then
            hyperfine "${HF[@]}" "${opts[@]}" --export-json "$out.p$pass.json" "${fwd[@]}" || return 1
        else
            hyperfine "${HF[@]}" "${opts[@]}" --export-json "$out.p$pass.json" "${rev[@]}" || return 1
        fi
    done
}

# One compared pair in the report: id, title, target ratio, json, ours, reference, note.
pair() { printf 'pair\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS/rows.tsv"; }
# A row against the slower of two references: id, title, target ratio, json, ours,
# reference 1, reference 2, note.
slower() { printf 'slower\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS/rows.tsv"; }
# What the latency cost each side: id, title, target, json, ours, ours without the
# proxy, reference, reference without the proxy, note.
latency() { printf 'latency\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS/rows.tsv"; }
# Calls counted at the proxy: id, title, expected calls, counted calls (space-separated
# operation names, in order), note.
count() { printf 'count\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS/rows.tsv"; }
# A row that cannot run (yet): id, title, target, reason.
na() {
    printf 'na\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "not available: $4" >>"$RESULTS/rows.tsv"
    say "row $1: not available: $4"
}
# A row that should have run and did not.
broken() {
    na "$@"
    FAILED=1
}
# First line of a file, for messages (tabs and newlines would break rows.tsv).
first_line() { head -n 1 "$1" | tr '\t' ' '; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits (bounded: 15 s) until something listens on 127.0.0.1:$1.
wait_port() {
    local i
    for ((i = 0; i < 150; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}
git_id() { git -C "$1" config user.name "Bench Bot" && git -C "$1" config user.email bench@example.invalid; }

# --- repositories --------------------------------------------------------------------------
tags_repo() {
    if [ ! -d "$WORK/tags-100k" ]; then
        say "generating bench/work/tags-100k (1,000 services × 100 annotated tags)"
        python3 bench/gen-tags.py "$WORK/tags-100k"
    fi
}
history_repo() {
    if [ ! -d "$WORK/history-5k" ]; then
        say "generating bench/work/history-5k (5,000 commits after svc-0001-v1.4.2)"
        python3 bench/gen-history.py "$WORK/history-5k"
    fi
}

list_repo() {
    if [ ! -d "$WORK/list-1k" ]; then
        say "generating bench/work/list-1k (1,000 services × 100 tags, 5,000 commits)"
        python3 bench/gen-tags.py "$WORK/list-1k" --commits 5000 --environments
    fi
}
shared_repo() {
    if [ ! -d "$WORK/shared-1k" ]; then
        say "generating bench/work/shared-1k (1,000 services × 100 tags, 5,000 commits, shared paths)"
        python3 bench/gen-tags.py "$WORK/shared-1k" --commits 5000 --shared
    fi
}
wide_repo() {
    if [ ! -d "$WORK/list-10k" ]; then
        say "generating bench/work/list-10k (10,000 services × 5 tags, 200 commits)"
        python3 bench/gen-tags.py "$WORK/list-10k" --services 10000 --releases 5 --commits 200 --environments
    fi
}

# --- row 1: next --bump patch among 100,000 tags (issue 2) ----------------------------------
row1() {
    local id=1 title="next svc-0500 --bump patch --offline, 100,000 packed annotated tags" target=0.5
    tags_repo
    local repo=$WORK/tags-100k ours theirs
    ours=$("$BIN" next -C "$repo" svc-0500 --bump patch --offline)
    theirs=$(git -C "$repo" tag -l 'svc-0500-v*' --sort=-v:refname | head -1)
    say "row 1: git-release says $ours; git's highest tag is $theirs"
    if ! hf "$RESULTS/row1" --shell=bash -- \
        "git-release next" "'$BIN' next -C '$repo' svc-0500 --bump patch --offline" \
        "git release next" "git -C '$repo' release next svc-0500 --bump patch --offline" \
        "git tag -l | head -1" "git -C '$repo' tag -l 'svc-0500-v*' --sort=-v:refname | head -1"; then
        broken "$id" "$title" "$target" "hyperfine failed (see above)"
        return
    fi
    pair 1 "$title (binary run directly)" "$target" "$RESULTS/row1" "git-release next" "git tag -l | head -1" \
        "all three commands through bash (hyperfine subtracts the shell's start-up); answer $ours vs git's $theirs"
    pair 1b "same, as \`git release next\` (adds git's subcommand dispatch)" "$target" "$RESULTS/row1" \
        "git release next" "git tag -l | head -1" ""
}

# --- row 2: the suggestion's commit scan over 5,000 commits (issue 2) ------------------------
row2() {
    local id=2 title="next svc-0001 --offline (suggestion: scans 5,000 commits, 1,667 touch the service)" target=1.2
    history_repo
    local repo=$WORK/history-5k ours
    ours=$("$BIN" next -C "$repo" svc-0001 --offline --json | tr -d '\n ')
    say "row 2: git-release says $ours"
    if ! hf "$RESULTS/row2" -N -- \
        "git-release next (scan)" "'$BIN' next -C '$repo' svc-0001 --offline" \
        "git log --format=%s" "git -C '$repo' log --format=%s svc-0001-v1.4.2..HEAD -- services/svc-0001"; then
        broken "$id" "$title" "$target" "hyperfine failed (see above)"
        return
    fi
    pair 2 "$title" "$target" "$RESULTS/row2" "git-release next (scan)" "git log --format=%s" \
        "no shell (hyperfine -N); git-release's own scan is \`git log -z --format=%H%x00%B\` over the same range and path"
}

# --- row 8: release notes of a 1,667-commit range (issue 15) ---------------------------------
row8() {
    local id=6 title="notes svc-0001 (unreleased notes: 5,000 commits, 1,667 touch the service)" target=1.2
    history_repo
    local repo=$WORK/history-5k
    if ! "$BIN" notes -C "$repo" svc-0001 >/dev/null 2>&1; then
        na "$id" "$title" "$target" "not available: this git-release has no \`notes\`"
        return
    fi
    if ! hf "$RESULTS/row8" -N -- \
        "git-release notes" "'$BIN' notes -C '$repo' svc-0001" \
        "git log --format=%s" "git -C '$repo' log --format=%s svc-0001-v1.4.2..HEAD -- services/svc-0001"; then
        broken "$id" "$title" "$target" "hyperfine failed (see above)"
        return
    fi
    pair 8 "$title" "$target" "$RESULTS/row8" "git-release notes" "git log --format=%s" \
        "no shell (hyperfine -N); the same range and path as row 2, rendered as Markdown"
}

# --- row 3: a branch-only push through the hook (issue 3) ------------------------------------
row3() {
    local id=3 title="branch-only push over file:// with the pre-push hook vs --no-verify" target=1.10
    history_repo
    local dir=$WORK/push
    if [ ! -d "$dir/clone" ]; then
        rm -rf "$dir" && mkdir -p "$dir"
        git clone -q --bare "$WORK/history-5k" "$dir/remote.git"
        git clone -q "file://$dir/remote.git" "$dir/clone"
        git_id "$dir/clone"
        echo "bench push" >>"$dir/clone/services/svc-0003/src/file00.txt"
        git -C "$dir/clone" commit -q -am "fix(pool): a change to push"
    fi
    local clone=$dir/clone remote=$dir/remote.git new base log=$RESULTS/row3.log
    new=$(git -C "$clone" rev-parse HEAD)
    base=$(git -C "$clone" rev-parse HEAD~1)
    git -C "$remote" update-ref refs/heads/main "$base"
    if ! (cd "$clone" && "$BIN" install) >"$log" 2>&1; then
        na "$id" "$title" "$target" "\`git release install\` failed: $(first_line "$log")"
        return
    fi
    if [ ! -x "$(git -C "$clone" rev-parse --path-format=absolute --git-path hooks/pre-push)" ] &&
        [ -z "$(git -C "$clone" config core.hooksPath)" ]; then
        na "$id" "$title" "$target" "\`git release install\` wrote no hooks/pre-push"
        return
    fi
    if ! git -C "$clone" push -q origin "$new:refs/heads/main" >"$log" 2>&1; then
        git -C "$remote" update-ref refs/heads/main "$base"
        na "$id" "$title" "$target" "the push through the hook failed: $(grep -m1 -v '^$' "$log" | tr '\t' ' ')"
        return
    fi
    git -C "$remote" update-ref refs/heads/main "$base"
    if ! hf "$RESULTS/row3" -N --prepare "git -C '$remote' update-ref refs/heads/main $base" -- \
        "git push (hook)" "git -C '$clone' push -q origin $new:refs/heads/main" \
        "git push --no-verify" "git -C '$clone' push -q --no-verify origin $new:refs/heads/main"; then
        broken "$id" "$title" "$target" "hyperfine failed (see above)"
        return
    fi
    pair 3 "$title" "$target" "$RESULTS/row3" "git push (hook)" "git push --no-verify" \
        "hook installed by \`git release install\`; one new commit pushed to main of a bare clone of the 5,000-commit repository, reset by --prepare before every run"
}

# --- row 4: the hook fed 100 tag lines (issue 3) ---------------------------------------------
row4() {
    local id=4 title="hook pre-push fed 100 new annotated tags (100,000-tag repository, kind = none)" target=2
    tags_repo
    local dir=$WORK/hook-tags remote=$WORK/hook-tags-remote.git
    if [ ! -f "$WORK/hook-tags.ready" ]; then
        say "copying tags-100k and adding 100 tags svc-0900…svc-0999 v99.0.0"
        rm -rf "$dir" "$remote"
        cp -a "$WORK/tags-100k" "$dir"
        git init -q --bare "$remote"
        git -C "$dir" remote add origin "file://$remote"
        git_id "$dir"
        local i
        for ((i = 900; i < 1000; i++)); do
            git -C "$dir" tag -a -m "svc-0$i version 99.0.0" "svc-0$i-v99.0.0"
        done
        git -C "$dir" pack-refs --all
        touch "$WORK/hook-tags.ready"
    fi
    local lines=$RESULTS/row4.stdin ids=$RESULTS/row4.ids log=$RESULTS/row4.log rc=0 note
    git -C "$dir" for-each-ref --format='%(refname) %(objectname) %(refname) '"$ZERO" 'refs/tags/svc-0*-v99.0.0' >"$lines"
    git -C "$dir" for-each-ref --format='%(objectname)' 'refs/tags/svc-0*-v99.0.0' >"$ids"
    (cd "$dir" && "$BIN" hook pre-push origin "file://$remote") <"$lines" >"$log" 2>&1 || rc=$?
    case $rc in
    0) note="verdict: all 100 tags accepted" ;;
    1) note="verdict: refused (exit 1: $(grep -c '✗' "$log" || true) ✗ lines) — measured anyway" ;;
    *)
        na "$id" "$title" "$target" "\`git release hook pre-push\` exited $rc: $(first_line "$log")"
        return
        ;;
    esac
    if ! hf "$RESULTS/row4" --shell=bash -i -- \
        "git-release hook pre-push" "cd '$dir' && '$BIN' hook pre-push origin 'file://$remote' < '$lines'" \
        "git cat-file --batch-check" "git -C '$dir' cat-file --batch-check < '$ids'"; then
        broken "$id" "$title" "$target" "hyperfine failed (see above)"
        return
    fi
    pair 4 "$title" "$target" "$RESULTS/row4" "git-release hook pre-push" "git cat-file --batch-check" \
        "$note; stdin = git's ref lines for 100 new tags (remote sha zero); cat-file reads the same 100 tag object ids; both through bash"
}

# --- row 5: registry rows (issue 4) --------------------------------------------------------------
# Small repositories, identical but for [registry] kind: 10 services × 5 releases.
# Kinds as arguments (default: ecr none); kind = "s3" uses bucket bench-zips.
registry_repos() {
    local kind dir i k kinds=("$@")
    ((${#kinds[@]})) || kinds=(ecr none)
    for kind in "${kinds[@]}"; do
        dir=$WORK/registry/$kind
        [ -d "$dir" ] && continue
        mkdir -p "$dir"
        git -C "$dir" init -q -b main
        git_id "$dir"
        {
            printf '[registry]\nkind = "%s"\n' "$kind"
            [ "$kind" = ecr ] && printf 'region = "us-east-1"\n'
            [ "$kind" = s3 ] && printf 'bucket = "bench-zips"\nregion = "us-east-1"\n'
            printf '\n'
            for ((i = 0; i < 10; i++)); do printf '[services.svc-%04d]\npath = "services/svc-%04d"\n\n' "$i" "$i"; done
        } >"$dir/git-release.toml"
        for ((k = 0; k < 5; k++)); do
            for ((i = 0; i < 10; i++)); do
                mkdir -p "$dir/services/svc-000$i" && echo "$k" >"$dir/services/svc-000$i/VERSION"
            done
            git -C "$dir" add -A && git -C "$dir" commit -q -m "feat: round $k"
            for ((i = 0; i < 10; i++)); do
                git -C "$dir" tag -a -m "svc-000$i version 1.0.$k" "svc-000$i-v1.0.$k"
            done
        done
        git init -q --bare "$dir.remote.git"
        git -C "$dir" remote add origin "file://$dir.remote.git"
    done
}

moto_server_bin() {
    if [ -n "${MOTO_SERVER:-}" ]; then echo "$MOTO_SERVER"
    elif [ -x /work/main/.venv/bin/moto_server ]; then echo /work/main/.venv/bin/moto_server
    elif [ -x "$ROOT/.venv/bin/moto_server" ]; then echo "$ROOT/.venv/bin/moto_server"
    else command -v moto_server || true
    fi
}

# A Python that has boto3 (moto's own interpreter has it).
boto_python() {
    local moto=$1 py
    for py in "$(dirname "$moto")/python" python3; do
        if "$py" -c 'import boto3' 2>/dev/null; then echo "$py"; return; fi
    done
}

latency_proxy_template() {
    if [ -n "${LATENCY_PROXY:-}" ]; then echo "$LATENCY_PROXY"; return; fi
    [ -f "$ROOT/tests/examples/latency-proxy.rs" ] || return 0
    cargo build -q --locked -p monorel-e2e --example latency-proxy >&2 || return 0
    echo "$ROOT/target/debug/examples/latency-proxy --listen 127.0.0.1:{listen_port} --upstream 127.0.0.1:{upstream_port} --delay-ms {delay_ms}"
}

PIDS=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

row5() {
    registry_repos
    local ecr=$WORK/registry/ecr none=$WORK/registry/none log rc

    # 5b first: it needs no registry. A branch-only push must not touch the AWS SDK: run
    # with no AWS environment at all, where SDK start-up would probe instance metadata.
    local id=5b title="hook pre-push, branch ref only: kind = ecr vs kind = none (no AWS env)" target=1.10
    local line=$RESULTS/row5b.stdin
    printf 'refs/heads/main %s refs/heads/main %s\n' "$(git -C "$ecr" rev-parse HEAD)" "$ZERO" >"$line"
    log=$RESULTS/row5b.log
    rc=0
    (cd "$ecr" && "$BIN" hook pre-push origin "file://$ecr.remote.git") <"$line" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        na "$id" "$title" "$target" "\`git release hook pre-push\` exited $rc: $(first_line "$log")"
    elif ! hf "$RESULTS/row5b" --shell=bash -- \
        "hook, kind = ecr" "cd '$ecr' && '$BIN' hook pre-push origin 'file://$ecr.remote.git' < '$line'" \
        "hook, kind = none" "cd '$none' && '$BIN' hook pre-push origin 'file://$none.remote.git' < '$line'"; then
        broken "$id" "$title" "$target" "hyperfine failed (see above)"
    else
        pair 5b "$title" "$target" "$RESULTS/row5b" "hook, kind = ecr" "hook, kind = none" \
            "target is \"same cost\"; 1.10x is the noise allowance used here"
    fi

    id=5a
    title="check 50 tags (10 repositories × 5) vs 1 tag, 100 ms latency in front of moto"
    target=2
    local moto py template
    moto=$(moto_server_bin)
    template=$(latency_proxy_template)
    log=$RESULTS/row5a.log
    rc=0
    # Availability probe against an endpoint that refuses at once (nothing waits on the
    # SDK's credential chain): an implemented `check` fails with "unavailable" (4).
    AWS_ENDPOINT_URL=http://127.0.0.1:9 AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=bench \
        AWS_SECRET_ACCESS_KEY=bench "$BIN" check -C "$ecr" svc-0000-v1.0.4 >"$log" 2>&1 || rc=$?
    if [ "$rc" -eq 2 ] || grep -q 'not available in this build' "$log"; then
        na "$id" "$title" "$target" "\`git release check\` exited $rc: $(first_line "$log")"
        return
    fi
    if [ -z "$moto" ]; then
        na "$id" "$title" "$target" "no moto_server (set MOTO_SERVER)"
        return
    fi
    py=$(boto_python "$moto")
    if [ -z "$py" ]; then
        na "$id" "$title" "$target" "no Python with boto3 beside $moto"
        return
    fi
    if [ -z "$template" ]; then
        na "$id" "$title" "$target" "no latency proxy (set LATENCY_PROXY, or merge the monorel-e2e latency-proxy example)"
        return
    fi
    local moto_port proxy_port cmd
    moto_port=$(free_port)
    "$moto" -H 127.0.0.1 -p "$moto_port" >"$RESULTS/moto.log" 2>&1 &
    PIDS+=($!)
    if ! wait_port "$moto_port"; then
        broken "$id" "$title" "$target" "moto_server did not listen on $moto_port (see bench/work/results/moto.log)"
        return
    fi
    local i k
    for ((i = 0; i < 10; i++)); do
        for ((k = 0; k < 5; k++)); do
            echo "svc-000$i-image $(git -C "$ecr" rev-parse "svc-000$i-v1.0.$k^{commit}")"
        done
    done | "$py" bench/registry-setup.py "http://127.0.0.1:$moto_port"
    proxy_port=$(free_port)
    cmd=${template//\{listen_port\}/$proxy_port}
    cmd=${cmd//\{upstream_port\}/$moto_port}
    cmd=${cmd//\{delay_ms\}/100}
    # The template is a command line: word splitting is intended.
    # shellcheck disable=SC2086
    $cmd >"$RESULTS/proxy.log" 2>&1 &
    PIDS+=($!)
    if ! wait_port "$proxy_port"; then
        broken "$id" "$title" "$target" "the latency proxy did not listen on $proxy_port: $cmd (see bench/work/results/proxy.log)"
        return
    fi
    local all
    all=$(git -C "$ecr" tag -l 'svc-000*-v1.0.*' | tr '\n' ' ')
    (
        export AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port" AWS_ACCESS_KEY_ID=bench \
            AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
        rc=0
        # shellcheck disable=SC2086
        "$BIN" check -C "$ecr" $all >"$log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ]; then
            na "$id" "$title" "$target" "\`git release check\` of 50 tags exited $rc: $(first_line "$log")"
            exit 0
        fi
        if ! hf "$RESULTS/row5a" -N -- \
            "check 50 tags" "'$BIN' check -C '$ecr' $all" \
            "check 1 tag" "'$BIN' check -C '$ecr' svc-0000-v1.0.4"; then
            broken "$id" "$title" "$target" "hyperfine failed (see above)"
            exit 1
        fi
        pair 5a "$title" "$target" "$RESULTS/row5a" "check 50 tags" "check 1 tag" \
            "moto_server behind the latency proxy (100 ms added per request); images exist for all 50 tags"
    ) || FAILED=1
}

# --- row 6: list and status over 1,000 services, 100,000 tags, 5,000 commits (issue 11) --------
row6() {
    local title="1,000 services × 100 tags, 5,000 commits, releases staggered over the history" target=2
    list_repo
    local repo=$WORK/list-1k log=$RESULTS/row6.log
    if ! "$BIN" list -C "$repo" --json >"$log" 2>&1; then
        broken 6 "\`list\`: $title" "$target" "\`git-release list\` failed: $(first_line "$log")"
        return
    fi
    local since
    since=$(python3 -c 'import json,sys; print(sum(r["commits_since"] for r in json.load(open(sys.argv[1]))))' "$log")
    say "row 6: list counts $since commits since the services' releases"
    if ! hf "$RESULTS/row6" -N -- \
        "git-release list" "'$BIN' list -C '$repo'" \
        "git-release status" "'$BIN' status -C '$repo'" \
        "git log --name-only" "git -C '$repo' log --format=%H --name-only"; then
        broken 6 "\`list\`: $title" "$target" "hyperfine failed (see above)"
        return
    fi
    pair 6a "\`list\`: $title" "$target" "$RESULTS/row6" "git-release list" "git log --name-only" \
        "no shell (hyperfine -N); the services' ranges add up to $since commits touching them; git-release reads history once (git log + in-memory walk per service)"
    pair 6b "\`status\` (2 environments, no pins written): same repository" "$target" "$RESULTS/row6" \
        "git-release status" "git log --name-only" ""
}

# --- row 9: list --changed with shared paths (issue 15) ---------------------------------------
row9() {
    local title="\`list --changed\`, 1,000 services × 100 tags, 5,000 commits, shared paths (\`[defaults] also\` + \`also\` on every tenth service)" target=1.5
    shared_repo
    local repo=$WORK/shared-1k log=$RESULTS/row9.log
    if ! "$BIN" list -C "$repo" --changed --json >"$log" 2>&1; then
        broken 9 "$title" "$target" "\`git-release list --changed\` failed: $(first_line "$log")"
        return
    fi
    local changed
    changed=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$log")
    say "row 9: list --changed prints $changed services"
    if ! hf "$RESULTS/row9" -N -- \
        "git-release list --changed" "'$BIN' list -C '$repo' --changed --json" \
        "git log --name-only" "git -C '$repo' log --format=%H --name-only"; then
        broken 9 "$title" "$target" "hyperfine failed (see above)"
        return
    fi
    pair 9 "$title" "$target" "$RESULTS/row9" "git-release list --changed" "git log --name-only" \
        "no shell (hyperfine -N); $changed services changed; the union of the services' ranges is the whole history, so the reference is one git log over all of it"
}

# --- row 7: list over 10,000 services (issue 11) -----------------------------------------------
row7() {
    local title="\`list\`, 10,000 services × 5 tags, 200 commits" target=3
    wide_repo
    local repo=$WORK/list-10k log=$RESULTS/row7.log
    if ! "$BIN" list -C "$repo" >"$log" 2>&1; then
        broken 7 "$title" "$target" "\`git-release list\` failed: $(first_line "$log")"
        return
    fi
    if ! hf "$RESULTS/row7" --shell=bash -- \
        "git-release list" "'$BIN' list -C '$repo'" \
        "git-release status" "'$BIN' status -C '$repo'" \
        "git tag -l | wc -l; git log" "git -C '$repo' tag -l | wc -l; git -C '$repo' log --format=%H --name-only"; then
        broken 7 "$title" "$target" "hyperfine failed (see above)"
        return
    fi
    pair 7 "$title" "$target" "$RESULTS/row7" "git-release list" "git tag -l | wc -l; git log" \
        "through bash (the reference is two commands); 50,000 packed annotated tags"
    pair 7b "\`status\` (2 environments, no pins written): same repository" "-" "$RESULTS/row7" \
        "git-release status" "git tag -l | wc -l; git log" "no target: measured for the per-service costs of environments and pins"
}

# --- row 10: OCI registry verify, 50 tags vs 1, 100 ms latency (issue 13) --------------------
# Debian's docker-registry with token auth (the suite's token service) behind the latency
# proxy; images pushed by skopeo from one small OCI layout; credentials from a docker
# config.json (`auths`). Only the registry is behind the proxy, not the token service.
row10() {
    local id=10 title="check 50 tags (10 repositories × 5) vs 1 tag, OCI registry (docker-registry, token auth) behind 100 ms latency" target=2
    local template reg_port proxy_port dir=$WORK/oci log=$RESULTS/row10.log
    if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
        na "$id" "$title" "$target" "docker-registry or skopeo missing (scripts/test.sh installs them)"
        return
    fi
    template=$(latency_proxy_template)
    if [ -z "$template" ]; then
        na "$id" "$title" "$target" "no latency proxy (set LATENCY_PROXY)"
        return
    fi
    rm -rf "$dir" && mkdir -p "$dir/storage" "$dir/docker" "$dir/layout/blobs/sha256"
    reg_port=$(free_port)
    proxy_port=$(free_port)
    # The suite's token service (tests/src/oci.rs) as a program: it checks the Basic
    # credential release-bot / s3cret-Pa55word-4-tests and signs the JWTs the registry trusts.
    if ! cargo build -q --locked -p monorel-e2e --example token-issuer >&2; then
        broken "$id" "$title" "$target" "cannot build the token-issuer example"
        return
    fi
    "$ROOT/target/debug/examples/token-issuer" "$dir" >"$dir/issuer.out" 2>&1 &
    PIDS+=($!)
    local realm cert i
    for ((i = 0; i < 100; i++)); do
        grep -q '^cert=' "$dir/issuer.out" 2>/dev/null && break
        sleep 0.1
    done
    realm=$(sed -n 's/^realm=//p' "$dir/issuer.out")
    cert=$(sed -n 's/^cert=//p' "$dir/issuer.out")
    if [ -z "$cert" ]; then
        broken "$id" "$title" "$target" "the token service did not start: $(first_line "$dir/issuer.out")"
        return
    fi
    printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n  secret: bench\nauth:\n  token:\n    realm: %s\n    service: git-release-test\n    issuer: git-release-test-issuer\n    rootcertbundle: %s\n' \
        "$dir/storage" "$reg_port" "$realm" "$cert" >"$dir/registry.yml"
    docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
    PIDS+=($!)
    if ! wait_port "$reg_port"; then
        broken "$id" "$title" "$target" "docker-registry did not listen on $reg_port (see $dir/registry.log)"
        return
    fi
    local cmd=${template//\{listen_port\}/$proxy_port}
    cmd=${cmd//\{upstream_port\}/$reg_port}
    cmd=${cmd//\{delay_ms\}/100}
    # shellcheck disable=SC2086
    $cmd >"$RESULTS/proxy10.log" 2>&1 &
    PIDS+=($!)
    if ! wait_port "$proxy_port"; then
        broken "$id" "$title" "$target" "the latency proxy did not listen on $proxy_port"
        return
    fi
    # One image (an empty config and layer are enough for a manifest HEAD).
    python3 - "$dir/layout" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    open(os.path.join(root, "blobs/sha256", digest), "wb").write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
config = blob(b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}')
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"), "layers": []}).encode()
m = blob(manifest)
open(os.path.join(root, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
open(os.path.join(root, "index.json"), "w").write(json.dumps({"schemaVersion": 2, "manifests": [dict(m,
    mediaType="application/vnd.oci.image.manifest.v1+json", annotations={"org.opencontainers.image.ref.name": "latest"})]}))
PY
    local repo=$WORK/oci-repo k
    rm -rf "$repo" && mkdir -p "$repo"
    git -C "$repo" init -q -b main
    git_id "$repo"
    {
        printf '[registry]\nkind = "oci"\nhost = "127.0.0.1:%s"\ninsecure = true\n\n' "$proxy_port"
        for ((i = 0; i < 10; i++)); do printf '[services.svc-%04d]\npath = "services/svc-%04d"\n\n' "$i" "$i"; done
    } >"$repo/git-release.toml"
    for ((k = 0; k < 5; k++)); do
        for ((i = 0; i < 10; i++)); do
            mkdir -p "$repo/services/svc-000$i" && echo "$k" >"$repo/services/svc-000$i/VERSION"
        done
        git -C "$repo" add -A && git -C "$repo" commit -q -m "feat: round $k"
        for ((i = 0; i < 10; i++)); do
            git -C "$repo" tag -a -m "svc-000$i version 1.0.$k" "svc-000$i-v1.0.$k"
            skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-creds 'release-bot:s3cret-Pa55word-4-tests' \
                "oci:$dir/layout:latest" "docker://127.0.0.1:$reg_port/svc-000$i:$(git -C "$repo" rev-parse HEAD)" >>"$log" 2>&1
        done
    done
    printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}\n' "$proxy_port" "$(printf 'release-bot:s3cret-Pa55word-4-tests' | base64 -w0)" >"$dir/docker/config.json"
    local all
    all=$(git -C "$repo" tag -l 'svc-000*-v1.0.*' | tr '\n' ' ')
    (
        export DOCKER_CONFIG=$dir/docker
        rc=0
        # shellcheck disable=SC2086
        "$BIN" check -C "$repo" $all >"$log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ]; then
            broken "$id" "$title" "$target" "\`git release check\` of 50 tags exited $rc: $(first_line "$log")"
            exit 0
        fi
        if ! hf "$RESULTS/row10" -N -- \
            "check 50 tags" "'$BIN' check -C '$repo' $all" \
            "check 1 tag" "'$BIN' check -C '$repo' svc-0000-v1.0.4"; then
            broken "$id" "$title" "$target" "hyperfine failed (see above)"
            exit 1
        fi
        pair 10 "$title" "$target" "$RESULTS/row10" "check 50 tags" "check 1 tag" \
            "GET /v2/ once, one token per repository (10), then 50 manifest HEADs in flight together over one connection pool; 100 ms added per registry request by the proxy"
    ) || FAILED=1
}

# --- rows 11 and 12: S3 and mixed stores; live status and deploy calls (issues 12, 14) -------
# Each row starts its own moto_server (a fresh state) behind the latency proxy; AWS_*
# point every SDK at the proxy. aws_ready finds the tools, or sets WHY and returns 1 (the
# caller writes an `na` line for each of its rows).
aws_ready() {
    MOTO=$(moto_server_bin)
    TEMPLATE=$(latency_proxy_template)
    WHY=
    if [ -z "$MOTO" ]; then
        WHY="no moto_server (set MOTO_SERVER)"
    elif PY=$(boto_python "$MOTO") && [ -z "$PY" ]; then
        WHY="no Python with boto3 beside $MOTO"
    elif [ -z "$TEMPLATE" ]; then
        WHY="no latency proxy (set LATENCY_PROXY)"
    fi
    # moto's own interpreter, when it can run bench/moto-server.py (see start_moto).
    MOTO_PY=
    if [ -n "$MOTO" ] && "$(dirname "$MOTO")/python" -c 'import moto.server' 2>/dev/null; then
        MOTO_PY="$(dirname "$MOTO")/python"
    fi
    [ -z "$WHY" ]
}
# Starts moto (environment assignments as arguments) and sets MOTO_PORT: through
# bench/moto-server.py (moto with its per-request listing of its own package read once;
# see that file) when moto's interpreter can run it, else, or with STOCK_MOTO=1, the
# moto_server script itself.
start_moto() {
    local cmd=("$MOTO")
    if [ -z "${STOCK_MOTO:-}" ] && [ -n "$MOTO_PY" ]; then
        cmd=("$MOTO_PY" "$ROOT/bench/moto-server.py")
    fi
    MOTO_PORT=$(free_port)
    env "$@" "${cmd[@]}" -H 127.0.0.1 -p "$MOTO_PORT" >"$RESULTS/moto-$MOTO_PORT.log" 2>&1 &
    PIDS+=($!)
    wait_port "$MOTO_PORT"
}
# Starts the monorel-e2e latency-proxy example (100 ms) with the given arguments
# (`--upstream HOST:PORT`, repeatable; `--log FILE`) and sets PROXY_PORT.
start_example_proxy() {
    cargo build -q --locked -p monorel-e2e --example latency-proxy >&2 || return 1
    PROXY_PORT=$(free_port)
    "$ROOT/target/debug/examples/latency-proxy" --listen "127.0.0.1:$PROXY_PORT" \
        --delay-ms 100 "$@" >"$RESULTS/proxy-$PROXY_PORT.log" 2>&1 &
    PIDS+=($!)
    wait_port "$PROXY_PORT"
}
# Starts the latency proxy (100 ms) in front of MOTO_PORT and sets PROXY_PORT; with an
# argument, the monorel-e2e example with `--log FILE` instead of the template.
start_proxy() {
    local cmd
    if (($#)); then
        start_example_proxy --upstream "127.0.0.1:$MOTO_PORT" --log "$1"
        return
    fi
    PROXY_PORT=$(free_port)
    cmd=${TEMPLATE//\{listen_port\}/$PROXY_PORT}
    cmd=${cmd//\{upstream_port\}/$MOTO_PORT}
    cmd=${cmd//\{delay_ms\}/100}
    # The template is a command line: word splitting is intended.
    # shellcheck disable=SC2086
    $cmd >"$RESULTS/proxy-$PROXY_PORT.log" 2>&1 &
    PIDS+=($!)
    wait_port "$PROXY_PORT"
}
# Starts the latency proxy (100 ms) in front of the moto servers on the given ports,
# which hold the same data, sending each request to the next in turn; sets PROXY_PORT.
start_spread_proxy() {
    local upstreams=() port
    for port in "$@"; do upstreams+=(--upstream "127.0.0.1:$port"); done
    start_example_proxy "${upstreams[@]}"
}
# Points every AWS SDK at the proxy (call it in a subshell).
aws_via_proxy() {
    local vars=("AWS_ENDPOINT_URL=http://127.0.0.1:$PROXY_PORT" AWS_ACCESS_KEY_ID=bench
        AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true)
    export "${vars[@]}"
}

# One repository with `[registry]` ECR for svc-0000…svc-0009 and `[registries.lambda]`
# S3 for fn-0000…fn-0009; one commit, one new release tag per service, an empty remote.
mixed_repo() {
    local dir=$WORK/registry/mixed i
    [ -d "$dir" ] && return
    mkdir -p "$dir"
    git -C "$dir" init -q -b main
    git_id "$dir"
    {
        printf '[registry]\nkind = "ecr"\nregion = "us-east-1"\n\n'
        printf '[registries.lambda]\nkind = "s3"\nbucket = "bench-mixed"\nregion = "us-east-1"\n\n'
        for ((i = 0; i < 10; i++)); do
            printf '[services.svc-%04d]\npath = "services/svc-%04d"\n\n' "$i" "$i"
            printf '[services.fn-%04d]\npath = "services/fn-%04d"\nregistry = "lambda"\n\n' "$i" "$i"
        done
    } >"$dir/git-release.toml"
    for ((i = 0; i < 10; i++)); do
        mkdir -p "$dir/services/svc-000$i" "$dir/services/fn-000$i"
        echo 1 >"$dir/services/svc-000$i/VERSION"
        echo 1 >"$dir/services/fn-000$i/VERSION"
    done
    git -C "$dir" add -A && git -C "$dir" commit -q -m "feat: first"
    for ((i = 0; i < 10; i++)); do
        git -C "$dir" tag -a -m "svc-000$i version 1.0.0" "svc-000$i-v1.0.0"
        git -C "$dir" tag -a -m "fn-000$i version 1.0.0" "fn-000$i-v1.0.0"
    done
    git init -q --bare "$dir.remote.git"
    git -C "$dir" remote add origin "file://$dir.remote.git"
}

# The commit objects of row 11a's repository, one key per line.
objects11() {
    local s3=$WORK/registry/s3 i k
    for ((i = 0; i < 10; i++)); do
        for ((k = 0; k < 5; k++)); do
            echo "svc-000$i-$(git -C "$s3" rev-parse "svc-000$i-v1.0.$k^{commit}")"
        done
    done
}

row11() {
    registry_repos s3
    local s3=$WORK/registry/s3 log=$RESULTS/row11a.log rc i k
    local id=11a title="check 50 S3 objects (10 services × 5 tags, kind = \"s3\") vs 1, 100 ms latency in front of moto's S3" target=2
    if ! aws_ready; then
        na "$id" "$title" "$target" "$WHY"
        na 11b "hook pre-push, 10 ECR + 10 S3 release tags vs the slower of either alone" 1.3 "$WHY"
        return
    fi
    if ! start_moto; then
        broken "$id" "$title" "$target" "moto_server did not start (see bench/work/results/moto-*.log)"
        broken 11b "hook pre-push, 10 ECR + 10 S3 release tags vs the slower of either alone" 1.3 "moto_server did not start (see bench/work/results/moto-*.log)"
        return
    fi
    objects11 | "$PY" bench/registry-setup.py "http://127.0.0.1:$MOTO_PORT" --s3 bench-zips
    if ! start_proxy; then
        broken "$id" "$title" "$target" "the latency proxy did not start (see bench/work/results/proxy-*.log)"
        broken 11b "hook pre-push, 10 ECR + 10 S3 release tags vs the slower of either alone" 1.3 "the latency proxy did not start (see bench/work/results/proxy-*.log)"
        return
    fi
    # Row 11a's server: two moto servers holding the same objects behind one proxy that
    # sends each request to the next (S3 answers requests in parallel; one moto answers
    # one at a time: row 11a-one keeps that figure). Row 11a-stock: the same objects in a
    # stock moto_server behind its own proxy, what moto's per-request listing of its
    # package costs (bench/moto-server.py).
    local one_moto=$MOTO_PORT one_proxy=$PROXY_PORT spread_proxy='' stock_proxy=''
    if start_moto && objects11 | "$PY" bench/registry-setup.py "http://127.0.0.1:$MOTO_PORT" --s3 bench-zips; then
        start_spread_proxy "$one_moto" "$MOTO_PORT" && spread_proxy=$PROXY_PORT
    fi
    if STOCK_MOTO=1 start_moto && objects11 | "$PY" bench/registry-setup.py "http://127.0.0.1:$MOTO_PORT" --s3 bench-zips; then
        start_proxy && stock_proxy=$PROXY_PORT
    fi
    MOTO_PORT=$one_moto PROXY_PORT=$one_proxy
    if [ -z "$spread_proxy" ] || [ -z "$stock_proxy" ]; then
        broken "$id" "$title" "$target" "the second moto_server or its proxy did not start (see bench/work/results/)"
        return
    fi
    local all
    all=$(git -C "$s3" tag -l 'svc-000*-v1.0.*' | tr '\n' ' ')
    (
        aws_via_proxy
        rc=0
        # shellcheck disable=SC2086
        "$BIN" check -C "$s3" $all >"$log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ]; then
            broken "$id" "$title" "$target" "\`git release check\` of 50 tags exited $rc: $(first_line "$log")"
            exit 1
        fi
        # Straight to moto (no proxy, no latency): moto's own work, one request at a time.
        local direct="env AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT"
        local spread="env AWS_ENDPOINT_URL=http://127.0.0.1:$spread_proxy"
        local stock="env AWS_ENDPOINT_URL=http://127.0.0.1:$stock_proxy"
        if ! hf "$RESULTS/row11a" -N -- \
            "check 50 objects" "$spread '$BIN' check -C '$s3' $all" \
            "check 1 object" "$spread '$BIN' check -C '$s3' svc-0000-v1.0.4" \
            "check 50 objects, one moto" "'$BIN' check -C '$s3' $all" \
            "check 1 object, one moto" "'$BIN' check -C '$s3' svc-0000-v1.0.4" \
            "check 50 objects, no proxy" "$direct '$BIN' check -C '$s3' $all" \
            "check 1 object, no proxy" "$direct '$BIN' check -C '$s3' svc-0000-v1.0.4" \
            "check 50 objects, stock moto" "$stock '$BIN' check -C '$s3' $all" \
            "check 1 object, stock moto" "$stock '$BIN' check -C '$s3' svc-0000-v1.0.4"; then
            broken "$id" "$title" "$target" "hyperfine failed (see above)"
            exit 1
        fi
        pair 11a "$title" "$target" "$RESULTS/row11a" "check 50 objects" "check 1 object" \
            "one HeadObject per object (S3 has no batch read), all 50 in flight together on one client (FAN_OUT 64; the e2e test fifty_objects_are_headed_all_at_once counts them at the proxy); the proxy closes every connection, so each HEAD also opens one, and sends each to the next of two moto servers holding the same objects (bench/moto-server.py), which answer in parallel as S3 does; one moto: 11a-one"
        pair 11a-one "the same two checks, one moto server behind the proxy" "-" "$RESULTS/row11a" \
            "check 50 objects, one moto" "check 1 object, one moto" \
            "no target: one moto answers the 50 HEADs one at a time (11a-moto), ~2 ms each after the 100 ms"
        pair 11a-moto "the same two checks straight to one moto (no proxy, no added latency)" "-" "$RESULTS/row11a" \
            "check 50 objects, no proxy" "check 1 object, no proxy" \
            "no target: moto's own serial work (~2 ms per HEAD under one Python interpreter, ~3.5 ms as installed)"
        latency 11a-rtt "what the 100 ms of latency added: 50 objects vs 1 (11a-one minus 11a-moto, each side)" "-" "$RESULTS/row11a" \
            "check 50 objects, one moto" "check 50 objects, no proxy" "check 1 object, one moto" "check 1 object, no proxy" \
            "no target: 1.00x = the 50 objects paid the latency once, like the one object"
        pair 11a-stock "11a-one against a stock moto_server (its package listed on every request)" "-" "$RESULTS/row11a" \
            "check 50 objects, stock moto" "check 1 object, stock moto" \
            "no target: the same check, 100 ms latency, one moto_server started as installed; the difference from 11a-one is moto's ~2 ms per request of listing its own package (bench/moto-server.py), paid 50 times in a row"
    ) || FAILED=1

    id=11b
    title="hook pre-push with 10 ECR + 10 S3 release tags in one push vs the slower of the ECR tags alone and the S3 tags alone, 100 ms latency"
    target=1.3
    mixed_repo
    local dir=$WORK/registry/mixed remote commit both=$RESULTS/row11b.both ecr=$RESULTS/row11b.ecr zips=$RESULTS/row11b.s3
    remote="file://$dir.remote.git"
    log=$RESULTS/row11b.log
    commit=$(git -C "$dir" rev-parse HEAD)
    for ((i = 0; i < 10; i++)); do echo "svc-000$i-image $commit"; done |
        "$PY" bench/registry-setup.py "http://127.0.0.1:$MOTO_PORT"
    for ((i = 0; i < 10; i++)); do echo "fn-000$i-$commit"; done |
        "$PY" bench/registry-setup.py "http://127.0.0.1:$MOTO_PORT" --s3 bench-mixed
    git -C "$dir" for-each-ref --format='%(refname) %(objectname) %(refname) '"$ZERO" 'refs/tags/svc-*' >"$ecr"
    git -C "$dir" for-each-ref --format='%(refname) %(objectname) %(refname) '"$ZERO" 'refs/tags/fn-*' >"$zips"
    cat "$ecr" "$zips" >"$both"
    (
        aws_via_proxy
        rc=0
        (cd "$dir" && "$BIN" hook pre-push origin "$remote") <"$both" >"$log" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ]; then
            broken "$id" "$title" "$target" "\`git release hook pre-push\` of the 20 tags exited $rc: $(first_line "$log")"
            exit 1
        fi
        if ! hf "$RESULTS/row11b" --shell=bash -- \
            "hook, ECR + S3 tags" "cd '$dir' && '$BIN' hook pre-push origin '$remote' < '$both'" \
            "hook, ECR tags only" "cd '$dir' && '$BIN' hook pre-push origin '$remote' < '$ecr'" \
            "hook, S3 tags only" "cd '$dir' && '$BIN' hook pre-push origin '$remote' < '$zips'"; then
            broken "$id" "$title" "$target" "hyperfine failed (see above)"
            exit 1
        fi
        slower 11b "$title" "$target" "$RESULTS/row11b" "hook, ECR + S3 tags" "hook, ECR tags only" "hook, S3 tags only" \
            "through bash; one repository, \`[registry]\` ECR and \`[registries.lambda]\` kind = \"s3\"; all 20 tags accepted; the two stores are asked concurrently (one BatchGetImage per repository, one HeadObject per object)"
    ) || FAILED=1

    # Row 11c: `promote` of one object, its calls and request bytes counted at a logging
    # proxy in front of row 11a's moto (the object was uploaded there).
    id=11c
    title="\`promote svc-0000-v1.0.4\` of an S3 object: calls and bytes through the client"
    local calls=$RESULTS/row11c.calls out=$RESULTS/row11c.out
    if ! start_proxy "$calls"; then
        broken "$id" "$title" "-" "the counting proxy did not start"
        return
    fi
    (
        aws_via_proxy
        rc=0
        : >"$calls"
        "$BIN" promote -C "$s3" svc-0000-v1.0.4 >"$out" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ]; then
            broken "$id" "$title" "-" "\`git release promote\` exited $rc: $(first_line "$out")"
            exit 1
        fi
        local ops sent
        ops=$(python3 bench/calls.py "$calls" | tr '\n' ' ')
        sent=$(python3 bench/calls.py --bytes "$calls")
        # Bytes in a request body would be object bytes through the client: fail the row.
        [ "$sent" = 0 ] || ops="$ops BODY-BYTES-$sent"
        count "$id" "$title" "HeadObject HeadObject CopyObject" "${ops% }" \
            "registry/s3: HeadObject (the commit's object), HeadObject (the release key: absent, or the same content), CopyObject (server-side, conditional on the source's ETag and on the key being absent); request bodies sent: $sent bytes, no GetObject"
    ) || FAILED=1
}

# Two repositories with environments `stg` (kind = "ecs", cluster stg) and `prod`
# (kind = "lambda"), one release tag per service: live/fifty (svc-0000…svc-0049) and
# live/one (svc-0000).
live_repos() {
    local name n dir i
    for name in fifty one; do
        dir=$WORK/live/$name
        [ -d "$dir" ] && continue
        n=50
        [ "$name" = one ] && n=1
        mkdir -p "$dir"
        git -C "$dir" init -q -b main
        git_id "$dir"
        {
            printf '[registry]\nkind = "ecr"\nregion = "us-east-1"\n\n'
            printf '[environments.stg]\nkind = "ecs"\ncluster = "stg"\nregion = "us-east-1"\n\n'
            printf '[environments.prod]\nkind = "lambda"\nregion = "us-east-1"\n\n'
            for ((i = 0; i < n; i++)); do printf '[services.svc-%04d]\npath = "services/svc-%04d"\n\n' "$i" "$i"; done
        } >"$dir/git-release.toml"
        for ((i = 0; i < n; i++)); do
            mkdir -p "$dir/services/svc-$(printf %04d "$i")" && echo 1 >"$dir/services/svc-$(printf %04d "$i")/VERSION"
        done
        git -C "$dir" add -A && git -C "$dir" commit -q -m "feat: first"
        for ((i = 0; i < n; i++)); do
            git -C "$dir" tag -a -m "release" "svc-$(printf %04d "$i")-v1.0.0"
        done
        git init -q --bare "$dir.remote.git"
        git -C "$dir" remote add origin "file://$dir.remote.git"
        git -C "$dir" push -q origin main --tags
    done
}

row12() {
    live_repos
    local fifty=$WORK/live/fifty one=$WORK/live/one log=$RESULTS/row12a.log rc i
    local id=12a title="\`status\` over 50 services in 2 live environments (ECS stg, Lambda prod) vs over 1 service, 100 ms latency in front of moto" target=3
    if ! aws_ready; then
        na "$id" "$title" "$target" "$WHY"
        na 12b "deploy calls counted at the proxy (ECS, Lambda)" "-" "$WHY"
        return
    fi
    if ! start_moto MOTO_ECS_SERVICE_RUNNING=1; then
        broken "$id" "$title" "$target" "moto_server did not start (see bench/work/results/moto-*.log)"
        broken 12b "deploy calls counted at the proxy (ECS, Lambda)" - "moto_server did not start (see bench/work/results/moto-*.log)"
        return
    fi
    for ((i = 0; i < 50; i++)); do printf 'svc-%04d\n' "$i"; done | "$PY" bench/live-setup.py "http://127.0.0.1:$MOTO_PORT"
    if ! start_proxy; then
        broken "$id" "$title" "$target" "the latency proxy did not start (see bench/work/results/proxy-*.log)"
        broken 12b "deploy calls counted at the proxy (ECS, Lambda)" - "the latency proxy did not start (see bench/work/results/proxy-*.log)"
        return
    fi
    (
        aws_via_proxy
        rc=0
        "$BIN" status -C "$fifty" --json >"$log" 2>"$log.err" || rc=$?
        local reads
        reads=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for s in d["services"] for e in s["environments"].values() if e.get("running_revision")))' "$log" 2>/dev/null || echo 0)
        if [ "$rc" -ne 0 ] || [ "$reads" -ne 100 ]; then
            broken "$id" "$title" "$target" "\`git release status\` exited $rc and read $reads of 100 live cells: $(first_line "$log.err")"
            exit 1
        fi
        local direct="env AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT"
        if ! hf "$RESULTS/row12a" -N -- \
            "status, 50 services" "'$BIN' status -C '$fifty'" \
            "status, 1 service" "'$BIN' status -C '$one'" \
            "status, 50 services, no proxy" "$direct '$BIN' status -C '$fifty'" \
            "status, 1 service, no proxy" "$direct '$BIN' status -C '$one'"; then
            broken "$id" "$title" "$target" "hyperfine failed (see above)"
            exit 1
        fi
        pair 12a "$title" "$target" "$RESULTS/row12a" "status, 50 services" "status, 1 service" \
            "no shell (hyperfine -N); 100 live reads (ECS: one DescribeServices per ten services + DescribeTaskDefinition each; Lambda: one GetFunction qualified by the alias; 105 calls), every one answered, all in flight together (LIVE_READS 100). moto answers one request at a time: see 12a-moto"
        pair 12a-moto "the same two commands straight to moto (no proxy, no added latency)" "-" "$RESULTS/row12a" \
            "status, 50 services, no proxy" "status, 1 service, no proxy" \
            "no target: moto's own serial work (~5–10 ms per ECS or Lambda call under one Python interpreter), included in 12a's 50-service time"
        latency 12a-rtt "what the 100 ms of latency added: 50 services vs 1 (12a minus 12a-moto, each side)" "-" "$RESULTS/row12a" \
            "status, 50 services" "status, 50 services, no proxy" "status, 1 service" "status, 1 service, no proxy" \
            "no target: 1.00x = the 100 reads paid their two round trips once, like the 2 reads of one service; below 1 when moto's serial work outlasts the latency and hides it"
    ) || FAILED=1

    # 12b: the calls of one deploy of each kind, counted at the proxy. svc-0000's release
    # image exists (its commit's image, and the same image under the release tag, as
    # `promote` leaves it).
    local commit calls=$RESULTS/row12b.log
    commit=$(git -C "$fifty" rev-parse HEAD)
    printf 'svc-0000-image %s\nsvc-0000-image svc-0000-v1.0.0 %s\n' "$commit" "$commit" |
        "$PY" bench/registry-setup.py "http://127.0.0.1:$MOTO_PORT"
    id=12b
    if ! start_proxy "$calls"; then
        broken "$id" "deploy calls" "-" "the counting proxy did not start"
        return
    fi
    (
        aws_via_proxy
        rc=0
        count_deploy 12b-ecs "\`deploy svc-0000 --env stg --no-wait\` (ECS)" "$fifty" "$calls" \
            "DescribeServices DescribeTaskDefinition RegisterTaskDefinition UpdateService" \
            "ecs.rs: DescribeServices, DescribeTaskDefinition (include TAGS), RegisterTaskDefinition, UpdateService; --no-wait: no DescribeServices poll" \
            deploy svc-0000 --env stg --no-wait || rc=1
        count_deploy 12b-lambda "\`deploy svc-0000 --env prod\` (Lambda, image)" "$fifty" "$calls" \
            "GetFunction GetAlias GetFunction UpdateFunctionCode GetFunctionConfiguration UpdateAlias" \
            "lambda.rs: GetFunction (\$LATEST), GetAlias, GetFunction (the alias's version), UpdateFunctionCode (Publish), GetFunctionConfiguration per poll (moto is done at once: one), UpdateAlias" \
            deploy svc-0000 --env prod || rc=1
        exit "$rc"
    ) || FAILED=1
}

# Runs one deploy with the proxy's log emptied first and writes a `count` row: the
# deploy target's calls (ECS or Lambda) against EXPECTED, and the registry's beside.
# Usage: count_deploy ID TITLE REPO LOG EXPECTED NOTE ARGS…
count_deploy() {
    local id=$1 title=$2 repo=$3 calls=$4 expected=$5 note=$6 rc=0 out
    shift 6
    : >"$calls"
    out=$RESULTS/row$id.out
    "$BIN" "$1" -C "$repo" "${@:2}" >"$out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        broken "$id" "$title" "-" "\`git release $*\` exited $rc: $(first_line "$out")"
        return 1
    fi
    local ops registry target
    ops=$(python3 bench/calls.py "$calls")
    registry=$(grep -E '^(BatchGetImage|DescribeImages|DescribeRepositories|PutImage|GetAuthorizationToken)$' <<<"$ops" | tr '\n' ' ' || true)
    target=$(grep -vE '^(BatchGetImage|DescribeImages|DescribeRepositories|PutImage|GetAuthorizationToken)$' <<<"$ops" | tr '\n' ' ' || true)
    registry=${registry% }
    count "$id" "$title" "$expected" "${target% }" "$note; besides, the registry (the release's image digest and repository URI): ${registry:-no call}"
}

# --- run -------------------------------------------------------------------------------------
meta() { printf '%s\t%s\n' "$1" "$2" >>"$RESULTS/meta.tsv"; }
: >"$RESULTS/meta.tsv"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta nproc "$(nproc)"
meta cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
meta kernel "$(uname -sr)"
meta git "$(git --version)"
meta hyperfine "$(hyperfine --version)"
meta commit "$(git log -1 --format=%h -- crates Cargo.toml Cargo.lock)$(git diff --quiet HEAD -- crates Cargo.toml Cargo.lock || echo ' + uncommitted changes')"
meta hyperfine_opts "--warmup $WARMUP --min-runs $MIN_RUNS, $PASSES passes per row with the command order reversed every other pass, runs pooled"
meta load_before "$load_before"

for row in "${ROWS[@]}"; do
    case $row in
    1) say "row 1"; row1 ;;
    2) say "row 2"; row2 ;;
    3) say "row 3"; row3 ;;
    4) say "row 4"; row4 ;;
    5) say "row 5"; row5 ;;
    6) say "row 6"; row6 ;;
    7) say "row 7"; row7 ;;
    8) say "row 8"; row8 ;;
    9) say "row 9"; row9 ;;
    10) say "row 10"; row10 ;;
    11) say "row 11"; row11 ;;
    12) say "row 12"; row12 ;;
    *) say "unknown row $row (rows: 1 2 3 4 5 6 7 8 9 10 11 12)"; exit 2 ;;
    esac
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
meta load_after "$load_after"
# "Loaded" when the 1-minute load average, before or after, exceeds half the CPUs.
if python3 -c 'import sys; n=float(sys.argv[3]); sys.exit(0 if max(float(sys.argv[1]), float(sys.argv[2])) > n / 2 else 1)' \
    "${load_before%% *}" "${load_after%% *}" "$(nproc)"; then
    meta loaded yes
fi
mkdir -p "$(dirname "$DOC")"
python3 bench/report.py "$RESULTS" "$DOC"
exit "$FAILED"
