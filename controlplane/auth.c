/* Portal logins: local crypt(3) users and LDAP, failure counters, lockouts
 * and the delayed answers. See auth.h for the contract and invariants.
 *
 * Who touches what:
 * - the main thread owns the counter tables, the attempt pool's free list,
 *   the due-ordered heap, the timerfd and the statistics;
 * - the job queue and the list of done attempts are shared with the
 *   workers under `lock`;
 * - an attempt's result is written by the worker that checks it, between
 *   the moment it takes the job and the moment it puts the attempt on the
 *   done list (both under `lock`, which orders the writes), and by the
 *   main thread otherwise.
 */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <ldap.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "random.h"
#include "siphash.h"

/* What an unknown user's password is checked against, so that the answer
 * takes as long as a known user's (mkpasswd -m yescrypt, default cost; its
 * password is a random string nobody kept). */
static const char dummy_hash[] = "$y$j9T$DySO9PKTdDmjjScTS/0Pr/$"
				 "7DkXM8R9IRpYpH/imblIKNLh3Q1gFcaGlK6c1lmYXu/";

#define DEFAULT_GROUP_FILTER "(|(member=%d)(memberUid=%u))"
#define DEFAULT_GROUP_ATTR   "cn"
#define KEY_PENDING_MAX	     64	  /* attempts pending per name or address */
#define LDAP_SIZELIMIT	     1024 /* group entries read per search */
#define DN_MAX		     1024
#define FILTER_MAX	     2048
#define NIL		     UINT32_MAX
#define TABLE_BUCKETS	     (2 * HG_AUTH_TABLE_MAX)

/* table_get can always evict: every pending attempt pins at most one
 * counter per table, and fewer attempts can pend than a table holds. */
_Static_assert(HG_AUTH_MAX_PENDING < HG_AUTH_TABLE_MAX,
	       "counter tables must outnumber pending attempts");

/* ---- failure counters: a fixed pool, a keyed hash, an LRU list ---- */

struct counter {
	uint8_t key[HG_ACCESS_NAME_MAX]; /* folded name, or 4 address bytes */
	uint8_t klen;			 /* 0: slot free */
	uint32_t hnext;			 /* hash chain */
	uint32_t prev, next;		 /* LRU list; head is the newest */
	uint32_t failures;		 /* in the window from first_ms */
	uint64_t first_ms;
	uint64_t locked_until; /* 0: not locked */
	uint32_t in_flight;    /* submitted to a worker, not yet counted */
	uint32_t pending;      /* accepted, not yet handed out */
};

struct table {
	struct hg_sipkey key;
	struct counter *c; /* HG_AUTH_TABLE_MAX */
	uint32_t *bucket;  /* TABLE_BUCKETS heads */
	uint32_t head, tail, free_list, used;
};

/* ---- attempts and jobs ---- */

enum attempt_kind { ATT_CHECK, ATT_IMMEDIATE };

struct attempt {
	struct hg_auth_result res;
	uint64_t submit_ms, due_ms, seq;
	bool has_user; /* res.user names a counter in users */
	uint32_t next_free;
};

struct job {
	uint32_t slot;
	char user[HG_ACCESS_NAME_MAX];
	char password[HG_AUTH_PASSWORD_MAX + 1];
	size_t pwlen;
};

struct worker {
	struct hg_auth *a;
	pthread_t thread;
	bool started;
	struct crypt_data *cd;
};

struct hg_auth {
	/* configuration, copied */
	unsigned max_failures;      /* per user name */
	unsigned max_addr_failures; /* per source address */
	uint64_t lockout_ms;
	uint64_t delay_ms;
	struct hg_access_user *users;
	unsigned n_users;
	struct hg_access_ldap ldap;

	/* shared with the workers, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct job jobs[HG_AUTH_QUEUE_MAX];
	unsigned job_head, job_count;
	uint32_t done[HG_AUTH_MAX_PENDING];
	unsigned done_head, done_count;

	/* the main thread's */
	struct attempt *att; /* HG_AUTH_MAX_PENDING */
	uint32_t free_att;
	uint32_t heap[HG_AUTH_MAX_PENDING];
	unsigned heap_n;
	uint64_t seq;
	struct table users_t, addrs_t;
	struct hg_auth_stats stats;

	int epfd, evfd, tfd;
	struct worker workers[HG_AUTH_WORKERS];
};

/* ---- small helpers ---- */

