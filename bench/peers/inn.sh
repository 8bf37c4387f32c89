#!/usr/bin/env bash
# INN (Debian inn2) as a benchmark peer for listnews.
#
#   inn.sh setup                               install + configure (every command does this)
#   inn.sh load <epoch.git> <group> <workdir> [takethis|rnews]
#                                              wipe INN's store, feed the epoch to innd, print:
#                                              import_seconds=<s> messages=<n> store_bytes=<b>
#                                              takethis (the default, INN at its best): over NNTP,
#                                              MODE STREAM + pipelined TAKETHIS, by nntp-bench
#                                              ($NNTP_BENCH, the load generator's binary), the way
#                                              a transit peer (innfeed) feeds innd; rnews: the same
#                                              articles as one rnews batch (rnews -N), about half
#                                              the rate
#   inn.sh start <port> [nodelay]              standalone nnrpd on 127.0.0.1:<port>, print pid=<pid>;
#                                              with nodelay, through bench/peers/nodelay.c (an
#                                              LD_PRELOAD shim setting TCP_NODELAY on accepted
#                                              sockets): nnrpd without its 40 ms Nagle stalls
#   inn.sh stop <pid>                          stop that nnrpd (by PID)
#
# Layout: innd (the feeder/storage daemon) listens on 127.0.0.1:119 only (bindaddress), is
# started by `load` and left running; readers are served by a standalone `nnrpd -D -f` on the
# requested port. Storage: tradspool, overview: tradindexed, history: hisv6.
# `load` is idempotent by starting from an empty INN every time: this INN is dedicated to the
# benchmark, and every article already in history would otherwise be refused as a duplicate.
# Details go to stderr; the one machine-readable line goes to stdout.
set -euo pipefail

INNCONF_FILE=/etc/news/inn.conf
NEWSBIN=/usr/lib/news/bin
BENCH_ROOT=${BENCH_ROOT:-/tmp/bench}
LOGDIR=$BENCH_ROOT/inn
PATHHOST=${INN_PATHHOST:-inn.bench.localdomain}

PEER=inn
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# set `key: value` in inn.conf, replacing an existing (possibly commented-out) line
set_conf() {
    local key=$1 value=$2
    if grep -qE "^${key}:[[:space:]]*${value//./\\.}[[:space:]]*$" "$INNCONF_FILE"; then return 0; fi
    if grep -qE "^#?${key}:" "$INNCONF_FILE"; then
        sed -i -E "0,/^#?${key}:.*/s||${key}: ${value}|" "$INNCONF_FILE"
    else
        printf '%s: %s\n' "$key" "$value" >>"$INNCONF_FILE"
    fi
}

setup() {
    command -v git >/dev/null || apt_install git
    if ! dpkg-query -W -f='${Status}' inn2 2>/dev/null | grep -q 'install ok'; then
        # the postinst fails until domain/pathhost are set: configure below, then finish it
        apt_install inn2 || true
    fi
    [ -f "$INNCONF_FILE" ] || die "inn2 did not install ($INNCONF_FILE missing)"
    set_conf domain localdomain
    set_conf pathhost "$PATHHOST"
    set_conf server localhost           # rnews/ctlinnd talk to the local innd
    set_conf bindaddress 127.0.0.1      # innd on loopback only (IPv4 only: no bindaddress6)
    set_conf ovmethod tradindexed
    set_conf enableoverview true
    set_conf artcutoff 0                # accept archive mail of any age
    set_conf maxartsize 0               # no size limit
    set_conf localmaxartsize 0
    set_conf doinnwatch false           # no throttling on load/disk by innwatch
    set_conf nnrpdloadlimit 0           # nnrpd must not refuse readers under benchmark load
    set_conf logipaddr false            # no reverse lookups
    if ! dpkg-query -W -f='${Status}' inn2 | grep -q 'install ok installed'; then
        dpkg --configure -a >&2
    fi
    dpkg-query -W -f='${Status}' inn2 | grep -q 'install ok installed' || die "inn2 not configured"
    mkdir -p "$LOGDIR"
    install -d -o news -g news /run/news
}

