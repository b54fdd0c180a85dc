/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fuzzer regressions: seeds (with the number of iterations) whose run once
 * crashed, hung or broke an oracle.  98-fuzz replays every entry before its
 * random run.  To add one, take the line the fuzzer printed on failure
 * ("replay: MRLEASE_FUZZ_SEED=S MRLEASE_FUZZ_ITERS=N") and say what it found.
 */
#ifndef MRLEASE_FUZZ_REGRESSIONS_H
#define MRLEASE_FUZZ_REGRESSIONS_H

#include <stdint.h>

struct fuzz_regression {
	uint64_t seed;
	unsigned int iterations;
	const char *what;
};

static const struct fuzz_regression fuzz_regressions[] = {
	/* A fixed smoke run, so that replay itself stays tested. */
	{ 0x6d726c65617365ULL, 300, "fixed seed: exercises every surface once" },
	/*
	 * A lease over [anonymous][DAX file] pins the file's pages without a
	 * reference to the file; munmap + close evicts it under the pins:
	 * WARNING at fs/dax.c:398 dax_disassociate_entry (6.1).  Reproducer:
	 * repro-pin-outlives-file.c.
	 */
	{ 0x96f96c74eb3b4dc7ULL, 478, "fsdax pages freed with their file while pinned" },
	{ 0, 0, NULL },
};

#endif /* MRLEASE_FUZZ_REGRESSIONS_H */
