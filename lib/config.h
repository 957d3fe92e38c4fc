/* The instance configuration: one JSON file, read by both planes.
 *
 * hg_config_load_* fill a struct with every default applied and every field
 * checked; on error they return -1 and write into `err` a message that names
 * the field by its path (e.g. `ports[1].address`) and says why it is wrong.
 * Unknown fields are errors too: a typo must not silently fall back to a
 * default. Nothing starts on an invalid config.
 *
 * Schema (see configs/lab.json for a commented example in README form):
 *   instance            string, [A-Za-z0-9_-]{1,31}, required
 *   dataplane.workers   1..HG_MAX_WORKERS, default 1
 *   dataplane.cpus      array of CPU numbers for the workers, default none
 *                       (workers float over the allowed CPUs)
 *   dataplane.busy_poll bool, default false (never sleep: benchmarks)
 *   dataplane.idle_spin_loops   idle loops before sleeping, 0..1e6, def 64
 *   dataplane.idle_sleep_min_us 1..1e6, default 10
 *   dataplane.idle_sleep_max_us min..1e6, default 1000
 *   dataplane.memory_mb  64..65536, default 256
 *   dataplane.hugepages  bool, default false (--no-huge)
 *   dataplane.mbufs      1024..4194304, default 8192
 *   dataplane.rx_desc / tx_desc  64..16384, power of two, default 1024
 *   dataplane.burst      1..HG_MAX_BURST, default 32
 *   ports[]             1..HG_MAX_PORTS, required
 *     name              string, [A-Za-z0-9_-]{1,31}, unique, required
 *     device            DPDK vdev string, e.g. "net_af_packet0,iface=hg-c0"
 *     pci               PCI address "0000:03:00.0"; exactly one of device/pci
 *     address           "a.b.c.d/len", unicast, len 1..31, required
 *     gateway           "a.b.c.d" inside the port's subnet, optional
 *     mtu               576..9000, default 1500
 *   arp.entries         16..65536, power of two, default 1024
 *   arp.timeout_s       1..86400, default 300 (after this an entry is
 *                       refreshed on next use)
 *   arp.retry_ms        10..60000, default 1000
 *   arp.retries         1..20, default 3
 *   arp.pending_max     1..1024 packets waiting per worker, default 64
 *   channel.name        shared-memory name, default "hopgate-<instance>"
 *   channel.ring_slots  power of two 16..65536, default 1024
 *   control.socket      Unix socket path, default "/run/hopgate/ctl.sock"
 *   control.max_clients 1..1024, default 64
 *   control.max_line    256..1048576 bytes, default 65536
 *   tcp.max_conns       connections per worker, 16..4194304, default 16384
 *   tcp.rcv_buf / snd_buf  bytes per connection, 4096..67108864,
 *                       default 524288
 *   tcp.rto_min_ms 1..60000 (200), tcp.rto_max_ms rto_min..600000 (60000),
 *   tcp.rto_initial_ms 1..60000 (1000), tcp.delack_ms 1..500 (40),
 *   tcp.timewait_s 1..600 (60), tcp.timewait_max 0..4194304 (8192),
 *   tcp.syn_retries / synack_retries 1..20 (5), tcp.max_retries 1..30 (12),
 *   tcp.keepalive_idle_s 0..86400 (0: off), tcp.keepalive_intvl_s
 *   1..3600 (75), tcp.keepalive_probes 1..100 (9),
 *   tcp.handshake_timeout_s 1..600 (75)
 *   listeners[]         0..HG_MAX_LISTENERS
 *     name              unique, like port names, required
 *     address           "a.b.c.d", one of the ports' addresses, required
 *     port              1..65535, required; (address, port) unique
 *     service           "echo" | "discard" | "source", required (until the
 *                       relay exists, every listener runs a test service)
 *     cc                "cubic" (default) | "newreno" | "bbr"
 *     backlog           half-open connections before SYN cookies,
 *                       1..1048576, default 1024
 *     syncookies        "auto" (default: when the backlog is full) |
 *                       "always" | "never"
 *     idle_timeout_s    0..86400, default 0 (none)
 *     source_bytes      source only: bytes per connection, default 0
 *                       (endless, until the client closes)
 *   relay.max_flows     relayed flows per worker, 16..4194304, default 8192
 *   sta                 the control plane's Secure Ticket Authority
 *     authority_id      "STA" + 1..16 of [A-Z0-9], default "STA0HOPGATE"
 *     lifetime_s        a ticket's life, 1..3600, default 100
 *     max_tickets       tickets alive at once, 16..1048576, default 65536
 *   access              an object: users, resources, portal; read by the
 *                       control plane only (controlplane/access.h)
 *   virtual_servers[]   0..HG_MAX_VS plain TCP relays
 *     name              unique among listeners and virtual servers
 *     address, port     as for listeners; (address, port) unique overall
 *     backends[]        1..32 of {"address": "a.b.c.d" (required),
 *                       "port" 1..65535 (required), "weight" 1..1000 (1)};
 *                       each reachable through a port's subnet or gateway
 *     policy            "round_robin" (default, weighted) | "least_conn"
 *     idle_timeout_s    0..86400, default 300 (0: none)
 *     connect_timeout_s 1..600, default 10
 *     backend_down_s    seconds a backend stays down after a failed
 *                       connect, 1..3600, default 10
 *     connect_retries   other backends tried after a failed connect,
 *                       0..8, default 1
 *     cc, backlog, syncookies   as for listeners
 *     tls               optional: the virtual server terminates TLS (the
 *                       handshake in the control plane, records in the
 *                       data plane); backends get plain TCP
 *       certificates[]  1..4 of {"cert": PEM chain path, "key": PEM key
 *                       path}, both required; read by the control plane
 *                       only; SNI picks by the certificate's names, the
 *                       first is the default
 *       min_version, max_version   "1.2" | "1.3", default "1.2", "1.3"
 *       ciphersuites    TLS 1.3 suites, OpenSSL syntax; "" = all three
 *                       AEAD suites; anything not AEAD is refused
 *       ciphers         TLS 1.2 suites (ECDHE + AES-GCM or ChaCha20-
 *                       Poly1305 only); "" = those, ECDSA first
 *       groups          key exchange groups; "" = X25519:P-256:P-384
 *       alpn            array of protocol names, server preference
 *                       order, default none
 *       session_tickets true (default) | false: resumption by ticket
 *       ticket_lifetime_s 60..604800, default 7200; ticket keys rotate
 *                       at this period (the previous key still decrypts)
 *       record_size     largest plaintext per record sent, 512..16384,
 *                       default 16384
 *       handshake_timeout_s 1..300, default 10
 *     handler           "relay" (default): flows go to the backends;
 *                       "ica" (needs tls): the control plane reads the
 *                       client's first bytes, a SOCKS v5 request whose
 *                       destination is an ICA file's Address (an STA
 *                       ticket), validates the ticket with the STA and
 *                       relays to the server it was issued for (backends
 *                       may then be empty)
 *     backend_tls       optional, only with tls: TLS to the backends too
 *                       (the handshake in the control plane, records in
 *                       the data plane)
 *       ca              PEM file of CAs to trust; "" (default): the
 *                       system's store
 *       verify          true (default): the backend's chain and name
 *       server_name     sent as SNI and verified; "" (default): no SNI,
 *                       the backend's IP address is verified
 *       min_version, max_version, ciphersuites, ciphers   as for tls
 *       alpn            protocols offered, default none
 *       session_reuse   true (default): resume the last session with
 *                       each backend
 */
