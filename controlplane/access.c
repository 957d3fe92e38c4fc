/* The "access" section: users, directories, resources (see access.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "pkt.h"

struct err {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 3, 4))) static int fail(struct err *e,
						      const char *path,
						      const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e->buf != NULL && e->len > 0)
		snprintf(e->buf, e->len, "access%s: %s", path, msg);
	return -1;
}

/* Unknown keys are mistakes: refused, named. */
static int check_keys(json_t *o, const char *path, const char *const *keys,
		      struct err *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(o))
		return fail(e, path, "must be an object");
	json_object_foreach(o, k, v) {
		unsigned i;

		(void)v;
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return fail(e, path, "unknown field \"%.48s\"", k);
	}
	return 0;
}

static int get_uint(json_t *o, const char *key, const char *path,
		    unsigned lo, unsigned hi, unsigned dflt, unsigned *out,
		    struct err *e)
{
	json_t *v = json_object_get(o, key);
	json_int_t n;

	if (v == NULL) {
		*out = dflt;
		return 0;
	}
	if (!json_is_integer(v))
		return fail(e, path, "%s must be an integer", key);
	n = json_integer_value(v);
	if (n < (json_int_t)lo || n > (json_int_t)hi)
		return fail(e, path, "%s must be %u..%u", key, lo, hi);
	*out = (unsigned)n;
	return 0;
}

/* A string of 1..cap-1 bytes without control characters. */
static int get_str(json_t *o, const char *key, const char *path,
		   const char *dflt, char *out, size_t cap, struct err *e)
{
	json_t *v = json_object_get(o, key);
	const char *s;
	size_t n;

	if (v == NULL) {
		if (dflt == NULL)
			return fail(e, path, "%s is required", key);
		snprintf(out, cap, "%s", dflt);
		return 0;
	}
	if (!json_is_string(v))
		return fail(e, path, "%s must be a string", key);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n >= cap)
		return fail(e, path, "%s must be 1..%zu bytes", key, cap - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return fail(e, path, "%s holds a control character",
				    key);
	memcpy(out, s, n + 1);
	return 0;
}

bool hg_access_name_valid(const char *s, size_t len)
{
	if (len == 0 || len >= HG_ACCESS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '@' || c == '-'))
			return false;
	}
	return true;
}

static int get_groups(json_t *o, const char *path,
		      char (*groups)[HG_ACCESS_NAME_MAX], unsigned *n,
		      struct err *e)
{
	json_t *a = json_object_get(o, "groups"), *g;
	size_t i;

	*n = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > HG_ACCESS_MAX_GROUPS)
		return fail(e, path, "groups must be an array of at most %d",
			    HG_ACCESS_MAX_GROUPS);
	json_array_foreach(a, i, g) {
		if (!json_is_string(g) ||
		    !hg_access_name_valid(json_string_value(g),
					  json_string_length(g)))
			return fail(e, path,
				    "groups[%zu] must be 1..64 of "
				    "[A-Za-z0-9._@-]", i);
		memcpy(groups[*n], json_string_value(g),
		       json_string_length(g) + 1);
		(*n)++;
	}
	return 0;
}

static int load_portal(json_t *root, struct hg_access_portal *p,
		       struct err *e)
{
	static const char *const keys[] = {"fqdn", "port", "title",
		"session_idle_s", "session_max_s", "max_sessions", NULL};
	json_t *o = json_object_get(root, "portal");
	json_t *empty = NULL;
	unsigned port;
	int rc = -1;

	if (o == NULL)
		o = empty = json_object();
	if (o == NULL)
		return fail(e, ".portal", "out of memory");
	if (check_keys(o, ".portal", keys, e) < 0 ||
	    get_str(o, "fqdn", ".portal", "gateway.lab", p->fqdn,
		    sizeof(p->fqdn), e) < 0 ||
	    get_uint(o, "port", ".portal", 1, 65535, 443, &port, e) < 0 ||
	    get_str(o, "title", ".portal", "hopgate", p->title,
		    sizeof(p->title), e) < 0 ||
	    get_uint(o, "session_idle_s", ".portal", 60, 86400, 900,
		     &p->session_idle_s, e) < 0 ||
	    get_uint(o, "session_max_s", ".portal", 300, 604800, 28800,
		     &p->session_max_s, e) < 0 ||
	    get_uint(o, "max_sessions", ".portal", 16, 1048576, 65536,
		     &p->max_sessions, e) < 0)
		goto out;
	/* The fqdn goes into ICA files: a host name, nothing else. */
	for (const char *c = p->fqdn; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '-')) {
			fail(e, ".portal", "fqdn must be a host name");
			goto out;
		}
	p->port = (uint16_t)port;
	rc = 0;
