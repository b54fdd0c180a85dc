// SPDX-License-Identifier: GPL-2.0
/* Probe: 6.6+ has genl_info_dump(); before, genl_dumpit_info()->attrs. */
#include <net/genetlink.h>

struct nlattr **mrl_probe(struct netlink_callback *cb);
struct nlattr **mrl_probe(struct netlink_callback *cb)
{
	return genl_info_dump(cb)->attrs;
}
