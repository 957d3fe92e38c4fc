/* Loading, checking and dumping the instance configuration (see config.h
 * for the schema, which is the contract this file implements).
 *
 * Plain integer and boolean fields are described once, in one table per
 * section; the same tables drive the unknown-field check, the parser and
 * the JSON dump, so a field added to a table is handled everywhere. Fields
 * with their own rules (names, addresses, devices, paths) are marked
 * K_CUSTOM in the tables and handled by code.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pkt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CONFIG_FILE_MAX (1024 * 1024)
#define CPU_MAX 1023
#define DEFAULT_SOCKET "/run/hopgate/ctl.sock"
#define CHANNEL_PREFIX "hopgate-"
#define PATH_LEN 128 /* a field path, "ports[7].gateway" or an unknown key */
#define UNKNOWN_KEY_MAX 64 /* of an unknown key, quoted in the error */

struct errbuf {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 3, 4))) static int
fail(struct errbuf *e, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->buf != NULL && e->len > 0)
		snprintf(e->buf, e->len, "%s: %s", path, msg);
	return -1;
}

/* Appends s at dst[*n], cutting it short to fit `len` bytes. */
static void append(char *dst, size_t len, size_t *n, const char *s)
{
	size_t k = strlen(s);

	if (k > len - 1 - *n)
		k = len - 1 - *n;
	memcpy(dst + *n, s, k);
	*n += k;
	dst[*n] = '\0';
}

/* "parent.key", or "key" at the top level. Paths only go into messages,
 * so cutting one short is harmless. (Not snprintf: gcc -O2 warns about
 * the possible truncation once it is inlined.) */
static void join(char *dst, size_t len, const char *parent, const char *key)
{
	size_t n = 0;

	dst[0] = '\0';
	append(dst, len, &n, parent);
	if (parent[0] != '\0')
		append(dst, len, &n, ".");
	append(dst, len, &n, key);
}

/* ------------------------------------------------------------------ */
/* Field tables */

enum kind { K_UINT, K_U16, K_BOOL, K_CUSTOM };

#define F_POW2 1u

struct field {
	const char *key;
	enum kind kind;
	size_t off; /* into the section's struct */
	unsigned min, max, def;
	unsigned flags;
};

struct section {
	const struct field *fields;
	size_t n;
};

#define F_UINT(type, name, lo, hi, d, fl)                                      \
	{ .key = #name, .kind = K_UINT, .off = offsetof(type, name),          \
	  .min = (lo), .max = (hi), .def = (d), .flags = (fl) }
#define F_U16(type, name, lo, hi, d)                                           \
	{ .key = #name, .kind = K_U16, .off = offsetof(type, name),           \
	  .min = (lo), .max = (hi), .def = (d) }
#define F_BOOL(type, name, d)                                                  \
	{ .key = #name, .kind = K_BOOL, .off = offsetof(type, name),          \
	  .def = (d) }
#define F_CUSTOM(name) { .key = #name, .kind = K_CUSTOM }
#define SECTION(t) { .fields = (t), .n = ARRAY_SIZE(t) }

#define DP struct hg_dataplane_config
static const struct field dataplane_fields[] = {
	F_UINT(DP, workers, 1, HG_MAX_WORKERS, 1, 0),
	F_CUSTOM(cpus),
	F_BOOL(DP, busy_poll, false),
	F_UINT(DP, idle_spin_loops, 0, 1000000, 64, 0),
	F_UINT(DP, idle_sleep_min_us, 1, 1000000, 10, 0),
	/* Its lower bound is idle_sleep_min_us, checked after the table. */
	F_UINT(DP, idle_sleep_max_us, 1, 1000000, 1000, 0),
	F_UINT(DP, memory_mb, 64, 65536, 256, 0),
	F_BOOL(DP, hugepages, false),
	F_UINT(DP, mbufs, 1024, 4194304, 8192, 0),
	F_UINT(DP, rx_desc, 64, 16384, 1024, F_POW2),
	F_UINT(DP, tx_desc, 64, 16384, 1024, F_POW2),
	F_UINT(DP, burst, 1, HG_MAX_BURST, 32, 0),
};
#undef DP

#define PC struct hg_port_config
static const struct field port_fields[] = {
	F_CUSTOM(name),
	F_CUSTOM(device),
	F_CUSTOM(pci),
	F_CUSTOM(address),
	F_CUSTOM(gateway),
	F_U16(PC, mtu, 576, 9000, 1500),
};
#undef PC

#define AC struct hg_arp_config
static const struct field arp_fields[] = {
	F_UINT(AC, entries, 16, 65536, 1024, F_POW2),
	F_UINT(AC, timeout_s, 1, 86400, 300, 0),
	F_UINT(AC, retry_ms, 10, 60000, 1000, 0),
	F_UINT(AC, retries, 1, 20, 3, 0),
	F_UINT(AC, pending_max, 1, 1024, 64, 0),
};
#undef AC

#define CC struct hg_channel_config
static const struct field channel_fields[] = {
	F_CUSTOM(name),
	F_UINT(CC, ring_slots, 16, 65536, 1024, F_POW2),
};
#undef CC

#define KC struct hg_control_config
static const struct field control_fields[] = {
	F_CUSTOM(socket),
	F_UINT(KC, max_clients, 1, 1024, 64, 0),
	F_UINT(KC, max_line, 256, 1048576, 65536, 0),
};
#undef KC

#define TC struct hg_tcp_config
static const struct field tcp_fields[] = {
	F_UINT(TC, max_conns, 16, 4194304, 16384, 0),
	F_UINT(TC, rcv_buf, 4096, 67108864, 524288, 0),
	F_UINT(TC, snd_buf, 4096, 67108864, 524288, 0),
	F_UINT(TC, rto_min_ms, 1, 60000, 200, 0),
	/* Its lower bound is rto_min_ms, checked after the table. */
	F_UINT(TC, rto_max_ms, 1, 600000, 60000, 0),
	F_UINT(TC, rto_initial_ms, 1, 60000, 1000, 0),
	F_UINT(TC, delack_ms, 1, 500, 40, 0),
	F_UINT(TC, timewait_s, 1, 600, 60, 0),
	F_UINT(TC, timewait_max, 0, 4194304, 8192, 0),
	F_UINT(TC, syn_retries, 1, 20, 5, 0),
	F_UINT(TC, synack_retries, 1, 20, 5, 0),
	F_UINT(TC, max_retries, 1, 30, 12, 0),
	F_UINT(TC, keepalive_idle_s, 0, 86400, 0, 0),
	F_UINT(TC, keepalive_intvl_s, 1, 3600, 75, 0),
	F_UINT(TC, keepalive_probes, 1, 100, 9, 0),
	F_UINT(TC, handshake_timeout_s, 1, 600, 75, 0),
};
#undef TC

#define LC struct hg_listener_config
static const struct field listener_fields[] = {
	F_CUSTOM(name),
	F_CUSTOM(address),
	F_U16(LC, port, 1, 65535, 0),
	F_CUSTOM(service),
	F_CUSTOM(cc),
	F_UINT(LC, backlog, 1, 1048576, 1024, 0),
	F_CUSTOM(syncookies),
	F_UINT(LC, idle_timeout_s, 0, 86400, 0, 0),
	F_CUSTOM(source_bytes),
};
#undef LC

#define VC struct hg_vs_config
static const struct field vs_fields[] = {
	F_CUSTOM(name),
	F_CUSTOM(address),
	F_U16(VC, port, 1, 65535, 0),
	F_CUSTOM(backends),
	F_CUSTOM(policy),
	F_CUSTOM(cc),
	F_CUSTOM(syncookies),
	F_UINT(VC, backlog, 1, 1048576, 1024, 0),
	F_UINT(VC, idle_timeout_s, 0, 86400, 300, 0),
	F_UINT(VC, connect_timeout_s, 1, 600, 10, 0),
	F_UINT(VC, backend_down_s, 1, 3600, 10, 0),
	F_UINT(VC, connect_retries, 0, 8, 1, 0),
	F_CUSTOM(tls),
	F_CUSTOM(backend_tls),
	F_CUSTOM(handler),
};
#undef VC

