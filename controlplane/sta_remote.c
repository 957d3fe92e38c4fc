/* The client for remote STAs. See sta_remote.h for the contract and
 * invariants.
 *
 * Who touches what:
 * - the main thread owns submit, next and the stats reads; the worker
 *   owns the answer buffer and each URL's failure time;
 * - the job ring, the result ring, in_progress, stop and the counters are
 *   shared under `lock`; `wake` tells the worker a job (or stop) came;
 * - the URL table is written once, in hg_sta_remote_new, before the
 *   worker starts, and only read after.
 */
#include "sta_remote.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "pkt.h"
#include "sta_xml.h"

#define CONNECT_TIMEOUT_MS 2000
#define ANSWER_DEADLINE_MS 5000	       /* from the connect, send included */
#define ANSWER_MAX	   (64 * 1024) /* status line, headers and body */
#define FAILED_RECENT_MS   30000       /* a failed URL goes last this long */
#define QMAX		   HG_STA_REMOTE_QUEUE_MAX

/* What one URL's exchange came to. */
enum outcome {
	OUT_VALID = 0,	   /* a ResponseData, e filled */
	OUT_NOT_FOUND = 1, /* a ResponseError TicketNotFound */
	OUT_FAILED = 2,	   /* anything else: try the next URL */
	OUT_STOPPED = 3	   /* hg_sta_remote_free is waiting */
};

struct url {
	char authority[HG_STA_AUTHORITY_MAX];
	uint32_t addr; /* host order */
	uint16_t port;
	char path[HG_ACCESS_TEXT_MAX];
	/* the worker's */
	bool failed;
	uint64_t failed_ms;
};

struct job {
	char authority[HG_STA_AUTHORITY_MAX];
	char ticket[HG_STA_TICKET_LEN + 1];
	uint64_t cookie;
};

struct hg_sta_remote {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job jobs[QMAX]; /* ring: job_head, job_count */
	unsigned job_head, job_count;
	struct hg_sta_remote_result results[QMAX]; /* ring */
	unsigned res_head, res_count;
	unsigned in_progress; /* 0 or 1: the job the worker holds */
	bool stop;
	struct hg_sta_remote_stats stats;

	int evfd;   /* readable while res_count > 0 */
	int stopfd; /* written once by free: polls in the worker return */
	pthread_t thread;
	bool thread_started;

	struct url urls[HG_ACCESS_MAX_REMOTE_STAS];
	unsigned n_urls;
	uint8_t *answer; /* ANSWER_MAX bytes, the worker's */
};

/* Adds 1 to an eventfd's counter: it cannot fail short of 2^64 - 2
 * writes without a read. */
static void evfd_write(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));

	(void)n;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the HTTP answer */


static bool digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool ieq(const uint8_t *p, size_t len, const char *s)
{
	size_t i;

	if (len != strlen(s))
		return false;
	for (i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c != (uint8_t)s[i])
			return false;
	}
	return true;
}

/* A Content-Length value at p[0..len): 1..6 digits, at most ANSWER_MAX. */
static bool content_length(const uint8_t *p, size_t len, size_t *v)
{
	size_t i, x = 0;

	if (len == 0 || len > 6)
		return false;
	for (i = 0; i < len; i++) {
		if (!digit(p[i]))
			return false;
		x = x * 10 + (size_t)(p[i] - '0');
	}
	if (x > ANSWER_MAX)
		return false;
	*v = x;
	return true;
}

/* The answer at p[0..len), of which eof says whether more can come: 0
 * with *a filled (the body is p[body_off..body_off + body_len)); -2 need
 * more; -1 bad. Lines end in CRLF; the status line is "HTTP/1.x NNN
 * reason"; the body is Content-Length bytes (one value, however often it
 * is given) or everything up to EOF; Transfer-Encoding is refused (we do
 * not read chunks). Never reads past p[len). *scanned (0 at first) keeps
 * how far the end of the head was looked for, so that an answer arriving
 * a byte at a time costs O(len), not O(len^2). */
