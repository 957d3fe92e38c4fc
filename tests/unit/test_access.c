/* The "access" section's loader (controlplane/access.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "access.h"

#define HASH "$y$j9T$abcdefghijklmnopqrstu.$0123456789012345678901234567890123456789012"

static int load(const char *access_json, struct hg_access_config *a,
		char *err, size_t errlen)
{
	char doc[8192];

	snprintf(doc, sizeof(doc), "{\"instance\": \"x\", \"access\": %s}",
		 access_json);
	return hg_access_load_string(doc, a, err, errlen);
}

static void refused(const char *access_json, const char *needle)
{
	struct hg_access_config a;
	char err[256];

	cr_assert_eq(load(access_json, &a, err, sizeof(err)), -1, "%s",
		     access_json);
	cr_assert(strstr(err, needle) != NULL, "error \"%s\" lacks \"%s\"", err,
		  needle);
}

Test(access, absent_means_defaults)
{
	struct hg_access_config a;
	char err[256];

	cr_assert_eq(hg_access_load_string("{\"instance\": \"x\"}", &a, err,
					   sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(a.portal.fqdn, "gateway.lab");
	cr_assert_eq(a.portal.port, 443);
	cr_assert_eq(a.portal.session_idle_s, 900);
	cr_assert_eq(a.portal.session_max_s, 28800);
	cr_assert_eq(a.auth.max_failures, 5);
	cr_assert_eq(a.auth.max_address_failures, 20);
	cr_assert_eq(a.auth.lockout_s, 300);
	cr_assert_eq(a.auth.delay_ms, 500);
	cr_assert_eq(a.auth.n_users, 0);
	cr_assert_not(a.auth.ldap.enabled);
	cr_assert_eq(a.n_resources, 0);
	cr_assert_not(hg_access_sta_client(&a, 0x0a000001));
	hg_access_free(&a);
}

Test(access, full_section)
{
	struct hg_access_config a;
	char err[256];
	const struct hg_access_resource *r;
	const char groups[2][HG_ACCESS_NAME_MAX] = {"x", "eng"};
	const char other[1][HG_ACCESS_NAME_MAX] = {"sales"};

	cr_assert_eq(load("{\"portal\": {\"fqdn\": \"gw.example.com\", "
			  "\"port\": 8443, \"title\": \"Apps\"},"
			  "\"auth\": {\"max_failures\": 3, \"users\": [{"
			  "\"name\": \"alice\", \"hash\": \"" HASH "\", "
			  "\"groups\": [\"sales\"]}], \"ldap\": {\"uri\": "
			  "\"ldap://127.0.0.1:3890\", \"user_dn\": "
			  "\"uid=%s,ou=people,dc=lab\", \"group_base\": "
			  "\"ou=groups,dc=lab\"}},"
			  "\"resources\": [{\"name\": \"calc\", \"type\": "
			  "\"desktop\", \"groups\": [\"eng\"], \"servers\": "
			  "[{\"address\": \"10.20.0.1\"}, {\"address\": "
			  "\"10.20.0.2\", \"port\": 1500, \"cgp_port\": 2600}]}],"
			  "\"sta_clients\": [\"10.20.0.0/24\", \"192.0.2.7/32\"]}",
			  &a, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(a.portal.fqdn, "gw.example.com");
	cr_assert_eq(a.portal.port, 8443);
	cr_assert_str_eq(a.portal.title, "Apps");
	cr_assert_eq(a.auth.max_failures, 3);
	cr_assert_eq(a.auth.max_address_failures, 20, "the default");
	cr_assert_eq(a.auth.n_users, 1);
	cr_assert_str_eq(a.auth.users[0].name, "alice");
	cr_assert_str_eq(a.auth.users[0].groups[0], "sales");
	cr_assert(a.auth.ldap.enabled);
	cr_assert_str_eq(a.auth.ldap.group_filter,
			 "(|(member=%d)(memberUid=%u))");
	cr_assert_str_eq(a.auth.ldap.group_attr, "cn");
	cr_assert_eq(a.auth.ldap.timeout_s, 5);
	r = hg_access_resource(&a, "calc");
	cr_assert_not_null(r);
	cr_assert_null(hg_access_resource(&a, "notepad"));
	cr_assert_eq(r->type, HG_RES_DESKTOP);
	cr_assert_str_eq(r->title, "calc", "the title defaults to the name");
	cr_assert_eq(r->n_servers, 2);
	cr_assert_eq(r->servers[0].addr, 0x0a140001);
	cr_assert_eq(r->servers[0].port, 1494);
	cr_assert_eq(r->servers[0].cgp_port, 2598);
	cr_assert_eq(r->servers[1].port, 1500);
	cr_assert_eq(r->servers[1].cgp_port, 2600);
	cr_assert(hg_access_allowed(r, groups, 2));
	cr_assert_not(hg_access_allowed(r, other, 1));
	cr_assert_not(hg_access_allowed(r, groups, 0));
	cr_assert(hg_access_sta_client(&a, 0x0a1400fe));
	cr_assert_not(hg_access_sta_client(&a, 0x0a1401fe));
	cr_assert(hg_access_sta_client(&a, 0xc0000207));
	cr_assert_not(hg_access_sta_client(&a, 0xc0000208));
	hg_access_free(&a);
	cr_assert_null(a.auth.users, "freed and zeroed");
}

Test(access, refusals_name_the_field)
{
	refused("[]", "must be an object");
	refused("{\"portals\": {}}", "unknown field \"portals\"");
	refused("{\"portal\": {\"port\": 0}}", "port must be 1..65535");
	refused("{\"portal\": {\"fqdn\": \"gw lab\"}}", "host name");
	refused("{\"portal\": {\"session_idle_s\": 5}}", "session_idle_s");
	refused("{\"auth\": {\"max_address_failures\": 0}}",
		"max_address_failures must be 1..100000");
	refused("{\"auth\": {\"users\": [{\"name\": \"a b\", \"hash\": \"" HASH
		"\"}]}}",
		"users[0]");
	refused("{\"auth\": {\"users\": [{\"name\": \"al\", \"hash\": "
		"\"secret\"}]}}",
		"crypt(3)");
	refused("{\"auth\": {\"users\": [{\"name\": \"al\", \"hash\": \"" HASH
		"\"}, {\"name\": \"al\", \"hash\": \"" HASH "\"}]}}",
		"used twice");
	refused("{\"auth\": {\"users\": [{\"name\": \"al\", \"hash\": \"" HASH
		"\", \"groups\": [\"a\\nb\"]}]}}",
		"groups[0]");
	refused("{\"auth\": {\"ldap\": {\"uri\": \"http://x\", \"user_dn\": "
		"\"uid=%s\", \"group_base\": \"dc=x\"}}}",
		"ldap://");
	refused("{\"auth\": {\"ldap\": {\"uri\": \"ldap://x\", \"user_dn\": "
		"\"uid=%s,%x\", \"group_base\": \"dc=x\"}}}",
		"exactly one %s");
	refused("{\"auth\": {\"ldap\": {\"uri\": \"ldap://x\", \"user_dn\": "
		"\"uid=x\", \"group_base\": \"dc=x\"}}}",
		"exactly one %s");
	refused("{\"resources\": [{\"name\": \"a.b\", \"groups\": [\"g\"], "
		"\"servers\": [{\"address\": \"10.0.0.1\"}]}]}",
		"[A-Za-z0-9_-]");
	refused("{\"resources\": [{\"name\": \"a\", \"groups\": [], "
		"\"servers\": [{\"address\": \"10.0.0.1\"}]}]}",
		"at least one group");
	refused("{\"resources\": [{\"name\": \"a\", \"groups\": [\"g\"], "
		"\"servers\": []}]}",
		"servers must be");
	refused("{\"resources\": [{\"name\": \"a\", \"groups\": [\"g\"], "
		"\"servers\": [{\"address\": \"10.0.0\"}]}]}",
		"IPv4");
	refused("{\"resources\": [{\"name\": \"a\", \"type\": \"app\", "
		"\"groups\": [\"g\"], \"servers\": [{\"address\": \"10.0.0.1\"}]}]}",
		"type must be");
	refused("{\"resources\": [{\"name\": \"a\", \"groups\": [\"g\"], "
		"\"servers\": [{\"address\": \"10.0.0.1\"}]}, {\"name\": \"a\", "
		"\"groups\": [\"g\"], \"servers\": [{\"address\": \"10.0.0.1\"}]}]}",
		"used twice");
	refused("{\"sta_clients\": [\"10.0.0.0/33\"]}", "a.b.c.d/bits");
	refused("{\"remote_stas\": [{\"authority_id\": \"STA1\", \"url\": "
		"\"https://10.0.0.1/x\"}]}",
		"url must be");
	refused("{\"remote_stas\": [{\"authority_id\": \"sta1\", \"url\": "
		"\"http://10.0.0.1/x\"}]}",
		"authority_id");
}

Test(access, remote_sta_url)
{
	struct hg_access_config a;
	char err[256];

	cr_assert_eq(load("{\"remote_stas\": [{\"authority_id\": \"STA02\", "
			  "\"url\": \"http://10.20.0.5:8080/scripts/ctxsta.dll\"}"
			  ", {\"authority_id\": \"STA02\", \"url\": "
			  "\"http://10.20.0.6/scripts/ctxsta.dll\"}]}",
			  &a, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(a.n_remote_stas, 2);
	cr_assert_eq(a.remote_stas[0].addr, 0x0a140005);
	cr_assert_eq(a.remote_stas[0].port, 8080);
	cr_assert_str_eq(a.remote_stas[0].path, "/scripts/ctxsta.dll");
	cr_assert_eq(a.remote_stas[1].port, 80);
	hg_access_free(&a);
}

Test(access, names)
{
	cr_assert(hg_access_name_valid("alice", 5));
	cr_assert(hg_access_name_valid("a.b-c_d@example.com", 19));
	cr_assert_not(hg_access_name_valid("", 0));
	cr_assert_not(hg_access_name_valid("a b", 3));
	cr_assert_not(hg_access_name_valid("a*)(uid=*", 9));
	cr_assert_not(hg_access_name_valid("a\nb", 3));
	{
		char s[70];

		memset(s, 'a', sizeof(s));
		cr_assert(hg_access_name_valid(s, 64));
		cr_assert_not(hg_access_name_valid(s, 65));
	}
}
