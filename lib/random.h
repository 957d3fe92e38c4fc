/* Randomness from the kernel (getrandom(2)) for keys, tickets, session
 * ids and ISN secrets. Never blocks: before the kernel's generator is
 * seeded it fails rather than waits, so no event loop stalls on it. */
#ifndef HG_RANDOM_H
#define HG_RANDOM_H

#include <stddef.h>

/* Fills buf with n random bytes: 0, or -1 (nothing usable written). */
int hg_random_bytes(void *buf, size_t n);

#endif
