/* Who may reach what: the "access" section of the instance config, read
 * by the control plane only (the data plane never holds users, password
 * hashes or directory settings; lib/config.c only checks that "access"
 * is an object).
 *
 *   access.portal
 *     fqdn               the gateway's name in ICA files' SSLProxyHost,
 *                        default "gateway.lab"
 *     port               SSLProxyHost's port, default 443
 *     title              the portal's heading, default "hopgate"
 *     session_idle_s     60..86400, default 900
 *     session_max_s      300..604800, default 28800
 *     max_sessions       portal sessions at once, 16..1048576, default 65536
 *   access.auth
 *     max_failures       failed logins for one user name before it is
 *                        locked out, 1..1000, default 5
 *     max_address_failures  failed logins from one source address before
 *                        the address is locked out, 1..100000, default 20
 *                        (higher: one NAT address may hide many users)
 *     lockout_s          1..86400, default 300
 *     delay_ms           added to every failed login's answer, doubling
 *                        with each further failure (up to 8 times),
 *                        0..10000, default 500
 *     users[]            local users: {"name", "hash" (crypt(3), e.g.
 *                        yescrypt from mkpasswd), "groups": [..]}
 *     ldap               optional: {"uri" ("ldap://host:port" or
 *                        "ldaps://"), "user_dn" (with one "%s" for the
 *                        escaped user name), "group_base", "group_filter"
 *                        (default "(|(member=%d)(memberUid=%u))": %d the
 *                        user's DN, %u the user name, both escaped),
 *                        "group_attr" (default "cn"), "timeout_s" 1..60
 *                        (default 5), "ca_file" for ldaps}
 *   access.resources[]   published applications and desktops:
 *     name               [A-Za-z0-9_-]{1,31}, unique
 *     title              shown in the portal, default the name
 *     type               "application" (default) | "desktop"
 *     groups             [..] groups allowed to launch it (a user of any)
 *     servers[]          1..32 of {"address", "port" (default 1494),
 *                        "cgp_port" (default 2598)}: chosen by least
 *                        sessions among healthy servers
 *   access.sta_clients   CIDRs allowed to use the STA's XML endpoint
 *                        (/scripts/ctxsta.dll), default none (off)
 *   access.remote_stas[] optional remote STAs: {"authority_id", "url"
 *                        ("http://a.b.c.d:port/scripts/ctxsta.dll")};
 *                        several may share an authority (fail-over)
 *
 * Names of users and groups: 1..64 bytes of [A-Za-z0-9._@-].
 */
#ifndef HG_ACCESS_H
#define HG_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_ACCESS_NAME_MAX 65    /* user and group names, with the NUL */
#define HG_ACCESS_MAX_GROUPS 32  /* per user, and per resource */
#define HG_ACCESS_MAX_SERVERS 32 /* per resource */
#define HG_ACCESS_MAX_RESOURCES 256
#define HG_ACCESS_MAX_CIDRS 16
#define HG_ACCESS_MAX_REMOTE_STAS 8
#define HG_ACCESS_HASH_MAX 256
#define HG_ACCESS_TEXT_MAX 256   /* titles, URIs, DNs, filters */

struct hg_access_user {
	char name[HG_ACCESS_NAME_MAX];
	char hash[HG_ACCESS_HASH_MAX];
	char groups[HG_ACCESS_MAX_GROUPS][HG_ACCESS_NAME_MAX];
	unsigned n_groups;
};

struct hg_access_ldap {
	bool enabled;
	char uri[HG_ACCESS_TEXT_MAX];
	char user_dn[HG_ACCESS_TEXT_MAX];
	char group_base[HG_ACCESS_TEXT_MAX];
	char group_filter[HG_ACCESS_TEXT_MAX];
	char group_attr[HG_ACCESS_NAME_MAX];
	char ca_file[HG_ACCESS_TEXT_MAX];
	unsigned timeout_s;
};

struct hg_access_auth {
	unsigned max_failures;         /* per user name */
	unsigned max_address_failures; /* per source address */
	unsigned lockout_s;
	unsigned delay_ms;
	struct hg_access_user *users; /* malloc'd, n_users of them */
	unsigned n_users;
	struct hg_access_ldap ldap;
};

struct hg_access_server {
	uint32_t addr; /* host order */
	uint16_t port;
	uint16_t cgp_port;
};

enum hg_resource_type { HG_RES_APPLICATION = 0, HG_RES_DESKTOP = 1 };

struct hg_access_resource {
	char name[32];
	char title[HG_ACCESS_TEXT_MAX];
	enum hg_resource_type type;
	char groups[HG_ACCESS_MAX_GROUPS][HG_ACCESS_NAME_MAX];
	unsigned n_groups;
	struct hg_access_server servers[HG_ACCESS_MAX_SERVERS];
	unsigned n_servers;
};

struct hg_access_cidr {
	uint32_t net;  /* host order, masked */
	uint32_t mask; /* host order */
};

struct hg_access_remote_sta {
	char authority_id[20];
	uint32_t addr; /* host order */
	uint16_t port;
	char path[HG_ACCESS_TEXT_MAX];
};

struct hg_access_portal {
	char fqdn[HG_ACCESS_TEXT_MAX];
	uint16_t port;
	char title[HG_ACCESS_TEXT_MAX];
	unsigned session_idle_s;
	unsigned session_max_s;
	unsigned max_sessions;
};

struct hg_access_config {
	struct hg_access_portal portal;
	struct hg_access_auth auth;
	struct hg_access_resource *resources; /* malloc'd */
	unsigned n_resources;
	struct hg_access_cidr sta_clients[HG_ACCESS_MAX_CIDRS];
	unsigned n_sta_clients;
	struct hg_access_remote_sta remote_stas[HG_ACCESS_MAX_REMOTE_STAS];
	unsigned n_remote_stas;
};

/* Loads the "access" object of the config file at `path` (absent: all
 * defaults, no users, no resources). 0, or -1 with a message naming the
 * field in err. On success free it with hg_access_free. */
int hg_access_load_file(const char *path, struct hg_access_config *out,
			char *err, size_t errlen);
int hg_access_load_string(const char *json, struct hg_access_config *out,
			  char *err, size_t errlen);
/* Wipes the password hashes, then frees. */
void hg_access_free(struct hg_access_config *a);

/* 1..64 bytes of [A-Za-z0-9._@-]. */
bool hg_access_name_valid(const char *s, size_t len);
/* True when `user_groups` (n of them) shares a group with the resource. */
bool hg_access_allowed(const struct hg_access_resource *r,
		       const char (*user_groups)[HG_ACCESS_NAME_MAX],
		       unsigned n);
const struct hg_access_resource *
hg_access_resource(const struct hg_access_config *a, const char *name);
bool hg_access_sta_client(const struct hg_access_config *a, uint32_t addr);

#endif
