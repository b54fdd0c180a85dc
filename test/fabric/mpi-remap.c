// SPDX-License-Identifier: GPL-2.0
/*
 * An MPI program that knows nothing of mrlease (96-mpi-remap runs it under
 * mpiexec, with and without LD_PRELOAD=libmrlease-ucm.so): rank 0 sends a
 * 960 KiB buffer to rank 1 twice (rendezvous; the second send hits the
 * registration cache), then puts new pages with a new pattern under it by
 * raw munmap + raw mmap system calls, which no libc hook sees, and sends
 * again until rank 1 receives the new pattern, for at most a second.
 * Rank 1 answers each message with the byte it received everywhere (-1 for
 * a mix).  Rank 0 prints "STALE 0 <sends after the change that delivered
 * the old pattern>" and "RESULT 0 <ms until the new pattern, or -1>".
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

/*
 * Not 1 MiB: 6.1's rxe reads past its page map for an RDMA READ that ends
 * at the end of a 256-page MR (KASAN on the debug kernel).
 */
#define LEN		(960 << 10)
#define WINDOW_MS	1000
#define OLD		0x5a
#define NEW		0xa5

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static char *map_at(void *at)
{
	long p = syscall(SYS_mmap, at, LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0), -1, 0);

	if (p == -1) {
		perror("mmap");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	return (char *)p;
}

/* Rank 0: send @buf (tag 0 more follow, 1 the last); rank 1's verdict. */
static int send_once(const char *buf, int tag)
{
	int got;

	MPI_Send(buf, LEN, MPI_CHAR, 1, tag, MPI_COMM_WORLD);
	if (tag)
		return 0;
	MPI_Recv(&got, 1, MPI_INT, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	return got;
}

static void receiver(void)
{
	char *buf = map_at(NULL);
	MPI_Status st;

	for (;;) {
		int got;

		MPI_Recv(buf, LEN, MPI_CHAR, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
		if (st.MPI_TAG)
			break;
		got = (uint8_t)buf[0];
		for (int i = 1; i < LEN; i++)
			if (buf[i] != buf[0]) {
				got = -1;
				break;
			}
		MPI_Send(&got, 1, MPI_INT, 0, 0, MPI_COMM_WORLD);
	}
}

static int sender(void)
{
	char *buf = map_at(NULL);
	long long t0, ms = -1;
	int got, stale = 0;

	memset(buf, OLD, LEN);
	for (int i = 0; i < 2; i++) {
		got = send_once(buf, 0);
		if (got != OLD) {
			printf("FAIL: before the change rank 1 got %d, not %#x\n", got, OLD);
			return 1;
		}
	}
	if (syscall(SYS_munmap, buf, LEN)) {
		perror("munmap");
		return 1;
	}
	map_at(buf);
	memset(buf, NEW, LEN);
	t0 = now_ms();
	do {
		got = send_once(buf, 0);
		if (got == NEW) {
			ms = now_ms() - t0;
			break;
		}
		if (got != OLD) {
			printf("FAIL: rank 1 got %d, neither old %#x nor new %#x\n", got, OLD, NEW);
			return 1;
		}
		stale++;
		usleep(200);
	} while (now_ms() - t0 < WINDOW_MS);
	send_once(buf, 1);
	printf("STALE 0 %d\n", stale);
	printf("RESULT 0 %lld\n", ms);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	int rank, size, rc = 0;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (size != 2) {
		if (rank == 0)
			printf("FAIL: run with 2 ranks, not %d\n", size);
		MPI_Finalize();
		return 1;
	}
	if (rank == 0)
		rc = sender();
	else
		receiver();
	if (rc)
		MPI_Abort(MPI_COMM_WORLD, rc);
	MPI_Finalize();
	return 0;
}
