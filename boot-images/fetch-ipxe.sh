#!/usr/bin/env bash
# The iPXE loaders PXE firmware chain-loads (undionly.kpxe for BIOS, ipxe.efi and snponly.efi for
# x86-64 UEFI), unpacked from Debian's `ipxe` package into boot-images/ — no internet needed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
deb=$(fetch_deb ipxe)
if [ -f "$here/undionly.kpxe" ] && [ "$here/undionly.kpxe" -nt "$deb" ]; then echo "ipxe loaders: up to date"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$deb" "$work"
# In Debian's package /usr/lib/ipxe/ipxe.efi is a link to /boot/ipxe.efi, outside the unpacked tree.
cp "$work/usr/lib/ipxe/undionly.kpxe" "$work/boot/ipxe.efi" "$work/usr/lib/ipxe/snponly.efi" "$here/"
touch "$here/undionly.kpxe"
echo "ipxe loaders: $(cd "$here" && ls undionly.kpxe ipxe.efi snponly.efi | tr '\n' ' ')"
