#!/usr/bin/env bash
# Builds a real Debian 12 cloud image (systemd, cloud-init, OpenSSH, Debian's cloud kernel) from
# Debian's packages, without mounting anything:
#   mmdebstrap → a root directory → an ext4 partition image (mkfs.ext4 -d) and a FAT partition
#   with the kernel, its initramfs, syslinux for BIOS (from the MBR) and, for UEFI, Debian's
#   signed chain as \EFI\BOOT\BOOTX64.EFI (shim) → grubx64.efi (signed GRUB) → the signed cloud
#   kernel, so the image boots with Secure Boot on (and off) → one MBR disk assembled with
#   truncate, sfdisk and dd. shim and GRUB come from fetch-secure-boot.sh (pinned versions).
# Why syslinux and not GRUB: syslinux installs onto a FAT image file through mtools (no device,
# no loop mount) and the same partition serves BIOS and UEFI, as in the lab image; grub-install
# wants a block device (or device-mapper) for BIOS and writes its core image by sector lists.
# The limit: the boot partition is not mounted in the running system, so a kernel upgraded
# inside the deployed system is not booted until the image is rebuilt.
#
# Cached OUTSIDE the checkout (CI clones afresh on this machine and reuses it) in
# $RACKHAND_IMAGE_CACHE (default /var/cache/rackhand)/debian-cloud/KEY/, KEY = digest of this
# script and its package list; then copied into boot-images/images/ for the daemon:
#   debian-12-cloud.raw.zst     the disk, zstd (the agent decompresses with zstd)
#   debian-12-cloud.raw.sha256  digest of the raw disk (what the agent verifies on disk)
#   debian-12-cloud.manifest    every installed package and its version, and the kernel
# There is no snapshot mirror here: a rebuild from the same inputs takes the mirror's current
# versions; the manifest says which were used.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/images"
name=debian-12-cloud
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# The cloud kernel: virtio, ext4 and the hypervisors' drivers, a third of the generic one's modules.
# No ifupdown: cloud-init 22.4's ENI renderer writes routes as `route add` (net-tools); without
# ifup it renders for systemd-networkd, which is in systemd and enabled below.
# usr-is-merged: /usr is merged already; usrmerge (which apt still installs) and perl are purged
# below (perl-modules and libperl stay: the purge does not take them, a further 24 MiB).
# cloud-guest-utils: growpart, with which cloud-init grows the root partition to the disk.
packages="systemd systemd-sysv udev dbus cloud-init openssh-server sudo iproute2 netbase
          linux-image-cloud-amd64 initramfs-tools zstd usr-is-merged cloud-guest-utils"
root_uuid=6c1f3c2e-7e2a-4b8e-9d1a-2b5d0e0a1c01   # fixed: the kernel command line and fstab name it
disk_id=0x52684431
# UEFI's loaders: Debian's signed shim and disk GRUB (boot-images/fetch-secure-boot.sh).
shim="$here/shimx64.efi"
grub_disk="$here/secure-boot/grubx64-disk.efi"
[ -f "$shim" ] && [ -f "$grub_disk" ] || "$here/fetch-secure-boot.sh" >/dev/null
key=$(printf '%s\n' "$packages" "$suite" | cat "$0" "$shim" "$grub_disk" - | sha256sum | cut -c1-16)
cache=${RACKHAND_IMAGE_CACHE:-/var/cache/rackhand}/debian-cloud/$key
mkdir -p "$out"

publish() {
  for f in "$name.raw.zst" "$name.raw.sha256" "$name.manifest"; do
    ln -f "$cache/$f" "$out/$f" 2>/dev/null || cp "$cache/$f" "$out/$f"
  done
}
if [ -f "$cache/$name.raw.zst" ] && [ -f "$cache/$name.raw.sha256" ] && [ -f "$cache/$name.manifest" ]; then
  cmp -s "$cache/$name.raw.sha256" "$out/$name.raw.sha256" 2>/dev/null || publish
  touch "$cache"   # last used: the clean-up below keeps the most recently used builds
  echo "debian cloud image: up to date ($key, sha256 $(head -c 12 "$cache/$name.raw.sha256")…)"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "debian cloud image: mmdebstrap missing (make build-deps installs it)" >&2; exit 1; }
