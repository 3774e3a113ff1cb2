#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft: broker and controller in one
# JVM, no ZooKeeper) on loopback, for attrsync's integration tests.
#
#   kafka.sh start     resolve the broker's jars (Maven Central, cached), make
#                      certificates, format storage with a SCRAM user, start,
#                      wait until it serves, and print the settings as
#                      NAME=value lines (also written to $ATTRSYNC_KAFKA_DIR/env)
#   kafka.sh restart   stop the broker process and start it again on the same
#                      ports and data (what a broker restart looks like)
#   kafka.sh stop      stop the broker and delete its data
#   kafka.sh status    exit 0 when the broker runs
#
# Listeners: PLAINTEXT (ATTRSYNC_KAFKA_BROKERS) and SASL_SSL with SCRAM-SHA-512
# (ATTRSYNC_KAFKA_SASL_BROKERS), both on 127.0.0.1 only.
#
# Environment: ATTRSYNC_KAFKA_DIR (instance directory, default
# ${TMPDIR:-/tmp}/attrsync-kafka), KAFKA_HEAP_OPTS (default -Xmx512m -Xms256m),
# XDG_CACHE_HOME (jar cache under attrsync/kafka/VERSION).
set -euo pipefail

VERSION=4.4.0
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
DIR="${ATTRSYNC_KAFKA_DIR:-${TMPDIR:-/tmp}/attrsync-kafka}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/attrsync/kafka/$VERSION"
SCRAM_USER=attrsync

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

need_java() {
  command -v java >/dev/null 2>&1 || die "java is missing: Kafka $VERSION needs Java 17 or newer (deploy/local/install-deps.sh installs it; or apt-get install -y openjdk-17-jre-headless)"
  local out v
  # Captured whole, then cut: a pipe into head under pipefail can fail with
  # SIGPIPE when head closes it first.
  out="$(java -version 2>&1)" || die "java -version failed: $out"
  v="$(sed -n 's/.*version "\([0-9]*\).*/\1/p' <<<"$out")"
  v="${v%%$'\n'*}"
  [ -n "$v" ] && [ "$v" -ge 17 ] || die "java $v is too old: Kafka $VERSION needs Java 17 or newer"
}

# jars puts the broker's jars in the cache once; later runs reuse them.
jars() {
  if [ -f "$CACHE/.complete" ]; then return; fi
  command -v mvn >/dev/null 2>&1 || die "mvn is missing: it fetches the Kafka $VERSION jars from Maven Central once (deploy/local/install-deps.sh installs it; or apt-get install -y maven)"
  log "resolving Kafka $VERSION from Maven Central into $CACHE (once)"
  rm -rf "$CACHE/libs"
  mkdir -p "$CACHE"
  mvn -q -B -f "$HERE/pom.xml" -Dkafka.version="$VERSION" dependency:copy-dependencies \
    -DoutputDirectory="$CACHE/libs" -DincludeScope=runtime >&2 || die "mvn could not resolve org.apache.kafka:kafka_2.13:$VERSION"
  touch "$CACHE/.complete"
}

# free_port picks a free loopback port below the kernel's ephemeral range:
# a port inside it can be taken, while the broker restarts, as the local
# port of an outgoing connection (the clients reconnecting, the broker's
# own), and the broker then cannot bind it again.
free_port() {
  local p low=32768 range
  range=$(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) && low=${range%%[[:space:]]*}
  [ "$low" -gt 11024 ] || die "the ephemeral port range starts at $low: no room below it for the broker's ports"
  for _ in $(seq 1 200); do
    p=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free loopback port found"
}

