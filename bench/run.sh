#!/usr/bin/env bash
# certgate's side-by-side benchmark: nginx, HAProxy, Caddy and certgate
# doing the identical mTLS front-door job, loaded by one generator
# (bench/loadgen), interleaved, summarised in one markdown table. Figures:
# idle (memory per idle mTLS connection), keepalive (HTTP/1.1 requests/s
# and latency, closed loop), rate (HTTP/1.1 p99 at a fixed open-loop rate),
# h2 (HTTP/2 requests/s and p99, BENCH_H2_STREAMS streams kept in flight
# over BENCH_H2_CONNS connections, closed loop; the back ends stay
# HTTP/1.1), newconn (full handshakes/s), resumed (resumed handshakes/s).
#
#   bench/run.sh            (what `make bench` runs after the micro-benchmarks)
#
# Steps: install the peers from Debian if missing (bench/install.sh), build
# certgate and the generator, make one PKI, configure every peer from
# bench/peers/, start the shared back end and the peers on free loopback
# ports, sanity-check every peer over HTTP/1.1 and HTTP/2 (abort if one
# fails), then for each round
# restart the peers and measure every figure on every peer in turn
# (A B C D, A B C D, ...), and print the table (also written to
# bench/results/latest.md, the raw JSON lines to latest.jsonl).
#
# Settings (environment):
#   BENCH_ROUNDS=3            interleaved rounds
#   BENCH_SECONDS=4           measured seconds per load run (after BENCH_WARMUP=1)
#   BENCH_RATE=2000           open-loop request rate for the fixed-load p99
#   BENCH_KEEPALIVE_CONNS=64  BENCH_HANDSHAKE_CLIENTS=32  BENCH_IDLE_CONNS=1000
#   BENCH_H2_CONNS=8  BENCH_H2_STREAMS=64   (streams in flight over all connections)
#   BENCH_PEERS="nginx haproxy caddy certgate"   (nginx is the baseline)
#   BENCH_FIGURES="idle keepalive rate h2 newconn resumed"   (a subset for a quick look)
#   BENCH_OUT=DIR             where latest.md and latest.jsonl go (bench/results)
#   BENCH_NOISE=0.3           the machine may be shared: before each load run,
#                             wait (up to 10 s) until other processes use less
#                             CPU than this (cores); repeat a run during which
#                             they used more, up to BENCH_RETRIES=2 times,
#                             keeping the quietest; all this waiting and
#                             repeating takes at most BENCH_EXTRA=120 seconds
#   BENCH_KEEP=1              keep the work directory (configs, logs, PKI)
#   CERTGATE_BIN=PATH         benchmark this certgate binary instead of building
#                             ./cmd/certgate (e.g. to compare two revisions)
#
# Everything listens on 127.0.0.1; every process started here is stopped by
# PID on exit; every load run is bounded by its own duration and a timeout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
GO="${GO:-go}"
ROUNDS="${BENCH_ROUNDS:-3}"
SECS="${BENCH_SECONDS:-4}"
WARMUP="${BENCH_WARMUP:-1}"
RATE="${BENCH_RATE:-2000}"
KA_CONNS="${BENCH_KEEPALIVE_CONNS:-64}"
HS_CLIENTS="${BENCH_HANDSHAKE_CLIENTS:-32}"
IDLE_CONNS="${BENCH_IDLE_CONNS:-1000}"
H2_CONNS="${BENCH_H2_CONNS:-8}"
H2_STREAMS="${BENCH_H2_STREAMS:-64}"
read -r -a PEERS <<<"${BENCH_PEERS:-nginx haproxy caddy certgate}"
NOISE="${BENCH_NOISE:-0.3}"
RETRIES="${BENCH_RETRIES:-2}"
EXTRA="${BENCH_EXTRA:-120}"
extra_used=0
KEEP="${BENCH_KEEP:-0}"
OUT="${BENCH_OUT:-$here/results}"
read -r -a FIGURES <<<"${BENCH_FIGURES:-idle keepalive rate h2 newconn resumed}"

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: FAILED: %s\n' "$*" >&2; exit 1; }

for fig in "${FIGURES[@]}"; do
  case $fig in
    idle|keepalive|rate|h2|newconn|resumed) ;;
    *) die "unknown figure $fig in BENCH_FIGURES (known: idle keepalive rate h2 newconn resumed)" ;;
  esac
done

