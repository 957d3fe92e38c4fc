#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "hg_version.h"
#include "pkt.h"

static const struct {
	const char *name;
	const char *help;
} commands[HG_CMD_COUNT] = {
	[HG_CMD_STATUS] = {"status", "versions, uptime, workers, ports, "
				     "channel state"},
	[HG_CMD_STATS] = {"stats", "every counter, gathered from the data "
				   "plane's workers"},
	[HG_CMD_CONFIG] = {"config", "the running configuration"},
	[HG_CMD_HELP] = {"help", "this list"},
	[HG_CMD_CONNECT] = {"connect", "the data plane opens a TCP connection "
				       "to address:port and runs a test "
				       "service (source, echo, discard) on it"},
	[HG_CMD_FLOWS] = {"flows", "relayed flows; filters: vs (name), client "
				   "(address), limit (per worker)"},
	[HG_CMD_KILL] = {"kill", "resets both sides of the flow with this id"},
	[HG_CMD_TICKET] = {"ticket", "an STA ticket for a server (address, "
				     "port; user, resource): single use"},
	[HG_CMD_SESSIONS] = {"sessions", "ICA sessions (user, resource, "
					 "server, since, bytes) and portal "
					 "logins"},
	[HG_CMD_SESSION_KILL] = {"session_kill", "ends the ICA session of "
						 "this flow id (audited)"},
};

static const char *const service_names[] = {"", "echo", "discard", "source",
					    NULL};

