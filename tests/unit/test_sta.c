/* The STA ticket store: creation checks, issue and redeem, single use,
 * expiry at redeem and by the sweep, refused ticket forms, a full store,
 * volume (100k tickets), uniqueness, ticket format and the counters;
 * refreshable tickets (kept by hg_sta_redeem_keep, renewed by
 * hg_sta_refresh) and the sweep after refreshes reorder the expiry list. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sta.h"

#define AUTH "STA475DE9C8ABDA"
#define T0   1000000u /* an arbitrary start time, ms */

static struct hg_sta_entry entry(uint32_t n)
{
	struct hg_sta_entry e;

	memset(&e, 0, sizeof(e));
	e.addr = 0x0a010200u + n;
	e.port = (uint16_t)(1494 + n % 7);
	snprintf(e.user, sizeof(e.user), "user%u", n);
	snprintf(e.resource, sizeof(e.resource), "app%u", n);
	snprintf(e.domain, sizeof(e.domain), "dom%u", n);
	snprintf(e.protocol, sizeof(e.protocol), n % 2 ? "HDX" : "ICA%u",
		 n % 10);
	e.cgp_port = (uint16_t)(n % 3 ? 2598 : 0);
	return e;
}

static void check_entry(const struct hg_sta_entry *got, uint32_t n)
{
	struct hg_sta_entry want = entry(n);

	cr_assert_eq(got->addr, want.addr);
	cr_assert_eq(got->port, want.port);
	cr_assert_str_eq(got->user, want.user);
	cr_assert_str_eq(got->resource, want.resource);
	cr_assert_str_eq(got->domain, want.domain);
	cr_assert_str_eq(got->protocol, want.protocol);
	cr_assert_eq(got->cgp_port, want.cgp_port);
}

static struct hg_sta *new_store(unsigned max, unsigned lifetime_s)
{
	struct hg_sta *s = hg_sta_new(AUTH, max, lifetime_s);

	cr_assert_not_null(s);
	return s;
}

static void issue(struct hg_sta *s, uint32_t n, uint64_t now,
		  char t[HG_STA_TICKET_LEN + 1])
{
	struct hg_sta_entry e = entry(n);

	cr_assert_eq(hg_sta_issue(s, &e, now, t), 0);
}

static bool upper_hex(const char *t)
{
	size_t i;

	for (i = 0; i < HG_STA_TICKET_LEN; i++)
		if (!((t[i] >= '0' && t[i] <= '9') ||
		      (t[i] >= 'A' && t[i] <= 'F')))
			return false;
	return t[HG_STA_TICKET_LEN] == '\0';
}

Test(sta, new_checks_authority_and_sizes)
{
	static const char *const bad[] = {
	    "",	      "STA",
	    "STB1",   "sta1",
	    "Sta1",   "STA-1",
	    "STAabc", "STA1 ",
	    " STA1",  "STA12345678901234567", /* 17 after STA */
	    "STAÉ",
	};
	static const char *const good[] = {"STA1", "STA0", AUTH,
					   "STA1234567890123456" /* 16 */};
	struct hg_sta *s;
	size_t i;

	cr_assert_null(hg_sta_new(NULL, 10, 100));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(hg_sta_new(bad[i], 10, 100), "'%s'", bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		s = hg_sta_new(good[i], 10, 100);
		cr_assert_not_null(s, "'%s'", good[i]);
		cr_assert_str_eq(hg_sta_authority(s), good[i]);
		cr_assert_eq(hg_sta_lifetime(s), 100);
		hg_sta_free(s);
	}
	cr_assert_null(hg_sta_new(AUTH, 0, 100));
	cr_assert_null(hg_sta_new(AUTH, HG_STA_MAX_TICKETS + 1, 100));
	cr_assert_null(hg_sta_new(AUTH, 10, 0));
	hg_sta_free(NULL);
}

