#!/usr/bin/env bash
# public-inbox (Debian public-inbox) as a benchmark peer for listnews.
#
#   public-inbox.sh setup                               install (every command does this)
#   public-inbox.sh load <epoch.git> <group> <workdir>  v2 inbox <workdir>/<group> with the epoch as
#                                                       git/0.git, indexed with indexlevel basic;
#                                                       print: import_seconds=<s> messages=<n> store_bytes=<b>
#   public-inbox.sh start <port>                        public-inbox-nntpd on 127.0.0.1:<port>, print pid=<pid>
#   public-inbox.sh start-http <port>                   public-inbox-httpd on 127.0.0.1:<port>, print pid=<pid>
#   public-inbox.sh stop <pid>                          stop it (by PID)
#
# All inboxes of the benchmark live in one config file, $BENCH_ROOT/public-inbox/config
# (PI_CONFIG), which `start` serves. `load` replaces an inbox of the same name, so it is
# idempotent. Index level `basic` (no Xapian: msgmap.sqlite3 + over.sqlite3 only, which is all
# that nntpd needs); --skip-docdata only applies to Xapian and so is moot.
# import_seconds times `public-inbox-index` only: the epoch is already public-inbox's own
# storage, and copying it into place (untimed) is reported on stderr.
# Knobs: PI_INDEX_OPTS (e.g. --no-fsync) for public-inbox-index, PI_NNTPD_OPTS (e.g. -W 2)
# for public-inbox-nntpd, PI_HTTPD_OPTS (default -W 2: a worker per core) for public-inbox-httpd.
set -euo pipefail

BENCH_ROOT=${BENCH_ROOT:-/tmp/bench}
STATE=$BENCH_ROOT/public-inbox
export PI_CONFIG=$STATE/config

PEER=public-inbox
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

setup() {
    local want=()
    command -v git >/dev/null || want+=(git)
    command -v public-inbox-index >/dev/null || want+=(public-inbox)
    if [ ${#want[@]} -gt 0 ]; then apt_install "${want[@]}"; fi
    mkdir -p "$STATE"
    [ -f "$PI_CONFIG" ] || : >"$PI_CONFIG"
}

# rows of over.sqlite3 with a real article number (negative numbers are ghosts)
count_messages() {
    perl -MDBI -e '
        my $db = DBI->connect("dbi:SQLite:dbname=$ARGV[0]", "", "", { RaiseError => 1, ReadOnly => 1 });
        print $db->selectrow_array("SELECT COUNT(*) FROM over WHERE num > 0"), "\n";' "$1"
}

cmd_load() {
    [ $# -eq 3 ] || die "usage: public-inbox.sh load <epoch.git> <group> <workdir>"
    local epoch group workdir name dir t0 t1 t2 n secs
    epoch=$(cd "$1" && pwd) group=$2 workdir=$3
    git --git-dir="$epoch" rev-parse -q --verify HEAD >/dev/null || die "$epoch: not a git repository"
    [[ $group =~ ^[A-Za-z0-9/_.~@+=:-]+$ ]] || die "bad newsgroup name: $group"
    name=${group//[^A-Za-z0-9._-]/_}
    mkdir -p "$workdir"
    workdir=$(cd "$workdir" && pwd)
    dir=$workdir/$name

    # forget an earlier load of the same inbox
    git config -f "$PI_CONFIG" --remove-section "publicinbox.$name" 2>/dev/null || true
    rm -rf "$dir"
    mkdir -p "$dir/git"

    t0=$(now)
    git clone -q --mirror --no-hardlinks "$epoch" "$dir/git/0.git"
    log "copied epoch ($(du -sh "$dir/git/0.git" | cut -f1)) in $(secs_between "$t0" "$(now)") s (untimed)"
    public-inbox-init -V2 -L basic --ng "$group" "$name" "$dir" \
        "http://127.0.0.1/$name/" "$name@bench.invalid" >&2

    t1=$(now)
    # shellcheck disable=SC2086
    public-inbox-index -L basic ${PI_INDEX_OPTS:-} "$dir" >"$workdir/$name.index.log" 2>&1 \
        || { tail -20 "$workdir/$name.index.log" >&2; die "public-inbox-index failed"; }
    t2=$(now)
    log "index messages (count), full log in $workdir/$name.index.log:"
    sed -E 's/^.*: E: [0-9a-f]+ <[^>]*> //; s/<[^>]*>/<mid>/g' "$workdir/$name.index.log" \
        | sort | uniq -c | sort -rn | head -10 >&2
    sync

    n=$(count_messages "$dir/xap15/over.sqlite3")
    secs=$(secs_between "$t1" "$t2")
    log "indexed $n messages in $secs s (indexlevel basic${PI_INDEX_OPTS:+, $PI_INDEX_OPTS})"
    printf 'import_seconds=%.3f messages=%d store_bytes=%d\n' "$secs" "$n" "$(du -s -B1 "$dir" | cut -f1)"
}

cmd_start() {
    [ $# -eq 1 ] || die "usage: public-inbox.sh start <port>"
    local port=$1 logf=$STATE/nntpd-$1.log
    # shellcheck disable=SC2086
    setsid public-inbox-nntpd -l "127.0.0.1:$port" ${PI_NNTPD_OPTS:-} \
        </dev/null >"$logf" 2>&1 &
    started_or_die "$port" $! "$logf" public-inbox-nntpd
}

cmd_start_http() {
    [ $# -eq 1 ] || die "usage: public-inbox.sh start-http <port>"
    local port=$1 logf=$STATE/httpd-$1.log
    # shellcheck disable=SC2086
    setsid public-inbox-httpd -l "127.0.0.1:$port" ${PI_HTTPD_OPTS:--W 2} \
        </dev/null >"$logf" 2>&1 &
    local pid=$!
    # Up once the port takes a connection (HTTP sends no greeting).
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || { cat "$logf" >&2; die "public-inbox-httpd exited"; }
        if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            exec 3<&- 3>&-
            echo "pid=$pid"
            return
        fi
        sleep 0.1
    done
    stop_pid "$pid"
    die "public-inbox-httpd on 127.0.0.1:$port did not listen"
}

cmd_stop() {
    [ $# -eq 1 ] || die "usage: public-inbox.sh stop <pid>"
    stop_pid "$1"
}

main() {
    [ $# -ge 1 ] || die "usage: public-inbox.sh setup|load|start|start-http|stop ..."
    local cmd=$1; shift
    case $cmd in
        setup) setup ;;
        load)  setup; cmd_load "$@" ;;
        start) setup; cmd_start "$@" ;;
        start-http) setup; cmd_start_http "$@" ;;
        stop)  cmd_stop "$@" ;;
        *) die "unknown command: $cmd" ;;
    esac
}

main "$@"
