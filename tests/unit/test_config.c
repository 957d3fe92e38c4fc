/* The configuration loader: defaults, every field of a full config, the
 * JSON round trip, and one test per class of invalid input. Every error
 * test checks that the message names the offending field by its path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#ifndef HG_SOURCE_DIR
#define HG_SOURCE_DIR "/work/main"
#endif

static struct hg_config cfg;
static char err[512];

/* JSON in C strings is a forest of \"; tests write ' and this turns them
 * into " (no test needs a literal '). */
static const char *dq(const char *text)
{
	static char buf[1 << 16];
	size_t i;

	cr_assert_lt(strlen(text), sizeof(buf));
	for (i = 0; text[i] != '\0'; i++)
		buf[i] = text[i] == '\'' ? '"' : text[i];
	buf[i] = '\0';
	return buf;
}

static int load(const char *text)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(err, 0, sizeof(err));
	return hg_config_load_string(dq(text), &cfg, err, sizeof(err));
}

/* Macros rather than functions so a failure reports the caller's line. */
#define expect_ok(text)                                                        \
	do {                                                                   \
		const char *t_ = (text);                                       \
		cr_expect_eq(load(t_), 0, "rejected: %s\n  error: %s", t_,    \
			     err);                                             \
	} while (0)

#define expect_err(text, needle)                                               \
	do {                                                                   \
		const char *t_ = (text), *n_ = (needle);                       \
		cr_expect_eq(load(t_), -1, "accepted: %s", t_);                \
		cr_expect(strstr(err, n_) != NULL,                             \
			  "error \"%s\" lacks \"%s\"\n  for %s", err, n_, t_); \
	} while (0)

#define PORT0 "{'name':'client','device':'net_null0','address':'10.0.0.1/24'}"
#define CFG_PORTS(ports) "{'instance':'lab','ports':[" ports "]}"
#define CFG_PORT(fields) CFG_PORTS("{" fields "}")
#define CFG_SECTION(sec, body)                                                 \
	"{'instance':'lab','" sec "':{" body "},'ports':[" PORT0 "]}"
#define MINIMAL CFG_PORTS(PORT0)

#define FULL                                                                   \
	"{'instance':'lab-1',"                                                 \
	" 'dataplane':{'workers':2,'cpus':[3,2],'busy_poll':true,"             \
	"  'idle_spin_loops':128,'idle_sleep_min_us':20,"                      \
	"  'idle_sleep_max_us':2000,'memory_mb':512,'hugepages':true,"         \
	"  'mbufs':16384,'rx_desc':512,'tx_desc':2048,'burst':64},"            \
	" 'ports':["                                                           \
	"  {'name':'client','device':'net_af_packet0,iface=hg-c0',"            \
	"   'address':'10.10.0.1/24','gateway':'10.10.0.254','mtu':9000},"    \
	"  {'name':'server','pci':'0000:03:00.1',"                             \
	"   'address':'192.168.7.2/30','mtu':1400}],"                         \
	" 'arp':{'entries':4096,'timeout_s':60,'retry_ms':250,'retries':5,"    \
	"  'pending_max':128},"                                                \
	" 'channel':{'name':'hg.lab_1','ring_slots':4096},"                    \
	" 'control':{'socket':'/tmp/hg/ctl.sock','max_clients':8,"            \
	"  'max_line':4096}}"

/* ------------------------------------------------------------------ */
/* Valid configs */

Test(config, minimal_gets_defaults)
{
	const struct hg_dataplane_config *d = &cfg.dataplane;
	const struct hg_port_config *p = &cfg.ports[0];

	cr_assert_eq(load(MINIMAL), 0, "%s", err);
	cr_expect_str_eq(cfg.instance, "lab");
	cr_expect_eq(d->workers, 1);
	cr_expect_eq(d->n_cpus, 0);
	cr_expect_eq(d->busy_poll, false);
	cr_expect_eq(d->idle_spin_loops, 64);
	cr_expect_eq(d->idle_sleep_min_us, 10);
	cr_expect_eq(d->idle_sleep_max_us, 1000);
	cr_expect_eq(d->memory_mb, 256);
	cr_expect_eq(d->hugepages, false);
	cr_expect_eq(d->mbufs, 8192);
	cr_expect_eq(d->rx_desc, 1024);
	cr_expect_eq(d->tx_desc, 1024);
	cr_expect_eq(d->burst, 32);

	cr_expect_eq(cfg.n_ports, 1);
	cr_expect_str_eq(p->name, "client");
	cr_expect_str_eq(p->device, "net_null0");
	cr_expect_str_eq(p->pci, "");
	cr_expect_eq(p->addr, 0x0a000001);
	cr_expect_eq(p->prefix_len, 24);
	cr_expect_eq(p->gateway, 0);
	cr_expect_eq(p->mtu, 1500);

	cr_expect_eq(cfg.arp.entries, 1024);
	cr_expect_eq(cfg.arp.timeout_s, 300);
	cr_expect_eq(cfg.arp.retry_ms, 1000);
	cr_expect_eq(cfg.arp.retries, 3);
	cr_expect_eq(cfg.arp.pending_max, 64);

	cr_expect_str_eq(cfg.channel.name, "hopgate-lab");
	cr_expect_eq(cfg.channel.ring_slots, 1024);

	cr_expect_str_eq(cfg.control.socket, "/run/hopgate/ctl.sock");
	cr_expect_eq(cfg.control.max_clients, 64);
	cr_expect_eq(cfg.control.max_line, 65536);
	cr_expect_not(hg_config_has_pci(&cfg));
}

Test(config, empty_sections_get_defaults)
{
	struct hg_config plain;

	cr_assert_eq(load(MINIMAL), 0, "%s", err);
	plain = cfg;
	cr_assert_eq(load("{'instance':'lab','dataplane':{},'arp':{},"
			  "'channel':{},'control':{},'ports':[" PORT0 "]}"),
		     0, "%s", err);
	cr_expect_eq(memcmp(&plain, &cfg, sizeof(cfg)), 0);
}

