/* hopgate-cp: the control plane process.
 *
 *   hopgate-cp -c CONFIG
 *
 * Serves the control API on a Unix socket (control.socket) and attaches to
 * the data plane's channel, re-attaching whenever the data plane restarts.
 * It may itself be killed and restarted at any time: the data plane keeps
 * forwarding, and the new control plane takes over the socket and channel.
 * One control plane per instance: a lock file next to the socket says who.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "api.h"
#include "cp.h"
#include "cp_flow.h"
#include "cp_tls.h"
#include "flow_table.h"
#include "hg_version.h"

#define MAX_EVENTS 64
#define OUT_MAX (8u << 20) /* a client that never reads is dropped */
#define TICK_MS 100

struct client {
	int fd;
	uint64_t serial;
	char *in;
	size_t in_len;
	bool discarding; /* skipping the rest of an over-long line */
	char *out;
	size_t out_len, out_cap;
	bool closing;     /* close once out is written */
	unsigned waiting; /* requests waiting for the data plane */
};

static struct hg_cp the_cp;
static struct client **clients; /* indexed by fd */
static int max_fd;
static int epfd;
static uint64_t next_serial = 1;

static void on_signal(int sig)
{
	(void)sig;
	the_cp.quit = true;
}

static void client_close(struct hg_cp *cp, struct client *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	clients[c->fd] = NULL;
	free(c->in);
	free(c->out);
	free(c);
	cp->n_clients--;
}