Test(sta, syntax_helpers)
{
	cr_assert(hg_sta_authority_valid("STA1", 4));
	cr_assert(hg_sta_authority_valid("STA1;", 4)); /* length decides */
	cr_assert_not(hg_sta_authority_valid("STA1", 3));
	cr_assert_not(hg_sta_authority_valid("STA1\0", 5));
	cr_assert(hg_sta_ticket_valid("0123456789ABCDEF0123456789ABCDEF", 32));
	cr_assert_not(
	    hg_sta_ticket_valid("0123456789ABCDEF0123456789ABCDEf", 32));
	cr_assert_not(
	    hg_sta_ticket_valid("0123456789ABCDEF0123456789ABCDE", 31));
	cr_assert_not(
	    hg_sta_ticket_valid("0123456789ABCDEF0123456789ABCDEFA", 33));
}

Test(sta, issue_then_redeem)
{
	struct hg_sta *s = new_store(16, 100);
	char t[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;

	issue(s, 7, T0, t);
	cr_assert(upper_hex(t), "ticket '%s'", t);
	memset(&got, 0xa5, sizeof(got));
	cr_assert_eq(hg_sta_redeem(s, t, strlen(t), T0 + 5, &got), 0);
	check_entry(&got, 7);
	hg_sta_free(s);
}

Test(sta, single_use)
{
	struct hg_sta *s = new_store(16, 100);
	char t[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;

	issue(s, 1, T0, t);
	cr_assert_eq(hg_sta_redeem(s, t, HG_STA_TICKET_LEN, T0, &got), 0);
	cr_assert_eq(hg_sta_redeem(s, t, HG_STA_TICKET_LEN, T0, &got), -ENOENT);
	cr_assert_eq(hg_sta_redeem(s, t, HG_STA_TICKET_LEN, T0 + 1, &got),
		     -ENOENT);
	hg_sta_free(s);
}

/* Valid while now < issue + lifetime, expired from then on, and an
 * expired ticket is deleted by the redeem that finds it so. */
Test(sta, expiry_at_redeem)
{
	struct hg_sta *s = new_store(16, 100);
	char a[HG_STA_TICKET_LEN + 1], b[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;
	struct hg_sta_stats st;

	issue(s, 1, T0, a);
	issue(s, 2, T0, b);
	cr_assert_eq(hg_sta_redeem(s, a, 32, T0 + 100 * 1000 - 1, &got), 0);
	check_entry(&got, 1);
	memset(&got, 0x5a, sizeof(got));
	cr_assert_eq(hg_sta_redeem(s, b, 32, T0 + 100 * 1000, &got),
		     -ETIMEDOUT);
	cr_assert_eq(got.addr, 0x5a5a5a5au, "entry written on failure");
	cr_assert_eq(hg_sta_redeem(s, b, 32, T0 + 100 * 1000, &got), -ENOENT);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.expired, 1);
	cr_assert_eq(st.redeemed, 1);
	cr_assert_eq(st.unknown, 1);
	cr_assert_eq(st.active, 0);
	hg_sta_free(s);
}

/* Wrong forms are unknown and do not consume the real ticket. */
Test(sta, refused_forms)
{
	struct hg_sta *s = new_store(16, 100);
	char t[HG_STA_TICKET_LEN + 1], v[HG_STA_TICKET_LEN + 2];
	struct hg_sta_entry got;
	struct hg_sta_stats st;
	size_t i;
	bool has_letter = false;

	/* A ticket of digits only has no lower-case form: draw until one
	 * has a letter (1 - (10/16)^32 of them do). */
	do {
		issue(s, 3, T0, t);
		for (i = 0; i < HG_STA_TICKET_LEN; i++)
			has_letter |= t[i] >= 'A';
	} while (!has_letter);

	/* lower case */
	memcpy(v, t, sizeof(t));
	for (i = 0; i < HG_STA_TICKET_LEN; i++)
		if (v[i] >= 'A' && v[i] <= 'F')
			v[i] = (char)(v[i] - 'A' + 'a');
	cr_assert_eq(hg_sta_redeem(s, v, 32, T0, &got), -ENOENT);
	/* too short, too long (the right 32 followed by one more) */
	cr_assert_eq(hg_sta_redeem(s, t, 31, T0, &got), -ENOENT);
	memcpy(v, t, sizeof(t));
	v[32] = '0';
	v[33] = '\0';
	cr_assert_eq(hg_sta_redeem(s, v, 33, T0, &got), -ENOENT);
	cr_assert_eq(hg_sta_redeem(s, t, 33, T0, &got), -ENOENT); /* NUL */
	cr_assert_eq(hg_sta_redeem(s, t, 0, T0, &got), -ENOENT);
	cr_assert_eq(hg_sta_redeem(s, NULL, 0, T0, &got), -ENOENT);
	/* garbage of the right length, and one changed character */
	cr_assert_eq(
	    hg_sta_redeem(s, "GHIJKLMNOPQRSTUVWXYZ0123456789!?", 32, T0, &got),
	    -ENOENT);
	memcpy(v, t, sizeof(t));
	v[31] = v[31] == '0' ? '1' : '0';
	cr_assert_eq(hg_sta_redeem(s, v, 32, T0, &got), -ENOENT);
	memcpy(v, t, sizeof(t));
	v[5] = '\0';
	cr_assert_eq(hg_sta_redeem(s, v, 32, T0, &got), -ENOENT);

	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.unknown, 9);
	/* The last ticket drawn is intact; the others too. */
	cr_assert_eq(hg_sta_redeem(s, t, 32, T0, &got), 0);
	check_entry(&got, 3);
	hg_sta_free(s);
}

/* A one-slot store has one hash chain: the lookup lands on the stored
 * ticket whatever is asked, so only the comparison refuses a ticket that
 * differs in any one character. */
Test(sta, every_character_counts)
{
	struct hg_sta *s = new_store(1, 100);
	char t[HG_STA_TICKET_LEN + 1], v[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;
	size_t k;

	issue(s, 4, T0, t);
	for (k = 0; k < HG_STA_TICKET_LEN; k++) {
		memcpy(v, t, sizeof(t));
		v[k] = v[k] == 'F' ? '0' : v[k] == '9' ? 'A' : (char)(v[k] + 1);
		cr_assert_eq(hg_sta_redeem(s, v, 32, T0, &got), -ENOENT,
			     "position %zu", k);
	}
	cr_assert_eq(hg_sta_redeem(s, t, 32, T0, &got), 0);
	check_entry(&got, 4);
	hg_sta_free(s);
}

Test(sta, other_store_does_not_know_the_ticket)
{
	struct hg_sta *a = new_store(4, 100), *b = new_store(4, 100);
	char t[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;

	issue(a, 1, T0, t);
	cr_assert_eq(hg_sta_redeem(b, t, 32, T0, &got), -ENOENT);
	cr_assert_eq(hg_sta_redeem(a, t, 32, T0, &got), 0);
	hg_sta_free(a);
	hg_sta_free(b);
}

Test(sta, full_store)
{
	struct hg_sta *s = new_store(4, 100);
	char t[5][HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry e = entry(9), got;
	struct hg_sta_stats st;
	int i;

	for (i = 0; i < 4; i++)
		issue(s, (uint32_t)i, T0 + (uint64_t)i, t[i]);
	cr_assert_eq(hg_sta_issue(s, &e, T0 + 10, t[4]), -ENOSPC);
	cr_assert_eq(hg_sta_issue(s, &e, T0 + 11, t[4]), -ENOSPC);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.full, 2);
	cr_assert_eq(st.active, 4);
	cr_assert_eq(st.issued, 4);

	/* A redeem frees a slot. */
	cr_assert_eq(hg_sta_redeem(s, t[2], 32, T0 + 20, &got), 0);
	check_entry(&got, 2);
	issue(s, 9, T0 + 21, t[4]);
	cr_assert_eq(hg_sta_issue(s, &e, T0 + 22, t[2]), -ENOSPC);

	/* Tickets past their time do not count as live: at T0 + 100 s + 1 ms
	 * t[0] and t[1] have expired (t[3], t[4] have not). */
	issue(s, 10, T0 + 100 * 1000 + 1, t[0]);
	issue(s, 11, T0 + 100 * 1000 + 1, t[1]);
	cr_assert_eq(hg_sta_issue(s, &e, T0 + 100 * 1000 + 1, t[2]), -ENOSPC);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.expired, 2);
	cr_assert_eq(st.full, 4);
	cr_assert_eq(st.active, 4);
	cr_assert_eq(hg_sta_redeem(s, t[0], 32, T0 + 100 * 1000 + 2, &got), 0);
	check_entry(&got, 10);
	cr_assert_eq(hg_sta_redeem(s, t[4], 32, T0 + 100 * 1000 + 2, &got), 0);
	check_entry(&got, 9);
	hg_sta_free(s);
}

static int cmp_ticket(const void *a, const void *b)
{
	return memcmp(a, b, HG_STA_TICKET_LEN);
}

/* 100k tickets live at once, redeemed in a shuffled order, each giving
 * its own entry back; then 100k more issued and redeemed one by one in a
 * small store (slots reused). */
Test(sta, volume_100k, .timeout = 60)
{
	enum { N = 100000 };
	struct hg_sta *s = new_store(N, 100);
	char(*t)[HG_STA_TICKET_LEN + 1] = malloc(N * sizeof(*t));
	uint32_t *order = malloc(N * sizeof(*order));
	struct hg_sta_entry got;
	struct hg_sta_stats st;
	uint32_t i, j, k;

	cr_assert_not_null(t);
	cr_assert_not_null(order);
	for (i = 0; i < N; i++) {
		issue(s, i, T0 + i / 100, t[i]);
		order[i] = i;
	}
	srand(1);
	for (i = N - 1; i > 0; i--) {
		j = (uint32_t)rand() % (i + 1);
		k = order[i];
		order[i] = order[j];
		order[j] = k;
	}
	for (i = 0; i < N; i++) {
		k = order[i];
		cr_assert_eq(hg_sta_redeem(s, t[k], 32, T0 + 2000, &got), 0,
			     "ticket %u", k);
		check_entry(&got, k);
	}
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.issued, N);
	cr_assert_eq(st.redeemed, N);
	cr_assert_eq(st.active, 0);
	cr_assert_eq(st.unknown + st.expired + st.full, 0);
	hg_sta_free(s);

	s = new_store(8, 100);
	for (i = 0; i < N; i++) {
		issue(s, i, T0 + i, t[0]);
		cr_assert_eq(hg_sta_redeem(s, t[0], 32, T0 + i, &got), 0);
		check_entry(&got, i);
	}
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.issued, N);
	cr_assert_eq(st.redeemed, N);
	cr_assert_eq(st.active, 0);
	hg_sta_free(s);
	free(t);
	free(order);
}

