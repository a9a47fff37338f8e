/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "rk-vcpu.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rk.h"

#define PORT_ADDR 0x11
#define PORT_DATA 0x10
#define SMM_PORT_ADDR 0x19
#define SMM_PORT_DATA 0x18

/* 32-bit flat protected mode (see rk-vcpu.h). */
static const uint8_t code32[] = {
	0xe5, PORT_ADDR,        /* 00: in eax, PORT_ADDR */
	0x89, 0xc3,             /* 02: mov ebx, eax */
	0xf6, 0xc3, 0x01,       /* 04: test bl, 1 */
	0x75, 0x06,             /* 07: jnz 0x0f */
	0x8a, 0x03,             /* 09: mov al, [ebx] */
	0xe6, PORT_DATA,        /* 0b: out PORT_DATA, al */
	0xeb, 0xf1,             /* 0d: jmp 0x00 */
	0x83, 0xe3, 0xfe,       /* 0f: and ebx, ~1 */
	0xc6, 0x03, RK_WRITE_VALUE, /* 12: mov byte [ebx], 0xa5 */
	0xe6, PORT_DATA,        /* 15: out PORT_DATA, al */
	0xeb, 0xe7,             /* 17: jmp 0x00 */
};

/*
 * The same loop in 16-bit code for SMM (CS base = SMBASE, data segments
 * base 0 and limit 4 GiB on SMM entry): operand and address size prefixes.
 */
static const uint8_t code16[] = {
	0x66, 0xe5, SMM_PORT_ADDR,  /* 00: in eax, SMM_PORT_ADDR */
	0x66, 0x89, 0xc3,           /* 03: mov ebx, eax */
	0xf6, 0xc3, 0x01,           /* 06: test bl, 1 */
	0x75, 0x07,                 /* 09: jnz 0x12 */
	0x67, 0x8a, 0x03,           /* 0b: mov al, [ebx] */
	0xe6, SMM_PORT_DATA,        /* 0e: out SMM_PORT_DATA, al */
	0xeb, 0xee,                 /* 10: jmp 0x00 */
	0x66, 0x83, 0xe3, 0xfe,     /* 12: and ebx, ~1 */
	0x67, 0xc6, 0x03, RK_WRITE_VALUE, /* 16: mov byte [ebx], 0xa5 */
	0xe6, SMM_PORT_DATA,        /* 1a: out SMM_PORT_DATA, al */
	0xeb, 0xe2,                 /* 1c: jmp 0x00 */
};

_Static_assert(sizeof(code32) <= RK_CODE_SIZE, "code32");
_Static_assert(sizeof(code16) <= RK_CODE_SIZE, "code16");

void rk_vcpu_code(void *hva, int smm)
{
	memset(hva, 0xf4, RK_CODE_SIZE);  /* hlt */
	if (smm)
		memcpy(hva, code16, sizeof(code16));
	else
		memcpy(hva, code32, sizeof(code32));
}

static void flat(struct kvm_segment *s, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = code ? 0x08 : 0x10;
	s->type = code ? 11 : 3;   /* execute/read, accessed : read/write, accessed */
	s->present = 1;
	s->dpl = 0;
	s->db = 1;
	s->s = 1;
	s->l = 0;
	s->g = 1;
}