static void set_detail(struct hg_auth_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_detail(struct hg_auth_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- counter tables ---- */

static int table_init(struct table *t)
{
	uint32_t i;

	t->c = calloc(HG_AUTH_TABLE_MAX, sizeof(*t->c));
	t->bucket = malloc(TABLE_BUCKETS * sizeof(*t->bucket));
	if (!t->c || !t->bucket)
		return -ENOMEM;
	if (hg_random_bytes(&t->key, sizeof(t->key)) < 0)
		return -EIO;
	for (i = 0; i < TABLE_BUCKETS; i++)
		t->bucket[i] = NIL;
	for (i = 0; i < HG_AUTH_TABLE_MAX; i++)
		t->c[i].hnext = i + 1 < HG_AUTH_TABLE_MAX ? i + 1 : NIL;
	t->free_list = 0;
	t->head = t->tail = NIL;
	t->used = 0;
	return 0;
}

static void table_fini(struct table *t)
{
	if (t->c)
		explicit_bzero(t->c, HG_AUTH_TABLE_MAX * sizeof(*t->c));
	free(t->c);
	free(t->bucket);
	explicit_bzero(&t->key, sizeof(t->key));
}

static uint32_t table_bucket(const struct table *t, const void *key,
			     size_t klen)
{
	return (uint32_t)(hg_siphash(&t->key, key, klen) % TABLE_BUCKETS);
}

static void lru_unlink(struct table *t, uint32_t i)
{
	struct counter *c = &t->c[i];

	if (c->prev != NIL)
		t->c[c->prev].next = c->next;
	else
		t->head = c->next;
	if (c->next != NIL)
		t->c[c->next].prev = c->prev;
	else
		t->tail = c->prev;
	c->prev = c->next = NIL;
}

static void lru_push_head(struct table *t, uint32_t i)
{
	struct counter *c = &t->c[i];

	c->prev = NIL;
	c->next = t->head;
	if (t->head != NIL)
		t->c[t->head].prev = i;
	t->head = i;
	if (t->tail == NIL)
		t->tail = i;
}

static void table_remove(struct table *t, uint32_t i)
{
	struct counter *c = &t->c[i];
	uint32_t *p = &t->bucket[table_bucket(t, c->key, c->klen)];

	while (*p != NIL && *p != i)
		p = &t->c[*p].hnext;
	if (*p == i)
		*p = c->hnext;
	lru_unlink(t, i);
	memset(c, 0, sizeof(*c));
	c->hnext = t->free_list;
	t->free_list = i;
	t->used--;
}

static struct counter *table_find(struct table *t, const void *key, size_t klen)
{
	uint32_t i = t->bucket[table_bucket(t, key, klen)];

	while (i != NIL) {
		struct counter *c = &t->c[i];

		if (c->klen == klen && memcmp(c->key, key, klen) == 0)
			return c;
		i = c->hnext;
	}
	return NULL;
}

/* The counter for key, made (evicting the least recently used idle one,
 * unlocked if there is such) when absent, and marked as just used. Never
 * NULL: fewer counters are pending than the table holds. */
static struct counter *table_get(struct table *t, const void *key, size_t klen)
{
	struct counter *c = table_find(t, key, klen);
	uint32_t i, b;

	if (c) {
		i = (uint32_t)(c - t->c);
		lru_unlink(t, i);
		lru_push_head(t, i);
		return c;
	}
	if (t->free_list == NIL) {
		uint32_t victim = NIL, fallback = NIL;

		for (i = t->tail; i != NIL; i = t->c[i].prev) {
			if (t->c[i].pending || t->c[i].in_flight)
				continue;
			if (!t->c[i].locked_until) {
				victim = i;
				break;
			}
			if (fallback == NIL)
				fallback = i;
		}
		if (victim == NIL)
			victim = fallback;
		table_remove(t, victim);
	}
	i = t->free_list;
	c = &t->c[i];
	t->free_list = c->hnext;
	memset(c, 0, sizeof(*c));
	memcpy(c->key, key, klen);
	c->klen = (uint8_t)klen;
	b = table_bucket(t, key, klen);
	c->hnext = t->bucket[b];
	t->bucket[b] = i;
	lru_push_head(t, i);
	t->used++;
	return c;
}

/* A name's counter key: ASCII lower case (directories match uid without
 * case, so "Dave" must not get a second set of guesses). */
static size_t user_key(const char *name, uint8_t key[HG_ACCESS_NAME_MAX])
{
	size_t i, n = strnlen(name, HG_ACCESS_NAME_MAX - 1);

	for (i = 0; i < n; i++) {
		char ch = name[i];

		key[i] =
		    (uint8_t)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	return n;
}

static struct counter *user_counter(struct hg_auth *a, const char *name,
				    bool create)
{
	uint8_t key[HG_ACCESS_NAME_MAX];
	size_t n = user_key(name, key);

	return create ? table_get(&a->users_t, key, n)
		      : table_find(&a->users_t, key, n);
}

static struct counter *addr_counter(struct hg_auth *a, uint32_t addr,
				    bool create)
{
	uint8_t key[4] = {(uint8_t)(addr >> 24), (uint8_t)(addr >> 16),
			  (uint8_t)(addr >> 8), (uint8_t)addr};

	return create ? table_get(&a->addrs_t, key, 4)
		      : table_find(&a->addrs_t, key, 4);
}

/* True while c is locked; an expired lock is lifted (and its count
 * forgotten) here. */
static bool is_locked(struct counter *c, uint64_t now)
{
	if (!c || !c->locked_until)
		return false;
	if (now < c->locked_until)
		return true;
	c->locked_until = 0;
	c->failures = 0;
	c->first_ms = 0;
	return false;
}

/* Counts one failure; starts a lockout at `limit` (max_failures for a
 * name, max_addr_failures for an address). The new count. */
static uint32_t count_failure(struct hg_auth *a, struct counter *c,
			      unsigned limit, uint64_t now)
{
	if (!c)
		return 0;
	if (c->locked_until)
		return c->failures;
	if (c->failures == 0 || now - c->first_ms >= a->lockout_ms) {
		c->failures = 0;
		c->first_ms = now;
	}
	c->failures++;
	if (c->failures >= limit) {
		c->locked_until = now + a->lockout_ms;
		if (c->locked_until == 0)
			c->locked_until = 1;
		a->stats.lockouts++;
	}
	return c->failures;
}

static uint64_t failure_delay(const struct hg_auth *a, uint32_t failures)
{
	if (failures == 0)
		failures = 1;
	if (failures > 8)
		failures = 8;
	return a->delay_ms << (failures - 1);
}

/* The failure count a delay is computed from: the name's, or the
 * address's scaled to the name's limit (an address may be many users'),
 * whichever is further along. */
static uint32_t delay_count(const struct hg_auth *a, uint32_t name_failures,
			    uint32_t addr_failures)
{
	uint64_t scaled = (uint64_t)addr_failures * a->max_failures /
			  a->max_addr_failures;

	if (addr_failures > 0 && scaled == 0)
		scaled = 1;
	return name_failures > scaled ? name_failures : (uint32_t)scaled;
}

/* ---- the due-ordered heap of answers (main thread) ---- */

static bool due_before(const struct hg_auth *a, uint32_t x, uint32_t y)
{
	const struct attempt *p = &a->att[x], *q = &a->att[y];

	if (p->due_ms != q->due_ms)
		return p->due_ms < q->due_ms;
	return p->seq < q->seq;
}

static void heap_push(struct hg_auth *a, uint32_t slot)
{
	unsigned i = a->heap_n++;

	a->heap[i] = slot;
	while (i > 0) {
		unsigned parent = (i - 1) / 2;

		if (!due_before(a, a->heap[i], a->heap[parent]))
			break;
		uint32_t t = a->heap[i];

		a->heap[i] = a->heap[parent];
		a->heap[parent] = t;
		i = parent;
	}
}

static uint32_t heap_pop(struct hg_auth *a)
{
	uint32_t top = a->heap[0];
	unsigned i = 0;

	a->heap[0] = a->heap[--a->heap_n];
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;

		if (l < a->heap_n && due_before(a, a->heap[l], a->heap[m]))
			m = l;
		if (r < a->heap_n && due_before(a, a->heap[r], a->heap[m]))
			m = r;
		if (m == i)
			break;
		uint32_t t = a->heap[i];

		a->heap[i] = a->heap[m];
		a->heap[m] = t;
		i = m;
	}
	return top;
}

/* Makes the fd readable when the earliest answer is due: now if it is. */
static void arm_timer(struct hg_auth *a, uint64_t now)
{
	struct itimerspec its;
	uint64_t expirations;

	memset(&its, 0, sizeof(its));
	if (read(a->tfd, &expirations, sizeof(expirations)) < 0) {
		/* EAGAIN: it had not fired */
	}
	if (a->heap_n > 0) {
		uint64_t due = a->att[a->heap[0]].due_ms;
		uint64_t ms = due > now ? due - now : 0;

		if (ms == 0) {
			its.it_value.tv_nsec = 1;
		} else {
			its.it_value.tv_sec = (time_t)(ms / 1000);
			its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
		}
	}
	timerfd_settime(a->tfd, 0, &its, NULL);
}

/* ---- local users (worker threads) ---- */

static const struct hg_access_user *local_user(const struct hg_auth *a,
					       const char *name)
{
	unsigned i;

	for (i = 0; i < a->n_users; i++)
		if (strcmp(a->users[i].name, name) == 0)
			return &a->users[i];
	return NULL;
}

/* Equal in time independent of where the first difference is. */
static bool hash_eq(const char *want, const char *got)
{
	size_t wl = strnlen(want, HG_ACCESS_HASH_MAX);
	size_t gl = strnlen(got, CRYPT_OUTPUT_SIZE);
	unsigned char d = wl != gl;
	size_t i, n = wl < gl ? wl : gl;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(want[i] ^ got[i]);
	return d == 0 && wl > 0;
}

/* crypt_rn of password against setting; true when it reproduces it. */
static bool crypt_check(struct crypt_data *cd, const char *password,
			const char *setting, bool *usable)
{
	const char *out;
	bool ok = false;

	memset(cd, 0, sizeof(*cd));
	out = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	*usable = out != NULL && out[0] != '*';
	if (*usable)
		ok = hash_eq(setting, out);
	explicit_bzero(cd, sizeof(*cd));
	return ok;
}

static void check_local(struct worker *w, const struct hg_access_user *u,
			const struct job *j, struct hg_auth_result *r)
{
	bool usable;
	unsigned g;

	if (!u) {
		crypt_check(w->cd, j->password, dummy_hash, &usable);
		r->status = HG_AUTH_DENIED;
		set_detail(r, "unknown user");
		return;
	}
	if (crypt_check(w->cd, j->password, u->hash, &usable)) {
		r->status = HG_AUTH_OK;
		copy_str(r->source, sizeof(r->source), "local");
		for (g = 0; g < u->n_groups && g < HG_ACCESS_MAX_GROUPS; g++)
			copy_str(r->groups[g], HG_ACCESS_NAME_MAX,
				 u->groups[g]);
		r->n_groups = g;
		set_detail(r, "local user");
		return;
	}
	if (!usable) {
		/* A disabled ("!", "*") or unknown hash format: take as long
		 * as a real check. */
		crypt_check(w->cd, j->password, dummy_hash, &usable);
		r->status = HG_AUTH_DENIED;
		set_detail(r, "unusable password hash");
		return;
	}
	r->status = HG_AUTH_DENIED;
	set_detail(r, "bad password");
}

/* ---- LDAP (worker threads) ---- */

/* RFC 4514 2.4: an attribute value inside a DN. -1 when it does not fit. */
static int dn_escape(char *out, size_t size, size_t *pos, const char *v)
{
	size_t i, n = strlen(v);

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		bool esc = strchr("\"+,;<>\\=", ch) != NULL ||
			   (i == 0 && (ch == ' ' || ch == '#')) ||
			   (i == n - 1 && ch == ' ');

		if (ch < 0x20 || ch == 0x7f) {
			if (*pos + 3 >= size)
				return -1;
			snprintf(out + *pos, size - *pos, "\\%02x", ch);
			*pos += 3;
		} else {
			if (*pos + (esc ? 2 : 1) >= size)
				return -1;
			if (esc)
				out[(*pos)++] = '\\';
			out[(*pos)++] = (char)ch;
		}
	}
	out[*pos] = '\0';
	return 0;
}

/* RFC 4515 3: an assertion value inside a filter. */
static int filter_escape(char *out, size_t size, size_t *pos, const char *v)
{
	for (; *v; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch == '*' || ch == '(' || ch == ')' || ch == '\\' ||
		    ch < 0x20 || ch >= 0x7f) {
			if (*pos + 3 >= size)
				return -1;
			snprintf(out + *pos, size - *pos, "\\%02x", ch);
			*pos += 3;
		} else {
			if (*pos + 1 >= size)
				return -1;
			out[(*pos)++] = (char)ch;
		}
	}
	out[*pos] = '\0';
	return 0;
}

