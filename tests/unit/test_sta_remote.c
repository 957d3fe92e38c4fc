/* The remote STA client (controlplane/sta_remote.h) against real HTTP
 * servers on 127.0.0.1: threads of this test with listening sockets on
 * ephemeral ports, answering canned CtxSTAProtocol documents built with
 * the codec. Covers: a valid ticket (and the request as it arrives:
 * method, path, Host, Content-Type, Connection, the RequestData's ticket
 * and authority), an answer read to EOF, one arriving a byte at a time,
 * TicketNotFound without asking the next URL, fail-over after a refused
 * port, a silent server (5 s answer deadline), a connect that never
 * completes (2 s), every URL down, bad answers (garbage, status 500,
 * chunked, truncated, oversize, a ResponseData under 404, another error
 * code, bad headers), the recently failed URL tried last, the queue bound
 * (results not read count), unknown authorities and malformed tickets,
 * configs refused, no remote STA at all, and results arriving through
 * the fd (level: readable exactly while results wait). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sta.h"
#include "sta_remote.h"
#include "sta_xml.h"

#define AUTH	"STA475DE9C8ABDA"
#define AUTH2	"STA0000000000B2"
#define TICKET	"0123456789ABCDEF0123456789ABCDEF"
#define LOOP	0x7f000001u /* 127.0.0.1, host order */
#define PATH	"/scripts/ctxsta.dll"
#define REQ_MAX 8192

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- a tiny HTTP responder */

enum mode {
	RESPOND, /* read the request, send `canned`, close */
	TRICKLE, /* as RESPOND, a byte per write, 1 ms apart */
	SILENT,	 /* read the request, never answer (until the client goes) */
	BACKLOG	 /* never accept: listen(0) with its queue filled, so SYNs
		    to it are dropped and connects hang */
};

struct server {
	int lfd, stopfd, filler;
	uint16_t port;
	enum mode mode;
	char *canned;
	size_t canned_len;
	pthread_t thread;
	atomic_uint connections;
	pthread_mutex_t lock;
	char request[REQ_MAX]; /* the last request, NUL-terminated */
	size_t request_len;
};

/* Reads one request (head and Content-Length body) from fd into s. */
static void read_request(struct server *s, int fd)
{
	char buf[REQ_MAX];
	size_t len = 0, cl = 0;
	const char *end, *h;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end == NULL)
			continue;
		h = strstr(buf, "Content-Length: ");
		if (h != NULL && h < end)
			cl = strtoul(h + 16, NULL, 10);
		if (len >= (size_t)(end + 4 - buf) + cl)
			break;
	}
	buf[len] = '\0';
	pthread_mutex_lock(&s->lock);
	memcpy(s->request, buf, len + 1);
	s->request_len = len;
	pthread_mutex_unlock(&s->lock);
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct pollfd pf[2];
	char b[256];
	int fd;

	for (;;) {
		pf[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = s->stopfd, .events = POLLIN};
		if (poll(pf, 2, -1) < 0 || pf[1].revents != 0)
			break;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		atomic_fetch_add(&s->connections, 1);
		read_request(s, fd);
		if (s->mode == RESPOND) {
			if (s->canned_len > 0)
				(void)!send(fd, s->canned, s->canned_len,
					    MSG_NOSIGNAL);
		} else if (s->mode == TRICKLE) {
			for (size_t i = 0; i < s->canned_len; i++) {
				(void)!send(fd, s->canned + i, 1, MSG_NOSIGNAL);
				usleep(1000);
			}
		} else {
			/* silent: until the client gives up, or stop */
			pf[0] = (struct pollfd){.fd = fd, .events = POLLIN};
			while (poll(pf, 2, -1) > 0 && pf[1].revents == 0 &&
			       recv(fd, b, sizeof(b), 0) > 0)
				;
		}
		close(fd);
	}
	return NULL;
}