static int name_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i] != NULL; i++)
		if (names[i][0] != '\0' && strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* The arguments of "connect"; every other command takes none. */
static int parse_connect(json_t *root, struct hg_tcp_connect_req *c,
			 char *err, size_t errlen)
{
	json_t *addr = json_object_get(root, "address");
	json_t *port = json_object_get(root, "port");
	json_t *svc = json_object_get(root, "service");
	json_t *bytes = json_object_get(root, "bytes");
	json_t *cc = json_object_get(root, "cc");

	memset(c, 0, sizeof(*c));
	c->service = HG_SERVICE_SOURCE;
	c->cc = HG_CC_KIND_CUBIC;
	if (!json_is_string(addr) ||
	    !hg_ipv4_parse(json_string_value(addr), &c->addr) ||
	    !hg_ipv4_is_unicast(c->addr)) {
		snprintf(err, errlen, "\"address\": a unicast IPv4 address "
				      "is required");
		return -1;
	}
	if (!json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 65535) {
		snprintf(err, errlen, "\"port\": an integer 1..65535 is "
				      "required");
		return -1;
	}
	c->port = (uint16_t)json_integer_value(port);
	if (svc != NULL) {
		int i = json_is_string(svc)
				? name_index(service_names,
					     json_string_value(svc))
				: -1;
		if (i < 0) {
			snprintf(err, errlen, "\"service\": source, echo or "
					      "discard");
			return -1;
		}
		c->service = (uint8_t)i;
	}
	if (bytes != NULL) {
		if (!json_is_integer(bytes) || json_integer_value(bytes) < 0) {
			snprintf(err, errlen, "\"bytes\": a non-negative "
					      "integer");
			return -1;
		}
		c->bytes = (uint64_t)json_integer_value(bytes);
	}
	if (cc != NULL) {
		if (!json_is_string(cc) ||
		    (strcmp(json_string_value(cc), "cubic") != 0 &&
		     strcmp(json_string_value(cc), "newreno") != 0 &&
		     strcmp(json_string_value(cc), "bbr") != 0)) {
			snprintf(err, errlen, "\"cc\": cubic, newreno or bbr");
			return -1;
		}
		c->cc = strcmp(json_string_value(cc), "cubic") == 0
				? HG_CC_KIND_CUBIC
			: strcmp(json_string_value(cc), "bbr") == 0
				? HG_CC_KIND_BBR
				: HG_CC_KIND_NEWRENO;
	}
	return 0;
}

static int parse_flows(json_t *root, const struct hg_config *cfg,
		       struct hg_flows_req *q, char *err, size_t errlen)
{
	json_t *vs = json_object_get(root, "vs");
	json_t *client = json_object_get(root, "client");
	json_t *limit = json_object_get(root, "limit");

	memset(q, 0, sizeof(*q));
	q->vs = -1;
	q->limit = HG_FLOWS_PER_REPLY;
	if (vs != NULL) {
		for (unsigned i = 0; cfg && json_is_string(vs) && i < cfg->n_vs;
		     i++)
			if (strcmp(cfg->vs[i].name, json_string_value(vs)) == 0)
				q->vs = (int32_t)i;
		if (q->vs < 0) {
			snprintf(err, errlen, "\"vs\": no such virtual server");
			return -1;
		}
	}
	if (client != NULL &&
	    (!json_is_string(client) ||
	     !hg_ipv4_parse(json_string_value(client), &q->client))) {
		snprintf(err, errlen, "\"client\": an IPv4 address");
		return -1;
	}
	if (limit != NULL) {
		if (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
		    json_integer_value(limit) > (json_int_t)HG_FLOWS_PER_REPLY) {
			snprintf(err, errlen, "\"limit\": 1..%zu",
				 (size_t)HG_FLOWS_PER_REPLY);
			return -1;
		}
		q->limit = (uint32_t)json_integer_value(limit);
	}
	return 0;
}

static int parse_kill(json_t *root, uint64_t *id, char *err, size_t errlen)
{
	json_t *flow = json_object_get(root, "flow");

	/* Ids go past 2^53: strings as well as integers are accepted. */
	if (json_is_integer(flow) && json_integer_value(flow) > 0) {
		*id = (uint64_t)json_integer_value(flow);
		return 0;
	}
	if (json_is_string(flow)) {
		char *end;
		unsigned long long v = strtoull(json_string_value(flow), &end, 0);

		if (*end == '\0' && v != 0 && json_string_length(flow) > 0) {
			*id = v;
			return 0;
		}
	}
	snprintf(err, errlen, "\"flow\": a flow id is required");
	return -1;
}

static int parse_ticket(json_t *root, struct hg_api_ticket *t, char *err,
			size_t errlen)
{
	json_t *addr = json_object_get(root, "address");
	json_t *port = json_object_get(root, "port");
	json_t *user = json_object_get(root, "user");
	json_t *res = json_object_get(root, "resource");

	memset(t, 0, sizeof(*t));
	if (!json_is_string(addr) ||
	    !hg_ipv4_parse(json_string_value(addr), &t->addr) ||
	    !hg_ipv4_is_unicast(t->addr)) {
		snprintf(err, errlen, "\"address\": a unicast IPv4 address "
				      "is required");
		return -1;
	}
	if (!json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 65535) {
		snprintf(err, errlen, "\"port\": 1..65535 is required");
		return -1;
	}
	t->port = (uint16_t)json_integer_value(port);
	if ((user != NULL && (!json_is_string(user) ||
			      json_string_length(user) >= sizeof(t->user))) ||
	    (res != NULL && (!json_is_string(res) ||
			     json_string_length(res) >= sizeof(t->resource)))) {
		snprintf(err, errlen, "\"user\", \"resource\": strings of "
				      "at most %zu characters",
			 sizeof(t->user) - 1);
		return -1;
	}
	if (user != NULL)
		snprintf(t->user, sizeof(t->user), "%s",
			 json_string_value(user));
	if (res != NULL)
		snprintf(t->resource, sizeof(t->resource), "%s",
			 json_string_value(res));
	for (char *p = t->user; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	for (char *p = t->resource; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return 0;
}

/* The arguments each command accepts. */
static const char *const connect_args[] = {"address", "port", "service",
					   "bytes", "cc", NULL};
static const char *const flows_args[] = {"vs", "client", "limit", NULL};
static const char *const kill_args[] = {"flow", NULL};
static const char *const ticket_args[] = {"address", "port", "user",
					  "resource", NULL};

static bool is_arg_of(enum hg_api_cmd cmd, const char *key)
{
	switch (cmd) {
	case HG_CMD_CONNECT:
		return name_index(connect_args, key) >= 0;
	case HG_CMD_FLOWS:
		return name_index(flows_args, key) >= 0;
	case HG_CMD_KILL:
	case HG_CMD_SESSION_KILL:
		return name_index(kill_args, key) >= 0;
	case HG_CMD_TICKET:
		return name_index(ticket_args, key) >= 0;
	default:
		return false;
	}
}

int hg_api_parse(const char *line, size_t len, const struct hg_config *cfg,
		 struct hg_api_req *req, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *cmd = NULL;
	const char *key;
	json_t *val;
	int rc = -1;

	memset(req, 0, sizeof(*req));
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "invalid JSON at column %d: %s",
			 jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "request must be a JSON object");
		goto out;
	}
	json_object_foreach(root, key, val)
	{
		if (strcmp(key, "cmd") == 0) {
			cmd = val;
		} else if (strcmp(key, "id") == 0) {
			req->id = json_incref(val);
		}
		/* Other keys are checked once the command is known. */
	}
	if (cmd == NULL || !json_is_string(cmd)) {
		snprintf(err, errlen, "\"cmd\" (a string) is required");
		goto out;
	}
	for (int i = 0; i < HG_CMD_COUNT; i++) {
		if (strcmp(json_string_value(cmd), commands[i].name) != 0)
			continue;
		req->cmd = (enum hg_api_cmd)i;
		json_object_foreach(root, key, val)
		{
			if (strcmp(key, "cmd") != 0 && strcmp(key, "id") != 0 &&
			    !is_arg_of(req->cmd, key)) {
				snprintf(err, errlen,
					 "unknown field \"%.64s\"", key);
				goto out;
			}
		}
		if (i == HG_CMD_CONNECT)
			rc = parse_connect(root, &req->connect, err, errlen);
		else if (i == HG_CMD_FLOWS)
			rc = parse_flows(root, cfg, &req->flows, err, errlen);
		else if (i == HG_CMD_KILL || i == HG_CMD_SESSION_KILL)
			rc = parse_kill(root, &req->flow_id, err, errlen);
		else if (i == HG_CMD_TICKET)
			rc = parse_ticket(root, &req->ticket, err, errlen);
		else
			rc = 0;
		goto out;
	}
	snprintf(err, errlen, "unknown command \"%.64s\" (try \"help\")",
		 json_string_value(cmd));
out:
	if (rc < 0 && req->id != NULL) {
		json_decref(req->id);
		req->id = NULL;
	}
	json_decref(root);
	return rc;
}

json_t *hg_api_connect_reply(const struct hg_tcp_connect_reply *r)
{
	char a[16];

	if (r->status != 0)
		return hg_api_error("connect failed: %s", strerror(-r->status));
	hg_ipv4_format(r->laddr, a);
	return json_pack("{s:I, s:s, s:I}", "worker", (json_int_t)r->worker,
			 "local_address", a, "local_port",
			 (json_int_t)r->lport);
}

json_t *hg_api_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "error", buf);
}