out:
	json_decref(empty);
	return rc;
}

static int load_user(json_t *o, const char *path, struct hg_access_user *u,
		     struct err *e)
{
	static const char *const keys[] = {"name", "hash", "groups", NULL};

	if (check_keys(o, path, keys, e) < 0 ||
	    get_str(o, "name", path, NULL, u->name, sizeof(u->name), e) < 0 ||
	    get_str(o, "hash", path, NULL, u->hash, sizeof(u->hash), e) < 0 ||
	    get_groups(o, path, u->groups, &u->n_groups, e) < 0)
		return -1;
	if (!hg_access_name_valid(u->name, strlen(u->name)))
		return fail(e, path, "name must be 1..64 of [A-Za-z0-9._@-]");
	/* crypt(3) hashes start with '$' (yescrypt "$y$", SHA-512 "$6$"):
	 * anything else (plain text, DES) is refused. */
	if (u->hash[0] != '$' || strlen(u->hash) < 20)
		return fail(e, path, "hash must be a crypt(3) hash such as "
			    "mkpasswd -m yescrypt prints");
	return 0;
}

static int load_ldap(json_t *o, struct hg_access_ldap *l, struct err *e)
{
	static const char *const keys[] = {"uri", "user_dn", "group_base",
		"group_filter", "group_attr", "timeout_s", "ca_file", NULL};
	const char *p = ".auth.ldap";

	if (check_keys(o, p, keys, e) < 0 ||
	    get_str(o, "uri", p, NULL, l->uri, sizeof(l->uri), e) < 0 ||
	    get_str(o, "user_dn", p, NULL, l->user_dn, sizeof(l->user_dn),
		    e) < 0 ||
	    get_str(o, "group_base", p, NULL, l->group_base,
		    sizeof(l->group_base), e) < 0 ||
	    get_str(o, "group_filter", p, "(|(member=%d)(memberUid=%u))",
		    l->group_filter, sizeof(l->group_filter), e) < 0 ||
	    get_str(o, "group_attr", p, "cn", l->group_attr,
		    sizeof(l->group_attr), e) < 0 ||
	    get_uint(o, "timeout_s", p, 1, 60, 5, &l->timeout_s, e) < 0)
		return -1;
	if (json_object_get(o, "ca_file") != NULL &&
	    get_str(o, "ca_file", p, NULL, l->ca_file, sizeof(l->ca_file),
		    e) < 0)
		return -1;
	if (strncmp(l->uri, "ldap://", 7) != 0 &&
	    strncmp(l->uri, "ldaps://", 8) != 0)
		return fail(e, p, "uri must start with ldap:// or ldaps://");
	{
		const char *s = strstr(l->user_dn, "%s");

		if (s == NULL || strstr(s + 2, "%") != NULL ||
		    strchr(l->user_dn, '%') != s)
			return fail(e, p, "user_dn must hold exactly one %%s "
				    "and no other %%");
	}
	l->enabled = true;
	return 0;
}