#ifndef HG_CONFIG_H
#define HG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_keys.h"

#define HG_MAX_PORTS 8
#define HG_MAX_WORKERS 16
#define HG_MAX_BURST 64
#define HG_NAME_MAX 32
#define HG_PATH_MAX 108 /* sun_path */

struct hg_port_config {
	char name[HG_NAME_MAX];
	char device[256]; /* vdev args, or "" */
	char pci[32];     /* PCI address, or "" */
	uint32_t addr;    /* host order */
	uint8_t prefix_len;
	uint32_t gateway; /* host order, 0 = none */
	uint16_t mtu;
};

struct hg_dataplane_config {
	unsigned workers;
	int cpus[HG_MAX_WORKERS];
	unsigned n_cpus;
	bool busy_poll;
	unsigned idle_spin_loops;
	unsigned idle_sleep_min_us;
	unsigned idle_sleep_max_us;
	unsigned memory_mb;
	bool hugepages;
	unsigned mbufs;
	unsigned rx_desc;
	unsigned tx_desc;
	unsigned burst;
};

struct hg_arp_config {
	unsigned entries;
	unsigned timeout_s;
	unsigned retry_ms;
	unsigned retries;
	unsigned pending_max;
};

struct hg_channel_config {
	char name[64];
	unsigned ring_slots;
};

