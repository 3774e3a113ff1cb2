#!/usr/bin/env bash
# Installs what attrsync's tests need on a Debian machine: redis-server (the
# tests start their own instances on free loopback ports; the system service
# is not used), and Java 17+ with Maven for the real-Kafka tier
# (deploy/local/kafka/kafka.sh fetches the broker's jars from Maven Central).
# Safe to run again.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The redis package starts a system instance; the tests never use it.
if [[ " ${missing[*]} " == *" redis-server "* ]]; then
  $SUDO systemctl stop redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
redis-server --version
