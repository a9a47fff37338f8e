/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Self-check of the tier's harness with raw ioctls only (no libmemslot):
 * the page reader must see mapped pages with their bytes and unmapped pages
 * as MMIO, READONLY pages as read-only, and address space 1 only in SMM.
 * If this fails, the guest-visible checks of the other programs mean
 * nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kvm-compat.h"
#include "rk.h"
#include "rk-vcpu.h"

#define PG 4096u
#define CODE_GPA 0xf0000000u

static void expect_read(struct rk_vcpu *v, uint32_t gpa, int want, uint8_t wantval,
			const char *what)
{
	uint8_t val = 0;
	int r = rk_vcpu_read(v, gpa, &val);

	if (r < 0) {
		RK_CHECK(0, "%s: read 0x%x: %s", what, gpa, v->err);
		return;
	}
	if (want == RK_MAPPED)
		RK_CHECK(r == RK_MAPPED && val == wantval,
			 "%s: read 0x%x: %s 0x%02x, wanted mapped 0x%02x", what, gpa,
			 r == RK_MAPPED ? "mapped" : "MMIO", val, wantval);
	else
		RK_CHECK(r == RK_MMIO, "%s: read 0x%x: %s, wanted MMIO", what, gpa,
			 r == RK_MAPPED ? "mapped" : "MMIO");
}