certs() {
  local c="$DIR/certs"
  [ -f "$c/broker.p12" ] && return
  command -v openssl >/dev/null 2>&1 || die "openssl is missing (apt-get install -y openssl)"
  mkdir -p "$c"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=attrsync local test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$c/ca.key" -out "$c/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$c/broker.key" -out "$c/broker.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$c/ext.cnf"
  openssl x509 -req -days 30 -in "$c/broker.csr" -CA "$c/ca.pem" -CAkey "$c/ca.key" -CAcreateserial \
    -extfile "$c/ext.cnf" -out "$c/broker.pem" 2>/dev/null
  openssl pkcs12 -export -name broker -in "$c/broker.pem" -inkey "$c/broker.key" -certfile "$c/ca.pem" \
    -passout "pass:$STORE_PASSWORD" -out "$c/broker.p12"
  chmod 600 "$c"/*.key "$c/broker.p12"
}

# configure writes a new instance: ports, passwords, certificates,
# server.properties, formatted storage with the SCRAM user.
configure() {
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  PLAIN_PORT=$(free_port); SASL_PORT=$(free_port); CONTROLLER_PORT=$(free_port)
  while [ "$SASL_PORT" = "$PLAIN_PORT" ]; do SASL_PORT=$(free_port); done
  while [ "$CONTROLLER_PORT" = "$PLAIN_PORT" ] || [ "$CONTROLLER_PORT" = "$SASL_PORT" ]; do CONTROLLER_PORT=$(free_port); done
  STORE_PASSWORD=$(openssl rand -hex 16)
  SCRAM_PASSWORD=$(openssl rand -hex 16)
  certs
  cat >"$DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PLAIN_PORT,SASL_SSL://127.0.0.1:$SASL_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PLAIN_PORT,SASL_SSL://127.0.0.1:$SASL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$DIR/certs/broker.p12
ssl.keystore.password=$STORE_PASSWORD
ssl.key.password=$STORE_PASSWORD
log.dirs=$DIR/data
num.partitions=1
# One broker: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests start members one after another; no need to wait for more to join.
group.initial.rebalance.delay.ms=0
EOF
  cat >"$DIR/log4j2.properties" <<'EOF'
status = error
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRefs = stdout
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
EOF
  local id
  id=$(java -cp "$CACHE/libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
  java -Xmx256m -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$CACHE/libs/*" kafka.tools.StorageTool format \
    -t "$id" -c "$DIR/server.properties" \
    --add-scram "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" >"$DIR/format.log" 2>&1 ||
    { cat "$DIR/format.log" >&2; die "formatting the broker's storage failed"; }
  cat >"$DIR/env" <<EOF
ATTRSYNC_KAFKA_BROKERS=127.0.0.1:$PLAIN_PORT
ATTRSYNC_KAFKA_SASL_BROKERS=127.0.0.1:$SASL_PORT
ATTRSYNC_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
ATTRSYNC_KAFKA_SASL_USERNAME=$SCRAM_USER
ATTRSYNC_KAFKA_SASL_PASSWORD=$SCRAM_PASSWORD
ATTRSYNC_KAFKA_CA_FILE=$DIR/certs/ca.pem
ATTRSYNC_KAFKA_CONTROL=$SELF
ATTRSYNC_KAFKA_DIR=$DIR
EOF
  chmod 600 "$DIR/env"
}

running() { [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; }

launch() {
  local port
  port=$(sed -n 's/^ATTRSYNC_KAFKA_BROKERS=127.0.0.1://p' "$DIR/env")
  # Only lines logged by this launch count: after a restart the log still
  # holds the previous start's "Kafka Server started", which let restart
  # return before the new broker was up.
  local from=0
  [ -f "$DIR/broker.log" ] && from=$(wc -l <"$DIR/broker.log")
  # setsid: the broker outlives the shell that started it (make, a test).
  setsid java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$DIR/log4j2.properties" \
    -cp "$CACHE/libs/*" kafka.Kafka "$DIR/server.properties" >>"$DIR/broker.log" 2>&1 </dev/null &
  echo $! >"$DIR/pid"
  # Ready when the broker has registered and its client listener accepts.
  local deadline=$((SECONDS + 90))
  until awk -v from="$from" 'NR > from && /Kafka Server started/ { found = 1 } END { exit !found }' "$DIR/broker.log" 2>/dev/null &&
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! running; then tail -40 "$DIR/broker.log" >&2; die "the broker exited during start-up (log: $DIR/broker.log)"; fi
    [ $SECONDS -lt $deadline ] || { tail -40 "$DIR/broker.log" >&2; halt; die "the broker was not ready within 90s (log: $DIR/broker.log)"; }
    sleep 0.2
  done
}

# halt stops the broker process: SIGTERM (a controlled shutdown), then
# SIGKILL after 30s.
halt() {
  running || { rm -f "$DIR/pid"; return 0; }
  local pid
  pid=$(cat "$DIR/pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then log "broker did not stop within 30s; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$DIR/pid"
}

case "${1:-}" in
start)
  need_java
  if running; then die "a broker already runs in $DIR (kafka.sh stop first)"; fi
  jars
  rm -rf "$DIR"
  configure
  launch
  cat "$DIR/env"
  ;;
restart)
  need_java
  [ -f "$DIR/env" ] || die "no broker in $DIR (kafka.sh start first)"
  halt
  echo "--- restart $(date -u +%FT%TZ) ---" >>"$DIR/broker.log"
  launch
  ;;
stop)
  halt
  rm -rf "$DIR"
  ;;
status)
  running
  ;;
*)
  echo "usage: $0 start|restart|stop|status" >&2
  exit 2
  ;;
esac
