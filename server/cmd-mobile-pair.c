/*
 * server/cmd-mobile-pair.c: loopsy mobile pair [--ttl S] [--no-wait]
 * [--json].  In the loopsy command: ask the running server (its relay
 * link) for a pair link with mobile-pair-wait, show it as a QR code
 * (libqrencode, drawn with half blocks), as text, and the 4-digit code the
 * phone must be given, then follow the wait: paired, wrong codes, burned or
 * expired.  The link and code reach only this terminal: the server streams
 * them to this command and logs neither.  Ctrl-C stops waiting; the link
 * stays good until it expires.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#ifdef QRENCODE_SONAME
#include <dlfcn.h>
#endif

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <qrencode.h>

#include "common/crypto.h"
#include "common/proto.h"
#include "server.h"

#define CMD_MOBILE_TTL		1800
#define CMD_MOBILE_TTL_MIN	60
#define CMD_MOBILE_TTL_MAX	86400
#define CMD_MOBILE_QUIET	2	/* modules of white around the code */

static enum cmd_retval	cmd_mobile_pair(struct cmd_ctx *);
static enum cmd_retval	cmd_mobile_pair_wait(struct cmd_ctx *);

const struct cmd_def cmd_mobile_pair_def = {
	.name = "mobile-pair",
	.longs = "ttl:,no-wait,json",
	.min_args = 0, .max_args = 0,
	.usage = "[--ttl SECONDS] [--no-wait] [--json]",
	.client = 1,
	.client_words = 1,
	.local_only = 1,
	.run = cmd_mobile_pair
};

const struct cmd_def cmd_mobile_pair_wait_def = {
	.name = "mobile-pair-wait",
	.longs = "ttl:",
	.min_args = 0, .max_args = 0,
	.usage = "[--ttl SECONDS] (used by loopsy mobile pair)",
	.local_only = 1,
	.run = cmd_mobile_pair_wait
};

static volatile sig_atomic_t	cmd_mobile_interrupted;

static int
cmd_mobile_ttl(struct cmd_ctx *ctx, u_int *ttl)
{
	const char	*t = args_get_long(ctx->args, "ttl");
	char		*end;
	long		 v;

	*ttl = CMD_MOBILE_TTL;
	if (t == NULL)
		return (0);
	v = strtol(t, &end, 10);
	if (*t == '\0' || *end != '\0' || v < CMD_MOBILE_TTL_MIN ||
	    v > CMD_MOBILE_TTL_MAX) {
		cmd_error(ctx, "usage", "--ttl: %d to %d seconds",
		    CMD_MOBILE_TTL_MIN, CMD_MOBILE_TTL_MAX);
		return (-1);
	}
	*ttl = v;
	return (0);
}

/* ------------------------------------------------------------- server */

static enum cmd_retval
cmd_mobile_pair_wait(struct cmd_ctx *ctx)
{
	u_int	 ttl;

	if (cmd_mobile_ttl(ctx, &ttl) != 0)
		return (CMD_USAGE);
	return (phone_pair_wait(ctx, ttl));
}

/* ------------------------------------------------------------- client */

static void
cmd_mobile_sigint(int sig __unused)
{
	cmd_mobile_interrupted = 1;
}

#ifdef QRENCODE_SONAME
/*
 * libqrencode is opened here, when a QR code is drawn, rather than linked:
 * every other command starts a process that would load it for nothing.
 */
static QRcode *(*cmd_mobile_encode)(const char *, int, QRecLevel,
		    QRencodeMode, int);
static void	(*cmd_mobile_free)(QRcode *);

static int
cmd_mobile_qr_load(void)
{
	void	*h;

	if (cmd_mobile_encode != NULL)
		return (0);
	if ((h = dlopen(QRENCODE_SONAME, RTLD_NOW|RTLD_LOCAL)) == NULL) {
		printf("(no QR code: %s)\n", dlerror());
		return (-1);
	}
	*(void **)&cmd_mobile_free = dlsym(h, "QRcode_free");
	*(void **)&cmd_mobile_encode = dlsym(h, "QRcode_encodeString");
	if (cmd_mobile_encode == NULL || cmd_mobile_free == NULL) {
		printf("(no QR code: %s lacks QRcode_encodeString or "
		    "QRcode_free)\n", QRENCODE_SONAME);
		cmd_mobile_encode = NULL;
		return (-1);
	}
	return (0);
}
#else
#define cmd_mobile_encode QRcode_encodeString
#define cmd_mobile_free QRcode_free
#define cmd_mobile_qr_load() 0
#endif

/* The QR code of the link: two rows of modules per line, black on white
 * whatever the terminal's colours are. */
