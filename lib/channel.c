#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"

uint64_t hg_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t hg_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int shm_path(const char *name, char *buf, size_t len)
{
	/* shm_open names are "/name" and live in /dev/shm on Linux. */
	if (name[0] == '\0' || strchr(name, '/') != NULL)
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "/%s", name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int hg_chan_create(struct hg_chan *ch, const char *name, unsigned n_workers,
		   unsigned ring_slots)
{
	char path[80];
	struct stat st;
	size_t off, ring_bytes, size;
	struct hg_chan_header *h;
	int fd, rc;

	memset(ch, 0, sizeof(*ch));
	if (n_workers == 0 || n_workers > HG_MAX_WORKERS)
		return -EINVAL;
	rc = shm_path(name, path, sizeof(path));
	if (rc < 0)
		return rc;
	ring_bytes = align_up(hg_ring_bytes(ring_slots, HG_SLOT_SIZE), 4096);
	off = align_up(sizeof(*h), 4096);
	size = off + 2 * n_workers * ring_bytes;

	shm_unlink(path); /* an earlier data plane's object, if any */
	fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		shm_unlink(path);
		return rc;
	}
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	rc = -errno;
	close(fd);
	if (h == MAP_FAILED) {
		shm_unlink(path);
		return rc;
	}
	memset(h, 0, sizeof(*h));
	h->version = HG_CHAN_VERSION;
	h->n_workers = n_workers;
	h->ring_slots = ring_slots;
	h->slot_size = HG_SLOT_SIZE;
	h->size = size;
	for (unsigned w = 0; w < n_workers; w++) {
		h->to_cp_off[w] = off + (2 * w) * ring_bytes;
		h->to_dp_off[w] = off + (2 * w + 1) * ring_bytes;
		if (hg_ring_init((uint8_t *)h + h->to_cp_off[w], ring_slots,
				 HG_SLOT_SIZE) < 0 ||
		    hg_ring_init((uint8_t *)h + h->to_dp_off[w], ring_slots,
				 HG_SLOT_SIZE) < 0) {
			munmap(h, size);
			shm_unlink(path);
			return -EINVAL;
		}
	}
	h->dp_pid = getpid();
	h->dp_start_realtime_ns = hg_realtime_ns();
	atomic_store(&h->dp_heartbeat_ns, hg_monotonic_ns());
	/* Magic last: an attacher never sees a half-built header as valid. */
	atomic_thread_fence(memory_order_release);
	h->magic = HG_CHAN_MAGIC;

	ch->hdr = h;
	ch->size = size;
	ch->dev = st.st_dev;
	ch->ino = st.st_ino;
	ch->owner = true;
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	return 0;
}

void hg_chan_destroy(struct hg_chan *ch)
{
	char path[80];

	if (ch->hdr == NULL)
		return;
	munmap(ch->hdr, ch->size);
	if (shm_path(ch->name, path, sizeof(path)) == 0)
		shm_unlink(path);
	ch->hdr = NULL;
}

static bool layout_ok(const struct hg_chan_header *h, size_t size)
{
	size_t ring_bytes;

	if (h->magic != HG_CHAN_MAGIC || h->version != HG_CHAN_VERSION)
		return false;
	if (h->size != size || h->slot_size != HG_SLOT_SIZE)
		return false;
	if (h->n_workers == 0 || h->n_workers > HG_MAX_WORKERS ||
	    h->n_ports > HG_MAX_PORTS)
		return false;
	ring_bytes = hg_ring_bytes(h->ring_slots, h->slot_size);
	for (unsigned w = 0; w < h->n_workers; w++) {
		if (h->to_cp_off[w] + ring_bytes > size ||
		    h->to_dp_off[w] + ring_bytes > size)
			return false;
	}
	return true;
}

