#!/usr/bin/env bash
# Builds the deploy agent from Debian's packages alone: the Debian kernel and the modules the
# agent needs, busybox-static, and the agent's shell scripts, packed as a reproducible cpio
# initrd. Output: boot-images/agent/{vmlinuz,initrd.img,SHA256SUMS}. Inputs are cached in
# boot-images/cache/; when none changed, nothing is rebuilt.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out="$here/agent"
src="$here/agent-src"
mkdir -p "$out"

debian_inputs
# Debian binaries the agent carries beside busybox (see below for why each).
zstd_bin=$(command -v zstd)
blkdiscard_bin=/usr/sbin/blkdiscard
nvme_bin=$(command -v nvme)
for b in "$zstd_bin" "$blkdiscard_bin" "$nvme_bin"; do
  [ -x "$b" ] || { echo "agent: $b missing (make build-deps installs zstd, util-linux, nvme-cli)" >&2; exit 1; }
done

stamp=$(cat "$kdeb" "$bdeb" "$src"/* "$here/lib.sh" "$0" "$zstd_bin" "$blkdiscard_bin" "$nvme_bin" | sha256sum | cut -c1-16)
if [ -f "$out/.inputs" ] && [ "$(cat "$out/.inputs")" = "$stamp" ] && [ -f "$out/initrd.img" ]; then
  echo "agent: up to date ($(head -c 12 "$out/SHA256SUMS")…)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unpack_inputs "$work"
root="$work/root"
# efivarfs: the agent reads the SecureBoot EFI variable for its facts.
INITRD_MODULES="$INITRD_MODULES efivarfs"
initrd_root "$work/kernel" "$kver" "$work/busybox" "$root"
install -m 755 "$src/init" "$root/init"
install -m 755 "$src/rackhand-agent" "$root/bin/rackhand-agent"
install -m 755 "$src/udhcpc.script" "$root/etc/udhcpc.script"
# carry BINARY PATH-IN-ROOT: a Debian binary and the shared libraries it links against.
carry() {
  local lib
  mkdir -p "$root$(dirname "$2")"
  cp "$1" "$root$2"
  for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}
# zstd-compressed images: busybox cannot decompress them.
carry "$zstd_bin" /bin/zstd
# Erase: util-linux's blkdiscard has -z (BLKZEROOUT: the device's write-zeroes, else zero pages
# written by the kernel), which busybox's lacks; it stays off PATH beside busybox's. nvme-cli
# drives NVMe Format with secure erase, the drive's own sanitize.
carry "$blkdiscard_bin" /usr/sbin/blkdiscard
carry "$nvme_bin" /bin/nvme
pack_initrd "$root" "$work/initrd.img"
cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"
mv "$work/initrd.img" "$work/vmlinuz" "$out/"
(cd "$out" && sha256sum vmlinuz initrd.img > SHA256SUMS)
echo "$stamp" > "$out/.inputs"
echo "agent: kernel $kver, $(wc -l < "$root/lib/modules/load-order") modules, initrd $(du -h "$out/initrd.img" | cut -f1) ($(head -c 12 "$out/SHA256SUMS")…)"