Test(config, full)
{
	const struct hg_dataplane_config *d = &cfg.dataplane;
	const struct hg_port_config *c = &cfg.ports[0], *s = &cfg.ports[1];

	cr_assert_eq(load(FULL), 0, "%s", err);
	cr_expect_str_eq(cfg.instance, "lab-1");
	cr_expect_eq(d->workers, 2);
	cr_expect_eq(d->n_cpus, 2);
	cr_expect_eq(d->cpus[0], 3);
	cr_expect_eq(d->cpus[1], 2);
	cr_expect_eq(d->busy_poll, true);
	cr_expect_eq(d->idle_spin_loops, 128);
	cr_expect_eq(d->idle_sleep_min_us, 20);
	cr_expect_eq(d->idle_sleep_max_us, 2000);
	cr_expect_eq(d->memory_mb, 512);
	cr_expect_eq(d->hugepages, true);
	cr_expect_eq(d->mbufs, 16384);
	cr_expect_eq(d->rx_desc, 512);
	cr_expect_eq(d->tx_desc, 2048);
	cr_expect_eq(d->burst, 64);

	cr_expect_eq(cfg.n_ports, 2);
	cr_expect_str_eq(c->name, "client");
	cr_expect_str_eq(c->device, "net_af_packet0,iface=hg-c0");
	cr_expect_str_eq(c->pci, "");
	cr_expect_eq(c->addr, 0x0a0a0001);
	cr_expect_eq(c->prefix_len, 24);
	cr_expect_eq(c->gateway, 0x0a0a00fe);
	cr_expect_eq(c->mtu, 9000);
	cr_expect_str_eq(s->name, "server");
	cr_expect_str_eq(s->device, "");
	cr_expect_str_eq(s->pci, "0000:03:00.1");
	cr_expect_eq(s->addr, 0xc0a80702);
	cr_expect_eq(s->prefix_len, 30);
	cr_expect_eq(s->gateway, 0);
	cr_expect_eq(s->mtu, 1400);

	cr_expect_eq(cfg.arp.entries, 4096);
	cr_expect_eq(cfg.arp.timeout_s, 60);
	cr_expect_eq(cfg.arp.retry_ms, 250);
	cr_expect_eq(cfg.arp.retries, 5);
	cr_expect_eq(cfg.arp.pending_max, 128);
	cr_expect_str_eq(cfg.channel.name, "hg.lab_1");
	cr_expect_eq(cfg.channel.ring_slots, 4096);
	cr_expect_str_eq(cfg.control.socket, "/tmp/hg/ctl.sock");
	cr_expect_eq(cfg.control.max_clients, 8);
	cr_expect_eq(cfg.control.max_line, 4096);
	cr_expect(hg_config_has_pci(&cfg));
}

static void round_trip(const char *text)
{
	struct hg_config first, again;
	char *json;

	cr_assert_eq(load(text), 0, "%s", err);
	first = cfg;
	json = hg_config_to_json(&first);
	cr_assert_not_null(json);
	memset(&again, 0, sizeof(again));
	cr_assert_eq(hg_config_load_string(json, &again, err, sizeof(err)), 0,
		     "reload of %s: %s", json, err);
	cr_expect_eq(memcmp(&first, &again, sizeof(first)), 0,
		     "round trip differs: %s", json);
	free(json);
}

Test(config, round_trip)
{
	round_trip(MINIMAL);
	round_trip(FULL);
	round_trip(CFG_PORT("'name':'p2p','pci':'ffff:ff:1f.7',"
			    "'address':'10.0.0.0/31','gateway':'10.0.0.1'"));
}

Test(config, to_json_makes_defaults_explicit)
{
	char *json;

	cr_assert_eq(load(MINIMAL), 0, "%s", err);
	json = hg_config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_expect(strstr(json, "\"instance\":\"lab\"") != NULL, "%s", json);
	cr_expect(strstr(json, "\"workers\":1,") != NULL, "%s", json);
	cr_expect(strstr(json, "\"busy_poll\":false") != NULL, "%s", json);
	cr_expect(strstr(json, "\"address\":\"10.0.0.1/24\"") != NULL, "%s",
		  json);
	cr_expect(strstr(json, "\"device\":\"net_null0\"") != NULL, "%s",
		  json);
	cr_expect(strstr(json, "\"mtu\":1500") != NULL, "%s", json);
	cr_expect(strstr(json, "\"entries\":1024") != NULL, "%s", json);
	cr_expect(strstr(json, "\"name\":\"hopgate-lab\"") != NULL, "%s",
		  json);
	cr_expect(strstr(json, "\"socket\":\"/run/hopgate/ctl.sock\"") !=
			  NULL, "%s", json);
	cr_expect(strstr(json, "\"max_line\":65536") != NULL, "%s", json);
	/* Absent things stay absent; compact means no spaces at all. */
	cr_expect_null(strstr(json, "gateway"), "%s", json);
	cr_expect_null(strstr(json, "cpus"), "%s", json);
	cr_expect_null(strstr(json, "pci"), "%s", json);
	cr_expect_null(strchr(json, ' '), "%s", json);
	free(json);

	cr_assert_eq(load(FULL), 0, "%s", err);
	json = hg_config_to_json(&cfg);
	cr_assert_not_null(json);
	cr_expect(strstr(json, "\"cpus\":[3,2]") != NULL, "%s", json);
	cr_expect(strstr(json, "\"gateway\":\"10.10.0.254\"") != NULL, "%s",
		  json);
	cr_expect(strstr(json, "\"pci\":\"0000:03:00.1\"") != NULL, "%s",
		  json);
	free(json);
}

Test(config, eight_ports)
{
	char text[4096];
	size_t n;
	int i;

	n = (size_t)snprintf(text, sizeof(text), "{'instance':'lab','ports':[");
	for (i = 0; i < HG_MAX_PORTS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "%s{'name':'p%d','device':'net_null%d',"
				      "'address':'10.%d.0.1/16'}",
				      i ? "," : "", i, i, i);
	snprintf(text + n, sizeof(text) - n, "]}");
	expect_ok(text);
	cr_expect_eq(cfg.n_ports, HG_MAX_PORTS);
	cr_expect_eq(cfg.ports[7].addr, 0x0a070001);
}

Test(config, has_pci)
{
	cr_assert_eq(load(MINIMAL), 0, "%s", err);
	cr_expect_not(hg_config_has_pci(&cfg));
	cr_assert_eq(load(CFG_PORTS(PORT0 ",{'name':'nic','pci':'0000:01:00.0',"
					   "'address':'10.1.0.1/24'}")),
		     0, "%s", err);
	cr_expect(hg_config_has_pci(&cfg));
}

/* ------------------------------------------------------------------ */
/* Not JSON, not an object, unknown fields */