#define TC struct hg_tls_config
static const struct field tls_fields[] = {
	F_CUSTOM(certificates),
	F_CUSTOM(min_version),
	F_CUSTOM(max_version),
	F_CUSTOM(ciphersuites),
	F_CUSTOM(ciphers),
	F_CUSTOM(groups),
	F_CUSTOM(alpn),
	F_BOOL(TC, session_tickets, 1),
	F_UINT(TC, ticket_lifetime_s, 60, 604800, 7200, 0),
	F_UINT(TC, record_size, 512, 16384, 16384, 0),
	F_UINT(TC, handshake_timeout_s, 1, 300, 10, 0),
};
#undef TC

#define BT struct hg_backend_tls_config
static const struct field backend_tls_fields[] = {
	F_CUSTOM(ca),
	F_BOOL(BT, verify, 1),
	F_CUSTOM(server_name),
	F_CUSTOM(min_version),
	F_CUSTOM(max_version),
	F_CUSTOM(ciphersuites),
	F_CUSTOM(ciphers),
	F_CUSTOM(alpn),
	F_BOOL(BT, session_reuse, 1),
};
#undef BT

#define BC struct hg_backend_config
static const struct field backend_fields[] = {
	F_CUSTOM(address),
	F_U16(BC, port, 1, 65535, 0),
	F_U16(BC, weight, 1, 1000, 1),
};
#undef BC

#define SC struct hg_sta_config
static const struct field sta_fields[] = {
	F_CUSTOM(authority_id),
	F_UINT(SC, lifetime_s, 1, 3600, 100, 0),
	F_UINT(SC, max_tickets, 16, 1048576, 65536, 0),
};
#undef SC

#define RC struct hg_relay_config
static const struct field relay_fields[] = {
	F_UINT(RC, max_flows, 16, 4194304, 8192, 0),
};
#undef RC

static const struct field top_fields[] = {
	F_CUSTOM(instance), F_CUSTOM(dataplane), F_CUSTOM(ports),
	F_CUSTOM(arp),      F_CUSTOM(channel),   F_CUSTOM(control),
	F_CUSTOM(tcp),      F_CUSTOM(listeners), F_CUSTOM(relay),
	F_CUSTOM(sta),
	F_CUSTOM(virtual_servers), F_CUSTOM(access),
};

static const struct section dataplane_section = SECTION(dataplane_fields);
static const struct section port_section = SECTION(port_fields);
static const struct section arp_section = SECTION(arp_fields);
static const struct section channel_section = SECTION(channel_fields);
static const struct section control_section = SECTION(control_fields);
static const struct section top_section = SECTION(top_fields);
static const struct section tcp_section = SECTION(tcp_fields);
static const struct section listener_section = SECTION(listener_fields);
static const struct section vs_section = SECTION(vs_fields);
static const struct field tls_cert_fields[] = {
	F_CUSTOM(cert),
	F_CUSTOM(key),
};
static const struct section tls_section = SECTION(tls_fields);
static const struct section tls_cert_section = SECTION(tls_cert_fields);
static const struct section sta_section = SECTION(sta_fields);
static const struct section backend_tls_section = SECTION(backend_tls_fields);
static const struct section backend_section = SECTION(backend_fields);
static const struct section relay_section = SECTION(relay_fields);

/* ------------------------------------------------------------------ */
/* Typed getters: each reads obj[key], leaves the default when the key is
 * absent, and refuses any other JSON type (null included) so that a value
 * is never silently coerced. */

static int get_uint(json_t *obj, const char *key, const char *parent,
		    unsigned min, unsigned max, unsigned def, unsigned *dst,
		    struct errbuf *e)
{
	json_t *v = json_object_get(obj, key);
	char path[PATH_LEN];
	json_int_t n;

	*dst = def;
	if (v == NULL)
		return 0;
	n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (!json_is_integer(v) || n < (json_int_t)min || n > (json_int_t)max) {
		join(path, sizeof(path), parent, key);
		return fail(e, path, "must be an integer between %u and %u",
			    min, max);
	}
	*dst = (unsigned)n;
	return 0;
}

static int get_bool(json_t *obj, const char *key, const char *parent,
		    bool def, bool *dst, struct errbuf *e)
{
	json_t *v = json_object_get(obj, key);
	char path[PATH_LEN];

	*dst = def;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		join(path, sizeof(path), parent, key);
		return fail(e, path, "must be true or false");
	}
	*dst = json_is_true(v);
	return 0;
}

/* obj[key] as a C string: 0 when absent, 1 when found (*s set), -1 on
 * error. The string stays owned by obj. */
static int get_str(json_t *obj, const char *key, const char *path,
		   const char **s, struct errbuf *e)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return fail(e, path, "must be a string");
	*s = json_string_value(v);
	/* jansson refuses \u0000 without JSON_ALLOW_NUL; stay safe anyway. */
	if (strlen(*s) != json_string_length(v))
		return fail(e, path, "must not contain a NUL character");
	return 1;
}

/* Copies s into a zeroed dst of `size` bytes (the tail stays zero, which
 * the round-trip memcmp relies on). */
static int copy_str(char *dst, size_t size, const char *s, const char *path,
		    struct errbuf *e)
{
	size_t n = strlen(s);

	if (n >= size)
		return fail(e, path, "too long (at most %zu characters)",
			    size - 1);
	memcpy(dst, s, n + 1);
	return 0;
}

/* An optional string field copied into dst: 0 when absent, 1 when
 * copied, -1 on error. */
static int get_opt_str(json_t *o, const char *key, const char *parent,
		       char *dst, size_t size, struct errbuf *e)
{
	char path[PATH_LEN];
	const char *s = NULL;
	int rc;

	join(path, sizeof(path), parent, key);
	rc = get_str(o, key, path, &s, e);
	if (rc <= 0)
		return rc;
	return copy_str(dst, size, s, path, e) < 0 ? -1 : 1;
}

/* A string field that must be present, copied into dst. */
static int get_required_str(json_t *obj, const char *key, const char *parent,
			    char *dst, size_t size, struct errbuf *e)
{
	char path[PATH_LEN];
	int rc = get_opt_str(obj, key, parent, dst, size, e);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	join(path, sizeof(path), parent, key);
	return fail(e, path, "required");
}

/* ------------------------------------------------------------------ */
/* Table-driven parts */

static const struct field *find_field(const struct section *sec,
				      const char *key)
{
	size_t i;

	for (i = 0; i < sec->n; i++)
		if (strcmp(sec->fields[i].key, key) == 0)
			return &sec->fields[i];
	return NULL;
}

/* A key from the input, made safe to print: cut short and with anything
 * but printable ASCII replaced, so an error cannot carry escape codes. */
static void printable_key(char *dst, size_t size, const char *key)
{
	size_t i;

	for (i = 0; key[i] != '\0' && i + 1 < size; i++)
		dst[i] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
	dst[i] = '\0';
}

static int check_keys(json_t *obj, const char *parent,
		      const struct section *sec, struct errbuf *e)
{
	char path[PATH_LEN], key_buf[UNKNOWN_KEY_MAX + 1];
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (find_field(sec, key) != NULL)
			continue;
		printable_key(key_buf, sizeof(key_buf), key);
		join(path, sizeof(path), parent, key_buf);
		return fail(e, path, "unknown field");
	}
	return 0;
}

