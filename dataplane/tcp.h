/* The data plane's userspace TCP (RFC 9293).
 *
 * One struct hg_tcp_stack per worker: its connections, listeners, timers
 * and counters; nothing shared, no locks. Every connection lives on one
 * worker. The stack does no I/O itself: segments come in through
 * hg_tcp_input and go out through stack->output (the worker's IPv4 output
 * in the data plane, a capture in unit tests), and time is what the owner
 * last stored in stack->now_us. That is what lets tests/unit/test_tcp.c
 * feed crafted segments and read the segments the stack emits, with no NIC.
 *
 * Zero copy: received payload stays in the mbufs it arrived in (headers
 * stripped with rte_pktmbuf_adj) on the receive queue, an mbuf chain; the
 * send queue is a chain too, and every transmission, first or again, sends
 * indirect mbufs attached to those buffers behind a fresh header mbuf.
 * An application moving bytes from one connection to another moves mbufs.
 *
 * The application side is a set of callbacks (struct hg_tcp_ops) and a
 * handful of calls: hg_tcp_listen, hg_tcp_connect, hg_tcp_recv,
 * hg_tcp_send, hg_tcp_shutdown (half close), hg_tcp_abort (RST).
 */
#ifndef HG_TCP_H
#define HG_TCP_H

#include <rte_mbuf.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "counters.h"
#include "seqset.h"
#include "tcp_cc.h"
#include "tcp_hdr.h"
#include "tcp_isn.h"
#include "timer_wheel.h"

enum hg_tcp_state {
	HG_TCP_CLOSED = 0,
	HG_TCP_LISTEN,
	HG_TCP_SYN_SENT,
	HG_TCP_SYN_RCVD,
	HG_TCP_ESTABLISHED,
	HG_TCP_FIN_WAIT_1,
	HG_TCP_FIN_WAIT_2,
	HG_TCP_CLOSE_WAIT,
	HG_TCP_CLOSING,
	HG_TCP_LAST_ACK,
	HG_TCP_TIME_WAIT,
	HG_TCP_STATE_COUNT
};

extern const char *const hg_tcp_state_names[HG_TCP_STATE_COUNT];

/* Why a connection ended, given to on_closed. */
enum hg_tcp_close_reason {
	HG_TCP_CLOSE_NORMAL = 0, /* both FINs exchanged and acknowledged */
	HG_TCP_CLOSE_RESET,      /* the peer sent RST */
	HG_TCP_CLOSE_ABORT,      /* hg_tcp_abort */
	HG_TCP_CLOSE_TIMEOUT,    /* retransmissions, handshake or keepalive */
	HG_TCP_CLOSE_IDLE,       /* the listener's idle timeout */
	HG_TCP_CLOSE_REFUSED,    /* active open answered by RST */
};

struct hg_tcp_conn;

/* Out-of-order segments held per connection: one per KiB of receive
 * buffer (a whole window of full segments behind one hole: fewer means
 * the peer resends what we already had), within [MIN, MAX]. The array is
 * allocated at a connection's first out-of-order segment. */
#define HG_TCP_OOO_MIN 64
#define HG_TCP_OOO_MAX 4096

/* Sent segments stamped for delivery rate samples (BBR): about 16 per
 * congestion window, so a round trip yields a dozen samples. */
#define HG_TCP_TXMARKS 32

/* Pacing lets a burst of this much time's worth of bytes go at once, so
 * the 1 ms timer tick never holds the rate down. */
#define HG_TCP_PACE_BURST_US 1000

/* A sent segment and the connection's delivery state when it left
 * (draft-cheng-iccrg-delivery-rate-estimation section 3.2). */
struct hg_tcp_txmark {
	uint32_t start, end; /* sequence range; end == start: free */
	uint64_t delivered;
	uint64_t delivered_us;
	uint64_t first_sent_us;
	uint64_t sent_us;
	bool app_limited;
};