/* A template with "%c" escapes filled in: each %<key> of keys[] (one
 * letter each) becomes vals[] run through its escape; other characters
 * are copied. 0, or -1 when the result does not fit. */
typedef int (*escape_fn)(char *out, size_t size, size_t *pos, const char *v);

static int fill_template(const char *tmpl, const char *keys,
			 const char *const *vals, escape_fn esc, char *out,
			 size_t size)
{
	size_t pos = 0;

	out[0] = '\0';
	for (; *tmpl; tmpl++) {
		const char *k = tmpl[0] == '%' && tmpl[1] != '\0'
					? strchr(keys, tmpl[1])
					: NULL;

		if (k != NULL) {
			if (esc(out, size, &pos, vals[k - keys]) < 0)
				return -1;
			tmpl++;
			continue;
		}
		if (pos + 1 >= size)
			return -1;
		out[pos++] = *tmpl;
	}
	out[pos] = '\0';
	return 0;
}

/* user_dn with every "%s" replaced by the escaped name. */
static int make_dn(const char *tmpl, const char *user, char *out, size_t size)
{
	const char *vals[] = {user};

	return fill_template(tmpl, "s", vals, dn_escape, out, size);
}

/* group_filter with %d (the user's DN) and %u (the name) escaped. */
static int make_filter(const char *tmpl, const char *dn, const char *user,
		       char *out, size_t size)
{
	const char *vals[] = {dn, user};

	return fill_template(tmpl, "du", vals, filter_escape, out, size);
}

