#!/usr/bin/env bash
# Installs what attrsync's tests need on a Debian machine: redis-server (the
# tests start their own instances on free loopback ports; the system service
# is not used). Safe to run again.
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
  # The package starts a system instance; the tests never use it.
  $SUDO systemctl stop redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
redis-server --version