static int load_auth(json_t *root, struct hg_access_auth *a, struct err *e)
{
	static const char *const keys[] = {"max_failures",
		"max_address_failures", "lockout_s", "delay_ms", "users", "ldap",
		NULL};
	json_t *o = json_object_get(root, "auth"), *users, *u;
	size_t i;

	if (o == NULL) {
		a->max_failures = 5;
		a->max_address_failures = 20;
		a->lockout_s = 300;
		a->delay_ms = 500;
		return 0;
	}
	if (check_keys(o, ".auth", keys, e) < 0 ||
	    get_uint(o, "max_failures", ".auth", 1, 1000, 5,
		     &a->max_failures, e) < 0 ||
	    get_uint(o, "max_address_failures", ".auth", 1, 100000, 20,
		     &a->max_address_failures, e) < 0 ||
	    get_uint(o, "lockout_s", ".auth", 1, 86400, 300, &a->lockout_s,
		     e) < 0 ||
	    get_uint(o, "delay_ms", ".auth", 0, 10000, 500, &a->delay_ms,
		     e) < 0)
		return -1;
	users = json_object_get(o, "users");
	if (users != NULL) {
		if (!json_is_array(users) || json_array_size(users) > 100000)
			return fail(e, ".auth", "users must be an array of at "
				    "most 100000");
		if (json_array_size(users) > 0) {
			a->users = calloc(json_array_size(users),
					  sizeof(*a->users));
			if (a->users == NULL)
				return fail(e, ".auth", "out of memory");
		}
		json_array_foreach(users, i, u) {
			char path[48];

			snprintf(path, sizeof(path), ".auth.users[%zu]", i);
			if (load_user(u, path, &a->users[i], e) < 0)
				return -1;
			for (unsigned j = 0; j < i; j++)
				if (strcmp(a->users[j].name,
					   a->users[i].name) == 0)
					return fail(e, path, "name \"%s\" "
						    "used twice",
						    a->users[i].name);
			a->n_users++;
		}
	}
	if (json_object_get(o, "ldap") != NULL &&
	    load_ldap(json_object_get(o, "ldap"), &a->ldap, e) < 0)
		return -1;
	return 0;
}

static int get_addr(json_t *o, const char *key, const char *path,
		    uint32_t *out, struct err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || !hg_ipv4_parse(json_string_value(v), out))
		return fail(e, path, "%s must be an IPv4 address a.b.c.d",
			    key);
	return 0;
}

static int load_server(json_t *o, const char *path,
		       struct hg_access_server *s, struct err *e)
{
	static const char *const keys[] = {"address", "port", "cgp_port",
					   NULL};
	unsigned port, cgp;

	if (check_keys(o, path, keys, e) < 0 ||
	    get_addr(o, "address", path, &s->addr, e) < 0 ||
	    get_uint(o, "port", path, 1, 65535, 1494, &port, e) < 0 ||
	    get_uint(o, "cgp_port", path, 1, 65535, 2598, &cgp, e) < 0)
		return -1;
	s->port = (uint16_t)port;
	s->cgp_port = (uint16_t)cgp;
	return 0;
}

static int load_resource(json_t *o, const char *path,
			 struct hg_access_resource *r, struct err *e)
{
	static const char *const keys[] = {"name", "title", "type", "groups",
					   "servers", NULL};
	json_t *servers, *s;
	char type[16];
	size_t i, n;

	if (check_keys(o, path, keys, e) < 0 ||
	    get_str(o, "name", path, NULL, r->name, sizeof(r->name), e) < 0)
		return -1;
	n = strlen(r->name);
	for (i = 0; i < n; i++) {
		char c = r->name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return fail(e, path, "name must be 1..31 of "
				    "[A-Za-z0-9_-]");
	}
	if (get_str(o, "title", path, r->name, r->title, sizeof(r->title),
		    e) < 0 ||
	    get_str(o, "type", path, "application", type, sizeof(type), e) < 0 ||
	    get_groups(o, path, r->groups, &r->n_groups, e) < 0)
		return -1;
	if (strcmp(type, "application") == 0)
		r->type = HG_RES_APPLICATION;
	else if (strcmp(type, "desktop") == 0)
		r->type = HG_RES_DESKTOP;
	else
		return fail(e, path, "type must be \"application\" or "
			    "\"desktop\"");
	if (r->n_groups == 0)
		return fail(e, path, "groups must name at least one group");
	servers = json_object_get(o, "servers");
	if (!json_is_array(servers) || json_array_size(servers) == 0 ||
	    json_array_size(servers) > HG_ACCESS_MAX_SERVERS)
		return fail(e, path, "servers must be an array of 1..%d",
			    HG_ACCESS_MAX_SERVERS);
	json_array_foreach(servers, i, s) {
		char sp[80];

		snprintf(sp, sizeof(sp), "%s.servers[%zu]", path, i);
		if (load_server(s, sp, &r->servers[i], e) < 0)
			return -1;
		r->n_servers++;
	}
	return 0;
}

