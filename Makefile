# Rackhand — every target does its own set-up on a fresh Debian 12 machine (as root).
SHELL := /bin/bash
.DEFAULT_GOAL := build

NODE_MODULES := node_modules/.package-lock.json
# Debian packages the QEMU lab needs (make demo, rackhand lab): VMs, firmware, BMCs.
LAB_PACKAGES := iproute2 qemu-system-x86 ovmf ipxe-qemu openipmi ipmitool openssl radvd
# Debian packages the tests use as real peers (installed only when missing).
# The python3-* ones run the third-party Redfish services in ../shared/peers (sushy-tools, DMTF
# mockup server: tests/lib/redfish-peers.ts); openssl (in LAB_PACKAGES) makes their test certificates.
# postgresql: initdb and pg_ctl (/usr/lib/postgresql/NN/bin) for the throwaway clusters the
# PostgreSQL store's tests start themselves (tests/lib/postgres.ts); its own service is not started.
# openssh-client: the host logs in to the deployed Debian cloud image (tests/net/debian-cloud-e2e.test.ts).
# chromium: the headless browser the dashboard tests drive through puppeteer-core
# (tests/integration/ui-browser.test.ts, ui-pages-browser.test.ts); puppeteer-core itself never downloads a browser.
TEST_PACKAGES := $(LAB_PACKAGES) nftables curl busybox-static isc-dhcp-client kea-admin \
                 tftp-hpa atftp dnsmasq-base systemd mtools postgresql \
                 python3-flask python3-requests python3-tenacity python3-bcrypt python3-webob python3-pbr chromium \
                 openssh-client
# Debian packages the boot-image builds use (the agent, the lab OS image, the iPXE loaders, and
# the Debian cloud image: mmdebstrap, and e2fsprogs for mkfs.ext4 -d).
BUILD_PACKAGES := cpio busybox-static zstd util-linux nvme-cli syslinux syslinux-common syslinux-efi mtools dosfstools fdisk \
                  mmdebstrap e2fsprogs