int hg_sta_remote_http_answer(const uint8_t *p, size_t len, bool eof,
			      size_t *scanned, struct hg_sta_remote_answer *a)
{
	const uint8_t *end, *line, *lend, *colon, *v, *vend;
	size_t cl = 0, hdr_len;
	bool have_cl = false;
	size_t cl2;

	/* the head: up to the empty line */
	end = NULL;
	for (size_t i = *scanned; i + 3 < len; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' &&
		    p[i + 3] == '\n') {
			end = p + i + 2; /* after the last header's CRLF */
			*scanned = i;
			break;
		}
	if (end == NULL) {
		*scanned = len > 3 ? len - 3 : 0;
		return eof ? -1 : -2;
	}
	hdr_len = (size_t)(end - p) + 2;

	/* "HTTP/1.x NNN" then SP reason or nothing */
	lend = memchr(p, '\r', (size_t)(end - p));
	if (lend == NULL || lend[1] != '\n' || lend - p < 12 ||
	    memcmp(p, "HTTP/1.", 7) != 0 || !digit(p[7]) || p[8] != ' ' ||
	    !digit(p[9]) || !digit(p[10]) || !digit(p[11]) ||
	    (lend - p > 12 && p[12] != ' '))
		return -1;
	for (v = p + 12; v < lend; v++)
		if (*v < ' ' && *v != '\t')
			return -1; /* the reason: no bare LF or control */
	a->status = (unsigned)(p[9] - '0') * 100 +
		    (unsigned)(p[10] - '0') * 10 + (unsigned)(p[11] - '0');
	for (line = lend + 2; line < end; line = lend + 2) {
		lend = memchr(line, '\r', (size_t)(end - line));
		if (lend == NULL || lend[1] != '\n')
			return -1;
		colon = memchr(line, ':', (size_t)(lend - line));
		if (colon == NULL || colon == line)
			return -1;
		for (v = line; v < colon; v++)
			if (*v <= ' ' || *v >= 0x7f)
				return -1; /* no space before the colon */
		for (v = colon + 1; v < lend; v++)
			if (*v < ' ' && *v != '\t')
				return -1; /* a bare LF or another control */
		v = colon + 1;
		vend = lend;
		while (v < vend && (*v == ' ' || *v == '\t'))
			v++;
		while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		if (ieq(line, (size_t)(colon - line), "transfer-encoding"))
			return -1;
		if (ieq(line, (size_t)(colon - line), "content-length")) {
			if (!content_length(v, (size_t)(vend - v), &cl2) ||
			    (have_cl && cl2 != cl))
				return -1;
			cl = cl2;
			have_cl = true;
		}
	}
	a->body_off = hdr_len;
	if (have_cl) {
		if (len - hdr_len < cl)
			return eof ? -1 : -2;
		if (len - hdr_len > cl)
			return -1; /* more than announced */
		a->body_len = cl;
		return 0;
	}
	if (!eof)
		return -2;
	a->body_len = len - hdr_len;
	return 0;
}

/* ---- one exchange with one URL (the worker) */

/* Waits for events on fd until deadline_ms or the stop fd: 1 ready, 0
 * timed out, -1 stopped. */
static int wait_fd(const struct hg_sta_remote *r, int fd, short events,
		   uint64_t deadline_ms)
{
	struct pollfd pf[2] = {{.fd = fd, .events = events},
			       {.fd = r->stopfd, .events = POLLIN}};
	uint64_t now;
	int n;

	for (;;) {
		now = mono_ms();
		if (now >= deadline_ms)
			return 0;
		n = poll(pf, 2, (int)(deadline_ms - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		if (pf[1].revents != 0)
			return -1;
		if (pf[0].revents != 0)
			return 1;
	}
}

static int send_all(const struct hg_sta_remote *r, int fd, const char *p,
		    size_t len, uint64_t deadline_ms, const char **why)
{
	ssize_t n;
	int w;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			w = wait_fd(r, fd, POLLOUT, deadline_ms);
			if (w < 0)
				return OUT_STOPPED;
			if (w == 0) {
				*why = "timed out sending";
				return OUT_FAILED;
			}
			continue;
		}
		*why = "send failed";
		return OUT_FAILED;
	}
	return 0;
}