static int load_field(json_t *obj, const char *parent, const struct field *f,
		      void *base, struct errbuf *e)
{
	char *p = (char *)base + f->off;
	char path[PATH_LEN];
	unsigned v;

	if (f->kind == K_BOOL)
		return get_bool(obj, f->key, parent, f->def != 0, (bool *)p, e);
	if (get_uint(obj, f->key, parent, f->min, f->max, f->def, &v, e) < 0)
		return -1;
	if ((f->flags & F_POW2) && (v & (v - 1)) != 0) {
		join(path, sizeof(path), parent, f->key);
		return fail(e, path, "must be a power of two");
	}
	if (f->kind == K_U16)
		*(uint16_t *)(void *)p = (uint16_t)v;
	else
		*(unsigned *)(void *)p = v;
	return 0;
}

/* Rejects unknown keys, then fills every table field of `base`. */
static int load_section(json_t *obj, const char *parent,
			const struct section *sec, void *base,
			struct errbuf *e)
{
	size_t i;

	if (check_keys(obj, parent, sec, e) < 0)
		return -1;
	for (i = 0; i < sec->n; i++) {
		if (sec->fields[i].kind == K_CUSTOM)
			continue;
		if (load_field(obj, parent, &sec->fields[i], base, e) < 0)
			return -1;
	}
	return 0;
}

/* An optional section: *sub is NULL when it is absent. jansson's getters
 * and iterators treat a NULL object as empty, so an absent section loads
 * as one with every default. */
static int load_optional(json_t *root, const char *key,
			 const struct section *sec, void *base, json_t **sub,
			 struct errbuf *e)
{
	*sub = json_object_get(root, key);
	if (*sub != NULL && !json_is_object(*sub))
		return fail(e, key, "must be an object");
	return load_section(*sub, key, sec, base, e);
}

/* ------------------------------------------------------------------ */
/* Names and paths */

static bool name_char(char c, bool dot)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       (dot && c == '.');
}

/* `s` already fits its array; checks it is non-empty and its charset. */
static int check_name(const char *s, bool dot, const char *path,
		      struct errbuf *e)
{
	const char *p;

	if (s[0] == '\0')
		return fail(e, path, "must not be empty");
	for (p = s; *p != '\0'; p++)
		if (!name_char(*p, dot))
			return fail(e, path, "invalid character (allowed: "
				    "A-Z a-z 0-9 _ -%s)", dot ? " ." : "");
	return 0;
}

static int load_instance(json_t *root, struct hg_config *c,
			 struct errbuf *e)
{
	if (get_required_str(root, "instance", "", c->instance,
			     sizeof(c->instance), e) < 0)
		return -1;
	return check_name(c->instance, false, "instance", e);
}

/* ------------------------------------------------------------------ */
/* dataplane */

static int load_cpu(json_t *v, size_t i, struct hg_dataplane_config *d,
		    struct errbuf *e)
{
	char path[PATH_LEN];
	json_int_t n;
	size_t j;

	snprintf(path, sizeof(path), "dataplane.cpus[%zu]", i);
	n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (!json_is_integer(v) || n < 0 || n > CPU_MAX)
		return fail(e, path, "must be an integer between 0 and %d",
			    CPU_MAX);
	for (j = 0; j < i; j++)
		if (d->cpus[j] == (int)n)
			return fail(e, path, "duplicate CPU %d", (int)n);
	d->cpus[i] = (int)n;
	return 0;
}

/* After workers: the list pins one worker per CPU, so it must name as
 * many CPUs as there are workers. */
static int load_cpus(json_t *dp, struct hg_dataplane_config *d,
		     struct errbuf *e)
{
	json_t *arr = json_object_get(dp, "cpus"), *v;
	size_t i, n;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return fail(e, "dataplane.cpus",
			    "must be an array of CPU numbers");
	n = json_array_size(arr);
	if (n > HG_MAX_WORKERS)
		return fail(e, "dataplane.cpus", "at most %d CPUs",
			    HG_MAX_WORKERS);
	if (n != d->workers)
		return fail(e, "dataplane.cpus",
			    "has %zu entries but workers is %u "
			    "(one CPU per worker)", n, d->workers);
	json_array_foreach(arr, i, v) {
		if (load_cpu(v, i, d, e) < 0)
			return -1;
	}
	d->n_cpus = (unsigned)n;
	return 0;
}

static int load_dataplane(json_t *root, struct hg_dataplane_config *d,
			  struct errbuf *e)
{
	json_t *dp;

	if (load_optional(root, "dataplane", &dataplane_section, d, &dp,
			  e) < 0)
		return -1;
	if (load_cpus(dp, d, e) < 0)
		return -1;
	if (d->idle_sleep_max_us < d->idle_sleep_min_us)
		return fail(e, "dataplane.idle_sleep_max_us",
			    "must not be less than idle_sleep_min_us (%u)",
			    d->idle_sleep_min_us);
	return 0;
}

/* ------------------------------------------------------------------ */
/* ports[] */

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static unsigned hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	return (unsigned)((c | 0x20) - 'a' + 10);
}

/* DDDD:BB:DD.F in hex, the full form; the device number is 5 bits and
 * the function 3, as in the PCI spec. */
static bool pci_valid(const char *s)
{
	static const char shape[] = "xxxx:xx:xx.x";
	size_t i;

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'x' ? !is_hex(s[i]) : s[i] != shape[i])
			return false;
	return hex_val(s[8]) * 16 + hex_val(s[9]) <= 0x1f &&
	       hex_val(s[11]) <= 7;
}

/* A DPDK vdev spec, "net_<driver><n>[,args]". Only printable ASCII: it
 * ends up on the EAL command line and in logs. */
