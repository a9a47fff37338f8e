#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the patched test kernel: Debian's linux-source-6.1 + kernel/*.patch,
# a minimal configuration (real-kvm-testing.md) with KVM built in, lockdep,
# CONFIG_BUG and list debugging (kernel/config.fragment).
#
# usage: kernel/build.sh [CACHE_DIR]
#   CACHE_DIR defaults to $LIBMEMSLOT_KERNEL_CACHE, else
#   ${XDG_CACHE_HOME:-$HOME/.cache}/libmemslot-kernel.
# The image is cached under CACHE_DIR/images/KEY/bzImage, KEY being the
# sha256 of the patches, the config fragment, this script and the source
# package version: a second run with the same inputs reuses it.  The patched
# tree stays in CACHE_DIR/tree (the selftests are built from it).
# The last line printed is the path of the image.
# Exit status: 0 built or cached; 2 a build dependency is missing; 1 failure.
# JOBS sets make -j (default: nproc).
set -euo pipefail
# Run from make check, the parent make's flags (jobserver, MAKELEVEL) make
# the kernel's own makefiles lose their targets: start from a clean slate.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${LIBMEMSLOT_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libmemslot-kernel}}
tarball=/usr/src/linux-source-6.1.tar.xz
frag=$here/config.fragment

missing=()
[[ -f $tarball ]] || missing+=(linux-source-6.1)
for t in make gcc bc bison flex xz perl; do command -v $t >/dev/null || missing+=("$t"); done
[[ -f /usr/include/libelf.h || -f /usr/include/elfutils/libelf.h ]] || missing+=(libelf-dev)
[[ -f /usr/include/openssl/ssl.h ]] || missing+=(libssl-dev)
if ((${#missing[@]})); then
  echo "build.sh: missing ${missing[*]} (apt-get install linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev xz-utils)" >&2
  exit 2
fi

shopt -s nullglob
patches=("$here"/[0-9][0-9][0-9][0-9]-*.patch)
((${#patches[@]})) || { echo "build.sh: no patches in $here" >&2; exit 1; }
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %s "$tarball")
key=$( { cat "${patches[@]}" "$frag" "$0"; echo "$srcver"; } | sha256sum | cut -c1-16)
img=$cache/images/$key/bzImage

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [[ -f $img ]]; then
  echo "build.sh: cached image for key $key" >&2
  echo "$img"
  exit 0
fi

tree=$cache/tree
log=$cache/build-$key.log
echo "build.sh: building key $key in $tree (log $log); this takes 6-15 minutes on 2 cores" >&2
start=$(date +%s)
rm -rf "$tree" "$cache/tree.tmp"
mkdir -p "$cache/tree.tmp"
tar -xJf "$tarball" -C "$cache/tree.tmp"
mv "$cache/tree.tmp/linux-source-6.1" "$tree"
rmdir "$cache/tree.tmp"
for p in "${patches[@]}"; do
  echo "build.sh: applying $(basename "$p")" >&2
  patch -d "$tree" -p1 --forward --batch --quiet <"$p"
done
(
  cd "$tree"
  make tinyconfig
  grep -v -e '^#' -e '^$' "$frag" | while read -r line; do
    # shellcheck disable=SC2086
    scripts/config $line
  done
  make olddefconfig
  # every option of the fragment must have survived olddefconfig
  grep -v -e '^#' -e '^$' "$frag" | while read -r op opt val; do
    case $op in
      -e) grep -q "^CONFIG_$opt=y" .config || { echo "config: CONFIG_$opt is not enabled"; exit 1; } ;;
      -d) ! grep -q "^CONFIG_$opt=y" .config || { echo "config: CONFIG_$opt is still enabled"; exit 1; } ;;
    esac
  done
  make -j"${JOBS:-$(nproc)}" bzImage
) >"$log" 2>&1 || { tail -n 40 "$log" >&2; echo "build.sh: build failed, see $log" >&2; exit 1; }
mkdir -p "$(dirname "$img")"
cp "$tree/arch/x86/boot/bzImage" "$img.tmp"
cp "$tree/.config" "$(dirname "$img")/config"
mv "$img.tmp" "$img"
echo "build.sh: built in $(( $(date +%s) - start )) s" >&2
echo "$img"
