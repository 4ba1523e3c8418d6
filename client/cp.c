/*
 * client/cp.c: "loopsy cp [-r] [--json] SRC DST".  The client reads the
 * source and the server writes the destination (transfer-put, MSG_DATA
 * frames, transfer-finish), so the server's transfer policy applies to both
 * paths; a ":path" source is pulled from the server (transfer-get) into a
 * local file.  The server is on this machine, so a push passes it the open
 * source with the command (transfer-put -F, SCM_RIGHTS): the server copies
 * it itself and hashes what it wrote while we hash the source, and the
 * SHA-256s are compared as for a stream.  If the server cannot use the
 * descriptor, the file streams.  Blocking I/O on a connection of its own; a
 * progress bar on stderr when it is a terminal.  The checks and the writing
 * are the server's (server/transfer.c); this file only sends and reports.
 *
 * Test-only hooks, read here and nowhere else: LOOPSY_TEST_CORRUPT_CHUNK=N
 * flips a byte of the Nth chunk sent (counting from 0) after it was hashed,
 * or has the server flip one in that chunk of its copy (-X);
 * LOOPSY_TEST_PAUSE_AFTER=N stops the client for good once N bytes are on
 * the server (a copy is told to stop there, -l), after printing "paused" to
 * stderr, so a test can kill it; LOOPSY_TEST_NO_FD=1 asks for a copy (-F)
 * without passing the descriptor, so the server says no and the file streams.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "common/proto.h"
#include "server/server.h"
#include "client/client.h"
#include "client/cp.h"

#define CP_CHUNK	(256 * 1024)	/* fits in L2 on both sides */
#define CP_DRAW_US	100000		/* progress redrawn at most 10/s */

const struct cmd_def cmd_cp_def = {
	.name = "cp",
	.flags = "r",
	.longs = "json",
	.min_args = 2, .max_args = 2,
	.usage = "[-r] [--json] source destination",
	.start_server = 1,
	.client = 1
};

struct cp {
	int		 fd;		/* the server */
	uint32_t	 id;
	char		 cwd[PATH_MAX];
	struct buf	 out;		/* the last reply's stdout */
	char		*error;		/* the last failure */
	int		 lost;		/* the server went: nothing more */
	cJSON		*errors;	/* --json: files of a tree that failed */
	int		 remote;	/* the server is a peer's (host:path) */
	int		 json;
	int		 bar;		/* draw progress on stderr */
	char		*buf;
	cJSON		*files;		/* --json: what was copied */
	uint64_t	 bytes, sent;
	int		 status;

	/* pull: where MSG_DATA goes */
	int		 sink;
	EVP_MD_CTX	*sink_sha;
	uint64_t	 sink_done;

	/* progress of the file in flight */
	char		*name;		/* cleaned for the terminal */
	uint64_t	 total, done, start_us, drawn_us;

	int		 pass_fd;	/* goes with the next command, or -1 */

	long long	 corrupt;	/* test hooks, -1 when off */
	long long	 pause_after;
	int		 no_fd;
};

static const struct cmd_def *cp_table[] = { &cmd_cp_def, NULL };

const struct cmd_def *
cp_lookup(const char *name)
{
	const struct cmd_def	**d;

	for (d = cp_table; *d != NULL; d++) {
		if (strcmp((*d)->name, name) == 0)
			return (*d);
	}
	return (NULL);
}

static void
cp_fail(struct cp *cp, const char *fmt, ...)
{
	va_list	 ap;

	free(cp->error);
	va_start(ap, fmt);
	xvasprintf(&cp->error, fmt, ap);
	va_end(ap);
}

static int
cp_writev(struct cp *cp, struct iovec *iov, int n)
{
	ssize_t	 w;

	while (n > 0) {
		w = writev(cp->fd, iov, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			cp_fail(cp, "lost server: %s", strerror(errno));
			cp->lost = 1;
			return (-1);
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= w;
		}
	}
	return (0);
}

/* A frame; with cp->pass_fd passed alongside its first byte if set. */
static int
cp_send(struct cp *cp, enum msg_type type, const void *data, size_t len)
{
	uint8_t		 hdr[PROTO_HEADER];
	struct iovec	 iov[2];
	struct msghdr	 msg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof (int))];
	}		 cmsg;
	struct cmsghdr	*cm;
	ssize_t		 n;
	int		 niov = len != 0 ? 2 : 1;

	proto_put32(hdr, len + 1);
	hdr[4] = type;
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof hdr;
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	if (cp->pass_fd == -1)
		return (cp_writev(cp, iov, niov));
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = iov;
	msg.msg_iovlen = niov;
	msg.msg_control = cmsg.buf;
	msg.msg_controllen = sizeof cmsg.buf;
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof (int));
	memcpy(CMSG_DATA(cm), &cp->pass_fd, sizeof (int));
	cp->pass_fd = -1;
	while ((n = sendmsg(cp->fd, &msg, 0)) == -1 && errno == EINTR)
		;
	if (n <= 0) {
		cp_fail(cp, "lost server: %s", strerror(errno));
		cp->lost = 1;
		return (-1);
	}
	if ((size_t)n >= sizeof hdr + len)
		return (0);
	/* The rest as plain bytes: the descriptor went with the first. */
	if ((size_t)n >= sizeof hdr) {
		iov[1].iov_base = (char *)data + (n - sizeof hdr);
		iov[1].iov_len = len - (n - sizeof hdr);
		return (cp_writev(cp, iov + 1, 1));
	}
	iov[0].iov_base = hdr + n;
	iov[0].iov_len = sizeof hdr - n;
	return (cp_writev(cp, iov, niov));
}

static int
cp_read_exact(struct cp *cp, void *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = read(cp->fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			cp_fail(cp, "lost server");
			cp->lost = 1;
			return (-1);
		}
		p = (char *)p + n;
		len -= n;
	}
	return (0);
}

