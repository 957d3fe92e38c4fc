/*
 * hg-impair: a layer-2 bridge between two interfaces that drops,
 * duplicates, reorders and delays frames the way a netem qdisc would.
 * This kernel has no sch_netem (nor tc actions), so the tests impair
 * their links in userspace instead.
 *
 *   hg-impair [options] IFACE_A IFACE_B
 *
 * Both interfaces live in the namespace hg-impair runs in. Every frame one
 * of them receives leaves through the other, impaired the same way in both
 * directions. Only IPv4 frames are impaired (and ARP with --impair-arp);
 * the rest (ARP, IPv6, ...) pass at once, untouched, delay included.
 * usage() lists the options; --stats-file gets one JSON line of counters
 * at start, on SIGUSR1 and on exit.
 *
 * Each impaired frame is, in this order: lost (--loss), else sent twice
 * (--dup), and either held back (--reorder; one frame per direction at a
 * time, sent right after the next frame that goes out, or when the gap
 * ends) or sent, into the delay queue with --delay-ms. Decisions are per
 * frame as the socket sees it: with offloads on, one GSO frame of up to
 * 64 KiB is one frame.
 *
 * Frames move through AF_PACKET sockets in batches (recvmmsg/sendmmsg),
 * without a copy unless they are held back or delayed. PACKET_VNET_HDR
 * carries the kernel's offload metadata (GSO, partial checksums) across,
 * so a link with offloads on still works; PACKET_AUXDATA gives back the
 * VLAN tags the kernel moved out of the frames.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#define FRAME_MAX	(65536 + 512)	/* an IPv4 GSO frame and its headers */
#define HEADROOM	64		/* room to put a VLAN tag back */
/* Not a multiple of 4 KiB, so the slots' first lines spread over the
 * cache sets instead of all landing in one. */
#define SLOT_SIZE	(HEADROOM + FRAME_MAX + 64)
#define RX_BATCH	64
#define TX_BATCH	128
#define QUEUE_FRAMES	65536u		/* per direction; a power of two */
#define QUEUE_BYTES	(64u << 20)	/* per direction */
#define NS_PER_SEC	1000000000ull
#define MAX_TX_LOGS	10
#define PROG		"hg-impair"

struct opts {
	uint64_t loss, dup, reorder;	/* thresholds for a 64-bit draw */
	double loss_pct, dup_pct, reorder_pct, delay_ms, max_s;
	uint64_t delay_ns, gap_ns, seed;
	bool impair_arp;
	const char *stats_file;
	const char *name[2];
};

struct dir_stats {
	uint64_t in, out, impaired, dropped, duplicated, reordered;
	uint64_t reorder_timeouts, delayed, queue_drops, tx_errors;
	uint64_t truncated, rx_errors;
};

/* A frame waiting in a delay queue, sent `copies` times when due. */
struct qent {
	uint64_t due;
	uint32_t len, copies;
	struct virtio_net_hdr vh;
	unsigned char data[];
};

struct dqueue {
	struct qent **ring;
	uint32_t head, n;
	uint64_t bytes;
};

/* The one frame a direction holds back to reorder it. */
struct hold {
	bool active;
	bool in_tx;	/* a pending sendmmsg still points at buf */
	uint32_t len, copies;
	uint64_t deadline;
	struct virtio_net_hdr vh;
	unsigned char *buf;
};

/* Frames on their way out; owned are delay-queue entries to free once
 * they are sent. */
struct txq {
	unsigned n, n_owned;
	struct mmsghdr msg[TX_BATCH];
	struct iovec iov[TX_BATCH][2];
	struct qent *owned[TX_BATCH];
};

union auxbuf {
	struct cmsghdr h;
	char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
};

struct port {
	int fd, ifindex;
	const char *name;
	unsigned char *slots;
	uint64_t kernel_drops;
	struct mmsghdr msg[RX_BATCH];
	struct iovec iov[RX_BATCH][2];
	struct sockaddr_ll addr[RX_BATCH];
	struct virtio_net_hdr vh[RX_BATCH];
	union auxbuf aux[RX_BATCH];
};

/* Direction d: frames received on port d, sent out of port !d. */
struct dir {
	uint64_t rng;
	struct dir_stats st;
	struct hold hold;
	struct dqueue q;
	struct txq tx;
};

struct frame {
	unsigned char *data;
	uint32_t len;
	struct virtio_net_hdr *vh;	/* NULL without PACKET_VNET_HDR */
};

