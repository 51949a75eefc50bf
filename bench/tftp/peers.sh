#!/usr/bin/env bash
# Makes the peer servers of the TFTP benchmark available: tftpd-hpa's in.tftpd and atftpd.
# Debian's packages conflict with each other and would install services, so both are
# unpacked (apt-get download + dpkg -x) into a cache directory instead of being installed;
# only their shared libraries and the clients are installed, through ensure-packages.sh.
# Prints the directory. Usage: bench/tftp/peers.sh [DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-${RACKHAND_BENCH_PEERS:-/var/tmp/rackhand-bench-peers}}
"$here/tests/setup/ensure-packages.sh" tftp-hpa atftp busybox-static iproute2 util-linux libwrap0 libpcre2-8-0 >&2
mkdir -p "$dir"
for pkg in tftpd-hpa atftpd; do
  [ -d "$dir/$pkg/usr/sbin" ] && continue
  tmp=$(mktemp -d)
  # apt-get download runs as the _apt user where it can: give it a directory it may write.
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -qq "$pkg" >&2)
  dpkg -x "$tmp"/*.deb "$dir/$pkg"
  rm -rf "$tmp"
done
echo "$dir"