Test(sta, unique_10k_and_format)
{
	enum { N = 10000 };
	struct hg_sta *s = new_store(N, 100);
	char(*t)[HG_STA_TICKET_LEN + 1] = malloc(N * sizeof(*t));
	unsigned hist[16] = {0};
	size_t i, j;

	cr_assert_not_null(t);
	for (i = 0; i < N; i++) {
		issue(s, (uint32_t)i, T0, t[i]);
		cr_assert(upper_hex(t[i]), "ticket '%s'", t[i]);
		cr_assert_eq(strlen(t[i]), HG_STA_TICKET_LEN);
		for (j = 0; j < HG_STA_TICKET_LEN; j++)
			hist[t[i][j] <= '9' ? t[i][j] - '0'
					    : t[i][j] - 'A' + 10]++;
	}
	qsort(t, N, sizeof(*t), cmp_ticket);
	for (i = 1; i < N; i++)
		cr_assert_neq(memcmp(t[i - 1], t[i], HG_STA_TICKET_LEN), 0,
			      "duplicate ticket %s", t[i]);
	/* 320k digits, 20k expected per value: a generator that never uses
	 * some digit, or half of them, shows here (bound far from chance). */
	for (i = 0; i < 16; i++)
		cr_assert(hist[i] > 18000 && hist[i] < 22000,
			  "digit %zx seen %u times", i, hist[i]);
	hg_sta_free(s);
	free(t);
}