int hg_chan_attach(struct hg_chan *ch, const char *name)
{
	char path[80];
	struct stat st;
	struct hg_chan_header *h;
	int fd, rc;

	memset(ch, 0, sizeof(*ch));
	rc = shm_path(name, path, sizeof(path));
	if (rc < 0)
		return rc;
	fd = shm_open(path, O_RDWR, 0);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if ((size_t)st.st_size < sizeof(*h)) {
		close(fd);
		return -EPROTO;
	}
	h = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	rc = -errno;
	close(fd);
	if (h == MAP_FAILED)
		return rc;
	atomic_thread_fence(memory_order_acquire);
	if (!layout_ok(h, (size_t)st.st_size)) {
		munmap(h, (size_t)st.st_size);
		return -EPROTO;
	}
	ch->hdr = h;
	ch->size = (size_t)st.st_size;
	ch->dev = st.st_dev;
	ch->ino = st.st_ino;
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	if (hg_chan_stale(ch)) {
		munmap(h, ch->size);
		ch->hdr = NULL;
		return -ESRCH;
	}
	/* Answers still queued were meant for an earlier control plane. */
	for (unsigned w = 0; w < h->n_workers; w++)
		hg_ring_drain(hg_chan_to_cp(ch, w));
	/* One control plane at a time (hopgate-cp holds a lock file), so a
	 * sleeper count left by a killed predecessor can be reset. */
	atomic_store(&h->bell_sleepers, 0);
	atomic_fetch_add(&h->cp_generation, 1);
	atomic_store(&h->cp_pid, (int64_t)getpid());
	return 0;
}

void hg_chan_detach(struct hg_chan *ch)
{
	if (ch->hdr == NULL)
		return;
	int64_t me = getpid();
	atomic_compare_exchange_strong(&ch->hdr->cp_pid, &me, 0);
	munmap(ch->hdr, ch->size);
	ch->hdr = NULL;
}

bool hg_chan_stale(struct hg_chan *ch)
{
	char path[80];
	struct stat st;
	const struct hg_chan_header *h = ch->hdr;

	if (h == NULL)
		return true;
	if (shm_path(ch->name, path + 8, sizeof(path) - 8) < 0)
		return true;
	memcpy(path, "/dev/shm", 8);
	if (stat(path, &st) < 0 || st.st_dev != ch->dev || st.st_ino != ch->ino)
		return true;
	if (h->dp_pid <= 0 || (kill((pid_t)h->dp_pid, 0) < 0 && errno == ESRCH))
		return true;
	if (hg_monotonic_ns() - atomic_load(&h->dp_heartbeat_ns) >
	    HG_CHAN_STALE_NS)
		return true;
	return false;
}

struct hg_ring *hg_chan_to_cp(struct hg_chan *ch, unsigned worker)
{
	return (struct hg_ring *)((uint8_t *)ch->hdr +
				  ch->hdr->to_cp_off[worker]);
}

struct hg_ring *hg_chan_to_dp(struct hg_chan *ch, unsigned worker)
{
	return (struct hg_ring *)((uint8_t *)ch->hdr +
				  ch->hdr->to_dp_off[worker]);
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val,
		  const struct timespec *ts)
{
	/* Not FUTEX_PRIVATE: the word is shared between two processes. */
	return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

void hg_chan_ring_bell(struct hg_chan *ch)
{
	struct hg_chan_header *h = ch->hdr;

	atomic_fetch_add_explicit(&h->bell_seq, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&h->bell_sleepers, memory_order_seq_cst) != 0)
		futex(&h->bell_seq, FUTEX_WAKE, INT32_MAX, NULL);
}

void hg_chan_wait(struct hg_chan *ch, unsigned timeout_ms)
{
	struct hg_chan_header *h = ch->hdr;
	struct timespec ts = {.tv_sec = timeout_ms / 1000,
			      .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
	uint32_t seq;

	atomic_fetch_add_explicit(&h->bell_sleepers, 1, memory_order_seq_cst);
	seq = atomic_load_explicit(&h->bell_seq, memory_order_seq_cst);
	for (unsigned w = 0; w < h->n_workers; w++) {
		if (hg_ring_count(hg_chan_to_cp(ch, w)) != 0)
			goto out;
	}
	futex(&h->bell_seq, FUTEX_WAIT, seq, &ts);
out:
	atomic_fetch_sub_explicit(&h->bell_sleepers, 1, memory_order_seq_cst);
}
