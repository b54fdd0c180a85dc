// SPDX-License-Identifier: GPL-2.0
/*
 * MRLEASE_IOC_API: an api other than 1 or an unknown feature bit fails
 * -EINVAL (and does not count as the handshake); for an unknown feature bit
 * the structure still comes back with no feature granted and the supported
 * ones and the record sizes filled in, so that the caller can ask again
 * with those (and that works); a good one reports the
 * granted and supported features and the record sizes; a second one fails
 * -EBUSY.  A feature not asked for is refused at use: -EOPNOTSUPP.
 */
#include "harness.h"

int main(void)
{
	int fd = t_open_raw(0);
	char *a = t_anon(1);
	struct mrlease_api api;

	api = (struct mrlease_api){ .api = 0 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_API, &api), EINVAL);
	api = (struct mrlease_api){ .api = MRLEASE_API + 1 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_API, &api), EINVAL);
	api = (struct mrlease_api){ .api = ~0ull };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_API, &api), EINVAL);
	CHECK_EQ(api.supported, 0);		/* nothing comes back for a wrong api */
	api = (struct mrlease_api){ .api = MRLEASE_API, .features = MRLEASE_FEATURE_ALL + 1 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_API, &api), EINVAL);
	CHECK_EQ(api.features, 0);
	CHECK_EQ(api.supported, MRLEASE_FEATURE_ALL);
	CHECK_EQ(api.event_size, sizeof(struct mrlease_event));
	CHECK_EQ(api.status_size, sizeof(struct mrlease_status));
	api = (struct mrlease_api){ .api = MRLEASE_API, .features = 1ull << 63, .supported = 5 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_API, &api), EINVAL);
	CHECK_EQ(api.supported, MRLEASE_FEATURE_ALL);
	api = (struct mrlease_api){ .api = MRLEASE_API + 1, .supported = 5 };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_API, &api), EINVAL);
	CHECK_EQ(api.supported, 5);		/* not copied back */

	/* Only what was asked for is granted; the rest is advertised. */
	api = (struct mrlease_api){ .api = MRLEASE_API, .features = MRLEASE_FEATURE_STATUS_PAGE };
	CHECK_OK(t_ioctl(fd, MRLEASE_IOC_API, &api));
	CHECK_EQ(api.api, MRLEASE_API);
	CHECK_EQ(api.features, MRLEASE_FEATURE_STATUS_PAGE);
	CHECK_EQ(api.supported, MRLEASE_FEATURE_ALL);
	CHECK_EQ(api.event_size, sizeof(struct mrlease_event));
	CHECK_EQ(api.status_size, sizeof(struct mrlease_status));

	api = (struct mrlease_api){ .api = MRLEASE_API, .features = MRLEASE_FEATURE_ALL };
	CHECK_ERR(t_ioctl(fd, MRLEASE_IOC_API, &api), EBUSY);

	CHECK_ERR(t_register(fd, a, PG(1), 0, MRLEASE_REG_PIN, 0, NULL), EOPNOTSUPP);
	CHECK_ERR(t_register(fd, a, PG(1), 0, MRLEASE_REG_WAIT_SELF, 0, NULL), EOPNOTSUPP);
	CHECK_OK(t_register(fd, a, PG(1), 0, 0, 0, NULL));
	close(fd);

	/* No features at all: leases without pins still work. */
	fd = t_open_raw(0);
	CHECK_OK(t_api(fd, 0, &api));
	CHECK_EQ(api.features, 0);
	CHECK_ERR(t_register(fd, a, PG(1), 0, MRLEASE_REG_PIN, 0, NULL), EOPNOTSUPP);
	CHECK_OK(t_register(fd, a, PG(1), 0, 0, 0, NULL));
	close(fd);
	t_pass();
}
