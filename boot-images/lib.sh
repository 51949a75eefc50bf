# Shared by the boot-image builds: Debian packages fetched into the cache, and a reproducible
# initramfs (kernel modules with their dependencies, busybox, a given /init) packed with cpio.
# shellcheck shell=bash
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="$here/cache"
mkdir -p "$cache"

# The package lists may be empty on a fresh machine: refresh them once, on first need.
apt_lists_fresh=0
refresh_lists() { [ $apt_lists_fresh = 1 ] || { apt-get update -qq >/dev/null 2>&1 || true; apt_lists_fresh=1; }; }

kernel_package() {
  local k
  k=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$k" ] || { refresh_lists; k=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); }
  [ -n "$k" ] || { echo "cannot resolve linux-image-amd64 (run apt-get update)" >&2; return 1; }
  echo "$k"
}

# fetch PACKAGE → the path of its .deb in the cache (downloaded once, with apt-get download).
fetch_deb() {
  local deb
  deb=$(ls "$cache/$1"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    (cd "$cache" && apt-get download "$1" >/dev/null 2>&1) || { refresh_lists; (cd "$cache" && apt-get download "$1" >/dev/null 2>&1); } \
      || { echo "apt-get download $1 failed" >&2; return 1; }
    deb=$(ls "$cache/$1"_*.deb | head -n1)
  fi
  echo "$deb"
}

# debian_inputs: sets kpkg, kver, kdeb (the kernel's .deb) and bdeb (busybox-static's).
debian_inputs() {
  kpkg=$(kernel_package)
  kver=${kpkg#linux-image-}
  kdeb=$(fetch_deb "$kpkg")
  bdeb=$(fetch_deb busybox-static)
}

# unpack_inputs WORK: the kernel and busybox trees under WORK/kernel and WORK/busybox.
unpack_inputs() {
  dpkg-deb -x "$kdeb" "$1/kernel"
  dpkg-deb -x "$bdeb" "$1/busybox"
}

# Drivers a PXE-booted server (or a QEMU VM) needs for its NICs and disks, and the filesystems
# the agent writes into.
INITRD_MODULES="virtio_pci virtio_net virtio_blk virtio_scsi e1000 e1000e ahci ata_piix nvme sd_mod
                ext4 vfat nls_cp437 nls_ascii nls_utf8 crc32c_generic"

# initrd_root KERNEL_TREE KVER BUSYBOX_TREE ROOT: modules (dependencies first, read from each
# module's own .modinfo, so no depmod is needed), busybox, and the module load order.
initrd_root() {
  local tree=$1 kver=$2 bbtree=$3 root=$4 f m dep
  local moddir="$tree/lib/modules/$kver"
  declare -A path_of=() seen=()
  local order=()
  while IFS= read -r f; do path_of[$(basename "$f" .ko)]=$f; done < <(find "$moddir/kernel" -name '*.ko')
  visit() {
    local m=${1//-/_} dep f
    [ -n "${seen[$m]:-}" ] && return 0
    seen[$m]=1
    f=${path_of[$m]:-${path_of[${m//_/-}]:-}}
    [ -n "$f" ] || return 0   # built into the kernel
    for dep in $(busybox strings "$f" | sed -n 's/^depends=//p' | tr ',' ' '); do visit "$dep"; done
    order+=("$m")
  }
  for m in $INITRD_MODULES; do visit "$m"; done
  mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,mnt,etc,lib/modules}
  cp "$bbtree/bin/busybox" "$root/bin/busybox"
  for m in "${order[@]}"; do
    f=${path_of[$m]:-${path_of[${m//_/-}]}}
    cp "$f" "$root/lib/modules/$m.ko"
  done
  printf '%s\n' "${order[@]}" > "$root/lib/modules/load-order"
  echo "$kver" > "$root/etc/kernel-version"
}

# pack_initrd ROOT OUT: sorted names, root-owned, every time stamp the same, gzip -n.
pack_initrd() {
  find "$1" -exec touch -h -d @0 {} +
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9n > "$2"
}