/* A connected socket in *fd, or an outcome with *why. */
static int connect_to(const struct hg_sta_remote *r, const struct url *u,
		      int *fd, const char **why)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(u->port),
				  .sin_addr.s_addr = htonl(u->addr)};
	socklen_t sl = sizeof(int);
	int s, w, soerr = 0;

	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0) {
		*why = "no socket";
		return OUT_FAILED;
	}
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (errno != EINPROGRESS) {
			*why = errno == ECONNREFUSED ? "connection refused"
						     : "connect failed";
			close(s);
			return OUT_FAILED;
		}
		w = wait_fd(r, s, POLLOUT, mono_ms() + CONNECT_TIMEOUT_MS);
		if (w <= 0) {
			*why = "connect timed out";
			close(s);
			return w < 0 ? OUT_STOPPED : OUT_FAILED;
		}
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ||
		    soerr != 0) {
			*why = soerr == ECONNREFUSED ? "connection refused"
						     : "connect failed";
			close(s);
			return OUT_FAILED;
		}
	}
	*fd = s;
	return 0;
}

/* Reads the answer into r->answer until http_answer has it whole: 0 with
 * *a filled, or an outcome with *why. */
static int read_answer(struct hg_sta_remote *r, int fd, uint64_t deadline_ms,
		       size_t *len, struct hg_sta_remote_answer *a, const char **why)
{
	size_t scanned = 0;
	bool eof = false;
	ssize_t n;
	int rc, w;

	*len = 0;
	for (;;) {
		rc = hg_sta_remote_http_answer(r->answer, *len, eof, &scanned, a);
		if (rc == 0)
			return 0;
		if (rc == -1) {
			*why = "bad HTTP answer";
			return OUT_FAILED;
		}
		if (*len == ANSWER_MAX) {
			*why = "answer over 64 KiB";
			return OUT_FAILED;
		}
		n = recv(fd, r->answer + *len, ANSWER_MAX - *len, 0);
		if (n > 0) {
			*len += (size_t)n;
		} else if (n == 0) {
			eof = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			w = wait_fd(r, fd, POLLIN, deadline_ms);
			if (w < 0)
				return OUT_STOPPED;
			if (w == 0) {
				*why = "timed out waiting for the answer";
				return OUT_FAILED;
			}
		} else if (errno != EINTR) {
			*why = errno == ECONNRESET ? "connection reset"
						   : "receive failed";
			return OUT_FAILED;
		}
	}
}