/* One frame; *data is malloc'd and NUL-terminated. */
static int
cp_recv(struct cp *cp, uint8_t *type, char **data, size_t *len)
{
	uint8_t		 hdr[PROTO_HEADER];
	uint32_t	 n;

	if (cp_read_exact(cp, hdr, sizeof hdr) != 0)
		return (-1);
	n = proto_get32(hdr);
	if (n == 0 || n > PROTO_MAX_FRAME) {
		cp_fail(cp, "bad frame from server");
		return (-1);
	}
	*type = hdr[4];
	*len = n - 1;
	*data = xmalloc(*len + 1);
	(*data)[*len] = '\0';
	return (cp_read_exact(cp, *data, *len));
}

/* A reply: 0 if it says ok, else -1 with its message as the error. */
static int
cp_reply(struct cp *cp, const char *data)
{
	cJSON	*j = cJSON_Parse(data), *e, *m;
	int	 rc = 0;

	if (j == NULL) {
		cp_fail(cp, "bad reply from server");
		return (-1);
	}
	if (!cJSON_IsTrue(cJSON_GetObjectItem(j, "ok"))) {
		e = cJSON_GetObjectItem(j, "error");
		m = cJSON_GetObjectItem(e, "message");
		cp_fail(cp, "%s", cJSON_IsString(m) ? m->valuestring :
		    "failed");
		rc = -1;
	}
	cJSON_Delete(j);
	return (rc);
}

static int
cp_sink(struct cp *cp, const char *data, size_t len)
{
	ssize_t	 n;

	if (cp->sink == -1) {
		cp_fail(cp, "unexpected data from server");
		return (-1);
	}
	EVP_DigestUpdate(cp->sink_sha, data, len);
	while (len > 0) {
		n = write(cp->sink, data, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cp_fail(cp, "write: %s", strerror(errno));
			return (-1);
		}
		data += n;
		len -= n;
		cp->sink_done += n;
	}
	return (0);
}

static void cp_progress(struct cp *, int);

/* Run a server command; its stdout is left in cp->out. */
static int
cp_command(struct cp *cp, int argc, char **argv)
{
	cJSON	*j;
	char	*s, *data;
	uint8_t	 type;
	size_t	 len;
	int	 rc;

	j = proto_command_new(++cp->id, argc, argv);
	cJSON_AddStringToObject(j, "cwd", cp->cwd);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	rc = cp_send(cp, MSG_COMMAND, s, strlen(s));
	free(s);
	buf_reset(&cp->out);
	while (rc == 0) {
		if ((rc = cp_recv(cp, &type, &data, &len)) != 0)
			break;
		if (type == MSG_REPLY) {
			rc = cp_reply(cp, data);
			free(data);
			break;
		}
		if (type == MSG_STDOUT)
			buf_add(&cp->out, data, len);
		else if (type == MSG_STDERR)
			(void)!write(2, data, len);
		else if (type == MSG_DATA) {
			rc = cp_sink(cp, data, len);
			cp->done += len;
			cp_progress(cp, 0);
		}
		free(data);
	}
	buf_add(&cp->out, "", 1);
	return (rc);
}

/* A command whose stdout is one JSON object. */
static cJSON *
cp_command_json(struct cp *cp, int argc, char **argv)
{
	cJSON	*j;

	if (cp_command(cp, argc, argv) != 0)
		return (NULL);
	if ((j = cJSON_Parse(cp->out.data)) == NULL)
		cp_fail(cp, "bad reply from server");
	return (j);
}

/* Between chunks: has the server given up on this push? */
static int
cp_check_server(struct cp *cp)
{
	struct pollfd	 pfd = { cp->fd, POLLIN, 0 };
	uint8_t		 type;
	char		*data;
	size_t		 len;
	int		 rc = 0;

	if (poll(&pfd, 1, 0) <= 0)
		return (0);
	if (cp_recv(cp, &type, &data, &len) != 0)
		return (-1);
	if (type == MSG_REPLY)
		rc = cp_reply(cp, data) != 0 ? -1 : 0;
	free(data);
	return (rc);
}

/*
 * A name or message for the terminal: control characters (C0, DEL and C1 in
 * UTF-8), which a file name or a server could use to drive it, become '?'.
 */
static char *
cp_clean(const char *s)
{
	char	*out = xstrdup(s != NULL ? s : ""), *p, *q;

	for (p = q = out; *p != '\0'; p++) {
		if ((u_char)p[0] == 0xc2 && (u_char)p[1] >= 0x80 &&
		    (u_char)p[1] <= 0x9f) {
			*q++ = '?';
			p++;
		} else if ((u_char)*p < 0x20 || *p == 0x7f)
			*q++ = '?';
		else
			*q++ = *p;
	}
	*q = '\0';
	return (out);
}