innd_pid() {
    local f=/run/news/innd.pid p
    [ -f "$f" ] || return 1
    p=$(cat "$f")
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

stop_innd() {
    local p
    p=$(innd_pid) || return 0
    "$NEWSBIN/ctlinnd" -t 30 shutdown bench >/dev/null 2>&1 || kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p"; sleep 0.2; fi
    # rc.news also started innwatch (disabled) and may have left pid files
    rm -f /run/news/innd.pid
}

start_innd() {
    innd_pid >/dev/null && return 0
    # rc.news starts innd (via innbind for port 119) plus the housekeeping around it
    setpriv --reuid=news --regid=news --init-groups "$NEWSBIN/rc.news" >"$LOGDIR/rc.news.log" 2>&1 \
        || { cat "$LOGDIR/rc.news.log" >&2; die "rc.news failed"; }
    for _ in $(seq 300); do
        if "$NEWSBIN/ctlinnd" -t 2 mode >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    cat "$LOGDIR/rc.news.log" >&2
    tail -5 /var/log/news/news.err >&2 2>/dev/null || true
    die "innd did not come up"
}

# Empty INN: no articles, no overview, fresh history, stock active file.
reset_store() {
    local hint=$1 spool db ov
    spool=$("$NEWSBIN/innconfval" patharticles)
    ov=$("$NEWSBIN/innconfval" pathoverview)
    db=$("$NEWSBIN/innconfval" pathdb)
    stop_innd
    find "$spool" "$ov" -mindepth 1 -delete
    rm -f "$db"/history "$db"/history.*
    install -m 644 -o news -g news /usr/lib/news/examples/active "$db/active"
    install -m 644 -o news -g news /dev/null "$db/active.times"
    install -m 664 -o news -g news /dev/null "$db/history"
    setpriv --reuid=news --regid=news --init-groups "$NEWSBIN/makedbz" -i -o -s "$hint" >&2
    : >/var/log/news/news
    chown news:news /var/log/news/news
}

# rnews batch ("#! rnews <bytes>" + article) of every m blob of the epoch, oldest first,
# with Path: and Newsgroups: prepended (any existing Path/Newsgroups/Xref header dropped).
make_batch() {
    local epoch=$1 group=$2 out=$3
    git --git-dir="$epoch" log --reverse --raw -r --no-renames --no-abbrev --pretty=format: \
        | awk '$6 == "m" && $4 !~ /^0+$/ { print $4 }' \
        | git --git-dir="$epoch" cat-file --batch \
        | GROUP="$group" PATHHDR="bench!not-for-mail" perl -e '
            use strict; binmode STDIN; binmode STDOUT; my $nosubj = 0;
            END { print STDERR "inn: batch: added Subject: to $nosubj article(s) without one\n" if $nosubj }
            my ($g, $p) = ($ENV{GROUP}, $ENV{PATHHDR});
            while (my $h = <STDIN>) {
                my ($oid, $type, $size) = split / /, $h;
                my $buf = ""; my $got = 0;
                while ($got < $size) { my $n = read(STDIN, $buf, $size - $got, $got) or die "short read"; $got += $n }
                read(STDIN, my $nl, 1);
                next unless $type eq "blob";
                $buf =~ s/\r\n/\n/g;
                $buf =~ s/\A>?From [^\n]*\n//;                  # stray mbox From line
                my ($hdr, $body) = $buf =~ /\A(.*?\n)(\n.*)\z/s ? ($1, $2) : ($buf, "\n");
                # RFC 5322 allows "Name:value" and "Name:" + folded value; INN (RFC 5536)
                # refuses both ("No colon-space"): unfold/insert the space, drop empty fields.
                my @f;
                for my $l (split /(?<=\n)/, $hdr) {
                    if ($l =~ /^[ \t]/ && @f) { $f[-1] .= $l } else { push @f, $l }
                }
                my @out;
                for my $f (@f) {
                    next if $f =~ /^(?:path|newsgroups|xref):/i;
                    if ($f =~ /^([^:\s]+):[ \t]*\n?[ \t]*(.*)\z/s) {
                        my ($name, $val) = ($1, $2);
                        next if $val =~ /^\s*\z/;
                        $f = "$name: $val";
                    }
                    push @out, $f;
                }
                # rnews drops an article without Subject: ("bad_article missing Subject")
                unless (grep { /^subject:/i } @out) { push @out, "Subject: (no subject)\n"; $nosubj++ }
                my $art = "Path: $p\nNewsgroups: $g\n" . join("", @out) . $body;
                $art .= "\n" unless $art =~ /\n\z/;
                print "#! rnews ", length($art), "\n", $art;
            }'  >"$out"
}

store_bytes() {
    local spool ov db
    spool=$("$NEWSBIN/innconfval" patharticles)
    ov=$("$NEWSBIN/innconfval" pathoverview)
    db=$("$NEWSBIN/innconfval" pathdb)
    du -s -B1 -c "$spool" "$ov" "$db"/history "$db"/history.* | awk 'END { print $1 }'
}

cmd_load() {
    [ $# -eq 3 ] || [ $# -eq 4 ] || die "usage: inn.sh load <epoch.git> <group> <workdir> [takethis|rnews]"
    local epoch group workdir mode batch n_in t0 t1 t2 accepted rejected secs
    epoch=$(cd "$1" && pwd) group=$2 workdir=$3 mode=${4:-takethis}
    case $mode in
        takethis) [ -x "${NNTP_BENCH:-}" ] || die "takethis: set NNTP_BENCH to the nntp-bench binary" ;;
        rnews) ;;
        *) die "load: unknown feed $mode (takethis or rnews)" ;;
    esac
    git --git-dir="$epoch" rev-parse -q --verify HEAD >/dev/null || die "$epoch: not a git repository"
    mkdir -p "$workdir"
    workdir=$(cd "$workdir" && pwd)
    batch=$workdir/rnews.batch

    # untimed: the conversion to the rnews batch format
    t0=$(now)
    make_batch "$epoch" "$group" "$batch"
    n_in=$(grep -ac '^#! rnews ' "$batch" || true)
    log "batch: $n_in articles, $(stat -c %s "$batch") bytes in $(secs_between "$t0" "$(now)") s"
    chmod 644 "$batch"

    reset_store $(( n_in * 2 + 1000 ))
    start_innd
    "$NEWSBIN/ctlinnd" -t 30 newgroup "$group" y bench >/dev/null

    # timed: the feed, then innd syncing history, overview and active to disk
    t1=$(now)
    : >"$workdir/rnews.out"
    if [ "$mode" = takethis ]; then
        "$NNTP_BENCH" --addr 127.0.0.1:119 takethis --batch "$batch" >"$workdir/takethis.json" \
            || die "takethis feed failed"
        log "takethis: $(cat "$workdir/takethis.json")"
    else
        setpriv --reuid=news --regid=news --init-groups "$NEWSBIN/rnews" -N -v <"$batch" \
            >"$workdir/rnews.out" 2>&1 || { cat "$workdir/rnews.out" >&2; die "rnews failed"; }
    fi
    "$NEWSBIN/ctlinnd" -t 120 throttle bench-sync >/dev/null   # closes/flushes history + overview
    "$NEWSBIN/ctlinnd" -t 120 go bench-sync >/dev/null
    t2=$(now)
    sync

    accepted=$(awk -v g="$group" '$1 == g { print $2 + 0 }' "$("$NEWSBIN/innconfval" pathdb)/active")
    # innd logs accepted (+) and refused (-) articles in its news log; duplicates (same
    # Message-ID, answered 435 to rnews) are not logged; rnews -v reports its own refusals.
    rejected=$(grep -c ' - ' /var/log/news/news || true)
    if [ "$rejected" -gt 0 ]; then
        log "innd refused $rejected article(s); reasons (count):"
        sed -nE 's/^.* - [^ ]+ <[^>]*> //p' /var/log/news/news | sed -E 's/<[^>]*>/<mid>/g' \
            | sort | uniq -c | sort -rn | head -20 >&2
    fi
    if grep -q . "$workdir/rnews.out"; then
        log "rnews reported (count):"
        sed -E 's/ \[.*//; s/<[^>]*>/<mid>/g' "$workdir/rnews.out" | grep -v '^Newsgroups:' \
            | sort | uniq -c | sort -rn | head -20 >&2
    fi
    secs=$(secs_between "$t1" "$t2")
    log "fed $n_in by $mode, accepted $accepted, refused by innd $rejected, duplicates/other $(( n_in - accepted - rejected )), in $secs s"
    printf 'import_seconds=%.3f messages=%d store_bytes=%d\n' "$secs" "$accepted" "$(store_bytes)"
}