static void add_group(struct hg_auth_result *r, const struct berval *v)
{
	unsigned i;

	if (r->n_groups >= HG_ACCESS_MAX_GROUPS || !v->bv_val ||
	    !hg_access_name_valid(v->bv_val, v->bv_len))
		return;
	for (i = 0; i < r->n_groups; i++)
		if (strlen(r->groups[i]) == v->bv_len &&
		    memcmp(r->groups[i], v->bv_val, v->bv_len) == 0)
			return;
	memcpy(r->groups[r->n_groups], v->bv_val, v->bv_len);
	r->groups[r->n_groups][v->bv_len] = '\0';
	r->n_groups++;
}

/* Codes that say "not this user with this password", as opposed to "the
 * directory could not answer". */
static bool ldap_rc_denies(int rc)
{
	return rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_NO_SUCH_OBJECT ||
	       rc == LDAP_INAPPROPRIATE_AUTH || rc == LDAP_INVALID_DN_SYNTAX ||
	       rc == LDAP_UNWILLING_TO_PERFORM;
}

static int ldap_setup(const struct hg_access_ldap *c, LDAP **ldp,
		      struct hg_auth_result *r)
{
	LDAP *ld = NULL;
	int v3 = LDAP_VERSION3, rc;
	struct timeval tv = {.tv_sec = c->timeout_s ? c->timeout_s : 5};