started_at=$(date +%s)
work="$(mktemp -d /tmp/certgate-bench.XXXXXX)"
bin="$work/bin"
pki="$work/pki"
results="$work/results.jsonl"
mkdir -p "$bin" "$pki"
: >"$results"

# --- processes -------------------------------------------------------------

declare -A live   # PIDs started here and not yet stopped, for the exit trap
declare -A pid    # peer → PID of its (master) process
declare -A port   # peer → TCP port

# stop_pid PID: SIGTERM, up to 5 s grace, then SIGKILL; the process's
# children (nginx's workers) are stopped the same way if they outlive it.
stop_pid() {
  local p=$1 kids i
  unset "live[$p]"
  kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
  kids=$(pgrep -P "$p" 2>/dev/null || true)
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 50); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for k in $kids; do
    if kill -0 "$k" 2>/dev/null; then
      kill -TERM "$k" 2>/dev/null || true
      sleep 0.2
      kill -KILL "$k" 2>/dev/null || true
    fi
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${!live[@]}"; do stop_pid "$p"; done
  if [ "$KEEP" = 1 ] || [ "$rc" -ne 0 ]; then
    log "work directory kept: $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_port PORT PID: until PORT accepts connections (10 s), or PID exits.
wait_port() {
  local i
  for i in $(seq 100); do
    kill -0 "$2" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# --- install, build, PKI, ports ----------------------------------------------

"$here/install.sh"
nginx_v=$(nginx -v 2>&1 | sed 's|.*nginx/||')
nginx_ssl=$(nginx -V 2>&1 | sed -n 's/.*running with OpenSSL \([^ ]*\).*/\1/p; s/.*built with OpenSSL \([^ ]*\).*/\1/p' | head -1)
haproxy_v=$(haproxy -v | sed -n '1s/HAProxy version \([^ ]*\).*/\1/p')
haproxy_ssl=$(haproxy -vv 2>/dev/null | sed -n 's/Running on OpenSSL version : OpenSSL \([^ ]*\).*/\1/p' | head -1)
caddy_v=$(caddy version | awk '{print $1}')
caddy_go=$("$GO" version "$(command -v caddy)" 2>/dev/null | awk '{print $2}')

if [ -n "${CERTGATE_BIN:-}" ]; then
  log "building the load generator; certgate is $CERTGATE_BIN"
  cp "$CERTGATE_BIN" "$bin/certgate"
else
  log "building certgate and the load generator"
  (cd "$root" && "$GO" build -o "$bin/certgate" ./cmd/certgate) || die "cannot build certgate"
fi
(cd "$root" && "$GO" build -o "$bin/loadgen" ./bench/loadgen) || die "cannot build the load generator"
lg="$bin/loadgen"
"$lg" pki -dir "$pki"

mapfile -t ports < <("$lg" ports -n $((${#PEERS[@]} + 1)))
backend_port=${ports[0]}
i=1
for p in "${PEERS[@]}"; do port[$p]=${ports[$i]}; i=$((i + 1)); done

nofile=$(ulimit -Hn)
if [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ]; then nofile=65536; fi
ulimit -n "$nofile"
maxconn=$(( (nofile - 100) / 2 ))
if [ "$maxconn" -gt 4096 ]; then maxconn=4096; fi
if [ "$maxconn" -lt $((IDLE_CONNS + 200)) ]; then
  die "open-file limit $nofile is too low for $IDLE_CONNS idle connections (raise ulimit -Hn)"
fi

# --- configuration -------------------------------------------------------------

render() { # template peer-dir
  sed -e "s|@PORT@|${port[$2]}|g" -e "s|@BACKEND@|127.0.0.1:$backend_port|g" \
      -e "s|@PKI@|$pki|g" -e "s|@RUN@|$work/$2|g" -e "s|@LOG@|$work/$2/certgate.log|g" \
      -e "s|@NOFILE@|$nofile|g" -e "s|@MAXCONN@|$maxconn|g" "$here/peers/$1"
}
for p in "${PEERS[@]}"; do
  mkdir -p "$work/$p"
  case $p in
    nginx)    mkdir -p "$work/nginx/nginx-tmp"; render nginx.conf nginx >"$work/nginx/nginx.conf" ;;
    haproxy)  render haproxy.cfg haproxy >"$work/haproxy/haproxy.cfg" ;;
    caddy)    mkdir -p "$work/caddy/xdg"; render Caddyfile caddy >"$work/caddy/Caddyfile" ;;
    certgate) render certgate.yaml certgate >"$work/certgate/certgate.yaml" ;;
    *)        die "unknown peer $p (known: nginx haproxy caddy certgate)" ;;
  esac