struct impair {
	struct opts o;
	bool vnet;
	uint64_t start, end;
	struct port port[2];
	struct dir dir[2];
};

static volatile sig_atomic_t got_stop, got_dump;
static unsigned tx_logs;

__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / NS_PER_SEC),
		.tv_nsec = (long)(ns % NS_PER_SEC),
	};

	return ts;
}

/* splitmix64: turns any seed, 0 included, into a well-mixed state. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* xorshift64*: small, fast and plenty good for coin flips. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static bool chance(uint64_t *rng, uint64_t thr)
{
	uint64_t r = rng_next(rng);

	return thr == UINT64_MAX || r < thr;
}

/* PCT as a threshold for a uniform 64-bit draw; 100 means always. */
static uint64_t pct_threshold(double pct)
{
	const double two64 = 18446744073709551616.0;
	double v = pct / 100.0 * two64;

	if (v >= two64)
		return UINT64_MAX;
	return (uint64_t)v;
}

/* ---- options ---- */

enum {
	OPT_LOSS = 256, OPT_DUP, OPT_REORDER, OPT_GAP, OPT_DELAY,
	OPT_ONLY_IPV4, OPT_ARP, OPT_SEED, OPT_MAX, OPT_STATS,
};

static const struct option long_opts[] = {
	{ "loss", required_argument, NULL, OPT_LOSS },
	{ "dup", required_argument, NULL, OPT_DUP },
	{ "reorder", required_argument, NULL, OPT_REORDER },
	{ "reorder-gap-us", required_argument, NULL, OPT_GAP },
	{ "delay-ms", required_argument, NULL, OPT_DELAY },
	{ "only-ipv4", no_argument, NULL, OPT_ONLY_IPV4 },
	{ "impair-arp", no_argument, NULL, OPT_ARP },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "max-seconds", required_argument, NULL, OPT_MAX },
	{ "stats-file", required_argument, NULL, OPT_STATS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fputs("usage: " PROG " [options] IFACE_A IFACE_B\n"
	      "Bridges two interfaces frame by frame, impairing IPv4 frames"
	      " like netem,\nthe same way in both directions.\n"
	      "  --loss PCT            drop a frame with probability PCT"
	      " (0-100, decimals ok)\n"
	      "  --dup PCT             send a frame twice with probability"
	      " PCT\n"
	      "  --reorder PCT         hold a frame back with probability PCT"
	      " and send it\n"
	      "                        after the next one (or after the gap)\n"
	      "  --reorder-gap-us US   longest hold (default 2000)\n"
	      "  --delay-ms MS         delay every impaired frame by MS"
	      " (default 0)\n"
	      "  --only-ipv4           impair IPv4 only (the default)\n"
	      "  --impair-arp          impair ARP as well\n"
	      "  --seed N              PRNG seed (default: from the clock)\n"
	      "  --max-seconds S       exit by itself after S seconds"
	      " (default 900)\n"
	      "  --stats-file PATH     counters as one JSON line, written at"
	      " start,\n"
	      "                        on SIGUSR1 and on exit\n"
	      "SIGTERM, SIGINT and SIGHUP stop it cleanly (exit 0).\n", f);
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || strchr(s, '-'))
		return false;
	*out = v;
	return true;
}

static int bad_arg(const char *opt, const char *val, const char *want)
{
	fail("--%s %s: want %s", opt, val, want);
	return 1;
}

/* One option; 0 if fine, 1 if not. */
static int parse_opt(struct opts *o, int c, const char *name, const char *v)
{
	double x;

	switch (c) {
	case OPT_LOSS:
	case OPT_DUP:
	case OPT_REORDER:
		if (!parse_num(v, 0, 100, &x))
			return bad_arg(name, v, "a percentage, 0 to 100");
		*(c == OPT_LOSS ? &o->loss_pct : c == OPT_DUP ?
		  &o->dup_pct : &o->reorder_pct) = x;
		return 0;
	case OPT_GAP:
		if (!parse_num(v, 1, 1e7, &x))
			return bad_arg(name, v, "microseconds, 1 to 10000000");
		o->gap_ns = (uint64_t)(x * 1e3);
		return 0;
	case OPT_DELAY:
		if (!parse_num(v, 0, 60000, &x))
			return bad_arg(name, v, "milliseconds, 0 to 60000");
		o->delay_ms = x;
		return 0;
	case OPT_MAX:
		if (!parse_num(v, 0.001, 31536000, &x))
			return bad_arg(name, v, "seconds, more than 0");
		o->max_s = x;
		return 0;
	case OPT_SEED:
		if (!parse_u64(v, &o->seed))
			return bad_arg(name, v, "an unsigned 64-bit number");
		return 0;
	}
	return 1;
}