int main(int argc, char **argv)
{
	struct utsname u;
	int kvm, vm, r, i;
	struct rk_vcpu v, s;
	uint8_t *code, *data, *ro, *smram, *smdata;
	double t0;

	if (argc > 1 && !strcmp(argv[1], "--probe")) {
		/* realkvm-host.test: is /dev/kvm usable here?  0 yes, 77 no. */
		int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), api;

		if (fd < 0) {
			printf("/dev/kvm: %s\n", strerror(errno));
			return 77;
		}
		api = ioctl(fd, KVM_GET_API_VERSION, 0);
		if (api != 12) {
			printf("/dev/kvm: KVM_GET_API_VERSION %d%s%s\n", api,
			       api < 0 ? ": " : "", api < 0 ? strerror(errno) : "");
			return 77;
		}
		do
			vm = ioctl(fd, KVM_CREATE_VM, 0);
		while (vm < 0 && errno == EINTR);
		if (vm < 0) {
			printf("/dev/kvm: KVM_CREATE_VM: %s\n", strerror(errno));
			return 77;
		}
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--hold")) {
		/* /init runs this in the background: one VM for the whole run
		 * keeps KVM's static keys on between the programs (rk.c). */
		rk_kvm();
		for (;;)
			pause();
	}
	kvm = rk_kvm();
	uname(&u);
	printf("selftest: kernel %s api %d nr_memslots %d multi_as %d readonly %d "
	       "user_memory2 %d smm %d\n", u.release,
	       ioctl(kvm, KVM_GET_API_VERSION, 0), rk_cap(kvm, KVM_CAP_NR_MEMSLOTS),
	       rk_cap(kvm, KVM_CAP_MULTI_ADDRESS_SPACE), rk_cap(kvm, KVM_CAP_READONLY_MEM),
	       rk_cap(kvm, KVM_CAP_USER_MEMORY2), rk_cap(kvm, KVM_CAP_X86_SMM));
	RK_CHECK(ioctl(kvm, KVM_GET_API_VERSION, 0) == 12, "KVM API version 12");
	RK_CHECK(rk_cap(kvm, KVM_CAP_NR_MEMSLOTS) > 0, "KVM_CAP_NR_MEMSLOTS");

	vm = rk_vm_create();
	code = rk_map(PG);
	data = rk_map(16 * PG);
	ro = rk_map(4 * PG);
	rk_vcpu_code(code, 0);
	for (i = 0; i < 16; i++)
		data[i * PG + 0x42] = (uint8_t)(0x10 + i);
	for (i = 0; i < 4; i++)
		ro[i * PG + 0x42] = (uint8_t)(0x80 + i);

	r = rk_set_region(vm, 0, 0, 0, CODE_GPA, PG, (uintptr_t)code);
	RK_CHECK(r == 0, "code slot: %s", rk_errname(r));
	r = rk_set_region(vm, 0, 1, 0, 0x100000, 16 * PG, (uintptr_t)data);
	RK_CHECK(r == 0, "data slot: %s", rk_errname(r));
	r = rk_set_region(vm, 0, 2, KVM_MEM_READONLY, 0x300000, 4 * PG, (uintptr_t)ro);
	RK_CHECK(r == 0, "readonly slot: %s", rk_errname(r));
	r = rk_set_region(vm, 0, 3, 0, 1, PG, (uintptr_t)data);
	RK_CHECK(r == -EINVAL, "misaligned gpa: %s", rk_errname(r));

	r = rk_vcpu_create(vm, 0, CODE_GPA, 0, &v);
	if (r)
		rk_fatal("vcpu: %s", v.err);
	t0 = rk_now();
	for (i = 0; i < 16; i++)
		expect_read(&v, 0x100000 + i * PG + 0x42, RK_MAPPED, (uint8_t)(0x10 + i), "data");
	printf("selftest: 16 reads in %.1f us/read\n", (rk_now() - t0) / 16 * 1e6);
	expect_read(&v, 0x100000 + 16 * PG, RK_MMIO, 0, "just past data");
	expect_read(&v, 0x100000 - PG, RK_MMIO, 0, "just before data");
	for (i = 0; i < 4; i++)
		expect_read(&v, 0x300000 + i * PG + 0x42, RK_MAPPED, (uint8_t)(0x80 + i), "readonly");

	r = rk_vcpu_write(&v, 0x100000 + 3 * PG + 0x100);
	RK_CHECK(r == RK_MAPPED && data[3 * PG + 0x100] == RK_WRITE_VALUE,
		 "write to RAM: %d (%s), host sees 0x%02x", r, v.err, data[3 * PG + 0x100]);
	r = rk_vcpu_write(&v, 0x300000 + 0x100);
	RK_CHECK(r == RK_MMIO && ro[0x100] == 0, "write to READONLY: %d (%s), host sees 0x%02x",
		 r, v.err, ro[0x100]);

	/* delete, shrink: pages fall out and read as MMIO */
	r = rk_set_region(vm, 0, 1, 0, 0x100000, 0, (uintptr_t)data);
	RK_CHECK(r == 0, "delete: %s", rk_errname(r));
	expect_read(&v, 0x100000 + 0x42, RK_MMIO, 0, "deleted");
	r = rk_set_region(vm, 0, 1, 0, 0x100000, 2 * PG, (uintptr_t)data);
	RK_CHECK(r == 0, "re-create smaller: %s", rk_errname(r));
	expect_read(&v, 0x100000 + PG + 0x42, RK_MAPPED, 0x11, "re-created");
	expect_read(&v, 0x100000 + 2 * PG + 0x42, RK_MMIO, 0, "fell out");

	/* address space 1 (SMM) */
	if (rk_cap(kvm, KVM_CAP_X86_SMM) > 0 && rk_cap(vm, KVM_CAP_MULTI_ADDRESS_SPACE) >= 2) {
		smram = rk_map(16 * PG);
		smdata = rk_map(PG);
		rk_vcpu_code(smram + (RK_SMM_HANDLER - 0x30000), 1);
		smdata[0x42] = 0x5e;
		r = rk_set_region(vm, 0, (1u << 16) | 0, 0, 0x30000, 16 * PG, (uintptr_t)smram);
		RK_CHECK(r == 0, "as 1 smram slot: %s", rk_errname(r));
		r = rk_set_region(vm, 0, (1u << 16) | 5, 0, 0x400000, PG, (uintptr_t)smdata);
		RK_CHECK(r == 0, "as 1 data slot: %s", rk_errname(r));
		r = rk_vcpu_create(vm, 1, CODE_GPA, 1, &s);
		if (r)
			rk_fatal("smm vcpu: %s", s.err);
		expect_read(&s, 0x400000 + 0x42, RK_MAPPED, 0x5e, "smm: as 1 data");
		expect_read(&s, 0x300000 + 0x42, RK_MMIO, 0, "smm: as 0 only");
		expect_read(&v, 0x400000 + 0x42, RK_MMIO, 0, "non-smm: as 1 only");
		expect_read(&v, 0x300000 + 0x42, RK_MAPPED, 0x80, "non-smm: as 0");
		r = rk_set_region(vm, 0, (1u << 16) | 5, 0, 0x400000, 0, (uintptr_t)smdata);
		RK_CHECK(r == 0, "as 1 delete: %s", rk_errname(r));
		expect_read(&s, 0x400000 + 0x42, RK_MMIO, 0, "smm: as 1 deleted");
		rk_vcpu_destroy(&s);
	} else {
		rk_skip(8, "address space 1: no SMM (KVM_CAP_X86_SMM %d, "
			"KVM_CAP_MULTI_ADDRESS_SPACE %d)", rk_cap(kvm, KVM_CAP_X86_SMM),
			rk_cap(vm, KVM_CAP_MULTI_ADDRESS_SPACE));
	}
	rk_vcpu_destroy(&v);
	return rk_finish("selftest");
}