Test(config_bad, not_json)
{
	expect_err("{'instance':'lab',\n'ports':[\n}", "line 3");
	expect_err("", "line");
	expect_err("{'instance':'lab'", "line 1");
	expect_err(MINIMAL " x", "line");
	expect_err("{instance:'lab'}", "line 1");
	/* A number jansson cannot hold is a syntax error, not a wrap. */
	expect_err(CFG_SECTION("dataplane", "'workers':99999999999999999999"),
		   "line");
	/* A repeated key is refused, not "last one wins". */
	expect_err("{'instance':'a','instance':'b','ports':[" PORT0 "]}",
		   "duplicate");
}

Test(config_bad, top_not_object)
{
	expect_err("[]", "top level: must be a JSON object");
	expect_err("42", "top level: must be a JSON object");
	expect_err("'lab'", "top level: must be a JSON object");
	expect_err("null", "top level: must be a JSON object");
}

Test(config_bad, unknown_field_top)
{
	expect_err("{'instance':'lab','instanse':'x','ports':[" PORT0 "]}",
		   "instanse: unknown field");
}

Test(config_bad, unknown_field_dataplane)
{
	expect_err(CFG_SECTION("dataplane", "'worker':2"),
		   "dataplane.worker: unknown field");
}

Test(config_bad, unknown_field_port)
{
	expect_err(CFG_PORT("'name':'c','device':'net_null0',"
			    "'address':'10.0.0.1/24','gw':'10.0.0.2'"),
		   "ports[0].gw: unknown field");
	expect_err(CFG_PORTS(PORT0 ",{'name':'s','device':'net_null1',"
				   "'address':'10.1.0.1/24','MTU':1500}"),
		   "ports[1].MTU: unknown field");
}

Test(config_bad, unknown_field_arp)
{
	expect_err(CFG_SECTION("arp", "'timeout':1"),
		   "arp.timeout: unknown field");
}

Test(config_bad, unknown_field_channel)
{
	expect_err(CFG_SECTION("channel", "'slots':16"),
		   "channel.slots: unknown field");
}

Test(config_bad, unknown_field_control)
{
	expect_err(CFG_SECTION("control", "'sock':'/x'"),
		   "control.sock: unknown field");
}

Test(config_bad, unknown_field_is_printable)
{
	/* An escape character in a key must not reach a terminal. */
	expect_err(CFG_SECTION("arp", "'a\\u001b[2Jb':1"),
		   "arp.a?[2Jb: unknown field");
}

Test(config_bad, section_wrong_type)
{
	expect_err("{'instance':'lab','dataplane':[],'ports':[" PORT0 "]}",
		   "dataplane: must be an object");
	expect_err("{'instance':'lab','arp':null,'ports':[" PORT0 "]}",
		   "arp: must be an object");
	expect_err("{'instance':'lab','channel':1,'ports':[" PORT0 "]}",
		   "channel: must be an object");
	expect_err("{'instance':'lab','control':'x','ports':[" PORT0 "]}",
		   "control: must be an object");
	expect_err("{'instance':'lab','ports':{}}", "ports: must be an array");
	expect_err("{'instance':'lab','ports':['x']}",
		   "ports[0]: must be an object");
}

/* ------------------------------------------------------------------ */
/* Missing required fields */

Test(config_bad, missing_instance)
{
	expect_err("{'ports':[" PORT0 "]}", "instance: required");
}

Test(config_bad, missing_ports)
{
	expect_err("{'instance':'lab'}", "ports: required");
	expect_err("{'instance':'lab','ports':[]}",
		   "ports: must have between 1 and 8 ports");
}

Test(config_bad, missing_port_name)
{
	expect_err(CFG_PORT("'device':'net_null0','address':'10.0.0.1/24'"),
		   "ports[0].name: required");
}

Test(config_bad, missing_address)
{
	expect_err(CFG_PORT("'name':'c','device':'net_null0'"),
		   "ports[0].address: required");
}

Test(config_bad, missing_device_and_pci)
{
	expect_err(CFG_PORT("'name':'c','address':'10.0.0.1/24'"),
		   "ports[0]: exactly one of device or pci is required");
}

Test(config_bad, both_device_and_pci)
{
	expect_err(CFG_PORT("'name':'c','device':'net_null0',"
			    "'pci':'0000:03:00.0','address':'10.0.0.1/24'"),
		   "ports[0]: exactly one of device or pci is required");
}

/* ------------------------------------------------------------------ */
/* Types and ranges */

Test(config_bad, string_for_int)
{
	expect_err(CFG_SECTION("dataplane", "'workers':'2'"),
		   "dataplane.workers: must be an integer between 1 and 16");
}

Test(config_bad, real_for_int)
{
	expect_err(CFG_SECTION("dataplane", "'workers':2.0"),
		   "dataplane.workers: must be an integer");
	expect_err(CFG_SECTION("arp", "'retries':1e1"),
		   "arp.retries: must be an integer");
}

Test(config_bad, bool_or_null_for_int)
{
	expect_err(CFG_SECTION("dataplane", "'burst':true"),
		   "dataplane.burst: must be an integer");
	expect_err(CFG_SECTION("dataplane", "'burst':null"),
		   "dataplane.burst: must be an integer");
}

Test(config_bad, int_for_bool)
{
	expect_err(CFG_SECTION("dataplane", "'busy_poll':1"),
		   "dataplane.busy_poll: must be true or false");
	expect_err(CFG_SECTION("dataplane", "'hugepages':'true'"),
		   "dataplane.hugepages: must be true or false");
	expect_err(CFG_SECTION("dataplane", "'hugepages':null"),
		   "dataplane.hugepages: must be true or false");
}

Test(config_bad, int_for_string)
{
	expect_err("{'instance':5,'ports':[" PORT0 "]}",
		   "instance: must be a string");
	expect_err(CFG_PORT("'name':5,'device':'net_null0',"
			    "'address':'10.0.0.1/24'"),
		   "ports[0].name: must be a string");
	expect_err(CFG_PORT("'name':'c','device':5,'address':'10.0.0.1/24'"),
		   "ports[0].device: must be a string");
	expect_err(CFG_PORT("'name':'c','pci':5,'address':'10.0.0.1/24'"),
		   "ports[0].pci: must be a string");
	expect_err(CFG_PORT("'name':'c','device':'net_null0','address':5"),
		   "ports[0].address: must be a string");
	expect_err(CFG_PORT("'name':'c','device':'net_null0',"
			    "'address':'10.0.0.1/24','gateway':5"),
		   "ports[0].gateway: must be a string");
	expect_err(CFG_SECTION("channel", "'name':5"),
		   "channel.name: must be a string");
	expect_err(CFG_SECTION("control", "'socket':5"),
		   "control.socket: must be a string");
}

