#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Real-kernel test tier: boot one of Debian's current kernels (6.1 or 6.12)
# under QEMU's emulator (TCG, -cpu max: nested SVM), load KVM inside, run
# the statically linked test programs against the real /dev/kvm and check
# the one summary line the guest prints:
#
#   real-kvm: kernel <uname -r>: N passed, M failed; differential D changes, K mismatches
#
# usage: run-tier.sh {6.1|6.12} CACHE_DIR PROGRAM...
#
# The guest's /init runs the programs in the order given with rk-run.sh
# (the same runner realkvm-host.test uses on the host): the tier's rk-*
# programs, the examples built statically (ex-*: MEMSLOT_EXAMPLE_BACKEND=kvm,
# each must exit 0 and print "backend: /dev/kvm" first) and rk-bench, whose
# "real-kvm-bench: ..." line is repeated at the end.
#
# Exit status (automake test protocol): 0 pass, 1 fail, 77 skip.  A skip
# (missing qemu, busybox-static, cpio, xz, or kernel package) is a failure
# when CI=true.
#
# Environment:
#   RK_SEED          seed of the differential test (default: random, printed)
#   RK_DIFF_CHANGES  random changes per kernel (default 20000; at least 20000
#                    counts as the full tier)
#   RK_MODE          commit mode of the programs (sequential, the default;
#                    batch needs a kernel with the batch ioctl: kernel/)
#   RK_TIMEOUT       seconds for the whole QEMU run (default 420)
#   RK_SMP           vCPUs of the QEMU machine (default 2)
#   RK_MEM           memory of the QEMU machine in MiB (default 2048)
#   RK_KEEP_LOG      keep the console log in CACHE_DIR (default: yes)
#   RK_CACHE_DIR     use this cache instead of CACHE_DIR (e.g. one kept across
#                    CI runs)
#   MEMSLOT_SKIP_REALKVM=1  skip the tier on purpose (exit 77 even in CI)
set -u
set -o pipefail

me=realkvm
die() { echo "$me: FAIL: $*"; exit 1; }
skip() {
	echo "$me: SKIP: $*"
	echo "$me: to enable this tier: apt-get update && apt-get install qemu-system-x86 busybox-static cpio xz-utils"
	if [[ ${CI:-} == true ]]; then
		echo "$me: CI=true: a skipped real-kernel tier is a failure"
		exit 1
	fi
	exit 77
}

# An explicit opt-out, for a run that has just passed this tier (the
# distcheck of tests/run-all.sh): not a missing dependency, so not a failure.
if [[ ${MEMSLOT_SKIP_REALKVM:-} == 1 ]]; then
	echo "$me: SKIP: MEMSLOT_SKIP_REALKVM=1"
	exit 77
fi

[[ $# -ge 3 ]] || { echo "usage: $0 {6.1|6.12} CACHE_DIR PROGRAM..."; exit 99; }
which=$1 cache=${RK_CACHE_DIR:-$2}
shift 2
case $which in
6.1) meta=linux-image-amd64 ;;
6.12) meta=linux-image-6.12-amd64 ;;
*) echo "$me: unknown kernel '$which' (6.1 or 6.12)"; exit 99 ;;
esac
me="realkvm-$which"
here=$(cd "$(dirname "$0")" && pwd) || die "cannot find my directory"
[[ -f $here/rk-run.sh ]] || die "$here/rk-run.sh is missing"

for p in "$@"; do
	[[ -x $p ]] || die "test program $p is missing (make check builds it)"
done

# ---- host tools ---------------------------------------------------------
qemu=${QEMU:-$(command -v qemu-system-x86_64 || true)}
[[ -n $qemu && -x $qemu ]] || skip "qemu-system-x86_64 not found"
for t in cpio xz gzip dpkg-deb apt-get apt-cache timeout flock; do
	command -v "$t" >/dev/null || skip "$t not found"
