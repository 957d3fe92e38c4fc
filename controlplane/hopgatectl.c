/* hopgatectl: the control API for people.
 *
 *   hopgatectl [-s SOCKET] [--json] COMMAND
 *
 * Sends {"cmd": COMMAND} to the control socket (default $HOPGATE_SOCKET,
 * else /run/hopgate/ctl.sock), prints the answer readably, or raw with
 * --json. Exits 1 when the answer is an error, 2 on usage, 3 when the
 * control plane cannot be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/hopgate/ctl.sock"
#define TIMEOUT_MS 5000
#define MAX_ANSWER (16u << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hopgatectl [-s SOCKET] [--json] COMMAND [ARGS]\n"
		"commands: status, stats, config, help,\n"
		"  connect ADDRESS PORT [SERVICE [BYTES]]  the data plane opens "
		"TCP to\n"
		"      ADDRESS:PORT and runs SERVICE (source, echo, discard; "
		"default\n"
		"      source) on it; source sends BYTES (0: until closed)\n"
		"  flows [VS]          relayed flows (of one virtual server)\n"
		"  kill FLOW_ID        reset both sides of a flow\n"
		"  sessions            ICA sessions and portal logins\n"
		"  session kill FLOW_ID  end an ICA session (audited)\n"
		"  ticket ADDRESS PORT [USER [RESOURCE]]  an STA ticket for "
		"that\n"
		"      server (single use) and the ICA Address value carrying "
		"it\n"
		"  -s, --socket PATH  control socket (default $HOPGATE_SOCKET "
		"or " DEFAULT_SOCKET ")\n"
		"  -j, --json         print the raw JSON answer\n");
}

/* Sends one line and reads one line back; returns malloc'd text or NULL. */
static char *request(const char *path, const char *line)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = 0, cap = 4096;
	char *buf;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "hopgatectl: socket path too long\n");
		return NULL;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "hopgatectl: %s: %s (is hopgate-cp running?)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "hopgatectl: send: %s\n", strerror(errno));
		close(fd);
		return NULL;
	}
	buf = malloc(cap);
	while (buf != NULL) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, TIMEOUT_MS) <= 0) {
			fprintf(stderr, "hopgatectl: no answer in %d ms\n",
				TIMEOUT_MS);
			break;
		}
		if (len + 1 == cap) {
			char *p = cap < MAX_ANSWER ? realloc(buf, cap * 2)
						   : NULL;
			if (p == NULL)
				break;
			buf = p;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0) {
			fprintf(stderr, "hopgatectl: connection closed\n");
			break;
		}
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n) != NULL) {
			buf[len] = '\0';
			close(fd);
			return buf;
		}
	}
	free(buf);
	close(fd);
	return NULL;
}

static json_int_t geti(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *gets_(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static void print_status(json_t *r)
{
	json_t *dp = json_object_get(r, "dataplane");
	json_t *ch = json_object_get(r, "channel");
	json_t *cp = json_object_get(r, "controlplane");
	size_t i;
	json_t *p;

	printf("hopgate %s, instance %s\n", gets_(r, "version"),
	       gets_(r, "instance"));
	printf("control plane: pid %lld, up %llds, %lld client(s)\n",
	       (long long)geti(cp, "pid"), (long long)geti(cp, "uptime_s"),
	       (long long)geti(cp, "clients"));
	if (!json_is_true(json_object_get(dp, "attached"))) {
		printf("data plane:    not attached (%s)\n",
		       gets_(dp, "reason"));
		return;
	}
	printf("data plane:    pid %lld, up %llds, %lld worker(s), %s, "
	       "heartbeat %lldms ago\n",
	       (long long)geti(dp, "pid"), (long long)geti(dp, "uptime_s"),
	       (long long)geti(dp, "workers"), gets_(dp, "dpdk"),
	       (long long)geti(dp, "heartbeat_age_ms"));
	printf("channel:       %s %s, generation %lld\n", gets_(ch, "name"),
	       gets_(ch, "state"), (long long)geti(ch, "generation"));
	json_array_foreach(json_object_get(dp, "ports"), i, p)
	{
		printf("port %-8s  %-18s %s  %-14s link %s\n",
		       gets_(p, "name"), gets_(p, "address"), gets_(p, "mac"),
		       gets_(p, "driver"), gets_(p, "link"));
	}
}

static void print_nonzero(const char *title, json_t *o)
{
	const char *k;
	json_t *v;
	int n = 0;

	json_object_foreach(o, k, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) == 0)
			continue;
		if (n++ == 0)
			printf("%s\n", title);
		printf("  %-22s %lld\n", k, (long long)json_integer_value(v));
	}
}