/* POSTs body (the RequestData) to u and reads what comes back. */
static int exchange(struct hg_sta_remote *r, const struct url *u,
		    const char *body, struct hg_sta_entry *e, const char **why)
{
	char head[512], host[16];
	struct hg_sta_remote_answer a;
	size_t len = 0;
	uint64_t deadline;
	int fd = -1, rc, n;

	rc = connect_to(r, u, &fd, why);
	if (rc != 0)
		return rc;
	deadline = mono_ms() + ANSWER_DEADLINE_MS;
	hg_ipv4_format(u->addr, host);
	n = snprintf(head, sizeof(head),
		     "POST %s HTTP/1.1\r\n"
		     "Host: %s:%u\r\n"
		     "Content-Type: text/xml\r\n"
		     "Content-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     u->path, host, u->port, strlen(body));
	if (n < 0 || (size_t)n >= sizeof(head)) {
		*why = "request head too long";
		rc = OUT_FAILED;
		goto done;
	}
	rc = send_all(r, fd, head, (size_t)n, deadline, why);
	if (rc == 0)
		rc = send_all(r, fd, body, strlen(body), deadline, why);
	if (rc == 0)
		rc = read_answer(r, fd, deadline, &len, &a, why);
	if (rc != 0)
		goto done;
	if (a.status != 200 && a.status != 404) {
		*why = "HTTP status neither 200 nor 404";
		rc = OUT_FAILED;
		goto done;
	}
	rc = hg_sta_xml_parse_data_response(r->answer + a.body_off, a.body_len,
					    e);
	if (rc == -ENOENT) {
		rc = OUT_NOT_FOUND;
	} else if (rc == 0 && a.status == 200 && e->addr != 0 && e->port != 0) {
		e->refreshable = false; /* ours to decide, not theirs */
		rc = OUT_VALID;
	} else {
		explicit_bzero(e, sizeof(*e));
		*why = "not a ResponseData or TicketNotFound";
		rc = OUT_FAILED;
	}
done:
	explicit_bzero(r->answer, len);
	close(fd);
	return rc;
}

/* "a.b.c.d:port/path" of u into buf. */
static void url_name(const struct url *u, char *buf, size_t size)
{
	char host[16];

	hg_ipv4_format(u->addr, host);
	if (snprintf(buf, size, "%s:%u%s", host, u->port, u->path) < 0)
		buf[0] = '\0';
}

static void set_detail(struct hg_sta_remote_result *res, const char *what,
		       const char *name, const char *why)
{
	int n = snprintf(res->detail, sizeof(res->detail), "%s %s%s%s", what,
			 name, why ? ": " : "", why ? why : "");

	if (n < 0)
		res->detail[0] = '\0';
}

/* Tries the authority's URLs for job: the result in *res, and the
 * fail-overs it took in *failovers. */
static void run_job(struct hg_sta_remote *r, const struct job *job,
		    struct hg_sta_remote_result *res, unsigned *failovers)
{
	unsigned order[HG_ACCESS_MAX_REMOTE_STAS], n = 0, i, tried;
	const char *why = "no URL";
	char name[HG_ACCESS_TEXT_MAX + 32], what[48];
	uint64_t now = mono_ms();
	struct url *u;
	char *body;
	int rc = OUT_FAILED;
	bool recent;

	memset(res, 0, sizeof(*res));
	res->cookie = job->cookie;
	res->status = -EIO;
	*failovers = 0;
	name[0] = '\0';
	/* the URLs that did not fail lately first, then the others, each
	 * group in config order */
	for (int pass = 0; pass < 2; pass++)
		for (i = 0; i < r->n_urls; i++) {
			u = &r->urls[i];
			if (strcmp(u->authority, job->authority) != 0)
				continue;
			recent =
			    u->failed && now - u->failed_ms < FAILED_RECENT_MS;
			if (recent == (pass == 1))
				order[n++] = i;
		}
	body = hg_sta_xml_data_request(job->authority, job->ticket);
	if (body == NULL) {
		set_detail(res, "no request built:", "out of memory", NULL);
		return;
	}
	for (tried = 0; tried < n; tried++) {
		u = &r->urls[order[tried]];
		url_name(u, name, sizeof(name));
		rc = exchange(r, u, body, &res->e, &why);
		if (rc == OUT_VALID || rc == OUT_NOT_FOUND) {
			u->failed = false;
			break;
		}
		if (rc == OUT_STOPPED)
			break;
		u->failed = true;
		u->failed_ms = mono_ms();
		if (tried + 1 < n)
			(*failovers)++;
	}
	hg_sta_xml_free(body);
	if (rc == OUT_VALID) {
		res->status = 0;
		set_detail(res, "valid at", name, NULL);
	} else if (rc == OUT_NOT_FOUND) {
		res->status = -ENOENT;
		set_detail(res, "not found at", name, NULL);
	} else if (rc == OUT_STOPPED) {
		set_detail(res, "stopped at", name, NULL);
	} else if (n > 0) {
		/* the last URL tried, without its path: room for why */
		*strchrnul(name, '/') = '\0';
		snprintf(what, sizeof(what), "no answer from %u URL%s;", n,
			 n == 1 ? "" : "s");
		set_detail(res, what, name, why);
	} else {
		set_detail(res, "no URL for the authority", "", NULL);
	}
}

static void *worker_main(void *arg)
{
	struct hg_sta_remote *r = arg;
	struct hg_sta_remote_result res;
	struct job job;
	unsigned failovers, slot;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		while (!r->stop && r->job_count == 0)
			pthread_cond_wait(&r->wake, &r->lock);
		if (r->stop) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		job = r->jobs[r->job_head];
		explicit_bzero(&r->jobs[r->job_head], sizeof(job));
		r->job_head = (r->job_head + 1) % QMAX;
		r->job_count--;
		r->in_progress = 1;
		pthread_mutex_unlock(&r->lock);

		run_job(r, &job, &res, &failovers);
		explicit_bzero(&job, sizeof(job));

		pthread_mutex_lock(&r->lock);
		r->in_progress = 0;
		r->stats.failovers += failovers;
		if (res.status == 0)
			r->stats.valid++;
		else if (res.status == -ENOENT)
			r->stats.not_found++;
		else
			r->stats.unreachable++;
		slot = (r->res_head + r->res_count) % QMAX;
		r->results[slot] = res;
		if (r->res_count++ == 0)
			evfd_write(r->evfd);
		pthread_mutex_unlock(&r->lock);
		explicit_bzero(&res, sizeof(res));
	}
	return NULL;
}

