// SPDX-License-Identifier: GPL-2.0
/* Probe: 5.10.y's backport of the group permission is a cap_sys_admin bit. */
#include <net/genetlink.h>

const struct genl_multicast_group mrl_probe = {
	.name = "probe",
	.cap_sys_admin = 1,
};