/* The sweep deletes exactly the tickets past their time, oldest first. */
Test(sta, expire_sweep)
{
	struct hg_sta *s = new_store(64, 10);
	char t[30][HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;
	struct hg_sta_stats st;
	uint32_t i;

	/* one ticket per 500 ms from T0: ticket i expires at
	 * T0 + 500 i + 10000 */
	for (i = 0; i < 30; i++)
		issue(s, i, T0 + 500 * i, t[i]);
	hg_sta_expire(s, T0 + 9999);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.active, 30);
	cr_assert_eq(st.expired, 0);

	hg_sta_expire(s, T0 + 10000); /* ticket 0 */
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.active, 29);
	cr_assert_eq(st.expired, 1);

	/* a ticket redeemed in between leaves no hole the sweep trips on */
	cr_assert_eq(hg_sta_redeem(s, t[5], 32, T0 + 10001, &got), 0);
	cr_assert_eq(hg_sta_redeem(s, t[29], 32, T0 + 10001, &got), 0);

	hg_sta_expire(s, T0 + 500 * 9 + 10000); /* up to ticket 9 */
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.expired, 9); /* 0..9 less the redeemed 5 */
	cr_assert_eq(st.active, 19);
	for (i = 0; i < 10; i++)
		cr_assert_eq(hg_sta_redeem(s, t[i], 32, T0, &got), -ENOENT,
			     "ticket %u", i);
	for (i = 10; i < 29; i++) {
		cr_assert_eq(hg_sta_redeem(s, t[i], 32, T0 + 500 * i, &got), 0,
			     "ticket %u", i);
		check_entry(&got, i);
	}
	hg_sta_expire(s, UINT64_MAX);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.active, 0);
	cr_assert_eq(st.expired, 9);

	/* the store works on after the list emptied */
	issue(s, 100, T0 + 100000, t[0]);
	hg_sta_expire(s, T0 + 100000 + 9999);
	cr_assert_eq(hg_sta_redeem(s, t[0], 32, T0 + 100000 + 9999, &got), 0);
	check_entry(&got, 100);
	hg_sta_free(s);
}