/* ---- the main thread's side */

static int fail(char *err, size_t errlen, const char *msg, unsigned i)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "remote_stas[%u]: %s", i, msg);
	return -1;
}

static int copy_urls(struct hg_sta_remote *r, const struct hg_access_config *a,
		     char *err, size_t errlen)
{
	const struct hg_access_remote_sta *s;
	size_t n, j;
	unsigned i;

	if (a->n_remote_stas > HG_ACCESS_MAX_REMOTE_STAS)
		return fail(err, errlen, "too many remote STAs",
			    a->n_remote_stas);
	for (i = 0; i < a->n_remote_stas; i++) {
		s = &a->remote_stas[i];
		n = strnlen(s->authority_id, sizeof(s->authority_id));
		if (!hg_sta_authority_valid(s->authority_id, n) ||
		    n >= sizeof(r->urls[i].authority))
			return fail(err, errlen, "bad authority ID", i);
		if (s->addr == 0 || s->port == 0)
			return fail(err, errlen, "no address or port", i);
		n = strnlen(s->path, sizeof(s->path));
		if (n == 0 || n == sizeof(s->path) || s->path[0] != '/')
			return fail(err, errlen, "path must start with /", i);
		for (j = 0; j < n; j++)
			if (s->path[j] <= ' ' || s->path[j] >= 0x7f)
				return fail(err, errlen,
					    "path must be printable ASCII", i);
		memcpy(r->urls[i].authority, s->authority_id,
		       strlen(s->authority_id) + 1);
		r->urls[i].addr = s->addr;
		r->urls[i].port = s->port;
		memcpy(r->urls[i].path, s->path, n + 1);
	}
	r->n_urls = a->n_remote_stas;
	return 0;
}

