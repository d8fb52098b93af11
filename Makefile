# Every target sets up what it needs first (Go toolchain, modules), so a fresh
# Debian machine needs nothing but make.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:$(HOME)/go/bin
GO ?= go
BIN := bin/drover
PKGS := ./...

.PHONY: all setup build demo test bench bench-sweep e2e e2e-containers e2e-calib e2e-slurm lint fuzz clean

all: build

setup:
	@./scripts/setup-go.sh
	@$(GO) mod download

build: setup
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/drover

# The main job on a bundled scenario: simulate it, print the summary, and
# point at the HTML report to open.
demo: build
	$(BIN) validate scenarios/examples/small.yaml
	@echo
	@echo "One migration through the model (every field: bin/drover predict --help):"
	$(BIN) predict --memory 256MiB --resident 190MiB --wss 128MiB --dirty-rate 16MiB/s --bandwidth 32MiB/s
	@echo
	$(BIN) sim scenarios/examples/small.yaml --out out/demo --format html --no-progress
	@echo
	@echo "The demo's report: $(CURDIR)/out/demo/report.html"
	@echo "Open it in a browser (xdg-open out/demo/report.html, or file://$(CURDIR)/out/demo/report.html): it needs no network."

# Fast unit tests (Ginkgo suites run under plain go test).
test: setup
	$(GO) vet $(PKGS)
	$(GO) test -count=1 $(PKGS)

# The figures of BENCHMARKS.md. BIG=1 adds the 10,000-host day (minutes).
bench: setup
	$(GO) test -run '^$$' -bench . -benchmem ./scheduler/... ./scenarios/
	$(GO) test -run '^$$' -bench 'BalancePlan' -benchtime 3x ./sim/
	$(GO) test -run '^$$' -bench 'Day(100|1000)$$' -benchtime 1x -timeout 30m ./sim/
	$(GO) test -run '^$$' -bench 'HTMLDay1000$$' -benchtime 3x -timeout 30m ./sim/
	if [ -n "$(BIG)" ]; then $(GO) test -run '^$$' -bench 'Day10000$$' -benchtime 1x -timeout 60m ./sim/; fi

# The sweep figures of BENCHMARKS.md: the local pool at --jobs 1 and 2, and
# expanding a sweep of 100,000 runs.
bench-sweep: setup
	$(GO) test -run '^$$' -bench . -benchtime 3x ./sweep/

fuzz: setup
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./scenarios/

# The real-host suites: the Go suites on libvirt hosts in containers (the
# backend against real daemons, then drover's commands, policies and faults
# end to end, the operator's path included), then the calibration checks.
e2e: e2e-containers e2e-calib

# The calibration checks need a host's files and links from outside, which is
# where the committed profile was fitted: installs libvirt 11.3 and QEMU 10.0
# from backports and starts libvirtd hosts in network namespaces on
# 198.18.0.0/24 (root).
e2e-calib: setup
	e2e/lab/install.sh
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/drover
	# Plan against apply on three dirtying guests with the default profile (its TCG half);
	# fails if a guest is lost or the median error is above 25%.
	DROVER=$(CURDIR)/$(BIN) OUT=$(CURDIR)/out/fidelity e2e/lab/fidelity.sh
	# A small fresh calibration grid measured by drover calibrate --inventory
	# (~2 min), predicted by the committed profile, which never saw it.
	DROVER=$(CURDIR)/$(BIN) OUT=$(CURDIR)/out/calib-e2e e2e/lab/grid.sh

# The Go suites on libvirt hosts in Docker containers (testcontainers-go),
# each in random order: the libvirt backend against real daemons, then
# drover's commands and policies end to end. What a runner with Docker can
# run (starts dockerd on a Debian machine without one; builds the host image
# once, ~2 min). One package at a time: both boot TCG guests on the same cores.
e2e-containers: setup
	e2e/container/docker-up.sh
	TESTCONTAINERS_RYUK_DISABLED=true DROVER_CONTAINERS=1 $(GO) test -p 1 -count=1 -timeout 40m ./backend/libvirt/ ./e2e/containers/ -ginkgo.randomize-all

# Sweeps as Slurm job arrays on a real one-node Slurm started here from
# Debian's packages (root; installs slurmctld, slurmd and munge if missing;
# no systemd): the array against the local pool byte for byte, a cancelled
# task resubmitted, a malformed sweep (~1 min).
e2e-slurm: setup
	if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd munge; fi
	DROVER_SLURM=1 $(GO) test -count=1 -timeout 5m -run TestSlurm -v ./sweep/

lint: setup
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff

clean:
	rm -rf bin out
