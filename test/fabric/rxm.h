/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Two RDM endpoints of one process on rxe0 through Debian's libfabric
 * (verbs;ofi_rxm), for the libfabric tests and benchmark: a send large
 * enough goes by rendezvous, so the receiver reads it from the sender's
 * buffer through the MR that the MR cache holds for it.  And where the
 * mrlease plugin is: lib/ beside the program.
 */
#ifndef MRLEASE_TEST_RXM_H
#define MRLEASE_TEST_RXM_H

#include "harness.h"

#include <dlfcn.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_ext.h>
#include <rdma/fi_tagged.h>

/* The plugin: in lib/ beside the test, where the rig copies the suite's libraries. */
static char plugin_dir[4096], plugin[4200];

static inline void plugin_find(void)
{
	ssize_t n = readlink("/proc/self/exe", plugin_dir, sizeof(plugin_dir) - 5);
	char *slash;

	if (n < 0)
		t_fail("readlink(/proc/self/exe): %s", strerror(errno));
	plugin_dir[n] = 0;
	slash = strrchr(plugin_dir, '/');
	strcpy(slash ? slash + 1 : plugin_dir, "lib");
	snprintf(plugin, sizeof(plugin), "%s/libmrlease-fi.so", plugin_dir);
	if (access(plugin, R_OK))
		t_fail("%s: %s", plugin, strerror(errno));
}

/*
 * The plugin's counters (mrlease_fi_counters(): subscribes, leases, hits,
 * misses, breaks, ranges), if libfabric loaded it and it imported its monitor.
 */
static inline bool plugin_counters(unsigned long c[6])
{
	void *h = dlopen(plugin, RTLD_NOW | RTLD_NOLOAD);
	int (*get)(unsigned long *);

	if (!h) {
		t_info("dlopen(RTLD_NOLOAD): %s", dlerror());
		return false;
	}
	get = (int (*)(unsigned long *))dlsym(h, "mrlease_fi_counters");
	return get && get(c) == 0;
}

#define NODE		"10.11.0.1"	/* rxe0's veth0 (test/guest/rdma-setup.sh) */

static struct fid_fabric *fabric;
static struct fid_domain *domain;
static struct fid_av *av;
static struct fid_ep *ep[2];
static struct fid_cq *cq[2];
static fi_addr_t addr[2];

#define FI_CHECK(call) do {							\
	int r_ = (int)(call);							\
	if (r_)									\
		t_fail("%s: %s", #call, fi_strerror(-r_));			\
} while (0)

static inline void fabric_open(void)
{
	struct fi_info *hints = fi_allocinfo(), *info;
	struct fi_cq_attr cq_attr = { .format = FI_CQ_FORMAT_TAGGED };
	struct fi_av_attr av_attr = { .type = FI_AV_TABLE };
	char name[2][64];
	size_t n;
	int ret;

	hints->ep_attr->type = FI_EP_RDM;
	hints->caps = FI_TAGGED;
	hints->mode = FI_CONTEXT;
	hints->domain_attr->mr_mode = FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
	hints->fabric_attr->prov_name = strdup("verbs;ofi_rxm");
	ret = fi_getinfo(FI_VERSION(1, 13), NODE, NULL, FI_SOURCE, hints, &info);
	if (ret)
		t_skip("fi_getinfo(verbs;ofi_rxm on %s): %s", NODE, fi_strerror(-ret));
	t_info("provider %s, domain %s", info->fabric_attr->prov_name, info->domain_attr->name);
	FI_CHECK(fi_fabric(info->fabric_attr, &fabric, NULL));
	FI_CHECK(fi_domain(fabric, info, &domain, NULL));
	FI_CHECK(fi_av_open(domain, &av_attr, &av, NULL));
	for (int i = 0; i < 2; i++) {
		FI_CHECK(fi_cq_open(domain, &cq_attr, &cq[i], NULL));
		FI_CHECK(fi_endpoint(domain, info, &ep[i], NULL));
		FI_CHECK(fi_ep_bind(ep[i], &cq[i]->fid, FI_SEND | FI_RECV));
		FI_CHECK(fi_ep_bind(ep[i], &av->fid, 0));
		FI_CHECK(fi_enable(ep[i]));
		n = sizeof(name[i]);
		FI_CHECK(fi_getname(&ep[i]->fid, name[i], &n));
		if (fi_av_insert(av, name[i], 1, &addr[i], 0, NULL) != 1)
			t_fail("fi_av_insert of endpoint %d", i);
	}
	fi_freeinfo(hints);
	fi_freeinfo(info);
}

/* Progress both endpoints until each has one completion (rxm progresses its connections there too). */
static inline void wait_both(void)
{
	struct fi_cq_tagged_entry e;
	int64_t t0 = t_now_ns();
	bool done[2] = { false, false };
	ssize_t r;

	while (!done[0] || !done[1]) {
		for (int i = 0; i < 2; i++) {
			if (done[i])
				continue;
			r = fi_cq_read(cq[i], &e, 1);
			if (r == 1) {
				done[i] = true;
			} else if (r == -FI_EAVAIL) {
				struct fi_cq_err_entry err = { 0 };

				fi_cq_readerr(cq[i], &err, 0);
				t_fail("endpoint %d: completion error %s", i, fi_strerror(err.err));
			} else if (r != -FI_EAGAIN) {
				t_fail("fi_cq_read: %s", fi_strerror((int)-r));
			}
		}
		if (t_ms_since(t0) > 20000)
			t_fail("no completion in 20 s (send %s, receive %s)", done[0] ? "done" : "pending",
			       done[1] ? "done" : "pending");
	}
}

/* Send @len bytes of @buf from endpoint 0 into @rbuf at endpoint 1. */
static inline void rxm_send(const char *buf, char *rbuf, size_t len)
{
	struct fi_context ctx[2];
	ssize_t r;

	FI_CHECK(fi_trecv(ep[1], rbuf, len, NULL, addr[0], 7, 0, &ctx[1]));
	do {
		r = fi_tsend(ep[0], buf, len, NULL, addr[1], 7, &ctx[0]);
		if (r == -FI_EAGAIN) {
			fi_cq_read(cq[0], NULL, 0);
			fi_cq_read(cq[1], NULL, 0);
		}
	} while (r == -FI_EAGAIN);
	FI_CHECK(r);
	wait_both();
}

#endif /* MRLEASE_TEST_RXM_H */
