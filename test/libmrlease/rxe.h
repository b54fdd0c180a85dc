/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Verbs plumbing for the library tests: the soft-RoCE device the rig makes
 * (rxe0 on veth0, see test/guest/rdma-setup.sh), one PD, and a sender and a
 * receiver RC QP on it connected to each other.  rxe loops packets for its
 * own address back inside the driver, so one process is both ends.
 *
 * A test that finds no rxe device skips (the rig was run without --rdma).
 */
#ifndef MRLEASE_TEST_RXE_H
#define MRLEASE_TEST_RXE_H

#include <arpa/inet.h>
#include <infiniband/verbs.h>

#include "harness.h"

#ifndef CHECK_GT
#define CHECK_GT(a, b)	T_CMP(a, >, b)
#endif

#define RXE_NAME	"rxe0"
#define RXE_PORT	1

struct rxe {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *scq, *rcq;
	struct ibv_qp *qs, *qr;		/* sender, receiver */
	union ibv_gid gid;
	int gid_index;
	enum ibv_mtu mtu;
};

/* The IPv4-mapped GID (::ffff:a.b.c.d): no IPv6 duplicate address detection to wait for. */
static inline int rxe_find_gid(struct rxe *r)
{
	for (int i = 0; i < 16; i++) {
		union ibv_gid g;
		static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };

		if (ibv_query_gid(r->ctx, RXE_PORT, i, &g))
			break;
		if (!memcmp(g.raw, v4, sizeof(v4))) {
			r->gid = g;
			r->gid_index = i;
			return 0;
		}
	}
	return -ENOENT;
}

static inline void rxe_qp_connect(struct rxe *r, struct ibv_qp *qp, uint32_t peer)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = RXE_PORT,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ,
	};
	int r_;

	r_ = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			   IBV_QP_ACCESS_FLAGS);
	if (r_)
		t_fail("QP to INIT: %s", t_errname(r_));

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = r->mtu;
	a.dest_qp_num = peer;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 1;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = r->gid;
	a.ah_attr.grh.sgid_index = (uint8_t)r->gid_index;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.port_num = RXE_PORT;
	r_ = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			   IBV_QP_DEST_QPN | IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			   IBV_QP_MIN_RNR_TIMER);
	if (r_)
		t_fail("QP to RTR: %s", t_errname(r_));

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	r_ = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
			   IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
	if (r_)
		t_fail("QP to RTS: %s", t_errname(r_));
}

/* Open rxe0 and connect two RC QPs with @depth work requests each; skip without rxe. */
static inline void rxe_open(struct rxe *r, int depth)
{
	struct ibv_device **list;
	struct ibv_port_attr port;
	int n;

	memset(r, 0, sizeof(*r));
	list = ibv_get_device_list(&n);
	if (!list)
		t_fail("ibv_get_device_list: %s", t_errname(errno));
	for (int i = 0; i < n && !r->ctx; i++)
		if (!strcmp(ibv_get_device_name(list[i]), RXE_NAME))
			r->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!r->ctx)
		t_skip("no RDMA device " RXE_NAME " (run the rig with --rdma)");
	if (ibv_query_port(r->ctx, RXE_PORT, &port))
		t_fail("ibv_query_port: %s", t_errname(errno));
	if (port.state != IBV_PORT_ACTIVE)
		t_fail(RXE_NAME " port is not active (%d)", port.state);
	r->mtu = port.active_mtu;
	if (rxe_find_gid(r))
		t_fail(RXE_NAME " has no IPv4 GID (is veth0 configured?)");

	r->pd = ibv_alloc_pd(r->ctx);
	r->scq = ibv_create_cq(r->ctx, depth, NULL, NULL, 0);
	r->rcq = ibv_create_cq(r->ctx, depth, NULL, NULL, 0);
	if (!r->pd || !r->scq || !r->rcq)
		t_fail("PD/CQ: %s", t_errname(errno));

	for (int i = 0; i < 2; i++) {
		struct ibv_qp_init_attr qa = {
			.send_cq = r->scq,
			.recv_cq = r->rcq,
			.cap = { .max_send_wr = (uint32_t)depth, .max_recv_wr = (uint32_t)depth,
				 .max_send_sge = 1, .max_recv_sge = 1 },
			.qp_type = IBV_QPT_RC,
		};
		struct ibv_qp *qp = ibv_create_qp(r->pd, &qa);

		if (!qp)
			t_fail("ibv_create_qp: %s", t_errname(errno));
		*(i ? &r->qr : &r->qs) = qp;
	}
	rxe_qp_connect(r, r->qs, r->qr->qp_num);
	rxe_qp_connect(r, r->qr, r->qs->qp_num);
}