int rk_vcpu_create(int vm_fd, int id, uint64_t code_gpa, int smm,
		   struct rk_vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	memset(v, 0, sizeof(*v));
	v->id = id;
	v->smm = smm;
	v->port_addr = smm ? SMM_PORT_ADDR : PORT_ADDR;
	v->port_data = smm ? SMM_PORT_DATA : PORT_DATA;
	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0) {
		snprintf(v->err, sizeof(v->err), "KVM_CREATE_VCPU: %s", strerror(errno));
		return -errno;
	}
	v->run_size = ioctl(rk_kvm(), KVM_GET_VCPU_MMAP_SIZE, 0);
	v->run = mmap(NULL, (size_t)v->run_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		snprintf(v->err, sizeof(v->err), "mmap kvm_run: %s", strerror(errno));
		close(v->fd);
		return -EIO;
	}
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		goto sys;
	flat(&sregs.cs, 1);
	flat(&sregs.ds, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = 0x11;  /* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		goto sys;
	memset(&regs, 0, sizeof(regs));
	regs.rip = code_gpa;
	regs.rflags = 2;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		goto sys;
	if (smm && ioctl(v->fd, KVM_SMI, 0) < 0)
		goto sys;
	return 0;
sys:
	snprintf(v->err, sizeof(v->err), "vcpu setup: %s", strerror(errno));
	rk_vcpu_destroy(v);
	return -EIO;
}

void rk_vcpu_destroy(struct rk_vcpu *v)
{
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, (size_t)v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

static int run(struct rk_vcpu *v)
{
	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0) == 0)
			return 0;
		if (errno != EINTR) {
			snprintf(v->err, sizeof(v->err), "KVM_RUN: %s", strerror(errno));
			return -errno;
		}
		if (v->on_intr)
			v->on_intr(v, v->intr_opaque);
	}
}

static const char *exit_name(const struct kvm_run *r, char *buf, size_t len)
{
	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf, len, "IO %s port 0x%x size %u",
			 r->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 r->io.port, r->io.size);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, len, "MMIO %s 0x%llx len %u",
			 r->mmio.is_write ? "write" : "read",
			 (unsigned long long)r->mmio.phys_addr, r->mmio.len);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf, len, "INTERNAL_ERROR suberror %u", r->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, len, "FAIL_ENTRY 0x%llx",
			 (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		snprintf(buf, len, "exit reason %u", r->exit_reason);
	}
	return buf;
}

static int unexpected(struct rk_vcpu *v, const char *want)
{
	char b[96];

	snprintf(v->err, sizeof(v->err), "vcpu %d: wanted %s, got %s", v->id,
		 want, exit_name(v->run, b, sizeof(b)));
	return -EPROTO;
}

static int probe(struct rk_vcpu *v, uint32_t gpa, int write, uint8_t *val)
{
	struct kvm_run *r = v->run;
	int mmio = 0, e;

	e = run(v);
	if (e)
		return e;
	if (r->exit_reason != KVM_EXIT_IO || r->io.direction != KVM_EXIT_IO_IN ||
	    r->io.port != v->port_addr || r->io.size != 4)
		return unexpected(v, "the address request (IO in)");
	if (v->smm && !(r->flags & KVM_RUN_X86_SMM))
		return unexpected(v, "SMM (KVM_RUN_X86_SMM in kvm_run.flags)");
	*(uint32_t *)((char *)r + r->io.data_offset) = gpa | (write ? 1u : 0u);
	e = run(v);
	if (e)
		return e;
	if (r->exit_reason == KVM_EXIT_MMIO) {
		if (r->mmio.phys_addr != gpa || r->mmio.len != 1 ||
		    !!r->mmio.is_write != !!write)
			return unexpected(v, "MMIO at the probed address");
		if (!write)
			r->mmio.data[0] = 0xff;
		mmio = 1;
		e = run(v);
		if (e)
			return e;
	}
	if (r->exit_reason != KVM_EXIT_IO || r->io.direction != KVM_EXIT_IO_OUT ||
	    r->io.port != v->port_data || r->io.size != 1)
		return unexpected(v, "the data report (IO out)");
	if (val)
		*val = *((uint8_t *)r + r->io.data_offset);
	return mmio ? RK_MMIO : RK_MAPPED;
}

int rk_vcpu_read(struct rk_vcpu *v, uint32_t gpa, uint8_t *val)
{
	if (gpa & 1) {
		snprintf(v->err, sizeof(v->err), "odd gpa 0x%x", gpa);
		return -EINVAL;
	}
	return probe(v, gpa, 0, val);
}

int rk_vcpu_write(struct rk_vcpu *v, uint32_t gpa)
{
	if (gpa & 1) {
		snprintf(v->err, sizeof(v->err), "odd gpa 0x%x", gpa);
		return -EINVAL;
	}
	return probe(v, gpa, 1, NULL);
}
