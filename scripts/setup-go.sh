#!/usr/bin/env bash
# Makes sure a Go toolchain is on PATH. go.mod names the exact version; any Go
# from 1.21 on fetches that version itself through the module proxy
# (GOTOOLCHAIN=auto), so Debian's backported Go is enough to start from.
set -euo pipefail
export PATH="$PATH:/usr/local/go/bin"
if command -v go >/dev/null 2>&1; then
	exit 0
fi
echo "setup: no Go toolchain found; installing Debian's golang from bookworm-backports" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "setup: run as root (or install Go 1.21+ yourself)" >&2
	exit 1
fi
"$(dirname "$0")/apt-backports.sh"
. /etc/os-release
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t "${VERSION_CODENAME}-backports" golang-go
ln -sf /usr/lib/go/bin/go /usr/local/bin/go 2>/dev/null || true
go version