struct hg_sta_remote *hg_sta_remote_new(const struct hg_access_config *a,
					char *err, size_t errlen)
{
	/* runs the codec once here: libxml2's one-time set-up happens on
	 * this thread, before the worker can race it */
	static const char probe[] =
	    "<CtxSTAProtocol version=\"4.0\"><ResponseError><Code>"
	    "TicketNotFound</Code></ResponseError></CtxSTAProtocol>";
	struct hg_sta_remote *r;
	struct hg_sta_entry e;
	sigset_t all, old;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		fail(err, errlen, "out of memory", 0);
		return NULL;
	}
	r->evfd = r->stopfd = -1;
	if (copy_urls(r, a, err, errlen) < 0) {
		free(r);
		return NULL;
	}
	if (hg_sta_xml_parse_data_response((const uint8_t *)probe,
					   sizeof(probe) - 1, &e) != -ENOENT) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "STA codec self-check failed");
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	r->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->evfd < 0 || r->stopfd < 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "eventfd: %s", strerror(errno));
		hg_sta_remote_free(r);
		return NULL;
	}
	if (r->n_urls == 0)
		return r; /* nothing to ask: no worker */
	r->answer = malloc(ANSWER_MAX);
	if (r->answer == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "out of memory");
		hg_sta_remote_free(r);
		return NULL;
	}
	/* the worker takes no signals: they stay the main thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&r->thread, NULL, worker_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "pthread_create: %s",
				 strerror(rc));
		hg_sta_remote_free(r);
		return NULL;
	}
	r->thread_started = true;
	return r;
}

void hg_sta_remote_free(struct hg_sta_remote *r)
{
	if (r == NULL)
		return;
	if (r->thread_started) {
		pthread_mutex_lock(&r->lock);
		r->stop = true;
		pthread_cond_signal(&r->wake);
		pthread_mutex_unlock(&r->lock);
		evfd_write(r->stopfd);
		pthread_join(r->thread, NULL);
	}
	if (r->evfd >= 0)
		close(r->evfd);
	if (r->stopfd >= 0)
		close(r->stopfd);
	if (r->answer != NULL) {
		explicit_bzero(r->answer, ANSWER_MAX);
		free(r->answer);
	}
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	explicit_bzero(r, sizeof(*r)); /* queued tickets, unread results */
	free(r);
}

int hg_sta_remote_fd(const struct hg_sta_remote *r)
{
	return r->evfd;
}

bool hg_sta_remote_has(const struct hg_sta_remote *r, const char *authority)
{
	unsigned i;

	if (authority == NULL)
		return false;
	for (i = 0; i < r->n_urls; i++)
		if (strcmp(r->urls[i].authority, authority) == 0)
			return true;
	return false;
}

int hg_sta_remote_submit(struct hg_sta_remote *r, const char *authority,
			 const char *ticket, uint64_t cookie)
{
	struct job *j;
	size_t tlen;

	if (!hg_sta_remote_has(r, authority))
		return -ENOENT;
	tlen = ticket != NULL ? strnlen(ticket, HG_STA_TICKET_LEN + 1) : 0;
	if (!hg_sta_ticket_valid(ticket, tlen))
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	if (r->job_count + r->in_progress + r->res_count >= QMAX) {
		r->stats.busy++;
		pthread_mutex_unlock(&r->lock);
		return -EAGAIN;
	}
	j = &r->jobs[(r->job_head + r->job_count) % QMAX];
	/* has() matched it against a stored ID, which fits */
	memcpy(j->authority, authority, strlen(authority) + 1);
	memcpy(j->ticket, ticket, HG_STA_TICKET_LEN);
	j->ticket[HG_STA_TICKET_LEN] = '\0';
	j->cookie = cookie;
	r->job_count++;
	r->stats.requests++;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

bool hg_sta_remote_next(struct hg_sta_remote *r,
			struct hg_sta_remote_result *out)
{
	uint64_t v;
	bool got = false;

	pthread_mutex_lock(&r->lock);
	if (r->res_count > 0) {
		*out = r->results[r->res_head];
		explicit_bzero(&r->results[r->res_head], sizeof(*out));
		r->res_head = (r->res_head + 1) % QMAX;
		r->res_count--;
		got = true;
	}
	if (r->res_count == 0) {
		/* drained: -1 EAGAIN when it was already */
		ssize_t n = read(r->evfd, &v, sizeof(v));

		(void)n;
	}
	pthread_mutex_unlock(&r->lock);
	return got;
}

void hg_sta_remote_get_stats(const struct hg_sta_remote *r,
			     struct hg_sta_remote_stats *out)
{
	/* the lock is not part of the object's value */
	pthread_mutex_t *lock = (pthread_mutex_t *)&r->lock;

	pthread_mutex_lock(lock);
	*out = r->stats;
	pthread_mutex_unlock(lock);
}
