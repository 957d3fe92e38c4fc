/* Portal logins (controlplane/auth.c): local yescrypt users, the one
 * DENIED answer for unknown users and wrong passwords (and the time it
 * takes), groups, lockouts per user and per address, unlock, growing
 * delays and due order, the queue limits, invalid names and passwords,
 * the bounded counter tables, the fd; and LDAP against a real slapd
 * started by tests/tools/hg-slapd (groupOfNames and posixGroup members,
 * wrong password, unknown user, filter-special names, directory down).
 * Time is real: now_ms comes from CLOCK_MONOTONIC. */
#include <criterion/criterion.h>
#include <crypt.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"

#ifndef HG_SLAPD
#error "HG_SLAPD: the path of tests/tools/hg-slapd, from meson"
#endif

#define ADDR(n)	    (0x0a000000u + (uint32_t)(n)) /* 10.0.0.n, host order */
#define WAIT_MS	    60000 /* longest wait for one batch of answers */
#define MAX_RESULTS 256

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A yescrypt hash of password, with a fresh salt, as mkpasswd makes. */
static void make_hash(const char *password, char *out, size_t size)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	const char *h;

	cr_assert_not_null(
	    crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)));
	memset(&cd, 0, sizeof(cd));
	h = crypt_rn(password, setting, &cd, (int)sizeof(cd));
	cr_assert_not_null(h);
	cr_assert(strncmp(h, "$y$", 3) == 0);
	cr_assert_lt(strlen(h), size);
	snprintf(out, size, "%s", h);
}

/* The local users: alice (eng, ops), bob (no groups), and carol, whose
 * hash is a fixed one made with `mkpasswd -m yescrypt carol-pass-1`. */
static struct hg_access_user users[3];

static void set_user(struct hg_access_user *u, const char *name,
		     const char *password, const char *hash)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", name);
	if (hash)
		snprintf(u->hash, sizeof(u->hash), "%s", hash);
	else
		make_hash(password, u->hash, sizeof(u->hash));
}

static struct hg_access_auth local_cfg(unsigned max_failures,
				       unsigned lockout_s, unsigned delay_ms)
{
	struct hg_access_auth c;

	set_user(&users[0], "alice", "alice-pass-1", NULL);
	snprintf(users[0].groups[0], HG_ACCESS_NAME_MAX, "eng");
	snprintf(users[0].groups[1], HG_ACCESS_NAME_MAX, "ops");
	users[0].n_groups = 2;
	set_user(&users[1], "bob", "bob-pass-1", NULL);
	set_user(&users[2], "carol", NULL,
		 "$y$j9T$3nWOIAJLQlDN/iN79LICZ0$"
		 "b.6htoza5LffIqOskdFOwLG8R1hK/pbpOjsnvx46my.");
	memset(&c, 0, sizeof(c));
	c.max_failures = max_failures;
	c.lockout_s = lockout_s;
	c.delay_ms = delay_ms;
	c.users = users;
	c.n_users = 3;
	return c;
}

static struct hg_auth *new_auth(const struct hg_access_auth *c)
{
	char err[128] = "";
	struct hg_auth *a = hg_auth_new(c, err, sizeof(err));

	cr_assert_not_null(a, "hg_auth_new: %s", err);
	return a;
}

/* One answer and when it came out. */
struct got {
	struct hg_auth_result r;
	uint64_t at_ms;
};

/* Waits on the fd (as the control plane's loop would) and collects n
 * answers; fails the test if they do not come within WAIT_MS. */
static void collect(struct hg_auth *a, struct got *out, unsigned n)
{
	uint64_t end = now_ms() + WAIT_MS;
	unsigned have = 0;

	while (have < n) {
		struct pollfd p = {.fd = hg_auth_fd(a), .events = POLLIN};
		uint64_t t = now_ms();

		cr_assert_lt(t, end, "only %u of %u answers came", have, n);
		cr_assert_geq(poll(&p, 1, (int)(end - t)), 0);
		while (have < n && hg_auth_next(a, &out[have].r, now_ms())) {
			out[have].at_ms = now_ms();
			have++;
		}
	}
}