cmd_start() {
    [ $# -ge 1 ] || die "usage: inn.sh start <port> [nodelay]"
    local port=$1 mode=${2:-} preload=()
    if [ "$mode" = nodelay ]; then
        command -v cc >/dev/null || apt_install gcc libc6-dev
        cc -shared -fPIC -O2 -o "$LOGDIR/nodelay.so" "$(dirname "${BASH_SOURCE[0]}")/nodelay.c" -ldl
        chmod 755 "$LOGDIR/nodelay.so"
        preload=(env "LD_PRELOAD=$LOGDIR/nodelay.so")
    fi
    # nnrpd reads the overview and spool itself, but needs innd for history/active.
    start_innd
    setsid setpriv --reuid=news --regid=news --init-groups "${preload[@]}" \
        "$NEWSBIN/nnrpd" -D -f -b 127.0.0.1 -p "$port" \
        </dev/null >"$LOGDIR/nnrpd-$port.log" 2>&1 &
    started_or_die "$port" $! "$LOGDIR/nnrpd-$port.log" nnrpd
}

cmd_stop() {
    [ $# -eq 1 ] || die "usage: inn.sh stop <pid>"
    stop_pid "$1"
}

main() {
    [ $# -ge 1 ] || die "usage: inn.sh setup|load|start|stop ..."
    local cmd=$1; shift
    [ "$(id -u)" = 0 ] || die "must run as root (installs packages, runs INN as news)"
    case $cmd in
        setup) setup ;;
        load)  setup; cmd_load "$@" ;;
        start) setup; cmd_start "$@" ;;
        stop)  cmd_stop "$@" ;;
        *) die "unknown command: $cmd" ;;
    esac
}

main "$@"