static void
cmd_mobile_qr(const char *link)
{
	QRcode		*qr;
	int		 w, x, y, top, bottom, q = CMD_MOBILE_QUIET;
	const char	*cell;

	if (cmd_mobile_qr_load() != 0)
		return;
	if ((qr = cmd_mobile_encode(link, 0, QR_ECLEVEL_L, QR_MODE_8,
	    1)) == NULL) {
		printf("(no QR code: %s)\n", strerror(errno));
		return;
	}
	w = qr->width;
	for (y = -q; y < w + q; y += 2) {
		printf("  \033[30;107m");
		for (x = -q; x < w + q; x++) {
			top = y >= 0 && y < w && x >= 0 && x < w &&
			    (qr->data[y * w + x] & 1);
			bottom = y + 1 >= 0 && y + 1 < w && x >= 0 && x < w &&
			    (qr->data[(y + 1) * w + x] & 1);
			if (top && bottom)
				cell = "\342\226\210";		/* full */
			else if (top)
				cell = "\342\226\200";		/* upper half */
			else if (bottom)
				cell = "\342\226\204";		/* lower half */
			else
				cell = " ";
			fputs(cell, stdout);
		}
		printf("\033[0m\n");
	}
	cmd_mobile_free(qr);
}

/* The code in digits three blocks wide and five high. */
static void
cmd_mobile_big(const char *code)
{
	static const char *font[10][5] = {
		{ "###", "# #", "# #", "# #", "###" },
		{ "  #", "  #", "  #", "  #", "  #" },
		{ "###", "  #", "###", "#  ", "###" },
		{ "###", "  #", "###", "  #", "###" },
		{ "# #", "# #", "###", "  #", "  #" },
		{ "###", "#  ", "###", "  #", "###" },
		{ "###", "#  ", "###", "# #", "###" },
		{ "###", "  #", "  #", "  #", "  #" },
		{ "###", "# #", "###", "# #", "###" },
		{ "###", "# #", "###", "  #", "###" }
	};
	const char	*p, *r;
	int		 row;

	for (row = 0; row < 5; row++) {
		printf("    ");
		for (p = code; *p >= '0' && *p <= '9'; p++) {
			for (r = font[*p - '0'][row]; *r != '\0'; r++)
				fputs(*r == '#' ? "\342\226\210\342\226\210" :
				    "  ", stdout);
			printf("   ");
		}
		printf("\n");
	}
}

static void
cmd_mobile_when(time_t t, char *buf, size_t len)
{
	strftime(buf, len, "%H:%M", localtime(&t));
}

/* The link and the code, for a person (a terminal) or a program. */
static void
cmd_mobile_show(struct cmd_ctx *ctx, cJSON *j, int json, int tty)
{
	const char	*link = cJSON_GetStringValue(cJSON_GetObjectItem(j,
			    "link"));
	const char	*code = cJSON_GetStringValue(cJSON_GetObjectItem(j,
			    "code"));
	cJSON		*e = cJSON_GetObjectItem(j, "expires");
	time_t		 exp = cJSON_IsNumber(e) ? (time_t)e->valuedouble : 0;
	char		*s, when[16];

	if (link == NULL || code == NULL)
		return;
	if (json) {
		s = cJSON_PrintUnformatted(j);
		printf("%s\n", s);
		crypto_cleanse(s, strlen(s));
		free(s);
	} else if (!tty) {
		printf("link: %s\ncode: %s\nexpires: %lld\n", link, code,
		    (long long)exp);
	} else {
		cmd_mobile_when(exp, when, sizeof when);
		printf("Scan this with the phone's camera:\n\n");
		cmd_mobile_qr(link);
		printf("\nor open this link on the phone:\n  %s\n\n", link);
		printf("Code: %c %c %c %c \342\200\224 type it on the phone; "
		    "it is shown only here\n\n", code[0], code[1], code[2],
		    code[3]);
		cmd_mobile_big(code);
		printf("\nThe link works once, until %s.%s\n", when,
		    args_has_long(ctx->args, "no-wait") ? "" :
		    "  Waiting for the phone (Ctrl-C stops waiting; the "
		    "link stays good)...");
	}
	fflush(stdout);
}

/* An event of the wait other than the link and the pairing. */
static void
cmd_mobile_event(cJSON *j, int json, int tty)
{
	const char	*s;
	cJSON		*n;

	if (json) {
		if (cJSON_GetObjectItem(j, "link") == NULL &&
		    cJSON_GetObjectItem(j, "paired") == NULL) {
			s = cJSON_PrintUnformatted(j);
			printf("%s\n", s);
			free((char *)s);
		}
	} else if (cJSON_IsNumber(n = cJSON_GetObjectItem(j, "wrong")))
		printf("%s: a wrong code (%d of 5; %d tries left)\n",
		    tty ? "Phone" : "wrong", n->valueint,
		    5 - n->valueint);
	fflush(stdout);
}

/* Frames from the server: JSON lines as MSG_STDOUT, then the reply. */
struct cmd_mobile_link {
	int		 fd;
	struct evbuffer	*in;
	struct buf	 line;
};