started=$(date +%s)
mkdir -p "$(dirname "$cache")"
work=$(mktemp -d "$(dirname "$cache")/build.XXXXXX")
# mmdebstrap bind-mounts /proc and /dev into the tree while it runs: should it die with them still
# mounted, they are unmounted first and rm stays on this file system, so it never deletes the host's.
cleanup() {
  # (No match is the usual case: grep's status 1 must not become the script's under pipefail.)
  { findmnt -rn -o TARGET | grep -F "$work/" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
rootfs="$work/root"

# No documentation, manual pages or translations: every byte is written by the agent under TCG.
# Root mode (this runs as root; without subordinate ids for root, unshare mode cannot map the
# package owners). mmdebstrap bind-mounts /proc and /dev for the maintainer scripts; no loop device.
mmdebstrap --mode=root --variant=apt --format=directory \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --include="$(echo $packages | tr ' ' ',')" \
  --customize-hook='chroot "$1" apt-get -y -q purge --autoremove usrmerge perl >/dev/null' \
  --customize-hook='chroot "$1" dpkg-query -W -f "\${Package}\t\${Version}\n" > "$1/.manifest"' \
  --customize-hook='chroot "$1" apt-get clean' \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd' \
  "$suite" "$rootfs" "deb $mirror $suite main" "deb $mirror $suite-updates main" \
  "deb $security $suite-security main" >"$work/mmdebstrap.log" 2>&1 \
  || { tail -n 30 "$work/mmdebstrap.log" >&2; exit 1; }

mv "$rootfs/.manifest" "$work/manifest"
kver=$(ls "$rootfs"/lib/modules | head -n1)
{ echo "# $name built $(date -u +%FT%TZ) from $mirror $suite (no snapshot: the mirror's versions that day)"
  echo "# kernel $kver; cache key $key"
  cat "$work/manifest"; } > "$work/$name.manifest"

# What makes it a cloud image: per-machine identity left to first boot, cloud-init's sources.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log
rm -f "$rootfs"/etc/ssh/ssh_host_*                      # cloud-init generates them per machine
: > "$rootfs/etc/machine-id"; rm -f "$rootfs/var/lib/dbus/machine-id"
rm -f "$rootfs/etc/hostname"
printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$root_uuid" > "$rootfs/etc/fstab"
# Rackhand's agent adds the seed URL (99-rackhand.cfg) when it configures the written disk.
# Host keys: ed25519 and ECDSA only (an RSA key takes seconds to generate under emulation);
# C.UTF-8 needs no locale-gen (Debian's default en_US.UTF-8 runs it at first boot).
printf 'datasource_list: [ NoCloud, None ]\nssh_genkeytypes: [ ed25519, ecdsa ]\nlocale: C.UTF-8\n' \
  > "$rootfs/etc/cloud/cloud.cfg.d/90-rackhand-image.cfg"
# /etc and /var are as new as /usr: no hwdb and ldconfig rebuild at first boot (ConditionNeedsUpdate).
touch -r "$rootfs/usr" "$rootfs/etc/.updated" "$rootfs/var/.updated"

# The boot partition: kernel, initramfs, syslinux for BIOS, shim and GRUB for UEFI.
export MTOOLS_SKIP_CHECK=1
boot_mib=64
part_boot="$work/boot.img"
mkfs.vfat -C -n RHBOOT -i 52684431 "$part_boot" $((boot_mib * 1024)) >/dev/null
printf 'DEFAULT debian\nPROMPT 0\nTIMEOUT 1\nLABEL debian\n  KERNEL /vmlinuz\n  INITRD /initrd.img\n  APPEND root=UUID=%s ro console=tty0 console=ttyS0,115200 net.ifnames=0\n' "$root_uuid" > "$work/syslinux.cfg"
mcopy -i "$part_boot" "$rootfs/boot/vmlinuz-$kver" ::/vmlinuz
mcopy -i "$part_boot" "$rootfs/boot/initrd.img-$kver" ::/initrd.img
mcopy -i "$part_boot" "$work/syslinux.cfg" ::/syslinux.cfg
# UEFI: shim (Microsoft-signed, carrying Debian's certificate) loads grubx64.efi beside it, which
# (having no /EFI/debian here) reads \EFI\BOOT\grub.cfg and boots the kernel from this
# partition, checked through shim: the cloud kernel is Debian-signed.
printf 'set timeout=0\nlinux /vmlinuz root=UUID=%s ro console=tty0 console=ttyS0,115200 net.ifnames=0\ninitrd /initrd.img\nboot\n' "$root_uuid" > "$work/grub.cfg"
mmd -i "$part_boot" ::/EFI ::/EFI/BOOT
mcopy -i "$part_boot" "$shim" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$part_boot" "$grub_disk" ::/EFI/BOOT/grubx64.efi
mcopy -i "$part_boot" "$work/grub.cfg" ::/EFI/BOOT/grub.cfg
syslinux --install "$part_boot"
# The root file system keeps no second copy of them: the boot partition is the one booted.
rm -f "$rootfs/boot/vmlinuz-$kver" "$rootfs/boot/initrd.img-$kver"

# The root partition: the tree's size, a sixteenth more for ext4's own blocks (journal, inodes)
# and 32 MiB for first-boot writes; cloud-init's growpart then grows it to the disk. Every byte,
# zeroes too, is written by the agent.
du -xm --max-depth=3 "$rootfs" | sort -rn | head -n 12 > "$work/sizes" || true
used_mib=$(du -sm "$rootfs" | cut -f1)
root_mib=$(( used_mib + used_mib / 16 + 32 ))
part_root="$work/root.img"
# 4 KiB blocks (mke2fs picks 1 KiB for a file system this small) and inodes for the files there
# are and 16384 more: the default ratio would spend some 30 MiB on inode tables nobody uses.
inodes=$(( $(find "$rootfs" -xdev | wc -l) + 16384 ))
E2FSPROGS_FAKE_TIME=0 mkfs.ext4 -q -F -b 4096 -N "$inodes" -L debian-root -U "$root_uuid" -E root_owner=0:0,hash_seed="$root_uuid" \
  -d "$rootfs" "$part_root" "${root_mib}M" >/dev/null

# 1 MiB for the MBR, then the two partitions; the root partition last, so that it can grow.
disk="$work/$name.raw"
disk_mib=$((1 + boot_mib + root_mib))
truncate -s ${disk_mib}M "$disk"
printf 'label: dos\nlabel-id: %s\nstart=2048, size=%dMiB, type=ef, bootable\nsize=%dMiB, type=83\n' \
  "$disk_id" "$boot_mib" "$root_mib" | sfdisk -q "$disk"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$part_boot" of="$disk" bs=1M seek=1 conv=notrunc status=none
dd if="$part_root" of="$disk" bs=1M seek=$((1 + boot_mib)) conv=notrunc status=none
sha256sum < "$disk" | cut -d' ' -f1 > "$work/$name.raw.sha256"
zstd -q -T0 -10 --rm "$disk" -o "$work/$name.raw.zst"

mkdir -p "$cache"
mv "$work/$name.raw.zst" "$work/$name.raw.sha256" "$work/$name.manifest" "$cache/"
sed 's/^/  /' "$work/sizes"
publish
# Other checkouts (branches) may use other keys: keep the three builds used last, drop the rest.
ls -1dt "$(dirname "$cache")"/*/ | grep -v '/build\.' | tail -n +4 | xargs -r rm -rf
echo "debian cloud image: ${disk_mib} MiB raw, $(du -h "$cache/$name.raw.zst" | cut -f1) zstd, $(grep -vc '^#' "$cache/$name.manifest") packages, kernel $kver, built in $(( $(date +%s) - started )) s ($key)"