static int load_resources(json_t *root, struct hg_access_config *a,
			  struct err *e)
{
	json_t *arr = json_object_get(root, "resources"), *o;
	size_t i;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) ||
	    json_array_size(arr) > HG_ACCESS_MAX_RESOURCES)
		return fail(e, ".resources", "must be an array of at most %d",
			    HG_ACCESS_MAX_RESOURCES);
	if (json_array_size(arr) == 0)
		return 0;
	a->resources = calloc(json_array_size(arr), sizeof(*a->resources));
	if (a->resources == NULL)
		return fail(e, ".resources", "out of memory");
	json_array_foreach(arr, i, o) {
		char path[40];

		snprintf(path, sizeof(path), ".resources[%zu]", i);
		if (load_resource(o, path, &a->resources[i], e) < 0)
			return -1;
		if (hg_access_resource(a, a->resources[i].name) != NULL)
			return fail(e, path, "name \"%s\" used twice",
				    a->resources[i].name);
		a->n_resources++;
	}
	return 0;
}

static int load_sta_clients(json_t *root, struct hg_access_config *a,
			    struct err *e)
{
	json_t *arr = json_object_get(root, "sta_clients"), *v;
	size_t i;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > HG_ACCESS_MAX_CIDRS)
		return fail(e, ".sta_clients", "must be an array of at most "
			    "%d CIDRs", HG_ACCESS_MAX_CIDRS);
	json_array_foreach(arr, i, v) {
		uint32_t net;
		uint8_t bits;

		if (!json_is_string(v) ||
		    !hg_ipv4_parse_prefix(json_string_value(v), &net, &bits))
			return fail(e, ".sta_clients", "[%zu] must be "
				    "a.b.c.d/bits", i);
		a->sta_clients[i].mask = bits == 0 ? 0 : ~0u << (32 - bits);
		a->sta_clients[i].net = net & a->sta_clients[i].mask;
		a->n_sta_clients++;
	}
	return 0;
}

/* "http://a.b.c.d[:port]/path": remote STAs are reached by address, so
 * no resolver sits on the control plane's path. */
static int parse_url(const char *url, struct hg_access_remote_sta *r)
{
	const char *h, *slash, *colon;
	char host[16];
	size_t n;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	h = url + 7;
	slash = strchr(h, '/');
	if (slash == NULL)
		return -1;
	colon = memchr(h, ':', (size_t)(slash - h));
	n = (size_t)((colon != NULL ? colon : slash) - h);
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	if (!hg_ipv4_parse(host, &r->addr))
		return -1;
	r->port = 80;
	if (colon != NULL) {
		char *end;
		long p = strtol(colon + 1, &end, 10);

		if (end != slash || p < 1 || p > 65535)
			return -1;
		r->port = (uint16_t)p;
	}
	if (strlen(slash) >= sizeof(r->path))
		return -1;
	snprintf(r->path, sizeof(r->path), "%s", slash);
	return 0;
}

static int load_remote_stas(json_t *root, struct hg_access_config *a,
			    struct err *e)
{
	static const char *const keys[] = {"authority_id", "url", NULL};
	json_t *arr = json_object_get(root, "remote_stas"), *o;
	size_t i;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr) ||
	    json_array_size(arr) > HG_ACCESS_MAX_REMOTE_STAS)
		return fail(e, ".remote_stas", "must be an array of at most %d",
			    HG_ACCESS_MAX_REMOTE_STAS);
	json_array_foreach(arr, i, o) {
		struct hg_access_remote_sta *r = &a->remote_stas[i];
		char path[40], url[HG_ACCESS_TEXT_MAX];
		const char *id = r->authority_id;
		size_t n;

		snprintf(path, sizeof(path), ".remote_stas[%zu]", i);
		if (check_keys(o, path, keys, e) < 0 ||
		    get_str(o, "authority_id", path, NULL, r->authority_id,
			    sizeof(r->authority_id), e) < 0 ||
		    get_str(o, "url", path, NULL, url, sizeof(url), e) < 0)
			return -1;
		n = strlen(id);
		if (n < 4 || n > 19 || strncmp(id, "STA", 3) != 0)
			return fail(e, path, "authority_id must be STA and "
				    "1..16 of [A-Z0-9]");
		for (size_t j = 3; j < n; j++)
			if (!((id[j] >= 'A' && id[j] <= 'Z') ||
			      (id[j] >= '0' && id[j] <= '9')))
				return fail(e, path, "authority_id must be "
					    "STA and 1..16 of [A-Z0-9]");
		if (parse_url(url, r) < 0)
			return fail(e, path, "url must be http://a.b.c.d[:port]"
				    "/path");
		a->n_remote_stas++;
	}
	return 0;
}

