// SPDX-License-Identifier: GPL-2.0
/*
 * Validity words (MRLEASE_FEATURE_VALID_WORDS): one load says whether a
 * lease is still ARMED.
 *  1. The handshake gives the area's size; mapping it writable (-EPERM),
 *     beyond that size (-EINVAL), or without the feature (-EOPNOTSUPP)
 *     fails, and it cannot be made writable later.
 *  2. A lease's word holds its token from register on; the holder's own
 *     madvise(DONTNEED) and munmap clear it before they return; restore
 *     gives a new, larger token and sets it; unregister clears it.
 *  3. A word handed out again after an unregister never shows an old
 *     token; 600 leases have 600 distinct words.
 *  4. Pages of the area no word lives on are holes: reading one is SIGBUS.
 *  5. A context without the feature: word MRLEASE_NO_WORD, token 0.
 *  6. With max_leases_per_ctx at 600 at the handshake (the area then has
 *     1024 words), the lease past the last word gets MRLEASE_NO_WORD, and
 *     works otherwise.
 *  7. Word pages stay until their context closes, so a user's contexts
 *     may hold twice the pages max_leases_per_user needs: with it at 600
 *     (4 pages), a fifth context's first lease gets no word; once one
 *     context is closed, a new one gets a word again.
 */
#include "harness.h"

#include <setjmp.h>
#include <signal.h>

#define MANY		600
#define PARAM		T_SYSMOD "/parameters/max_leases_per_ctx"

static const volatile uint64_t *map_words(int fd, const struct mrlease_api *a)
{
	void *w = mmap(NULL, a->words_size, PROT_READ, MAP_SHARED, fd, (off_t)(t_pg * MRLEASE_MMAP_WORDS_PGOFF));

	if (w == MAP_FAILED)
		t_fail("mmap of the words: %s", t_errname(errno));
	return w;
}

static uint64_t word(const volatile uint64_t *words, const struct mrlease_register *l)
{
	CHECK_NE(l->word, MRLEASE_NO_WORD);
	return words[l->word];
}

static void drain(int fd)
{
	struct mrlease_event ev;

	while (t_event(fd, &ev, 0) == 1)
		;
}

static sigjmp_buf bus_jmp;

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

