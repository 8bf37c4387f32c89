# Helpers shared by the benchmark peers' scripts; each sets PEER and sources this file.
# shellcheck shell=bash

log() { printf '%s: %s\n' "$PEER" "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { date +%s.%N; }
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

apt_updated=0
apt_install() {
    if [ "$apt_updated" = 0 ]; then apt-get update -qq >&2; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

# Waits until 127.0.0.1:<port> greets with 200/201, while <pid> lives (30 s at most).
wait_greeting() {
    local port=$1 pid=$2 line
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || return 1
        if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            line=""
            read -r -t 5 line <&3 || true
            printf 'QUIT\r\n' >&3 2>/dev/null || true
            exec 3<&- 3>&-
            case $line in 200*|201*) return 0 ;; esac
        fi
        sleep 0.1
    done
    return 1
}

# After starting <what> in the background as <pid>: prints pid=<pid> once it greets on
# <port>; otherwise shows its <log>, stops it and fails.
started_or_die() {
    local port=$1 pid=$2 logf=$3 what=$4
    if ! wait_greeting "$port" "$pid"; then
        cat "$logf" >&2
        kill "$pid" 2>/dev/null || true
        die "$what on 127.0.0.1:$port did not greet"
    fi
    echo "pid=$pid"
}

# Stops a server by PID (never by name): TERM, then KILL after 10 s.
stop_pid() {
    local pid=$1
    [[ $pid =~ ^[0-9]+$ ]] || die "not a pid: $pid"
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