/* A clock that goes back: the ticket issued "earlier" still expires on
 * its own time at redeem. */
Test(sta, clock_back)
{
	struct hg_sta *s = new_store(8, 10);
	char a[HG_STA_TICKET_LEN + 1], b[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;

	issue(s, 1, T0 + 50000, a);
	issue(s, 2, T0, b);
	hg_sta_expire(s, T0 + 10000);
	cr_assert_eq(hg_sta_redeem(s, b, 32, T0 + 10000, &got), -ETIMEDOUT);
	cr_assert_eq(hg_sta_redeem(s, a, 32, T0 + 10000, &got), 0);
	check_entry(&got, 1);
	hg_sta_free(s);
}

/* The strings of an entry come back terminated even if they were not. */
Test(sta, entry_strings_terminated)
{
	struct hg_sta *s = new_store(4, 100);
	struct hg_sta_entry e, got;
	char t[HG_STA_TICKET_LEN + 1];

	memset(&e, 'x', sizeof(e));
	cr_assert_eq(hg_sta_issue(s, &e, T0, t), 0);
	cr_assert_eq(hg_sta_redeem(s, t, 32, T0, &got), 0);
	cr_assert_eq(strlen(got.user), sizeof(got.user) - 1);
	cr_assert_eq(strlen(got.resource), sizeof(got.resource) - 1);
	cr_assert_eq(strlen(got.domain), sizeof(got.domain) - 1);
	cr_assert_eq(strlen(got.protocol), sizeof(got.protocol) - 1);
	hg_sta_free(s);
}

Test(sta, stats)
{
	struct hg_sta *s = new_store(3, 1);
	char t[4][HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry e = entry(0), got;
	struct hg_sta_stats st;

	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.issued + st.redeemed + st.unknown + st.expired +
			 st.active + st.full,
		     0);
	issue(s, 0, T0, t[0]);
	issue(s, 1, T0, t[1]);
	issue(s, 2, T0 + 500, t[2]);
	cr_assert_eq(hg_sta_issue(s, &e, T0 + 600, t[3]), -ENOSPC);
	cr_assert_eq(hg_sta_redeem(s, t[0], 32, T0 + 700, &got), 0);
	cr_assert_eq(hg_sta_redeem(s, t[0], 32, T0 + 700, &got), -ENOENT);
	cr_assert_eq(hg_sta_redeem(s, "nope", 4, T0 + 700, &got), -ENOENT);
	cr_assert_eq(hg_sta_redeem(s, t[1], 32, T0 + 1000, &got), -ETIMEDOUT);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.issued, 3);
	cr_assert_eq(st.redeemed, 1);
	cr_assert_eq(st.unknown, 2);
	cr_assert_eq(st.expired, 1);
	cr_assert_eq(st.active, 1);
	cr_assert_eq(st.full, 1);
	hg_sta_expire(s, T0 + 1500);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.expired, 2);
	cr_assert_eq(st.active, 0);
	hg_sta_free(s);
}