static uint64_t default_seed(void)
{
	struct timespec ts;
	uint64_t x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
	x ^= (uint64_t)getpid() << 32;
	return splitmix64(&x);
}

/* 0: run; 1: bad usage; 2: --help was asked for. */
static int parse_args(struct opts *o, int argc, char **argv)
{
	bool seeded = false;
	int c, idx;

	o->gap_ns = 2000 * 1000;
	o->max_s = 900;
	while ((c = getopt_long(argc, argv, "h", long_opts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 2;
		} else if (c == OPT_ONLY_IPV4 || c == OPT_ARP) {
			o->impair_arp = c == OPT_ARP;
		} else if (c == OPT_STATS) {
			o->stats_file = optarg;
		} else if (c == '?' ||
			   parse_opt(o, c, long_opts[idx].name, optarg)) {
			fputs("see " PROG " --help\n", stderr);
			return 1;
		}
		seeded |= c == OPT_SEED;
	}
	if (argc - optind != 2) {
		fail("want two interfaces, IFACE_A IFACE_B; see --help");
		return 1;
	}
	o->name[0] = argv[optind];
	o->name[1] = argv[optind + 1];
	o->loss = pct_threshold(o->loss_pct);
	o->dup = pct_threshold(o->dup_pct);
	o->reorder = pct_threshold(o->reorder_pct);
	o->delay_ns = (uint64_t)(o->delay_ms * 1e6);
	if (!seeded)
		o->seed = default_seed();
	return 0;
}

/* ---- signals ---- */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_dump = 1;
	else
		got_stop = sig;
}

/* The signals stay blocked except inside ppoll(), so none can slip in
 * between checking the flags and going to sleep. */
static void setup_signals(sigset_t *waitmask)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&block, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(waitmask, sigs[i]);
}

/* ---- ports ---- */

static int sockopt_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val));
}

/* Deep socket buffers absorb bursts while the other side is served;
 * the FORCE variants (root) go past net.core.[rw]mem_max. */
static void port_buffers(int fd)
{
	if (sockopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20))
		sockopt_int(fd, SOL_SOCKET, SO_RCVBUF, 8 << 20);
	if (sockopt_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20))
		sockopt_int(fd, SOL_SOCKET, SO_SNDBUF, 4 << 20);
}

static void warn_if_down(const struct port *p)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, p->name, strlen(p->name));
	if (!ioctl(p->fd, SIOCGIFFLAGS, &ifr) && !(ifr.ifr_flags & IFF_UP))
		fail("warning: %s is down; nothing passes until it is up",
		     p->name);
}

static int port_socket(const char *name)
{
	/* Protocol 0: nothing is queued before bind() picks the interface. */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0 && (errno == EPERM || errno == EACCES))
		return fail("%s: packet socket: %s (needs root or "
			    "CAP_NET_RAW)", name, strerror(errno));
	if (fd < 0)
		return fail("%s: packet socket: %s", name, strerror(errno));
#ifdef PACKET_IGNORE_OUTGOING
	/* Linux 4.20+; rx_frame() checks the packet type anyway. */
	sockopt_int(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
#endif
	if (sockopt_int(fd, SOL_PACKET, PACKET_AUXDATA, 1))
		fail("warning: %s: PACKET_AUXDATA: %s: VLAN tags the kernel "
		     "strips are lost", name, strerror(errno));
	port_buffers(fd);
	return fd;
}

static int port_open(struct port *p, const char *name)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
	};
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };

	p->name = name;
	p->fd = -1;
	if (strlen(name) >= IFNAMSIZ)
		return fail("%s: interface name too long", name);
	p->ifindex = (int)if_nametoindex(name);
	if (!p->ifindex)
		return fail("no interface %s in this network namespace (%s)",
			    name, strerror(errno));
	p->fd = port_socket(name);
	if (p->fd < 0)
		return -1;
	sll.sll_ifindex = p->ifindex;
	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)))
		return fail("%s: bind: %s", name, strerror(errno));
	/* Frames for other MACs must reach us too: we are the wire. */
	mr.mr_ifindex = p->ifindex;
	if (setsockopt(p->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
		       sizeof(mr)))
		return fail("%s: promiscuous mode: %s", name, strerror(errno));
	warn_if_down(p);
	return 0;
}

