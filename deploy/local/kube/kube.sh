#!/usr/bin/env bash
# A real Kubernetes API server (kube-apiserver and etcd, no nodes, no
# controllers) on loopback, for `make test-apiserver`: the chart's manifests
# and the CRDs are applied to it with server-side dry run and strict field
# validation.
#
#   kube.sh start   build kube-apiserver and etcd once (Go module proxy, this
#                   directory's go.mod; about 7 minutes cold), make
#                   certificates and a token, start both, and print
#                   ATTRSYNC_KUBE_SERVER, ATTRSYNC_KUBE_TOKEN, ATTRSYNC_KUBE_CA
#   kube.sh stop    stop both and delete their data
#
# Environment: ATTRSYNC_KUBE_DIR (instance directory, default
# ${TMPDIR:-/tmp}/attrsync-kube), XDG_CACHE_HOME (binaries under
# attrsync/tools/kube-VERSION).
set -euo pipefail

VERSION=v1.37.2   # k8s.io/kubernetes; etcd's version follows from go.mod
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${ATTRSYNC_KUBE_DIR:-${TMPDIR:-/tmp}/attrsync-kube}"
BIN="${XDG_CACHE_HOME:-$HOME/.cache}/attrsync/tools/kube-$VERSION"

log() { echo "kube.sh: $*" >&2; }
die() { log "$*"; exit 1; }

build() {
  [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/etcd" ] && return
  log "building kube-apiserver $VERSION and etcd from the Go module proxy into $BIN (once; several minutes)"
  local tmp
  mkdir -p "$(dirname "$BIN")"
  tmp=$(mktemp -d "$(dirname "$BIN")/.tmp.XXXXXX")
  (cd "$HERE" && go build -o "$tmp/etcd" go.etcd.io/etcd/server/v3 &&
    go build -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver) >&2 || { rm -rf "$tmp"; die "building failed"; }
  rm -rf "$BIN"; mv "$tmp" "$BIN"
}

free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free loopback port found"
}

wait_port() { # port what pidfile log
  local deadline=$((SECONDS + 120))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    kill -0 "$(cat "$3")" 2>/dev/null || { tail -30 "$4" >&2; die "$2 exited during start-up (log: $4)"; }
    [ $SECONDS -lt $deadline ] || { tail -30 "$4" >&2; die "$2 did not listen within 120s (log: $4)"; }
    sleep 0.3
  done
}

certs() {
  local c="$DIR/certs"
  mkdir -p "$c"
  command -v openssl >/dev/null 2>&1 || die "openssl is missing (apt-get install -y openssl)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=attrsync test apiserver CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$c/ca.key" -out "$c/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$c/apiserver.key" -out "$c/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$c/ext.cnf"
  openssl x509 -req -days 2 -in "$c/apiserver.csr" -CA "$c/ca.pem" -CAkey "$c/ca.key" -CAcreateserial \
    -extfile "$c/ext.cnf" -out "$c/apiserver.pem" 2>/dev/null
  openssl genrsa -out "$c/sa.key" 2048 2>/dev/null
  openssl rsa -in "$c/sa.key" -pubout -out "$c/sa.pub" 2>/dev/null
  chmod 600 "$c"/*.key
}

halt() { # pidfile
  [ -f "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}

case "${1:-}" in
start)
  command -v go >/dev/null 2>&1 || die "go is missing"
  [ -f "$DIR/apiserver.pid" ] && kill -0 "$(cat "$DIR/apiserver.pid")" 2>/dev/null && die "an API server already runs in $DIR (kube.sh stop first)"
  build
  rm -rf "$DIR"; mkdir -p "$DIR"; chmod 700 "$DIR"
  certs
  ETCD_PORT=$(free_port); PEER_PORT=$(free_port); API_PORT=$(free_port)
  while [ "$PEER_PORT" = "$ETCD_PORT" ]; do PEER_PORT=$(free_port); done
  while [ "$API_PORT" = "$ETCD_PORT" ] || [ "$API_PORT" = "$PEER_PORT" ]; do API_PORT=$(free_port); done
  TOKEN=$(openssl rand -hex 24)
  echo "$TOKEN,attrsync-test,attrsync-test,system:masters" >"$DIR/tokens.csv"
  chmod 600 "$DIR/tokens.csv"
  # setsid: both outlive the shell that started them (make, a test).
  setsid "$BIN/etcd" --name default --data-dir "$DIR/etcd" --log-level warn \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$PEER_PORT" >"$DIR/etcd.log" 2>&1 </dev/null &
  echo $! >"$DIR/etcd.pid"
  wait_port "$ETCD_PORT" etcd "$DIR/etcd.pid" "$DIR/etcd.log"
  # No nodes, so no endpoint reconciling; the service range is only
  # bookkeeping in etcd (dry-run Services get an address from it), nothing
  # is ever sent there.
  setsid "$BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$DIR/certs/apiserver.pem" --tls-private-key-file "$DIR/certs/apiserver.key" \
    --token-auth-file "$DIR/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$DIR/certs/sa.pub" --service-account-signing-key-file "$DIR/certs/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
    --v 1 >"$DIR/apiserver.log" 2>&1 </dev/null &
  echo $! >"$DIR/apiserver.pid"
  wait_port "$API_PORT" kube-apiserver "$DIR/apiserver.pid" "$DIR/apiserver.log"
  echo "ATTRSYNC_KUBE_SERVER=https://127.0.0.1:$API_PORT"
  echo "ATTRSYNC_KUBE_TOKEN=$TOKEN"
  echo "ATTRSYNC_KUBE_CA=$DIR/certs/ca.pem"
  ;;
stop)
  halt "$DIR/apiserver.pid"
  halt "$DIR/etcd.pid"
  rm -rf "$DIR"
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