static int listen_socket(int backlog, uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(LOOP)};
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, backlog), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A server answering `canned` (NUL-terminated; copied) in mode. */
static struct server *server_start(enum mode mode, const char *canned)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sin = {.sin_family = AF_INET};

	cr_assert_not_null(s);
	s->mode = mode;
	s->filler = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (canned != NULL) {
		s->canned = strdup(canned);
		s->canned_len = strlen(canned);
	}
	s->lfd = listen_socket(mode == BACKLOG ? 0 : 16, &s->port);
	s->stopfd = eventfd(0, EFD_CLOEXEC);
	cr_assert_geq(s->stopfd, 0);
	if (mode == BACKLOG) {
		/* one connection fills a backlog of 0; the next SYN is
		 * dropped by the kernel */
		sin.sin_addr.s_addr = htonl(LOOP);
		sin.sin_port = htons(s->port);
		s->filler = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert_eq(
		    connect(s->filler, (struct sockaddr *)&sin, sizeof(sin)),
		    0);
		return s;
	}
	cr_assert_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
	return s;
}

static void server_stop(struct server *s)
{
	uint64_t one = 1;

	if (s->mode != BACKLOG) {
		cr_assert_eq(write(s->stopfd, &one, sizeof(one)), 8);
		pthread_join(s->thread, NULL);
	}
	if (s->filler >= 0)
		close(s->filler);
	close(s->lfd);
	close(s->stopfd);
	free(s->canned);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static unsigned conns(struct server *s)
{
	return atomic_load(&s->connections);
}

/* A port nothing listens on: bound, then closed. */
static uint16_t closed_port(void)
{
	uint16_t port;
	int fd = listen_socket(1, &port);

	close(fd);
	return port;
}

/* An HTTP answer: status line, optional Content-Length, body. */
static char *http(const char *status, bool with_length, const char *body)
{
	char head[256];
	char *out;
	size_t hl, bl = strlen(body);

	if (with_length)
		snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: text/xml; charset=utf-8"
			 "\r\nContent-Length: %zu\r\n\r\n",
			 status, bl);
	else
		snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: text/xml\r\n\r\n",
			 status);
	hl = strlen(head);
	out = malloc(hl + bl + 1);
	cr_assert_not_null(out);
	memcpy(out, head, hl);
	memcpy(out + hl, body, bl + 1);
	return out;
}

static struct hg_sta_entry sample_entry(void)
{
	struct hg_sta_entry e;

	memset(&e, 0, sizeof(e));
	e.addr = 0x0a010203; /* 10.1.2.3 */
	e.port = 1494;
	e.cgp_port = 2598;
	snprintf(e.user, sizeof(e.user), "alice");
	snprintf(e.domain, sizeof(e.domain), "CORP");
	snprintf(e.resource, sizeof(e.resource), "Notepad");
	snprintf(e.protocol, sizeof(e.protocol), "HDX");
	return e;
}

/* The answers a real STA gives. */
static char *valid_answer(void)
{
	struct hg_sta_entry e = sample_entry();
	char *xml = hg_sta_xml_data_response(AUTH, &e);
	char *out;

	cr_assert_not_null(xml);
	out = http("200 OK", true, xml);
	hg_sta_xml_free(xml);
	return out;
}

static char *error_answer(const char *status, const char *code)
{
	char *xml = hg_sta_xml_error_response(code, "no such ticket");
	char *out;

	cr_assert_not_null(xml);
	out = http(status, true, xml);
	hg_sta_xml_free(xml);
	return out;
}

static struct server *server_answering(char *canned)
{
	struct server *s = server_start(RESPOND, canned);

	free(canned);
	return s;
}

/* ---- the client's side */

static void add_url(struct hg_access_config *a, const char *auth, uint16_t port)
{
	struct hg_access_remote_sta *r = &a->remote_stas[a->n_remote_stas++];

	snprintf(r->authority_id, sizeof(r->authority_id), "%s", auth);
	r->addr = LOOP;
	r->port = port;
	snprintf(r->path, sizeof(r->path), "%s", PATH);
}

static struct hg_sta_remote *client(const struct hg_access_config *a)
{
	char err[128] = "";
	struct hg_sta_remote *r = hg_sta_remote_new(a, err, sizeof(err));

	cr_assert_not_null(r, "hg_sta_remote_new: %s", err);
	return r;
}

static bool fd_readable(const struct hg_sta_remote *r, int timeout_ms)
{
	struct pollfd pf = {.fd = hg_sta_remote_fd(r), .events = POLLIN};

	return poll(&pf, 1, timeout_ms) == 1 && (pf.revents & POLLIN);
}