struct hg_control_config {
	char socket[HG_PATH_MAX];
	unsigned max_clients;
	unsigned max_line;
};

enum hg_service_kind {
	HG_SERVICE_NONE = 0,
	HG_SERVICE_ECHO,
	HG_SERVICE_DISCARD,
	HG_SERVICE_SOURCE,
};

/* Same values as enum hg_cc_algo (lib/tcp_cc.h). */
enum hg_cc_kind {
	HG_CC_KIND_NEWRENO = 0,
	HG_CC_KIND_CUBIC = 1,
	HG_CC_KIND_BBR = 2,
};
enum hg_syncookie_mode {
	HG_SYNCOOKIE_AUTO = 0,
	HG_SYNCOOKIE_ALWAYS,
	HG_SYNCOOKIE_NEVER,
};

#define HG_MAX_LISTENERS 32

struct hg_listener_config {
	char name[HG_NAME_MAX];
	uint32_t addr; /* host order; must be a port's address */
	uint16_t port;
	uint8_t service; /* enum hg_service_kind */
	uint8_t cc;      /* enum hg_cc_kind */
	uint8_t syncookies; /* enum hg_syncookie_mode */
	unsigned backlog;
	unsigned idle_timeout_s; /* 0: none */
	uint64_t source_bytes;   /* source: bytes per connection, 0 endless */
};

struct hg_tcp_config {
	unsigned max_conns; /* per worker */
	unsigned rcv_buf;
	unsigned snd_buf;
	unsigned rto_min_ms;
	unsigned rto_max_ms;
	unsigned rto_initial_ms;
	unsigned delack_ms;
	unsigned timewait_s;
	unsigned timewait_max;
	unsigned syn_retries;
	unsigned synack_retries;
	unsigned max_retries;
	unsigned keepalive_idle_s; /* 0: no keepalive */
	unsigned keepalive_intvl_s;
	unsigned keepalive_probes;
	unsigned handshake_timeout_s;
};

#define HG_MAX_VS 16
#define HG_VS_MAX_BACKENDS 32

struct hg_backend_config {
	uint32_t addr; /* host order */
	uint16_t port;
	uint16_t weight;
};

enum hg_policy_kind { HG_POLICY_KIND_RR = 0, HG_POLICY_KIND_LEAST_CONN = 1 };

#define HG_TLS_MAX_CERTS 4
#define HG_TLS_PATH_MAX 256
#define HG_TLS_LIST_MAX 256

/* A certificate and its private key, PEM files read by the control plane
 * only. SNI picks among a listener's certificates by the names in each
 * certificate (subjectAltName DNS entries, else the CN); the first one is
 * the default. */
struct hg_tls_cert_config {
	char cert[HG_TLS_PATH_MAX]; /* chain: leaf first */
	char key[HG_TLS_PATH_MAX];
};

/* TLS termination on a virtual server. Strings use OpenSSL's syntax and
 * are checked by the control plane when it builds the context. */