static struct hg_auth_result one(struct hg_auth *a, const char *user,
				 const char *password, uint32_t client)
{
	struct got g;

	cr_assert_eq(hg_auth_submit(a, user, password, client, 42, now_ms()),
		     0);
	collect(a, &g, 1);
	cr_assert_eq(g.r.cookie, 42u);
	cr_assert_eq(g.r.client, client);
	return g.r;
}

static bool fd_readable(struct hg_auth *a)
{
	struct pollfd p = {.fd = hg_auth_fd(a), .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

static void assert_denied_like_client_sees(const struct hg_auth_result *r)
{
	cr_assert_eq(r->status, HG_AUTH_DENIED, "status %d (%s)", r->status,
		     r->detail);
	cr_assert_eq(r->n_groups, 0u);
	cr_assert_str_empty(r->source);
}

/* ---- local users ---- */

TestSuite(auth_local, .timeout = 120);

Test(auth_local, ok_with_groups)
{
	struct hg_access_auth c = local_cfg(5, 60, 10);
	struct hg_auth *a = new_auth(&c);
	struct hg_auth_result r = one(a, "alice", "alice-pass-1", ADDR(1));
	struct hg_auth_stats s;

	cr_assert_eq(r.status, HG_AUTH_OK, "detail: %s", r.detail);
	cr_assert_str_eq(r.user, "alice");
	cr_assert_str_eq(r.source, "local");
	cr_assert_eq(r.n_groups, 2u);
	cr_assert_str_eq(r.groups[0], "eng");
	cr_assert_str_eq(r.groups[1], "ops");
	cr_assert_str_not_empty(r.detail);

	r = one(a, "bob", "bob-pass-1", ADDR(1));
	cr_assert_eq(r.status, HG_AUTH_OK);
	cr_assert_eq(r.n_groups, 0u);
	/* A hash made by mkpasswd, not by this test. */
	r = one(a, "carol", "carol-pass-1", ADDR(1));
	cr_assert_eq(r.status, HG_AUTH_OK, "detail: %s", r.detail);

	hg_auth_get_stats(a, &s);
	cr_assert_eq(s.ok, 3u);
	cr_assert_eq(s.denied + s.locked + s.errors + s.busy + s.pending, 0u);
	cr_assert(!fd_readable(a), "fd readable with nothing due");
	hg_auth_free(a);
}

Test(auth_local, wrong_password_and_unknown_user_look_the_same)
{
	struct hg_access_auth c = local_cfg(5, 60, 0);
	struct hg_auth *a = new_auth(&c);
	struct hg_auth_result w = one(a, "alice", "alice-pass-2", ADDR(1));
	struct hg_auth_result u = one(a, "nobody", "alice-pass-1", ADDR(2));
	struct hg_auth_result x = one(a, "alice", "ALICE-PASS-1", ADDR(3));
	struct hg_auth_stats s;

	assert_denied_like_client_sees(&w);
	assert_denied_like_client_sees(&u);
	assert_denied_like_client_sees(&x);
	cr_assert_str_eq(w.detail, "bad password");
	cr_assert_str_eq(u.detail, "unknown user");
	cr_assert_str_eq(u.user, "nobody");
	hg_auth_get_stats(a, &s);
	cr_assert_eq(s.denied, 3u);
	cr_assert_eq(s.ok, 0u);
	hg_auth_free(a);
}

/* An unknown user costs a crypt too: the fastest of three answers for an
 * unknown user and for a wrong password are within a factor of 4 (a
 * lookup without crypt would be hundreds of times faster). */
Test(auth_local, unknown_user_takes_as_long_as_a_wrong_password)
{
	struct hg_access_auth c = local_cfg(100, 60, 0);
	struct hg_auth *a = new_auth(&c);
	uint64_t best_wrong = UINT64_MAX, best_unknown = UINT64_MAX;
	int i;

	for (i = 0; i < 3; i++) {
		uint64_t t0 = now_ms(), t1, t2;

		one(a, "alice", "not-it", ADDR(10 + i));
		t1 = now_ms();
		one(a, "zed", "not-it", ADDR(20 + i));
		t2 = now_ms();
		if (t1 - t0 < best_wrong)
			best_wrong = t1 - t0;
		if (t2 - t1 < best_unknown)
			best_unknown = t2 - t1;
	}
	cr_log_info("wrong password %llu ms, unknown user %llu ms",
		    (unsigned long long)best_wrong,
		    (unsigned long long)best_unknown);
	cr_assert_geq(best_unknown * 4 + 2, best_wrong);
	cr_assert_geq(best_wrong * 4 + 2, best_unknown);
	cr_assert_geq(best_unknown, 2u, "no crypt for an unknown user?");
	hg_auth_free(a);
}

Test(auth_local, lockout_per_user_even_with_the_right_password)
{
	struct hg_access_auth c = local_cfg(3, 1, 10);
	struct hg_auth *a = new_auth(&c);
	struct hg_auth_result r;
	struct hg_auth_stats s;
	int i;

	/* From three addresses, so only the name reaches max_failures. */
	for (i = 0; i < 3; i++) {
		r = one(a, "alice", "guess", ADDR(1 + i));
		cr_assert_eq(r.status, HG_AUTH_DENIED, "failure %d", i + 1);
	}
	r = one(a, "alice", "alice-pass-1", ADDR(50));
	cr_assert_eq(r.status, HG_AUTH_LOCKED, "detail: %s", r.detail);
	cr_assert_str_eq(r.detail, "locked: user");
	cr_assert_eq(r.n_groups, 0u);
	cr_assert_str_empty(r.source);
	/* Names are counted without case. */
	r = one(a, "ALICE", "alice-pass-1", ADDR(51));
	cr_assert_eq(r.status, HG_AUTH_LOCKED);
	/* Others are not locked. */
	r = one(a, "bob", "bob-pass-1", ADDR(1));
	cr_assert_eq(r.status, HG_AUTH_OK);
	hg_auth_get_stats(a, &s);
	cr_assert_eq(s.lockouts, 1u);
	cr_assert_eq(s.locked, 2u);
	cr_assert_eq(s.denied, 3u);

	/* lockout_s later, the right password works again. */
	sleep_ms(1100);
	hg_auth_tick(a, now_ms());
	r = one(a, "alice", "alice-pass-1", ADDR(50));
	cr_assert_eq(r.status, HG_AUTH_OK, "detail: %s", r.detail);
	hg_auth_free(a);
}

Test(auth_local, lockout_per_address)
{
	struct hg_access_auth c = local_cfg(3, 1, 10);
	struct hg_auth *a = new_auth(&c);
	struct hg_auth_result r;
	struct hg_auth_stats s;

	/* Three different names, one address: a spray. */
	cr_assert_eq(one(a, "u1", "p", ADDR(7)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "u2", "p", ADDR(7)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "bob", "p", ADDR(7)).status, HG_AUTH_DENIED);
	r = one(a, "alice", "alice-pass-1", ADDR(7));
	cr_assert_eq(r.status, HG_AUTH_LOCKED);
	cr_assert_str_eq(r.detail, "locked: address");
	/* An invalid name from a locked address is LOCKED too. */
	cr_assert_eq(one(a, "a b", "p", ADDR(7)).status, HG_AUTH_LOCKED);
	/* alice from elsewhere is fine. */
	cr_assert_eq(one(a, "alice", "alice-pass-1", ADDR(8)).status,
		     HG_AUTH_OK);
	hg_auth_get_stats(a, &s);
	cr_assert_eq(s.lockouts, 1u);

	sleep_ms(1100);
	cr_assert_eq(one(a, "alice", "alice-pass-1", ADDR(7)).status,
		     HG_AUTH_OK);
	hg_auth_free(a);
}

/* An address has its own, higher limit (max_address_failures): one NAT
 * address may hide many users. Names lock at max_failures all the same. */
Test(auth_local, address_limit_apart_from_the_name_limit)
{
	struct hg_access_auth c = local_cfg(2, 60, 0);
	struct hg_auth *a;
	struct hg_auth_result r;
	char name[16];
	int i;

	c.max_address_failures = 6;
	a = new_auth(&c);
	/* Five names, one failure each, from one address: none locked. */
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		r = one(a, name, "guess", ADDR(7));
		cr_assert_eq(r.status, HG_AUTH_DENIED, "failure %d: %s", i + 1,
			     r.detail);
	}
	r = one(a, "alice", "alice-pass-1", ADDR(7));
	cr_assert_eq(r.status, HG_AUTH_OK, "5 < 6 failures: %s", r.detail);
	/* A name still locks at 2 (failures 6 and 7 of the address: the
	 * sixth locks the address too). */
	r = one(a, "bob", "guess", ADDR(8));
	cr_assert_eq(r.status, HG_AUTH_DENIED);
	r = one(a, "bob", "guess", ADDR(8));
	cr_assert_eq(r.status, HG_AUTH_DENIED);
	r = one(a, "bob", "bob-pass-1", ADDR(9));
	cr_assert_eq(r.status, HG_AUTH_LOCKED, "name locked at 2: %s",
		     r.detail);
	r = one(a, "user9", "guess", ADDR(7));
	cr_assert_eq(r.status, HG_AUTH_DENIED, "sixth failure of address 7");
	r = one(a, "alice", "alice-pass-1", ADDR(7));
	cr_assert_eq(r.status, HG_AUTH_LOCKED, "address locked at 6: %s",
		     r.detail);
	cr_assert_str_eq(r.detail, "locked: address");
	r = one(a, "alice", "alice-pass-1", ADDR(10));
	cr_assert_eq(r.status, HG_AUTH_OK, "another address: %s", r.detail);
	hg_auth_free(a);
}

Test(auth_local, success_resets_the_user_not_the_address)
{
	struct hg_access_auth c = local_cfg(3, 60, 0);
	struct hg_auth *a = new_auth(&c);

	/* alice: 2 failures, a success, 2 failures: never 3 in a row. */
	cr_assert_eq(one(a, "alice", "x", ADDR(1)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "alice", "x", ADDR(2)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "alice", "alice-pass-1", ADDR(3)).status,
		     HG_AUTH_OK);
	cr_assert_eq(one(a, "alice", "x", ADDR(4)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "alice", "x", ADDR(5)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "alice", "alice-pass-1", ADDR(6)).status,
		     HG_AUTH_OK);

	/* ADDR(9): 2 failures, bob's success from it, 1 more: locked. */
	cr_assert_eq(one(a, "x1", "x", ADDR(9)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "x2", "x", ADDR(9)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "bob", "bob-pass-1", ADDR(9)).status, HG_AUTH_OK);
	cr_assert_eq(one(a, "x3", "x", ADDR(9)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "bob", "bob-pass-1", ADDR(9)).status,
		     HG_AUTH_LOCKED);
	hg_auth_free(a);
}

/* Each failure's answer waits delay_ms * 2^(failures - 1) from submit. */
Test(auth_local, delays_grow)
{
	const unsigned d = 100;
	struct hg_access_auth c = local_cfg(10, 60, d);
	struct hg_auth *a = new_auth(&c);
	unsigned i;

	for (i = 1; i <= 4; i++) {
		uint64_t t0 = now_ms(), want = (uint64_t)d << (i - 1);
		struct hg_auth_result r = one(a, "alice", "wrong", ADDR(1));
		uint64_t took = now_ms() - t0;

		cr_assert_eq(r.status, HG_AUTH_DENIED);
		cr_log_info("failure %u: %llu ms", i, (unsigned long long)took);
		cr_assert_geq(took, want, "failure %u answered after %llu ms",
			      i, (unsigned long long)took);
		cr_assert_lt(took, want + 3000);
	}
	/* A success is not delayed (the next delay would be 1600 ms). */
	uint64_t t0 = now_ms();

	cr_assert_eq(one(a, "alice", "alice-pass-1", ADDR(1)).status,
		     HG_AUTH_OK);
	cr_assert_lt(now_ms() - t0, 1500);
	hg_auth_free(a);
}

/* Delayed failures hold no worker: a success submitted after three long
 * delayed failures comes out first, long before them; the failures come
 * out in due order, not submit order (cookie 1, an invalid name answered
 * at submit with the longest delay, comes out last). */
Test(auth_local, due_order_and_no_worker_held)
{
	const unsigned d = 500;
	struct hg_access_auth c = local_cfg(10, 60, d);
	struct hg_auth *a = new_auth(&c);
	struct got g[6];
	uint64_t t0;
	unsigned i;

	/* ADDR(1) already has 2 failures: its next answer waits 4 * d. */
	cr_assert_eq(one(a, "*", "", ADDR(1)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "*", "", ADDR(1)).status, HG_AUTH_DENIED);

	t0 = now_ms();
	cr_assert_eq(hg_auth_submit(a, "no such", "p", ADDR(1), 1, t0), 0);
	cr_assert_eq(hg_auth_submit(a, "alice", "w1", ADDR(2), 2, t0), 0);
	cr_assert_eq(hg_auth_submit(a, "bob", "w2", ADDR(3), 3, t0), 0);
	cr_assert_eq(hg_auth_submit(a, "carol", "w3", ADDR(4), 4, t0), 0);
	cr_assert_eq(
	    hg_auth_submit(a, "alice", "alice-pass-1", ADDR(5), 5, now_ms()),
	    0);
	cr_assert_eq(hg_auth_submit(a, "@@", "p", ADDR(6), 6, now_ms()), 0);
	collect(a, g, 6);

	cr_assert_eq(g[0].r.cookie, 5u, "the success first");
	cr_assert_eq(g[0].r.status, HG_AUTH_OK);
	cr_assert_lt(g[0].at_ms - t0, d, "a delay held a worker");
	for (i = 1; i < 6; i++)
		cr_assert_geq(g[i].at_ms, g[i - 1].at_ms);
	/* First failures (d) for cookies 2, 3, 4, 6; the third failure of
	 * ADDR(1) (4 * d) last. */
	cr_assert_eq(g[5].r.cookie, 1u);
	cr_assert_str_eq(g[5].r.detail, "invalid user name");
	cr_assert_str_empty(g[5].r.user);
	cr_assert_geq(g[5].at_ms - t0, 4 * d);
	for (i = 1; i < 5; i++) {
		cr_assert_neq(g[i].r.cookie, 1u);
		cr_assert_eq(g[i].r.status, HG_AUTH_DENIED);
		cr_assert_geq(g[i].at_ms - t0, d);
	}
	hg_auth_free(a);
}

Test(auth_local, queue_full_is_eagain_and_counted_busy)
{
	struct hg_access_auth c = local_cfg(1000, 60, 0);
	struct hg_auth *a = new_auth(&c);
	static struct got g[200];
	struct hg_auth_stats s;
	unsigned i, ok = 0, busy = 0;
	char name[16];

	for (i = 0; i < 200; i++) {
		int rc;

		snprintf(name, sizeof(name), "user%u", i);
		rc = hg_auth_submit(a, name, "pw", ADDR(i), i, now_ms());
		cr_assert(rc == 0 || rc == -EAGAIN, "rc %d", rc);
		if (rc == 0)
			ok++;
		else
			busy++;
	}
	cr_log_info("%u queued, %u busy", ok, busy);
	cr_assert_geq(ok, HG_AUTH_QUEUE_MAX);
	cr_assert_leq(ok, HG_AUTH_QUEUE_MAX + HG_AUTH_WORKERS + 4);
	cr_assert_gt(busy, 0u);
	hg_auth_get_stats(a, &s);
	cr_assert_eq(s.busy, busy);
	cr_assert_eq(s.pending, ok);
	collect(a, g, ok);
	for (i = 0; i < ok; i++)
		cr_assert_eq(g[i].r.status, HG_AUTH_DENIED);
	hg_auth_get_stats(a, &s);
	cr_assert_eq(s.pending, 0u);
	cr_assert_eq(s.denied, ok);
	/* Room again. */
	cr_assert_eq(one(a, "bob", "bob-pass-1", ADDR(999)).status, HG_AUTH_OK);
	hg_auth_free(a);
}

/* Parallel guesses for one name cannot overshoot max_failures. */
Test(auth_local, no_more_in_flight_than_failures_left)
{
	struct hg_access_auth c = local_cfg(2, 60, 0);
	struct hg_auth *a = new_auth(&c);
	struct got g[2];

	cr_assert_eq(hg_auth_submit(a, "alice", "g1", ADDR(1), 1, now_ms()), 0);
	cr_assert_eq(hg_auth_submit(a, "alice", "g2", ADDR(2), 2, now_ms()), 0);
	cr_assert_eq(hg_auth_submit(a, "alice", "g3", ADDR(3), 3, now_ms()),
		     -EAGAIN);
	collect(a, g, 2);
	cr_assert_eq(g[0].r.status, HG_AUTH_DENIED);
	cr_assert_eq(g[1].r.status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "alice", "alice-pass-1", ADDR(4)).status,
		     HG_AUTH_LOCKED);
	hg_auth_free(a);
}