	rc = ldap_initialize(&ld, c->uri);
	if (rc != LDAP_SUCCESS || !ld) {
		set_detail(r, "ldap: bad uri: %s", ldap_err2string(rc));
		return -1;
	}
	*ldp = ld;
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) !=
		LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) !=
		LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) !=
		LDAP_OPT_SUCCESS) {
		set_detail(r, "ldap: cannot set options");
		return -1;
	}
	if (strncasecmp(c->uri, "ldaps://", 8) == 0) {
		int demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;

		if ((c->ca_file[0] &&
		     ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE,
				     c->ca_file) != LDAP_OPT_SUCCESS) ||
		    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) !=
			LDAP_OPT_SUCCESS ||
		    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) !=
			LDAP_OPT_SUCCESS) {
			set_detail(r, "ldap: cannot set TLS options");
			return -1;
		}
	}
	return 0;
}

static void ldap_groups(const struct hg_access_ldap *c, LDAP *ld,
			const char *dn, const char *user,
			struct hg_auth_result *r)
{
	char filter[FILTER_MAX];
	char attr[HG_ACCESS_NAME_MAX];
	char *attrs[2] = {attr, NULL};
	struct timeval tv = {.tv_sec = c->timeout_s ? c->timeout_s : 5};
	LDAPMessage *msg = NULL, *e;
	int rc;

	copy_str(attr, sizeof(attr),
		 c->group_attr[0] ? c->group_attr : DEFAULT_GROUP_ATTR);
	if (make_filter(c->group_filter[0] ? c->group_filter
					   : DEFAULT_GROUP_FILTER,
			dn, user, filter, sizeof(filter)) < 0) {
		r->status = HG_AUTH_ERROR;
		set_detail(r, "ldap: group filter too long");
		return;
	}
	rc = ldap_search_ext_s(ld, c->group_base, LDAP_SCOPE_SUBTREE, filter,
			       attrs, 0, NULL, NULL, &tv, LDAP_SIZELIMIT, &msg);
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		r->status = HG_AUTH_ERROR;
		set_detail(r, "ldap search: %s", ldap_err2string(rc));
		ldap_msgfree(msg);
		return;
	}
	for (e = ldap_first_entry(ld, msg); e; e = ldap_next_entry(ld, e)) {
		struct berval **vals = ldap_get_values_len(ld, e, attr);
		int i;

		for (i = 0; vals && vals[i]; i++)
			add_group(r, vals[i]);
		ldap_value_free_len(vals);
	}
	ldap_msgfree(msg);
	r->status = HG_AUTH_OK;
	copy_str(r->source, sizeof(r->source), "ldap");
	set_detail(r, "ldap user");
}

static void check_ldap(struct hg_auth *a, const struct job *j,
		       struct hg_auth_result *r)
{
	const struct hg_access_ldap *c = &a->ldap;
	LDAP *ld = NULL;
	char dn[DN_MAX];
	struct berval cred;
	int rc;

	r->status = HG_AUTH_ERROR;
	if (j->pwlen == 0) {
		/* An empty simple bind is an anonymous bind: never send it
		 * (submit refuses empty passwords already). */
		r->status = HG_AUTH_DENIED;
		set_detail(r, "empty password");
		return;
	}
	if (make_dn(c->user_dn, j->user, dn, sizeof(dn)) < 0) {
		set_detail(r, "ldap: user_dn too long");
		return;
	}
	if (ldap_setup(c, &ld, r) < 0)
		goto out;
	cred.bv_val = (char *)j->password;
	cred.bv_len = j->pwlen;
	rc =
	    ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc == LDAP_SUCCESS) {
		if (c->group_base[0]) {
			ldap_groups(c, ld, dn, j->user, r);
		} else {
			r->status = HG_AUTH_OK;
			copy_str(r->source, sizeof(r->source), "ldap");
			set_detail(r, "ldap user, no group_base");
		}
	} else if (ldap_rc_denies(rc)) {
		r->status = HG_AUTH_DENIED;
		set_detail(r, "ldap bind: %s", ldap_err2string(rc));
	} else {
		set_detail(r, "ldap bind: %s", ldap_err2string(rc));
	}
out:
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
}