/* Offload metadata must travel both ways or not at all. */
static void vnet_setup(struct impair *im)
{
	int i;

	im->vnet = true;
	for (i = 0; i < 2; i++)
		if (sockopt_int(im->port[i].fd, SOL_PACKET, PACKET_VNET_HDR, 1))
			im->vnet = false;
	if (im->vnet)
		return;
	for (i = 0; i < 2; i++)
		sockopt_int(im->port[i].fd, SOL_PACKET, PACKET_VNET_HDR, 0);
	fail("warning: no PACKET_VNET_HDR: links need offloads off");
}

static unsigned char *slot_data(const struct port *p, int i)
{
	return p->slots + (size_t)i * SLOT_SIZE + HEADROOM;
}

/* recvmmsg() overwrites these lengths: put them back before reuse. */
static void rx_reset(struct port *p, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		p->msg[i].msg_hdr.msg_namelen = sizeof(p->addr[i]);
		p->msg[i].msg_hdr.msg_controllen = sizeof(p->aux[i]);
	}
}

static int rx_init(struct port *p, bool vnet)
{
	int i;

	p->slots = malloc((size_t)RX_BATCH * SLOT_SIZE);
	if (!p->slots)
		return fail("out of memory");
	for (i = 0; i < RX_BATCH; i++) {
		struct msghdr *h = &p->msg[i].msg_hdr;

		p->iov[i][0].iov_base = &p->vh[i];
		p->iov[i][0].iov_len = sizeof(p->vh[i]);
		p->iov[i][1].iov_base = slot_data(p, i);
		p->iov[i][1].iov_len = FRAME_MAX;
		h->msg_name = &p->addr[i];
		h->msg_iov = vnet ? p->iov[i] : &p->iov[i][1];
		h->msg_iovlen = vnet ? 2 : 1;
		h->msg_control = p->aux[i].buf;
	}
	rx_reset(p, RX_BATCH);
	return 0;
}

static int dir_init(struct impair *im, int d)
{
	struct dir *dr = &im->dir[d];
	uint64_t x = im->o.seed + (uint64_t)d;

	/* One stream per direction: each is reproducible on its own. */
	dr->rng = splitmix64(&x) | 1;
	dr->hold.buf = malloc(FRAME_MAX + 4);
	if (!dr->hold.buf)
		return fail("out of memory");
	if (!im->o.delay_ns)
		return 0;
	dr->q.ring = calloc(QUEUE_FRAMES, sizeof(*dr->q.ring));
	if (!dr->q.ring)
		return fail("out of memory");
	return 0;
}

/* ---- sending ---- */

static void tx_error(struct impair *im, int d, int err)
{
	im->dir[d].st.tx_errors++;
	if (tx_logs++ < MAX_TX_LOGS)
		fail("send on %s: %s%s", im->port[!d].name, strerror(err),
		     tx_logs == MAX_TX_LOGS ? " (no more logged)" : "");
}