Test(auth_local, invalid_names_and_passwords_are_denied)
{
	struct hg_access_auth c = local_cfg(100, 60, 0);
	struct hg_auth *a = new_auth(&c);
	static const char *const bad_names[] = {
	    "",	 "a*)(uid=*",	       "alice ",   "al/ice", "dave,ou=x",
	    "é", "x\nfake audit line", "dave\\2a", "a;b",    "a+b",
	};
	char long_name[HG_ACCESS_NAME_MAX + 1];
	char long_pw[HG_AUTH_PASSWORD_MAX + 2];
	struct hg_auth_result r;
	unsigned i;

	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		r = one(a, bad_names[i], "alice-pass-1", ADDR(1));
		assert_denied_like_client_sees(&r);
		cr_assert_str_eq(r.detail, "invalid user name");
		cr_assert_str_empty(r.user, "an invalid name is not echoed");
	}
	/* 65 bytes is too long; 64 is the longest name. */
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	r = one(a, long_name, "x", ADDR(2));
	cr_assert_str_eq(r.detail, "invalid user name");
	long_name[HG_ACCESS_NAME_MAX - 1] = '\0';
	r = one(a, long_name, "x", ADDR(2));
	cr_assert_str_eq(r.detail, "unknown user");
	cr_assert_str_eq(r.user, long_name);

	r = one(a, "alice", "", ADDR(3));
	assert_denied_like_client_sees(&r);
	cr_assert_str_eq(r.detail, "empty password");
	cr_assert_str_eq(r.user, "alice");

	memset(long_pw, 'p', sizeof(long_pw) - 1);
	long_pw[sizeof(long_pw) - 1] = '\0';
	r = one(a, "alice", long_pw, ADDR(3));
	assert_denied_like_client_sees(&r);
	cr_assert_str_eq(r.detail, "password too long");
	/* 256 bytes is allowed (and wrong). */
	long_pw[HG_AUTH_PASSWORD_MAX] = '\0';
	r = one(a, "alice", long_pw, ADDR(3));
	cr_assert_str_eq(r.detail, "bad password");

	cr_assert_eq(hg_auth_submit(a, NULL, "x", 1, 1, now_ms()), -EINVAL);
	cr_assert_eq(hg_auth_submit(a, "alice", NULL, 1, 1, now_ms()), -EINVAL);
	hg_auth_free(a);
}

