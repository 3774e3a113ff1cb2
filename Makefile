# attrsync — the two set-up commands are `make demo` and `make test`.
GO ?= go
PKGS := ./...

.PHONY: all build demo test test-short test-kafka image test-image test-deploy test-apiserver fuzz bench pgo lint deps-test sim clean

all: build

build:
	$(GO) build -o bin/attrsync ./cmd/attrsync
	$(GO) build -o bin/iterable-sim ./cmd/iterable-sim

## demo: the whole pipeline in one process (embedded Kafka, Redis, Iterable simulator)
demo:
	$(GO) run ./cmd/attrsync demo

## test: every test with the race detector; tests start their own redis-server
## on a free loopback port and an in-process Kafka broker. Then the
## integration tier on a real Apache Kafka broker (test-kafka), the
## production image run with podman (test-image) and the Helm chart
## (test-deploy). The tiers' packages (realkafka, deploycheck) run only
## there, with what they need started.
test: deps-test
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 20m $$($(GO) list $(PKGS) | grep -v -e /internal/realkafka -e /internal/deploycheck)
	$(GO) test -count=1 -run TestQuickRun ./internal/bench
	$(MAKE) fuzz FUZZTIME=50000x
	$(MAKE) test-kafka
	$(MAKE) test-image
	$(MAKE) test-deploy

KAFKA_SH := deploy/local/kafka/kafka.sh
## test-kafka: internal/realkafka against a real single-node Kafka broker,
## started on loopback for the run and stopped afterwards, even on failure.
## To use your own cluster instead: see README, "Integration tests on a real broker".
test-kafka: deps-test
	@set -e; \
	export ATTRSYNC_KAFKA_DIR="$${TMPDIR:-/tmp}/attrsync-kafka-make-$$$$"; \
	trap '$(KAFKA_SH) stop' EXIT; \
	start=$$(date +%s); \
	broker_env=$$($(KAFKA_SH) start); \
	export $$broker_env; \
	echo "kafka: broker on $$ATTRSYNC_KAFKA_BROKERS (SASL_SSL on $$ATTRSYNC_KAFKA_SASL_BROKERS), up in $$(( $$(date +%s) - start ))s"; \
	$(GO) test -race -count=1 -timeout 15m ./internal/realkafka || { \
	  echo "kafka: tests failed; the end of the broker's log ($$ATTRSYNC_KAFKA_DIR/broker.log, deleted on exit):"; \
	  tail -n 100 "$$ATTRSYNC_KAFKA_DIR/broker.log"; exit 1; }

## image: the production image (deploy/container/Dockerfile), built with
## podman from static binaries compiled here (BINARIES=host), so no registry
## is needed; with a registry, `docker build -f deploy/container/Dockerfile .`
## builds the same image from source.
IMAGE ?= localhost/attrsync:dev
OCI_RUNTIME ?= /usr/sbin/runc
# The sandbox of the development and CI machines needs these podman settings;
# a CONTAINERS_CONF of your own wins.
export CONTAINERS_CONF ?= $(CURDIR)/deploy/local/containers.conf
PODMAN := podman --runtime $(OCI_RUNTIME)
IMAGE_CTX := bin/image
image: deps-test
	@rm -rf $(IMAGE_CTX) && mkdir -p $(IMAGE_CTX)/usr/local/bin $(IMAGE_CTX)/etc/ssl/certs
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(IMAGE_CTX)/usr/local/bin/attrsync ./cmd/attrsync
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags="-s -w" -o $(IMAGE_CTX)/usr/local/bin/iterable-sim ./cmd/iterable-sim
	cp /etc/ssl/certs/ca-certificates.crt $(IMAGE_CTX)/etc/ssl/certs/
	$(PODMAN) build --quiet --iidfile $(IMAGE_CTX).iid -f deploy/container/Dockerfile --build-arg BINARIES=host -t $(IMAGE) .
	@$(PODMAN) image inspect --format '{{.Size}}' $(IMAGE) | awk '{printf "image $(IMAGE): %.1f MB\n", $$1/1e6}'

## test-image: the image run as a user would (internal/deploycheck, TestImage*):
## `attrsync demo` inside it, and `attrsync run` inside it with the host's
## network against a real Kafka broker, a redis-server and the simulator on
## loopback, until the sync completes and SIGTERM ends it with status 0.
## The tests get the image by the ID this build wrote, not by its tag, which
## another checkout on the machine may be re-pointing meanwhile.
test-image: image
	@set -e; \
	export ATTRSYNC_KAFKA_DIR="$${TMPDIR:-/tmp}/attrsync-kafka-image-$$$$"; \
	trap '$(KAFKA_SH) stop' EXIT; \
	broker_env=$$($(KAFKA_SH) start); \
	export $$broker_env; \
	ATTRSYNC_IMAGE=$$(cat $(IMAGE_CTX).iid) ATTRSYNC_OCI_RUNTIME=$(OCI_RUNTIME) \
	  $(GO) test -race -count=1 -timeout 10m -run '^TestImage' -v ./internal/deploycheck