Test(config_bad, out_of_range_low)
{
	expect_err(CFG_SECTION("dataplane", "'workers':0"),
		   "dataplane.workers: must be an integer between 1 and 16");
	expect_err(CFG_SECTION("dataplane", "'workers':-1"),
		   "dataplane.workers: must be an integer between 1 and 16");
	expect_err(CFG_SECTION("arp", "'retry_ms':9"),
		   "arp.retry_ms: must be an integer between 10 and 60000");
}

Test(config_bad, out_of_range_high)
{
	expect_err(CFG_SECTION("dataplane", "'workers':17"),
		   "dataplane.workers: must be an integer between 1 and 16");
	expect_err(CFG_SECTION("dataplane", "'burst':65"),
		   "dataplane.burst: must be an integer between 1 and 64");
	expect_err(CFG_SECTION("dataplane", "'workers':4294967297"),
		   "dataplane.workers: must be an integer between 1 and 16");
}

/* Every integer field: both bounds accepted, one past each refused, and
 * every wrong JSON type refused, all with the field's path. */
struct int_field {
	const char *section; /* "port" means ports[0] */
	const char *key;
	long long min, max;
	const char *also; /* other fields of the section, or "" */
};

static const struct int_field int_fields[] = {
	{ "dataplane", "workers", 1, 16, "" },
	{ "dataplane", "idle_spin_loops", 0, 1000000, "" },
	{ "dataplane", "idle_sleep_min_us", 1, 1000000,
	  "'idle_sleep_max_us':1000000," },
	{ "dataplane", "idle_sleep_max_us", 1, 1000000,
	  "'idle_sleep_min_us':1," },
	{ "dataplane", "memory_mb", 64, 65536, "" },
	{ "dataplane", "mbufs", 1024, 4194304, "" },
	{ "dataplane", "rx_desc", 64, 16384, "" },
	{ "dataplane", "tx_desc", 64, 16384, "" },
	{ "dataplane", "burst", 1, 64, "" },
	{ "port", "mtu", 576, 9000, "" },
	{ "arp", "entries", 16, 65536, "" },
	{ "arp", "timeout_s", 1, 86400, "" },
	{ "arp", "retry_ms", 10, 60000, "" },
	{ "arp", "retries", 1, 20, "" },
	{ "arp", "pending_max", 1, 1024, "" },
	{ "channel", "ring_slots", 16, 65536, "" },
	{ "control", "max_clients", 1, 1024, "" },
	{ "control", "max_line", 256, 1048576, "" },
};

static const char *with_value(const struct int_field *f, const char *value)
{
	static char buf[512];

	if (strcmp(f->section, "port") == 0)
		snprintf(buf, sizeof(buf),
			 CFG_PORT("'name':'c','device':'net_null0',"
				  "'address':'10.0.0.1/24','%s':%s"),
			 f->key, value);
	else
		snprintf(buf, sizeof(buf),
			 "{'instance':'lab','%s':{%s'%s':%s},'ports':[" PORT0
			 "]}", f->section, f->also, f->key,
			 value);
	return buf;
}

static void check_int_field(const struct int_field *f)
{
	static const char *const wrong[] = { "'1'", "1.0", "true", "false",
					     "null", "[1]", "{}" };
	char path[64], v[32];
	size_t i;

	snprintf(path, sizeof(path), "%s.%s:",
		 strcmp(f->section, "port") ? f->section : "ports[0]", f->key);
	snprintf(v, sizeof(v), "%lld", f->min);
	expect_ok(with_value(f, v));
	snprintf(v, sizeof(v), "%lld", f->max);
	expect_ok(with_value(f, v));
	snprintf(v, sizeof(v), "%lld", f->min - 1);
	expect_err(with_value(f, v), path);
	snprintf(v, sizeof(v), "%lld", f->max + 1);
	expect_err(with_value(f, v), path);
	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		expect_err(with_value(f, wrong[i]), path);
}

Test(config_bad, every_int_field)
{
	size_t i;

	for (i = 0; i < sizeof(int_fields) / sizeof(int_fields[0]); i++)
		check_int_field(&int_fields[i]);
}

Test(config_bad, not_power_of_two)
{
	expect_err(CFG_SECTION("dataplane", "'rx_desc':1000"),
		   "dataplane.rx_desc: must be a power of two");
	expect_err(CFG_SECTION("dataplane", "'tx_desc':96"),
		   "dataplane.tx_desc: must be a power of two");
	expect_err(CFG_SECTION("arp", "'entries':1000"),
		   "arp.entries: must be a power of two");
	expect_err(CFG_SECTION("channel", "'ring_slots':48"),
		   "channel.ring_slots: must be a power of two");
}

/* ------------------------------------------------------------------ */
/* Names and paths */

Test(config_bad, instance_name)
{
	expect_err("{'instance':'a b','ports':[" PORT0 "]}",
		   "instance: invalid character");
	expect_err("{'instance':'a/b','ports':[" PORT0 "]}",
		   "instance: invalid character");
	expect_err("{'instance':'a.b','ports':[" PORT0 "]}",
		   "instance: invalid character");
	expect_err("{'instance':'caf\\u00e9','ports':[" PORT0 "]}",
		   "instance: invalid character");
	expect_err("{'instance':'','ports':[" PORT0 "]}",
		   "instance: must not be empty");
	expect_err("{'instance':'abcdefghijklmnopqrstuvwxyz012345',"
		   "'ports':[" PORT0 "]}",
		   "instance: too long");
	expect_ok("{'instance':'abcdefghijklmnopqrstuvwxyz-_012',"
		  "'ports':[" PORT0 "]}");
	cr_expect_str_eq(cfg.channel.name,
			 "hopgate-abcdefghijklmnopqrstuvwxyz-_012");
}

Test(config_bad, port_name)
{
	expect_err(CFG_PORT("'name':'cli ent','device':'net_null0',"
			    "'address':'10.0.0.1/24'"),
		   "ports[0].name: invalid character");
	expect_err(CFG_PORT("'name':'','device':'net_null0',"
			    "'address':'10.0.0.1/24'"),
		   "ports[0].name: must not be empty");
	expect_err(CFG_PORT("'name':'abcdefghijklmnopqrstuvwxyz012345',"
			    "'device':'net_null0','address':'10.0.0.1/24'"),
		   "ports[0].name: too long");
}