static void print_stats(json_t *r)
{
	json_t *tot = json_object_get(r, "total"), *p, *w;
	size_t i;

	printf("%-10s %12s %14s %12s %14s %10s %10s\n", "port", "rx_pkts",
	       "rx_bytes", "tx_pkts", "tx_bytes", "rx_drop", "tx_drop");
	json_array_foreach(json_object_get(r, "ports"), i, p)
	{
		printf("%-10s %12lld %14lld %12lld %14lld %10lld %10lld\n",
		       gets_(p, "name"), (long long)geti(p, "rx_packets"),
		       (long long)geti(p, "rx_bytes"),
		       (long long)geti(p, "tx_packets"),
		       (long long)geti(p, "tx_bytes"),
		       (long long)geti(p, "rx_dropped"),
		       (long long)geti(p, "tx_dropped"));
	}
	print_nonzero("counters (all workers):", tot);
	print_nonzero("drops by reason:", json_object_get(tot, "drops"));
	json_array_foreach(json_object_get(r, "virtual_servers"), i, p)
	{
		json_t *b;
		size_t j;

		printf("virtual server %s: %lld flows, %lld active, %lld "
		       "refused, %lld bytes in, %lld out\n",
		       gets_(p, "name"), (long long)geti(p, "flows"),
		       (long long)geti(p, "active"),
		       (long long)geti(p, "refused"),
		       (long long)geti(p, "bytes_c2b"),
		       (long long)geti(p, "bytes_b2c"));
		json_array_foreach(json_object_get(p, "backends"), j, b)
		{
			printf("  backend %-21s %-4s %lld flows, %lld active, "
			       "%lld connect failures\n",
			       gets_(b, "backend"), gets_(b, "state"),
			       (long long)geti(b, "flows"),
			       (long long)geti(b, "active"),
			       (long long)geti(b, "connect_failures"));
		}
	}
	json_array_foreach(json_object_get(r, "workers"), i, w)
	{
		json_t *c = json_object_get(w, "counters");

		printf("worker %lld: %lld loops, %lld busy, %lld sleeps, "
		       "%lld dropped\n",
		       (long long)geti(w, "id"), (long long)geti(c, "loops"),
		       (long long)geti(c, "busy_loops"),
		       (long long)geti(c, "idle_sleeps"),
		       (long long)geti(w, "dropped"));
	}
}

static void print_flows(json_t *r)
{
	json_t *f;
	size_t i;

	printf("%lld active\n",
	       (long long)json_integer_value(json_object_get(r, "active")));
	printf("%-20s %-10s %-21s %-21s %-10s %8s %12s %12s\n", "id", "vs",
	       "client", "backend", "state", "age_ms", "c2b", "b2c");
	json_array_foreach(json_object_get(r, "flows"), i, f)
	{
		char c[32], b[32];

		snprintf(c, sizeof(c), "%s:%lld", gets_(f, "client"),
			 (long long)geti(f, "client_port"));
		snprintf(b, sizeof(b), "%s:%lld", gets_(f, "backend"),
			 (long long)geti(f, "backend_port"));
		printf("%-20s %-10s %-21s %-21s %-10s %8lld %12lld %12lld\n",
		       gets_(f, "id"), gets_(f, "vs"), c, b, gets_(f, "state"),
		       (long long)geti(f, "age_ms"),
		       (long long)geti(f, "bytes_c2b"),
		       (long long)geti(f, "bytes_b2c"));
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = getenv("HOPGATE_SOCKET");
	bool raw = false;
	char line[1024];
	char *answer;
	json_t *r;
	int opt, rc = 0;

	while ((opt = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'j':
			raw = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (path == NULL || path[0] == '\0')
		path = DEFAULT_SOCKET;
	/* "session kill ID" is the API's "session_kill". */
	if (strcmp(argv[optind], "session") == 0 && argc - optind == 3 &&
	    strcmp(argv[optind + 1], "kill") == 0) {
		argv[optind + 1] = "session_kill";
		optind++;
	}
	json_t *req = json_pack("{s:s}", "cmd", argv[optind]);
	if (strcmp(argv[optind], "connect") == 0) {
		int n = argc - optind - 1;

		if (n < 2 || n > 4) {
			usage(stderr);
			return 2;
		}
		json_object_set_new(req, "address",
				    json_string(argv[optind + 1]));
		json_object_set_new(req, "port",
				    json_integer(atoll(argv[optind + 2])));
		if (n >= 3)
			json_object_set_new(req, "service",
					    json_string(argv[optind + 3]));
		if (n >= 4)
			json_object_set_new(req, "bytes",
					    json_integer(atoll(argv[optind + 4])));
	} else if (strcmp(argv[optind], "flows") == 0 && argc - optind == 2) {
		json_object_set_new(req, "vs", json_string(argv[optind + 1]));
	} else if ((strcmp(argv[optind], "kill") == 0 ||
		    strcmp(argv[optind], "session_kill") == 0) &&
		   argc - optind == 2) {
		json_object_set_new(req, "flow", json_string(argv[optind + 1]));
	} else if (strcmp(argv[optind], "ticket") == 0 &&
		   argc - optind >= 3 && argc - optind <= 5) {
		json_object_set_new(req, "address",
				    json_string(argv[optind + 1]));
		json_object_set_new(req, "port",
				    json_integer(atoll(argv[optind + 2])));
		if (argc - optind >= 4)
			json_object_set_new(req, "user",
					    json_string(argv[optind + 3]));
		if (argc - optind >= 5)
			json_object_set_new(req, "resource",
					    json_string(argv[optind + 4]));
	} else if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		return 2;
	snprintf(line, sizeof(line), "%s\n", text);
	free(text);

	answer = request(path, line);
	if (answer == NULL)
		return 3;
	r = json_loads(answer, 0, NULL);
	if (r == NULL) {
		fprintf(stderr, "hopgatectl: the answer is not JSON\n");
		free(answer);
		return 3;
	}
	if (json_object_get(r, "error") != NULL) {
		fprintf(stderr, "hopgatectl: %s\n", gets_(r, "error"));
		rc = 1;
	}
	if (raw) {
		fputs(answer, stdout);
	} else if (rc == 0) {
		if (strcmp(argv[optind], "status") == 0)
			print_status(r);
		else if (strcmp(argv[optind], "stats") == 0)
			print_stats(r);
		else if (strcmp(argv[optind], "flows") == 0)
			print_flows(r);
		else
			json_dumpf(r, stdout, JSON_INDENT(2) | JSON_SORT_KEYS),
				putchar('\n');
	}
	json_decref(r);
	free(answer);
	return rc;
}
