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
		     strcmp(json_string_value(cc), "newreno") != 0)) {
			snprintf(err, errlen, "\"cc\": cubic or newreno");
			return -1;
		}
		c->cc = strcmp(json_string_value(cc), "cubic") == 0
				? HG_CC_KIND_CUBIC
				: HG_CC_KIND_NEWRENO;
	}
	return 0;
}

static bool is_connect_arg(const char *key)
{
	static const char *const args[] = {"address", "port", "service",
					   "bytes", "cc", NULL};

	return name_index(args, key) >= 0;
}

int hg_api_parse(const char *line, size_t len, struct hg_api_req *req,
		 char *err, size_t errlen)
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
		} else if (is_connect_arg(key)) {
			continue; /* checked once the command is known */
		} else {
			snprintf(err, errlen, "unknown field \"%.64s\"", key);
			goto out;
		}
	}
	if (cmd == NULL || !json_is_string(cmd)) {
		snprintf(err, errlen, "\"cmd\" (a string) is required");
		goto out;
	}
	for (int i = 0; i < HG_CMD_COUNT; i++) {
		if (strcmp(json_string_value(cmd), commands[i].name) != 0)
			continue;
		req->cmd = (enum hg_api_cmd)i;
		if (i == HG_CMD_CONNECT) {
			rc = parse_connect(root, &req->connect, err, errlen);
			goto out;
		}
		json_object_foreach(root, key, val)
		{
			if (is_connect_arg(key)) {
				snprintf(err, errlen,
					 "unknown field \"%.64s\"", key);
				goto out;
			}
		}
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

json_t *hg_api_stats(struct hg_cp *cp, const struct hg_stats_reply *replies,
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