Test(config_bad, channel_name)
{
	char text[512], name[80];

	expect_err(CFG_SECTION("channel", "'name':'a/b'"),
		   "channel.name: invalid character");
	expect_err(CFG_SECTION("channel", "'name':'a b'"),
		   "channel.name: invalid character");
	expect_err(CFG_SECTION("channel", "'name':''"),
		   "channel.name: must not be empty");
	expect_err(CFG_SECTION("channel", "'name':'.'"), "channel.name:");
	expect_err(CFG_SECTION("channel", "'name':'..'"), "channel.name:");

	memset(name, 'n', 64);
	name[64] = '\0';
	snprintf(text, sizeof(text),
		 "{'instance':'lab','channel':{'name':'%s'},'ports':[" PORT0
		 "]}", name);
	expect_err(text, "channel.name: too long");
	name[63] = '\0';
	snprintf(text, sizeof(text),
		 "{'instance':'lab','channel':{'name':'%s'},'ports':[" PORT0
		 "]}", name);
	expect_ok(text);
	cr_expect_str_eq(cfg.channel.name, name);
}

static const char *with_socket(size_t len)
{
	static char text[512];
	char path[HG_PATH_MAX + 8];

	memset(path, 's', len);
	path[0] = '/';
	path[len] = '\0';
	snprintf(text, sizeof(text),
		 "{'instance':'lab','control':{'socket':'%s'},'ports':[" PORT0
		 "]}", path);
	return text;
}

Test(config_bad, socket_path)
{
	expect_err(CFG_SECTION("control", "'socket':'ctl.sock'"),
		   "control.socket: must be an absolute path");
	expect_err(CFG_SECTION("control", "'socket':''"),
		   "control.socket: must be an absolute path");
	expect_err(with_socket(HG_PATH_MAX), "control.socket: too long");
	expect_ok(with_socket(HG_PATH_MAX - 1));
	cr_expect_eq(strlen(cfg.control.socket), HG_PATH_MAX - 1);
}

/* ------------------------------------------------------------------ */
/* Addresses */

#define WITH_ADDR(a) CFG_PORT("'name':'c','device':'net_null0','address':" a)
#define WITH_GW(a, g)                                                          \
	CFG_PORT("'name':'c','device':'net_null0','address':" a                \
		 ",'gateway':" g)

Test(config_bad, bad_address)
{
	static const char *const bad[] = {
		WITH_ADDR("'10.0.0.1'"),     WITH_ADDR("'10.0.0/24'"),
		WITH_ADDR("'10.0.0.1/'"),    WITH_ADDR("'10.0.0.1/24 '"),
		WITH_ADDR("'x'"),            WITH_ADDR("''"),
		WITH_ADDR("'10.0.0.256/24'"), WITH_ADDR("'10.0.0.1/33'"),
		WITH_ADDR("'010.0.0.1/24'"), WITH_ADDR("'10.0.0.1/-1'"),
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_err(bad[i],
			   "ports[0].address: not an IPv4 prefix a.b.c.d/len");
	expect_err(CFG_PORTS(PORT0 ",{'name':'s','device':'net_null1',"
				   "'address':'10.1.0.1'}"),
		   "ports[1].address: not an IPv4 prefix a.b.c.d/len");
}

Test(config_bad, bad_prefix)
{
	expect_err(WITH_ADDR("'10.0.0.1/0'"),
		   "ports[0].address: prefix length must be between 1 and 31");
	expect_err(WITH_ADDR("'10.0.0.1/32'"),
		   "ports[0].address: prefix length must be between 1 and 31");
	expect_ok(WITH_ADDR("'64.0.0.1/1'"));
	expect_ok(WITH_ADDR("'10.0.0.0/31'"));
	expect_ok(WITH_ADDR("'10.0.0.1/31'"));
}

Test(config_bad, not_unicast)
{
	expect_err(WITH_ADDR("'127.0.0.1/8'"),
		   "ports[0].address: 127.0.0.1 is not a unicast address");
	expect_err(WITH_ADDR("'224.0.0.1/24'"), "ports[0].address:");
	expect_err(WITH_ADDR("'240.0.0.1/24'"), "ports[0].address:");
	expect_err(WITH_ADDR("'0.0.0.1/24'"), "ports[0].address:");
}

Test(config_bad, network_or_broadcast_address)
{
	expect_err(WITH_ADDR("'10.0.0.0/24'"),
		   "ports[0].address: 10.0.0.0 is the network address");
	expect_err(WITH_ADDR("'10.0.0.255/24'"),
		   "ports[0].address: 10.0.0.255 is the broadcast address");
	expect_err(WITH_ADDR("'10.0.0.4/30'"), "ports[0].address:");
	expect_err(WITH_ADDR("'10.0.0.7/30'"), "ports[0].address:");
	expect_ok(WITH_ADDR("'10.0.0.5/30'"));
}

Test(config_bad, gateway)
{
	expect_err(WITH_GW("'10.10.0.1/24'", "'10.9.0.1'"),
		   "ports[0].gateway: 10.9.0.1 is outside 10.10.0.0/24");
	expect_err(WITH_GW("'10.10.0.1/24'", "'10.10.0.1'"),
		   "ports[0].gateway: 10.10.0.1 is the port's own address");
	expect_err(WITH_GW("'10.10.0.1/24'", "'10.10.0.0'"),
		   "ports[0].gateway: 10.10.0.0 is the network address");
	expect_err(WITH_GW("'10.10.0.1/24'", "'10.10.0.255'"),
		   "ports[0].gateway: 10.10.0.255 is the broadcast address");
	expect_err(WITH_GW("'10.10.0.1/24'", "'10.10.0'"),
		   "ports[0].gateway: not an IPv4 address");
	expect_err(WITH_GW("'10.10.0.1/24'", "'10.10.0.2/24'"),
		   "ports[0].gateway: not an IPv4 address");
	expect_err(WITH_GW("'10.10.0.1/24'", "'0.0.0.0'"),
		   "ports[0].gateway:");
	expect_err(WITH_GW("'64.0.0.1/1'", "'127.0.0.1'"),
		   "ports[0].gateway: 127.0.0.1 is not a unicast address");
	expect_ok(WITH_GW("'10.0.0.0/31'", "'10.0.0.1'"));
	cr_expect_eq(cfg.ports[0].gateway, 0x0a000001);
}

Test(config_bad, overlapping_subnets)
{
	expect_err(CFG_PORTS(PORT0 ",{'name':'s','device':'net_null1',"
				   "'address':'10.0.0.129/25'}"),
		   "ports[1].address: subnet 10.0.0.128/25 overlaps ports[0]");
	expect_err(CFG_PORTS(PORT0 ",{'name':'s','device':'net_null1',"
				   "'address':'10.0.5.1/16'}"),
		   "ports[1].address: subnet 10.0.0.0/16 overlaps ports[0]");
	expect_ok(CFG_PORTS(PORT0 ",{'name':'s','device':'net_null1',"
				  "'address':'10.0.1.1/24'}"));
}

/* ------------------------------------------------------------------ */
/* Ports */

Test(config_bad, duplicate_port_name)
{
	expect_err(CFG_PORTS(PORT0 ",{'name':'server','device':'net_null1',"
				   "'address':'10.1.0.1/24'},"
				   "{'name':'client','device':'net_null2',"
				   "'address':'10.2.0.1/24'}"),
		   "ports[2].name: duplicate port name \"client\"");
}

Test(config_bad, duplicate_device)
{
	expect_err(CFG_PORTS(PORT0 ",{'name':'s','device':'net_null0,x=1',"
				   "'address':'10.1.0.1/24'}"),
		   "ports[1].device: same device as ports[0]");
	expect_err(CFG_PORTS("{'name':'a','pci':'0000:0a:00.0',"
			     "'address':'10.0.0.1/24'},"
			     "{'name':'b','pci':'0000:0A:00.0',"
			     "'address':'10.1.0.1/24'}"),
		   "ports[1].pci: same device as ports[0]");
}

Test(config_bad, device)
{
	expect_err(CFG_PORT("'name':'c','device':'','address':'10.0.0.1/24'"),
		   "ports[0].device: must not be empty");
	expect_err(CFG_PORT("'name':'c','device':'eth0',"
			    "'address':'10.0.0.1/24'"),
		   "ports[0].device: must be a DPDK vdev");
	expect_err(CFG_PORT("'name':'c','device':'net_',"
			    "'address':'10.0.0.1/24'"),
		   "ports[0].device:");
	expect_err(CFG_PORT("'name':'c','device':'net_,iface=x',"
			    "'address':'10.0.0.1/24'"),
		   "ports[0].device:");
	expect_err(CFG_PORT("'name':'c','device':'net_x\\n',"
			    "'address':'10.0.0.1/24'"),
		   "ports[0].device: must be printable ASCII");
}

Test(config_bad, device_too_long)
{
	char text[1024], dev[300];

	memset(dev, 'd', sizeof(dev));
	memcpy(dev, "net_", 4);
	dev[256] = '\0';
	snprintf(text, sizeof(text),
		 CFG_PORT("'name':'c','device':'%s','address':'10.0.0.1/24'"),
		 dev);
	expect_err(text, "ports[0].device: too long");
	dev[255] = '\0';
	snprintf(text, sizeof(text),
		 CFG_PORT("'name':'c','device':'%s','address':'10.0.0.1/24'"),
		 dev);
	expect_ok(text);
}

Test(config_bad, pci_format)
{
	static const char *const bad[] = {
		"03:00.0",       "0000:03:00",     "0000:3:00.0",
		"0000:03:00.8",  "0000:03:20.0",   "g000:03:00.0",
		"0000-03-00.0",  "0000:03:00.0 ",  "",
		"00000:03:00.0", "0000:03:00.00",  "0000:03:00:0",
	};
	char text[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 CFG_PORT("'name':'c','pci':'%s',"
				  "'address':'10.0.0.1/24'"), bad[i]);
		expect_err(text, "ports[0].pci: not a PCI address");
	}
	expect_ok(CFG_PORT("'name':'c','pci':'0000:0A:1f.7',"
			   "'address':'10.0.0.1/24'"));
	cr_expect_str_eq(cfg.ports[0].pci, "0000:0A:1f.7");
}