struct hg_tls_config {
	bool enabled; /* a "tls" object is present */
	struct hg_tls_cert_config certs[HG_TLS_MAX_CERTS];
	unsigned n_certs;
	uint16_t min_version, max_version; /* HG_TLS_V12 / HG_TLS_V13 */
	char ciphersuites[HG_TLS_LIST_MAX]; /* TLS 1.3 suites */
	char ciphers[HG_TLS_LIST_MAX];      /* TLS 1.2 AEAD ECDHE suites */
	char groups[HG_TLS_LIST_MAX];
	char alpn[HG_TLS_LIST_MAX]; /* comma-separated, "" for none */
	bool session_tickets;
	unsigned ticket_lifetime_s; /* also the ticket key rotation period */
	unsigned record_size;       /* largest plaintext per record sent */
	unsigned handshake_timeout_s;
};

/* TLS from the gateway to the backends (with client side TLS only). */
struct hg_backend_tls_config {
	bool enabled; /* a "backend_tls" object is present */
	char ca[HG_TLS_PATH_MAX]; /* trusted CAs (PEM); "" = the system's */
	bool verify;              /* the chain and the name */
	char server_name[HG_TLS_PATH_MAX]; /* SNI and the name verified;
					      "" = verify the address */
	uint16_t min_version, max_version;
	char ciphersuites[HG_TLS_LIST_MAX];
	char ciphers[HG_TLS_LIST_MAX];
	char alpn[HG_TLS_LIST_MAX]; /* offered, comma-separated */
	bool session_reuse;
};

/* A plain TCP virtual server: a listener relayed to a backend pool. */
struct hg_vs_config {
	char name[HG_NAME_MAX];
	uint32_t addr; /* a port's address */
	uint16_t port;
	uint8_t policy; /* enum hg_policy_kind */
	uint8_t cc;
	uint8_t syncookies;
	unsigned backlog;
	unsigned idle_timeout_s;
	unsigned backend_down_s;
	unsigned connect_retries; /* other backends tried after a failure */
	unsigned connect_timeout_s;
	struct hg_backend_config backends[HG_VS_MAX_BACKENDS];
	unsigned n_backends;
	struct hg_tls_config tls; /* client side TLS, when tls.enabled */
	struct hg_backend_tls_config backend_tls;
	uint8_t handler; /* enum hg_handler_kind */
};

struct hg_relay_config {
	unsigned max_flows; /* per worker */
};

/* What decides where a virtual server's flows go. */
enum hg_handler_kind {
	HG_HANDLER_RELAY = 0, /* the backend pool */
	HG_HANDLER_ICA,       /* the client's SOCKS v5 request carries an STA
				 ticket; the server it names */
};

/* The control plane's Secure Ticket Authority. */
struct hg_sta_config {
	char authority_id[HG_NAME_MAX]; /* "STA" + 1..16 of [A-Z0-9] */
	unsigned lifetime_s;
	unsigned max_tickets;
};

struct hg_config {
	char instance[HG_NAME_MAX];
	struct hg_dataplane_config dataplane;
	struct hg_port_config ports[HG_MAX_PORTS];
	unsigned n_ports;
	struct hg_arp_config arp;
	struct hg_channel_config channel;
	struct hg_control_config control;
	struct hg_tcp_config tcp;
	struct hg_listener_config listeners[HG_MAX_LISTENERS];
	unsigned n_listeners;
	struct hg_relay_config relay;
	struct hg_sta_config sta;
	struct hg_vs_config vs[HG_MAX_VS];
	unsigned n_vs;
};

int hg_config_load_file(const char *path, struct hg_config *out, char *err,
			size_t errlen);
int hg_config_load_string(const char *json, struct hg_config *out, char *err,
			  size_t errlen);

/* The running config as JSON (every default made explicit), malloc'd;
 * NULL on allocation failure. */
char *hg_config_to_json(const struct hg_config *cfg);

/* True when some port is a PCI device (the EAL may then probe PCI). */
bool hg_config_has_pci(const struct hg_config *cfg);

#endif