/* ---- workers ---- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct hg_auth *a = w->a;
	struct job j;

	for (;;) {
		uint32_t slot;

		pthread_mutex_lock(&a->lock);
		while (!a->stop && a->job_count == 0)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->stop) {
			pthread_mutex_unlock(&a->lock);
			break;
		}
		memcpy(&j, &a->jobs[a->job_head], sizeof(j));
		explicit_bzero(&a->jobs[a->job_head], sizeof(j));
		a->job_head = (a->job_head + 1) % HG_AUTH_QUEUE_MAX;
		a->job_count--;
		pthread_mutex_unlock(&a->lock);

		slot = j.slot;
		struct hg_auth_result *r = &a->att[slot].res;
		const struct hg_access_user *u = local_user(a, j.user);

		if (u || !a->ldap.enabled)
			check_local(w, u, &j, r);
		else
			check_ldap(a, &j, r);
		explicit_bzero(&j, sizeof(j));

		pthread_mutex_lock(&a->lock);
		a->done[(a->done_head + a->done_count) % HG_AUTH_MAX_PENDING] =
		    slot;
		a->done_count++;
		pthread_mutex_unlock(&a->lock);

		uint64_t one = 1;

		if (write(a->evfd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is already non-zero */
		}
	}
	explicit_bzero(&j, sizeof(j));
	return NULL;
}

/* ---- life cycle ---- */

static void fail_msg(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

struct hg_auth *hg_auth_new(const struct hg_access_auth *cfg, char *err,
			    size_t errlen)
{
	struct hg_auth *a;
	struct epoll_event ev;
	sigset_t all, old;
	unsigned i;

	if (!cfg) {
		fail_msg(err, errlen, "auth: no config");
		return NULL;
	}
	if (cfg->max_failures < 1) {
		fail_msg(err, errlen, "auth: max_failures must be >= 1");
		return NULL;
	}
	for (i = 0; i < cfg->n_users; i++) {
		const char *n = cfg->users[i].name;

		if (!hg_access_name_valid(n, strnlen(n, HG_ACCESS_NAME_MAX))) {
			fail_msg(err, errlen,
				 "auth: a local user's name is "
				 "not 1..64 of [A-Za-z0-9._@-]");
			return NULL;
		}
	}
	if (cfg->ldap.enabled && (!cfg->ldap.uri[0] || !cfg->ldap.user_dn[0] ||
				  !strstr(cfg->ldap.user_dn, "%s"))) {
		fail_msg(err, errlen,
			 "auth: ldap needs a uri and a user_dn with %s");
		return NULL;
	}

	a = calloc(1, sizeof(*a));
	if (!a) {
		fail_msg(err, errlen, "auth: out of memory");
		return NULL;
	}
	a->epfd = a->evfd = a->tfd = -1;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->max_failures = cfg->max_failures;
	/* 0 (a config filled by hand): the same limit as for names */
	a->max_addr_failures = cfg->max_address_failures
				       ? cfg->max_address_failures
				       : cfg->max_failures;
	a->lockout_ms = (uint64_t)cfg->lockout_s * 1000u;
	a->delay_ms = cfg->delay_ms;
	a->ldap = cfg->ldap;
	a->ldap.uri[sizeof(a->ldap.uri) - 1] = '\0';
	a->ldap.user_dn[sizeof(a->ldap.user_dn) - 1] = '\0';
	a->ldap.group_base[sizeof(a->ldap.group_base) - 1] = '\0';
	a->ldap.group_filter[sizeof(a->ldap.group_filter) - 1] = '\0';
	a->ldap.group_attr[sizeof(a->ldap.group_attr) - 1] = '\0';
	a->ldap.ca_file[sizeof(a->ldap.ca_file) - 1] = '\0';

	if (cfg->n_users) {
		a->users = calloc(cfg->n_users, sizeof(*a->users));
		if (!a->users)
			goto nomem;
		memcpy(a->users, cfg->users, cfg->n_users * sizeof(*a->users));
		a->n_users = cfg->n_users;
		for (i = 0; i < a->n_users; i++) {
			struct hg_access_user *u = &a->users[i];

			u->hash[sizeof(u->hash) - 1] = '\0';
			if (u->n_groups > HG_ACCESS_MAX_GROUPS)
				u->n_groups = HG_ACCESS_MAX_GROUPS;
		}
	}

	a->att = calloc(HG_AUTH_MAX_PENDING, sizeof(*a->att));
	if (!a->att)
		goto nomem;
	for (i = 0; i < HG_AUTH_MAX_PENDING; i++)
		a->att[i].next_free = i + 1 < HG_AUTH_MAX_PENDING ? i + 1 : NIL;
	a->free_att = 0;
	if (table_init(&a->users_t) < 0 || table_init(&a->addrs_t) < 0) {
		fail_msg(err, errlen,
			 "auth: no memory or randomness for the "
			 "counter tables");
		goto fail;
	}

	a->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	a->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->evfd < 0 || a->tfd < 0 || a->epfd < 0) {
		fail_msg(err, errlen, "auth: cannot create its fds");
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->evfd, &ev) < 0 ||
	    epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->tfd, &ev) < 0) {
		fail_msg(err, errlen, "auth: epoll_ctl failed");
		goto fail;
	}

	if (a->ldap.enabled) {
		/* libldap's global options are set up on first use; do it
		 * here, once, before two threads could race to. */
		int v;

		ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v);
	}

	for (i = 0; i < HG_AUTH_WORKERS; i++) {
		a->workers[i].a = a;
		a->workers[i].cd = calloc(1, sizeof(struct crypt_data));
		if (!a->workers[i].cd)
			goto nomem;
	}
	/* Workers take no signals: the control plane handles them in its
	 * loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < HG_AUTH_WORKERS; i++) {
		if (pthread_create(&a->workers[i].thread, NULL, worker_main,
				   &a->workers[i]) != 0)
			break;
		a->workers[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (i < HG_AUTH_WORKERS) {
		fail_msg(err, errlen, "auth: cannot start its threads");
		goto fail;
	}
	return a;

nomem:
	fail_msg(err, errlen, "auth: out of memory");
fail:
	hg_auth_free(a);
	return NULL;
}

void hg_auth_free(struct hg_auth *a)
{
	unsigned i;

	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < HG_AUTH_WORKERS; i++) {
		if (a->workers[i].started)
			pthread_join(a->workers[i].thread, NULL);
		if (a->workers[i].cd)
			explicit_bzero(a->workers[i].cd,
				       sizeof(struct crypt_data));
		free(a->workers[i].cd);
	}
	explicit_bzero(a->jobs, sizeof(a->jobs));
	if (a->users)
		explicit_bzero(a->users, a->n_users * sizeof(*a->users));
	free(a->users);
	if (a->att)
		explicit_bzero(a->att, HG_AUTH_MAX_PENDING * sizeof(*a->att));
	free(a->att);
	table_fini(&a->users_t);
	table_fini(&a->addrs_t);
	explicit_bzero(&a->ldap, sizeof(a->ldap));
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->evfd >= 0)
		close(a->evfd);
	if (a->tfd >= 0)
		close(a->tfd);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

int hg_auth_fd(const struct hg_auth *a)
{
	return a->epfd;
}

void hg_auth_get_stats(const struct hg_auth *a, struct hg_auth_stats *out)
{
	*out = a->stats;
}

/* ---- main thread: submit, count, hand out ---- */