Test(config_bad, too_many_ports)
{
	expect_err(CFG_PORTS(PORT0 "," PORT0 "," PORT0 "," PORT0 "," PORT0
			     "," PORT0 "," PORT0 "," PORT0 "," PORT0),
		   "ports: must have between 1 and 8 ports");
}

/* ------------------------------------------------------------------ */
/* dataplane cross-field rules */

Test(config_bad, cpus)
{
	expect_err(CFG_SECTION("dataplane", "'workers':2,'cpus':[1]"),
		   "dataplane.cpus: has 1 entries but workers is 2");
	expect_err(CFG_SECTION("dataplane", "'cpus':[1,2]"),
		   "dataplane.cpus: has 2 entries but workers is 1");
	expect_err(CFG_SECTION("dataplane", "'cpus':[]"), "dataplane.cpus:");
	expect_err(CFG_SECTION("dataplane", "'workers':3,'cpus':[4,5,4]"),
		   "dataplane.cpus[2]: duplicate CPU 4");
	expect_err(CFG_SECTION("dataplane", "'cpus':[1024]"),
		   "dataplane.cpus[0]: must be an integer between 0 and 1023");
	expect_err(CFG_SECTION("dataplane", "'cpus':[-1]"),
		   "dataplane.cpus[0]: must be an integer between 0 and 1023");
	expect_err(CFG_SECTION("dataplane", "'workers':2,'cpus':[0,'1']"),
		   "dataplane.cpus[1]: must be an integer");
	expect_err(CFG_SECTION("dataplane", "'cpus':[1.0]"),
		   "dataplane.cpus[0]: must be an integer");
	expect_err(CFG_SECTION("dataplane", "'cpus':1"),
		   "dataplane.cpus: must be an array");
	expect_err(CFG_SECTION("dataplane",
			       "'workers':16,'cpus':[0,1,2,3,4,5,6,7,8,9,"
			       "10,11,12,13,14,15,16]"),
		   "dataplane.cpus: at most 16");
	expect_ok(CFG_SECTION("dataplane",
			      "'cpus':[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,"
			      "1023],'workers':16"));
	cr_expect_eq(cfg.dataplane.n_cpus, 16);
	cr_expect_eq(cfg.dataplane.cpus[15], 1023);
}

Test(config_bad, sleep_max_below_min)
{
	expect_err(CFG_SECTION("dataplane", "'idle_sleep_min_us':500,"
					    "'idle_sleep_max_us':100"),
		   "dataplane.idle_sleep_max_us: must not be less than "
		   "idle_sleep_min_us (500)");
	/* Against the default max, too: the default is not exempt. */
	expect_err(CFG_SECTION("dataplane", "'idle_sleep_min_us':5000"),
		   "dataplane.idle_sleep_max_us:");
	expect_ok(CFG_SECTION("dataplane", "'idle_sleep_min_us':100,"
					   "'idle_sleep_max_us':100"));
}

/* ------------------------------------------------------------------ */
/* Error buffer */