/* Invalid names count against the address like any failure. */
Test(auth_local, invalid_names_count_for_the_address)
{
	struct hg_access_auth c = local_cfg(2, 60, 0);
	struct hg_auth *a = new_auth(&c);

	cr_assert_eq(one(a, "*", "x", ADDR(1)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "(", "x", ADDR(1)).status, HG_AUTH_DENIED);
	cr_assert_eq(one(a, "alice", "alice-pass-1", ADDR(1)).status,
		     HG_AUTH_LOCKED);
	hg_auth_free(a);
}

/* A spray of 6000 names from 6000 addresses, max_failures 1: every one
 * locks, the tables stay at 4096 entries each (the oldest locks are
 * evicted), the newest are kept, and real users still get in. */
Test(auth_local, counter_tables_are_bounded)
{
	struct hg_access_auth c = local_cfg(1, 60, 0);
	struct hg_auth *a = new_auth(&c);
	struct hg_auth_stats s;
	struct hg_auth_result r;
	struct got g;
	char name[32];
	unsigned i;

	for (i = 0; i < 6000; i++) {
		snprintf(name, sizeof(name), "spray%u", i);
		/* An empty password is answered at submit: fast. */
		cr_assert_eq(
		    hg_auth_submit(a, name, "", ADDR(1000 + i), i, now_ms()),
		    0);
		collect(a, &g, 1);
		cr_assert_eq(g.r.status, HG_AUTH_DENIED);
		if (i % 1000 == 0)
			hg_auth_tick(a, now_ms());
	}
	hg_auth_get_stats(a, &s);
	cr_assert_eq(s.lockouts, 12000u);
	/* The newest address is still locked... */
	r = one(a, "bob", "bob-pass-1", ADDR(1000 + 5999));
	cr_assert_eq(r.status, HG_AUTH_LOCKED);
	/* ...the oldest was forgotten to make room. */
	r = one(a, "spray0", "x", ADDR(1000));
	cr_assert_eq(r.status, HG_AUTH_DENIED, "detail %s", r.detail);
	r = one(a, "alice", "alice-pass-1", ADDR(1));
	cr_assert_eq(r.status, HG_AUTH_OK);
	hg_auth_free(a);
}

