# Minebrain: the two commands are `make run` and `make test`. Both install whatever is missing
# first (Debian packages, npm packages, the pinned Wails CLI), idempotently, so a fresh Debian 12
# machine needs nothing else.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := build/bin
WORK      := build/work
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X minebrain/app/cli.Version=$(VERSION)
# Wails compiles its native window with the production tag; webkit2_41 selects the WebKitGTK
# 4.1 API that Debian 12 ships.
DESKTOP_TAGS := desktop,production,webkit2_41

# Debian packages: to build the desktop window, and additionally to test it and drive Chromium.
APT_BUILD := build-essential pkg-config libgtk-3-dev libwebkit2gtk-4.1-dev
APT_TEST  := chromium xvfb xauth imagemagick
# C plugins (sdk/c, `minebrain plugin build` of a C plugin, the C guests of the plugin tests):
# clang for wasm32-wasi with wasm-ld (lld), wasi-libc and its compiler-rt builtins.
APT_PLUGIN_C := clang lld wasi-libc libclang-rt-14-dev-wasm32
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/package.json $(wildcard frontend/vite.config.* frontend/tsconfig*.json frontend/svelte.config.*)

.PHONY: help run test build headless desktop windows dist deps deps-build deps-test deps-plugin-c testpeer-deps \
	frontend-deps e2e-deps frontend wails-cli vet go-test frontend-test e2e-test desktop-smoke \
	windows-check clean

help:
	@echo "make run    set everything up and start Minebrain on its simulated mine"
	@echo "            (the desktop window when DISPLAY is set, else the web face on 127.0.0.1:8080)"
	@echo "make test   set everything up and run every test"
	@echo "make dist   build the Linux desktop binary and the Windows .exe into $(BIN)"

# ---------------------------------------------------------------------------------------------
# The two commands

run: frontend headless
	@if [ -n "$${DISPLAY:-}" ]; then \
		$(MAKE) --no-print-directory desktop && exec ./$(BIN)/minebrain; \
	else \
		echo "No DISPLAY: starting the web face (open the URL below in a browser)."; \
		exec ./$(BIN)/minebrain-headless serve; \
	fi

test: deps vet go-test frontend-test e2e-test desktop-smoke windows-check
	@echo "make test: all tests passed"

# ---------------------------------------------------------------------------------------------
# Setting up (idempotent: each step checks before it installs)

deps: deps-build deps-test deps-plugin-c frontend-deps e2e-deps testpeer-deps wails-cli

# apt_install installs the Debian packages in $(1) that are not installed yet.
define apt_install
	missing=""; \
	for p in $(1); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps-build:
	@$(call apt_install,$(APT_BUILD))

deps-test:
	@$(call apt_install,$(APT_TEST))

deps-plugin-c:
	@$(call apt_install,$(APT_PLUGIN_C))

frontend-deps: frontend/node_modules/.installed
frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

e2e-deps: e2e/node_modules/.installed
e2e/node_modules/.installed: e2e/package-lock.json
	cd e2e && npm ci --no-audit --no-fund
	touch $@

# node-opcua, the independent OPC UA server the Go tests talk to (test-only; internal/opcuapeer).
testpeer-deps: testpeer/opcua/node_modules/.installed
testpeer/opcua/node_modules/.installed: testpeer/opcua/package-lock.json
	cd testpeer/opcua && npm ci --no-audit --no-fund
	touch $@

# The Wails CLI is pinned in go.mod as a tool (the stock `go install` of v2.9.2 fails on Go 1.26).
wails-cli:
	@$(GO) tool wails version >/dev/null

# ---------------------------------------------------------------------------------------------
# Building

frontend: frontend/dist/index.html
frontend/dist/index.html: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && npm run build

# The headless binary (no cgo): `serve`, `sim` and the tools. It embeds the built frontend.
headless: frontend
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/minebrain-headless .

# The desktop binary for this Linux machine (cgo, GTK and WebKitGTK 4.1).
desktop: deps-build frontend
	$(GO) build -trimpath -tags $(DESKTOP_TAGS) -ldflags '$(LDFLAGS)' -o $(BIN)/minebrain .

# The Windows desktop binary: Wails needs no cgo on Windows, so it cross-compiles from here.
windows: frontend
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -tags desktop,production \
		-ldflags '$(LDFLAGS) -H windowsgui' -o $(BIN)/minebrain.exe .

build: desktop headless
dist: desktop windows
	@ls -l $(BIN)/minebrain $(BIN)/minebrain.exe

# ---------------------------------------------------------------------------------------------
# Testing

# The plugin SDK and the test guests are modules of their own, built for wasip1.
vet: frontend
	$(GO) vet ./...
	cd sdk/go && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...
	cd app/plugins/testdata/guests && GOOS=wasip1 GOARCH=wasm $(GO) vet ./...

# -race on everything: the core is concurrent by nature (subscriptions, fan-out, faces).
# Plugins run without the race detector: wazero's compiler, instrumented, takes about 25 s
# per Go guest module instead of 1 (run `go test -race ./app/plugins/` by hand, ~3 min). The
# engine's plugin tests and `plugin run`'s are built only without -race (//go:build !race).
# MINEBRAIN_REQUIRE_CLANG: the C plugin tests fail (rather than skip) when clang cannot build.
go-test: export MINEBRAIN_REQUIRE_CLANG := 1
go-test: frontend testpeer-deps deps-plugin-c
	$(GO) test -race -count=1 -timeout 15m $$($(GO) list ./... | grep -v '/app/plugins')
	$(GO) test -count=1 -timeout 10m ./app/plugins/...
	$(GO) test -count=1 -timeout 5m -run Plugin ./app/engine/
	$(GO) test -count=1 -timeout 5m -run PluginRun ./app/cli/
	for d in plugins/*/; do (cd "$$d" && $(GO) vet ./... && $(GO) test -count=1 ./...) || exit 1; done

frontend-test: frontend-deps
	cd frontend && npm run check && npm test

e2e-test: deps-test e2e-deps headless
	cd e2e && MINEBRAIN_BIN=$(CURDIR)/$(BIN)/minebrain-headless npm test

desktop-smoke: deps-test desktop
	e2e/desktop/smoke.sh $(BIN)/minebrain $(WORK)/desktop

windows-check: windows

clean:
	rm -rf $(BIN) $(WORK) frontend/node_modules e2e/node_modules testpeer/opcua/node_modules
	find frontend/dist -mindepth 1 ! -name .gitkeep -delete