struct hg_tcp_ops {
	/* The connection is established (passive: the handshake's last ACK;
	 * active: the SYN-ACK). */
	void (*on_established)(struct hg_tcp_conn *c);
	/* Bytes are waiting (hg_tcp_rcv_bytes), or the peer closed its
	 * side (c->rcv_fin) and everything before the FIN was read. */
	void (*on_readable)(struct hg_tcp_conn *c);
	/* Room opened in the send queue (hg_tcp_snd_space). */
	void (*on_writable)(struct hg_tcp_conn *c);
	/* The connection is gone: the last call; do not touch `c` after.
	 * Bytes received and not yet taken are still on its receive queue
	 * during the call (hg_tcp_recv works); they are freed after it. */
	void (*on_closed)(struct hg_tcp_conn *c, enum hg_tcp_close_reason why);
};

/* Built-in test services (see tcp_svc.c). */
enum hg_tcp_service {
	HG_SVC_NONE = 0,
	HG_SVC_ECHO,
	HG_SVC_DISCARD,
	HG_SVC_SOURCE,
};

struct hg_tcp_listener {
	uint32_t addr; /* host order */
	uint16_t port;
	enum hg_tcp_service service;
	enum hg_cc_algo cc;
	unsigned backlog;       /* half-open connections before SYN cookies */
	unsigned half_open;     /* SYN_RCVD connections now */
	unsigned idle_timeout_ms;
	uint8_t syncookies; /* HG_SYNCOOKIES_* */
	const struct hg_tcp_ops *ops;
	void *arg;
};

enum { HG_SYNCOOKIES_AUTO = 0, HG_SYNCOOKIES_ALWAYS, HG_SYNCOOKIES_NEVER };

/* Per-connection flags. */
enum {
	HG_TCPF_TS = 1u << 0,        /* timestamps negotiated */
	HG_TCPF_SACK = 1u << 1,      /* SACK negotiated */
	HG_TCPF_WSCALE = 1u << 2,    /* window scaling negotiated */
	HG_TCPF_FIN_QUEUED = 1u << 3, /* app shut down: FIN after the queue */
	HG_TCPF_FIN_SENT = 1u << 4,
	HG_TCPF_ACK_NOW = 1u << 5,   /* send an ACK at the end of input */
	HG_TCPF_PASSIVE = 1u << 6,
	HG_TCPF_IN_TABLE = 1u << 7,
	HG_TCPF_RTT_TIMING = 1u << 8, /* timing rtt_seq (no timestamps) */
	HG_TCPF_CLOSED_CB = 1u << 9,  /* on_closed already called */
	HG_TCPF_FROM_COOKIE = 1u << 10,
	HG_TCPF_TLP_ARMED = 1u << 11, /* rtx_timer is a tail loss probe */
	HG_TCPF_TLP_SENT = 1u << 12,  /* a probe is out for this flight */
	HG_TCPF_RTO_RECOVERY = 1u << 13, /* after an RTO, until `recover` */
};

struct hg_tcp_conn {
	struct hg_tuple tuple; /* l = gateway side, r = peer */
	uint8_t port;          /* data-plane port index */
	uint8_t state;
	uint16_t flags;
	struct hg_tcp_stack *stack;
	struct hg_tcp_listener *listener; /* passive opens */
	const struct hg_tcp_ops *ops;
	void *app; /* the application's, e.g. a service's state */
	uint64_t app_u64;

	/* Send side. Sequence space: snd_una <= snd_nxt <= snd_max. The send
	 * queue holds bytes [snd_una, snd_una + sndq_bytes), SYN and FIN
	 * excluded. */
	uint32_t iss;
	uint32_t snd_una;
	uint32_t snd_nxt;
	uint32_t snd_max; /* highest sequence sent + 1 */
	uint32_t snd_wnd; /* peer's window, scaled */
	uint32_t max_snd_wnd;
	uint32_t snd_wl1, snd_wl2;
	uint8_t snd_wscale; /* shift applied to the peer's windows */
	uint8_t rcv_wscale; /* shift we announced */
	uint16_t mss;       /* we send at most this much payload */
	struct rte_mbuf *sndq; /* chain head */
	struct rte_mbuf *sndq_tail; /* its last segment: O(1) appends */
	/* Where the last segment sent took its bytes from: the mbuf and the
	 * sequence number of its first byte, so sending walks on from there
	 * instead of from snd_una (NULL: walk from the head). */
	struct rte_mbuf *snd_cur;
	uint32_t snd_cur_seq;
	uint32_t sndq_bytes;
	uint32_t snd_buf;

