#include "random.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

int hg_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t left = n;

	while (left > 0) {
		ssize_t r = getrandom(p, left, GRND_NONBLOCK);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			explicit_bzero(buf, n);
			return -1;
		}
		/* Large requests may come back short: ask for the rest. */
		p += r;
		left -= (size_t)r;
	}
	return 0;
}