static void tx_flush(struct impair *im, int d)
{
	struct dir *dr = &im->dir[d];
	struct txq *tx = &dr->tx;
	unsigned k = 0, i;

	while (k < tx->n) {
		int r = sendmmsg(im->port[!d].fd, tx->msg + k, tx->n - k, 0);

		if (r > 0) {
			dr->st.out += (unsigned)r;
			k += (unsigned)r;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else {
			/* This one fails (link down, too big for the
			 * MTU...): drop it, send the rest. */
			tx_error(im, d, r < 0 ? errno : EIO);
			k++;
		}
	}
	for (i = 0; i < tx->n_owned; i++)
		free(tx->owned[i]);
	tx->n = 0;
	tx->n_owned = 0;
	dr->hold.in_tx = false;
}

/* Makes room for k more frames. */
static void tx_room(struct impair *im, int d, unsigned k)
{
	if (im->dir[d].tx.n + k > TX_BATCH)
		tx_flush(im, d);
}

/* Queues f for the next tx_flush(); f's memory must live until then. */
static void tx_add(struct impair *im, int d, const struct frame *f)
{
	struct txq *tx = &im->dir[d].tx;
	unsigned k = tx->n++;
	struct msghdr *h = &tx->msg[k].msg_hdr;

	tx->iov[k][0].iov_base = f->vh;
	tx->iov[k][0].iov_len = sizeof(*f->vh);
	tx->iov[k][1].iov_base = f->data;
	tx->iov[k][1].iov_len = f->len;
	memset(h, 0, sizeof(*h));
	h->msg_iov = f->vh ? tx->iov[k] : &tx->iov[k][1];
	h->msg_iovlen = f->vh ? 2 : 1;
}

/* ---- delay ---- */

static void enqueue(struct impair *im, int d, const struct frame *f,
		    uint32_t copies, uint64_t due)
{
	struct dir *dr = &im->dir[d];
	struct dqueue *q = &dr->q;
	struct qent *e = NULL;

	/* Bounded like a qdisc's limit: past it, drop and count. */
	if (q->n < QUEUE_FRAMES && q->bytes + f->len <= QUEUE_BYTES)
		e = malloc(sizeof(*e) + f->len);
	if (!e) {
		dr->st.queue_drops += copies;
		return;
	}
	e->due = due;
	e->len = f->len;
	e->copies = copies;
	if (f->vh)
		e->vh = *f->vh;
	memcpy(e->data, f->data, f->len);
	q->ring[(q->head + q->n) & (QUEUE_FRAMES - 1)] = e;
	q->n++;
	q->bytes += f->len;
	dr->st.delayed += copies;
}

/* The delay is fixed, so the queue is in due order: pop from the head. */
static void release_due(struct impair *im, int d, uint64_t now)
{
	struct dqueue *q = &im->dir[d].q;
	struct txq *tx = &im->dir[d].tx;

	while (q->n && q->ring[q->head]->due <= now) {
		struct qent *e = q->ring[q->head];
		struct frame f = { e->data, e->len, im->vnet ? &e->vh : NULL };
		uint32_t c;

		q->head = (q->head + 1) & (QUEUE_FRAMES - 1);
		q->n--;
		q->bytes -= e->len;
		tx_room(im, d, e->copies);
		for (c = 0; c < e->copies; c++)
			tx_add(im, d, &f);
		tx->owned[tx->n_owned++] = e;
	}
}

/* ---- impairment ---- */

static void emit(struct impair *im, int d, const struct frame *f,
		 uint32_t copies, uint64_t now)
{
	if (im->o.delay_ns) {
		enqueue(im, d, f, copies, now + im->o.delay_ns);
		return;
	}
	tx_room(im, d, copies);
	while (copies--)
		tx_add(im, d, f);
}

static void hold_frame(struct impair *im, int d, const struct frame *f,
		       uint32_t copies, uint64_t now)
{
	struct hold *h = &im->dir[d].hold;

	if (h->in_tx)
		tx_flush(im, d);
	memcpy(h->buf, f->data, f->len);
	h->len = f->len;
	if (f->vh)
		h->vh = *f->vh;
	h->copies = copies;
	h->deadline = now + im->o.gap_ns;
	h->active = true;
}

static void hold_release(struct impair *im, int d, uint64_t now)
{
	struct hold *h = &im->dir[d].hold;
	struct frame f = { h->buf, h->len, im->vnet ? &h->vh : NULL };

	h->active = false;
	emit(im, d, &f, h->copies, now);
	h->in_tx = !im->o.delay_ns;
}

/* Three draws per frame, whatever they decide: a seed gives the same
 * decisions for the same frames whichever impairments are on. */
static void impair_frame(struct impair *im, int d, const struct frame *f,
			 uint64_t now)
{
	struct dir *dr = &im->dir[d];
	bool lose = chance(&dr->rng, im->o.loss);
	bool twice = chance(&dr->rng, im->o.dup);
	bool back = chance(&dr->rng, im->o.reorder);
	uint32_t copies = 1;

	dr->st.impaired++;
	if (lose) {
		dr->st.dropped++;
		return;
	}
	if (twice) {
		copies = 2;
		dr->st.duplicated++;
	}
	if (back && !dr->hold.active) {
		hold_frame(im, d, f, copies, now);
		dr->st.reordered++;
		return;
	}
	emit(im, d, f, copies, now);
	if (dr->hold.active)
		hold_release(im, d, now);
}

/* The EtherType past any VLAN tags still in the frame. */
static unsigned eth_type(const unsigned char *p, uint32_t len)
{
	uint32_t off = 12;
	unsigned t;

	for (;;) {
		if (len < off + 2)
			return 0;
		t = (unsigned)p[off] << 8 | p[off + 1];
		if (t != ETH_P_8021Q && t != ETH_P_8021AD)
			return t;
		off += 4;
	}
}

static bool impairable(const struct impair *im, const struct frame *f)
{
	unsigned t = eth_type(f->data, f->len);

	return t == ETH_P_IP || (t == ETH_P_ARP && im->o.impair_arp);
}

static const struct tpacket_auxdata *find_aux(struct msghdr *h)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c))
		if (c->cmsg_level == SOL_PACKET &&
		    c->cmsg_type == PACKET_AUXDATA)
			return (const struct tpacket_auxdata *)CMSG_DATA(c);
	return NULL;
}