## test-deploy: the Helm chart (internal/deploycheck but TestImage*, TestAPIServer*):
## helm lint, helm template with several sets of values, every manifest
## validated strictly by kubeconform against offline Kubernetes schemas and
## KEDA's CRDs, KEDA's kafka trigger rules, the rendered config through
## `attrsync validate`, and the compose stack's config. helm, kubeconform,
## the schemas and CRDs are built or fetched once (deploy/local/tools.sh).
# (A command substitution is assigned before it is exported: `export $$(cmd)`
# succeeds even when cmd fails, and set -e would not stop.)
test-deploy:
	@set -e; \
	tools_env=$$(deploy/local/tools.sh env); \
	export $$tools_env; \
	$(GO) test -race -count=1 -timeout 10m -skip '^(TestImage|TestAPIServer)' ./internal/deploycheck

## test-apiserver (not part of make test): the chart's manifests and the
## CRDs applied to a real kube-apiserver with etcd on loopback, with
## server-side dry run and strict field validation. Both are built from the
## Go module proxy once (deploy/local/kube; 13 minutes cold on the shared
## 2-core machine).
test-apiserver:
	@set -e; \
	tools_env=$$(deploy/local/tools.sh env); \
	export $$tools_env; \
	export ATTRSYNC_KUBE_DIR="$${TMPDIR:-/tmp}/attrsync-kube-make-$$$$"; \
	trap 'deploy/local/kube/kube.sh stop' EXIT; \
	kube_env=$$(deploy/local/kube/kube.sh start); \
	export $$kube_env; \
	$(GO) test -race -count=1 -timeout 10m -run '^TestAPIServer' -v ./internal/deploycheck

## test-short: the quick unit tests
test-short:
	$(GO) test -short -race $(PKGS)

# FUZZTIME is a count of inputs (Nx) by default: with a duration, Go 1.26's
# fuzzing coordinator can fail a clean run with "context deadline exceeded"
# when a busy worker is still mid-input as the time runs out
# (go.dev/issue/75804, fixed in Go 1.27). A count has no deadline to race.
FUZZTIME ?= 200000x
## fuzz: a short run of each decoder fuzzer (JSON forms, then Avro and
## Protobuf) over its committed seed corpus
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./internal/cdc
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeBinary$$' -fuzztime=$(FUZZTIME) ./internal/cdc

## bench: throughput and memory figures beside their baselines (needs
## redis-server). BROKER=kfake (the default) runs franz-go's in-process
## broker; BROKER=real starts a real Apache Kafka broker in its own process,
## as test-kafka does, so the broker's work and memory stay out of the
## bench's process. BENCH_FLAGS passes more flags (-quick, -users N, ...).
BROKER ?= kfake
bench: deps-test
	@set -e; \
	case "$(BROKER)" in \
	kfake) ;; \
	real) \
	  export ATTRSYNC_KAFKA_DIR="$${TMPDIR:-/tmp}/attrsync-kafka-bench-$$$$"; \
	  trap '$(KAFKA_SH) stop' EXIT; \
	  broker_env=$$($(KAFKA_SH) start); \
	  export $$broker_env; \
	  echo "kafka: broker on $$ATTRSYNC_KAFKA_BROKERS"; ;; \
	*) echo "BROKER=$(BROKER): want kfake or real" >&2; exit 2; ;; \
	esac; \
	$(GO) run -pgo=$(PGO_PROFILE) ./internal/bench/cmd -broker $(BROKER) $(BENCH_FLAGS)

## pgo: refresh the CPU profile every `go build` of cmd/attrsync optimizes
## with (profile-guided optimization; the go command picks up default.pgo in
## a main package's directory). It profiles the diff-path rows at 0, 10 and
## 100 % change on the real broker, the work a production run does, and
## merges the three. make bench builds with the same profile, so its rows
## measure the binary that ships.
PGO_PROFILE := $(CURDIR)/cmd/attrsync/default.pgo
pgo: deps-test
	@set -e; \
	export ATTRSYNC_KAFKA_DIR="$${TMPDIR:-/tmp}/attrsync-kafka-pgo-$$$$"; \
	out=$$(mktemp -d); \
	trap '$(KAFKA_SH) stop; rm -rf "$$out"' EXIT; \
	broker_env=$$($(KAFKA_SH) start); \
	export $$broker_env; \
	BENCH_BROKER=real USERS=1000000 EVENTS=400000 RATES=0,10,100 PROF="$$out/p" \
	  $(GO) test -tags diffonly -count=1 -timeout 30m -run TestDiffOnly ./internal/bench; \
	$(GO) tool pprof -proto "$$out/p.diff0.pprof" "$$out/p.diff10.pprof" "$$out/p.diff100.pprof" > "$$out/merged.pgo"; \
	mv "$$out/merged.pgo" $(PGO_PROFILE); \
	echo "pgo: wrote $(PGO_PROFILE)"

## deps-test: install what the tests need and the machine lacks (Debian or
## Ubuntu; as root or through sudo). It installs nothing when all is there.
deps-test:
	@deploy/local/install-deps.sh

lint:
	gofmt -l . | (! grep .)
	$(GO) vet $(PKGS)
	$(GO) vet -tags diffonly ./internal/bench
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.7.0 $(PKGS)

sim:
	$(GO) run ./cmd/iterable-sim

clean:
	rm -rf bin