static void issue_refreshable(struct hg_sta *s, uint32_t n, uint64_t now,
			      char t[HG_STA_TICKET_LEN + 1])
{
	struct hg_sta_entry e = entry(n);

	e.refreshable = true;
	cr_assert_eq(hg_sta_issue(s, &e, now, t), 0);
}

/* A refreshable ticket survives hg_sta_redeem_keep as often as asked,
 * until its lifetime runs out; then it is deleted. */
Test(sta, redeem_keep_refreshable)
{
	struct hg_sta *s = new_store(8, 10);
	char t[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;
	struct hg_sta_stats st;
	int i;

	issue_refreshable(s, 5, T0, t);
	for (i = 0; i < 5; i++) {
		memset(&got, 0, sizeof(got));
		cr_assert_eq(hg_sta_redeem_keep(s, t, 32, T0 + 2000 * i, &got),
			     0, "use %d", i);
		cr_assert(got.refreshable);
		cr_assert_eq(got.addr, entry(5).addr);
		cr_assert_str_eq(got.user, "user5");
		cr_assert_str_eq(got.domain, "dom5");
		cr_assert_str_eq(got.protocol, "HDX");
		cr_assert_eq(got.cgp_port, 2598);
	}
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.kept, 5);
	cr_assert_eq(st.redeemed, 0);
	cr_assert_eq(st.active, 1);
	memset(&got, 0x5a, sizeof(got));
	cr_assert_eq(hg_sta_redeem_keep(s, t, 32, T0 + 10000, &got),
		     -ETIMEDOUT);
	cr_assert_eq(got.addr, 0x5a5a5a5au, "entry written on failure");
	cr_assert_eq(hg_sta_redeem_keep(s, t, 32, T0 + 10000, &got), -ENOENT);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.active, 0);
	cr_assert_eq(st.expired, 1);
	cr_assert_eq(st.unknown, 1);
	hg_sta_free(s);
}

/* hg_sta_redeem_keep deletes a ticket that is not refreshable, and
 * hg_sta_redeem deletes one that is. */
Test(sta, single_use_without_refreshable)
{
	struct hg_sta *s = new_store(8, 10);
	char a[HG_STA_TICKET_LEN + 1], b[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;
	struct hg_sta_stats st;

	issue(s, 1, T0, a);
	issue_refreshable(s, 2, T0, b);
	cr_assert_eq(hg_sta_redeem_keep(s, a, 32, T0, &got), 0);
	check_entry(&got, 1);
	cr_assert_eq(hg_sta_redeem_keep(s, a, 32, T0, &got), -ENOENT);
	cr_assert_eq(hg_sta_redeem(s, a, 32, T0, &got), -ENOENT);
	cr_assert_eq(hg_sta_redeem(s, b, 32, T0, &got), 0);
	cr_assert(got.refreshable);
	cr_assert_eq(hg_sta_redeem_keep(s, b, 32, T0, &got), -ENOENT);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.redeemed, 2);
	cr_assert_eq(st.kept, 0);
	cr_assert_eq(st.unknown, 3);
	cr_assert_eq(st.active, 0);
	/* malformed forms are unknown to the keeping redeem too */
	cr_assert_eq(hg_sta_redeem_keep(s, NULL, 0, T0, &got), -ENOENT);
	cr_assert_eq(hg_sta_redeem_keep(s, "nope", 4, T0, &got), -ENOENT);
	hg_sta_free(s);
}