done
busybox=
for b in /bin/busybox /usr/bin/busybox $(command -v busybox 2>/dev/null); do
	# The guest has no libc: only a static busybox will do.
	if [[ -x $b ]] && ! ldd "$b" >/dev/null 2>&1; then busybox=$b; break; fi
done
[[ -n $busybox ]] || skip "no static busybox (package busybox-static)"

# ---- kernel package: resolve, fetch once, prepare once ------------------
pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/^ *Depends: linux-image-/ { print $2; exit }')
[[ -n $pkg ]] || skip "apt-cache cannot resolve $meta (run apt-get update)"

kdir=$cache/$pkg
mkdir -p "$kdir" || die "cannot create $kdir"
exec 9>"$kdir/.lock"
flock 9 || die "cannot lock $kdir"

if [[ ! -f $kdir/prepared ]]; then
	if ! ls "$kdir"/*.deb >/dev/null 2>&1; then
		echo "$me: fetching $pkg (apt-get download)"
		(cd "$kdir" && apt-get download "$pkg") >"$kdir/download.log" 2>&1 ||
			{ cat "$kdir/download.log"; skip "apt-get download $pkg failed"; }
	else
		echo "$me: using cached $(basename "$kdir"/*.deb)"
	fi
	x=$kdir/extract
	rm -rf "$x" "$kdir/parts"
	dpkg-deb -x "$kdir"/*.deb "$x" || die "dpkg-deb -x failed"
	mkdir -p "$kdir/parts/bin" "$kdir/parts/lib/modules" \
		"$kdir/parts/dev" "$kdir/parts/proc" "$kdir/parts/sys" "$kdir/parts/tests"
	vml=$(ls "$x"/boot/vmlinuz-* 2>/dev/null | head -n 1)
	[[ -n $vml ]] || die "no vmlinuz in $pkg"
	cp "$vml" "$kdir/vmlinuz"
	mods=$(ls -d "$x"/lib/modules/*/kernel | head -n 1)
	for m in virt/lib/irqbypass drivers/crypto/ccp/ccp arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
		n=$(basename "$m")
		if [[ -f $mods/$m.ko ]]; then
			cp "$mods/$m.ko" "$kdir/parts/lib/modules/$n.ko"
		elif [[ -f $mods/$m.ko.xz ]]; then
			xz -dc "$mods/$m.ko.xz" >"$kdir/parts/lib/modules/$n.ko"
		else
			die "module $m missing from $pkg"
		fi || die "cannot unpack module $m"
	done
	cp "$busybox" "$kdir/parts/bin/busybox"
	(cd "$kdir/parts" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) \
		>"$kdir/base.cpio.gz" || die "cannot pack the base initramfs"
	rm -rf "$x" "$kdir/parts"
	touch "$kdir/prepared"
else
	echo "$me: using cached kernel and initramfs base for $pkg"
fi

# ---- per-run part of the initramfs: /init and the test programs ----------
work=$(mktemp -d "${TMPDIR:-/tmp}/realkvm.XXXXXX") || die "mktemp"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/tests"
i=0
for p in "$@"; do
	cp "$p" "$work/root/tests/$(printf '%02d' $i)-$(basename "$p")" || die "cp $p"
	i=$((i + 1))
done
cp "$here/rk-run.sh" "$work/root/rk-run.sh" || die "cp rk-run.sh"
cat >"$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp
for m in irqbypass ccp kvm kvm-amd; do
	insmod /lib/modules/$m.ko || echo "rk-init: insmod $m failed"