/* The kernel moves a VLAN tag out of the frame into metadata before
 * packet sockets see it; put it back or the bridge would strip it. */
static void vlan_restore(struct frame *f, struct msghdr *h)
{
	const struct tpacket_auxdata *aux = find_aux(h);
	unsigned tpid = ETH_P_8021Q;
	unsigned char *p;

	if (!aux || !(aux->tp_status & TP_STATUS_VLAN_VALID) || f->len < 12)
		return;
	if (aux->tp_status & TP_STATUS_VLAN_TPID_VALID)
		tpid = aux->tp_vlan_tpid;
	p = f->data - 4;
	memmove(p, f->data, 12);
	p[12] = (unsigned char)(tpid >> 8);
	p[13] = (unsigned char)tpid;
	p[14] = (unsigned char)(aux->tp_vlan_tci >> 8);
	p[15] = (unsigned char)aux->tp_vlan_tci;
	f->data = p;
	f->len += 4;
	/* Offsets in the vnet header count from the untagged frame. */
	if (f->vh && (f->vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		f->vh->csum_start += 4;
	if (f->vh && f->vh->hdr_len)
		f->vh->hdr_len += 4;
}

static void rx_frame(struct impair *im, int d, int i, uint64_t now)
{
	struct port *p = &im->port[d];
	struct dir *dr = &im->dir[d];
	struct mmsghdr *m = &p->msg[i];
	uint32_t hl = im->vnet ? sizeof(struct virtio_net_hdr) : 0;
	struct frame f;

	/* Our own output (or the host's) on this link: never bounce it. */
	if (p->addr[i].sll_pkttype == PACKET_OUTGOING)
		return;
	dr->st.in++;
	if ((m->msg_hdr.msg_flags & MSG_TRUNC) || m->msg_len < hl ||
	    m->msg_len - hl > FRAME_MAX) {
		dr->st.truncated++;
		return;
	}
	f.data = slot_data(p, i);
	f.len = m->msg_len - hl;
	f.vh = im->vnet ? &p->vh[i] : NULL;
	/* An rx-only hint; not ours to pass on. */
	if (f.vh)
		f.vh->flags &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	vlan_restore(&f, &m->msg_hdr);
	if (impairable(im, &f)) {
		impair_frame(im, d, &f, now);
	} else {
		tx_room(im, d, 1);
		tx_add(im, d, &f);
	}
}

/* Frames from port d, as many as one call gives; sent before the slots
 * are reused. */
static int rx_batch(struct impair *im, int d, uint64_t now)
{
	struct port *p = &im->port[d];
	int i, n;

	n = recvmmsg(p->fd, p->msg, RX_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
	if (n < 0) {
		/* EINVAL: a GSO frame the kernel could not describe in a
		 * vnet header; it is gone. Others (EAGAIN, ENETDOWN) pass. */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			im->dir[d].st.rx_errors++;
		return 0;
	}
	for (i = 0; i < n; i++)
		rx_frame(im, d, i, now);
	rx_reset(p, n);
	tx_flush(im, d);
	return n;
}

/* ---- stats ---- */

static void dir_sum(struct dir_stats *t, const struct dir_stats *a,
		    const struct dir_stats *b)
{
	t->in = a->in + b->in;
	t->out = a->out + b->out;
	t->impaired = a->impaired + b->impaired;
	t->dropped = a->dropped + b->dropped;
	t->duplicated = a->duplicated + b->duplicated;
	t->reordered = a->reordered + b->reordered;
	t->reorder_timeouts = a->reorder_timeouts + b->reorder_timeouts;
	t->delayed = a->delayed + b->delayed;
	t->queue_drops = a->queue_drops + b->queue_drops;
	t->tx_errors = a->tx_errors + b->tx_errors;
	t->truncated = a->truncated + b->truncated;
	t->rx_errors = a->rx_errors + b->rx_errors;
}

static void print_dir(FILE *f, const struct dir_stats *s)
{
	fprintf(f, "\"in\":%" PRIu64 ",\"out\":%" PRIu64
		",\"impaired\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64
		",\"reorder_timeouts\":%" PRIu64 ",\"delayed\":%" PRIu64
		",\"queue_drops\":%" PRIu64 ",\"tx_errors\":%" PRIu64
		",\"truncated\":%" PRIu64 ",\"rx_errors\":%" PRIu64,
		s->in, s->out, s->impaired, s->dropped, s->duplicated,
		s->reordered, s->reorder_timeouts, s->delayed, s->queue_drops,
		s->tx_errors, s->truncated, s->rx_errors);
}

static void print_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Frames the kernel dropped because a socket buffer was full. */
static uint64_t kernel_drops(struct impair *im)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct tpacket_stats ks;
		socklen_t len = sizeof(ks);

		if (!getsockopt(im->port[i].fd, SOL_PACKET, PACKET_STATISTICS,
				&ks, &len))
			im->port[i].kernel_drops += ks.tp_drops;
	}
	return im->port[0].kernel_drops + im->port[1].kernel_drops;
}

static void print_stats(FILE *f, struct impair *im)
{
	const struct opts *o = &im->o;
	struct dir_stats t;

	dir_sum(&t, &im->dir[0].st, &im->dir[1].st);
	fputs("{\"iface_a\":", f);
	print_str(f, o->name[0]);
	fputs(",\"iface_b\":", f);
	print_str(f, o->name[1]);
	fprintf(f, ",\"seed\":%" PRIu64 ",\"seconds\":%.3f,\"loss_pct\":%g"
		",\"dup_pct\":%g,\"reorder_pct\":%g,\"delay_ms\":%g"
		",\"a_to_b\":{", o->seed,
		(double)(now_ns() - im->start) / 1e9, o->loss_pct, o->dup_pct,
		o->reorder_pct, o->delay_ms);
	print_dir(f, &im->dir[0].st);
	fputs("},\"b_to_a\":{", f);
	print_dir(f, &im->dir[1].st);
	fputs("},", f);
	print_dir(f, &t);
	fprintf(f, ",\"kernel_drops\":%" PRIu64 "}\n", kernel_drops(im));
}

/* Written to a temporary file and renamed: readers never see half. */
static int write_stats(struct impair *im)
{
	const char *path = im->o.stats_file;
	char tmp[4096];
	FILE *f;

	if (!path)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return fail("%s: path too long", path);
	f = fopen(tmp, "w");
	if (!f)
		return fail("stats file %s: %s", tmp, strerror(errno));
	print_stats(f, im);
	if (fclose(f)) {
		fail("stats file %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path))
		return fail("stats file %s: %s", path, strerror(errno));
	return 0;
}

static void log_start(const struct impair *im)
{
	const struct opts *o = &im->o;

	fprintf(stderr, PROG ": %s <-> %s: loss %g%% dup %g%% reorder %g%% "
		"(gap %" PRIu64 " us) delay %g ms, impairing IPv4%s, seed %"
		PRIu64 ", exit after %g s\n", o->name[0], o->name[1],
		o->loss_pct, o->dup_pct, o->reorder_pct, o->gap_ns / 1000,
		o->delay_ms, o->impair_arp ? " and ARP" : "", o->seed,
		o->max_s);
}

static void log_end(const struct impair *im, const char *why)
{
	const struct dir_stats *a = &im->dir[0].st, *b = &im->dir[1].st;

	fprintf(stderr, PROG ": %s after %.1f s: %s->%s %" PRIu64 " in %"
		PRIu64 " out, %s->%s %" PRIu64 " in %" PRIu64 " out; dropped %"
		PRIu64 " duplicated %" PRIu64 " reordered %" PRIu64
		" delayed %" PRIu64 "\n", why,
		(double)(now_ns() - im->start) / 1e9,
		im->o.name[0], im->o.name[1], a->in, a->out,
		im->o.name[1], im->o.name[0], b->in, b->out,
		a->dropped + b->dropped, a->duplicated + b->duplicated,
		a->reordered + b->reordered, a->delayed + b->delayed);
}

/* ---- main loop ---- */

static void timers(struct impair *im, int d, uint64_t now)
{
	struct dir *dr = &im->dir[d];

	if (dr->hold.active && dr->hold.deadline <= now) {
		dr->st.reorder_timeouts++;
		hold_release(im, d, now);
	}
	if (dr->q.n)
		release_due(im, d, now);
	if (dr->tx.n)
		tx_flush(im, d);
}

static uint64_t next_event(const struct impair *im)
{
	uint64_t t = im->end;
	int d;

	for (d = 0; d < 2; d++) {
		const struct dir *dr = &im->dir[d];

		if (dr->q.n && dr->q.ring[dr->q.head]->due < t)
			t = dr->q.ring[dr->q.head]->due;
		if (dr->hold.active && dr->hold.deadline < t)
			t = dr->hold.deadline;
	}
	return t;
}

/* POLLERR: the link went down (it comes back by itself when up again)
 * or the interface is gone, and then there is nothing left to bridge. */
static bool port_gone(struct impair *im, int d)
{
	struct port *p = &im->port[d];
	char name[IF_NAMESIZE];
	socklen_t len = sizeof(int);
	int err = 0;

	getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (!if_indextoname((unsigned)p->ifindex, name)) {
		fail("%s went away", p->name);
		return true;
	}
	if (err)
		fail("%s: %s", p->name, strerror(err));
	return false;
}

/* 0 when stopped by a signal or --max-seconds, 1 on failure. */
static int run(struct impair *im, const sigset_t *waitmask, const char **why)
{
	struct pollfd pfd[2] = {
		{ .fd = im->port[0].fd, .events = POLLIN },
		{ .fd = im->port[1].fd, .events = POLLIN },
	};
	bool busy = false;

	while (!got_stop) {
		uint64_t now = now_ns(), t = busy ? now : next_event(im);
		struct timespec ts = ns_to_ts(t > now ? t - now : 0);
		int n, d;

		if (now >= im->end) {
			*why = "--max-seconds reached";
			return 0;
		}
		n = ppoll(pfd, 2, &ts, waitmask);
		if (n < 0 && errno != EINTR) {
			*why = "ppoll failed";
			fail("ppoll: %s", strerror(errno));
			return 1;
		}
		if (got_dump) {
			got_dump = 0;
			write_stats(im);
		}
		now = now_ns();
		busy = false;
		for (d = 0; d < 2; d++)
			timers(im, d, now);
		for (d = 0; d < 2 && n > 0; d++) {
			if ((pfd[d].revents & POLLERR) && port_gone(im, d)) {
				*why = "interface gone";
				return 1;
			}
			if (pfd[d].revents & POLLIN)
				busy |= rx_batch(im, d, now) > 0;
		}
	}
	*why = strsignal(got_stop);
	return 0;
}

static int setup(struct impair *im)
{
	int i;

	for (i = 0; i < 2; i++)
		if (port_open(&im->port[i], im->o.name[i]))
			return -1;
	if (im->port[0].ifindex == im->port[1].ifindex)
		return fail("%s and %s are the same interface",
			    im->o.name[0], im->o.name[1]);
	vnet_setup(im);
	for (i = 0; i < 2; i++)
		if (rx_init(&im->port[i], im->vnet) || dir_init(im, i))
			return -1;
	/* The default 50 us timer slack would show in every delay and hold. */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	im->start = now_ns();
	im->end = im->start + (uint64_t)(im->o.max_s * 1e9);
	return write_stats(im);
}

static void teardown(struct impair *im)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct dqueue *q = &im->dir[i].q;

		while (q->n) {
			free(q->ring[q->head]);
			q->head = (q->head + 1) & (QUEUE_FRAMES - 1);
			q->n--;
		}
		free(q->ring);
		free(im->dir[i].hold.buf);
		free(im->port[i].slots);
		if (im->port[i].fd >= 0)
			close(im->port[i].fd);
	}
}

int main(int argc, char **argv)
{
	static struct impair im;
	const char *why = "stopped";
	sigset_t waitmask;
	int rc;

	im.port[0].fd = im.port[1].fd = -1;
	rc = parse_args(&im.o, argc, argv);
	if (rc)
		return rc == 2 ? 0 : 1;
	setup_signals(&waitmask);
	if (setup(&im)) {
		teardown(&im);
		return 1;
	}
	log_start(&im);
	rc = run(&im, &waitmask, &why);
	if (write_stats(&im))
		rc = 1;
	log_end(&im, why);
	teardown(&im);
	return rc;
}
