/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * The names of the uapi's values, written once.  libmrlease returns them
 * (mrlease_reason_str(), mrlease_state_str()), mrlease-ctl prints them in
 * text and JSON, and the tests and the demo print them: each includes this
 * file, so a value added to <linux/mrlease.h> is named in one place, and
 * lib/check-names.sh fails until it is.  Not installed: applications use
 * the library's functions.
 *
 * Enumerations are indexed by value (a hole is NULL); flags by bit number.
 */
#ifndef MRLEASE_NAMES_H
#define MRLEASE_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include <linux/mrlease.h>

static const char *const mrlease_state_names[] = {
	[MRLEASE_STATE_ARMED] = "armed",
	[MRLEASE_STATE_BROKEN] = "broken",
	[MRLEASE_STATE_ACKED] = "acked",
	[MRLEASE_STATE_REVOKED] = "revoked",
};

static const char *const mrlease_reason_names[] = {
	[MRLEASE_REASON_UNMAP] = "unmap",
	[MRLEASE_REASON_CLEAR] = "clear",
	[MRLEASE_REASON_MIGRATE] = "migrate",
	[MRLEASE_REASON_EXIT] = "exit",
	[MRLEASE_REASON_OTHER] = "other",
	[MRLEASE_REASON_TIMEOUT] = "timeout",
	[MRLEASE_REASON_ADMIN] = "admin",
	[MRLEASE_REASON_LAYOUT] = "layout",
};

static const char *const mrlease_backing_names[] = {
	[MRLEASE_BACKING_ANON] = "anon",
	[MRLEASE_BACKING_SHMEM] = "shmem",
	[MRLEASE_BACKING_FILE] = "file",
	[MRLEASE_BACKING_FSDAX] = "fsdax",
};

static const char *const mrlease_layout_names[] = {
	[MRLEASE_LAYOUT_NONE] = "none",
	[MRLEASE_LAYOUT_HELD] = "held",
	[MRLEASE_LAYOUT_BROKEN] = "broken",
	[MRLEASE_LAYOUT_RELEASED] = "released",
	[MRLEASE_LAYOUT_REFUSED] = "refused",
};

static const char *const mrlease_hold_names[] = {
	[MRLEASE_HOLD_NONE] = "none",
	[MRLEASE_HOLD_WAIT] = "wait",
	[MRLEASE_HOLD_NOT_OWNER] = "not-owner",
};

static const char *const mrlease_event_names[] = {
	[MRLEASE_EVENT_DECOHERENCE] = "decoherence",
	[MRLEASE_EVENT_REVOKED] = "revoked",
};

static const char *const mrlease_ntf_names[] = {
	[MRLEASE_NTF_REGISTER] = "register",
	[MRLEASE_NTF_BREAK] = "break",
	[MRLEASE_NTF_ACK] = "ack",
	[MRLEASE_NTF_RESTORE] = "restore",
	[MRLEASE_NTF_REVOKE] = "revoke",
	[MRLEASE_NTF_UNREGISTER] = "unregister",
};

/* By bit number: MRLEASE_EVENT_F_SELF, _KTHREAD, _UNPINNED. */
static const char *const mrlease_event_flag_names[] = {
	"self",
	"kthread",
	"unpinned",
};

/* By bit number: MRLEASE_REG_PIN, MRLEASE_REG_WAIT_SELF. */
static const char *const mrlease_reg_flag_names[] = {
	"pin",
	"wait_self",
};

#define MRLEASE_NAMES_NR(names)	(sizeof(names) / sizeof((names)[0]))

/* The name of @v in @names, or NULL: mrlease_name(mrlease_state_names, v). */
#define mrlease_name(names, v)	mrlease_name_of((names), MRLEASE_NAMES_NR(names), (v))

static inline const char *mrlease_name_of(const char *const *names, size_t nr, uint64_t v)
{
	return v < nr ? names[v] : NULL;
}

#endif /* MRLEASE_NAMES_H */