static int busy(struct hg_auth *a)
{
	a->stats.busy++;
	return -EAGAIN;
}

static uint32_t attempt_alloc(struct hg_auth *a)
{
	uint32_t slot = a->free_att;

	a->free_att = a->att[slot].next_free;
	memset(&a->att[slot], 0, sizeof(a->att[slot]));
	a->stats.pending++;
	return slot;
}

static void attempt_free(struct hg_auth *a, uint32_t slot)
{
	explicit_bzero(&a->att[slot], sizeof(a->att[slot]));
	a->att[slot].next_free = a->free_att;
	a->free_att = slot;
	a->stats.pending--;
}

static void set_locked(struct hg_auth_result *r, bool user, bool addr)
{
	r->status = HG_AUTH_LOCKED;
	r->n_groups = 0;
	memset(r->groups, 0, sizeof(r->groups));
	r->source[0] = '\0';
	set_detail(r, "locked: %s",
		   user && addr ? "user and address"
		   : user	? "user"
				: "address");
}

int hg_auth_submit(struct hg_auth *a, const char *user, const char *password,
		   uint32_t client, uint64_t cookie, uint64_t now_ms)
{
	struct counter *uc = NULL, *ac;
	struct attempt *at;
	struct hg_auth_result *r;
	size_t ulen, plen;
	bool name_ok, ulocked, alocked;
	uint32_t slot, failures = 0;

	if (!a || !user || !password)
		return -EINVAL;
	if (a->stats.pending >= HG_AUTH_MAX_PENDING)
		return busy(a);
	ulen = strnlen(user, HG_ACCESS_NAME_MAX);
	plen = strnlen(password, HG_AUTH_PASSWORD_MAX + 1);
	name_ok = hg_access_name_valid(user, ulen);

	ac = addr_counter(a, client, true);
	if (name_ok)
		uc = user_counter(a, user, true);
	if (ac->pending >= KEY_PENDING_MAX ||
	    (uc && uc->pending >= KEY_PENDING_MAX))
		return busy(a);
	ulocked = is_locked(uc, now_ms);
	alocked = is_locked(ac, now_ms);

	if (!ulocked && !alocked && name_ok && plen >= 1 &&
	    plen <= HG_AUTH_PASSWORD_MAX) {
		/* A real check: never more in flight than failures left. */
		struct job *j;

		if (uc->failures + uc->in_flight >= a->max_failures ||
		    ac->failures + ac->in_flight >= a->max_addr_failures)
			return busy(a);
		pthread_mutex_lock(&a->lock);
		if (a->job_count >= HG_AUTH_QUEUE_MAX) {
			pthread_mutex_unlock(&a->lock);
			return busy(a);
		}
		slot = attempt_alloc(a);
		at = &a->att[slot];
		at->submit_ms = now_ms;
		at->seq = a->seq++;
		at->has_user = true;
		at->res.cookie = cookie;
		at->res.client = client;
		memcpy(at->res.user, user, ulen);
		j = &a->jobs[(a->job_head + a->job_count) % HG_AUTH_QUEUE_MAX];
		j->slot = slot;
		memcpy(j->user, user, ulen);
		j->user[ulen] = '\0';
		memcpy(j->password, password, plen);
		j->password[plen] = '\0';
		j->pwlen = plen;
		a->job_count++;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
		uc->in_flight++;
		ac->in_flight++;
		uc->pending++;
		ac->pending++;
		return 0;
	}

	/* Answered without a check. */
	slot = attempt_alloc(a);
	at = &a->att[slot];
	r = &at->res;
	at->submit_ms = now_ms;
	at->seq = a->seq++;
	at->has_user = name_ok;
	r->cookie = cookie;
	r->client = client;
	if (name_ok)
		memcpy(r->user, user, ulen);
	if (ulocked || alocked) {
		set_locked(r, ulocked, alocked);
		failures = delay_count(a, uc ? uc->failures : 0, ac->failures);
	} else {
		r->status = HG_AUTH_DENIED;
		set_detail(r, "%s",
			   !name_ok    ? "invalid user name"
			   : plen == 0 ? "empty password"
				       : "password too long");
		failures = delay_count(
			a, count_failure(a, uc, a->max_failures, now_ms),
			count_failure(a, ac, a->max_addr_failures, now_ms));
	}
	at->due_ms = now_ms + failure_delay(a, failures);
	if (uc)
		uc->pending++;
	ac->pending++;
	heap_push(a, slot);
	arm_timer(a, now_ms);
	return 0;
}

