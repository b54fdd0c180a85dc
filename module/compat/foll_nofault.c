// SPDX-License-Identifier: GPL-2.0
/* Probe: FOLL_NOFAULT (5.16): GUP that fails instead of faulting. */
#include <linux/mm.h>

unsigned int mrl_probe = FOLL_NOFAULT;
