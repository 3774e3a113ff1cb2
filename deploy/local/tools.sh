#!/usr/bin/env bash
# The deploy tier's tools, built or fetched once into
# ${XDG_CACHE_HOME:-~/.cache}/attrsync/tools and reused on every later run:
#   helm, kubeconform     built from the Go module proxy (go install)
#   Kubernetes schemas    the JSON schemas the PyPI package kubernetes-validate
#                         ships, one directory per Kubernetes version
#   CRDs                  KEDA's ScaledObject and TriggerAuthentication, and the
#                         Prometheus Operator's ServiceMonitor,
#                         read from their Go modules
#   compose-spec.json     the Compose file schema, from compose-go's Go module
#
#   tools.sh env    make sure everything is there, then print NAME=value lines
#                   for internal/deploycheck (ATTRSYNC_HELM, ATTRSYNC_KUBECONFORM,
#                   ATTRSYNC_K8S_SCHEMAS, ATTRSYNC_CRDS, ATTRSYNC_COMPOSE_SCHEMA)
set -euo pipefail

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
K8S_SCHEMAS_VERSION=1.37.0   # kubernetes-validate on PyPI
KEDA_VERSION=v2.21.0
PROMETHEUS_OPERATOR_VERSION=v0.85.0
COMPOSE_GO_VERSION=v2.16.2   # v2.17 needs Go 1.26.11

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/attrsync/tools"
log() { echo "tools.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# Each tool is made in a scratch directory and moved into place whole, so an
# interrupted run never leaves half a tool that later runs would trust.
scratch() { mktemp -d "$CACHE/.tmp.XXXXXX"; }

go_tool() { # name module version
  local dir="$CACHE/$1-$3"
  [ -x "$dir/$1" ] && { echo "$dir/$1"; return; }
  log "building $1 $3 from the Go module proxy (once)"
  local tmp; tmp=$(scratch)
  (cd "$tmp" && GOBIN="$tmp" go install "$2@$3") >&2 || die "go install $2@$3 failed"
  rm -rf "$dir"; mv "$tmp" "$dir"
  echo "$dir/$1"
}

k8s_schemas() {
  local dir="$CACHE/kubernetes-validate-$K8S_SCHEMAS_VERSION"
  if [ ! -d "$dir/kubernetes-json-schema" ]; then
    python3 -m pip --version >/dev/null 2>&1 || die "pip is missing (deploy/local/install-deps.sh installs python3-pip)"
    log "fetching kubernetes-validate $K8S_SCHEMAS_VERSION from PyPI (once)"
    local tmp; tmp=$(scratch)
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp/wheel" "kubernetes-validate==$K8S_SCHEMAS_VERSION" >&2 ||
      die "pip download kubernetes-validate==$K8S_SCHEMAS_VERSION failed"
    python3 -m zipfile -e "$tmp"/wheel/*.whl "$tmp/unpacked"
    mkdir -p "$tmp/out"
    mv "$tmp/unpacked/kubernetes_validate/kubernetes-json-schema" "$tmp/out/"
    rm -rf "$dir"; mv "$tmp/out" "$dir"; rm -rf "$tmp"
  fi
  echo "$dir/kubernetes-json-schema"
}

# module_dir prints where the Go module cache holds module@version, fetching
# it once. It runs outside any module, so no go.mod is touched.
module_dir() {
  local tmp dir; tmp=$(scratch)
  dir=$(cd "$tmp" && go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$tmp"
  [ -n "$dir" ] && [ -d "$dir" ] || die "go mod download $1@$2 failed"
  echo "$dir"
}

crds() {
  local dir="$CACHE/crds-keda-$KEDA_VERSION-prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
  if [ ! -f "$dir/.complete" ]; then
    log "reading CRDs from the KEDA and Prometheus Operator modules (once)"
    local keda promop tmp
    keda=$(module_dir github.com/kedacore/keda/v2 "$KEDA_VERSION")
    promop=$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")
    tmp=$(scratch)
    cp "$keda/config/crd/bases/keda.sh_scaledobjects.yaml" "$keda/config/crd/bases/keda.sh_triggerauthentications.yaml" "$tmp/"
    cp "$promop/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$tmp/"
    chmod 644 "$tmp"/*.yaml
    touch "$tmp/.complete"
    rm -rf "$dir"; mv "$tmp" "$dir"
  fi
  echo "$dir"
}

compose_schema() {
  local file="$CACHE/compose-spec-$COMPOSE_GO_VERSION.json"
  if [ ! -f "$file" ]; then
    local mod tmp
    mod=$(module_dir github.com/compose-spec/compose-go/v2 "$COMPOSE_GO_VERSION")
    tmp=$(scratch)
    cp "$mod/schema/compose-spec.json" "$tmp/compose-spec.json"
    chmod 644 "$tmp/compose-spec.json"
    mv "$tmp/compose-spec.json" "$file"; rm -rf "$tmp"
  fi
  echo "$file"
}

case "${1:-}" in
env)
  command -v go >/dev/null 2>&1 || die "go is missing"
  mkdir -p "$CACHE"
  echo "ATTRSYNC_HELM=$(go_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION")"
  echo "ATTRSYNC_KUBECONFORM=$(go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION")"
  echo "ATTRSYNC_K8S_SCHEMAS=$(k8s_schemas)"
  echo "ATTRSYNC_CRDS=$(crds)"
  echo "ATTRSYNC_COMPOSE_SCHEMA=$(compose_schema)"
  ;;
*)
  echo "usage: $0 env" >&2
  exit 2
  ;;
esac