/*
 * Does the device take RDMA WRITEs into on-demand-paging MRs on RC QPs?
 * rdma_rxe does since upstream gained rxe_odp.c (Debian's 7.2 kernel);
 * 6.1 and 6.12's rxe report no ODP at all.  Fills @why with the caps.
 */
static inline bool rxe_odp_rc_write(struct rxe *r, char *why, size_t size)
{
	struct ibv_device_attr_ex a;
	int r_;

	memset(&a, 0, sizeof(a));
	r_ = ibv_query_device_ex(r->ctx, NULL, &a);
	if (r_)
		t_fail("ibv_query_device_ex: %s", t_errname(r_));
	snprintf(why, size, "odp_caps general %#llx, rc %#x",
		 (unsigned long long)a.odp_caps.general_caps,
		 a.odp_caps.per_transport_caps.rc_odp_caps);
	return (a.odp_caps.general_caps & IBV_ODP_SUPPORT) &&
	       (a.odp_caps.per_transport_caps.rc_odp_caps & IBV_ODP_SUPPORT_WRITE);
}

/* The largest payload of one packet on the connected path. */
static inline uint32_t rxe_mtu_bytes(const struct rxe *r)
{
	return 128u << r->mtu;
}

static inline void rxe_close(struct rxe *r)
{
	ibv_destroy_qp(r->qs);
	ibv_destroy_qp(r->qr);
	ibv_destroy_cq(r->scq);
	ibv_destroy_cq(r->rcq);
	ibv_dealloc_pd(r->pd);
	ibv_close_device(r->ctx);
}

/* Post one zero-length receive (an RDMA WRITE with immediate consumes one). */
static inline void rxe_post_recv(struct rxe *r, uint64_t wr_id)
{
	struct ibv_recv_wr wr = { .wr_id = wr_id }, *bad;
	int r_ = ibv_post_recv(r->qr, &wr, &bad);

	if (r_)
		t_fail("ibv_post_recv: %s", t_errname(r_));
}

/* RDMA WRITE with immediate @imm of [addr, addr + len) (lkey) to raddr (rkey); 0 or an errno. */
static inline int rxe_post_write(struct rxe *r, uint64_t wr_id, const void *addr, uint32_t len,
				 uint32_t lkey, uint64_t raddr, uint32_t rkey, uint32_t imm)
{
	struct ibv_sge sge = { .addr = (uintptr_t)addr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE_WITH_IMM,
		.send_flags = IBV_SEND_SIGNALED,
		.imm_data = htonl(imm),
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	}, *bad;

	return ibv_post_send(r->qs, &wr, &bad);
}

/* Poll @cq for one completion: 1 and *wc, or 0 if none. Fails on an error status. */
static inline int rxe_poll1(struct ibv_cq *cq, struct ibv_wc *wc)
{
	int n = ibv_poll_cq(cq, 1, wc);

	if (n < 0)
		t_fail("ibv_poll_cq: %d", n);
	if (n && wc->status != IBV_WC_SUCCESS)
		t_fail("completion wr_id %llu: %s", (unsigned long long)wc->wr_id,
		       ibv_wc_status_str(wc->status));
	return n;
}

/* One RDMA WRITE of @len bytes from @src into @dst, waited for on both sides. */
static inline void rxe_write_sync(struct rxe *r, const void *src, uint32_t len, uint32_t lkey,
				  void *dst, uint32_t rkey)
{
	struct ibv_wc wc;
	int64_t t0 = t_now_ns();
	int got_s = 0, got_r = 0, r_;

	rxe_post_recv(r, 0);
	r_ = rxe_post_write(r, 1, src, len, lkey, (uintptr_t)dst, rkey, 0);
	if (r_)
		t_fail("ibv_post_send: %s", t_errname(r_));
	while (!got_s || !got_r) {
		got_s += rxe_poll1(r->scq, &wc);
		got_r += rxe_poll1(r->rcq, &wc);
		if (t_ms_since(t0) > 10000)
			t_fail("RDMA WRITE did not complete in 10 s");
	}
}

#endif /* MRLEASE_TEST_RXE_H */
