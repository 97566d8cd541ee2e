# av1job: see README.md.
GO      ?= go
BIN     := bin/av1job
# The race detector makes the encoders' Go side slower, not rav1e: keep it on.
TESTFLAGS ?= -race -timeout 25m -parallel 4
# A race-built program sleeps 1 s before it exits (so that late reports
# surface), and the tests run race-built programs by the hundred: av1job
# for every status, pause and stop, the test binaries as stand-ins.
export GORACE ?= atexit_sleep_ms=0

.PHONY: all build deps check test lint bench bench-scenes bench-metric bench-tq demo chaos clean

all: build

deps:
	@bash scripts/install-deps.sh

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/av1job

# Without cgo, package rav1e builds its stub: the same files as -tags
# nolibrav1e (rav1e/encoder.go is the only cgo file). So one vet with
# CGO_ENABLED=0 type-checks the cgo-free build and vets the nolibrav1e
# one, tests included.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	$(GO) mod tidy -diff

# The unit tier, for the edit loop: go test -short skips every test that
# runs ffmpeg, rav1e or the av1job binary, and needs none of them.
check:
	$(GO) test -short ./...

test: deps lint
	$(GO) test -tags nolibrav1e ./rav1e/ ./internal/encode/
	$(GO) test $(TESTFLAGS) ./...

# Encodes a generated 640x360 clip with av1job, plain rav1e and ffmpeg's
# librav1e and prints a table. BENCH_SLOW=1 adds speed 6.
bench: deps build
	$(GO) run ./tools/bench

# Scores av1job's scene-cut detector, ffmpeg's scdet and select on a
# generated set of clips (cached after the first run) and prints precision,
# recall, F1 and frames per second.
bench-scenes: deps
	$(GO) run ./tools/benchscenes

# Times package ssimulacra2 on a generated 1080p pair, and the reference
# SSIMULACRA 2 tool on the same PNGs when $SSIMULACRA2_REF names it or
# ssimulacra2 is in PATH.
bench-metric:
	$(GO) run ./tools/benchmetric

# Encodes a generated clip of eight scenes to a target SSIMULACRA2 score,
# prints each chunk's probes, quantizer and predicted and measured scores,
# and compares size and worst chunk with the fixed quantizer of the same
# mean score.
bench-tq: deps
	$(GO) run ./tools/benchtq

# Generates a 20-second sample with scene cuts, audio and subtitles, encodes
# it with progress, and verifies the result.
demo: deps build
	@bash scripts/demo.sh

# Kills a job with SIGKILL 50 times, resuming each time, and prints how
# many frames were encoded again per kill.
chaos: deps
	AV1JOB_CHAOS_KILLS=50 $(GO) test -race -count=1 -timeout 60m -run 'TestKillAndResume$$' -v . | grep -E 'kills;|^(---|ok|FAIL|PASS)'

clean:
	rm -rf bin demo