/* Waits (on the fd, as the main loop does) for the next result. */
static void wait_result(struct hg_sta_remote *r,
			struct hg_sta_remote_result *out, int timeout_ms)
{
	cr_assert(fd_readable(r, timeout_ms), "no result within %d ms",
		  timeout_ms);
	cr_assert(hg_sta_remote_next(r, out));
	cr_assert_eq(strstr(out->detail, TICKET), NULL,
		     "the ticket in the detail");
}

static void assert_sample(const struct hg_sta_entry *e)
{
	cr_assert_eq(e->addr, 0x0a010203u);
	cr_assert_eq(e->port, 1494);
	cr_assert_eq(e->cgp_port, 2598);
	cr_assert_str_eq(e->user, "alice");
	cr_assert_str_eq(e->domain, "CORP");
	cr_assert_str_eq(e->resource, "Notepad");
	cr_assert_str_eq(e->protocol, "HDX");
	cr_assert_not(e->refreshable);
}

static void stats(const struct hg_sta_remote *r, struct hg_sta_remote_stats *s)
{
	hg_sta_remote_get_stats(r, s);
}

/* One job against `first` (whatever it does) with a valid second URL:
 * the answer comes from the second after one fail-over. */
static void assert_fails_over(struct server *first)
{
	struct hg_access_config a = {0};
	struct server *good = server_answering(valid_answer());
	struct hg_sta_remote_result res;
	struct hg_sta_remote_stats st;
	struct hg_sta_remote *r;
	unsigned before = conns(first);
	char port[16];

	add_url(&a, AUTH, first->port);
	add_url(&a, AUTH, good->port);
	r = client(&a);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 7), 0);
	wait_result(r, &res, 10000);
	cr_assert_eq(res.status, 0, "status %d: %s", res.status, res.detail);
	cr_assert_eq(res.cookie, 7);
	assert_sample(&res.e);
	snprintf(port, sizeof(port), ":%u/", good->port);
	cr_assert_not_null(strstr(res.detail, port), "%s", res.detail);
	cr_assert_eq(conns(first), before + 1);
	cr_assert_eq(conns(good), 1);
	stats(r, &st);
	cr_assert_eq(st.failovers, 1);
	cr_assert_eq(st.valid, 1);
	hg_sta_remote_free(r);
	server_stop(good);
}

Test(sta_remote, valid_ticket_and_the_request_as_sent)
{
	struct hg_access_config a = {0};
	struct server *s = server_answering(valid_answer());
	struct hg_sta_remote_result res;
	struct hg_sta_remote_stats st;
	struct hg_sta_xml_request q;
	struct hg_sta_remote *r;
	char host[64], err[96];
	const char *body;

	add_url(&a, AUTH, s->port);
	r = client(&a);
	cr_assert(hg_sta_remote_has(r, AUTH));
	cr_assert_not(hg_sta_remote_has(r, AUTH2));
	cr_assert_not(fd_readable(r, 0));
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 42), 0);
	wait_result(r, &res, 5000);
	cr_assert_eq(res.status, 0, "%s", res.detail);
	cr_assert_eq(res.cookie, 42);
	assert_sample(&res.e);
	cr_assert_not_null(strstr(res.detail, "valid at 127.0.0.1:"), "%s",
			   res.detail);
	cr_assert_not(fd_readable(r, 0), "fd readable with no result");
	cr_assert_not(hg_sta_remote_next(r, &res));

	/* what the STA received */
	pthread_mutex_lock(&s->lock);
	cr_assert(strncmp(s->request, "POST " PATH " HTTP/1.1\r\n", 35) == 0,
		  "%s", s->request);
	snprintf(host, sizeof(host), "\r\nHost: 127.0.0.1:%u\r\n", s->port);
	cr_assert_not_null(strstr(s->request, host));
	cr_assert_not_null(
	    strstr(s->request, "\r\nContent-Type: text/xml\r\n"));
	cr_assert_not_null(strstr(s->request, "\r\nConnection: close\r\n"));
	body = strstr(s->request, "\r\n\r\n");
	cr_assert_not_null(body);
	body += 4;
	memset(&q, 0, sizeof(q));
	cr_assert_eq(hg_sta_xml_parse((const uint8_t *)body, strlen(body), &q,
				      err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(q.kind, HG_STA_XML_REQUEST_DATA);
	cr_assert_str_eq(q.ticket, TICKET);
	cr_assert_str_eq(q.authority, AUTH);
	pthread_mutex_unlock(&s->lock);

	stats(r, &st);
	cr_assert_eq(st.requests, 1);
	cr_assert_eq(st.valid, 1);
	cr_assert_eq(st.not_found + st.failovers + st.unreachable + st.busy, 0);
	hg_sta_remote_free(r);
	server_stop(s);
}

Test(sta_remote, answer_without_length_read_to_eof)
{
	struct hg_access_config a = {0};
	struct hg_sta_entry e = sample_entry();
	char *xml = hg_sta_xml_data_response(NULL, &e);
	struct server *s = server_answering(http("200 OK", false, xml));
	struct hg_sta_remote_result res;
	struct hg_sta_remote *r;

	hg_sta_xml_free(xml);
	add_url(&a, AUTH, s->port);
	r = client(&a);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 1), 0);
	wait_result(r, &res, 5000);
	cr_assert_eq(res.status, 0, "%s", res.detail);
	assert_sample(&res.e);
	hg_sta_remote_free(r);
	server_stop(s);
}