/* A worker's answer: count it, give it its due time. */
static void settle(struct hg_auth *a, uint32_t slot, uint64_t now)
{
	struct attempt *at = &a->att[slot];
	struct hg_auth_result *r = &at->res;
	struct counter *uc = user_counter(a, r->user, true);
	struct counter *ac = addr_counter(a, r->client, true);
	bool ulocked, alocked;

	if (uc->in_flight)
		uc->in_flight--;
	if (ac->in_flight)
		ac->in_flight--;
	at->due_ms = at->submit_ms;
	if (r->status == HG_AUTH_ERROR)
		return;
	ulocked = is_locked(uc, now);
	alocked = is_locked(ac, now);
	if (ulocked || alocked) {
		/* Locked by other attempts while this one was checked. */
		set_locked(r, ulocked, alocked);
		at->due_ms +=
		    failure_delay(a, delay_count(a, uc->failures, ac->failures));
	} else if (r->status == HG_AUTH_OK) {
		uc->failures = 0;
		uc->first_ms = 0;
	} else {
		uint32_t n = delay_count(
			a, count_failure(a, uc, a->max_failures, now),
			count_failure(a, ac, a->max_addr_failures, now));

		at->due_ms += failure_delay(a, n);
	}
}

bool hg_auth_next(struct hg_auth *a, struct hg_auth_result *out,
		  uint64_t now_ms)
{
	uint64_t v;
	uint32_t slot;
	struct attempt *at;
	struct counter *c;

	if (read(a->evfd, &v, sizeof(v)) < 0) {
		/* EAGAIN: no worker finished since the last call */
	}
	pthread_mutex_lock(&a->lock);
	while (a->done_count > 0) {
		slot = a->done[a->done_head];
		a->done_head = (a->done_head + 1) % HG_AUTH_MAX_PENDING;
		a->done_count--;
		pthread_mutex_unlock(&a->lock);
		settle(a, slot, now_ms);
		heap_push(a, slot);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);

	if (a->heap_n == 0 || a->att[a->heap[0]].due_ms > now_ms) {
		arm_timer(a, now_ms);
		return false;
	}
	slot = heap_pop(a);
	at = &a->att[slot];
	if (at->has_user && (c = user_counter(a, at->res.user, false)) &&
	    c->pending)
		c->pending--;
	if ((c = addr_counter(a, at->res.client, false)) && c->pending)
		c->pending--;
	switch (at->res.status) {
	case HG_AUTH_OK:
		a->stats.ok++;
		break;
	case HG_AUTH_DENIED:
		a->stats.denied++;
		break;
	case HG_AUTH_LOCKED:
		a->stats.locked++;
		break;
	default:
		a->stats.errors++;
		break;
	}
	*out = at->res;
	attempt_free(a, slot);
	arm_timer(a, now_ms);
	return true;
}

/* Forgets counters with nothing to remember: no attempt pending, no lock
 * in force, no failure within lockout_s. */
static void table_sweep(struct hg_auth *a, struct table *t, uint64_t now)
{
	uint32_t i = t->tail;

	while (i != NIL) {
		struct counter *c = &t->c[i];
		uint32_t prev = c->prev;

		if (!c->pending && !c->in_flight && !is_locked(c, now) &&
		    (c->failures == 0 || now - c->first_ms >= a->lockout_ms))
			table_remove(t, i);
		i = prev;
	}
}

void hg_auth_tick(struct hg_auth *a, uint64_t now_ms)
{
	table_sweep(a, &a->users_t, now_ms);
	table_sweep(a, &a->addrs_t, now_ms);
}
