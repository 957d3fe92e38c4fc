/* The shared-memory channel between hopgate-dp and hopgate-cp.
 *
 * One POSIX shared-memory object per instance (/dev/shm/<channel.name>),
 * created by the data plane at start (replacing any left by an earlier run)
 * and attached by the control plane. It holds a header describing the data
 * plane (so `status` needs no round trip) and, per worker, two SPSC rings of
 * HG_SLOT_SIZE slots: to_cp (worker produces, control plane consumes) and
 * to_dp (control plane produces, worker consumes).
 *
 * Liveness: the data plane stamps `dp_heartbeat_ns` (CLOCK_MONOTONIC) every
 * 100 ms; the control plane treats the channel as stale when the object was
 * replaced (a data plane restart), the data plane's pid is gone, or the
 * heartbeat is older than HG_CHAN_STALE_NS, and then re-attaches.
 *
 * Attach protocol: the control plane drains every to_cp ring (answers meant
 * for a previous control plane), bumps `cp_generation` and publishes its pid.
 * Requests carry sequence numbers, so late answers are dropped by seq.
 *
 * Doorbell: a futex word in the header. The control plane sleeps on it in
 * hg_chan_wait; a worker that published messages calls hg_chan_ring_bell,
 * which costs one atomic load unless the control plane is actually asleep.
 */
#ifndef HG_CHANNEL_H
#define HG_CHANNEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "ring.h"

#define HG_CHAN_MAGIC 0x686f7067617465ULL /* "hopgate" */
#define HG_CHAN_VERSION 2
#define HG_CHAN_STALE_NS (3ULL * 1000000000ULL)

struct hg_chan_port_info {
	char name[HG_NAME_MAX];
	char driver[HG_NAME_MAX];
	uint8_t mac[6];
	uint16_t port_id;
	uint32_t addr; /* host order */
	uint8_t prefix_len;
	uint8_t link_up;
	uint16_t mtu;
	uint32_t link_speed_mbps;
};

struct hg_chan_header {
	uint64_t magic;
	uint32_t version;
	uint32_t n_workers;
	uint32_t ring_slots;
	uint32_t slot_size;
	uint64_t size;
	uint64_t to_cp_off[HG_MAX_WORKERS];
	uint64_t to_dp_off[HG_MAX_WORKERS];

	/* Written by the data plane. */
	char dp_version[32];
	char dpdk_version[64];
	int64_t dp_pid;
	uint64_t dp_start_realtime_ns;
	_Atomic uint64_t dp_heartbeat_ns;
	uint32_t n_ports;
	uint32_t n_vs; /* virtual servers: VS_STATS_REPLY messages per worker */
	struct hg_chan_port_info ports[HG_MAX_PORTS];

	/* Written by the control plane. */
	_Atomic int64_t cp_pid;
	_Atomic uint64_t cp_generation;

	/* Doorbell. */
	_Alignas(64) _Atomic uint32_t bell_seq;
	_Atomic uint32_t bell_sleepers;
};

struct hg_chan {
	struct hg_chan_header *hdr;
	size_t size;
	char name[64];
	dev_t dev; /* identity of the mapped object, to notice replacement */
	ino_t ino;
	bool owner;
};

/* Data plane: creates (replacing) the object. Returns 0 or -errno. */
int hg_chan_create(struct hg_chan *ch, const char *name, unsigned n_workers,
		   unsigned ring_slots);
/* Data plane: unmaps and removes the object. */
void hg_chan_destroy(struct hg_chan *ch);

/* Control plane: maps the object, checks magic, version and layout,
 * drains to_cp rings and registers. Returns 0 or -errno (-EPROTO on a
 * layout or version mismatch). */
int hg_chan_attach(struct hg_chan *ch, const char *name);
/* Control plane: unregisters and unmaps. */
void hg_chan_detach(struct hg_chan *ch);
/* Control plane: true when the data plane behind `ch` is gone or replaced. */
bool hg_chan_stale(struct hg_chan *ch);

struct hg_ring *hg_chan_to_cp(struct hg_chan *ch, unsigned worker);
struct hg_ring *hg_chan_to_dp(struct hg_chan *ch, unsigned worker);

/* Data plane: wakes a control plane sleeping in hg_chan_wait. */
void hg_chan_ring_bell(struct hg_chan *ch);
/* Control plane: sleeps until a worker rings or `timeout_ms` passes,
 * unless some to_cp ring already holds a message. */
void hg_chan_wait(struct hg_chan *ch, unsigned timeout_ms);

uint64_t hg_monotonic_ns(void);
uint64_t hg_realtime_ns(void);

#endif