Test(config_bad, error_truncated_safely)
{
	char small[9];

	memset(small, 'X', sizeof(small));
	cr_assert_eq(hg_config_load_string("[]", &cfg, small, 8), -1);
	cr_expect_eq(strlen(small), 7);
	cr_expect_eq(small[8], 'X', "wrote past errlen");
	cr_expect_eq(hg_config_load_string("[]", &cfg, NULL, 0), -1);
	cr_expect_eq(hg_config_load_file("/nonexistent", &cfg, NULL, 0), -1);
}

/* ------------------------------------------------------------------ */
/* Files */

/* Writes `len` bytes of `text` to a new temporary file, name in `path`. */
static void write_temp(char path[64], const char *text, size_t len)
{
	int fd;

	snprintf(path, 64, "/tmp/hg-test-config-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

Test(config_file, loads)
{
	const char *text = dq(FULL);
	char path[64];
	int rc;

	write_temp(path, text, strlen(text));
	rc = hg_config_load_file(path, &cfg, err, sizeof(err));
	unlink(path);
	cr_assert_eq(rc, 0, "%s", err);
	cr_expect_eq(cfg.n_ports, 2);
}

Test(config_file, not_found)
{
	const char *path = "/nonexistent/hopgate.json";

	cr_assert_eq(hg_config_load_file(path, &cfg, err, sizeof(err)), -1);
	cr_expect(strstr(err, path) != NULL, "%s", err);
	cr_expect(strstr(err, "No such file or directory") != NULL, "%s", err);
}

Test(config_file, directory)
{
	cr_assert_eq(hg_config_load_file("/tmp", &cfg, err, sizeof(err)), -1);
	cr_expect(strstr(err, "/tmp: ") != NULL, "%s", err);
	cr_expect(strstr(err, "Is a directory") != NULL, "%s", err);
}

Test(config_file, error_names_file_and_field)
{
	const char *text = dq("{'instance':'lab',\n'ports':[\n"
			      "{'name':'c','device':'net_null0',"
			      "'address':'10.0.0.0/24'}]}");
	char path[64];
	int rc;

	write_temp(path, text, strlen(text));
	rc = hg_config_load_file(path, &cfg, err, sizeof(err));
	unlink(path);
	cr_assert_eq(rc, -1);
	cr_expect(strstr(err, path) != NULL, "%s", err);
	cr_expect(strstr(err, "ports[0].address") != NULL, "%s", err);

	text = "{\n\"instance\": \"lab\",\n}";
	write_temp(path, text, strlen(text));
	rc = hg_config_load_file(path, &cfg, err, sizeof(err));
	unlink(path);
	cr_assert_eq(rc, -1);
	cr_expect(strstr(err, path) != NULL, "%s", err);
	cr_expect(strstr(err, "line 3") != NULL, "%s", err);
}

Test(config_file, size_limit)
{
	const size_t limit = 1024 * 1024;
	const char *json = dq(MINIMAL);
	char *text = malloc(limit + 1), path[64];
	int rc;

	/* Exactly 1 MiB (padding is whitespace) loads; one byte more not. */
	cr_assert_not_null(text);
	memset(text, ' ', limit + 1);
	memcpy(text, json, strlen(json));
	write_temp(path, text, limit);
	rc = hg_config_load_file(path, &cfg, err, sizeof(err));
	unlink(path);
	cr_expect_eq(rc, 0, "%s", err);

	write_temp(path, text, limit + 1);
	rc = hg_config_load_file(path, &cfg, err, sizeof(err));
	unlink(path);
	free(text);
	cr_expect_eq(rc, -1);
	cr_expect(strstr(err, path) != NULL, "%s", err);
	cr_expect(strstr(err, "larger than") != NULL, "%s", err);
}

Test(config_file, nul_byte)
{
	const char *json = dq(MINIMAL);
	char text[512], path[64];
	size_t n = strlen(json);
	int rc;

	/* json_loads would stop at the NUL and ignore what follows. */
	memcpy(text, json, n);
	memcpy(text + n, "\0garbage", 8);
	write_temp(path, text, n + 8);
	rc = hg_config_load_file(path, &cfg, err, sizeof(err));
	unlink(path);
	cr_expect_eq(rc, -1);
	cr_expect(strstr(err, "NUL") != NULL, "%s", err);
}

Test(config_file, lab_example)
{
	const char *path = HG_SOURCE_DIR "/configs/lab.json";

	if (access(path, F_OK) != 0)
		cr_skip_test("%s not present", path);
	cr_assert_eq(hg_config_load_file(path, &cfg, err, sizeof(err)), 0,
		     "%s", err);
}

/* ------------------------------------------------------------------ */
/* TLS on a virtual server */

#define CFG_TLS(tls)                                                           \
	"{'instance':'lab','ports':[" PORT0 "],'virtual_servers':[{"          \
	"'name':'web','address':'10.0.0.1','port':443,"                      \
	"'backends':[{'address':'10.0.0.7','port':8080}]" tls "}]}"
#define CERT0 "{'cert':'/etc/hg/gw.pem','key':'/etc/hg/gw.key'}"

Test(config_tls, defaults)
{
	const struct hg_tls_config *t = &cfg.vs[0].tls;

	cr_assert_eq(load(CFG_TLS(",'tls':{'certificates':[" CERT0 "]}")), 0,
		     "%s", err);
	cr_expect(t->enabled);
	cr_expect_eq(t->n_certs, 1);
	cr_expect_str_eq(t->certs[0].cert, "/etc/hg/gw.pem");
	cr_expect_str_eq(t->certs[0].key, "/etc/hg/gw.key");
	cr_expect_eq(t->min_version, HG_TLS_V12);
	cr_expect_eq(t->max_version, HG_TLS_V13);
	cr_expect_str_eq(t->ciphersuites, "");
	cr_expect_str_eq(t->alpn, "");
	cr_expect(t->session_tickets);
	cr_expect_eq(t->ticket_lifetime_s, 7200);
	cr_expect_eq(t->record_size, 16384);
	cr_expect_eq(t->handshake_timeout_s, 10);
}

Test(config_tls, absent_means_plain)
{
	cr_assert_eq(load(CFG_TLS("")), 0, "%s", err);
	cr_expect_not(cfg.vs[0].tls.enabled);
}

Test(config_tls, every_field_and_round_trip)
{
	static const char *full = CFG_TLS(
		",'tls':{'certificates':[" CERT0 ",{'cert':'b.pem','key':"
		"'b.key'}],'min_version':'1.3','max_version':'1.3',"
		"'ciphersuites':'TLS_AES_256_GCM_SHA384','ciphers':'',"
		"'groups':'X25519','alpn':['h2','http/1.1'],"
		"'session_tickets':false,'ticket_lifetime_s':600,"
		"'record_size':4096,'handshake_timeout_s':5}");
	const struct hg_tls_config *t = &cfg.vs[0].tls;

	cr_assert_eq(load(full), 0, "%s", err);
	cr_expect_eq(t->n_certs, 2);
	cr_expect_eq(t->min_version, HG_TLS_V13);
	cr_expect_str_eq(t->ciphersuites, "TLS_AES_256_GCM_SHA384");
	cr_expect_str_eq(t->groups, "X25519");
	cr_expect_str_eq(t->alpn, "h2,http/1.1");
	cr_expect_not(t->session_tickets);
	cr_expect_eq(t->record_size, 4096);
	round_trip(full);
}

Test(config_tls, bad)
{
	expect_err(CFG_TLS(",'tls':{}"), "virtual_servers[0].tls.certificates: "
					   "required");
	expect_err(CFG_TLS(",'tls':{'certificates':[]}"), "certificates");
	expect_err(CFG_TLS(",'tls':{'certificates':[{'cert':'a'}]}"),
		   "certificates[0].key: required");
	expect_err(CFG_TLS(",'tls':{'certificates':[{'cert':'a','key':'b',"
			   "'pass':'x'}]}"),
		   "certificates[0].pass: unknown field");
	expect_err(CFG_TLS(",'tls':{'certificates':[" CERT0 "],"
			   "'min_version':'1.1'}"),
		   "tls.min_version");
	expect_err(CFG_TLS(",'tls':{'certificates':[" CERT0 "],"
			   "'min_version':'1.3','max_version':'1.2'}"),
		   "above max_version");
	expect_err(CFG_TLS(",'tls':{'certificates':[" CERT0 "],"
			   "'alpn':'h2'}"),
		   "tls.alpn");
	expect_err(CFG_TLS(",'tls':{'certificates':[" CERT0 "],"
			   "'alpn':['a,b']}"),
		   "without commas");
	expect_err(CFG_TLS(",'tls':{'certificates':[" CERT0 "],"
			   "'record_size':100}"),
		   "tls.record_size");
	expect_err(CFG_TLS(",'tls':{'certificates':[" CERT0 "],"
			   "'versions':['1.3']}"),
		   "tls.versions: unknown field");
	expect_err(CFG_TLS(",'tls':true"), "tls: must be an object");
}

Test(config_tls, backend_tls)
{
	static const char *full = CFG_TLS(
		",'tls':{'certificates':[" CERT0 "]},'backend_tls':{"
		"'ca':'/etc/hg/inside-ca.pem','server_name':'app.inside',"
		"'max_version':'1.2','alpn':['http/1.1'],'verify':false}");
	const struct hg_backend_tls_config *b = &cfg.vs[0].backend_tls;

	cr_assert_eq(load(full), 0, "%s", err);
	cr_expect(b->enabled);
	cr_expect_str_eq(b->ca, "/etc/hg/inside-ca.pem");
	cr_expect_str_eq(b->server_name, "app.inside");
	cr_expect_eq(b->min_version, HG_TLS_V12);
	cr_expect_eq(b->max_version, HG_TLS_V12);
	cr_expect_str_eq(b->alpn, "http/1.1");
	cr_expect_not(b->verify);
	cr_expect(b->session_reuse);
	round_trip(full);

	cr_assert_eq(load(CFG_TLS(",'tls':{'certificates':[" CERT0 "]},"
				  "'backend_tls':{}")), 0, "%s", err);
	cr_expect(b->verify);
	cr_expect_str_eq(b->ca, "");
	expect_err(CFG_TLS(",'backend_tls':{}"),
		   "virtual_servers[0].backend_tls: needs tls");
	expect_err(CFG_TLS(",'tls':{'certificates':[" CERT0 "]},"
			   "'backend_tls':{'verify':'yes'}"),
		   "backend_tls.verify");
	expect_err(CFG_TLS(",'tls':{'certificates':[" CERT0 "]},"
			   "'backend_tls':{'cert':'x'}"),
		   "backend_tls.cert: unknown field");
}

Test(config_tls, ica_handler_and_sta)
{
	static const char *ica =
		"{'instance':'lab','ports':[" PORT0 "],"
		"'sta':{'authority_id':'STA475DE9C8ABDA','lifetime_s':30},"
		"'virtual_servers':[{'name':'ica','address':'10.0.0.1',"
		"'port':443,'handler':'ica','tls':{'certificates':[" CERT0
		"]}}]}";

	cr_assert_eq(load(ica), 0, "%s", err);
	cr_expect_eq(cfg.vs[0].handler, HG_HANDLER_ICA);
	cr_expect_eq(cfg.vs[0].n_backends, 0);
	cr_expect_str_eq(cfg.sta.authority_id, "STA475DE9C8ABDA");
	cr_expect_eq(cfg.sta.lifetime_s, 30);
	cr_expect_eq(cfg.sta.max_tickets, 65536);
	round_trip(ica);

	cr_assert_eq(load(MINIMAL), 0, "%s", err);
	cr_expect_str_eq(cfg.sta.authority_id, "STA0HOPGATE");
	cr_expect_eq(cfg.sta.lifetime_s, 100);
	expect_err(CFG_TLS(",'handler':'ica'"), "handler: \"ica\" needs tls");
	expect_err(CFG_TLS(",'handler':'socks'"), "virtual_servers[0].handler");
	expect_err("{'instance':'lab','ports':[" PORT0 "],'sta':{"
		   "'authority_id':'sta1'}}",
		   "sta.authority_id");
	expect_err("{'instance':'lab','ports':[" PORT0 "],'sta':{"
		   "'authority_id':'STA12345678901234567'}}",
		   "sta.authority_id");
	expect_err("{'instance':'lab','ports':[" PORT0 "],'virtual_servers':[{"
		   "'name':'web','address':'10.0.0.1','port':443}]}",
		   "backends: required");
}

Test(config_tls, cc_bbr)
{
	cr_assert_eq(load(CFG_TLS(",'cc':'bbr'")), 0, "%s", err);
	cr_expect_eq(cfg.vs[0].cc, HG_CC_KIND_BBR);
	round_trip(CFG_TLS(",'cc':'bbr'"));
	expect_err(CFG_TLS(",'cc':'vegas'"), "virtual_servers[0].cc");
}
