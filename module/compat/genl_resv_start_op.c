// SPDX-License-Identifier: GPL-2.0
/* Probe: 6.0+ families say from which op on validation is strict. */
#include <net/genetlink.h>

struct genl_family mrl_probe = {
	.resv_start_op = 1,
};
