// SPDX-License-Identifier: GPL-2.0
/* Probe: 6.x multicast groups take GENL_MCAST_CAP_* flags. */
#include <net/genetlink.h>

const struct genl_multicast_group mrl_probe = {
	.name = "probe",
	.flags = GENL_MCAST_CAP_SYS_ADMIN,
};