	/* Receive side. */
	uint32_t irs;
	uint32_t rcv_nxt;
	uint32_t rcv_adv; /* right edge we announced */
	uint32_t last_ack_sent; /* RFC 7323's Last.ACK.sent */
	uint32_t rcv_buf;
	struct rte_mbuf *rcvq; /* in-order bytes for the app */
	struct rte_mbuf *rcvq_tail; /* its last segment */
	uint32_t rcvq_bytes;
	bool rcv_fin;  /* the peer's FIN was received in order */
	uint8_t unacked_segs; /* delayed ACK: full segments not yet ACKed */

	/* Out-of-order segments: ranges in `ooo`, mbufs in `ooo_q` sorted by
	 * sequence (m->hash.usr holds each one's sequence number). */
	struct hg_seqset ooo;
	struct rte_mbuf **ooo_q; /* NULL until the first one */
	uint16_t ooo_cap;
	uint16_t ooo_n;
	uint32_t ooo_bytes;

	/* Timestamps (RFC 7323). */
	uint32_t ts_offset; /* random per connection */
	uint32_t ts_recent;
	uint64_t ts_recent_us;

	/* RTT and retransmission (RFC 6298), microseconds. */
	uint32_t srtt_us;
	uint32_t rttvar_us;
	uint32_t rto_us;
	uint32_t rtt_seq;
	uint64_t rtt_start_us;
	uint8_t backoff;     /* consecutive RTOs / SYN retransmissions */
	uint8_t probes;      /* zero-window or keepalive probes unanswered */

	/* Loss recovery (RFC 5681, 6582, 6675). */
	struct hg_cc cc;
	uint8_t dupacks;
	bool in_recovery;
	uint32_t recover;      /* snd_max when recovery began */
	uint32_t rtx_next;     /* next hole to retransmit in recovery */
	uint64_t recovery_progress_us; /* una last moved in recovery */
	struct hg_seqset sacked;

	/* Delivery rate estimation (draft-cheng-iccrg-delivery-rate-
	 * estimation), kept for BBR: bytes delivered (cumulatively ACKed or
	 * SACKed), when, and stamped segments. */
	uint64_t delivered;
	uint64_t delivered_us;
	uint64_t first_sent_us;
	uint64_t app_limited; /* `delivered` that ends an app-limited spell */
	struct hg_tcp_txmark txm[HG_TCP_TXMARKS];
	uint8_t txm_count; /* transmissions since the last stamp */

	/* Pacing (BBR): the earliest time the next segment may leave. */
	uint64_t pace_next_us;

	uint64_t last_rx_us;
	uint64_t last_tx_us;
	uint64_t created_us;
	uint64_t handshake_timeout_us; /* 0: the stack's */

	struct hg_timer rtx_timer;  /* RTO, SYN retry, persist, TIME-WAIT */
	struct hg_timer ack_timer;  /* delayed ACK */
	struct hg_timer idle_timer; /* keepalive, idle and handshake limits */
	struct hg_timer pace_timer; /* pacing: the next send */
	struct hg_tcp_conn *tw_next, *tw_prev; /* TIME-WAIT age list */

	uint64_t bytes_in, bytes_out;
};

struct hg_tcp_cfg {
	unsigned max_conns;
	uint32_t rcv_buf;
	uint32_t snd_buf;
	uint16_t mss; /* our MSS (MTU - 40) */
	uint32_t rto_min_us;
	uint32_t rto_max_us;
	uint32_t rto_initial_us;
	uint32_t delack_us;
	uint32_t timewait_us;
	unsigned timewait_max;
	unsigned syn_retries;
	unsigned synack_retries;
	unsigned max_retries; /* data retransmissions before giving up */
	uint32_t keepalive_idle_us; /* 0: off */
	uint32_t keepalive_intvl_us;
	unsigned keepalive_probes;
	uint32_t handshake_timeout_us;
	uint16_t ephemeral_low, ephemeral_high;
};

