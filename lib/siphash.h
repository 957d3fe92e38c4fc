/* SipHash-2-4 (Aumasson and Bernstein): a keyed 64-bit hash, used where an
 * outsider must not predict or forge the result (ISNs, SYN cookies). */
#ifndef HG_SIPHASH_H
#define HG_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct hg_sipkey {
	uint64_t k0, k1;
};

uint64_t hg_siphash(const struct hg_sipkey *key, const void *data, size_t len);

#endif