static void client_update_events(struct client *c)
{
	struct epoll_event ev = {.events = c->closing ? 0 : EPOLLIN,
				 .data.fd = c->fd};

	if (c->out_len > 0)
		ev.events |= EPOLLOUT;
	epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void client_flush(struct hg_cp *cp, struct client *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_close(cp, c);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	if (c->out_len == 0 && c->closing && c->waiting == 0) {
		client_close(cp, c);
		return;
	}
	client_update_events(c);
}

/* Queues `resp` (consumed) as one line, with the request's id. */
static void client_reply(struct hg_cp *cp, struct client *c, json_t *resp,
			 json_t *id)
{
	char *text;
	size_t len;

	if (resp == NULL)
		resp = hg_api_error("internal error building the answer");
	if (json_object_get(resp, "error") != NULL)
		cp->request_errors++;
	if (id != NULL)
		json_object_set(resp, "id", id);
	text = json_dumps(resp, JSON_COMPACT);
	json_decref(resp);
	if (text == NULL)
		return;
	len = strlen(text);
	if (c->out_len + len + 1 > OUT_MAX) {
		free(text);
		c->closing = true;
		return;
	}
	if (c->out_len + len + 1 > c->out_cap) {
		size_t cap = (c->out_len + len + 1) * 2;
		char *p = realloc(c->out, cap);

		if (p == NULL) {
			free(text);
			c->closing = true;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	free(text);
}

static void reply_detached(struct hg_cp *cp, struct client *c, json_t *id)
{
	client_reply(cp, c,
		     hg_api_error("data plane not attached: %s",
				  cp->chan_error[0] ? cp->chan_error
						    : "channel busy"),
		     id);
}

static void pending_free(struct hg_pending_req *pr)
{
	free(pr->id);
	free(pr->msgs);
	free(pr);
}

/* A request that will collect `expected` answers for client `c`, or NULL
 * (the client was answered with the error). */
static struct hg_pending_req *pending_new(struct hg_cp *cp, struct client *c,
					  enum hg_pending_kind kind,
					  unsigned expected, json_t *id)
{
	struct hg_pending_req *pr = calloc(1, sizeof(*pr));

	if (pr != NULL && expected > 0)
		pr->msgs = calloc(expected, HG_SLOT_SIZE);
	if (pr == NULL || pr->msgs == NULL) {
		free(pr);
		client_reply(cp, c,
			     expected ? hg_api_error("out of memory")
				      : hg_api_error("data plane not attached"),
			     id);
		return NULL;
	}
	pr->seq = ++cp->next_seq;
	pr->kind = kind;
	pr->expected = expected;
	return pr;
}

/* `pr`, its message sent, now waits for its answers. */
static void pending_add(struct hg_cp *cp, struct client *c,
			struct hg_pending_req *pr, json_t *id)
{
	pr->client_fd = c->fd;
	pr->client_serial = c->serial;
	c->waiting++;
	pr->id = id != NULL ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
	pr->deadline_ns = hg_monotonic_ns() + HG_REQUEST_TIMEOUT_MS * 1000000ULL;
	pr->next = cp->pending;
	cp->pending = pr;
}

static unsigned dp_workers(struct hg_cp *cp, unsigned *n_vs)
{
	unsigned n;

	pthread_mutex_lock(&cp->lock);
	n = cp->attached ? cp->chan.hdr->n_workers : 0;
	if (n_vs)
		*n_vs = cp->attached ? cp->chan.hdr->n_vs : 0;
	pthread_mutex_unlock(&cp->lock);
	return n;
}

/* Sends `type` to every worker and waits for `per_worker` answers each. */
static void broadcast_start(struct hg_cp *cp, struct client *c, json_t *id,
			    enum hg_pending_kind kind, uint16_t type,
			    const void *payload, uint32_t len,
			    unsigned per_worker)
{
	unsigned n = dp_workers(cp, NULL);
	struct hg_pending_req *pr;

	if (n == 0) {
		reply_detached(cp, c, id);
		return;
	}
	pr = pending_new(cp, c, kind, n * per_worker, id);
	if (pr == NULL)
		return;
	if (hg_cp_chan_broadcast(cp, type, pr->seq, payload, len) != n) {
		reply_detached(cp, c, id);
		pending_free(pr);
		return;
	}
	pending_add(cp, c, pr, id);
}

static void stats_start(struct hg_cp *cp, struct client *c, json_t *id)
{
	unsigned n_vs = 0;

	dp_workers(cp, &n_vs);
	broadcast_start(cp, c, id, HG_PENDING_STATS, HG_MSG_STATS_REQ, NULL, 0,
			1 + n_vs);
}

static void flows_start(struct hg_cp *cp, struct client *c, json_t *id,
			const struct hg_flows_req *q)
{
	broadcast_start(cp, c, id, HG_PENDING_FLOWS, HG_MSG_FLOWS_REQ, q,
			sizeof(*q), 1);
}

/* One message to one worker, one answer. */
static void unicast_start(struct hg_cp *cp, struct client *c, json_t *id,
			  enum hg_pending_kind kind, unsigned worker,
			  uint16_t type, const void *payload, uint32_t len)
{
	struct hg_pending_req *pr;

	if (worker >= dp_workers(cp, NULL)) {
		client_reply(cp, c,
			     hg_api_error(kind == HG_PENDING_KILL
						  ? "no such flow"
						  : "data plane not attached"),
			     id);
		return;
	}
	pr = pending_new(cp, c, kind, 1, id);
	if (pr == NULL)
		return;
	if (!hg_cp_chan_send(cp, worker, type, pr->seq, payload, len)) {
		reply_detached(cp, c, id);
		pending_free(pr);
		return;
	}
	pending_add(cp, c, pr, id);
}

static void connect_start(struct hg_cp *cp, struct client *c, json_t *id,
			  const struct hg_tcp_connect_req *rq)
{
	unicast_start(cp, c, id, HG_PENDING_CONNECT, 0, HG_MSG_TCP_CONNECT, rq,
		      sizeof(*rq));
}

static void pending_finish(struct hg_cp *cp, struct hg_pending_req *pr,
			   json_t *resp)
{
	struct client *c = clients[pr->client_fd];
	json_t *id = pr->id ? json_loads(pr->id, JSON_DECODE_ANY, NULL)
			    : NULL;

	if (c != NULL && c->serial == pr->client_serial) {
		c->waiting--;
		client_reply(cp, c, resp, id);
		client_flush(cp, c);
	} else {
		json_decref(resp);
	}
	json_decref(id);
	pending_free(pr);
}

static bool answers(const struct hg_pending_req *pr, uint16_t type)
{
	switch (pr->kind) {
	case HG_PENDING_STATS:
		return type == HG_MSG_STATS_REPLY ||
		       type == HG_MSG_VS_STATS_REPLY;
	case HG_PENDING_CONNECT:
		return type == HG_MSG_TCP_CONNECT_REPLY;
	case HG_PENDING_FLOWS:
	case HG_PENDING_SESSIONS:
		return type == HG_MSG_FLOWS_REPLY;
	case HG_PENDING_KILL:
		return type == HG_MSG_FLOW_KILL_REPLY;
	}
	return false;
}

static json_t *answer_of(struct hg_cp *cp, struct hg_pending_req *pr)
{
	switch (pr->kind) {
	case HG_PENDING_STATS: {
		json_t *o = hg_api_stats(cp, pr->msgs, pr->received);

		/* The handshakes are the control plane's own counters. */
		if (json_is_object(o) && json_object_get(o, "error") == NULL) {
			json_object_set_new(o, "tls", hg_cp_tls_stats(cp));
			json_object_set_new(o, "ica", hg_cp_flow_stats(cp));
		}
		return o;
	}
	case HG_PENDING_CONNECT:
		return hg_api_connect_reply(
			(const void *)((struct hg_msg *)pr->msgs[0])->payload);
	case HG_PENDING_FLOWS:
		return hg_api_flows(cp, pr->msgs, pr->received);
	case HG_PENDING_SESSIONS:
		return hg_cp_flow_sessions(cp, pr->msgs, pr->received);
	case HG_PENDING_KILL:
		return hg_api_kill_reply(
			(const void *)((struct hg_msg *)pr->msgs[0])->payload);
	}
	return NULL;
}

static void inbox_process(struct hg_cp *cp)
{
	static uint8_t slot[HG_SLOT_SIZE];
	uint64_t v;

	if (read(cp->inbox_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("hopgate-cp: inbox");
	while (hg_cp_inbox_pop(cp, slot)) {
		const struct hg_msg *m = (const struct hg_msg *)slot;
		struct hg_pending_req **pp = &cp->pending, *pr;

		if (m->type == HG_MSG_TLS_HS_DATA ||
		    m->type == HG_MSG_TLS_HS_ABORT) {
			hg_cp_tls_msg(cp, m);
			continue;
		}
		if (m->type == HG_MSG_FLOW_DATA ||
		    m->type == HG_MSG_FLOW_GONE ||
		    m->type == HG_MSG_FLOW_ENDED) {
			hg_cp_flow_msg(cp, m);
			continue;
		}

		while ((pr = *pp) != NULL && pr->seq != m->seq)
			pp = &pr->next;
		if (pr == NULL || !answers(pr, m->type) ||
		    pr->received >= pr->expected) {
			cp->late_answers++;
			continue;
		}
		memcpy(pr->msgs[pr->received++], slot, HG_SLOT_SIZE);
		if (pr->received < pr->expected)
			continue;
		*pp = pr->next;
		pending_finish(cp, pr, answer_of(cp, pr));
	}
}

/* Once a second: TLS ticket keys and stale handshakes; after the data
 * plane went away, its handshakes are forgotten. */
static void tls_tick(struct hg_cp *cp)
{
	static uint64_t last_s, seen_detaches;
	uint64_t now_s = hg_monotonic_ns() / 1000000000ULL, detaches;

	pthread_mutex_lock(&cp->lock);
	detaches = cp->detaches;
	pthread_mutex_unlock(&cp->lock);
	if (detaches != seen_detaches) {
		seen_detaches = detaches;
		hg_cp_tls_forget_all(cp);
		hg_cp_flow_forget_all(cp);
	}
	if (now_s == last_s)
		return;
	last_s = now_s;
	hg_cp_tls_tick(cp);
	hg_cp_flow_tick(cp);
}

static void pending_expire(struct hg_cp *cp)
{
	uint64_t now = hg_monotonic_ns();
	struct hg_pending_req **pp = &cp->pending, *pr;

	while ((pr = *pp) != NULL) {
		if (now < pr->deadline_ns) {
			pp = &pr->next;
			continue;
		}
		*pp = pr->next;
		pending_finish(cp, pr,
			       hg_api_error("data plane did not answer in "
					    "%u ms (%u of %u answers)",
					    HG_REQUEST_TIMEOUT_MS,
					    pr->received, pr->expected));
	}
}

static void handle_line(struct hg_cp *cp, struct client *c, const char *line,
			size_t len)
{
	struct hg_api_req req;
	char err[256];

	cp->requests++;
	if (hg_api_parse(line, len, &cp->cfg, &req, err, sizeof(err)) < 0) {
		client_reply(cp, c, hg_api_error("%s", err), NULL);
		return;
	}
	switch (req.cmd) {
	case HG_CMD_STATUS:
		client_reply(cp, c, hg_api_status(cp), req.id);
		break;
	case HG_CMD_CONFIG:
		client_reply(cp, c, hg_api_config(cp), req.id);
		break;
	case HG_CMD_HELP:
		client_reply(cp, c, hg_api_help(), req.id);
		break;
	case HG_CMD_STATS:
		stats_start(cp, c, req.id);
		break;
	case HG_CMD_CONNECT:
		connect_start(cp, c, req.id, &req.connect);
		break;
	case HG_CMD_FLOWS:
		flows_start(cp, c, req.id, &req.flows);
		break;
	case HG_CMD_TICKET:
		client_reply(cp, c,
			     hg_cp_flow_issue(cp, req.ticket.addr,
					      req.ticket.port, req.ticket.user,
					      req.ticket.resource),
			     req.id);
		break;
	case HG_CMD_SESSIONS: {
		/* The data plane's flows give the bytes so far. */
		struct hg_flows_req q = {.vs = -1,
					 .limit = HG_FLOWS_PER_REPLY};

		broadcast_start(cp, c, req.id, HG_PENDING_SESSIONS,
				HG_MSG_FLOWS_REQ, &q, sizeof(q), 1);
		break;
	}
	case HG_CMD_SESSION_KILL:
		if (!hg_cp_flow_session_kill(cp, req.flow_id)) {
			client_reply(cp, c, hg_api_error("no such session"),
				     req.id);
			break;
		}
		/* the data plane resets the flow */
		__attribute__((fallthrough));
	case HG_CMD_KILL: {
		struct hg_flow_kill k = {.id = req.flow_id};

		unicast_start(cp, c, req.id, HG_PENDING_KILL,
			      hg_flow_worker_of(req.flow_id), HG_MSG_FLOW_KILL,
			      &k, sizeof(k));
		break;
	}
	case HG_CMD_COUNT:
		break;
	}
	json_decref(req.id);
}

/* Splits the input into lines; a line longer than control.max_line gets an
 * error and is skipped up to its newline, without buffering it. */
static void client_read(struct hg_cp *cp, struct client *c)
{
	const size_t max = cp->cfg.control.max_line;

	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len, max - c->in_len, 0);
		size_t start = 0;

		if (n == 0) {
			/* The client finished writing: answer what it asked,
			 * then close. */
			c->closing = true;
			break;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			client_close(cp, c);
			return;
		}
		if (n < 0)
			break;
		c->in_len += (size_t)n;
		for (size_t i = c->in_len - (size_t)n; i < c->in_len; i++) {
			if (c->in[i] != '\n')
				continue;
			if (!c->discarding && i > start)
				handle_line(cp, c, c->in + start, i - start);
			c->discarding = false;
			start = i + 1;
		}
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
		if (c->in_len == max) {
			if (!c->discarding)
				client_reply(cp, c,
					     hg_api_error("request longer than "
							  "%zu bytes",
							  max),
					     NULL);
			c->discarding = true;
			c->in_len = 0;
		}
		if (c->out_len > OUT_MAX / 2)
			break; /* let the client read before we parse more */
	}
	client_flush(cp, c);
}

static void accept_clients(struct hg_cp *cp, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		struct client *c;

		if (fd < 0)
			return;
		if (fd >= max_fd || cp->n_clients >= cp->cfg.control.max_clients) {
			const char *msg = "{\"error\":\"too many clients\"}\n";

			cp->clients_refused++;
			if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
				/* closing anyway */
			}
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c != NULL)
			c->in = malloc(cp->cfg.control.max_line);
		if (c == NULL || c->in == NULL) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->serial = next_serial++;
		clients[fd] = c;
		cp->n_clients++;
		cp->clients_accepted++;
		ev.data.fd = fd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

static int lock_instance(const char *socket_path)
{
	char path[HG_PATH_MAX + 8];
	int fd;

	if (snprintf(path, sizeof(path), "%s.lock", socket_path) >=
	    (int)sizeof(path))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "hopgate-cp: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "hopgate-cp: another control plane holds %s\n",
			path);
		close(fd);
		return -1;
	}
	return fd; /* held for the life of the process */
}

static int listen_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[HG_PATH_MAX];
	int fd;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) ||
	    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) >=
		    (int)sizeof(sa.sun_path))
		return -1;
	if (mkdir(dirname(dir), 0750) < 0 && errno != EEXIST) {
		fprintf(stderr, "hopgate-cp: mkdir %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(path); /* left by a killed predecessor; we hold the lock */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "hopgate-cp: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hg_cp *cp = &the_cp;
	struct epoll_event ev, events[MAX_EVENTS];
	struct itimerspec tick = {
		.it_interval = {0, TICK_MS * 1000000L},
		.it_value = {0, TICK_MS * 1000000L},
	};
	const char *config_path = NULL;
	pthread_t chan_thread;
	char err[512];
	int opt, lfd, tfd, lock_fd, auth_fd, remote_fd;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			printf("usage: hopgate-cp -c CONFIG\n");
			return 0;
		default:
			fprintf(stderr, "usage: hopgate-cp -c CONFIG\n");
			return 2;
		}
	}
	if (config_path == NULL || optind != argc) {
		fprintf(stderr, "usage: hopgate-cp -c CONFIG\n");
		return 2;
	}
	if (hg_config_load_file(config_path, &cp->cfg, err, sizeof(err)) <
		    0 ||
	    hg_access_load_file(config_path, &cp->access, err, sizeof(err)) <
		    0) {
		fprintf(stderr, "hopgate-cp: %s: %s\n", config_path, err);
		return 1;
	}
	cp->tls = hg_cp_tls_new(cp, err, sizeof(err));
	if (cp->tls != NULL)
		cp->tls_flows = hg_cp_flow_new(cp, err, sizeof(err));
	if (cp->tls == NULL || cp->tls_flows == NULL) {
		fprintf(stderr, "hopgate-cp: %s: %s\n", config_path, err);
		return 1;
	}
	if (realpath(config_path, cp->config_path) == NULL)
		snprintf(cp->config_path, sizeof(cp->config_path), "%s",
			 config_path);
	cp->start_ns = hg_monotonic_ns();
	cp->start_realtime_ns = hg_realtime_ns();
	pthread_mutex_init(&cp->lock, NULL);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	lock_fd = lock_instance(cp->cfg.control.socket);
	if (lock_fd < 0)
		return 1;
	lfd = listen_socket(cp->cfg.control.socket);
	if (lfd < 0)
		return 1;
	max_fd = (int)cp->cfg.control.max_clients + 64;
	clients = calloc((size_t)max_fd, sizeof(*clients));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (clients == NULL || epfd < 0 || tfd < 0 ||
	    timerfd_settime(tfd, 0, &tick, NULL) < 0 ||
	    hg_cp_chan_start(cp, &chan_thread) != 0) {
		perror("hopgate-cp: start");
		return 1;
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.fd = lfd};
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.fd = cp->inbox_fd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, cp->inbox_fd, &ev);
	auth_fd = hg_cp_flow_fd(cp);
	if (auth_fd >= 0) {
		ev.data.fd = auth_fd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, auth_fd, &ev);
	}
	remote_fd = hg_cp_flow_remote_fd(cp);
	if (remote_fd >= 0) {
		ev.data.fd = remote_fd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, remote_fd, &ev);
	}
	printf("hopgate-cp %s: instance %s, control socket %s\n", HG_VERSION,
	       cp->cfg.instance, cp->cfg.control.socket);
	fflush(stdout);

	while (!cp->quit) {
		int n = epoll_wait(epfd, events, MAX_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;
			uint64_t v;

			if (fd == lfd) {
				accept_clients(cp, lfd);
			} else if (fd == tfd) {
				if (read(tfd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					perror("hopgate-cp: timer");
				pending_expire(cp);
				tls_tick(cp);
			} else if (fd == cp->inbox_fd) {
				inbox_process(cp);
			} else if (fd == auth_fd) {
				hg_cp_flow_auth_ready(cp);
			} else if (fd == remote_fd) {
				hg_cp_flow_remote_ready(cp);
			} else if (clients[fd] != NULL) {
				struct client *c = clients[fd];

				if (events[i].events & (EPOLLERR | EPOLLHUP)) {
					client_close(cp, c);
					continue;
				}
				if (events[i].events & EPOLLOUT)
					client_flush(cp, c);
				if (clients[fd] == c &&
				    (events[i].events & EPOLLIN))
					client_read(cp, c);
			}
		}
	}
	pthread_join(chan_thread, NULL);
	for (int fd = 0; fd < max_fd; fd++)
		if (clients[fd] != NULL)
			client_close(cp, clients[fd]);
	while (cp->pending != NULL) {
		struct hg_pending_req *pr = cp->pending;

		cp->pending = pr->next;
		pending_free(pr);
	}
	hg_cp_tls_free(cp->tls);
	hg_cp_flow_free(cp->tls_flows);
	hg_access_free(&cp->access);
	unlink(cp->cfg.control.socket);
	close(lfd);
	close(lock_fd);
	printf("hopgate-cp: stopped\n");
	return 0;
}