static int check_device(const char *s, const char *path, struct errbuf *e)
{
	const char *p;

	if (s[0] == '\0')
		return fail(e, path, "must not be empty");
	if (strncmp(s, "net_", 4) != 0 || s[4] == '\0' || s[4] == ',')
		return fail(e, path, "must be a DPDK vdev spec "
			    "\"net_<driver>[,args]\"");
	for (p = s; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			return fail(e, path, "must be printable ASCII");
	return 0;
}

static int load_port_dev(json_t *o, const char *parent,
			 struct hg_port_config *p, struct errbuf *e)
{
	bool has_dev = json_object_get(o, "device") != NULL;
	bool has_pci = json_object_get(o, "pci") != NULL;
	char path[PATH_LEN];

	if (has_dev == has_pci)
		return fail(e, parent, "exactly one of device or pci is "
			    "required");
	if (has_dev) {
		join(path, sizeof(path), parent, "device");
		if (get_required_str(o, "device", parent, p->device,
				     sizeof(p->device), e) < 0)
			return -1;
		return check_device(p->device, path, e);
	}
	join(path, sizeof(path), parent, "pci");
	if (get_required_str(o, "pci", parent, p->pci, sizeof(p->pci), e) < 0)
		return -1;
	if (!pci_valid(p->pci))
		return fail(e, path, "not a PCI address DDDD:BB:DD.F (hex)");
	return 0;
}

/* The subnet's first and last addresses are not host addresses, except in
 * a /31, where RFC 3021 makes both usable (it has no broadcast). */
static const char *reserved_in_subnet(uint32_t a, uint8_t len)
{
	uint32_t mask = hg_ipv4_mask(len);

	if (len >= 31)
		return NULL;
	if ((a & ~mask) == 0)
		return "network";
	if ((a & ~mask) == ~mask)
		return "broadcast";
	return NULL;
}

static int load_port_address(json_t *o, const char *parent,
			     struct hg_port_config *p, struct errbuf *e)
{
	char path[PATH_LEN], a[16];
	const char *s = NULL, *what;
	int rc;

	join(path, sizeof(path), parent, "address");
	rc = get_str(o, "address", path, &s, e);
	if (rc <= 0)
		return rc < 0 ? -1 : fail(e, path, "required");
	if (!hg_ipv4_parse_prefix(s, &p->addr, &p->prefix_len))
		return fail(e, path, "not an IPv4 prefix a.b.c.d/len");
	hg_ipv4_format(p->addr, a);
	if (p->prefix_len < 1 || p->prefix_len > 31)
		return fail(e, path, "prefix length must be between 1 and 31");
	if (!hg_ipv4_is_unicast(p->addr))
		return fail(e, path, "%s is not a unicast address", a);
	what = reserved_in_subnet(p->addr, p->prefix_len);
	if (what != NULL)
		return fail(e, path, "%s is the %s address of its subnet", a,
			    what);
	return 0;
}

/* After the address: the gateway must be a host on the port's subnet. */
static int load_port_gateway(json_t *o, const char *parent,
			     struct hg_port_config *p, struct errbuf *e)
{
	uint32_t mask = hg_ipv4_mask(p->prefix_len), gw;
	char path[PATH_LEN], g[16], net[16];
	const char *s = NULL, *what;
	int rc;

	join(path, sizeof(path), parent, "gateway");
	rc = get_str(o, "gateway", path, &s, e);
	if (rc <= 0)
		return rc;
	if (!hg_ipv4_parse(s, &gw))
		return fail(e, path, "not an IPv4 address a.b.c.d");
	hg_ipv4_format(gw, g);
	hg_ipv4_format(p->addr & mask, net);
	if ((gw & mask) != (p->addr & mask))
		return fail(e, path, "%s is outside %s/%u", g, net,
			    p->prefix_len);
	if (gw == p->addr)
		return fail(e, path, "%s is the port's own address", g);
	what = reserved_in_subnet(gw, p->prefix_len);
	if (what != NULL)
		return fail(e, path, "%s is the %s address of %s/%u", g, what,
			    net, p->prefix_len);
	if (!hg_ipv4_is_unicast(gw))
		return fail(e, path, "%s is not a unicast address", g);
	p->gateway = gw;
	return 0;
}

static int load_port(json_t *o, const char *path, struct hg_port_config *p,
		     struct errbuf *e)
{
	char name_path[PATH_LEN];

	if (!json_is_object(o))
		return fail(e, path, "must be an object");
	if (load_section(o, path, &port_section, p, e) < 0)
		return -1;
	join(name_path, sizeof(name_path), path, "name");
	if (get_required_str(o, "name", path, p->name, sizeof(p->name),
			     e) < 0 ||
	    check_name(p->name, false, name_path, e) < 0)
		return -1;
	if (load_port_dev(o, path, p, e) < 0)
		return -1;
	if (load_port_address(o, path, p, e) < 0)
		return -1;
	return load_port_gateway(o, path, p, e);
}

/* Length of the vdev's name, the part before its arguments: two vdevs
 * with the same name are the same device to the EAL. */
static size_t vdev_name_len(const char *dev)
{
	return strcspn(dev, ",");
}

static bool same_device(const struct hg_port_config *a,
			const struct hg_port_config *b)
{
	size_t n = vdev_name_len(a->device);

	if (a->pci[0] != '\0')
		return strcasecmp(a->pci, b->pci) == 0;
	return b->device[0] != '\0' && n == vdev_name_len(b->device) &&
	       strncmp(a->device, b->device, n) == 0;
}

/* Port i against ports 0..i-1, which are valid already. */
static int check_port_unique(const struct hg_config *c, size_t i,
			     const char *path, struct errbuf *e)
{
	const struct hg_port_config *p = &c->ports[i], *q;
	char fpath[PATH_LEN], a[16], b[16];
	uint8_t len;
	size_t j;

	for (j = 0; j < i; j++) {
		q = &c->ports[j];
		join(fpath, sizeof(fpath), path, "name");
		if (strcmp(p->name, q->name) == 0)
			return fail(e, fpath, "duplicate port name \"%s\"",
				    p->name);
		join(fpath, sizeof(fpath), path, p->pci[0] ? "pci" : "device");
		if (same_device(p, q))
			return fail(e, fpath, "same device as ports[%zu]", j);
		/* Subnets overlap iff they agree on the shorter prefix. */
		len = p->prefix_len < q->prefix_len ? p->prefix_len
						    : q->prefix_len;
		if ((p->addr & hg_ipv4_mask(len)) !=
		    (q->addr & hg_ipv4_mask(len)))
			continue;
		hg_ipv4_format(p->addr & hg_ipv4_mask(p->prefix_len), a);
		hg_ipv4_format(q->addr & hg_ipv4_mask(q->prefix_len), b);
		join(fpath, sizeof(fpath), path, "address");
		return fail(e, fpath, "subnet %s/%u overlaps ports[%zu] "
			    "(%s/%u)", a, p->prefix_len, j, b, q->prefix_len);
	}
	return 0;
}

static int load_ports(json_t *root, struct hg_config *c, struct errbuf *e)
{
	json_t *arr = json_object_get(root, "ports"), *o;
	char path[PATH_LEN];
	size_t i, n;

	if (arr == NULL)
		return fail(e, "ports", "required");
	if (!json_is_array(arr))
		return fail(e, "ports", "must be an array of port objects");
	n = json_array_size(arr);
	if (n < 1 || n > HG_MAX_PORTS)
		return fail(e, "ports", "must have between 1 and %d ports",
			    HG_MAX_PORTS);
	json_array_foreach(arr, i, o) {
		snprintf(path, sizeof(path), "ports[%zu]", i);
		if (load_port(o, path, &c->ports[i], e) < 0 ||
		    check_port_unique(c, i, path, e) < 0)
			return -1;
	}
	c->n_ports = (unsigned)n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* channel, control */

static int load_channel(json_t *root, struct hg_config *c, struct errbuf *e)
{
	struct hg_channel_config *ch = &c->channel;
	const char *s = NULL;
	json_t *o;
	int rc;

	if (load_optional(root, "channel", &channel_section, ch, &o, e) < 0)
		return -1;
	rc = get_str(o, "name", "channel.name", &s, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		/* Fits: the instance name is at most 31 characters. */
		snprintf(ch->name, sizeof(ch->name), CHANNEL_PREFIX "%s",
			 c->instance);
		return 0;
	}
	if (copy_str(ch->name, sizeof(ch->name), s, "channel.name", e) < 0 ||
	    check_name(ch->name, true, "channel.name", e) < 0)
		return -1;
	/* It becomes /dev/shm/<name>: "." and ".." are directories. */
	if (strcmp(ch->name, ".") == 0 || strcmp(ch->name, "..") == 0)
		return fail(e, "channel.name", "must not be \".\" or \"..\"");
	return 0;
}

static int load_control(json_t *root, struct hg_config *c, struct errbuf *e)
{
	struct hg_control_config *k = &c->control;
	const char *s = DEFAULT_SOCKET;
	json_t *o;
	int rc;

	if (load_optional(root, "control", &control_section, k, &o, e) < 0)
		return -1;
	rc = get_str(o, "socket", "control.socket", &s, e);
	if (rc < 0)
		return -1;
	if (s[0] != '/')
		return fail(e, "control.socket", "must be an absolute path");
	/* sun_path holds HG_PATH_MAX bytes, the NUL included. */
	return copy_str(k->socket, sizeof(k->socket), s, "control.socket", e);
}

/* ------------------------------------------------------------------ */
/* tcp, listeners */

static int load_tcp(json_t *root, struct hg_config *c, struct errbuf *e)
{
	json_t *o;

	if (load_optional(root, "tcp", &tcp_section, &c->tcp, &o, e) < 0)
		return -1;
	if (c->tcp.rto_max_ms < c->tcp.rto_min_ms)
		return fail(e, "tcp.rto_max_ms",
			    "must be at least tcp.rto_min_ms (%u)",
			    c->tcp.rto_min_ms);
	return 0;
}

/* One of `names` (NULL-terminated) for obj[key]; `*dst` keeps its default
 * when the key is absent. */
static int get_enum(json_t *obj, const char *key, const char *parent,
		    const char *const *names, uint8_t *dst, struct errbuf *e)
{
	char path[PATH_LEN];
	const char *s = NULL;
	int rc;

	join(path, sizeof(path), parent, key);
	rc = get_str(obj, key, path, &s, e);
	if (rc <= 0)
		return rc;
	for (uint8_t i = 0; names[i] != NULL; i++) {
		if (names[i][0] != '\0' && strcmp(s, names[i]) == 0) {
			*dst = i;
			return 0;
		}
	}
	return fail(e, path, "unknown value \"%.32s\"", s);
}

static const char *const service_names[] = {"", "echo", "discard", "source",
					    NULL};
static const char *const cc_names[] = {"newreno", "cubic", "bbr", NULL};
static const char *const syncookie_names[] = {"auto", "always", "never",
					      NULL};

static bool owned_address(const struct hg_config *c, uint32_t a)
{
	for (unsigned i = 0; i < c->n_ports; i++)
		if (c->ports[i].addr == a)
			return true;
	return false;
}

static int load_listener(json_t *o, const char *path, struct hg_config *c,
			 struct hg_listener_config *l, struct errbuf *e)
{
	char fpath[PATH_LEN];
	const char *s = NULL;
	json_t *v;

	if (!json_is_object(o))
		return fail(e, path, "must be an object");
	if (load_section(o, path, &listener_section, l, e) < 0)
		return -1;
	join(fpath, sizeof(fpath), path, "name");
	if (get_required_str(o, "name", path, l->name, sizeof(l->name), e) <
		    0 ||
	    check_name(l->name, false, fpath, e) < 0)
		return -1;
	join(fpath, sizeof(fpath), path, "address");
	if (get_str(o, "address", fpath, &s, e) <= 0)
		return s == NULL ? fail(e, fpath, "required") : -1;
	if (!hg_ipv4_parse(s, &l->addr))
		return fail(e, fpath, "not an IPv4 address a.b.c.d");
	if (!owned_address(c, l->addr))
		return fail(e, fpath, "%.16s is not a port's address", s);
	if (json_object_get(o, "port") == NULL) {
		join(fpath, sizeof(fpath), path, "port");
		return fail(e, fpath, "required");
	}
	if (json_object_get(o, "service") == NULL) {
		join(fpath, sizeof(fpath), path, "service");
		return fail(e, fpath, "required");
	}
	l->cc = HG_CC_KIND_CUBIC;
	if (get_enum(o, "service", path, service_names, &l->service, e) < 0 ||
	    get_enum(o, "cc", path, cc_names, &l->cc, e) < 0 ||
	    get_enum(o, "syncookies", path, syncookie_names, &l->syncookies,
		     e) < 0)
		return -1;
	v = json_object_get(o, "source_bytes");
	if (v != NULL) {
		join(fpath, sizeof(fpath), path, "source_bytes");
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return fail(e, fpath, "must be a non-negative integer");
		if (l->service != HG_SERVICE_SOURCE)
			return fail(e, fpath, "only for service \"source\"");
		l->source_bytes = (uint64_t)json_integer_value(v);
	}
	return 0;
}

static int load_listeners(json_t *root, struct hg_config *c,
			  struct errbuf *e)
{
	json_t *arr = json_object_get(root, "listeners"), *o;
	char path[PATH_LEN];
	size_t i, j;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return fail(e, "listeners", "must be an array");
	if (json_array_size(arr) > HG_MAX_LISTENERS)
		return fail(e, "listeners", "at most %d listeners",
			    HG_MAX_LISTENERS);
	json_array_foreach(arr, i, o) {
		struct hg_listener_config *l = &c->listeners[i];

		snprintf(path, sizeof(path), "listeners[%zu]", i);
		if (load_listener(o, path, c, l, e) < 0)
			return -1;
		for (j = 0; j < i; j++) {
			const struct hg_listener_config *q = &c->listeners[j];
			char fpath[PATH_LEN];

			join(fpath, sizeof(fpath), path, "name");
			if (strcmp(l->name, q->name) == 0)
				return fail(e, fpath,
					    "duplicate listener name \"%s\"",
					    l->name);
			join(fpath, sizeof(fpath), path, "port");
			if (l->addr == q->addr && l->port == q->port)
				return fail(e, fpath, "same address and port "
					    "as listeners[%zu]", j);
		}
	}
	c->n_listeners = (unsigned)json_array_size(arr);
	return 0;
}

/* ------------------------------------------------------------------ */
/* relay, virtual servers */

static const char *const policy_names[] = {"round_robin", "least_conn",
					   NULL};
static const char *const handler_names[] = {"relay", "ica", NULL};

static bool routable(const struct hg_config *c, uint32_t a)
{
	for (unsigned i = 0; i < c->n_ports; i++) {
		const struct hg_port_config *p = &c->ports[i];
		uint32_t m = hg_ipv4_mask(p->prefix_len);

		if ((a & m) == (p->addr & m) || p->gateway != 0)
			return true;
	}
	return false;
}

static int load_backend(json_t *o, const char *path, const struct hg_config *c,
			struct hg_backend_config *b, struct errbuf *e)
{
	char fpath[PATH_LEN];
	const char *s = NULL;

	if (!json_is_object(o))
		return fail(e, path, "must be an object");
	if (load_section(o, path, &backend_section, b, e) < 0)
		return -1;
	join(fpath, sizeof(fpath), path, "address");
	if (get_str(o, "address", fpath, &s, e) <= 0)
		return s == NULL ? fail(e, fpath, "required") : -1;
	if (!hg_ipv4_parse(s, &b->addr) || !hg_ipv4_is_unicast(b->addr))
		return fail(e, fpath, "not a unicast IPv4 address a.b.c.d");
	if (owned_address(c, b->addr))
		return fail(e, fpath, "%.16s is the gateway's own address", s);
	if (!routable(c, b->addr))
		return fail(e, fpath, "%.16s is in no port's subnet and no "
			    "port has a gateway", s);
	if (json_object_get(o, "port") == NULL) {
		join(fpath, sizeof(fpath), path, "port");
		return fail(e, fpath, "required");
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* TLS on a virtual server */

static const char *const tls_version_names[] = {"1.2", "1.3", NULL};

static int get_tls_version(json_t *o, const char *key, const char *path,
			   uint16_t def, uint16_t *dst, struct errbuf *e)
{
	uint8_t i = 0;

	*dst = def;
	if (json_object_get(o, key) == NULL)
		return 0;
	if (get_enum(o, key, path, tls_version_names, &i, e) < 0)
		return -1;
	*dst = i == 0 ? HG_TLS_V12 : HG_TLS_V13;
	return 0;
}


/* "alpn": ["h2", "http/1.1"] is kept as "h2,http/1.1". */
static int load_alpn(json_t *o, const char *parent, char *alpn, size_t size,
		     struct errbuf *e)
{
	json_t *arr = json_object_get(o, "alpn"), *v;
	char path[PATH_LEN];
	size_t i, used = 0;

	join(path, sizeof(path), parent, "alpn");
	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return fail(e, path, "must be an array of protocol names");
	json_array_foreach(arr, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		size_t n = s != NULL ? strlen(s) : 0;

		if (s == NULL || n == 0 || n > 255 ||
		    n != json_string_length(v) || strchr(s, ',') != NULL)
			return fail(e, path, "entry %zu: a protocol name of "
				    "1 to 255 characters without commas", i);
		if (used + n + 2 > size)
			return fail(e, path, "too long");
		if (used > 0)
			alpn[used++] = ',';
		memcpy(alpn + used, s, n);
		used += n;
	}
	return 0;
}

/* What both ends' TLS settings have: versions, suites, ALPN. The string
 * arrays are HG_TLS_LIST_MAX bytes. */
static int load_tls_common(json_t *o, const char *path, uint16_t *min,
			   uint16_t *max, char *suites, char *ciphers,
			   char *alpn, struct errbuf *e)
{
	char fpath[PATH_LEN];

	if (get_tls_version(o, "min_version", path, HG_TLS_V12, min, e) < 0 ||
	    get_tls_version(o, "max_version", path, HG_TLS_V13, max, e) < 0)
		return -1;
	if (*min > *max) {
		join(fpath, sizeof(fpath), path, "min_version");
		return fail(e, fpath, "above max_version");
	}
	if (get_opt_str(o, "ciphersuites", path, suites, HG_TLS_LIST_MAX, e) <
		    0 ||
	    get_opt_str(o, "ciphers", path, ciphers, HG_TLS_LIST_MAX, e) < 0)
		return -1;
	return load_alpn(o, path, alpn, HG_TLS_LIST_MAX, e);
}

static int load_tls_cert(json_t *o, const char *path,
			 struct hg_tls_cert_config *c, struct errbuf *e)
{
	if (!json_is_object(o))
		return fail(e, path, "must be an object with cert and key");
	if (check_keys(o, path, &tls_cert_section, e) < 0)
		return -1;
	if (get_required_str(o, "cert", path, c->cert, sizeof(c->cert), e) <
		    0 ||
	    get_required_str(o, "key", path, c->key, sizeof(c->key), e) < 0)
		return -1;
	return 0;
}

static int load_tls(json_t *o, const char *parent, struct hg_tls_config *t,
		    struct errbuf *e)
{
	char path[PATH_LEN], cpath[PATH_LEN];
	json_t *arr, *c;
	size_t i;

	join(path, sizeof(path), parent, "tls");
	if (!json_is_object(o))
		return fail(e, path, "must be an object");
	if (load_section(o, path, &tls_section, t, e) < 0)
		return -1;
	t->enabled = true;
	join(cpath, sizeof(cpath), path, "certificates");
	arr = json_object_get(o, "certificates");
	if (arr == NULL)
		return fail(e, cpath, "required");
	if (!json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > HG_TLS_MAX_CERTS)
		return fail(e, cpath, "must be an array of 1 to %d "
			    "certificates", HG_TLS_MAX_CERTS);
	json_array_foreach(arr, i, c) {
		char epath[PATH_LEN];

		if (snprintf(epath, sizeof(epath), "%s[%zu]", cpath, i) >=
		    (int)sizeof(epath))
			return fail(e, cpath, "path too long");
		if (load_tls_cert(c, epath, &t->certs[i], e) < 0)
			return -1;
	}
	t->n_certs = (unsigned)json_array_size(arr);
	if (load_tls_common(o, path, &t->min_version, &t->max_version,
			    t->ciphersuites, t->ciphers, t->alpn, e) < 0)
		return -1;
	return get_opt_str(o, "groups", path, t->groups, sizeof(t->groups),
			   e) < 0 ? -1 : 0;
}

static int load_backend_tls(json_t *o, const char *parent,
			    struct hg_backend_tls_config *t, struct errbuf *e)
{
	char path[PATH_LEN];

	join(path, sizeof(path), parent, "backend_tls");
	if (!json_is_object(o))
		return fail(e, path, "must be an object");
	if (load_section(o, path, &backend_tls_section, t, e) < 0)
		return -1;
	t->enabled = true;
	if (load_tls_common(o, path, &t->min_version, &t->max_version,
			    t->ciphersuites, t->ciphers, t->alpn, e) < 0 ||
	    get_opt_str(o, "ca", path, t->ca, sizeof(t->ca), e) < 0 ||
	    get_opt_str(o, "server_name", path, t->server_name,
			sizeof(t->server_name), e) < 0)
		return -1;
	return 0;
}

static int load_vs(json_t *o, const char *path, struct hg_config *c,
		   struct hg_vs_config *v, struct errbuf *e)
{
	char fpath[PATH_LEN];
	const char *s = NULL;
	json_t *arr, *b;
	size_t i;

	if (!json_is_object(o))
		return fail(e, path, "must be an object");
	if (load_section(o, path, &vs_section, v, e) < 0)
		return -1;
	join(fpath, sizeof(fpath), path, "name");
	if (get_required_str(o, "name", path, v->name, sizeof(v->name), e) <
		    0 ||
	    check_name(v->name, false, fpath, e) < 0)
		return -1;
	join(fpath, sizeof(fpath), path, "address");
	if (get_str(o, "address", fpath, &s, e) <= 0)
		return s == NULL ? fail(e, fpath, "required") : -1;
	if (!hg_ipv4_parse(s, &v->addr))
		return fail(e, fpath, "not an IPv4 address a.b.c.d");
	if (!owned_address(c, v->addr))
		return fail(e, fpath, "%.16s is not a port's address", s);
	join(fpath, sizeof(fpath), path, "port");
	if (json_object_get(o, "port") == NULL)
		return fail(e, fpath, "required");
	v->cc = HG_CC_KIND_CUBIC;
	if (get_enum(o, "policy", path, policy_names, &v->policy, e) < 0 ||
	    get_enum(o, "cc", path, cc_names, &v->cc, e) < 0 ||
	    get_enum(o, "syncookies", path, syncookie_names, &v->syncookies,
		     e) < 0)
		return -1;
	if (get_enum(o, "handler", path, handler_names, &v->handler, e) < 0)
		return -1;
	/* The ica handler relays to the server a ticket names: it needs no
	 * backends (it may have some, unused). */
	join(fpath, sizeof(fpath), path, "backends");
	arr = json_object_get(o, "backends");
	if (arr == NULL && v->handler != HG_HANDLER_ICA)
		return fail(e, fpath, "required");
	if (arr != NULL &&
	    (!json_is_array(arr) ||
	     json_array_size(arr) < (v->handler == HG_HANDLER_ICA ? 0 : 1) ||
	     json_array_size(arr) > HG_VS_MAX_BACKENDS))
		return fail(e, fpath, "must be an array of %d to %d backends",
			    v->handler == HG_HANDLER_ICA ? 0 : 1,
			    HG_VS_MAX_BACKENDS);
	json_array_foreach(arr, i, b) {
		char bpath[PATH_LEN];

		if (snprintf(bpath, sizeof(bpath), "%s[%zu]", fpath, i) >=
		    (int)sizeof(bpath))
			return fail(e, fpath, "path too long");
		if (load_backend(b, bpath, c, &v->backends[i], e) < 0)
			return -1;
	}
	v->n_backends = arr != NULL ? (unsigned)json_array_size(arr) : 0;
	if (json_object_get(o, "tls") != NULL &&
	    load_tls(json_object_get(o, "tls"), path, &v->tls, e) < 0)
		return -1;
	if (v->handler == HG_HANDLER_ICA && !v->tls.enabled) {
		join(fpath, sizeof(fpath), path, "handler");
		return fail(e, fpath, "\"ica\" needs tls");
	}
	if (json_object_get(o, "backend_tls") != NULL) {
		if (!v->tls.enabled) {
			join(fpath, sizeof(fpath), path, "backend_tls");
			return fail(e, fpath, "needs tls (client side TLS)");
		}
		return load_backend_tls(json_object_get(o, "backend_tls"),
					path, &v->backend_tls, e);
	}
	return 0;
}

/* Names and (address, port) are unique across listeners and virtual
 * servers. */
static int check_vs_unique(const struct hg_config *c, size_t i,
			   const char *path, struct errbuf *e)
{
	const struct hg_vs_config *v = &c->vs[i];
	char fpath[PATH_LEN];

	for (size_t j = 0; j < i + c->n_listeners; j++) {
		const char *name = j < i ? c->vs[j].name
					 : c->listeners[j - i].name;
		uint32_t addr = j < i ? c->vs[j].addr : c->listeners[j - i].addr;
		uint16_t port = j < i ? c->vs[j].port : c->listeners[j - i].port;

		join(fpath, sizeof(fpath), path, "name");
		if (strcmp(v->name, name) == 0)
			return fail(e, fpath, "duplicate name \"%s\"", name);
		join(fpath, sizeof(fpath), path, "port");
		if (v->addr == addr && v->port == port)
			return fail(e, fpath, "address and port already used "
				    "by \"%s\"", name);
	}
	return 0;
}

static int load_sta(json_t *root, struct hg_config *c, struct errbuf *e)
{
	struct hg_sta_config *t = &c->sta;
	const char *id = "STA0HOPGATE";
	size_t n;
	json_t *o;

	if (load_optional(root, "sta", &sta_section, t, &o, e) < 0)
		return -1;
	if (o != NULL && get_str(o, "authority_id", "sta.authority_id", &id,
				 e) < 0)
		return -1;
	n = strlen(id);
	if (n < 4 || n > 19 || strncmp(id, "STA", 3) != 0 ||
	    strspn(id + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n - 3)
		return fail(e, "sta.authority_id",
			    "\"STA\" followed by 1 to 16 of A-Z 0-9");
	memcpy(t->authority_id, id, n + 1);
	return 0;
}

static int load_virtual_servers(json_t *root, struct hg_config *c,
				struct errbuf *e)
{
	json_t *arr = json_object_get(root, "virtual_servers"), *o, *r;
	char path[PATH_LEN];
	size_t i;

	if (load_optional(root, "relay", &relay_section, &c->relay, &r, e) <
		    0 ||
	    load_sta(root, c, e) < 0)
		return -1;
	if (arr == NULL)
		return 0;
	if (!json_is_array(arr))
		return fail(e, "virtual_servers", "must be an array");
	if (json_array_size(arr) > HG_MAX_VS)
		return fail(e, "virtual_servers", "at most %d virtual servers",
			    HG_MAX_VS);
	json_array_foreach(arr, i, o) {
		snprintf(path, sizeof(path), "virtual_servers[%zu]", i);
		if (load_vs(o, path, c, &c->vs[i], e) < 0 ||
		    check_vs_unique(c, i, path, e) < 0)
			return -1;
	}
	c->n_vs = (unsigned)json_array_size(arr);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Loading */

static int load_root(json_t *root, struct hg_config *c, struct errbuf *e)
{
	json_t *arp;

	if (!json_is_object(root))
		return fail(e, "top level", "must be a JSON object");
	if (check_keys(root, "", &top_section, e) < 0 ||
	    load_instance(root, c, e) < 0 ||
	    load_dataplane(root, &c->dataplane, e) < 0 ||
	    load_ports(root, c, e) < 0 ||
	    load_optional(root, "arp", &arp_section, &c->arp, &arp, e) < 0 ||
	    load_channel(root, c, e) < 0 || load_control(root, c, e) < 0 ||
	    load_tcp(root, c, e) < 0 || load_listeners(root, c, e) < 0 ||
	    load_virtual_servers(root, c, e) < 0)
		return -1;
	/* Users, resources and directories: the control plane's alone
	 * (controlplane/access.c checks them); the data plane never keeps
	 * them, and the running config shown by "config" leaves them out. */
	if (json_object_get(root, "access") != NULL &&
	    !json_is_object(json_object_get(root, "access")))
		return fail(e, "access", "must be an object");
	return 0;
}

int hg_config_load_string(const char *json, struct hg_config *out, char *err,
			  size_t errlen)
{
	struct errbuf e = { err, errlen };
	struct hg_config c;
	json_error_t jerr;
	json_t *root;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (json == NULL)
		return fail(&e, "config", "no text");
	/* DECODE_ANY: a scalar top level gets our clearer error below.
	 * REJECT_DUPLICATES: a repeated key is a mistake, not an override. */
	root = json_loads(json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			  &jerr);
	if (root == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "JSON syntax error at line %d, "
				 "column %d: %s", jerr.line, jerr.column,
				 jerr.text);
		return -1;
	}
	/* Zeroed first so padding and string tails compare equal (memcmp). */
	memset(&c, 0, sizeof(c));
	rc = load_root(root, &c, &e);
	json_decref(root);
	if (rc == 0)
		memcpy(out, &c, sizeof(c));
	return rc;
}

/* Reads the whole file, NUL-terminated, into a malloc'd *text. */
static int read_file(const char *path, char **text, char *msg, size_t len)
{
	size_t n = 0;
	ssize_t r;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, len, "cannot open: %s", strerror(errno));
		return -1;
	}
	/* One byte beyond the limit tells "too big" from "exactly 1 MiB". */
	buf = malloc(CONFIG_FILE_MAX + 2);
	if (buf == NULL) {
		close(fd);
		snprintf(msg, len, "out of memory");
		return -1;
	}
	do {
		r = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n);
		if (r > 0)
			n += (size_t)r;
	} while ((r > 0 && n <= CONFIG_FILE_MAX) || (r < 0 && errno == EINTR));
	if (r < 0)
		snprintf(msg, len, "cannot read: %s", strerror(errno));
	else if (n > CONFIG_FILE_MAX)
		snprintf(msg, len, "larger than %d bytes, refused",
			 CONFIG_FILE_MAX);
	else if (memchr(buf, '\0', n) != NULL)
		snprintf(msg, len, "contains a NUL byte");
	close(fd);
	if (r < 0 || n > CONFIG_FILE_MAX || memchr(buf, '\0', n) != NULL) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*text = buf;
	return 0;
}

int hg_config_load_file(const char *path, struct hg_config *out, char *err,
			size_t errlen)
{
	char msg[512];
	char *text;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "config: no file name");
		return -1;
	}
	msg[0] = '\0';
	rc = read_file(path, &text, msg, sizeof(msg));
	if (rc == 0) {
		rc = hg_config_load_string(text, out, msg, sizeof(msg));
		free(text);
	}
	/* Every error names the file, as a compiler would. */
	if (rc < 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", path, msg);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Dumping */

/* json_object_set_new, remembering failure instead of checking each. It
 * takes value's reference even on failure, and accepts a NULL object or
 * value (an earlier allocation failure), so nothing leaks. */
static void set(json_t *obj, const char *key, json_t *value, bool *ok)
{
	if (json_object_set_new(obj, key, value) < 0)
		*ok = false;
}

static void emit_fields(json_t *obj, const struct section *sec,
			const void *base, bool *ok)
{
	const struct field *f;
	const char *p;
	size_t i;

	for (i = 0; i < sec->n; i++) {
		f = &sec->fields[i];
		p = (const char *)base + f->off;
		if (f->kind == K_BOOL)
			set(obj, f->key, json_boolean(*(const bool *)p), ok);
		else if (f->kind == K_U16)
			set(obj, f->key,
			    json_integer(*(const uint16_t *)(const void *)p),
			    ok);
		else if (f->kind == K_UINT)
			set(obj, f->key,
			    json_integer(*(const unsigned *)(const void *)p),
			    ok);
	}
}

static json_t *dump_dataplane(const struct hg_dataplane_config *d, bool *ok)
{
	json_t *o = json_object(), *cpus;
	unsigned i, n = d->n_cpus;

	emit_fields(o, &dataplane_section, d, ok);
	if (n == 0)
		return o;
	cpus = json_array();
	if (n > HG_MAX_WORKERS)
		n = HG_MAX_WORKERS;
	for (i = 0; i < n; i++)
		if (cpus == NULL ||
		    json_array_append_new(cpus, json_integer(d->cpus[i])) < 0)
			*ok = false;
	set(o, "cpus", cpus, ok);
	return o;
}

static json_t *dump_port(const struct hg_port_config *p, bool *ok)
{
	json_t *o = json_object();
	char a[16], pfx[24];

	set(o, "name", json_string(p->name), ok);
	if (p->pci[0] != '\0')
		set(o, "pci", json_string(p->pci), ok);
	else
		set(o, "device", json_string(p->device), ok);
	hg_ipv4_format(p->addr, a);
	snprintf(pfx, sizeof(pfx), "%s/%u", a, p->prefix_len);
	set(o, "address", json_string(pfx), ok);
	if (p->gateway != 0) {
		hg_ipv4_format(p->gateway, a);
		set(o, "gateway", json_string(a), ok);
	}
	emit_fields(o, &port_section, p, ok);
	return o;
}

static json_t *dump_ports(const struct hg_config *cfg, bool *ok)
{
	json_t *arr = json_array();
	unsigned i, n = cfg->n_ports;

	if (n > HG_MAX_PORTS)
		n = HG_MAX_PORTS;
	for (i = 0; i < n; i++)
		if (arr == NULL ||
		    json_array_append_new(arr, dump_port(&cfg->ports[i],
							 ok)) < 0)
			*ok = false;
	return arr;
}

static json_t *dump_simple(const struct section *sec, const void *base,
			   const char *key, const char *value, bool *ok)
{
	json_t *o = json_object();

	if (key != NULL)
		set(o, key, json_string(value), ok);
	emit_fields(o, sec, base, ok);
	return o;
}

static json_t *dump_listeners(const struct hg_config *cfg, bool *ok)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < cfg->n_listeners && i < HG_MAX_LISTENERS;
	     i++) {
		const struct hg_listener_config *l = &cfg->listeners[i];
		json_t *o = json_object();
		char a[16];

		set(o, "name", json_string(l->name), ok);
		hg_ipv4_format(l->addr, a);
		set(o, "address", json_string(a), ok);
		set(o, "service", json_string(service_names[l->service]), ok);
		set(o, "cc", json_string(cc_names[l->cc]), ok);
		set(o, "syncookies",
		    json_string(syncookie_names[l->syncookies]), ok);
		if (l->service == HG_SERVICE_SOURCE)
			set(o, "source_bytes",
			    json_integer((json_int_t)l->source_bytes), ok);
		emit_fields(o, &listener_section, l, ok);
		if (arr == NULL || json_array_append_new(arr, o) < 0)
			*ok = false;
	}
	return arr;
}