Test(sta, refresh)
{
	struct hg_sta *s = new_store(8, 10);
	char r[HG_STA_TICKET_LEN + 1], n[HG_STA_TICKET_LEN + 1];
	char v[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;
	struct hg_sta_stats st;

	issue_refreshable(s, 1, T0, r);
	issue(s, 2, T0, n);

	/* each refresh gives another 10 s from its own time */
	cr_assert_eq(hg_sta_refresh(s, r, 32, T0 + 9999), 0);
	cr_assert_eq(hg_sta_refresh(s, r, 32, T0 + 19998), 0);
	cr_assert_eq(hg_sta_redeem_keep(s, r, 32, T0 + 29997, &got), 0);
	cr_assert_str_eq(got.user, "user1");

	/* not refreshable: -EPERM and untouched, then gone at its time */
	cr_assert_eq(hg_sta_refresh(s, n, 32, T0 + 5000), -EPERM);
	cr_assert_eq(hg_sta_redeem(s, n, 32, T0 + 9999, &got), 0);
	check_entry(&got, 2);

	/* unknown and malformed */
	cr_assert_eq(hg_sta_refresh(s, n, 32, T0 + 10000), -ENOENT);
	cr_assert_eq(hg_sta_refresh(s, NULL, 0, T0), -ENOENT);
	cr_assert_eq(hg_sta_refresh(s, r, 31, T0), -ENOENT);
	memcpy(v, r, sizeof(v));
	v[0] = v[0] == '0' ? '1' : '0';
	cr_assert_eq(hg_sta_refresh(s, v, 32, T0), -ENOENT);

	/* too late: deleted */
	cr_assert_eq(hg_sta_refresh(s, r, 32, T0 + 29998), -ETIMEDOUT);
	cr_assert_eq(hg_sta_refresh(s, r, 32, T0 + 29998), -ENOENT);
	cr_assert_eq(hg_sta_redeem_keep(s, r, 32, T0 + 20000, &got), -ENOENT);

	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.refreshed, 2);
	cr_assert_eq(st.kept, 1);
	cr_assert_eq(st.redeemed, 1);
	cr_assert_eq(st.expired, 1);
	cr_assert_eq(st.unknown, 6);
	cr_assert_eq(st.active, 0);
	hg_sta_free(s);
}

/* A refreshed ticket no longer blocks the sweep from the list's head:
 * the tickets issued after it but expiring before it go on time. */
Test(sta, sweep_after_refresh)
{
	struct hg_sta *s = new_store(8, 10);
	char a[HG_STA_TICKET_LEN + 1], b[HG_STA_TICKET_LEN + 1];
	char c[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry got;
	struct hg_sta_stats st;

	issue_refreshable(s, 0, T0, a);	       /* refreshed: until T0 + 15000 */
	issue(s, 1, T0 + 1000, b);	       /* until T0 + 11000 */
	issue_refreshable(s, 2, T0 + 2000, c); /* until T0 + 12000 */
	cr_assert_eq(hg_sta_refresh(s, a, 32, T0 + 5000), 0);

	hg_sta_expire(s, T0 + 11000);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.expired, 1);
	cr_assert_eq(st.active, 2);
	cr_assert_eq(hg_sta_redeem(s, b, 32, T0 + 1000, &got), -ENOENT);

	hg_sta_expire(s, T0 + 12000);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.expired, 2);
	cr_assert_eq(st.active, 1);

	/* the only ticket, refreshed (head and tail at once) */
	cr_assert_eq(hg_sta_refresh(s, a, 32, T0 + 14999), 0);
	hg_sta_expire(s, T0 + 24998);
	cr_assert_eq(hg_sta_redeem_keep(s, a, 32, T0 + 24998, &got), 0);
	check_entry(&got, 0);
	hg_sta_expire(s, T0 + 24999);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.active, 0);
	cr_assert_eq(st.expired, 3);

	/* the store works on: the tail refreshed */
	issue(s, 3, T0 + 30000, b);
	issue_refreshable(s, 4, T0 + 30001, c);
	cr_assert_eq(hg_sta_refresh(s, c, 32, T0 + 30002), 0);
	hg_sta_expire(s, T0 + 40000);
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.active, 1);
	cr_assert_eq(hg_sta_redeem(s, c, 32, T0 + 40001, &got), 0);
	check_entry(&got, 4);
	hg_sta_free(s);
}