#define HG_TCP_MAX_LISTENERS 32

struct hg_tcp_stack {
	struct hg_tcp_cfg cfg;
	struct rte_mempool *pool;
	unsigned worker, n_workers;
	uint64_t now_us;
	uint64_t *ctr;   /* the worker's counters, HG_WC_* */
	uint64_t *drops; /* the worker's drops, HG_DROP_* */
	/* Sends a complete IPv4 packet (Ethernet header space in front). */
	void (*output)(void *ctx, struct rte_mbuf *m, uint32_t dst);
	void *output_ctx;

	struct hg_isn_secret secret;
	struct hg_wheel wheel;
	struct hg_timer **wheel_slots;

	struct hg_tcp_listener listeners[HG_TCP_MAX_LISTENERS];
	unsigned n_listeners;

	/* Connection table: open addressing on the 4-tuple. */
	struct hg_tcp_conn **table;
	uint32_t table_mask;
	unsigned n_conns;
	unsigned n_timewait;
	struct hg_tcp_conn *tw_oldest, *tw_newest;
	struct hg_tcp_conn *free_conns; /* free list through tw_next */
	struct hg_tcp_conn *dead_conns; /* closed, freed at the next reap */
	struct hg_tcp_conn *conns;      /* max_conns, allocated at start */
	uint16_t next_ephemeral;
	/* The connection hg_tcp_input is working on: calls on it from its
	 * callbacks leave the sending to the end of input. */
	struct hg_tcp_conn *in_conn;
};

/* Stack life. `pool` supplies header and indirect mbufs. Returns 0 or -1. */
int hg_tcp_stack_init(struct hg_tcp_stack *s, const struct hg_tcp_cfg *cfg,
		      struct rte_mempool *pool, unsigned worker,
		      unsigned n_workers, uint64_t *ctr, uint64_t *drops);
void hg_tcp_stack_free(struct hg_tcp_stack *s);
void hg_tcp_cfg_default(struct hg_tcp_cfg *cfg);

/* Called by the owner every loop or so, with the time already stored in
 * s->now_us: fires due timers. */
void hg_tcp_timers(struct hg_tcp_stack *s);

/* A TCP segment for this worker: `m` holds the frame, the IPv4 header at
 * `ip_off`, already validated (src, dst, lengths, checksum). Takes
 * ownership of `m`. */
void hg_tcp_input(struct hg_tcp_stack *s, uint8_t port, struct rte_mbuf *m,
		  size_t ip_off, uint32_t src, uint32_t dst,
		  size_t payload_len, size_t ip_hlen);

/* The congestion control a config's "cc" names (enum hg_cc_kind). */
static inline enum hg_cc_algo hg_cc_algo_of(uint8_t kind)
{
	return kind == HG_CC_KIND_NEWRENO ? HG_CC_NEWRENO
	       : kind == HG_CC_KIND_BBR	  ? HG_CC_BBR
					  : HG_CC_CUBIC;
}

/* Which worker owns an active-open connection with local port `lport`. */
static inline unsigned hg_tcp_port_owner(uint16_t lport, unsigned n_workers)
{
	return lport % n_workers;
}

/* Application API. */
struct hg_tcp_listener *hg_tcp_listen(struct hg_tcp_stack *s, uint32_t addr,
				      uint16_t port,
				      const struct hg_tcp_ops *ops, void *arg);
struct hg_tcp_conn *hg_tcp_connect(struct hg_tcp_stack *s, uint8_t port,
				   uint32_t laddr, uint32_t raddr,
				   uint16_t rport, enum hg_cc_algo cc,
				   const struct hg_tcp_ops *ops, void *app);
/* Takes up to `max` bytes of received data off the receive queue, as an
 * mbuf chain (whole mbufs: may be less than max), or NULL. */