static json_t *alpn_array(const char *p, bool *ok)
{
	json_t *alpn = json_array();

	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		if (alpn == NULL ||
		    json_array_append_new(alpn, json_stringn(p, n)) < 0)
			*ok = false;
		p += n + (p[n] == ',');
	}
	return alpn;
}

static json_t *dump_tls(const struct hg_tls_config *t, bool *ok)
{
	json_t *o = json_object(), *certs = json_array();

	emit_fields(o, &tls_section, t, ok);
	for (unsigned i = 0; i < t->n_certs && i < HG_TLS_MAX_CERTS; i++) {
		json_t *c = json_object();

		set(c, "cert", json_string(t->certs[i].cert), ok);
		set(c, "key", json_string(t->certs[i].key), ok);
		if (certs == NULL || json_array_append_new(certs, c) < 0)
			*ok = false;
	}
	set(o, "certificates", certs, ok);
	set(o, "min_version", json_string(t->min_version == HG_TLS_V13
						  ? "1.3" : "1.2"), ok);
	set(o, "max_version", json_string(t->max_version == HG_TLS_V13
						  ? "1.3" : "1.2"), ok);
	set(o, "ciphersuites", json_string(t->ciphersuites), ok);
	set(o, "ciphers", json_string(t->ciphers), ok);
	set(o, "groups", json_string(t->groups), ok);
	set(o, "alpn", alpn_array(t->alpn, ok), ok);
	return o;
}

