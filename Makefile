# faultline: see README.md for what each target does and how long it takes.
GO         ?= go
BIN        := bin/faultline
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
SCENARIO   ?= scenarios/quickstart.yaml

# Each target first runs scripts/install-deps.sh with the groups it needs:
# it checks in seconds, installs what is missing with apt as root, and
# fails naming what it could not install, before anything long starts.
DEPS       := ./scripts/install-deps.sh

# Tests print their output as go test does, then every skipped test with
# its reason. FAULTLINE_REQUIRE=all (set by .ci/run, make e2e and make
# nightly) turns a skip for a missing dependency into a failure.
GOTEST     = set -o pipefail; $(GO) test -json
TESTSUM    = $(GO) run ./internal/cmd/testsum
SHELL      := /bin/bash

.PHONY: all build run test test-short lint bench fuzz images vitess e2e nightly clean

all: build

build:
	@$(DEPS) go
	$(GO) build -o $(BIN) ./cmd/faultline

# The main job: the quickstart on the embedded local platform (real etcd,
# no containers, no image pulls). The last line printed is the report.
run: build
	./$(BIN) run $(SCENARIO)

# Everything CI runs: unit, integration (real etcd, PostgreSQL, MariaDB
# on this machine) and fuzz seeds. Installs the database servers and the
# network tools first (as root, with apt); a test that needs what is
# missing skips saying why, or fails under FAULTLINE_REQUIRE=all.
test: vitess
	@$(DEPS) go databases net chaos-mesh
	$(GOTEST) -timeout 25m ./... | $(TESTSUM)

test-short:
	$(GO) test -short ./...

lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...
	$(GO) run $(STATICCHECK) ./...

# Benchmarks of the checkers and of the recorder, with their targets side
# by side; then the load benchmark, faultline's load path against pgbench
# on one PostgreSQL (about 10 min; LOADBENCH_DURATION, LOADBENCH_REPS).
bench:
	@$(DEPS) go databases net bench
	./scripts/bench.sh

# The Vitess programs (mysqlctl, vtctld, vtctldclient, vtgate, vtorc,
# vttablet) built from the Go module vitess.io/vitess with faultline's
# MariaDB compatibility changes, into ~/.cache/faultline/vitess: about 8
# min cold on 2 cores, a no-op when cached. FAULTLINE_VITESS_BIN points at
# programs you already have instead.
vitess:
	@$(DEPS) go databases
	$(GO) run ./cmd/faultline engines build vitess

# A short run of every fuzz target.
fuzz:
	$(GO) test -run XXX -fuzz FuzzRead -fuzztime 30s ./workload
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./scenarios
	$(GO) test -run XXX -fuzz FuzzReadEDN -fuzztime 30s ./workload/jepsen

# The kind node, engine and Chaos Mesh images, built from pinned Go modules
# and Debian packages with no registry (see images/); unchanged images are
# kept.
images:
	@$(DEPS) go docker net images chaos-mesh
	$(GO) run ./cmd/faultline images build

# The end-to-end suite on a real three-zone kind cluster: etcd through a
# node kill, a zone outage, a zone partition and inter-zone latency, each
# required to pass with no lost write. Needs Docker and root; builds the
# images first (10-20 min the first time, seconds after). About 6 min.
# JUnit: runs/e2e/junit.xml. Select by label:
#   make e2e E2E_FLAGS="-ginkgo.label-filter=fault:kill"
E2E_FLAGS ?=
e2e: images
	@$(DEPS) go databases net docker images chaos-mesh
	FAULTLINE_REQUIRE=all FAULTLINE_E2E_OUT=$(CURDIR)/runs/e2e $(GO) test -tags e2e -timeout 60m -v ./tests/e2e -ginkgo.v $(E2E_FLAGS)

# Everything, for a nightly job (about 90 min on 2 cores after images):
# the e2e suite; the own e2e tests of the kind platform, the images and the
# selection report (a real matrix, its pages opened in headless Chromium);
# ten minutes of load at 2,000 ops/s holding memory flat; every built-in
# scenario that passes, as one engine-selection report; the selection
# matrix of examples/selection.yaml against the previous night's; the
# benchmarks.
NIGHTLY_SCENARIOS := quickstart etcd-partitions etcd-regions postgres-bank postgres-append mariadb-append kind-etcd kind-etcd-regions vitess-failover vitess-sharded vitess-zone-outage
nightly: e2e build vitess
	@$(DEPS) go databases net docker images bench browser
	FAULTLINE_REQUIRE=all $(GOTEST) -tags e2e -timeout 60m ./platform/kind ./images ./faults ./measure ./workload/sqlclient ./matrix ./engines/vitess | $(TESTSUM)
	./$(BIN) matrix $(NIGHTLY_SCENARIOS) --out runs/nightly
	@# The selection matrix of everything this machine can run, compared with
	@# the previous night's when one is kept (runs/selection-previous).
	@if [ -d runs/selection ]; then rm -rf runs/selection-previous && mv runs/selection runs/selection-previous; fi
	./$(BIN) matrix examples/selection.yaml --out runs/selection
	@if [ -d runs/selection-previous ]; then ./$(BIN) report runs/selection --baseline runs/selection-previous --fail-on-regression; fi
	./scripts/bench.sh

clean:
	rm -rf bin