Test(sta_remote, answer_a_byte_at_a_time)
{
	struct hg_access_config a = {0};
	char *canned = valid_answer();
	struct server *s = server_start(TRICKLE, canned);
	struct hg_sta_remote_result res;
	struct hg_sta_remote *r;

	free(canned);
	add_url(&a, AUTH, s->port);
	r = client(&a);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 1), 0);
	wait_result(r, &res, 5000);
	cr_assert_eq(res.status, 0, "%s", res.detail);
	assert_sample(&res.e);
	hg_sta_remote_free(r);
	server_stop(s);
}

Test(sta_remote, not_found_does_not_ask_the_next_url)
{
	struct hg_access_config a = {0};
	struct server *nf =
	    server_answering(error_answer("404 Not Found", "TicketNotFound"));
	struct server *good = server_answering(valid_answer());
	struct hg_sta_remote_result res;
	struct hg_sta_remote_stats st;
	struct hg_sta_remote *r;

	add_url(&a, AUTH, nf->port);
	add_url(&a, AUTH, good->port);
	r = client(&a);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 3), 0);
	wait_result(r, &res, 5000);
	cr_assert_eq(res.status, -ENOENT, "%d %s", res.status, res.detail);
	cr_assert_eq(res.cookie, 3);
	cr_assert_eq(res.e.addr, 0);
	cr_assert_not_null(strstr(res.detail, "not found at"));
	cr_assert_eq(conns(nf), 1);
	cr_assert_eq(conns(good), 0, "the authority had spoken");
	stats(r, &st);
	cr_assert_eq(st.not_found, 1);
	cr_assert_eq(st.failovers, 0);
	hg_sta_remote_free(r);
	server_stop(nf);
	server_stop(good);
}

Test(sta_remote, not_found_under_200_too)
{
	struct hg_access_config a = {0};
	struct server *nf =
	    server_answering(error_answer("200 OK", "TicketNotFound"));
	struct hg_sta_remote_result res;
	struct hg_sta_remote *r;

	add_url(&a, AUTH, nf->port);
	r = client(&a);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 3), 0);
	wait_result(r, &res, 5000);
	cr_assert_eq(res.status, -ENOENT, "%d %s", res.status, res.detail);
	hg_sta_remote_free(r);
	server_stop(nf);
}

