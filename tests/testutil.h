/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared fixtures of the Check suites: a vm on a simulated kernel. */
#ifndef LIBMEMSLOT_TESTUTIL_H
#define LIBMEMSLOT_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "libmemslot/libmemslot.h"
#include "region.h"

#define PAGE 4096ull
#define MiB (1024ull * 1024)
/* A host address range that is page aligned and below every access_ok bound. */
#define HVA(n) (0x10000000000ull + (uint64_t)(n) * 0x40000000ull)

struct fixture {
	struct memslot_sim *sim;
	struct memslot_vm *vm;
	int quiesced, resumed;
	int quiesce_ret;
};

/* A simulated kernel with sim_opts (NULL: defaults) and a vm on it. */
void fixture_init(struct fixture *f, const struct memslot_sim_opts *sim_opts,
		  int mode, uint32_t vm_flags);
void fixture_fini(struct fixture *f);


/* Fails the test unless the vm view equals the simulated kernel's table. */
void assert_view_matches(const struct fixture *f);
/* Number of slots in the sim's table. */
int sim_slot_count(const struct memslot_sim *sim);

/* Add, commit and check; the slot id used. */
uint16_t commit_add(struct fixture *f, struct memslot_region r);

/* Run one suite; returns the process exit status. */
int run_suite(Suite *s);

#endif