/* Random issues, refreshes, keeping redeems and sweeps against a model:
 * after every sweep exactly the tickets the model holds valid are live,
 * and each answers as the model says. */
Test(sta, refresh_model, .timeout = 60)
{
	enum { N = 64, STEPS = 20000, LIFE_MS = 3000 };
	struct hg_sta *s = new_store(N, LIFE_MS / 1000);
	char t[N][HG_STA_TICKET_LEN + 1];
	uint64_t expires[N] = {0}; /* 0: not live */
	bool refreshable[N] = {false};
	struct hg_sta_entry got;
	struct hg_sta_stats st;
	uint64_t now = T0;
	unsigned step, k, live;
	int rc;

	srand(7);
	for (step = 0; step < STEPS; step++) {
		now += (uint64_t)(rand() % 50);
		k = (unsigned)rand() % N;
		switch (rand() % 4) {
		case 0: /* issue into an empty model slot */
			if (expires[k] != 0 && now < expires[k])
				break;
			if (expires[k] != 0) /* expired: let redeem drop it */
				cr_assert_eq(
				    hg_sta_redeem(s, t[k], 32, now, &got),
				    -ETIMEDOUT);
			refreshable[k] = rand() % 2;
			if (refreshable[k])
				issue_refreshable(s, k, now, t[k]);
			else
				issue(s, k, now, t[k]);
			expires[k] = now + LIFE_MS;
			break;
		case 1: /* refresh */
			if (expires[k] == 0)
				break;
			rc = hg_sta_refresh(s, t[k], 32, now);
			if (now >= expires[k]) {
				cr_assert_eq(rc, -ETIMEDOUT, "step %u", step);
				expires[k] = 0;
			} else if (!refreshable[k]) {
				cr_assert_eq(rc, -EPERM, "step %u", step);
			} else {
				cr_assert_eq(rc, 0, "step %u", step);
				expires[k] = now + LIFE_MS;
			}
			break;
		case 2: /* keeping redeem, rarely */
			if (expires[k] == 0 || rand() % 8 != 0)
				break;
			rc = hg_sta_redeem_keep(s, t[k], 32, now, &got);
			if (now >= expires[k]) {
				cr_assert_eq(rc, -ETIMEDOUT, "step %u", step);
				expires[k] = 0;
				break;
			}
			cr_assert_eq(rc, 0, "step %u", step);
			cr_assert_eq(got.addr, entry(k).addr);
			if (!refreshable[k])
				expires[k] = 0;
			break;
		default: /* sweep */
			hg_sta_expire(s, now);
			live = 0;
			for (k = 0; k < N; k++) {
				if (expires[k] != 0 && now >= expires[k])
					expires[k] = 0; /* swept */
				live += expires[k] != 0;
			}
			hg_sta_get_stats(s, &st);
			cr_assert_eq(st.active, live, "step %u", step);
			break;
		}
	}
	hg_sta_expire(s, now);
	for (k = 0; k < N; k++) {
		if (expires[k] == 0 || now >= expires[k]) {
			cr_assert_eq(hg_sta_redeem(s, t[k], 32, now, &got),
				     -ENOENT, "ticket %u", k);
		} else {
			cr_assert_eq(hg_sta_redeem(s, t[k], 32, now, &got), 0,
				     "ticket %u", k);
			check_entry(&got, k);
		}
	}
	hg_sta_get_stats(s, &st);
	cr_assert_eq(st.active, 0);
	hg_sta_free(s);
}
