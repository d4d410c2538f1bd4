# kdive: build, test, bench. `make test` is what CI runs (.ci/run).
GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: build test unit corpus fuzz bench sample

build:
	$(GO) build -o kdive ./cmd/kdive

# Builds the real-dump corpora if missing (QEMU + kdump; ~10 + ~8 min from scratch),
# then runs every test against it, then each fuzz target briefly.
test: corpus
	./scripts/install-peers.sh
	KDIVE_REQUIRE_CORPUS=1 $(GO) test -timeout 30m ./...
	$(GO) vet ./...
	FUZZTIME=$${FUZZTIME:-10s} ./scripts/fuzz-all.sh

unit:
	$(GO) test ./...

# Both corpora: the base one (goldens are tied to it) and the ext one
# (testdata/rig/ext: hung task, softirq oops, sockets, threads, slab cases).
corpus:
	./testdata/rig/ensure-corpus.sh
	RIG_SET=ext ./testdata/rig/ensure-corpus.sh

# kdive's main job on a sample dump the rig produced.
sample: build corpus
	./kdive -s $$HOME/.cache/kdive/corpus/vmlinux $$HOME/.cache/kdive/corpus/oops-proc/vmcore.lzo -c sys -c bt -c 'log | tail -3' -c 'sym jiffies' -c 'rd -64 jiffies 2'

bench: build corpus
	./bench/run.sh