Test(auth_local, fd_follows_the_due_answers)
{
	struct hg_access_auth c = local_cfg(10, 60, 300);
	struct hg_auth *a = new_auth(&c);
	struct hg_auth_result r;
	struct got g;
	uint64_t t0 = now_ms();

	cr_assert(!fd_readable(a));
	cr_assert(!hg_auth_next(a, &r, t0));
	/* An invalid name: answered at submit, due 300 ms later. */
	cr_assert_eq(hg_auth_submit(a, "*", "x", ADDR(1), 7, t0), 0);
	cr_assert(!hg_auth_next(a, &r, now_ms()));
	cr_assert(!fd_readable(a), "readable before the answer is due");
	collect(a, &g, 1);
	cr_assert_geq(g.at_ms - t0, 300u);
	cr_assert_eq(g.r.cookie, 7u);
	cr_assert(!fd_readable(a));
	hg_auth_free(a);
}

Test(auth_local, free_with_work_queued)
{
	struct hg_access_auth c = local_cfg(100, 60, 500);
	struct hg_auth *a = new_auth(&c);
	char name[16];
	unsigned i;

	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "u%u", i);
		cr_assert_eq(
		    hg_auth_submit(a, name, "secret", ADDR(i), i, now_ms()), 0);
	}
	cr_assert_eq(hg_auth_submit(a, "*", "x", ADDR(1), 1, now_ms()), 0);
	hg_auth_free(a); /* must neither hang nor leak */
}

