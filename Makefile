# attrsync — the two set-up commands are `make demo` and `make test`.
GO ?= go
PKGS := ./...

.PHONY: all build demo test test-short test-kafka fuzz bench lint deps-test sim clean

all: build

build:
	$(GO) build -o bin/attrsync ./cmd/attrsync
	$(GO) build -o bin/iterable-sim ./cmd/iterable-sim

## demo: the whole pipeline in one process (embedded Kafka, Redis, Iterable simulator)
demo:
	$(GO) run ./cmd/attrsync demo

## test: every test with the race detector; tests start their own redis-server
## on a free loopback port and an in-process Kafka broker. Then the
## integration tier on a real Apache Kafka broker (test-kafka).
test: deps-test
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 20m $$($(GO) list $(PKGS) | grep -v /internal/realkafka)
	$(GO) test -count=1 -run TestQuickRun ./internal/bench
	$(MAKE) fuzz FUZZTIME=10s
	$(MAKE) test-kafka

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
	$(GO) test -race -count=1 -timeout 15m ./internal/realkafka

## test-short: the quick unit tests
test-short:
	$(GO) test -short -race $(PKGS)

FUZZTIME ?= 30s
## fuzz: a short run of the decoder fuzzer over its committed seed corpus
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./internal/cdc

## bench: throughput and memory figures beside their baselines (needs redis-server)
bench: deps-test
	$(GO) run ./internal/bench/cmd

## deps-test: install what the tests need and the machine lacks (Debian or
## Ubuntu; as root or through sudo). It installs nothing when all is there.
deps-test:
	@deploy/local/install-deps.sh

lint:
	gofmt -l . | (! grep .)
	$(GO) vet $(PKGS)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.7.0 $(PKGS)

sim:
	$(GO) run ./cmd/iterable-sim

clean:
	rm -rf bin