Test(sta_remote, refused_fails_over_then_goes_last)
{
	struct hg_access_config a = {0};
	struct server *good = server_answering(valid_answer());
	struct hg_sta_remote_result res;
	struct hg_sta_remote_stats st;
	struct hg_sta_remote *r;
	uint64_t t0;

	add_url(&a, AUTH, closed_port());
	add_url(&a, AUTH, good->port);
	r = client(&a);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 1), 0);
	wait_result(r, &res, 5000);
	cr_assert_eq(res.status, 0, "%s", res.detail);
	stats(r, &st);
	cr_assert_eq(st.failovers, 1);
	/* the refused URL failed less than 30 s ago: the good one first,
	 * and no fail-over this time */
	t0 = now_ms();
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 2), 0);
	wait_result(r, &res, 5000);
	cr_assert_eq(res.status, 0, "%s", res.detail);
	cr_assert_eq(res.cookie, 2);
	cr_assert_lt(now_ms() - t0, 1000);
	stats(r, &st);
	cr_assert_eq(st.failovers, 1);
	cr_assert_eq(st.valid, 2);
	cr_assert_eq(conns(good), 2);
	hg_sta_remote_free(r);
	server_stop(good);
}

Test(sta_remote, silent_server_times_out_then_fails_over)
{
	struct server *silent = server_start(SILENT, NULL);
	uint64_t t0 = now_ms(), dt;

	assert_fails_over(silent);
	dt = now_ms() - t0;
	cr_assert_geq(dt, 4900, "answered after %llu ms",
		      (unsigned long long)dt);
	cr_assert_lt(dt, 8000, "answered after %llu ms",
		     (unsigned long long)dt);
	server_stop(silent);
}

Test(sta_remote, connect_that_hangs_times_out_in_2s)
{
	struct hg_access_config a = {0};
	struct server *hang = server_start(BACKLOG, NULL);
	struct hg_sta_remote_result res;
	struct hg_sta_remote *r;
	uint64_t t0, dt;

	add_url(&a, AUTH, hang->port);
	r = client(&a);
	t0 = now_ms();
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 1), 0);
	wait_result(r, &res, 6000);
	dt = now_ms() - t0;
	cr_assert_eq(res.status, -EIO);
	cr_assert_not_null(strstr(res.detail, "connect timed out"), "%s",
			   res.detail);
	cr_assert_geq(dt, 1900, "%llu ms", (unsigned long long)dt);
	cr_assert_lt(dt, 4000, "%llu ms", (unsigned long long)dt);
	hg_sta_remote_free(r);
	server_stop(hang);
}

Test(sta_remote, every_url_down_is_eio)
{
	struct hg_access_config a = {0};
	struct hg_sta_remote_result res;
	struct hg_sta_remote_stats st;
	struct hg_sta_remote *r;

	add_url(&a, AUTH, closed_port());
	add_url(&a, AUTH, closed_port());
	r = client(&a);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 9), 0);
	wait_result(r, &res, 5000);
	cr_assert_eq(res.status, -EIO);
	cr_assert_eq(res.cookie, 9);
	cr_assert_not_null(
	    strstr(res.detail, "no answer from 2 URLs; 127.0.0.1:"), "%s",
	    res.detail);
	cr_assert_not_null(strstr(res.detail, "connection refused"), "%s",
			   res.detail);
	stats(r, &st);
	cr_assert_eq(st.unreachable, 1);
	cr_assert_eq(st.failovers, 1);
	cr_assert_eq(st.valid + st.not_found, 0);
	hg_sta_remote_free(r);
}

/* One job against s alone: -EIO, and why in the detail. */
static void assert_refused_because(struct server *s, const char *why)
{
	struct hg_access_config a = {0};
	struct hg_sta_remote_result res;
	struct hg_sta_remote *r;

	add_url(&a, AUTH, s->port);
	r = client(&a);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 5), 0);
	wait_result(r, &res, 10000);
	cr_assert_eq(res.status, -EIO, "%d %s", res.status, res.detail);
	cr_assert_not_null(strstr(res.detail, why), "%s, not %s", res.detail,
			   why);
	cr_assert_eq(res.e.addr, 0);
	hg_sta_remote_free(r);
}

