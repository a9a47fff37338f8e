/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A vCPU that reads guest physical memory for the host: the page reader of
 * the real-kernel tier.
 *
 * The guest is a loop of a few instructions (flat 32-bit protected mode, no
 * paging, set up directly through KVM_SET_SREGS):
 *
 *     in eax, PORT_ADDR        ; the host supplies a guest physical address
 *     bit 0 clear: mov al, [eax]; out PORT_DATA, al   ; read, report the byte
 *     bit 0 set:   mov byte [eax & ~1], 0xA5; out PORT_DATA, al  ; write
 *
 * A read of an address no memslot maps leaves KVM_RUN with KVM_EXIT_MMIO at
 * that address (the host answers 0xff); a write to a READONLY slot does the
 * same.  So every probe says whether the page is mapped in the address
 * space the vCPU is in, and for a read which byte it holds.
 *
 * The SMM variant runs the same loop as a real-mode SMI handler at
 * SMBASE + 0x8000 (0x38000, address space 1; other ports), entered with
 * KVM_SMI, to look at address space 1.
 */
#ifndef RK_VCPU_H
#define RK_VCPU_H

#include <linux/kvm.h>
#include <stdint.h>

#define RK_CODE_SIZE 64          /* bytes rk_vcpu_code() writes */
#define RK_SMM_HANDLER 0x38000u  /* gpa of the SMI handler (default SMBASE 0x30000) */
#define RK_SMM_STATE_LO 0x3fc00u /* the SMM state save area the CPU writes */
#define RK_WRITE_VALUE 0xa5

enum rk_probe {
	RK_MAPPED = 1,    /* the access reached memory */
	RK_MMIO = 2,      /* it left with KVM_EXIT_MMIO at that address */
};

struct rk_vcpu {
	int fd;
	int id;
	int smm;
	struct kvm_run *run;
	int run_size;
	uint16_t port_addr, port_data;
	/*
	 * Called when KVM_RUN returns EINTR (a signal kicked the vCPU out),
	 * outside KVM_RUN; the probe then resumes.  NULL: just resume.
	 */
	void (*on_intr)(struct rk_vcpu *v, void *opaque);
	void *intr_opaque;
	char err[160];     /* why the last probe failed */
};

/*
 * Write the guest code for a normal (smm = 0) or SMM vCPU into host memory
 * that will be mapped at the code gpa (normal: any page-aligned gpa below
 * 4 GiB; SMM: RK_SMM_HANDLER in address space 1).
 */
void rk_vcpu_code(void *hva, int smm);

/*
 * Create vCPU id on vm: normal vCPUs start at code_gpa in flat protected
 * mode; an SMM vCPU gets KVM_SMI (needs KVM_CAP_X86_SMM) and enters the
 * handler at RK_SMM_HANDLER on its first run.  0 or -errno (v->err says).
 */
int rk_vcpu_create(int vm_fd, int id, uint64_t code_gpa, int smm,
		   struct rk_vcpu *v);
void rk_vcpu_destroy(struct rk_vcpu *v);

/*
 * One access: returns RK_MAPPED (a read stores the byte in *val) or
 * RK_MMIO, or a negative errno on an unexpected exit (v->err says).
 */
int rk_vcpu_read(struct rk_vcpu *v, uint32_t gpa, uint8_t *val);
int rk_vcpu_write(struct rk_vcpu *v, uint32_t gpa);

#endif