Test(auth_local, config_checks)
{
	struct hg_access_auth c = local_cfg(5, 60, 0);
	char err[128] = "";

	snprintf(users[1].name, sizeof(users[1].name), "bad name");
	cr_assert_null(hg_auth_new(&c, err, sizeof(err)));
	cr_assert_str_not_empty(err);
	c = local_cfg(5, 60, 0);
	c.ldap.enabled = true; /* no uri */
	err[0] = '\0';
	cr_assert_null(hg_auth_new(&c, err, sizeof(err)));
	cr_assert_str_not_empty(err);
	c = local_cfg(0, 60, 0);
	cr_assert_null(hg_auth_new(&c, err, sizeof(err)));
}

/* ---- LDAP, against a slapd of our own ---- */

static char slapd_dir[64];
static unsigned slapd_port;

static int run_slapd_tool(const char *args)
{
	char cmd[256];
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null", HG_SLAPD, args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void slapd_start(void)
{
	char args[128];

	snprintf(slapd_dir, sizeof(slapd_dir), "/tmp/hg-slapd-XXXXXX");
	cr_assert_not_null(mkdtemp(slapd_dir));
	slapd_port = 20000 + (unsigned)getpid() % 20000;
	snprintf(args, sizeof(args), "start %s %u", slapd_dir, slapd_port);
	cr_assert_eq(run_slapd_tool(args), 0, "hg-slapd start failed");
}

static void slapd_stop(void)
{
	char args[128];

	snprintf(args, sizeof(args), "stop %s", slapd_dir);
	run_slapd_tool(args);
}

static struct hg_access_auth ldap_cfg(void)
{
	struct hg_access_auth c = local_cfg(5, 60, 0);
	struct hg_access_ldap *l = &c.ldap;

	l->enabled = true;
	snprintf(l->uri, sizeof(l->uri), "ldap://127.0.0.1:%u/", slapd_port);
	snprintf(l->user_dn, sizeof(l->user_dn),
		 "uid=%%s,ou=people,dc=lab,dc=hopgate");
	snprintf(l->group_base, sizeof(l->group_base),
		 "ou=groups,dc=lab,dc=hopgate");
	snprintf(l->group_filter, sizeof(l->group_filter),
		 "(|(member=%%d)(memberUid=%%u))");
	snprintf(l->group_attr, sizeof(l->group_attr), "cn");
	l->timeout_s = 3;
	return c;
}

TestSuite(auth_ldap, .init = slapd_start, .fini = slapd_stop, .timeout = 120);

Test(auth_ldap, member_by_dn)
{
	struct hg_access_auth c = ldap_cfg();
	struct hg_auth *a = new_auth(&c);
	struct hg_auth_result r = one(a, "dave", "dave-pass-1", ADDR(1));

	cr_assert_eq(r.status, HG_AUTH_OK, "detail: %s", r.detail);
	cr_assert_str_eq(r.source, "ldap");
	cr_assert_str_eq(r.user, "dave");
	/* "eng"; "release team" is not a valid group name and is left out. */
	cr_assert_eq(r.n_groups, 1u);
	cr_assert_str_eq(r.groups[0], "eng");
	hg_auth_free(a);
}

Test(auth_ldap, member_by_uid)
{
	struct hg_access_auth c = ldap_cfg();
	struct hg_auth *a = new_auth(&c);
	struct hg_auth_result r = one(a, "erin", "erin-pass-1", ADDR(1));

	cr_assert_eq(r.status, HG_AUTH_OK, "detail: %s", r.detail);
	cr_assert_str_eq(r.source, "ldap");
	cr_assert_eq(r.n_groups, 1u);
	cr_assert_str_eq(r.groups[0], "ops");
	hg_auth_free(a);
}

Test(auth_ldap, wrong_password_unknown_user_empty_password)
{
	struct hg_access_auth c = ldap_cfg();
	struct hg_auth *a = new_auth(&c);
	struct hg_auth_result r;
	struct hg_auth_stats s;

	r = one(a, "dave", "erin-pass-1", ADDR(1));
	assert_denied_like_client_sees(&r);
	cr_assert(strncmp(r.detail, "ldap bind: ", 11) == 0, "%s", r.detail);
	r = one(a, "mallory", "dave-pass-1", ADDR(2));
	assert_denied_like_client_sees(&r);
	/* An empty password would be an anonymous bind: refused. */
	r = one(a, "dave", "", ADDR(3));
	assert_denied_like_client_sees(&r);
	cr_assert_str_eq(r.detail, "empty password");
	/* A local user is checked locally, not in the directory. */
	r = one(a, "alice", "alice-pass-1", ADDR(4));
	cr_assert_eq(r.status, HG_AUTH_OK);
	cr_assert_str_eq(r.source, "local");
	hg_auth_get_stats(a, &s);
	cr_assert_eq(s.denied, 3u);
	cr_assert_eq(s.errors, 0u);
	hg_auth_free(a);
}

Test(auth_ldap, filter_special_names_are_refused)
{
	struct hg_access_auth c = ldap_cfg();
	struct hg_auth *a = new_auth(&c);
	static const char *const names[] = {"a*)(uid=*", "*", "dave)(cn=*",
					    "dave,ou=people", "dave\\2a"};
	unsigned i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct hg_auth_result r =
		    one(a, names[i], "dave-pass-1", ADDR(10 + i));

		assert_denied_like_client_sees(&r);
		cr_assert_str_eq(r.detail, "invalid user name");
	}
	hg_auth_free(a);
}

Test(auth_ldap, directory_down_is_an_error_not_a_failure)
{
	struct hg_access_auth c = ldap_cfg();
	struct hg_auth *a = new_auth(&c);
	struct hg_auth_result r;
	struct hg_auth_stats s;
	int i;

	cr_assert_eq(one(a, "dave", "dave-pass-1", ADDR(1)).status, HG_AUTH_OK);
	slapd_stop();
	for (i = 0; i < 6; i++) { /* more than max_failures (5) */
		r = one(a, "dave", "dave-pass-1", ADDR(1));
		cr_assert_eq(r.status, HG_AUTH_ERROR, "detail: %s", r.detail);
		cr_assert(strncmp(r.detail, "ldap", 4) == 0, "%s", r.detail);
		cr_assert_str_empty(r.source);
	}
	hg_auth_get_stats(a, &s);
	cr_assert_eq(s.errors, 6u);
	cr_assert_eq(s.lockouts, 0u);
	/* Local users do not need the directory. */
	cr_assert_eq(one(a, "bob", "bob-pass-1", ADDR(1)).status, HG_AUTH_OK);
	hg_auth_free(a);
}