done

start_peer() {
  local p=$1 d="$work/$1"
  case $p in
    nginx)    nginx -c "$d/nginx.conf" -p "$d" >>"$d/stdout.log" 2>&1 & ;;
    haproxy)  haproxy -db -f "$d/haproxy.cfg" >>"$d/stdout.log" 2>&1 & ;;
    caddy)    XDG_CONFIG_HOME="$d/xdg" XDG_DATA_HOME="$d/xdg" HOME="$d/xdg" \
                caddy run --config "$d/Caddyfile" --adapter caddyfile >>"$d/stdout.log" 2>&1 & ;;
    certgate) "$bin/certgate" serve --config "$d/certgate.yaml" >>"$d/stdout.log" 2>&1 & ;;
  esac
  pid[$p]=$!
  live[$!]=1
  if ! wait_port "${port[$p]}" "${pid[$p]}"; then
    tail -n 20 "$d"/*.log >&2 || true
    die "$p did not start listening on 127.0.0.1:${port[$p]} (logs above, in $d)"
  fi
}
stop_peer() { stop_pid "${pid[$1]}"; }

common=(-sni localhost -ca "$pki/server-ca.pem" -cert "$pki/client.pem" -key "$pki/client.key")

# --- back end, sanity checks ------------------------------------------------------

"$lg" backend -listen "127.0.0.1:$backend_port" >"$work/backend.json" 2>"$work/backend.log" &
backend_pid=$!
live[$backend_pid]=1
wait_port "$backend_port" "$backend_pid" || die "the back end did not start (see $work/backend.log)"

log "sanity checks (HTTP/1.1 and HTTP/2 with the client certificate; without one, and with an untrusted one)"
for p in "${PEERS[@]}"; do start_peer "$p"; done
for p in "${PEERS[@]}"; do
  extra=()
  if [ "$p" = certgate ]; then
    # certgate forwards the subject in X-Client-Subject (its API's
    # identityHeaders), as the peers do, and the verification status.
    extra=(-require Certgate-Client-Cert-Status=verified)
  fi
  if ! out=$(timeout -k 5 60 "$lg" check -addr "127.0.0.1:${port[$p]}" "${common[@]}" -peer "$p" \
       -backend "127.0.0.1:$backend_port" -rogue-cert "$pki/rogue.pem" -rogue-key "$pki/rogue.key" "${extra[@]}" 2>&1); then
    printf '%s\n' "$out" >&2
    die "$p failed its sanity check: it is not doing the benchmark's job, so no figures are reported"
  fi
  log "  $p: ok ($(printf '%s\n' "$out" | sed -n 's/.*"subject_seen":"\([^"]*\)".*/\1/p' | head -1))"
done
for p in "${PEERS[@]}"; do stop_peer "$p"; done

# --- rounds ----------------------------------------------------------------------------

