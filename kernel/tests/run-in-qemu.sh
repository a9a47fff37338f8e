#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a bzImage that has KVM built in under QEMU (TCG, nested SVM) with a
# busybox initramfs, run static test programs against its /dev/kvm, and
# print the guest console.
#
# usage: run-in-qemu.sh BZIMAGE PROG[@ARGS] [PROG[@ARGS]...]
#   PROG@ARGS runs PROG with ARGS, e.g. stress_test@"-b 64M -i 100";
#   +FILE only copies FILE to /tests/FILE's basename (for PROGs that use it).
# PROGs run in order, each with BATCHTEST_EXTRA=/tmp/extra-results in the
# environment (a file earlier PROGs may append "PASS name"/"FAIL name" to).
# Exit status 0 only if every PROG exited 0 and the guest printed RESULT rc=0.
# QEMU_SMP (default 2), QEMU_MEM (default 1024) and QEMU_TIMEOUT (default
# 900 s) adjust the run.
set -u
image=$1; shift
for p in qemu-system-x86_64 busybox cpio gzip; do
  command -v $p >/dev/null || { echo "missing $p (apt-get install qemu-system-x86 busybox-static cpio)"; exit 2; }
done
[[ -f $image ]] || { echo "no kernel image $image"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work" "$work.initrd.gz"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,tmp,tests}
cp "$(command -v busybox)" "$work/bin/busybox"
i=0
: >"$work/tests/run-list"
for spec in "$@"; do
  if [[ $spec == +* ]]; then
    cp "${spec#+}" "$work/tests/$(basename "${spec#+}")"
    continue
  fi
  prog=${spec%%@*}
  args=; [[ $spec == *@* ]] && args=${spec#*@}
  name=$(printf '%02d' $i)-$(basename "$prog")
  cp "$prog" "$work/tests/$name"
  echo "/tests/$name $args" >>"$work/tests/run-list"
  i=$((i + 1))
done
cat >"$work/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo "guest kernel: $(uname -r)"
rc=0
export BATCHTEST_EXTRA=/tmp/extra-results
: >$BATCHTEST_EXTRA
while read -r t args; do
  echo "guest: running $t $args"
  # shellcheck disable=SC2086
  "$t" $args </dev/null || { echo "test $t exited $?"; rc=1; }
done </tests/run-list
echo "RESULT rc=$rc"
poweroff -f
INIT
chmod +x "$work/init"
(cd "$work" && find . | cpio -o -H newc 2>/dev/null | gzip >"$work.initrd.gz")
out=$(timeout "${QEMU_TIMEOUT:-900}" qemu-system-x86_64 -M q35 -cpu max -m "${QEMU_MEM:-1024}" \
  -smp "${QEMU_SMP:-2}" -nographic -no-reboot -kernel "$image" -initrd "$work.initrd.gz" \
  -append "console=ttyS0 quiet panic=-1" 2>&1)
printf '%s\n' "$out" | tr -d '\r' | sed -n '/guest kernel:/,$p'
grep -q 'RESULT rc=0' <<<"$out"