json_t *hg_api_help(void)
{
	json_t *list = json_object();

	for (int i = 0; i < HG_CMD_COUNT; i++)
		json_object_set_new(list, commands[i].name,
				    json_string(commands[i].help));
	return json_pack("{s:o}", "commands", list);
}

static json_t *mac_json(const uint8_t m[6])
{
	char buf[18];

	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
		 m[2], m[3], m[4], m[5]);
	return json_string(buf);
}

static json_t *prefix_json(uint32_t addr, unsigned len)
{
	char a[16], buf[24];

	hg_ipv4_format(addr, a);
	snprintf(buf, sizeof(buf), "%s/%u", a, len);
	return json_string(buf);
}

/* Under cp->lock, attached. */
static json_t *dataplane_status(struct hg_cp *cp)
{
	const struct hg_chan_header *h = cp->chan.hdr;
	uint64_t now = hg_realtime_ns();
	json_t *ports = json_array();

	for (unsigned i = 0; i < h->n_ports && i < HG_MAX_PORTS; i++) {
		const struct hg_chan_port_info *p = &h->ports[i];

		json_array_append_new(
			ports,
			json_pack("{s:s%, s:s%, s:I, s:o, s:o, s:s, s:I, s:I}",
				  "name", p->name, strnlen(p->name,
							   sizeof(p->name)),
				  "driver", p->driver,
				  strnlen(p->driver, sizeof(p->driver)),
				  "port_id", (json_int_t)p->port_id, "mac",
				  mac_json(p->mac), "address",
				  prefix_json(p->addr, p->prefix_len), "link",
				  p->link_up ? "up" : "down", "speed_mbps",
				  (json_int_t)p->link_speed_mbps, "mtu",
				  (json_int_t)p->mtu));
	}
	return json_pack(
		"{s:b, s:I, s:s%, s:s%, s:I, s:I, s:I, s:o}", "attached", 1,
		"pid", (json_int_t)h->dp_pid, "version", h->dp_version,
		strnlen(h->dp_version, sizeof(h->dp_version)), "dpdk",
		h->dpdk_version,
		strnlen(h->dpdk_version, sizeof(h->dpdk_version)), "uptime_s",
		(json_int_t)((now - h->dp_start_realtime_ns) / 1000000000ULL),
		"workers", (json_int_t)h->n_workers, "heartbeat_age_ms",
		(json_int_t)((hg_monotonic_ns() -
			      atomic_load(&h->dp_heartbeat_ns)) /
			     1000000ULL),
		"ports", ports);
}

