# faultline: see README.md for what each target does and how long it takes.
GO         ?= go
BIN        := bin/faultline
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
SCENARIO   ?= scenarios/quickstart.yaml

.PHONY: all build run test test-short lint bench fuzz images e2e nightly clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/faultline

# The main job: the quickstart on the embedded local platform (real etcd,
# no containers, no image pulls). The last line printed is the report.
run: build
	./$(BIN) run $(SCENARIO)

# Everything CI runs: unit, integration (real etcd, PostgreSQL, MariaDB
# on this machine) and fuzz seeds. Installs the database servers first
# when the machine has apt and root; tests that need a missing binary or
# root skip with a message saying which.
test:
	./scripts/install-databases.sh
	$(GO) test -timeout 25m ./...

test-short:
	$(GO) test -short ./...

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Benchmarks of the checkers, with their targets side by side.
bench:
	./scripts/bench.sh

# A short run of every fuzz target.
fuzz:
	$(GO) test -run XXX -fuzz FuzzRead -fuzztime 30s ./workload
	$(GO) test -run XXX -fuzz FuzzParse -fuzztime 30s ./scenarios
	$(GO) test -run XXX -fuzz FuzzReadEDN -fuzztime 30s ./workload/jepsen

# The kind node and engine images, built from pinned Go modules and Debian
# packages with no registry (see images/); unchanged images are kept.
images:
	$(GO) run ./cmd/faultline images build

clean:
	rm -rf bin