static json_t *dump_backend_tls(const struct hg_backend_tls_config *t,
				bool *ok)
{
	json_t *o = json_object();

	emit_fields(o, &backend_tls_section, t, ok);
	set(o, "ca", json_string(t->ca), ok);
	set(o, "server_name", json_string(t->server_name), ok);
	set(o, "min_version", json_string(t->min_version == HG_TLS_V13
						  ? "1.3" : "1.2"), ok);
	set(o, "max_version", json_string(t->max_version == HG_TLS_V13
						  ? "1.3" : "1.2"), ok);
	set(o, "ciphersuites", json_string(t->ciphersuites), ok);
	set(o, "ciphers", json_string(t->ciphers), ok);
	set(o, "alpn", alpn_array(t->alpn, ok), ok);
	return o;
}

static json_t *dump_vs(const struct hg_config *cfg, bool *ok)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < cfg->n_vs && i < HG_MAX_VS; i++) {
		const struct hg_vs_config *v = &cfg->vs[i];
		json_t *o = json_object(), *bs = json_array();
		char a[16];

		set(o, "name", json_string(v->name), ok);
		hg_ipv4_format(v->addr, a);
		set(o, "address", json_string(a), ok);
		set(o, "policy", json_string(policy_names[v->policy]), ok);
		set(o, "handler", json_string(handler_names[v->handler]), ok);
		set(o, "cc", json_string(cc_names[v->cc]), ok);
		set(o, "syncookies",
		    json_string(syncookie_names[v->syncookies]), ok);
		emit_fields(o, &vs_section, v, ok);
		for (unsigned j = 0; j < v->n_backends && j < HG_VS_MAX_BACKENDS;
		     j++) {
			json_t *b = json_object();

			hg_ipv4_format(v->backends[j].addr, a);
			set(b, "address", json_string(a), ok);
			emit_fields(b, &backend_section, &v->backends[j], ok);
			if (bs == NULL || json_array_append_new(bs, b) < 0)
				*ok = false;
		}
		set(o, "backends", bs, ok);
		if (v->tls.enabled)
			set(o, "tls", dump_tls(&v->tls, ok), ok);
		if (v->backend_tls.enabled)
			set(o, "backend_tls",
			    dump_backend_tls(&v->backend_tls, ok), ok);
		if (arr == NULL || json_array_append_new(arr, o) < 0)
			*ok = false;
	}
	return arr;
}