Test(sta_remote, bad_answers_fail_over)
{
	static const char bad_http[] = "bad HTTP answer";
	static const char bad_xml[] = "not a ResponseData or TicketNotFound";
	struct hg_sta_entry e = sample_entry();
	char *data = hg_sta_xml_data_response(AUTH, &e);
	char *big = malloc(70 * 1024 + 1);
	struct {
		char *answer;
		const char *why;
	} bad[12];
	size_t i;

	cr_assert_not_null(data);
	cr_assert_not_null(big);
	memset(big, 'A', 70 * 1024);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	big[70 * 1024] = '\0';
	bad[0].answer = strdup("HELLO THERE\r\n\r\n");
	bad[0].why = bad_http;
	bad[1].answer = http("500 Internal Server Error", true, data);
	bad[1].why = "HTTP status neither 200 nor 404";
	bad[2].answer = http("404 Not Found", true, data); /* data, 404 */
	bad[2].why = bad_xml;
	bad[3].answer = error_answer("200 OK", "BadRequest");
	bad[3].why = bad_xml;
	bad[4].answer =
	    strdup("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		   "5\r\nhello\r\n0\r\n\r\n");
	bad[4].why = bad_http;
	bad[5].answer = strdup("HTTP/1.1 200 OK\r\nContent-Length: 900\r\n\r\n"
			       "<CtxSTAProtocol"); /* then EOF */
	bad[5].why = bad_http;
	bad[6].answer = big; /* no end of head within 64 KiB */
	bad[6].why = "answer over 64 KiB";
	bad[7].answer = http("200 OK", true, "<CtxSTAProtocol><ResponseData/>");
	bad[7].why = bad_xml;
	bad[8].answer = strdup("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
			       "Content-Length: 2\r\n\r\nab");
	bad[8].why = bad_http;
	bad[9].answer = strdup("HTTP/1.1 200 OK\r\nX: a\nContent-Length: 0"
			       "\r\n\r\n"); /* a bare LF */
	bad[9].why = bad_http;
	bad[10].answer =
	    strdup("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n");
	bad[10].why = bad_http;
	bad[11].answer = strdup("HTTP/1.1 20 OK\r\n\r\n");
	bad[11].why = bad_http;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct server *s = server_answering(bad[i].answer);

		cr_log_info("bad answer %zu", i);
		assert_refused_because(s, bad[i].why);
		assert_fails_over(s);
		server_stop(s);
	}
	hg_sta_xml_free(data);
}

Test(sta_remote, queue_bound_and_free_while_busy)
{
	struct hg_access_config a = {0};
	struct server *silent = server_start(SILENT, NULL);
	struct hg_sta_remote_stats st;
	struct hg_sta_remote *r;
	uint64_t t0;
	unsigned i;

	add_url(&a, AUTH, silent->port);
	r = client(&a);
	for (i = 0; i < HG_STA_REMOTE_QUEUE_MAX; i++)
		cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, i), 0,
			     "submit %u", i);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 99), -EAGAIN);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 99), -EAGAIN);
	stats(r, &st);
	cr_assert_eq(st.requests, HG_STA_REMOTE_QUEUE_MAX);
	cr_assert_eq(st.busy, 2);
	cr_assert_not(fd_readable(r, 0));
	/* the worker sits in the silent exchange: free does not wait it out */
	t0 = now_ms();
	hg_sta_remote_free(r);
	cr_assert_lt(now_ms() - t0, 1000);
	server_stop(silent);
}

Test(sta_remote, results_not_read_count_against_the_queue)
{
	struct hg_access_config a = {0};
	struct server *good = server_answering(valid_answer());
	struct hg_sta_remote_result res;
	struct hg_sta_remote *r;
	unsigned i, n = 0;
	uint64_t t0 = now_ms();

	add_url(&a, AUTH, good->port);
	r = client(&a);
	for (i = 0; i < HG_STA_REMOTE_QUEUE_MAX; i++)
		cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, i), 0);
	/* all answered, none read: still full */
	while (conns(good) < HG_STA_REMOTE_QUEUE_MAX && now_ms() - t0 < 10000)
		usleep(10000);
	usleep(50000);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 99), -EAGAIN);
	cr_assert(hg_sta_remote_next(r, &res));
	cr_assert_eq(res.cookie, 0);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 100), 0);
	while (n < HG_STA_REMOTE_QUEUE_MAX) {
		wait_result(r, &res, 5000);
		cr_assert_eq(res.status, 0);
		cr_assert_eq(res.cookie, n < 63 ? n + 1 : 100);
		n++;
	}
	cr_assert_not(fd_readable(r, 0));
	hg_sta_remote_free(r);
	server_stop(good);
}