done
kver=$(uname -r)
echo "rk-init: guest kernel $kver, $(grep -c ^processor /proc/cpuinfo) cpus, seed $RK_SEED"
# One VM held for the whole run (see rk.c: static keys and TCG).
for h in /tests/*-rk-selftest; do [ -x "$h" ] && "$h" --hold & done
RK_SEED=$RK_SEED RK_DIFF_CHANGES=$RK_DIFF_CHANGES RK_MODE=$RK_MODE sh /rk-run.sh /tests/* 2>&1 | tee /tmp/run.log
passed=0 failed=1 skipped=0 changes=0 mismatches=0
sum=$(sed -n 's/^RK-SUM \(passed=[0-9]* failed=[0-9]* skipped=[0-9]* changes=[0-9]* mismatches=[0-9]*\)$/\1/p' /tmp/run.log | tail -n 1)
if [ -n "$sum" ]; then
	eval "$sum"
else
	echo "rk-init: rk-run.sh printed no RK-SUM line: counted as a failure"
fi
if dmesg | grep -E 'WARNING:|BUG:|Oops'; then
	echo "rk-init: kernel warnings in dmesg: counted as a failure"
	failed=$((failed + 1))
else
	passed=$((passed + 1))
fi
echo "rk-init: $skipped checks skipped (what this kernel cannot do)"
echo "real-kvm: kernel $kver: $passed passed, $failed failed; differential $changes changes, $mismatches mismatches"
poweroff -f
INIT
chmod +x "$work/root/init"
(cd "$work/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$work/tests.cpio.gz" ||
	die "cannot pack the test initramfs"
# The kernel unpacks concatenated archives in order.
cat "$kdir/base.cpio.gz" "$work/tests.cpio.gz" >"$work/initrd.gz" || die "initrd"
exec 9>&-

seed=${RK_SEED:-$(( RANDOM << 15 | RANDOM ))}
nchg=${RK_DIFF_CHANGES:-20000}
tmo=${RK_TIMEOUT:-420}
log=$work/console.log
echo "$me: booting $pkg under QEMU (TCG, -cpu max, -smp ${RK_SMP:-2}), seed $seed, timeout ${tmo}s"
t0=$(date +%s)
timeout -k 10 "$tmo" "$qemu" -M q35 -cpu max -m "${RK_MEM:-2048}" -smp "${RK_SMP:-2}" \
	-nographic -monitor none -no-reboot \
	-kernel "$kdir/vmlinuz" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 RK_SEED=$seed RK_DIFF_CHANGES=$nchg RK_MODE=${RK_MODE:-sequential}" \
	</dev/null 2>&1 | tr -d '\r' | tee "$log"
qrc=${PIPESTATUS[0]}
t1=$(date +%s)
[[ ${RK_KEEP_LOG:-yes} == yes ]] && cp "$log" "$cache/console-$which.log" 2>/dev/null
echo "$me: QEMU exited $qrc after $((t1 - t0)) s"
[[ $qrc == 124 || $qrc == 137 ]] && die "timeout after ${tmo}s (guest hung or too slow)"

# ---- verdict ------------------------------------------------------------
re='^real-kvm: kernel ([^ ]+): ([0-9]+) passed, ([0-9]+) failed; differential ([0-9]+) changes, ([0-9]+) mismatches$'
lines=$(grep -cE "$re" "$log")
[[ $lines == 1 ]] || die "expected one summary line, found $lines (guest crash, panic or early exit?)"
line=$(grep -E "$re" "$log")
[[ $line =~ $re ]] || die "cannot parse: $line"
kver=${BASH_REMATCH[1]} npass=${BASH_REMATCH[2]} nfail=${BASH_REMATCH[3]}
ndiff=${BASH_REMATCH[4]} nmis=${BASH_REMATCH[5]}
case $which in
6.1) [[ $kver == 6.1.* ]] || die "booted $kver, wanted 6.1" ;;
6.12) [[ $kver == 6.12.* ]] || die "booted $kver, wanted 6.12" ;;
esac
grep '^real-kvm-bench: ' "$log"
echo "$line"
[[ $nfail == 0 ]] || die "$nfail checks failed on $kver"
[[ $nmis == 0 ]] || die "$nmis differential mismatches on $kver"
[[ $npass -gt 0 ]] || die "no check passed on $kver"
[[ $ndiff -ge $nchg ]] || die "differential ran $ndiff changes, wanted $nchg"
[[ $nchg -ge 20000 ]] || echo "$me: note: RK_DIFF_CHANGES=$nchg is below the tier's 20000"
echo "$me: PASS ($((t1 - t0)) s)"
exit 0
