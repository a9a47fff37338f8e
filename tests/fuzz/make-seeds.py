#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Writes the seed corpus of fuzz-txn (tests/fuzz/corpus) from readable
# call sequences; the byte format is the one fuzz-txn.c parses.
import os, sys

BEGIN, ADD, DELETE, MOVE, FLAGS, ENCODE, COMMIT, ABORT, LOOKUP = 0, 3, 9, 11, 13, 14, 15, 17, 18
RESERVE, UNRESERVE, ADOPT, RELEASE, RENEW = 20, 44, 21, 22, 23

def setup(mode=3, batch=0, rfc=0, noreg2=0, hold=0, quiesce=0, two_as=0,
          nr_slots=8, phys=0, gmem=0):
    a = mode | batch << 2 | rfc << 3 | noreg2 << 4 | hold << 5 | quiesce << 6 | two_as << 7
    return [a, (nr_slots - 8), (6 if phys else 0) | gmem << 4]

def idb(nr_slots, slot):       # a gen_id byte naming a new id explicitly
    for b in range(160, 250):
        if b % (nr_slots + 2) == slot:
            return b
    raise ValueError(slot)

def add(slot=None, as_id=0, gpa=0, pages=1, flags=0, hva=0, nr=8):
    # any-byte, as, [id], flags, gpa, size, hva, gmem fd, gmem offset, sz
    head = [0, as_id] if slot is None else [200, as_id, idb(nr, slot)]
    return [ADD] + head + [flags, gpa, 25 + pages - 1, hva, 0, 0, 0]

def present(k=0):              # a gen_id byte picking the k-th present slot
    return k

def modify(op, as_id=0, k=0, gpa=None, flags=None):
    b = [op, as_id, present(k)]
    if op == MOVE:
        b.append(gpa)
    if op == FLAGS:
        b += [flags, 200]
    return b

def commit(fail=None, err=0):
    return [COMMIT, 0 if fail is None else 128 + fail - 1, err]

seeds = {
    'seq-basic': setup(mode=2) + [BEGIN] + add(gpa=0) + add(gpa=2) + add(gpa=4, pages=2)
        + [ENCODE] + commit() + [LOOKUP, 0, 0, 0] + [BEGIN] + modify(MOVE, gpa=10)
        + modify(DELETE, k=1) + add(gpa=2, pages=3) + modify(FLAGS, flags=1)
        + commit(fail=3, err=2) + [BEGIN] + modify(DELETE) + add() + commit(),
    'batch-reorder': setup(batch=1, nr_slots=12) + [BEGIN] + add(gpa=0, pages=2)
        + add(gpa=4, pages=2) + add(gpa=8) + commit() + [BEGIN]
        + modify(MOVE, k=0, gpa=20) + modify(MOVE, k=1, gpa=0) + modify(MOVE, k=1, gpa=4)
        + modify(DELETE, k=2)
        + add(gpa=8, pages=3) + [ENCODE] + commit() + [BEGIN] + add(gpa=20) + commit(fail=1, err=4)
        + [BEGIN] + add(gpa=30) + commit() + [BEGIN] + modify(MOVE, k=0, gpa=16)
        + modify(MOVE, k=1, gpa=0) + modify(MOVE, k=0, gpa=4) + modify(FLAGS, k=2, flags=1)
        + commit(fail=1, err=2),
    'hold-quiesce-2as': setup(hold=1, quiesce=1, two_as=1) + [BEGIN] + add(gpa=0)
        + add(as_id=1, gpa=0) + add(gpa=3) + commit() + [BEGIN] + modify(DELETE, k=0)
        + add(gpa=0, pages=2) + modify(MOVE, as_id=1, gpa=1) + commit(fail=4, err=1)
        + [BEGIN] + modify(DELETE, k=0) + add(gpa=0, pages=2) + commit()
        + [BEGIN] + add() + add() + [RELEASE, 0, 160, 0] + commit() + [RESERVE, 0, 165, 0]
        + [BEGIN] + add() + [ABORT],
    'rfc-partial-phys': setup(batch=1, rfc=1, phys=1, nr_slots=8) + [BEGIN] + add(gpa=0)
        + add(gpa=8) + add(gpa=30) + commit() + [BEGIN] + add(gpa=2) + commit(),
    'reserve-adopt-renew': setup(mode=2, nr_slots=8) + [RESERVE, 0, 161, 0, RESERVE, 0, 162, 0]
        + [ADOPT, 200, 0, 163, 0, 6, 30, 0, 0, 0, 0] + [BEGIN] + add() + add() + [ADOPT, 200, 0, 164, 0, 6, 30, 0, 0, 0, 0]
        + commit() + [UNRESERVE, 0, 161, 0] + [BEGIN] + add() + [RENEW] + [BEGIN] + add() + commit()
        + [LOOKUP, 0, 0, 0, LOOKUP, 2, 0, 0, 0, 0, LOOKUP, 4, 0, LOOKUP, 5, 0, LOOKUP, 7, 0],
    'v1-sequential-rollback': setup(mode=2, noreg2=1, nr_slots=16) + [BEGIN]
        + add(gpa=0) + add(gpa=2) + add(gpa=4) + add(gpa=6) + add(gpa=8) + commit()
        + [BEGIN] + modify(MOVE, k=0, gpa=12) + modify(MOVE, k=1, gpa=14) + modify(FLAGS, k=2, flags=1)
        + modify(DELETE, k=3) + add(gpa=6, pages=2) + commit(fail=4, err=3)
        + [BEGIN] + modify(MOVE, k=0, gpa=12) + modify(DELETE, k=3) + commit(fail=2, err=5),
}

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), 'corpus')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(bytes(b & 0xff for b in data))