static void
cp_human(uint64_t n, char *out, size_t len)
{
	const char	*units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double		 v = n;
	u_int		 u = 0;

	while (v >= 1024 && u < nitems(units) - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%llu B", (unsigned long long)n);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}

/* The bar: name, percent, done/total, rate, ETA; last: the summary line. */
static void
cp_progress(struct cp *cp, int last)
{
	uint64_t	 now = now_us(), us = now - cp->start_us;
	double		 rate;
	char		 done[32], total[32], speed[32], eta[32];
	int		 pct;

	if (!cp->bar || cp->name == NULL ||
	    (!last && now - cp->drawn_us < CP_DRAW_US))
		return;
	cp->drawn_us = now;
	rate = us > 0 ? (double)cp->done * 1e6 / us : 0;
	cp_human(cp->done, done, sizeof done);
	cp_human(cp->total, total, sizeof total);
	cp_human((uint64_t)rate, speed, sizeof speed);
	pct = cp->total != 0 ? (int)(cp->done * 100 / cp->total) : 100;
	if (last) {
		fprintf(stderr, "\r%s  %s in %.1f s (%s/s)\033[K\n", cp->name,
		    total, us / 1e6, speed);
		return;
	}
	if (rate > 0 && cp->total > cp->done) {
		uint64_t s = (cp->total - cp->done) / rate;
		snprintf(eta, sizeof eta, "%llu:%02llu",
		    (unsigned long long)(s / 60), (unsigned long long)(s % 60));
	} else
		strlcpy(eta, "--:--", sizeof eta);
	fprintf(stderr, "\r%s  %3d%%  %s / %s  %s/s  ETA %s\033[K", cp->name,
	    pct, done, total, speed, eta);
}

static void
cp_progress_start(struct cp *cp, const char *name, uint64_t total,
    uint64_t done)
{
	free(cp->name);
	cp->name = cp_clean(name);
	cp->total = total;
	cp->done = done;
	cp->start_us = now_us();
	cp->drawn_us = 0;
}

static void
cp_hex(EVP_MD_CTX *sha, char out[65])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	u_int		 n = 0, i;

	EVP_DigestFinal_ex(sha, md, &n);
	for (i = 0; i < n; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
}

/* Hash the first len bytes of fd (what the server says it has). */
static int
cp_hash_prefix(struct cp *cp, int fd, uint64_t len, EVP_MD_CTX *sha)
{
	uint64_t	 off = 0;
	ssize_t		 n;

	while (off < len) {
		n = pread(fd, cp->buf, len - off < CP_CHUNK ? len - off :
		    CP_CHUNK, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		EVP_DigestUpdate(sha, cp->buf, n);
		off += n;
	}
	return (0);
}

/* The test hook: once enough is on the server, stop until killed. */
static void
cp_test_pause(struct cp *cp, uint64_t sent)
{
	char	*argv[] = { "transfer-status" };

	if (cp->pause_after < 0 || sent < (uint64_t)cp->pause_after)
		return;
	cp_command(cp, 1, argv);	/* all data before it is written */
	fprintf(stderr, "paused after %llu bytes\n", (unsigned long long)sent);
	fflush(stderr);
	for (;;)
		pause();
}

static void
cp_record(struct cp *cp, const char *src, cJSON *reply)
{
	cJSON	*sent = cJSON_GetObjectItem(reply, "sent");
	cJSON	*size = cJSON_GetObjectItem(reply, "size");

	cp->bytes += cJSON_IsNumber(size) ? size->valuedouble : 0;
	cp->sent += cJSON_IsNumber(sent) ? sent->valuedouble : 0;
	if (cp->files == NULL) {
		cJSON_Delete(reply);
		return;
	}
	cJSON_AddStringToObject(reply, "source", src);
	cJSON_AddItemToArray(cp->files, reply);
}

/* Send the bytes from offset on, then the whole file's SHA-256. */
static int
cp_stream(struct cp *cp, int fd, uint64_t offset, uint64_t size,
    EVP_MD_CTX *sha, char hex[65])
{
	uint64_t	 off = offset;
	long long	 chunk = 0;
	ssize_t		 n;

	while (off < size) {
		n = read(fd, cp->buf, size - off < CP_CHUNK ? size - off :
		    CP_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			cp_fail(cp, "read: %s", n == 0 ? "file shrank" :
			    strerror(errno));
			return (-1);
		}
		EVP_DigestUpdate(sha, cp->buf, n);
		if (chunk++ == cp->corrupt)
			cp->buf[0] ^= 1;
		if (cp_send(cp, MSG_DATA, cp->buf, n) != 0 ||
		    cp_check_server(cp) != 0)
			return (-1);
		off += n;
		cp->done = off;
		cp_progress(cp, 0);
		cp_test_pause(cp, off - offset);
	}
	cp_hex(sha, hex);
	return (0);
}

/*
 * Where the server's copy is (transfer-status, -w: waiting up to that many
 * ms for it to end): the bar shows what both sides are through.  Returns 1
 * while it copies, 0 when it is over, -1 if the server is gone.
 */
static int
cp_copy_status(struct cp *cp, uint64_t hashed, const char *wait)
{
	char	*argv[] = { "transfer-status", "-w", (char *)wait };
	cJSON	*j, *done;
	int	 copying;

	if ((j = cp_command_json(cp, wait != NULL ? 3 : 1, argv)) == NULL)
		return (-1);
	done = cJSON_GetObjectItem(j, "done");
	copying = cJSON_IsTrue(cJSON_GetObjectItem(j, "copying"));
	if (cJSON_IsNumber(done) && done->valuedouble < hashed)
		hashed = done->valuedouble;
	cJSON_Delete(j);
	cp->done = hashed;
	cp_progress(cp, 0);
	return (copying);
}

/*
 * The server copies the file from the descriptor we passed: hash it here,
 * from offset on, as the sender's reading to check the server's against.
 */
static int
cp_copy(struct cp *cp, int fd, uint64_t offset, uint64_t size,
    EVP_MD_CTX *sha, char hex[65])
{
	uint64_t	 off = offset;
	ssize_t		 n;

	if (cp->pause_after >= 0) {
		/* The server was told to stop there (-l). */
		cp_copy_status(cp, offset, "0");
		cp_test_pause(cp, (uint64_t)cp->pause_after);
	}
	while (off < size) {
		n = pread(fd, cp->buf, size - off < CP_CHUNK ? size - off :
		    CP_CHUNK, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			cp_fail(cp, "read: %s", n == 0 ? "file shrank" :
			    strerror(errno));
			return (-1);
		}
		EVP_DigestUpdate(sha, cp->buf, n);
		off += n;
		if (cp->bar && now_us() - cp->drawn_us >= CP_DRAW_US &&
		    cp_copy_status(cp, off, NULL) == -1)
			return (-1);
	}
	cp_hex(sha, hex);
	/* Done here: on a terminal, follow the server to its end. */
	while (cp->bar) {
		if ((n = cp_copy_status(cp, size, "100")) == -1)
			return (-1);
		if (n == 0)
			break;
	}
	return (0);
}

/* Push one regular file: src here, dst (or dst/name) on the server. */
static int
cp_push_file(struct cp *cp, const char *src, const char *dst,
    const char *name)
{
	struct stat	 sb;
	EVP_MD_CTX	*sha = EVP_MD_CTX_new();
	cJSON		*j = NULL, *o, *h;
	char		 key[128], size[32], mode[16], hex[65], mtime[48];
	char		 limit[32], corrupt[32];
	char		*argv[24], *finish[2] = { "transfer-finish", hex };
	uint64_t	 offset;
	int		 fd, argc = 0, rc = -1, again = 0, copy;

	if ((fd = open(src, O_RDONLY|O_CLOEXEC)) == -1 || fstat(fd, &sb) != 0) {
		cp_fail(cp, "%s: %s", src, strerror(errno));
		goto out;
	}
	snprintf(key, sizeof key, "%llx.%llx.%llx.%lld.%ld",
	    (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino,
	    (unsigned long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
	    sb.st_mtim.tv_nsec);
	snprintf(size, sizeof size, "%llu", (unsigned long long)sb.st_size);
	snprintf(mode, sizeof mode, "%o", (u_int)(sb.st_mode & 07777));
	argv[argc++] = "transfer-put";
	argv[argc++] = "-k"; argv[argc++] = key;
	argv[argc++] = "-m"; argv[argc++] = mode;
	argv[argc++] = "-s"; argv[argc++] = size;
	snprintf(mtime, sizeof mtime, "%lld.%09ld",
	    (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
	argv[argc++] = "-M"; argv[argc++] = mtime;
	if (!cp->remote) {
		/* The server is on this machine: its policy covers the
		 * source too, and it may copy the file itself. */
		argv[argc++] = "-S"; argv[argc++] = (char *)src;
		argv[argc++] = "-F";
	}
	if (name != NULL) {
		argv[argc++] = "-n";
		argv[argc++] = (char *)name;
	}
	if (cp->pause_after >= 0) {
		snprintf(limit, sizeof limit, "%lld", cp->pause_after);
		argv[argc++] = "-l"; argv[argc++] = limit;
	}
	if (cp->corrupt >= 0) {
		snprintf(corrupt, sizeof corrupt, "%lld",
		    cp->corrupt * CP_CHUNK);
		argv[argc++] = "-X"; argv[argc++] = corrupt;
	}
	argv[argc++] = (char *)dst;
retry:
	EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
	cp->pass_fd = cp->no_fd || cp->remote ? -1 : fd;
	j = cp_command_json(cp, argc, argv);
	cp->pass_fd = -1;
	if (j == NULL)
		goto out;
	copy = cJSON_IsTrue(cJSON_GetObjectItem(j, "copy"));
	o = cJSON_GetObjectItem(j, "offset");
	h = cJSON_GetObjectItem(j, "sha256");
	offset = 0;
	if (cJSON_IsNumber(o) && o->valuedouble != 0) {
		/* Not a prefix of this file: restart (hex stays empty). */
		offset = o->valuedouble >= 0 && o->valuedouble <= sb.st_size ?
		    (uint64_t)o->valuedouble : UINT64_MAX;
	}
	if (offset != 0) {
		/* Resume only if what the server has is our prefix. */
		hex[0] = '\0';
		if (offset != UINT64_MAX && (double)offset == o->valuedouble &&
		    cp_hash_prefix(cp, fd, offset, sha) == 0 &&
		    cJSON_IsString(h)) {
			EVP_MD_CTX *copy = EVP_MD_CTX_new();
			EVP_MD_CTX_copy_ex(copy, sha);
			cp_hex(copy, hex);
			EVP_MD_CTX_free(copy);
		}
		if (hex[0] == '\0' || strcasecmp(hex, h->valuestring) != 0) {
			if (again++ != 0) {
				cp_fail(cp, "%s: cannot restart", dst);
				goto out;
			}
			cJSON_Delete(j);
			j = NULL;
			memmove(argv + 2, argv + 1, (argc - 1) * sizeof *argv);
			argv[1] = "-R";
			argc++;
			goto retry;
		}
	}
	cJSON_Delete(j);
	j = NULL;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	cp_progress_start(cp, src, sb.st_size, offset);
	if (copy) {
		if (cp_copy(cp, fd, offset, sb.st_size, sha, hex) != 0)
			goto out;
	} else {
		if (lseek(fd, offset, SEEK_SET) == -1) {
			cp_fail(cp, "%s: %s", src, strerror(errno));
			goto out;
		}
		if (cp_stream(cp, fd, offset, sb.st_size, sha, hex) != 0)
			goto out;
	}
	if ((j = cp_command_json(cp, 2, finish)) == NULL)
		goto out;
	cp_progress(cp, 1);
	cp_record(cp, src, j);
	j = NULL;
	rc = 0;
out:
	if (cp->bar && rc != 0 && cp->name != NULL)
		fprintf(stderr, "\r\033[K");
	free(cp->name);
	cp->name = NULL;
	if (fd != -1)
		close(fd);
	cJSON_Delete(j);
	EVP_MD_CTX_free(sha);
	return (rc);
}

static char *
cp_join(const char *dir, const char *name)
{
	char	*s;

	xasprintf(&s, "%s/%s", dir, name);
	return (s);
}

/* "cp -r": make the directory, copy what is in it, then set its mode. */
static int
cp_push_tree(struct cp *cp, const char *src, const char *dst,
    const char *name, mode_t mode)
{
	char		 m[16], *argv[8], *path = NULL, *from, *to, *clean;
	cJSON		*j, *p;
	DIR		*d = NULL;
	struct dirent	*de;
	struct stat	 sb;
	int		 argc = 0, rc = -1;

	snprintf(m, sizeof m, "%o", (u_int)(mode & 07777));
	argv[argc++] = "transfer-mkdir";
	argv[argc++] = "-m"; argv[argc++] = m;
	if (name != NULL) {
		argv[argc++] = "-n";
		argv[argc++] = (char *)name;
	}
	argv[argc++] = (char *)dst;
	if ((j = cp_command_json(cp, argc, argv)) == NULL)
		return (-1);
	p = cJSON_GetObjectItem(j, "path");
	path = xstrdup(cJSON_IsString(p) ? p->valuestring : dst);
	cJSON_Delete(j);
	if ((d = opendir(src)) == NULL) {
		cp_fail(cp, "%s: %s", src, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		from = cp_join(src, de->d_name);
		to = cp_join(path, de->d_name);
		if (lstat(from, &sb) != 0) {
			cp_fail(cp, "%s: %s", from, strerror(errno));
			rc = -1;
		} else if (S_ISDIR(sb.st_mode))
			rc = cp_push_tree(cp, from, to, NULL, sb.st_mode);
		else if (S_ISREG(sb.st_mode))
			rc = cp_push_file(cp, from, to, NULL);
		else {
			clean = cp_clean(from);
			fprintf(stderr, "cp: skipping %s: %s\n", S_ISLNK(
			    sb.st_mode) ? "symlink" : "special file", clean);
			free(clean);
			cp->status = 1;
			rc = 0;
		}
		free(from);
		free(to);
		if (rc != 0 && cp->lost)
			goto out;
		if (rc != 0) {
			/* Say so and go on with the rest, as cp(1) does. */
			clean = cp_clean(cp->error);
			fprintf(stderr, "cp: %s\n", clean);
			free(clean);
			if (cp->errors != NULL)
				cJSON_AddItemToArray(cp->errors,
				    cJSON_CreateString(cp->error));
			cp->status = 1;
			rc = 0;
		}
	}
	argv[0] = "transfer-mkdir";
	argv[1] = "-f";
	argv[2] = "-m"; argv[3] = m;
	argv[4] = path;
	if ((j = cp_command_json(cp, 5, argv)) == NULL)
		goto out;
	cJSON_Delete(j);
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	free(path);
	return (rc);
}

/* Pull a server file (src on the server) into dst here, resuming a part. */
static int
cp_pull_file(struct cp *cp, const char *src, const char *dst)
{
	char		*ls[] = { "ls-files", "--json", (char *)src };
	char		*argv[4], off[32], hex[65], *path = NULL, *dir, *part;
	char		*base, real[PATH_MAX];
	cJSON		*j, *e, *size, *mode, *mod, *sum;
	const char	*type, *name;
	struct stat	 sb;
	uint64_t	 total;
	mode_t		 fmode;
	struct timespec	 times[2];
	int		 dirfd = -1, rc = -1;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	u_int		 n = 0, i;
	EVP_MD_CTX	*h;

	cp->sink = -1;
	if ((j = cp_command_json(cp, 3, ls)) == NULL)
		return (-1);
	e = cJSON_GetArrayItem(j, 0);
	type = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
	if (cJSON_GetArraySize(j) != 1 || type == NULL ||
	    strcmp(type, "file") != 0) {
		cp_fail(cp, "not a regular file: %s", src);
		cJSON_Delete(j);
		return (-1);
	}
	size = cJSON_GetObjectItem(e, "size");
	mode = cJSON_GetObjectItem(e, "mode");
	mod = cJSON_GetObjectItem(e, "modified");
	total = cJSON_IsNumber(size) ? size->valuedouble : 0;
	fmode = cJSON_IsString(mode) ? strtoul(mode->valuestring, NULL, 8) :
	    0600;
	/* The source's modification time, kept as cp -p would. */
	times[0].tv_sec = 0;
	times[0].tv_nsec = UTIME_OMIT;
	times[1].tv_sec = 0;
	times[1].tv_nsec = UTIME_OMIT;
	if (cJSON_IsNumber(cJSON_GetObjectItem(e, "mtime"))) {
		times[1].tv_sec = cJSON_GetObjectItem(e, "mtime")->valuedouble;
		times[1].tv_nsec = 0;
		if (cJSON_IsNumber(cJSON_GetObjectItem(e, "mtimeNsec")) &&
		    cJSON_GetObjectItem(e, "mtimeNsec")->valuedouble >= 0 &&
		    cJSON_GetObjectItem(e, "mtimeNsec")->valuedouble < 1e9)
			times[1].tv_nsec = cJSON_GetObjectItem(e,
			    "mtimeNsec")->valuedouble;
	}
	if (stat(dst, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		/* The name goes in dst: one plain name, whatever it says. */
		name = cJSON_GetStringValue(cJSON_GetObjectItem(e, "name"));
		if (name == NULL || *name == '\0' || strchr(name, '/') != NULL ||
		    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			cp_fail(cp, "bad file name from server for %s", src);
			cJSON_Delete(j);
			return (-1);
		}
		path = cp_join(dst, name);
	} else
		path = xstrdup(dst);
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	dir = base == path ? xstrdup(".") : xstrndup(path, base - path);
	if ((dirfd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC)) == -1 ||
	    realpath(dir, real) == NULL) {
		cp_fail(cp, "%s: %s", dir, strerror(errno));
		goto out;
	}
	/* The part's name: this destination and that source as it is now. */
	h = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	EVP_DigestUpdate(h, real, strlen(real) + 1);
	EVP_DigestUpdate(h, base, strlen(base) + 1);
	EVP_DigestUpdate(h, src, strlen(src) + 1);
	snprintf(off, sizeof off, "%llu", (unsigned long long)total);
	EVP_DigestUpdate(h, off, strlen(off) + 1);
	if (cJSON_IsString(mod))
		EVP_DigestUpdate(h, mod->valuestring, strlen(mod->valuestring));
	EVP_DigestFinal_ex(h, md, &n);
	EVP_MD_CTX_free(h);
	for (i = 0; i < 8; i++)
		snprintf(hex + i * 2, 3, "%02x", md[i]);
	xasprintf(&part, ".%.200s.loopsy-part-%s", base, hex);
	cp->sink = openat(dirfd, part, O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC,
	    0600);
	if (cp->sink == -1 || fstat(cp->sink, &sb) != 0) {
		cp_fail(cp, "%s: %s", part, strerror(errno));
		goto out_part;
	}
	if ((uint64_t)sb.st_size > total && ftruncate(cp->sink, 0) == 0)
		sb.st_size = 0;
	cp->sink_sha = EVP_MD_CTX_new();
	EVP_DigestInit_ex(cp->sink_sha, EVP_sha256(), NULL);
	if (cp_hash_prefix(cp, cp->sink, sb.st_size, cp->sink_sha) != 0 ||
	    lseek(cp->sink, sb.st_size, SEEK_SET) == -1) {
		cp_fail(cp, "%s: %s", part, strerror(errno));
		goto out_part;
	}
	snprintf(off, sizeof off, "%llu", (unsigned long long)sb.st_size);
	argv[0] = "transfer-get";
	argv[1] = "-o";
	argv[2] = off;
	argv[3] = (char *)src;
	cp_progress_start(cp, src, total, sb.st_size);
	cp->sink_done = 0;
	cJSON_Delete(j);
	if ((j = cp_command_json(cp, 4, argv)) == NULL)
		goto out_part;
	cp_hex(cp->sink_sha, hex);
	sum = cJSON_GetObjectItem(j, "sha256");
	if (!cJSON_IsString(sum) || strcasecmp(hex, sum->valuestring) != 0) {
		unlinkat(dirfd, part, 0);
		cp_fail(cp, "checksum mismatch: %s (sent %s, received %s; "
		    "nothing written)", path, cJSON_IsString(sum) ?
		    sum->valuestring : "?", hex);
		goto out_part;
	}
	if (fchmod(cp->sink, fmode & 0777) != 0 ||
	    (times[1].tv_nsec != UTIME_OMIT && futimens(cp->sink, times) != 0) ||
	    fdatasync(cp->sink) != 0 ||
	    renameat(dirfd, part, dirfd, base) != 0) {
		cp_fail(cp, "%s: %s (nothing written)", path, strerror(errno));
		goto out_part;
	}
	fsync(dirfd);
	cp_progress(cp, 1);
	cJSON_ReplaceItemInObject(j, "path", cJSON_CreateString(path));
	cJSON_AddNumberToObject(j, "resumed", (double)sb.st_size);
	cp_record(cp, src, j);
	j = NULL;
	rc = 0;
out_part:
	free(part);
out:
	if (cp->sink != -1)
		close(cp->sink);
	cp->sink = -1;
	if (cp->sink_sha != NULL)
		EVP_MD_CTX_free(cp->sink_sha);
	cp->sink_sha = NULL;
	if (dirfd != -1)
		close(dirfd);
	free(cp->name);
	cp->name = NULL;
	cJSON_Delete(j);
	free(dir);
	free(path);
	return (rc);
}

/*
 * Pull a tree: each directory's ls-files, files through cp_pull_file and
 * directories made here with their modes; symlinks and special files are
 * skipped with a warning, as cp -r does pushing.
 */
static int
cp_pull_tree(struct cp *cp, const char *src, const char *dst, mode_t dmode,
    u_int depth)
{
	char		*ls[] = { "ls-files", "--json", (char *)src }, *to;
	cJSON		*j, *e, *m;
	const char	*type, *name, *path;
	mode_t		 mode;
	int		 rc = 0;

	if (depth > 64) {
		cp_fail(cp, "%s: more than 64 directories deep", src);
		return (-1);
	}
	if (mkdir(dst, 0700) != 0 && errno != EEXIST) {
		cp_fail(cp, "%s: %s", dst, strerror(errno));
		return (-1);
	}
	if ((j = cp_command_json(cp, 3, ls)) == NULL)
		return (-1);
	cJSON_ArrayForEach(e, j) {
		type = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
		name = cJSON_GetStringValue(cJSON_GetObjectItem(e, "name"));
		path = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
		m = cJSON_GetObjectItem(e, "mode");
		if (type == NULL || name == NULL || path == NULL ||
		    *name == '\0' || strchr(name, '/') != NULL ||
		    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;	/* nothing a server may name here */
		mode = cJSON_IsString(m) ? strtoul(m->valuestring, NULL, 8) :
		    0700;
		to = cp_join(dst, name);
		if (strcmp(type, "file") == 0)
			rc = cp_pull_file(cp, path, to);
		else if (strcmp(type, "directory") == 0)
			rc = cp_pull_tree(cp, path, to, mode, depth + 1);
		else {
			fprintf(stderr, "cp: skipping %s: %s\n", path, type);
			cp->status = 1;
		}
		free(to);
		if (rc != 0)
			break;
	}
	cJSON_Delete(j);
	if (rc == 0 && chmod(dst, dmode & 0777) != 0) {
		cp_fail(cp, "%s: %s", dst, strerror(errno));
		rc = -1;
	}
	return (rc);
}

/* cp -r :src dst: a file as usual; a directory into dst (or dst/name). */
static int
cp_pull_top(struct cp *cp, const char *src, const char *dst)
{
	char		*parent, *base, *ls[3], *to;
	const char	*slash, *type, *name;
	cJSON		*j, *e, *m, *found = NULL;
	struct stat	 sb;
	mode_t		 mode = 0700;
	int		 rc;

	/* What is src?  Its parent's listing says. */
	slash = strrchr(src, '/');
	if (slash == NULL || slash[1] == '\0')
		return (cp_pull_tree(cp, src, dst, 0700, 0));
	parent = slash == src ? xstrdup("/") : xstrndup(src, slash - src);
	base = xstrdup(slash + 1);
	ls[0] = "ls-files";
	ls[1] = "--json";
	ls[2] = parent;
	j = cp_command_json(cp, 3, ls);
	free(parent);
	if (j == NULL) {
		free(base);
		return (-1);
	}
	cJSON_ArrayForEach(e, j) {
		name = cJSON_GetStringValue(cJSON_GetObjectItem(e, "name"));
		if (name != NULL && strcmp(name, base) == 0)
			found = e;
	}
	type = cJSON_GetStringValue(cJSON_GetObjectItem(found, "type"));
	if ((m = cJSON_GetObjectItem(found, "mode")) != NULL &&
	    cJSON_IsString(m))
		mode = strtoul(m->valuestring, NULL, 8);
	if (type == NULL || strcmp(type, "directory") != 0) {
		cJSON_Delete(j);
		free(base);
		return (cp_pull_file(cp, src, dst));
	}
	cJSON_Delete(j);
	if (stat(dst, &sb) == 0 && S_ISDIR(sb.st_mode))
		to = cp_join(dst, base);
	else
		to = xstrdup(dst);
	rc = cp_pull_tree(cp, src, to, mode, 0);
	free(to);
	free(base);
	return (rc);
}

/* "host:path": a colon before any slash.  Returns the path, or NULL. */
static const char *
cp_remote(const char *arg, char **host)
{
	const char	*colon = strchr(arg, ':'), *slash = strchr(arg, '/');

	*host = NULL;
	if (colon == NULL || (slash != NULL && slash < colon))
		return (NULL);
	*host = xstrndup(arg, colon - arg);
	return (colon + 1);
}

/*
 * Say hello on a new connection: 0, -1 if nothing came back (the other end
 * went), -2 if it refused us (cp->error says so either way).
 */
static int
cp_hello(struct cp *cp)
{
	const char	*hello = proto_hello_json();
	char		*data;
	uint8_t		 type;
	size_t		 len;

	if (cp_send(cp, MSG_HELLO, hello, strlen(hello)) != 0 ||
	    cp_recv(cp, &type, &data, &len) != 0)
		return (-1);
	if (type != MSG_HELLO || strstr(data, "\"error\"") != NULL) {
		cp_fail(cp, "%s refused: %s", cp->remote ? "peer" : "server",
		    data);
		free(data);
		return (-2);
	}
	free(data);
	return (0);
}

static int
cp_connect(struct cp *cp, const char *socket)
{
	char		*cause = NULL;
	int		 bufsize = 4 * 1024 * 1024, tries = 0, rc;

again:
	if ((cp->fd = client_connect(socket)) == -1) {
		if (errno != ENOENT && errno != ECONNREFUSED) {
			cp_fail(cp, "error connecting to %s: %s", socket,
			    strerror(errno));
			return (-1);
		}
		cp->fd = client_start_server(socket, &cause);
		if (cp->fd == -1 && strstr(cause, "already running") != NULL)
			cp->fd = client_connect(socket);
		if (cp->fd == -1) {
			cp_fail(cp, "%s", cause != NULL ? cause :
			    strerror(errno));
			free(cause);
			return (-1);
		}
		free(cause);
	}
	/* Fewer wake-ups each way while a file streams. */
	setsockopt(cp->fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
	if ((rc = cp_hello(cp)) == -1 && ++tries < 3) {
		/*
		 * Not a word back: a server started on demand was exiting
		 * as we connected and never read us.  Try again.
		 */
		close(cp->fd);
		cp->fd = -1;
		free(cp->error);
		cp->error = NULL;
		goto again;
	}
	return (rc == 0 ? 0 : -1);
}

/*
 * Is one side a peer's ("host:path", host not this machine)?  Then *host is
 * set, and the argument becomes ":path" for cp_run as if the server were
 * ours.  Both sides on peers is refused.
 */
static int
cp_peer(struct cp *cp, struct args *args, char **host)
{
	char		*h[2], *p;
	const char	*path;
	int		 i, n = 0;

	*host = NULL;
	for (i = 0; i < 2; i++) {
		path = cp_remote(args->argv[i], &h[i]);
		if (path == NULL || *h[i] == '\0' || msg_is_self(h[i])) {
			free(h[i]);
			h[i] = NULL;
			continue;
		}
		xasprintf(&p, ":%s", path);
		free(args->argv[i]);
		args->argv[i] = p;
		n++;
	}
	if (n == 2) {
		cp_fail(cp, "cp between two peers (%s and %s): use a local "
		    "path on one side", h[0], h[1]);
		free(h[0]);
		free(h[1]);
		return (-1);
	}
	*host = h[0] != NULL ? h[0] : h[1];
	return (0);
}

/*
 * Would a copy of directory src to dst (this machine's paths) land in src
 * itself, so that the walk never ends (cp -r tree tree/a/in) or files are
 * copied onto themselves (cp -r tree .)?
 */
static int
cp_into_itself(const char *src, const char *dst, const char *name)
{
	char		 rs[PATH_MAX], rd[PATH_MAX], *d, *slash, *target;
	struct stat	 sb;
	size_t		 n;
	int		 found, exists;

	if (realpath(src, rs) == NULL)
		return (0);
	exists = stat(dst, &sb) == 0 && S_ISDIR(sb.st_mode);
	d = xstrdup(dst);
	if (realpath(d, rd) == NULL) {
		if ((slash = strrchr(d, '/')) != NULL)
			*slash = '\0';
		if (realpath(slash == NULL ? "." : (*d == '\0' ? "/" : d),
		    rd) == NULL) {
			free(d);
			return (0);
		}
	}
	free(d);
	n = strlen(rs);
	found = strncmp(rd, rs, n) == 0 && (rd[n] == '\0' || rd[n] == '/');
	if (!found && exists && name != NULL) {
		xasprintf(&target, "%s/%s", strcmp(rd, "/") == 0 ? "" : rd,
		    name);
		found = strcmp(target, rs) == 0;
		free(target);
	}
	return (found);
}

static int
cp_run(struct cp *cp, struct args *args)
{
	const char	*src = args->argv[0], *dst = args->argv[1];
	const char	*rsrc, *rdst, *name;
	char		*shost, *dhost;
	struct stat	 sb;
	int		 rc = -1;

	/* host: was taken care of by cp_main, which connected there. */
	rsrc = cp_remote(src, &shost);
	rdst = cp_remote(dst, &dhost);
	if (rsrc != NULL && rdst != NULL) {
		cp_fail(cp, "cp between two server paths: use a local path "
		    "on one side");
		goto out;
	}
	if (rsrc != NULL) {
		if (args_has(args, 'r'))
			rc = cp_pull_top(cp, rsrc, dst);
		else
			rc = cp_pull_file(cp, rsrc, dst);
		goto out;
	}
	if (rdst != NULL)
		dst = rdst;
	if (stat(src, &sb) != 0) {
		cp_fail(cp, "%s: %s", src, strerror(errno));
		goto out;
	}
	name = strrchr(src, '/') != NULL ? strrchr(src, '/') + 1 : src;
	if (S_ISDIR(sb.st_mode)) {
		if (!args_has(args, 'r')) {
			cp_fail(cp, "%s is a directory (not copied without -r)",
			    src);
			goto out;
		}
		if (*name == '\0' || strcmp(name, ".") == 0 ||
		    strcmp(name, "..") == 0)
			name = NULL;
		if (!cp->remote && cp_into_itself(src, dst, name)) {
			cp_fail(cp, "cannot copy a directory into itself: %s "
			    "into %s", src, dst);
			goto out;
		}
		rc = cp_push_tree(cp, src, dst, name, sb.st_mode);
	} else if (S_ISREG(sb.st_mode))
		rc = cp_push_file(cp, src, dst, name);
	else
		cp_fail(cp, "not a regular file: %s", src);
out:
	free(shost);
	free(dhost);
	return (rc);
}

int
cp_main(const char *socket, const struct cmd_def *def, int argc, char **argv)
{
	struct cp	 cp;
	struct args	*args;
	cJSON		*j;
	char		*cause = NULL, *u, *s, *host = NULL;
	const char	*e;
	int		 rc;

	args = args_parse(def->flags, def->longs, argc - 1, argv + 1, &cause);
	if (args == NULL || args->argc < def->min_args ||
	    args->argc > def->max_args) {
		u = cmd_usage(def);
		if (cause != NULL)
			fprintf(stderr, "%s: %s\n", def->name, cause);
		fprintf(stderr, "%s\n", u);
		free(u);
		free(cause);
		args_free(args);
		return (2);
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&cp, 0, sizeof cp);
	cp.fd = cp.sink = cp.pass_fd = -1;
	buf_init(&cp.out);
	cp.buf = xmalloc(CP_CHUNK);
	if (getcwd(cp.cwd, sizeof cp.cwd) == NULL)
		strlcpy(cp.cwd, "/", sizeof cp.cwd);
	cp.json = args_has_long(args, "json");
	cp.bar = !cp.json && isatty(2);
	if (cp.json) {
		cp.files = cJSON_CreateArray();
		cp.errors = cJSON_CreateArray();
	}
	cp.corrupt = (e = getenv("LOOPSY_TEST_CORRUPT_CHUNK")) != NULL ?
	    atoll(e) : -1;
	cp.pause_after = (e = getenv("LOOPSY_TEST_PAUSE_AFTER")) != NULL ?
	    atoll(e) : -1;
	cp.no_fd = (e = getenv("LOOPSY_TEST_NO_FD")) != NULL && *e == '1';
	if (cp_peer(&cp, args, &host) != 0)
		rc = -1;
	else if (host != NULL) {
		/* A peer's path: its server, over a link (client/remote.c). */
		cp.remote = client_remote = 1;
		if ((cp.fd = remote_connect(host, &cause)) == -1) {
			cp_fail(&cp, "%s", cause);
			free(cause);
			rc = -1;
		} else
			rc = cp_hello(&cp) == 0 ? cp_run(&cp, args) : -1;
		free(host);
	} else
		rc = cp_connect(&cp, socket) == 0 ? cp_run(&cp, args) : -1;
	if (rc != 0) {
		u = cp_clean(cp.error);
		fprintf(stderr, "cp: %s\n", u);
		free(u);
		cp.status = 1;
	}
	if (cp.json) {
		j = cJSON_CreateObject();
		cJSON_AddBoolToObject(j, "ok", rc == 0 &&
		    cJSON_GetArraySize(cp.errors) == 0);
		if (rc != 0)
			cJSON_AddStringToObject(j, "error", cp.error);
		if (cJSON_GetArraySize(cp.errors) != 0)
			cJSON_AddItemToObject(j, "errors", cp.errors);
		else
			cJSON_Delete(cp.errors);
		cJSON_AddNumberToObject(j, "bytes", (double)cp.bytes);
		cJSON_AddNumberToObject(j, "sent", (double)cp.sent);
		cJSON_AddItemToObject(j, "files", cp.files);
		s = cJSON_PrintUnformatted(j);
		printf("%s\n", s);
		free(s);
		cJSON_Delete(j);
	}
	if (cp.fd != -1)
		close(cp.fd);
	free(cp.error);
	free(cp.buf);
	buf_free(&cp.out);
	args_free(args);
	return (cp.status);
}