json_t *hg_api_status(struct hg_cp *cp)
{
	json_t *dp, *chan;

	pthread_mutex_lock(&cp->lock);
	if (cp->attached) {
		dp = dataplane_status(cp);
		chan = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "name",
				 cp->cfg.channel.name, "state", "attached",
				 "generation",
				 (json_int_t)atomic_load(
					 &cp->chan.hdr->cp_generation),
				 "ring_slots",
				 (json_int_t)cp->chan.hdr->ring_slots,
				 "attaches", (json_int_t)cp->attaches,
				 "detaches", (json_int_t)cp->detaches);
	} else {
		dp = json_pack("{s:b, s:s}", "attached", 0, "reason",
			       cp->chan_error[0] ? cp->chan_error
						 : "not attached yet");
		chan = json_pack("{s:s, s:s, s:I, s:I}", "name",
				 cp->cfg.channel.name, "state", "detached",
				 "attaches", (json_int_t)cp->attaches,
				 "detaches", (json_int_t)cp->detaches);
	}
	pthread_mutex_unlock(&cp->lock);
	return json_pack(
		"{s:s, s:s, s:{s:I, s:I, s:I, s:s}, s:o, s:o}", "version",
		HG_VERSION, "instance", cp->cfg.instance, "controlplane", "pid",
		(json_int_t)getpid(), "uptime_s",
		(json_int_t)((hg_monotonic_ns() - cp->start_ns) / 1000000000ULL),
		"clients", (json_int_t)cp->n_clients, "config",
		cp->config_path, "dataplane", dp, "channel", chan);
}

json_t *hg_api_config(struct hg_cp *cp)
{
	char *text = hg_config_to_json(&cp->cfg);
	json_t *cfg;

	if (text == NULL)
		return hg_api_error("out of memory");
	cfg = json_loads(text, 0, NULL);
	free(text);
	if (cfg == NULL)
		return hg_api_error("internal error: config does not "
				    "serialise");
	return json_pack("{s:s, s:o}", "path", cp->config_path, "config", cfg);
}

static json_t *counters_json(const uint64_t *v, const char *const *names,
			     unsigned n, unsigned first)
{
	json_t *o = json_object();

	for (unsigned i = first; i < n; i++)
		json_object_set_new(o, names[i], json_integer((json_int_t)v[i]));
	return o;
}

static json_t *stats_json(struct hg_cp *cp,
			  const struct hg_stats_reply *replies,
			  unsigned n_workers);

static const char *const vs_counter_names[HG_VSC_COUNT] = {
	"flows", "active", "refused", "bytes_c2b", "bytes_b2c"};
static const char *const backend_counter_names[HG_BEC_COUNT] = {
	"flows", "active", "connect_failures", "marked_down", "down"};

/* Virtual servers, summed over workers; a backend is down when any
 * worker has it down. */