static int load_root(json_t *root, struct hg_access_config *a,
		     struct err *e)
{
	static const char *const keys[] = {"portal", "auth", "resources",
		"sta_clients", "remote_stas", NULL};

	if (check_keys(root, "", keys, e) < 0 || load_portal(root, &a->portal,
							       e) < 0 ||
	    load_auth(root, &a->auth, e) < 0 ||
	    load_resources(root, a, e) < 0 ||
	    load_sta_clients(root, a, e) < 0 ||
	    load_remote_stas(root, a, e) < 0)
		return -1;
	return 0;
}

static int load_json(json_t *top, struct hg_access_config *out,
		     struct err *e)
{
	json_t *root = json_is_object(top) ? json_object_get(top, "access")
					   : NULL;
	json_t *empty = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(top))
		return fail(e, "", "the config is not a JSON object");
	if (root == NULL)
		root = empty = json_object();
	if (root == NULL)
		return fail(e, "", "out of memory");
	rc = load_root(root, out, e);
	json_decref(empty);
	if (rc < 0)
		hg_access_free(out);
	return rc;
}

int hg_access_load_string(const char *json, struct hg_access_config *out,
			  char *err, size_t errlen)
{
	struct err e = {err, errlen};
	json_error_t jerr;
	json_t *top = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (top == NULL) {
		memset(out, 0, sizeof(*out));
		return fail(&e, "", "JSON syntax error at line %d: %s",
			    jerr.line, jerr.text);
	}
	rc = load_json(top, out, &e);
	json_decref(top);
	return rc;
}

int hg_access_load_file(const char *path, struct hg_access_config *out,
			char *err, size_t errlen)
{
	struct err e = {err, errlen};
	json_error_t jerr;
	json_t *top = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (top == NULL) {
		memset(out, 0, sizeof(*out));
		return fail(&e, "", "%s: line %d: %s", path, jerr.line,
			    jerr.text);
	}
	rc = load_json(top, out, &e);
	json_decref(top);
	return rc;
}

void hg_access_free(struct hg_access_config *a)
{
	if (a == NULL)
		return;
	if (a->auth.users != NULL) {
		explicit_bzero(a->auth.users,
			       a->auth.n_users * sizeof(*a->auth.users));
		free(a->auth.users);
	}
	free(a->resources);
	memset(a, 0, sizeof(*a));
}

bool hg_access_allowed(const struct hg_access_resource *r,
		       const char (*user_groups)[HG_ACCESS_NAME_MAX],
		       unsigned n)
{
	for (unsigned i = 0; i < r->n_groups; i++)
		for (unsigned j = 0; j < n; j++)
			if (strcmp(r->groups[i], user_groups[j]) == 0)
				return true;
	return false;
}

const struct hg_access_resource *
hg_access_resource(const struct hg_access_config *a, const char *name)
{
	for (unsigned i = 0; i < a->n_resources; i++)
		if (strcmp(a->resources[i].name, name) == 0)
			return &a->resources[i];
	return NULL;
}

bool hg_access_sta_client(const struct hg_access_config *a, uint32_t addr)
{
	for (unsigned i = 0; i < a->n_sta_clients; i++)
		if ((addr & a->sta_clients[i].mask) == a->sta_clients[i].net)
			return true;
	return false;
}