char *hg_config_to_json(const struct hg_config *cfg)
{
	json_t *root = json_object();
	bool ok = root != NULL;
	char *s = NULL;

	set(root, "instance", json_string(cfg->instance), &ok);
	set(root, "dataplane", dump_dataplane(&cfg->dataplane, &ok), &ok);
	set(root, "ports", dump_ports(cfg, &ok), &ok);
	set(root, "arp", dump_simple(&arp_section, &cfg->arp, NULL, NULL,
				     &ok), &ok);
	set(root, "channel", dump_simple(&channel_section, &cfg->channel,
					 "name", cfg->channel.name, &ok),
	    &ok);
	set(root, "control", dump_simple(&control_section, &cfg->control,
					 "socket", cfg->control.socket, &ok),
	    &ok);
	set(root, "tcp", dump_simple(&tcp_section, &cfg->tcp, NULL, NULL,
				     &ok), &ok);
	set(root, "listeners", dump_listeners(cfg, &ok), &ok);
	set(root, "relay", dump_simple(&relay_section, &cfg->relay, NULL, NULL,
				       &ok), &ok);
	set(root, "sta", dump_simple(&sta_section, &cfg->sta, "authority_id",
				     cfg->sta.authority_id, &ok), &ok);
	set(root, "virtual_servers", dump_vs(cfg, &ok), &ok);
	/* Insertion order is kept (jansson >= 2.8), so the output follows
	 * the schema's order. json_dumps uses malloc: the caller frees. */
	if (ok)
		s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

bool hg_config_has_pci(const struct hg_config *cfg)
{
	unsigned i;

	for (i = 0; i < cfg->n_ports && i < HG_MAX_PORTS; i++)
		if (cfg->ports[i].pci[0] != '\0')
			return true;
	return false;
}
