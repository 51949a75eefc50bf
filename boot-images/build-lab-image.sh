#!/usr/bin/env bash
# Builds the lab OS disk image from Debian's packages, without mounting anything: an MBR disk
# with one bootable FAT partition — also an EFI system partition, so BIOS (syslinux) and UEFI
# (syslinux.efi at the removable-media path) machines both boot it — holding the Debian kernel
# and the lab OS initramfs
# (boot-images/lab-os-src/init), and an empty /rackhand/ directory where the agent's configure
# step writes the metadata URL. Output: boot-images/images/lab.raw.gz and lab.raw.sha256 (the
# digest of the raw image, which is what the agent verifies on disk).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
out="$here/images"
src="$here/lab-os-src"
mkdir -p "$out"

debian_inputs
stamp=$(cat "$kdeb" "$bdeb" "$src"/* "$here/lib.sh" "$0" | sha256sum | cut -c1-16)
if [ -f "$out/.lab-inputs" ] && [ "$(cat "$out/.lab-inputs")" = "$stamp" ] && [ -f "$out/lab.raw.gz" ]; then
  echo "lab image: up to date ($(head -c 12 "$out/lab.raw.sha256")…)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unpack_inputs "$work"
initrd_root "$work/kernel" "$kver" "$work/busybox" "$work/root"
install -m 755 "$src/init" "$work/root/init"
install -m 755 "$src/udhcpc.script" "$work/root/etc/udhcpc.script"
pack_initrd "$work/root" "$work/initrd.img"

disk_mib=32
part="$work/part.img"
mkfs.vfat -C -n LABOS -i 4c61624f "$part" $(( (disk_mib - 1) * 1024 )) >/dev/null
printf 'DEFAULT lab\nPROMPT 0\nTIMEOUT 1\nLABEL lab\n  KERNEL /vmlinuz\n  INITRD /initrd.img\n  APPEND console=tty0 console=ttyS0,115200\n' > "$work/syslinux.cfg"
export MTOOLS_SKIP_CHECK=1
mcopy -i "$part" "$work/kernel/boot/vmlinuz-$kver" ::/vmlinuz
mcopy -i "$part" "$work/initrd.img" ::/initrd.img
mcopy -i "$part" "$work/syslinux.cfg" ::/syslinux.cfg
mmd -i "$part" ::/rackhand
# UEFI: firmware boots \EFI\BOOT\BOOTX64.EFI; syslinux.efi reads its config beside itself.
mmd -i "$part" ::/EFI ::/EFI/BOOT
mcopy -i "$part" /usr/lib/SYSLINUX.EFI/efi64/syslinux.efi ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$part" /usr/lib/syslinux/modules/efi64/ldlinux.e64 ::/EFI/BOOT/ldlinux.e64
mcopy -i "$part" "$work/syslinux.cfg" ::/EFI/BOOT/syslinux.cfg
syslinux --install "$part"

disk="$work/lab.raw"
truncate -s ${disk_mib}M "$disk"
printf 'label: dos\nlabel-id: 0x4c61624f\nstart=2048, type=ef, bootable\n' | sfdisk -q "$disk"
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$part" of="$disk" bs=1M seek=1 conv=notrunc status=none
sha256sum < "$disk" | cut -d' ' -f1 > "$work/lab.raw.sha256"
gzip -9n < "$disk" > "$work/lab.raw.gz"
mv "$work/lab.raw.gz" "$work/lab.raw.sha256" "$out/"
echo "$stamp" > "$out/.lab-inputs"
echo "lab image: ${disk_mib} MiB raw, $(du -h "$out/lab.raw.gz" | cut -f1) gzip, sha256 $(head -c 12 "$out/lab.raw.sha256")…"
