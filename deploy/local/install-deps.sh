#!/usr/bin/env bash
# Installs what `make test` needs on a Debian or Ubuntu machine that has only
# Go, and nothing when everything is there (`make test` runs it first):
#   make                                the build itself
#   gcc, libc6-dev                      go test -race links the race runtime
#                                       through cgo (Go leaves cgo off when it
#                                       finds no C compiler)
#   redis-server                        the tests start their own instances on
#                                       free loopback ports; the system service
#                                       is stopped and never used
#   openjdk-17-jre-headless, maven      the real-Kafka tier (deploy/local/kafka/kafka.sh
#   openssl                             fetches the broker's jars from Maven
#                                       Central and makes its certificates)
#   podman, buildah, runc               the image tier (make image, make test-image)
#   ca-certificates                     copied into the image
#   python3-pip                         the deploy tier fetches Kubernetes' JSON
#                                       schemas from PyPI (deploy/local/tools.sh)
# As root, or through sudo. Safe to run again.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps.sh: run as root, or install sudo" >&2; exit 1; }
  SUDO=sudo
else
  SUDO=
fi
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need make make
need gcc gcc
[ -f /usr/include/stdlib.h ] || missing+=(libc6-dev)
need redis-server redis-server
need java openjdk-17-jre-headless
need mvn maven
need openssl openssl
need podman podman
need buildah buildah
[ -x /usr/sbin/runc ] || missing+=(runc)
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "install-deps.sh: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
# The redis package starts a system instance; the tests never use it.
if [[ " ${missing[*]} " == *" redis-server "* ]]; then
  $SUDO systemctl stop redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