struct rte_mbuf *hg_tcp_recv(struct hg_tcp_conn *c, uint32_t max);
/* Appends the chain `m` (pkt_len bytes) to the send queue and sends what
 * the windows allow. Takes ownership. Returns -1 (and frees m) when the
 * connection can no longer send. The caller keeps the queue within
 * hg_tcp_snd_space; going beyond is allowed but costs memory. */
int hg_tcp_send(struct hg_tcp_conn *c, struct rte_mbuf *m);
void hg_tcp_shutdown(struct hg_tcp_conn *c);
void hg_tcp_abort(struct hg_tcp_conn *c);

static inline uint32_t hg_tcp_rcv_bytes(const struct hg_tcp_conn *c)
{
	return c->rcvq_bytes;
}

static inline uint32_t hg_tcp_snd_space(const struct hg_tcp_conn *c)
{
	return c->sndq_bytes >= c->snd_buf ? 0 : c->snd_buf - c->sndq_bytes;
}

/* Internal, shared between tcp_*.c. */
void hg_tcp_output(struct hg_tcp_conn *c);
void hg_tcp_send_ack(struct hg_tcp_conn *c);
void hg_tcp_send_rst_for(struct hg_tcp_stack *s, uint8_t port,
			 const struct hg_tuple *t, uint32_t seq, uint32_t ack,
			 bool with_ack);
void hg_tcp_send_syn(struct hg_tcp_conn *c);
void hg_tcp_retransmit(struct hg_tcp_conn *c, uint32_t seq, uint32_t len);
void hg_tcp_send_segment(struct hg_tcp_conn *c, uint32_t seq, uint32_t len,
			 uint8_t flags);
uint32_t hg_tcp_rcv_window(const struct hg_tcp_conn *c);
void hg_tcp_set_state(struct hg_tcp_conn *c, enum hg_tcp_state st);
void hg_tcp_close(struct hg_tcp_conn *c, enum hg_tcp_close_reason why);
void hg_tcp_enter_timewait(struct hg_tcp_conn *c);
/* Makes closed connections reusable; only where no connection pointer is
 * held (start of input, timers). */
void hg_tcp_reap(struct hg_tcp_stack *s);
void hg_tcp_rcvq_append(struct hg_tcp_conn *c, struct rte_mbuf *m);
void hg_tcp_arm_rtx(struct hg_tcp_conn *c);
void hg_tcp_restart_rtx(struct hg_tcp_conn *c);
void hg_tcp_send_cookie_synack(struct hg_tcp_stack *s, const struct hg_tuple *t,
			       uint32_t cookie, uint32_t ack,
			       const struct hg_tcp_opts *peer, uint8_t wscale);
void hg_tcp_arm_idle(struct hg_tcp_conn *c);
struct hg_tcp_conn *hg_tcp_lookup(struct hg_tcp_stack *s,
				  const struct hg_tuple *t);
struct hg_tcp_conn *hg_tcp_conn_new(struct hg_tcp_stack *s,
				    const struct hg_tuple *t, uint8_t port);
void hg_tcp_rtt_sample(struct hg_tcp_conn *c, uint32_t rtt_us);
uint32_t hg_tcp_ts_now(const struct hg_tcp_conn *c);
void hg_tcp_timer_fire(struct hg_timer *t, void *arg);
/* The payload a data segment may carry now (MSS less SACK options). */
uint32_t hg_tcp_seg_room(const struct hg_tcp_conn *c);
/* Bytes in flight, RFC 6675's pipe. */
uint32_t hg_tcp_pipe(const struct hg_tcp_conn *c);
/* Delivery rate estimation: a transmission of [seq, seq + len). */
void hg_tcp_rate_on_send(struct hg_tcp_conn *c, uint32_t seq, uint32_t len);

#define HG_TCP_COUNT(s, name) ((s)->ctr[HG_WC_##name]++)
#define HG_TCP_DROP(s, why) ((s)->drops[HG_DROP_##why]++)

#endif