static json_t *vs_json(struct hg_cp *cp, uint8_t (*msgs)[HG_SLOT_SIZE],
		       unsigned n)
{
	static uint64_t v[HG_MAX_VS][HG_VSC_COUNT];
	static uint64_t b[HG_MAX_VS][HG_VS_MAX_BACKENDS][HG_BEC_COUNT];
	json_t *arr = json_array();

	memset(v, 0, sizeof(v));
	memset(b, 0, sizeof(b));
	for (unsigned i = 0; i < n; i++) {
		const struct hg_msg *m = (const void *)msgs[i];
		const struct hg_vs_stats *st = (const void *)m->payload;

		if (m->type != HG_MSG_VS_STATS_REPLY || st->vs >= HG_MAX_VS)
			continue;
		for (unsigned k = 0; k < HG_VSC_COUNT; k++)
			v[st->vs][k] += st->vs_ctr[k];
		for (unsigned j = 0; j < HG_VS_MAX_BACKENDS; j++)
			for (unsigned k = 0; k < HG_BEC_COUNT; k++)
				b[st->vs][j][k] = k == HG_BEC_down
					? (b[st->vs][j][k] | st->backend_ctr[j][k])
					: b[st->vs][j][k] + st->backend_ctr[j][k];
	}
	for (unsigned i = 0; i < cp->cfg.n_vs; i++) {
		const struct hg_vs_config *vc = &cp->cfg.vs[i];
		json_t *o = counters_json(v[i], vs_counter_names, HG_VSC_COUNT,
					  0);
		json_t *bs = json_array();

		json_object_set_new(o, "name", json_string(vc->name));
		for (unsigned j = 0; j < vc->n_backends; j++) {
			char a[16], ap[24];
			json_t *bo = counters_json(b[i][j],
						   backend_counter_names,
						   HG_BEC_COUNT, 0);

			hg_ipv4_format(vc->backends[j].addr, a);
			snprintf(ap, sizeof(ap), "%s:%u", a,
				 vc->backends[j].port);
			json_object_set_new(bo, "backend", json_string(ap));
			json_object_set_new(bo, "state",
					    json_string(b[i][j][HG_BEC_down]
								? "down"
								: "up"));
			json_object_del(bo, "down");
			json_array_append_new(bs, bo);
		}
		json_object_set_new(o, "backends", bs);
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *hg_api_stats(struct hg_cp *cp, uint8_t (*msgs)[HG_SLOT_SIZE],
		     unsigned n)
{
	static struct hg_stats_reply replies[HG_MAX_WORKERS];
	unsigned n_workers = 0;
	json_t *out;

	for (unsigned i = 0; i < n; i++) {
		const struct hg_msg *m = (const void *)msgs[i];
		const struct hg_stats_reply *r = (const void *)m->payload;

		if (m->type == HG_MSG_STATS_REPLY && n_workers < HG_MAX_WORKERS)
			replies[n_workers++] = *r;
	}
	if (n_workers == 0)
		return hg_api_error("no statistics from the data plane");
	out = stats_json(cp, replies, n_workers);
	if (out != NULL)
		json_object_set_new(out, "virtual_servers", vs_json(cp, msgs, n));
	return out;
}

static const char *const relay_state_names[] = {"connecting", "open",
						"closing", "handshake",
						"control"};

json_t *hg_api_flows(struct hg_cp *cp, uint8_t (*msgs)[HG_SLOT_SIZE],
		     unsigned n)
{
	json_t *arr = json_array();
	uint64_t active = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct hg_msg *m = (const void *)msgs[i];
		const struct hg_flows_reply *r = (const void *)m->payload;

		if (m->type != HG_MSG_FLOWS_REPLY)
			continue;
		active += r->active;
		for (unsigned j = 0; j < r->n && j < HG_FLOWS_PER_REPLY; j++) {
			const struct hg_flow_info *f = &r->flows[j];
			char id[24], c[16], b[16];

			snprintf(id, sizeof(id), "%llu",
				 (unsigned long long)f->id);
			hg_ipv4_format(f->client_addr, c);
			hg_ipv4_format(f->backend_addr, b);
			json_array_append_new(
				arr,
				json_pack("{s:s, s:I, s:s, s:s, s:I, s:s, s:I, "
					  "s:I, s:s, s:I, s:I, s:I, s:I}",
					  "id", id, "worker",
					  (json_int_t)r->worker, "vs",
					  f->vs < cp->cfg.n_vs
						  ? cp->cfg.vs[f->vs].name
						  : "?",
					  "client", c, "client_port",
					  (json_int_t)f->client_port, "backend",
					  b, "backend_port",
					  (json_int_t)f->backend_port,
					  "local_port",
					  (json_int_t)f->local_port, "state",
					  relay_state_names[f->state % 5],
					  "age_ms", (json_int_t)f->age_ms,
					  "idle_ms", (json_int_t)f->idle_ms,
					  "bytes_c2b",
					  (json_int_t)f->bytes_c2b,
					  "bytes_b2c",
					  (json_int_t)f->bytes_b2c));
		}
	}
	return json_pack("{s:I, s:o}", "active", (json_int_t)active, "flows",
			 arr);
}

json_t *hg_api_kill_reply(const struct hg_flow_kill *k)
{
	if (k->status != 0)
		return hg_api_error("no such flow");
	return json_pack("{s:b}", "killed", 1);
}

static json_t *stats_json(struct hg_cp *cp,
			  const struct hg_stats_reply *replies,
			  unsigned n_workers)
{
	uint64_t total[HG_WC_COUNT] = {0}, drops[HG_DROP_COUNT] = {0};
	uint64_t port_total[HG_MAX_PORTS][HG_PC_COUNT] = {{0}};
	json_t *workers = json_array(), *ports = json_array();
	unsigned n_ports = 0;

	for (unsigned w = 0; w < n_workers; w++) {
		const struct hg_stats_reply *r = &replies[w];
		uint64_t dropped = 0;

		for (unsigned i = 0; i < HG_WC_COUNT; i++)
			total[i] += r->worker_ctr[i];
		for (unsigned i = 1; i < HG_DROP_COUNT; i++) {
			drops[i] += r->drops[i];
			dropped += r->drops[i];
		}
		if (r->n_ports > n_ports)
			n_ports = r->n_ports > HG_MAX_PORTS ? HG_MAX_PORTS
							    : r->n_ports;
		for (unsigned p = 0; p < HG_MAX_PORTS; p++)
			for (unsigned i = 0; i < HG_PC_COUNT; i++)
				port_total[p][i] += r->port_ctr[p][i];
		json_array_append_new(
			workers,
			json_pack("{s:I, s:I, s:o, s:o}", "id",
				  (json_int_t)r->worker, "dropped",
				  (json_int_t)dropped, "counters",
				  counters_json(r->worker_ctr,
						hg_worker_counter_names,
						HG_WC_COUNT, 0),
				  "drops",
				  counters_json(r->drops, hg_drop_names,
						HG_DROP_COUNT, 1)));
	}
	for (unsigned p = 0; p < n_ports; p++) {
		json_t *o = counters_json(port_total[p], hg_port_counter_names,
					  HG_PC_COUNT, 0);

		json_object_set_new(o, "name",
				    json_string(p < cp->cfg.n_ports
							? cp->cfg.ports[p].name
							: "?"));
		json_object_set_new(o, "driver",
				    counters_json(replies[0].pmd_ctr[p],
						  hg_pmd_counter_names,
						  HG_PMD_COUNT, 0));
		json_array_append_new(ports, o);
	}
	json_t *tot = counters_json(total, hg_worker_counter_names,
				    HG_WC_COUNT, 0);
	json_object_set_new(tot, "drops",
			    counters_json(drops, hg_drop_names, HG_DROP_COUNT,
					  1));
	return json_pack(
		"{s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I}",
		"total", tot, "ports", ports, "workers", workers, "control",
		"requests", (json_int_t)cp->requests, "request_errors",
		(json_int_t)cp->request_errors, "clients",
		(json_int_t)cp->n_clients, "clients_refused",
		(json_int_t)cp->clients_refused, "invalid_messages",
		(json_int_t)cp->msgs_invalid, "late_answers",
		(json_int_t)cp->late_answers, "tsc_hz",
		(json_int_t)replies[0].tsc_hz);
}