/* 0 and a line in *j; 1 and the reply in *j; -1 gone; 2 interrupted. */
static int
cmd_mobile_next(struct cmd_mobile_link *l, cJSON **j, char **cause)
{
	struct pollfd	 pfd;
	uint8_t		 type;
	char		*data;
	size_t		 len;
	int		 rc;

	for (;;) {
		if (operate_take_line(&l->line, j))
			return (0);
		rc = proto_take(l->in, &type, &data, &len, cause);
		if (rc == -1)
			return (-1);
		if (rc == 1) {
			if (type == MSG_STDOUT)
				buf_add(&l->line, data, len);
			else if (type == MSG_STDERR)
				fwrite(data, 1, len, stderr);
			else if (type == MSG_REPLY)
				*j = cJSON_Parse(data);
			crypto_cleanse(data, len);
			free(data);
			if (type == MSG_REPLY)
				return (*j != NULL ? 1 : -1);
			continue;
		}
		if (cmd_mobile_interrupted)
			return (2);
		pfd.fd = l->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			xasprintf(cause, "poll: %s", strerror(errno));
			return (-1);
		}
		rc = evbuffer_read(l->in, l->fd, 65536);
		if (rc == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (rc <= 0) {
			xasprintf(cause, "lost the server");
			return (-1);
		}
	}
}

static int
cmd_mobile_connect(char **cause)
{
	return (operate_connect("start it with loopsy start: "
	    "the relay link lives in the server", cause));
}

static enum cmd_retval
cmd_mobile_pair(struct cmd_ctx *ctx)
{
	struct cmd_mobile_link	 l;
	struct sigaction	 sa, old;
	struct evbuffer		*out;
	cJSON			*j = NULL, *first = NULL, *e;
	char			*argv[3], tbuf[16], *cause = NULL, when[16];
	char			*label, *id;
	const char		*s;
	int			 rc, json = args_has_long(ctx->args, "json");
	int			 tty = isatty(STDOUT_FILENO) && !json;
	int			 nowait = args_has_long(ctx->args, "no-wait");
	u_int			 ttl;
	enum cmd_retval		 rv = CMD_ERROR;

	if (cmd_mobile_ttl(ctx, &ttl) != 0)
		return (CMD_USAGE);
	memset(&l, 0, sizeof l);
	if ((l.fd = cmd_mobile_connect(&cause)) == -1) {
		cmd_error(ctx, "no-server", "%s", cause);
		free(cause);
		return (CMD_ERROR);
	}
	snprintf(tbuf, sizeof tbuf, "%u", ttl);
	argv[0] = "mobile-pair-wait";
	argv[1] = "--ttl";
	argv[2] = tbuf;
	out = evbuffer_new();
	proto_add_hello(out);
	proto_add_cjson(out, MSG_COMMAND, proto_command_new(1, 3, argv));
	while (evbuffer_get_length(out) > 0) {
		if (evbuffer_write(out, l.fd) <= 0 && errno != EINTR)
			break;
	}
	evbuffer_free(out);
	l.in = evbuffer_new();
	buf_init(&l.line);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cmd_mobile_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	for (;;) {
		if ((rc = cmd_mobile_next(&l, &j, &cause)) == -1) {
			cmd_error(ctx, "no-server", "%s", cause);
			break;
		}
		if (rc == 2) {
			e = cJSON_GetObjectItem(first, "expires");
			cmd_mobile_when(cJSON_IsNumber(e) ?
			    (time_t)e->valuedouble : 0, when, sizeof when);
			if (first != NULL)
				fprintf(stderr, "\nstopped waiting; the link "
				    "stays good until %s\n", when);
			ctx->exit_status = 130;
			rv = CMD_ERROR;
			break;
		}
		if (rc == 1) {
			e = cJSON_GetObjectItem(cJSON_GetObjectItem(j,
			    "error"), "message");
			if (cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")))
				rv = CMD_OK;
			else
				cmd_error(ctx, "pair", "%s", cJSON_IsString(e) ?
				    e->valuestring : "pairing failed");
			cJSON_Delete(j);
			break;
		}
		if (cJSON_GetObjectItem(j, "link") != NULL && first == NULL) {
			first = j;
			cmd_mobile_show(ctx, j, json, tty);
			if (nowait) {
				rv = CMD_OK;
				break;
			}
			continue;
		}
		if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(j,
		    "paired"))) != NULL) {
			/* The server cleaned it; this is the terminal. */
			label = relay_safe_text(cJSON_GetStringValue(
			    cJSON_GetObjectItem(j, "label")), RELAY_TEXT_MAX);
			id = relay_safe_text(s, RELAY_TEXT_MAX);
			if (json && first != NULL) {
				e = cJSON_AddObjectToObject(first, "phone");
				cJSON_AddStringToObject(e, "id", id);
				cJSON_AddStringToObject(e, "label", label);
				cmd_mobile_show(ctx, first, 1, 0);
			} else
				printf("%s: %s (%s)\n", tty ? "Paired" :
				    "paired", id, label);
			free(label);
			free(id);
			fflush(stdout);
		} else
			cmd_mobile_event(j, json, tty);
		cJSON_Delete(j);
	}
	sigaction(SIGINT, &old, NULL);
	cJSON_Delete(first);
	free(cause);
	buf_free(&l.line);
	evbuffer_free(l.in);
	close(l.fd);
	return (rv);
}