Test(sta_remote, unknown_authority_and_malformed_ticket)
{
	struct hg_access_config a = {0};
	struct hg_sta_remote_stats st;
	struct hg_sta_remote *r;

	add_url(&a, AUTH, closed_port());
	r = client(&a);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH2, TICKET, 1), -ENOENT);
	cr_assert_eq(hg_sta_remote_submit(r, "STA475DE9C8ABD", TICKET, 1),
		     -ENOENT);
	cr_assert_eq(hg_sta_remote_submit(r, NULL, TICKET, 1), -ENOENT);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, "0123", 1), -EINVAL);
	cr_assert_eq(hg_sta_remote_submit(
			 r, AUTH, "0123456789abcdef0123456789ABCDEF", 1),
		     -EINVAL);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET "0", 1), -EINVAL);
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, NULL, 1), -EINVAL);
	stats(r, &st);
	cr_assert_eq(st.requests, 0);
	cr_assert_not(fd_readable(r, 0));
	hg_sta_remote_free(r);
}

Test(sta_remote, no_remote_stas)
{
	struct hg_access_config a = {0};
	struct hg_sta_remote_result res;
	struct hg_sta_remote *r = client(&a);

	cr_assert_geq(hg_sta_remote_fd(r), 0);
	cr_assert_not(hg_sta_remote_has(r, AUTH));
	cr_assert_eq(hg_sta_remote_submit(r, AUTH, TICKET, 1), -ENOENT);
	cr_assert_not(fd_readable(r, 0));
	cr_assert_not(hg_sta_remote_next(r, &res));
	hg_sta_remote_free(r);
	hg_sta_remote_free(NULL);
}

Test(sta_remote, bad_configs_refused)
{
	static const char *const paths[] = {"", "scripts", "/a b", "/a\r\nX: y",
					    "/\x7f"};
	struct hg_access_config a;
	char err[128];
	size_t i;

	memset(&a, 0, sizeof(a));
	add_url(&a, "STA", 80);
	err[0] = '\0';
	cr_assert_null(hg_sta_remote_new(&a, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "authority"), "%s", err);

	memset(&a, 0, sizeof(a));
	add_url(&a, AUTH, 0);
	cr_assert_null(hg_sta_remote_new(&a, err, sizeof(err)));

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		memset(&a, 0, sizeof(a));
		add_url(&a, AUTH, 80);
		snprintf(a.remote_stas[0].path, sizeof(a.remote_stas[0].path),
			 "%s", paths[i]);
		err[0] = '\0';
		cr_assert_null(hg_sta_remote_new(&a, err, sizeof(err)),
			       "path %zu", i);
		cr_assert_not_null(strstr(err, "path"), "%s", err);
	}
}

Test(sta_remote, results_through_the_fd_from_two_authorities)
{
	struct hg_access_config a = {0};
	struct server *one = server_answering(valid_answer());
	struct server *two =
	    server_answering(error_answer("404 Not Found", "TicketNotFound"));
	struct hg_sta_remote_result res;
	struct hg_sta_remote *r;
	bool seen[10] = {false};
	unsigned i, got = 0;

	add_url(&a, AUTH, one->port);
	add_url(&a, AUTH2, two->port);
	r = client(&a);
	for (i = 0; i < 10; i++)
		cr_assert_eq(hg_sta_remote_submit(r, i % 2 ? AUTH2 : AUTH,
						  TICKET, 1000 + i),
			     0);
	/* a main loop: poll, then drain */
	while (got < 10) {
		cr_assert(fd_readable(r, 5000));
		while (hg_sta_remote_next(r, &res)) {
			i = (unsigned)(res.cookie - 1000);
			cr_assert_lt(i, 10u);
			cr_assert_not(seen[i], "cookie %u twice", i);
			seen[i] = true;
			cr_assert_eq(res.status, i % 2 ? -ENOENT : 0, "%u: %s",
				     i, res.detail);
			got++;
		}
	}
	cr_assert_not(fd_readable(r, 0));
	cr_assert_eq(conns(one), 5);
	cr_assert_eq(conns(two), 5);
	hg_sta_remote_free(r);
	server_stop(one);
	server_stop(two);
}
