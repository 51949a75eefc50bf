#!/usr/bin/env bash
# The Secure Boot chain's loaders, from Debian's signed packages (pinned: a new shim or GRUB is a
# change to review, since the firmware's revocation lists and SBAT decide what still boots):
#   shimx64.efi  ← shim-signed:           usr/lib/shim/shimx64.efi.signed (Microsoft-signed shim)
#   grubx64.efi  ← grub-efi-amd64-signed: usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed
#                  (Debian-signed GRUB network image; shim loads it by this name from its folder)
# into boot-images/, beside the iPXE loaders, and for disks (not served: an image's ESP carries it)
#   secure-boot/grubx64-disk.efi ← usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
#                  (Debian-signed GRUB for disks: reads \EFI\BOOT\grub.cfg beside itself)
# Downloaded once into boot-images/cache/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SHIM_VERSION=1.51~1+deb12u1+16.1-2~deb12u1
GRUB_VERSION=1+2.06+13+deb12u2

# fetch_pinned PACKAGE VERSION → the .deb in the cache.
fetch_pinned() {
  local deb="$cache/${1}_${2}_amd64.deb"
  if [ ! -f "$deb" ]; then
    (cd "$cache" && apt-get download "$1=$2" >/dev/null 2>&1) || { refresh_lists; (cd "$cache" && apt-get download "$1=$2" >/dev/null 2>&1); } \
      || { echo "apt-get download $1=$2 failed (is the version still in the archive? update the pin in $0)" >&2; return 1; }
  fi
  echo "$deb"
}
shim_deb=$(fetch_pinned shim-signed "$SHIM_VERSION")
grub_deb=$(fetch_pinned grub-efi-amd64-signed "$GRUB_VERSION")
stamp="$SHIM_VERSION $GRUB_VERSION"
if [ -f "$here/.secure-boot-inputs" ] && [ "$(cat "$here/.secure-boot-inputs")" = "$stamp" ] && [ -f "$here/shimx64.efi" ] && [ -f "$here/grubx64.efi" ] && [ -f "$here/secure-boot/grubx64-disk.efi" ]; then
  echo "secure boot loaders: up to date (shim $SHIM_VERSION, grub $GRUB_VERSION)"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$shim_deb" "$work"
dpkg-deb -x "$grub_deb" "$work"
cp "$work/usr/lib/shim/shimx64.efi.signed" "$here/shimx64.efi"
cp "$work/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed" "$here/grubx64.efi"
mkdir -p "$here/secure-boot"
cp "$work/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" "$here/secure-boot/grubx64-disk.efi"
echo "$stamp" > "$here/.secure-boot-inputs"
echo "secure boot loaders: shimx64.efi (shim-signed $SHIM_VERSION), grubx64.efi (grub-efi-amd64-signed $GRUB_VERSION)"