# tests/unit: no root, no Debian package beyond node, no boot image, no child process that takes
# seconds (make unit). tests/integration: real processes and tools (the CLI, curl, systemd-analyze,
# the Python Redfish peers, kill -9), without root but for one test that skips itself. tests/security: the attacks, some in
# network namespaces (root). tests/net: real clients in network namespaces and the lab (root).
UNIT_TESTS := tests/unit/*.test.ts
TESTS ?= $(UNIT_TESTS) tests/integration/*.test.ts tests/security/*.test.ts tests/net/*.test.ts
TEST_CONCURRENCY ?= 1
# The unit test files are independent (temporary folders, port 0): one per core at a time.
UNIT_CONCURRENCY ?= $(shell nproc 2>/dev/null || echo 2)

# The compilers for what is built from source: better-sqlite3 and sockopt (npm ci, node-gyp)
# and the sendfile addon (cc).
NATIVE_PACKAGES := g++ make python3

$(NODE_MODULES): package.json package-lock.json
	@tests/setup/ensure-packages.sh $(NATIVE_PACKAGES)
	# better-sqlite3 is built here from source: never fetch a prebuilt binary.
	npm_config_build_from_source=true npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps node-modules test-deps lab-deps build-deps boot-images build lint unit test demo clean bench-ui install
deps: $(NODE_MODULES)

# What unit and lint need: node_modules as it is. They install nothing and need no root, so a
# missing node_modules is an error that says what to run (make deps, once, as root).
node-modules:
	@test -f node_modules/.package-lock.json -a -x node_modules/.bin/tsc -a -d node_modules/tsx || \
	  { echo "node_modules is missing or incomplete: run 'make deps' (as root on a fresh machine)" >&2; exit 1; }

test-deps: deps
	@tests/setup/ensure-packages.sh $(TEST_PACKAGES)

lab-deps:
	@tests/setup/ensure-packages.sh $(LAB_PACKAGES)

build-deps:
	@tests/setup/ensure-packages.sh $(BUILD_PACKAGES)

# The agent (kernel + initrd), the lab OS disk image, the iPXE loaders, Secure Boot's signed shim
# and GRUB (pinned versions of Debian's shim-signed and grub-efi-amd64-signed), the Debian 12 cloud
# image and the Debian installer's netboot kernel and initrd, from Debian's packages; each script
# rebuilds only when its inputs changed (cached in boot-images/cache/; the cloud image, minutes to
# build, and the installer's 133 MB package in /var/cache/rackhand/, outside the checkout, so that
# CI's fresh clones on the same machine reuse them).
boot-images: build-deps
	@boot-images/fetch-ipxe.sh
	@boot-images/fetch-secure-boot.sh
	@boot-images/build-agent.sh
	@boot-images/build-lab-image.sh
	@boot-images/build-debian-cloud.sh
	@boot-images/fetch-debian-installer.sh

# The sendfile(2) addon for the image server (daemon/native/sendfile.c): one C file against
# Node's own N-API headers, with the compiler npm ci already needs for better-sqlite3.
NODE_INCLUDE := $(shell node -p "require('path').resolve(process.execPath, '../../include/node')" 2>/dev/null)
SENDFILE_ADDON := build/native/sendfile.node
$(SENDFILE_ADDON): daemon/native/sendfile.c
	@test -f $(NODE_INCLUDE)/node_api.h || { echo "node_api.h not found in $(NODE_INCLUDE) (Node.js headers; Debian ships them in the nodejs package)"; exit 1; }
	@mkdir -p $(@D)
	cc -O2 -Wall -Wextra -Werror -shared -fPIC -I$(NODE_INCLUDE) -o $@ $< -lpthread

# The batched UDP addon for the DHCP and TFTP servers (daemon/native/udpbatch.c: recvmmsg/sendmmsg;
# udpconn.c: connected sockets, a TFTP window in one sendmmsg or UDP GSO send), the same way.
# Without it (RACKHAND_UDPBATCH=0, or never built) DHCP and TFTP run on Node's dgram.
UDPBATCH_ADDON := build/native/udpbatch.node
UDPBATCH_SOURCES := daemon/native/udpbatch.c daemon/native/udpconn.c
$(UDPBATCH_ADDON): $(UDPBATCH_SOURCES) daemon/native/udpbatch.h
	@test -f $(NODE_INCLUDE)/node_api.h || { echo "node_api.h not found in $(NODE_INCLUDE) (Node.js headers; Debian ships them in the nodejs package)"; exit 1; }
	@mkdir -p $(@D)
	cc -O2 -Wall -Wextra -Werror -shared -fPIC -I$(NODE_INCLUDE) -o $@ $(UDPBATCH_SOURCES)

build: deps $(SENDFILE_ADDON) $(UDPBATCH_ADDON)
	npx tsc -p tsconfig.json
	@chmod +x dist/daemon/cli/main.js

# Types, then the layout (tools/check-layout.ts: import cycles, server folders importing each
# other or the wiring, files over 400 lines), against tools/layout-baseline.txt.
lint: node-modules
	node_modules/.bin/tsc -p tsconfig.json --noEmit
	node --import tsx tools/check-layout.ts

# The unit tests alone: no root, no apt, no boot images, no build; seconds.
unit: node-modules
	node --import tsx --test --test-concurrency=$(UNIT_CONCURRENCY) $(wildcard $(UNIT_TESTS))

# node:test through tsx; its closing "# pass N / # fail N" lines are the verdict.
test: test-deps lint build boot-images
	node --import tsx --test --test-concurrency=$(TEST_CONCURRENCY) $(wildcard $(TESTS))
	$(MAKE) --no-print-directory test-dgram

# DHCP and TFTP on Node's dgram (the fallback when the batched UDP addon is missing), the tests that
# matter most for it: real clients, the malformed corpus, kill -9 durability, TFTP's real clients,
# loss, refusals and corner cases. (tests/net/dhcp-batched.test.ts runs both transports itself.)
DGRAM_TESTS := tests/net/dhcp-clients.test.ts tests/net/dhcp-malformed.test.ts tests/net/dhcp-crash.test.ts \
               tests/net/tftp-clients.test.ts tests/net/tftp-loss.test.ts tests/net/tftp-malformed.test.ts \
               tests/net/tftp-refusals.test.ts tests/integration/tftp-server.test.ts
.PHONY: test-dgram
test-dgram: node-modules
	RACKHAND_UDPBATCH=0 node --import tsx --test --test-concurrency=1 $(DGRAM_TESTS)

# The dashboard's machines list with 10,000 machines, on SQLite and on a throwaway PostgreSQL:
# render time, gzip bytes, live-update latency (BENCHMARKS.md, "Dashboard"). BENCH_UI_ARGS passes
# options (--machines, --requests, --transitions, --only sqlite,pg).
bench-ui: deps
	@tests/setup/ensure-packages.sh postgresql
	node --import tsx bench/ui/run.ts $(BENCH_UI_ARGS)

# The systemd unit, its user and /etc/rackhand's ownership, the `rackhand` command and its bash
# completion, for the checkout at RACKHAND_HOME (the unit's ExecStart runs it from there; run
# `make build` there first). Enabling the unit is left to you, once /etc/rackhand/inventory.yaml
# is in place (README, "Running it"). DESTDIR stages everything under another root (packaging,
# tests/integration/systemd.test.ts); systemd itself is told only when installing into /.
RACKHAND_HOME ?= /opt/rackhand
DESTDIR ?=
install:
	install -D -m 644 systemd/rackhand.service $(DESTDIR)/etc/systemd/system/rackhand.service
	install -D -m 644 systemd/rackhand.sysusers.conf $(DESTDIR)/usr/lib/sysusers.d/rackhand.conf
	install -D -m 644 systemd/rackhand.tmpfiles.conf $(DESTDIR)/usr/lib/tmpfiles.d/rackhand.conf
	install -D -m 644 systemd/rackhand.bash-completion $(DESTDIR)/usr/share/bash-completion/completions/rackhand
	install -d $(DESTDIR)/usr/local/bin
	ln -sfn $(RACKHAND_HOME)/dist/daemon/cli/main.js $(DESTDIR)/usr/local/bin/rackhand
	systemd-sysusers $(if $(DESTDIR),--root=$(DESTDIR)) rackhand.conf
	systemd-tmpfiles $(if $(DESTDIR),--root=$(DESTDIR)) --create rackhand.conf
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "installed; then: cp -r inventory.yaml templates /etc/rackhand/ && systemd-tmpfiles --create rackhand.conf && systemctl enable --now rackhand"

demo: lab-deps build boot-images
	@tests/setup/demo.sh

clean:
	rm -rf dist build var boot-images/agent boot-images/images boot-images/installers boot-images/*.kpxe boot-images/*.efi boot-images/.secure-boot-inputs boot-images/secure-boot
