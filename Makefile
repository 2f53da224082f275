# camstream: capture (cameras -> JPEG over gRPC) and edge (gRPC -> MJPEG to browsers).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go

TOOLS := $(CURDIR)/.tools/bin
export PATH := $(TOOLS):$(PATH)
export GOFLAGS ?= -buildvcs=false

BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPCURL_VERSION            := v1.9.4
BENCHSTAT_VERSION          := v0.0.0-20260908200009-22c9c6c9d4da

# Every Go module of the workspace, in pipeline order.
MODULES := gen services/capture services/edge test deploy

BIN := $(CURDIR)/bin
# Passed to the end-to-end tests so they drive the binaries `make build` made.
export CAMSTREAM_BIN := $(BIN)

TEST_FLAGS ?= -race -count=1 -timeout 20m

.PHONY: all build deps check-deps tools gen gen-check lint test fuzz run bench clean images

all: build

## deps: install the Debian packages that are missing (OpenCV, GStreamer RTSP
## server, ffmpeg, Chromium, buildah); `make build`, `run`, `test` do it first
deps:
	bash scripts/install-deps.sh

check-deps:
	@pkg-config --exists opencv4 || { echo "OpenCV 4 development files are missing: run 'make deps'"; exit 1; }

## tools: pinned code generators and grpcurl in .tools/bin
tools: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc $(TOOLS)/grpcurl

$(TOOLS)/buf:
	GOBIN=$(TOOLS) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(TOOLS)/grpcurl:
	GOBIN=$(TOOLS) $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION)
$(TOOLS)/benchstat:
	GOBIN=$(TOOLS) $(GO) install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)

## build: bin/capture and bin/edge
build: deps check-deps
	$(GO) build -trimpath -o $(BIN)/capture ./services/capture/cmd/capture
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/edge ./services/edge/cmd/edge

## images: camstream/capture:dev and camstream/edge:dev with buildah, base
## images made locally when missing; IMAGES_OUT=DIR also writes OCI archives
images: deps
	bash scripts/images.sh

## gen: regenerate gen/ from proto/
gen: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc
	buf generate

## gen-check: fail when the committed gen/ differs from what `make gen` produces
gen-check: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	buf generate -o "$$tmp"; \
	if ! diff -r -x go.mod -x go.sum "$$tmp/gen" gen; then \
	  echo "gen/ is out of date with proto/: run 'make gen' and commit"; exit 1; \
	fi; echo "gen-check: gen/ matches proto/"

## lint: buf lint, gofmt, go vet on every module
lint: $(TOOLS)/buf
	buf lint
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/') 2>&1); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

## test: everything CI runs: generated-code drift, lint, build, the images,
## all tests (the deploy tests run the images)
test: deps tools gen-check lint build images
	@fail=""; for m in $(MODULES); do \
	  echo "== go test $$m"; (cd $$m && $(GO) test $(TEST_FLAGS) ./...) || fail="$$fail $$m"; \
	done; if [ -n "$$fail" ]; then echo "FAILED in:$$fail"; exit 1; fi
	$(MAKE) --no-print-directory fuzz

## fuzz: a short fuzz run (FUZZTIME each, default 50000 inputs) of the
## camera-file parser, the JPEG header reader and the edge's query parsing; seed corpora in
## testdata/fuzz. A count, not a duration: Go 1.26's fuzz coordinator can
## fail a duration run at its deadline with "context deadline exceeded"
## on a busy machine (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME ?= 50000x
fuzz:
	cd services/capture && $(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/config
	cd services/capture && $(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/jpegsof
	cd services/edge && $(GO) test -run '^$$' -fuzz '^FuzzQuery$$' -fuzztime $(FUZZTIME) ./internal/web

## run: build, start capture with the built-in test cameras and edge on :8080
run: build
	bash scripts/run.sh

## bench: pipeline benchmarks (RTSP camera → capture → edge → load client) and
## the Go micro-benchmarks, COUNT runs each (default 5), medians by benchstat
bench: build $(TOOLS)/benchstat
	$(GO) build -o $(BIN)/bareloop ./services/capture/cmd/bareloop
	$(GO) build -o $(BIN)/baresender ./test/baresender
	bash scripts/bench.sh

clean:
	rm -rf $(BIN) .tools