# field NAME JSON: a number from a JSON line.
field() { printf '%s' "$2" | sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p"; }

# measure FIGURE PEER ROUND: one load run, its JSON line appended to
# results. The machine may be shared (see BENCH_NOISE): wait for it to be
# quiet first, and repeat a run disturbed by other processes, keeping the
# quietest attempt, within the BENCH_EXTRA allowance.
measure() {
  local fig=$1 p=$2 r=$3 out best="" best_other="" other attempt t0
  local args=(-addr "127.0.0.1:${port[$p]}" "${common[@]}" -peer "$p" -round "$r" -pid "${pid[$p]}")
  local load=(-backend-pid "$backend_pid" -d "${SECS}s" -warmup "${WARMUP}s")
  local limit=$((WARMUP + SECS + 40))
  for attempt in $(seq 0 "$RETRIES"); do
    if [ "$fig" != idle ] && [ "$extra_used" -lt "$EXTRA" ]; then
      t0=$(date +%s)
      "$lg" quiet -below "$NOISE" -max "$(( EXTRA - extra_used < 10 ? EXTRA - extra_used : 10 ))s" >/dev/null
      extra_used=$(( extra_used + $(date +%s) - t0 ))
    fi
    t0=$(date +%s)
    case $fig in
      idle)      out=$(timeout -k 5 120 "$lg" idle "${args[@]}" -n "$IDLE_CONNS" </dev/null) ;;
      keepalive) out=$(timeout -k 5 "$limit" "$lg" keepalive "${args[@]}" "${load[@]}" -c "$KA_CONNS") ;;
      rate)      out=$(timeout -k 5 "$limit" "$lg" keepalive "${args[@]}" "${load[@]}" -c "$KA_CONNS" -rate "$RATE") ;;
      h2)        out=$(timeout -k 5 "$limit" "$lg" h2 "${args[@]}" "${load[@]}" -c "$H2_CONNS" -streams "$H2_STREAMS") ;;
      newconn)   out=$(timeout -k 5 "$limit" "$lg" newconn "${args[@]}" "${load[@]}" -c "$HS_CLIENTS") ;;
      resumed)   out=$(timeout -k 5 "$limit" "$lg" resumed "${args[@]}" "${load[@]}" -c "$HS_CLIENTS") ;;
    esac || die "load generator ($fig against $p, round $r) failed"
    if [ "$attempt" -gt 0 ]; then extra_used=$(( extra_used + $(date +%s) - t0 )); fi
    other=$(field other_cpu_cores "$out")
    other=${other:-0}
    if [ -z "$best" ] || awk -v a="$other" -v b="$best_other" 'BEGIN { exit !(a < b) }'; then
      best=$out
      best_other=$other
    fi
    # The idle figure measures memory, which other processes do not disturb.
    [ "$fig" != idle ] || break
    awk -v a="$best_other" -v n="$NOISE" 'BEGIN { exit !(a > n) }' || break
    [ "$extra_used" -lt "$EXTRA" ] || break
    [ "$attempt" -lt "$RETRIES" ] && log "  round $r $fig $p: other processes used $(printf '%.2f' "$other") cores; again"
  done
  printf '%s\n' "$best" >>"$results"
  case $fig in
    idle) log "  round $r $fig $p: $(field kib_per_conn "$best") KiB/conn, errors $(field errors "$best")" ;;
    *)    log "  round $r $fig $p: $(field rate "$best" | cut -d. -f1)/s, p99 $(field p99_ms "$best") ms, errors $(field errors "$best"), other CPU $(printf '%.2f' "$best_other")" ;;
  esac
}

for r in $(seq "$ROUNDS"); do
  log "round $r/$ROUNDS: fresh peers"
  for p in "${PEERS[@]}"; do start_peer "$p"; done
  for fig in "${FIGURES[@]}"; do
    for p in "${PEERS[@]}"; do
      kill -0 "${pid[$p]}" 2>/dev/null || die "$p exited during the run (logs in $work/$p)"
      measure "$fig" "$p" "$r"
    done
  done
  for p in "${PEERS[@]}"; do stop_peer "$p"; done
done

# --- report -----------------------------------------------------------------------------

mkdir -p "$here/results"
cg_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "${CERTGATE_BIN:-}" ]; then
  cg_rev="binary $CERTGATE_BIN"
elif [ -n "$(git -C "$root" status --porcelain -- cmd internal go.mod go.sum 2>/dev/null)" ]; then
  cg_rev="$cg_rev+local changes"
fi
elapsed=$(( $(date +%s) - started_at ))
{
  printf '## certgate side-by-side benchmark, %s\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf -- '- machine: %s × %s, Linux %s, %s\n' "$(nproc)" \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "$(uname -r)" "$("$GO" env GOVERSION)"
  printf -- '- peers: nginx %s (OpenSSL %s), HAProxy %s (OpenSSL %s), Caddy %s (%s), certgate %s (%s)\n' \
    "$nginx_v" "${nginx_ssl:-?}" "$haproxy_v" "${haproxy_ssl:-?}" "$caddy_v" "${caddy_go:-?}" "$cg_rev" "$("$GO" env GOVERSION)"
  printf -- '- load: %s interleaved rounds; %s s measured after %s s warm-up per run; ECDSA P-256, TLS 1.3, X25519, client chain leaf+intermediate\n' \
    "$ROUNDS" "$SECS" "$WARMUP"
  printf -- '- shared machine: %ss spent waiting for other processes to leave the CPU (< %s cores) or repeating runs they disturbed\n\n' \
    "$extra_used" "$NOISE"
  "$lg" report -in "$results" -peers "$(IFS=,; echo "${PEERS[*]}")"
} >"$work/latest.md"
mkdir -p "$OUT"
cp "$work/latest.md" "$OUT/latest.md"
cp "$results" "$OUT/latest.jsonl"
echo
cat "$work/latest.md"
log "done in ${elapsed}s (of which ${extra_used}s waiting for a quiet machine or repeating disturbed runs); table in $OUT/latest.md, raw runs in $OUT/latest.jsonl"