int main(void)
{
	struct mrlease_api a;
	struct mrlease_register l, l2, many[MANY];
	const volatile uint64_t *words;
	uint64_t old_token;
	size_t wsize;
	char *m = t_anon(4), *big;
	void *p;
	int fd, fd0, r;

	t_info("---- 1: the area");
	fd = t_open_raw(O_NONBLOCK);
	CHECK_OK(t_api(fd, MRLEASE_FEATURE_ALL, &a));
	t_info("words_size %u (%u words)", a.words_size, a.words_size / 8);
	CHECK_NE(a.words_size, 0);
	CHECK_EQ(a.words_size % t_pg, 0);
	p = mmap(NULL, a.words_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)t_pg);
	CHECK(p == MAP_FAILED && errno == EPERM);
	p = mmap(NULL, a.words_size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, (off_t)t_pg);
	CHECK(p == MAP_FAILED && errno == EPERM);
	p = mmap(NULL, a.words_size + t_pg, PROT_READ, MAP_SHARED, fd, (off_t)t_pg);
	CHECK(p == MAP_FAILED && errno == EINVAL);
	p = mmap(NULL, t_pg, PROT_READ, MAP_SHARED, fd, (off_t)PG(2));
	CHECK(p == MAP_FAILED && errno == EINVAL);
	words = map_words(fd, &a);
	wsize = a.words_size;
	CHECK(mprotect((void *)words, t_pg, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
	CHECK(mprotect((void *)words, t_pg, PROT_READ | PROT_EXEC) == -1 && errno == EACCES);

	t_info("---- 2: a lease's word");
	CHECK_OK(t_register(fd, m, PG(2), 1, 0, 0, &l));
	t_info("lease %llu: word %u token %llu", (unsigned long long)l.id, l.word,
	       (unsigned long long)l.token);
	CHECK_NE(l.token, 0);
	CHECK_EQ(word(words, &l), l.token);
	CHECK_SYS(madvise(m, PG(1), MADV_DONTNEED));
	CHECK_EQ(word(words, &l), 0);		/* before madvise() returned */
	CHECK_EQ(t_state(fd, l.id), MRLEASE_STATE_BROKEN);
	drain(fd);
	old_token = l.token;
	CHECK_OK(t_restore(fd, &l));
	CHECK(l.token > old_token);
	CHECK_EQ(word(words, &l), l.token);
	/* The same with a pinned lease and munmap. */
	CHECK_OK(t_register(fd, m + PG(2), PG(2), 2, MRLEASE_REG_PIN, 0, &l2));
	CHECK_EQ(word(words, &l2), l2.token);
	CHECK_NE(l2.word, l.word);
	CHECK(l2.token > l.token);
	CHECK_SYS(munmap(m + PG(3), PG(1)));
	CHECK_EQ(word(words, &l2), 0);
	drain(fd);
	CHECK_OK(t_unregister(fd, l2.id));
	CHECK_EQ(word(words, &l2), 0);
	CHECK_EQ(word(words, &l), l.token);
	CHECK_OK(t_unregister(fd, l.id));
	CHECK_EQ(word(words, &l), 0);

	t_info("---- 3: words handed out again, %d leases", MANY);
	big = t_anon(MANY);
	for (int i = 0; i < MANY; i++) {
		CHECK_OK(t_register(fd, big + PG(i), t_pg, 100 + i, 0, 0, &many[i]));
		CHECK_EQ(word(words, &many[i]), many[i].token);
		CHECK(many[i].token > l.token);
		if (many[i].word == l.word || many[i].word == l2.word)
			t_info("lease %d got word %u again, with token %llu", i, many[i].word,
			       (unsigned long long)many[i].token);
		for (int j = 0; j < i; j++)
			if (many[j].word == many[i].word)
				t_fail("leases %d and %d share word %u", j, i, many[i].word);
	}
	CHECK_NE(word(words, &many[0]), old_token);
	for (int i = 0; i < MANY; i += 2)
		CHECK_OK(t_unregister(fd, many[i].id));
	for (int i = 0; i < MANY; i++)
		CHECK_EQ(word(words, &many[i]), i % 2 ? many[i].token : 0);

	t_info("---- 4: the rest of the area is a hole");
	if (a.words_size / t_pg > 2) {
		const volatile uint64_t *last = words + a.words_size / 8 - 1;
		struct sigaction sa = { .sa_handler = on_bus }, old;
		volatile uint64_t v = 0;

		CHECK_SYS(sigaction(SIGBUS, &sa, &old));
		if (sigsetjmp(bus_jmp, 1) == 0) {
			v = *last;
			t_fail("read %llu from a page no word lives on", (unsigned long long)v);
		}
		CHECK_SYS(sigaction(SIGBUS, &old, NULL));
		t_info("SIGBUS reading the last page of the area, as expected");
	}

	t_info("---- 5: a context without the feature");
	fd0 = t_open_raw(0);
	CHECK_OK(t_api(fd0, MRLEASE_FEATURE_ALL & ~MRLEASE_FEATURE_VALID_WORDS, &a));
	CHECK_EQ(a.words_size, 0);
	p = mmap(NULL, t_pg, PROT_READ, MAP_SHARED, fd0, (off_t)t_pg);
	CHECK(p == MAP_FAILED && errno == EOPNOTSUPP);
	CHECK_OK(t_register(fd0, m, t_pg, 5, 0, 0, &l));
	CHECK_EQ(l.word, MRLEASE_NO_WORD);
	CHECK_EQ(l.token, 0);
	close(fd0);

	t_info("---- 6: more leases than words");
	{
		char saved[32];
		struct mrlease_api a2;
		const volatile uint64_t *w2;
		int n = 0;

		CHECK_OK(t_read_text(PARAM, saved, sizeof(saved)));
		CHECK_OK(t_write_text(PARAM, "600"));
		fd0 = t_open_raw(0);
		r = t_api(fd0, MRLEASE_FEATURE_ALL, &a2);
		CHECK_OK(t_write_text(PARAM, saved));
		CHECK_OK(r);
		t_info("max_leases_per_ctx 600 at the handshake: words_size %u", a2.words_size);
		CHECK_EQ(a2.words_size, (600 * 8 + t_pg - 1) / t_pg * t_pg);
		w2 = map_words(fd0, &a2);
		for (;; n++) {
			CHECK_OK(t_register(fd0, big + PG(n % MANY), t_pg, n, 0, 0, &l));
			if (l.word == MRLEASE_NO_WORD)
				break;
			CHECK_EQ(w2[l.word], l.token);
			CHECK(n < (int)(a2.words_size / 8));
		}
		t_info("lease %d (past %u words): MRLEASE_NO_WORD, token %llu, state %u", n, a2.words_size / 8,
		       (unsigned long long)l.token, t_state(fd0, l.id));
		CHECK_EQ(n, (int)(a2.words_size / 8));
		CHECK_EQ(l.token, 0);
		CHECK_EQ(t_state(fd0, l.id), MRLEASE_STATE_ARMED);
		/* A mapping holds the context open: unmap, then close. */
		CHECK_SYS(munmap((void *)w2, a2.words_size));
		close(fd0);
	}
	CHECK_SYS(munmap((void *)words, wsize));
	close(fd);

	t_info("---- 7: a budget of word pages per user");
	{
		char saved[32];
		int ctxs[8], n;

		CHECK_OK(t_read_text(T_SYSMOD "/parameters/max_leases_per_user", saved, sizeof(saved)));
		CHECK_OK(t_write_text(T_SYSMOD "/parameters/max_leases_per_user", "600"));
		for (n = 0; n < 8; n++) {
			ctxs[n] = t_ctx();
			r = t_register(ctxs[n], big, t_pg, n, 0, 0, &l);
			if (r) {
				t_write_text(T_SYSMOD "/parameters/max_leases_per_user", saved);
				CHECK_OK(r);
			}
			if (l.word == MRLEASE_NO_WORD)
				break;
		}
		t_info("context %d's lease got no word (budget: 4 pages at max_leases_per_user 600)", n);
		CHECK_EQ(n, 4);
		close(ctxs[0]);
		fd0 = t_ctx();
		r = t_register(fd0, big, t_pg, 99, 0, 0, &l);
		CHECK_OK(t_write_text(T_SYSMOD "/parameters/max_leases_per_user", saved));
		CHECK_OK(r);
		CHECK_NE(l.word, MRLEASE_NO_WORD);
		close(fd0);
		for (int i = 1; i <= n; i++)
			close(ctxs[i]);
	}
	t_pass();
}
