#!/usr/bin/env bash
# The Debian installer's netboot kernel and initrd (text frontend), for the `debian-preseed`
# profile: taken from Debian's debian-installer-12-netboot-amd64 package at a pinned version and
# checked by sha256 (the package's, then each file's), into boot-images/installers/debian/:
#   linux      the installer's kernel
#   initrd.gz  its initrd (d-i with the network retrievers: it fetches the preseed over HTTP)
# The package (133 MB) and the two files are cached OUTSIDE the checkout, in
# $RACKHAND_IMAGE_CACHE (default /var/cache/rackhand)/debian-installer/, so CI's fresh clones on
# this machine reuse them.
# Debian replaces the package at each point release and the old version leaves the mirror: a
# machine with the cache keeps working; a fresh one needs the pin moved: the version and the three
# digests below (apt-cache show gives the package's; sha256sum the two files it holds at $inner).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
package=debian-installer-12-netboot-amd64
version=20230607+deb12u15
deb_sha256=499e4609976bfd47c1b3025382fb5dddeb023350921142b919c89c4d24bd7f9b
linux_sha256=d8808aa4ca188560da1e6d749dcb930c87a5fd8b11ebff1f3fa6d728af35203d
initrd_sha256=cb24a28a5ba13dfb22e6e75bdd8ab997dbdee6e3ec6c1102f6c7f93044bd817d
inner=usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
out="$here/installers/debian"
store=${RACKHAND_IMAGE_CACHE:-/var/cache/rackhand}/debian-installer

# good FILE SHA256: the file exists and has that digest.
good() { [ -f "$1" ] && [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$2" ]; }

if good "$out/linux" "$linux_sha256" && good "$out/initrd.gz" "$initrd_sha256"; then
  echo "debian installer: up to date ($version)"; exit 0
fi
mkdir -p "$store/$version" "$out"
if ! { good "$store/$version/linux" "$linux_sha256" && good "$store/$version/initrd.gz" "$initrd_sha256"; }; then
  deb="$store/${package}_${version}_all.deb"
  if ! good "$deb" "$deb_sha256"; then
    rm -f "$deb"
    fetch() { (cd "$store" && apt-get download "$package=$version" >/dev/null 2>&1); }
    fetch || { refresh_lists; fetch; } || {
      echo "debian installer: apt-get download $package=$version failed; if Debian has moved on to a newer" >&2
      echo "point release, update the pin in $0 (see its header)" >&2; exit 1; }
    good "$deb" "$deb_sha256" || { echo "debian installer: $deb does not have the pinned sha256 $deb_sha256" >&2; exit 1; }
  fi
  work=$(mktemp -d "$store/unpack.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "./$inner/linux" "./$inner/initrd.gz"
  good "$work/$inner/linux" "$linux_sha256" || { echo "debian installer: linux in $deb does not have the pinned sha256" >&2; exit 1; }
  good "$work/$inner/initrd.gz" "$initrd_sha256" || { echo "debian installer: initrd.gz in $deb does not have the pinned sha256" >&2; exit 1; }
  mv "$work/$inner/linux" "$work/$inner/initrd.gz" "$store/$version/"
fi
touch "$store/$version"
for f in linux initrd.gz; do
  ln -f "$store/$version/$f" "$out/$f.new" 2>/dev/null || cp "$store/$version/$f" "$out/$f.new"
  mv -f "$out/$f.new" "$out/$f"
done
echo "debian installer: $version, $(cd "$out" && du -ch linux initrd.gz | tail -n1 | cut -f1) in boot-images/installers/debian/"
