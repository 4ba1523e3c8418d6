/*
 * server/transfer.c: files moving through one client connection.  A push
 * (transfer-put, MSG_DATA frames, transfer-finish) goes to a temporary file
 * beside the destination, hashed as it comes, and is renamed over the
 * destination only if the sender's SHA-256 matches; the temporary file keeps
 * a name derived from the destination and the source so that a retry resumes
 * it (unless the sender says it never will: transfer-put -N).  A pull
 * (transfer-get) streams a file out as MSG_DATA frames as fast as the client
 * takes them.  A local push may pass its open source instead
 * (transfer-put -F): two threads of ours copy it and hash what they wrote,
 * while the loop goes on serving everyone else.  Which paths may be used is
 * policy-path.c's business; the commands that call this are in
 * cmd-transfer.c.
 */
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "common/proto.h"
#include "server.h"

#define TRANSFER_PART		".loopsy-part-"
#define TRANSFER_STALE		(24 * 60 * 60)	/* seconds */
#define TRANSFER_CHUNK		(256 * 1024)	/* a pull's frames */
#define TRANSFER_HIGH_WATER	(4 * 1024 * 1024)
#define TRANSFER_SYNC_WINDOW	(8 * 1024 * 1024)
#define TRANSFER_RING		8		/* a local copy's buffers */
#define TRANSFER_NICE		5		/* its threads' nice value */

/*
 * A local copy (transfer-put -F) takes two threads: the copier reads the
 * sender's descriptor into a ring of buffers and writes each to the part;
 * the hasher hashes each buffer once it is written, so the server's SHA-256
 * is of the bytes it wrote, as for a stream, and the sender's is its own
 * reading of its file.  Hashing beside the copy rather than reading the part
 * back saves a pass over the data: ~8% on 2 cores (bench/RESULTS.md).  The
 * threads are niced: a copy is background work, and the loop's sessions,
 * the sender hashing its side and the kernel's writeback of the part (which
 * the fdatasync waits for) come first.  Each thread keeps to its own fields;
 * the shared ones are under lock.  The loop hears of the end via the pipe.
 */
struct transfer_copy {
	int		 src;		/* the sender's descriptor */
	int		 dst;		/* the part (t->fd, not ours) */
	uint64_t	 start, end;	/* copy [start, end) */
	int		 durable;	/* end is the whole file: fdatasync it */
	uint64_t	 corrupt;	/* test: flip this byte (-X), or -1 */
	EVP_MD_CTX	*sha;		/* t->sha, the hasher's until joined */
	char		*ring;		/* TRANSFER_RING of TRANSFER_CHUNK */
	size_t		 len[TRANSFER_RING]; /* bytes in each, once filled */
	pthread_t	 copier, hasher;
	int		 threads;	/* how many were started */
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;		/* filled or emptied moved */
	u_int		 filled;	/* lock: buffers written so far */
	u_int		 emptied;	/* lock: buffers hashed so far */
	uint64_t	 hashed;	/* lock: bytes hashed */
	int		 copying;	/* lock: the copier has not finished */
	int		 stop;		/* lock: the loop gave up on it */
	char		*error;		/* lock: the first failure */
	int		 pipe[2];	/* the hasher's "done" to the loop */
	struct event	*ev;
};

struct transfer {
	int		 rated;		/* this connection paid rateLimits */
	char		*swept;		/* directory last swept of stale parts */

	/* The file in flight: fd -1 when none. */
	int		 fd;
	int		 dirfd;		/* push: the destination's directory */
	int		 push;
	int		 noresume;	/* push: unfinished, the part goes too */
	char		*path;		/* resolved destination (or source) */
	char		*base;		/* push: its name in dirfd */
	char		*part;		/* push: the temporary file's name */
	uint64_t	 size;		/* declared (push) or stat'd (pull) */
	uint64_t	 done;		/* bytes written or sent */
	uint64_t	 resumed;	/* where this transfer started */
	uint64_t	 synced;	/* push: writeback started up to here */
	mode_t		 mode;
	struct timespec	 mtime;		/* to set, or tv_nsec UTIME_OMIT */
	EVP_MD_CTX	*sha;
	char		*error;		/* push: a failure while data came */
	struct cmd_ctx	*get;		/* pull: the waiting transfer-get */
	struct event	*kick;		/* pull: sends the first frames */
	char		*buf;		/* pull: read buffer */
	int		 local;		/* push: copied from a descriptor */
	struct transfer_copy *copy;	/* push: that copy, while it runs */
	struct cmd_ctx	*wait;		/* finish or status waiting for it */
	char		*wait_sha;	/* finish: the sender's SHA-256 */
	long long	 wait_size;	/* finish: its -s, or -1 */
	struct event	*wait_timer;	/* status -w: when to answer anyway */
};

uint64_t	transfer_rehashed;

static void	transfer_copy_stop(struct transfer *);

static struct transfer *
transfer_state(struct client *c)
{
	struct transfer	*t = c->transfer;

	if (t == NULL) {
		/*
		 * A pull queues a 256 KiB evbuffer chain per frame: keep
		 * freed heap rather than trimming and faulting it in again
		 * each frame (a third of the time on a VM that returns free
		 * pages).  Pushes take their data frames without allocating
		 * (server_client_frames).
		 */
		mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
		mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
		t = c->transfer = xcalloc(1, sizeof *t);
		t->fd = t->dirfd = -1;
	}
	return (t);
}

/*
 * Forget the file in flight; a push's temporary file stays for a resume,
 * unless the sender will not resume it.  Only a part we opened and locked
 * is ours to remove that way: another connection may hold one of that name.
 */
static void
transfer_close(struct transfer *t, int unlink_part)
{
	transfer_copy_stop(t);
	if (t->noresume && t->fd != -1)
		unlink_part = 1;
	if (unlink_part && t->part != NULL && t->dirfd != -1)
		unlinkat(t->dirfd, t->part, 0);
	if (t->fd != -1)
		close(t->fd);
	if (t->dirfd != -1)
		close(t->dirfd);
	t->fd = t->dirfd = -1;
	free(t->path);
	free(t->base);
	free(t->part);
	free(t->error);
	free(t->buf);
	t->path = t->base = t->part = t->error = t->buf = NULL;
	if (t->sha != NULL)
		EVP_MD_CTX_free(t->sha);
	t->sha = NULL;
	t->get = NULL;
	t->push = t->local = t->noresume = 0;
	t->size = t->done = t->resumed = t->synced = 0;
}

/*
 * Is fd really the checked path?  A symlink swapped into it (or into a
 * directory above it) between the policy check and the open would take it
 * somewhere else: refuse that with *cause.
 */
static int
transfer_opened(int fd, const char *resolved, char **cause)
{
	char	 proc[64], real[PATH_MAX];
	ssize_t	 n;

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	if ((n = readlink(proc, real, sizeof real - 1)) == -1) {
		xasprintf(cause, "%s: cannot check where it was opened: %s",
		    resolved, strerror(errno));
		return (-1);
	}
	real[n] = '\0';
	if (strcmp(real, resolved) != 0) {
		xasprintf(cause, "%s: changed while being opened (now %s)",
		    resolved, real);
		return (-1);
	}
	return (0);
}

/* The client is gone (its waiting command was freed already). */
void
transfer_free(struct client *c)
{
	struct transfer	*t = c->transfer;

	if (t == NULL)
		return;
	if (t->fd != -1)
		log_debug("%s: client %u left %s at %llu of %llu bytes",
		    __func__, c->id, t->path, (unsigned long long)t->done,
		    (unsigned long long)t->size);
	transfer_close(t, 0);
	if (t->kick != NULL)
		event_free(t->kick);
	if (t->wait_timer != NULL)
		event_free(t->wait_timer);
	free(t->wait_sha);	/* its command was freed with the client */
	free(t->swept);
	free(t);
	c->transfer = NULL;
}

/*
 * One rateLimits.transfer token per connection, not per file: "cp -r" of a
 * thousand files is one transfer.
 */
int
transfer_rate(struct cmd_ctx *ctx)
{
	struct transfer	*t;

	if (ctx->c == NULL) {
		cmd_error(ctx, "usage", "%s needs a client connection",
		    ctx->def->name);
		return (-1);
	}
	t = transfer_state(ctx->c);
	if (t->rated)
		return (0);
	if (cmd_rate_take(ctx, RATE_TRANSFER) != 0)
		return (-1);
	t->rated = 1;
	return (0);
}

static void
transfer_hex(const unsigned char *md, u_int n, char *out)
{
	u_int	 i;

	for (i = 0; i < n; i++)
		snprintf(out + i * 2, 3, "%02x", md[i]);
}

/* The hex digest of what the hash has seen so far, leaving it running. */
static void
transfer_digest(EVP_MD_CTX *sha, char out[65])
{
	EVP_MD_CTX	*copy = EVP_MD_CTX_new();
	unsigned char	 md[EVP_MAX_MD_SIZE];
	u_int		 n = 0;

	EVP_MD_CTX_copy_ex(copy, sha);
	EVP_DigestFinal_ex(copy, md, &n);
	EVP_MD_CTX_free(copy);
	transfer_hex(md, n, out);
}

/* Hash the first len bytes of fd into a new SHA-256. */
static EVP_MD_CTX *
transfer_hash_prefix(int fd, uint64_t len, char **cause)
{
	EVP_MD_CTX	*sha = EVP_MD_CTX_new();
	char		*buf = xmalloc(TRANSFER_CHUNK);
	uint64_t	 off = 0;
	ssize_t		 n;

	EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
	while (off < len) {
		n = pread(fd, buf, len - off < TRANSFER_CHUNK ? len - off :
		    TRANSFER_CHUNK, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			xasprintf(cause, "read: %s", n == 0 ?
			    "file shrank" : strerror(errno));
			EVP_MD_CTX_free(sha);
			sha = NULL;
			break;
		}
		EVP_DigestUpdate(sha, buf, n);
		off += n;
	}
	free(buf);
	return (sha);
}

/* Remove parts in dir older than a day, once per directory per connection. */
static void
transfer_sweep(struct transfer *t, const char *dir, int dirfd)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	int		 fd;
	time_t		 now = time(NULL);

	if (t->swept != NULL && strcmp(t->swept, dir) == 0)
		return;
	free(t->swept);
	t->swept = xstrdup(dir);
	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' ||
		    strstr(de->d_name, TRANSFER_PART) == NULL)
			continue;
		if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(sb.st_mode) || sb.st_mtime > now - TRANSFER_STALE)
			continue;
		log_debug("%s: removing stale %s/%s", __func__, dir,
		    de->d_name);
		unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

/* The temporary file's name: from the destination and the source's key. */
static char *
transfer_part_name(const char *path, const char *base, const char *key)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	u_int		 n = 0;
	char		 hex[65], *s;
	EVP_MD_CTX	*sha = EVP_MD_CTX_new();

	EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
	EVP_DigestUpdate(sha, path, strlen(path) + 1);
	EVP_DigestUpdate(sha, key, strlen(key));
	EVP_DigestFinal_ex(sha, md, &n);
	EVP_MD_CTX_free(sha);
	transfer_hex(md, 8, hex);
	xasprintf(&s, ".%.200s%s%s", base, TRANSFER_PART, hex);
	return (s);
}

/*
 * Where a file or directory goes: path resolved and allowed; if it is an
 * existing directory and name is given, name inside it.
 */
/* Refuse a path, with the path asked for in the audit line. */
void
transfer_refused(struct cmd_ctx *ctx, const char *path, char *cause)
{
	if (ctx->audit_target == NULL)
		ctx->audit_target = policy_path_lexical(path, ctx->cwd);
	cmd_error(ctx, "refused", "%s", cause);
	free(cause);
}

static char *
transfer_target(struct cmd_ctx *ctx, const char *path, const char *name,
    struct stat *sb, int *exists)
{
	char	*resolved, *sub, *cause = NULL;

	if ((resolved = policy_path_check(path, ctx->cwd, &cause)) == NULL)
		goto fail;
	*exists = stat(resolved, sb) == 0;
	if (*exists && S_ISDIR(sb->st_mode) && name != NULL) {
		if (*name == '\0' || strchr(name, '/') != NULL ||
		    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			xasprintf(&cause, "bad file name: %s", name);
			free(resolved);
			goto fail;
		}
		xasprintf(&sub, "%s/%s", resolved, name);
		free(resolved);
		resolved = policy_path_check(sub, ctx->cwd, &cause);
		free(sub);
		if (resolved == NULL)
			goto fail;
		*exists = stat(resolved, sb) == 0;
	}
	return (resolved);
fail:
	transfer_refused(ctx, path, cause);
	return (NULL);
}

static void
transfer_print(struct cmd_ctx *ctx, cJSON *j)
{
	char	*s = cJSON_PrintUnformatted(j);

	cmd_print(ctx, "%s\n", s);
	free(s);
	cJSON_Delete(j);
}

/* Write all of buf at off; -1 with errno. */
static int
transfer_pwrite(int fd, const char *buf, size_t len, uint64_t off)
{
	ssize_t	 n;

	while (len > 0) {
		n = pwrite(fd, buf, len, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return (-1);
		buf += n;
		len -= n;
		off += n;
	}
	return (0);
}

/* Record the first failure and wake the other thread. */
static void
transfer_copy_error(struct transfer_copy *tc, char *error)
{
	pthread_mutex_lock(&tc->lock);
	if (tc->error == NULL)
		tc->error = error;
	else
		free(error);
	tc->stop = 1;
	pthread_cond_broadcast(&tc->cond);
	pthread_mutex_unlock(&tc->lock);
}

/* The copier thread: the sender's bytes into the ring, then the part. */
static void *
transfer_copier(void *arg)
{
	struct transfer_copy	*tc = arg;
	uint64_t		 off = tc->start, synced = tc->start;
	char			*buf, *error = NULL;
	size_t			 want;
	ssize_t			 n;
	u_int			 slot;
	int			 stop;

	setpriority(PRIO_PROCESS, gettid(), TRANSFER_NICE);
	while (off < tc->end) {
		pthread_mutex_lock(&tc->lock);
		while (!tc->stop && tc->filled - tc->emptied == TRANSFER_RING)
			pthread_cond_wait(&tc->cond, &tc->lock);
		stop = tc->stop;
		slot = tc->filled % TRANSFER_RING;
		pthread_mutex_unlock(&tc->lock);
		if (stop)
			break;
		buf = tc->ring + (size_t)slot * TRANSFER_CHUNK;
		want = tc->end - off < TRANSFER_CHUNK ? tc->end - off :
		    TRANSFER_CHUNK;
		n = pread(tc->src, buf, want, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			xasprintf(&error, "reading the source: %s", n == 0 ?
			    "it shrank while being copied" : strerror(errno));
			break;
		}
		if (tc->corrupt >= off && tc->corrupt < off + n)
			buf[tc->corrupt - off] ^= 1;
		if (transfer_pwrite(tc->dst, buf, n, off) != 0) {
			xasprintf(&error, "%s", strerror(errno));
			break;
		}
		off += n;
		/* Start writeback as we go: less for the fdatasync to do. */
		if (off - synced >= TRANSFER_SYNC_WINDOW) {
			sync_file_range(tc->dst, synced, off - synced,
			    SYNC_FILE_RANGE_WRITE);
			synced = off;
		}
		pthread_mutex_lock(&tc->lock);
		tc->len[slot] = n;
		tc->filled++;
		pthread_cond_broadcast(&tc->cond);
		pthread_mutex_unlock(&tc->lock);
	}
	/* On disk while the hasher catches up, not after it. */
	if (error == NULL && off == tc->end && tc->durable &&
	    fdatasync(tc->dst) != 0)
		xasprintf(&error, "%s", strerror(errno));
	if (error != NULL)
		transfer_copy_error(tc, error);
	pthread_mutex_lock(&tc->lock);
	tc->copying = 0;
	pthread_cond_broadcast(&tc->cond);
	pthread_mutex_unlock(&tc->lock);
	return (NULL);
}

/* The hasher thread: each buffer once written, in order; then the loop. */
static void *
transfer_hasher(void *arg)
{
	struct transfer_copy	*tc = arg;
	uint64_t		 off = tc->start;
	size_t			 n = 0;
	u_int			 slot;

	setpriority(PRIO_PROCESS, gettid(), TRANSFER_NICE);
	for (;;) {
		pthread_mutex_lock(&tc->lock);
		if (n != 0) {
			tc->emptied++;
			tc->hashed = off;
			pthread_cond_broadcast(&tc->cond);
		}
		while (!tc->stop && tc->copying && tc->emptied == tc->filled)
			pthread_cond_wait(&tc->cond, &tc->lock);
		if (tc->stop || tc->emptied == tc->filled) {
			pthread_mutex_unlock(&tc->lock);
			break;		/* stopped, or all that was copied */
		}
		slot = tc->emptied % TRANSFER_RING;
		n = tc->len[slot];
		pthread_mutex_unlock(&tc->lock);
		EVP_DigestUpdate(tc->sha, tc->ring + (size_t)slot *
		    TRANSFER_CHUNK, n);
		off += n;
	}
	(void)!write(tc->pipe[1], "", 1);
	return (NULL);
}

/* Bytes of the push in flight that are written and hashed. */
static uint64_t
transfer_progress(struct transfer *t)
{
	uint64_t	 done;

	if (t->copy == NULL)
		return (t->done);
	pthread_mutex_lock(&t->copy->lock);
	done = t->copy->hashed;
	pthread_mutex_unlock(&t->copy->lock);
	return (done);
}

/*
 * Stop the copy (if it still runs), wait for its threads and forget it;
 * t->done becomes what was hashed.  Its failure, if any, goes to *error.
 * The threads are a chunk from noticing, or in the final fdatasync.
 */
static void
transfer_copy_stop_error(struct transfer *t, char **error)
{
	struct transfer_copy	*tc = t->copy;

	if (tc == NULL)
		return;
	pthread_mutex_lock(&tc->lock);
	tc->stop = 1;
	pthread_cond_broadcast(&tc->cond);
	pthread_mutex_unlock(&tc->lock);
	if (tc->threads > 0)
		pthread_join(tc->copier, NULL);
	if (tc->threads > 1)
		pthread_join(tc->hasher, NULL);
	t->done = tc->hashed;
	if (error != NULL)
		*error = tc->error;
	else
		free(tc->error);
	event_free(tc->ev);
	close(tc->pipe[0]);
	close(tc->pipe[1]);
	close(tc->src);
	free(tc->ring);
	pthread_cond_destroy(&tc->cond);
	pthread_mutex_destroy(&tc->lock);
	free(tc);
	t->copy = NULL;
}

static void
transfer_copy_stop(struct transfer *t)
{
	transfer_copy_stop_error(t, NULL);
}

static enum cmd_retval	transfer_finish_now(struct cmd_ctx *, const char *,
			    long long);
static enum cmd_retval	transfer_status_now(struct cmd_ctx *);

/* Answer the command waiting for the copy: a finish, or a status. */
static void
transfer_wake(struct client *c)
{
	struct transfer	*t = c->transfer;
	struct cmd_ctx	*ctx = t->wait;
	char		*sha256 = t->wait_sha;
	long long	 size = t->wait_size;
	enum cmd_retval	 rv;

	if (ctx == NULL)
		return;
	t->wait = NULL;
	t->wait_sha = NULL;
	if (t->wait_timer != NULL)
		evtimer_del(t->wait_timer);
	if (sha256 != NULL)
		rv = transfer_finish_now(ctx, sha256, size);
	else
		rv = transfer_status_now(ctx);
	free(sha256);
	cmd_finish(ctx, rv);
}

static void
transfer_wait_cb(int fd __unused, short events __unused, void *arg)
{
	transfer_wake(arg);
}

/* The hasher is through: the copy is over, well or not. */
static void
transfer_copy_done_cb(int fd __unused, short events __unused, void *arg)
{
	struct client	*c = arg;
	struct transfer	*t = c->transfer;
	char		*error = NULL;

	transfer_copy_stop_error(t, &error);
	log_debug("%s: client %u: %s at %llu of %llu bytes%s%s", __func__,
	    c->id, t->path, (unsigned long long)t->done,
	    (unsigned long long)t->size, error != NULL ? ": " : "",
	    error != NULL ? error : "");
	if (error != NULL) {
		if (t->part != NULL && t->dirfd != -1)
			unlinkat(t->dirfd, t->part, 0);
		free(t->part);
		t->part = NULL;
		if (t->fd != -1)
			close(t->fd);
		t->fd = -1;
		free(t->error);
		xasprintf(&t->error, "%s: %s (nothing written)", t->path,
		    error);
		free(error);
	}
	transfer_wake(c);
}

/*
 * Copy the sender's descriptor src (ours now) into the part from t->done:
 * length bytes, or to the end if 0.  Returns at once; -1 with *cause if the
 * threads cannot start (src is closed then, the sender streams instead).
 */
static int
transfer_copy_start(struct client *c, int src, uint64_t length,
    long long corrupt, char **cause)
{
	struct transfer		*t = c->transfer;
	struct transfer_copy	*tc;
	sigset_t		 all, old;

	tc = xcalloc(1, sizeof *tc);
	tc->src = src;
	tc->dst = t->fd;
	tc->start = tc->hashed = t->done;
	tc->end = t->size;
	if (length != 0 && length < tc->end - tc->start)
		tc->end = tc->start + length;
	tc->durable = tc->end == t->size;
	tc->corrupt = corrupt >= 0 ? tc->start + corrupt : UINT64_MAX;
	tc->sha = t->sha;
	tc->copying = 1;
	if (tc->start == tc->end) {
		close(src);		/* nothing to copy */
		free(tc);
		return (0);
	}
	if (pipe2(tc->pipe, O_CLOEXEC) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		close(src);
		free(tc);
		return (-1);
	}
	tc->ring = xmalloc((size_t)TRANSFER_RING * TRANSFER_CHUNK);
	pthread_mutex_init(&tc->lock, NULL);
	pthread_cond_init(&tc->cond, NULL);
	tc->ev = event_new(server_base, tc->pipe[0], EV_READ,
	    transfer_copy_done_cb, c);
	event_add(tc->ev, NULL);
	t->copy = tc;
	/* Signals are the loop's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&tc->copier, NULL, transfer_copier, tc) == 0)
		tc->threads++;
	if (tc->threads == 1 &&
	    pthread_create(&tc->hasher, NULL, transfer_hasher, tc) == 0)
		tc->threads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (tc->threads != 2) {
		xasprintf(cause, "cannot start a thread");
		transfer_copy_stop(t);
		t->done = t->resumed;
		return (-1);
	}
	return (0);
}

/* A transfer-put -F refused before it looked: close what it passed. */
void
transfer_drop_descriptor(struct client *c)
{
	if (c == NULL || c->nfds == 0)
		return;
	close(c->fds[0]);
	memmove(c->fds, c->fds + 1, (c->nfds - 1) * sizeof *c->fds);
	c->nfds--;
}

/*
 * The descriptor a local push passed with transfer-put -F, if it can be
 * copied.  -1 and *why if it cannot (the sender streams instead); -1 and an
 * error on ctx if it is not the source the policy allowed.
 */
static int
transfer_source_fd(struct cmd_ctx *ctx, const struct transfer_file *f,
    const char **why)
{
	struct client	*c = ctx->c;
	struct stat	 fsb, psb;
	int		 fd, fl;

	*why = NULL;
	if (c->flags & CLIENT_REMOTE) {
		*why = "not over a peer link";
		return (-1);
	}
	if (c->nfds == 0) {
		*why = "no descriptor came with the command";
		return (-1);
	}
	fd = c->fds[0];
	memmove(c->fds, c->fds + 1, (c->nfds - 1) * sizeof *c->fds);
	c->nfds--;
	if (f->source == NULL) {
		cmd_error(ctx, "usage", "transfer-put -F needs -S, the file "
		    "passed");
		goto refused;
	}
	if (fstat(fd, &fsb) != 0 || stat(f->source, &psb) != 0 ||
	    fsb.st_dev != psb.st_dev || fsb.st_ino != psb.st_ino) {
		cmd_error(ctx, "refused", "the descriptor passed is not %s",
		    f->source);
		goto refused;
	}
	fl = fcntl(fd, F_GETFL);
	if (!S_ISREG(fsb.st_mode))
		*why = "not a regular file";
	else if (fl == -1 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
		*why = "the descriptor is not open for reading";
	if (*why != NULL) {
		close(fd);
		return (-1);
	}
	return (fd);
refused:
	close(fd);
	return (-1);
}

/*
 * Start (or resume) a push: check the destination, open its temporary file
 * and say from which offset the data should come, with the SHA-256 of what
 * is already there so the sender can check it is the same prefix.  With -F
 * the sender passed its open source: if it is the file -S names, start
 * copying it from that offset ("copy": true); if it cannot be used, say why
 * and the sender streams.
 */
enum cmd_retval
transfer_put(struct cmd_ctx *ctx, const struct transfer_file *f)
{
	struct transfer	*t = transfer_state(ctx->c);
	struct stat	 sb;
	char		*resolved, *slash, *dir, *cause = NULL, hex[65];
	const char	*why = NULL;
	int		 exists, src = -1;
	cJSON		*j;

	transfer_close(t, 0);
	if (config.max_file_size != 0 && f->size > config.max_file_size) {
		ctx->audit_target = policy_path_lexical(f->path, ctx->cwd);
		cmd_error(ctx, "too-large", "file too large: %s is %llu bytes "
		    "(transfer.maxFileSize is %u)", f->name != NULL &&
		    *f->name != '\0' ? f->name : f->path,
		    (unsigned long long)f->size, config.max_file_size);
		if (f->local)
			transfer_drop_descriptor(ctx->c);
		return (CMD_ERROR);
	}
	if (f->local && (src = transfer_source_fd(ctx, f, &why)) == -1 &&
	    why == NULL)
		return (CMD_ERROR);
	resolved = transfer_target(ctx, f->path, f->name, &sb, &exists);
	if (resolved == NULL)
		goto fail_src;
	ctx->audit_target = xstrdup(resolved);
	if (exists && S_ISDIR(sb.st_mode)) {
		cmd_error(ctx, "is-directory", "is a directory: %s", resolved);
		free(resolved);
		goto fail_src;
	}
	slash = strrchr(resolved, '/');
	dir = slash == resolved ? xstrdup("/") :
	    xstrndup(resolved, slash - resolved);
	t->path = resolved;
	t->base = xstrdup(slash + 1);
	t->part = transfer_part_name(resolved, t->base, f->key);
	t->size = f->size;
	t->mode = f->mode & 0777;	/* no set-id bits from a sender */
	t->mtime = f->mtime;
	t->push = 1;
	t->noresume = f->noresume;
	t->dirfd = open(dir, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);
	if (t->dirfd == -1) {
		cmd_error(ctx, "io", "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (transfer_opened(t->dirfd, dir, &cause) != 0) {
		cmd_error(ctx, "refused", "%s", cause);
		free(cause);
		goto fail;
	}
	transfer_sweep(t, dir, t->dirfd);
	if (f->restart)
		unlinkat(t->dirfd, t->part, 0);
	t->fd = openat(t->dirfd, t->part, O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC,
	    S_IRUSR|S_IWUSR);
	if (t->fd == -1) {
		cmd_error(ctx, "io", "%s/%s: %s", dir, t->part,
		    strerror(errno));
		goto fail;
	}
	if (flock(t->fd, LOCK_EX|LOCK_NB) != 0) {
		cmd_error(ctx, "busy", "a transfer to %s is already in "
		    "progress", resolved);
		close(t->fd);
		t->fd = -1;
		goto fail;
	}
	if (fstat(t->fd, &sb) != 0 || (uint64_t)sb.st_size > f->size) {
		if (ftruncate(t->fd, 0) != 0)
			goto io;
		sb.st_size = 0;
	}
	futimens(t->fd, NULL);	/* in use: not stale */
	if ((t->sha = transfer_hash_prefix(t->fd, sb.st_size, &cause)) == NULL)
		goto io;
	transfer_rehashed += sb.st_size;
	if (lseek(t->fd, sb.st_size, SEEK_SET) == -1)
		goto io;
	t->done = t->resumed = t->synced = sb.st_size;
	transfer_digest(t->sha, hex);	/* before the hasher has it */
	if (src != -1) {
		t->local = 1;
		if (transfer_copy_start(ctx->c, src, f->limit, f->corrupt,
		    &cause) != 0) {
			t->local = 0;
			why = cause;
		}
		src = -1;
	}
	log_debug("%s: %s from %llu of %llu%s%s", __func__, resolved,
	    (unsigned long long)t->done, (unsigned long long)t->size,
	    t->local ? ", copying" : "", why != NULL ? why : "");
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "path", resolved);
	cJSON_AddNumberToObject(j, "offset", (double)t->done);
	cJSON_AddStringToObject(j, "sha256", hex);
	if (f->local) {
		cJSON_AddBoolToObject(j, "copy", t->local);
		if (why != NULL)
			cJSON_AddStringToObject(j, "why", why);
	}
	transfer_print(ctx, j);
	free(cause);
	free(dir);
	return (CMD_OK);
io:
	cmd_error(ctx, "io", "%s: %s", resolved, cause != NULL ? cause :
	    strerror(errno));
	free(cause);
fail:
	free(dir);
	transfer_close(t, 0);
fail_src:
	if (src != -1)
		close(src);
	return (CMD_ERROR);
}

/* A push went wrong between commands: tell the sender now, drop the part. */
static void
transfer_fail(struct client *c, const char *fmt, ...)
{
	struct transfer	*t = c->transfer;
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	cJSON		*j, *e;
	va_list		 ap;
	char		*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	log_debug("%s: client %u: %s", __func__, c->id, s);
	if (t->part != NULL && t->dirfd != -1)
		unlinkat(t->dirfd, t->part, 0);
	free(t->part);
	t->part = NULL;		/* gone: a later part of that name is not ours */
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
	free(t->error);
	t->error = s;
	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "id", 0);
	cJSON_AddBoolToObject(j, "ok", 0);
	cJSON_AddNumberToObject(j, "exit", 1);
	e = cJSON_AddObjectToObject(j, "error");
	cJSON_AddStringToObject(e, "code", "transfer");
	cJSON_AddStringToObject(e, "message", s);
	s = cJSON_PrintUnformatted(j);
	proto_add_json(out, MSG_REPLY, s);
	proto_flush(c->bev);
	free(s);
	cJSON_Delete(j);
}

/* A MSG_DATA frame: the next bytes of the push in flight. */
void
transfer_data(struct client *c, const char *data, size_t len)
{
	struct transfer	*t = c->transfer;
	ssize_t		 n;
	size_t		 left = len;

	if (t == NULL || !t->push || t->fd == -1) {
		if (t == NULL || t->error == NULL)
			log_debug("client %u: data without a transfer",
			    c->id);
		return;
	}
	if (t->local) {
		transfer_copy_stop(t);
		transfer_fail(c, "%s: data frames during a local copy",
		    t->path);
		return;
	}
	if (t->done + len > t->size) {
		transfer_fail(c, "%s: more data than the %llu bytes declared",
		    t->path, (unsigned long long)t->size);
		return;
	}
	EVP_DigestUpdate(t->sha, data, len);
	while (left > 0) {
		n = write(t->fd, data, left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			transfer_fail(c, "%s: %s (nothing written)", t->path,
			    strerror(errno));
			return;
		}
		data += n;
		left -= n;
	}
	t->done += len;
	/* Start writeback as we go, so the fsync at the end has less to do. */
	if (t->done - t->synced >= TRANSFER_SYNC_WINDOW) {
		sync_file_range(t->fd, t->synced, t->done - t->synced,
		    SYNC_FILE_RANGE_WRITE);
		t->synced = t->done;
	}
}

/*
 * The sender's SHA-256 of the whole file: if it matches what came, make the
 * file durable and put it in place; if not, it was never there.  A local
 * copy still running is waited for.  A sender that learns the size only at
 * the end (an API push) declared the most it could be and gives the size
 * here (size, else -1): the part stays open and its hash runs on, where a
 * second transfer-put would read the whole part back on the loop.
 */
enum cmd_retval
transfer_finish(struct cmd_ctx *ctx, const char *sha256, long long size)
{
	struct transfer	*t = ctx->c != NULL ? ctx->c->transfer : NULL;

	if (t != NULL && t->copy != NULL) {
		t->wait = ctx;
		t->wait_sha = xstrdup(sha256);
		t->wait_size = size;
		return (CMD_WAIT);
	}
	return (transfer_finish_now(ctx, sha256, size));
}

static enum cmd_retval
transfer_finish_now(struct cmd_ctx *ctx, const char *sha256, long long size)
{
	struct transfer	*t = ctx->c != NULL ? ctx->c->transfer : NULL;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	struct timespec	 times[2];
	u_int		 n = 0;
	char		 hex[65];
	cJSON		*j;
	enum cmd_retval	 rv = CMD_ERROR;

	if (t == NULL || !t->push || (t->fd == -1 && t->error == NULL)) {
		cmd_error(ctx, "no-transfer", "no transfer in progress");
		return (CMD_ERROR);
	}
	ctx->audit_target = xstrdup(t->path);
	ctx->audit_bytes = t->done - t->resumed;
	if (t->error != NULL) {
		cmd_error(ctx, "transfer", "%s", t->error);
		goto out;
	}
	if (size >= 0 && (uint64_t)size < t->done) {
		cmd_error(ctx, "size-mismatch", "%s: %llu bytes came, more "
		    "than the %lld the sender says (nothing written)", t->path,
		    (unsigned long long)t->done, size);
		goto out;
	}
	if (size >= 0)
		t->size = size;
	if (t->done != t->size) {
		cmd_error(ctx, "incomplete", "incomplete transfer: %s has %llu "
		    "of %llu bytes (%s)", t->path, (unsigned long long)t->done,
		    (unsigned long long)t->size, t->noresume ? "dropped" :
		    "kept for a resume");
		transfer_close(t, 0);
		return (CMD_ERROR);
	}
	EVP_DigestFinal_ex(t->sha, md, &n);
	transfer_hex(md, n, hex);
	if (strcasecmp(hex, sha256) != 0) {
		cmd_error(ctx, "checksum", "checksum mismatch: %s (sent %s, "
		    "received %s; nothing written)", t->path, sha256, hex);
		goto out;
	}
	times[0].tv_sec = 0;
	times[0].tv_nsec = UTIME_OMIT;
	times[1] = t->mtime;
	if (fchmod(t->fd, t->mode) != 0 ||
	    (t->mtime.tv_nsec != UTIME_OMIT && futimens(t->fd, times) != 0) ||
	    fdatasync(t->fd) != 0 ||
	    renameat(t->dirfd, t->part, t->dirfd, t->base) != 0) {
		cmd_error(ctx, "io", "%s: %s (nothing written)", t->path,
		    strerror(errno));
		goto out;
	}
	fsync(t->dirfd);
	free(t->part);
	t->part = NULL;		/* renamed: nothing to remove */
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "path", t->path);
	cJSON_AddNumberToObject(j, "size", (double)t->size);
	cJSON_AddStringToObject(j, "sha256", hex);
	cJSON_AddNumberToObject(j, "sent", (double)(t->done - t->resumed));
	cJSON_AddNumberToObject(j, "resumed", (double)t->resumed);
	cJSON_AddStringToObject(j, "via", t->local ? "descriptor" : "stream");
	transfer_print(ctx, j);
	rv = CMD_OK;
out:
	transfer_close(t, 1);
	return (rv);
}

/*
 * Where the push in flight is: every earlier frame has been written, and
 * "done" bytes of a local copy are written and hashed.  With wait_ms 0 or
 * more and a copy running, answer when it ends or after wait_ms (0: when it
 * ends).
 */
enum cmd_retval
transfer_status(struct cmd_ctx *ctx, int wait_ms)
{
	struct transfer	*t = ctx->c != NULL ? ctx->c->transfer : NULL;
	struct timeval	 tv;

	if (wait_ms < 0 || t == NULL || t->copy == NULL)
		return (transfer_status_now(ctx));
	t->wait = ctx;
	if (wait_ms > 0) {
		if (t->wait_timer == NULL)
			t->wait_timer = evtimer_new(server_base,
			    transfer_wait_cb, ctx->c);
		tv.tv_sec = wait_ms / 1000;
		tv.tv_usec = (wait_ms % 1000) * 1000;
		evtimer_add(t->wait_timer, &tv);
	}
	return (CMD_WAIT);
}

static enum cmd_retval
transfer_status_now(struct cmd_ctx *ctx)
{
	struct transfer	*t = ctx->c != NULL ? ctx->c->transfer : NULL;
	cJSON		*j = cJSON_CreateObject();

	cJSON_AddBoolToObject(j, "active", t != NULL && t->fd != -1);
	if (t != NULL && t->path != NULL)
		cJSON_AddStringToObject(j, "path", t->path);
	cJSON_AddNumberToObject(j, "done", t != NULL ?
	    (double)transfer_progress(t) : 0);
	cJSON_AddNumberToObject(j, "size", t != NULL ? (double)t->size : 0);
	cJSON_AddBoolToObject(j, "copying", t != NULL && t->copy != NULL);
	if (t != NULL && t->error != NULL)
		cJSON_AddStringToObject(j, "error", t->error);
	transfer_print(ctx, j);
	return (CMD_OK);
}

/* A directory for "cp -r": made if missing; final sets its mode exactly. */
enum cmd_retval
transfer_mkdir(struct cmd_ctx *ctx, const char *path, const char *name,
    mode_t mode, int final)
{
	struct stat	 sb;
	char		*resolved, *cause = NULL;
	int		 exists, fd = -1;
	cJSON		*j;

	resolved = transfer_target(ctx, path, name, &sb, &exists);
	if (resolved == NULL)
		return (CMD_ERROR);
	ctx->audit_target = xstrdup(resolved);
	if (exists && !S_ISDIR(sb.st_mode)) {
		cmd_error(ctx, "not-directory", "not a directory: %s",
		    resolved);
		goto fail;
	}
	/* Until its files are in, the owner can write it whatever its mode. */
	if (!exists && mkdir(resolved, (mode & 0777) | S_IRWXU) != 0) {
		cmd_error(ctx, "io", "%s: %s", resolved, strerror(errno));
		goto fail;
	}
	/* The mode goes on the directory checked, not through a new link. */
	if (final) {
		fd = open(resolved, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC);
		if (fd == -1) {
			cmd_error(ctx, "io", "%s: %s", resolved,
			    strerror(errno));
			goto fail;
		}
		if (transfer_opened(fd, resolved, &cause) != 0) {
			cmd_error(ctx, "refused", "%s", cause);
			free(cause);
			goto fail;
		}
		if (fchmod(fd, mode & 0777) != 0) {
			cmd_error(ctx, "io", "%s: %s", resolved,
			    strerror(errno));
			goto fail;
		}
		close(fd);
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "path", resolved);
	transfer_print(ctx, j);
	free(resolved);
	return (CMD_OK);
fail:
	if (fd != -1)
		close(fd);
	free(resolved);
	return (CMD_ERROR);
}

/* Pull: send the next frames while the client's queue is short. */
void
transfer_drained(struct client *c)
{
	struct transfer	*t = c->transfer;
	struct evbuffer	*out;
	struct cmd_ctx	*ctx;
	char		 hex[65];
	size_t		 want;
	ssize_t		 n;
	cJSON		*j;

	if (t == NULL || t->get == NULL || (c->flags & CLIENT_DEAD))
		return;
	ctx = t->get;
	out = bufferevent_get_output(c->bev);
	while (t->done < t->size &&
	    evbuffer_get_length(out) < TRANSFER_HIGH_WATER) {
		want = t->size - t->done < TRANSFER_CHUNK ? t->size - t->done :
		    TRANSFER_CHUNK;
		n = pread(t->fd, t->buf, want, t->done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			cmd_error(ctx, "io", "%s: %s", t->path, n == 0 ?
			    "file shrank while being read" : strerror(errno));
			transfer_close(t, 0);
			cmd_finish(ctx, CMD_ERROR);
			return;
		}
		EVP_DigestUpdate(t->sha, t->buf, n);
		proto_add(out, MSG_DATA, t->buf, n);
		c->bytes_out += n + PROTO_HEADER;
		t->done += n;
		ctx->audit_bytes += n;
	}
	proto_flush(c->bev);
	if (t->done < t->size)
		return;
	transfer_digest(t->sha, hex);
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "path", t->path);
	cJSON_AddNumberToObject(j, "size", (double)t->size);
	cJSON_AddStringToObject(j, "sha256", hex);
	cJSON_AddNumberToObject(j, "sent", (double)(t->done - t->resumed));
	transfer_print(ctx, j);
	transfer_close(t, 0);
	cmd_finish(ctx, CMD_OK);
}

static void
transfer_kick_cb(int fd __unused, short events __unused, void *arg)
{
	transfer_drained(arg);
}

/* Pull a file from offset on: frames now, a reply with its SHA-256 last. */
enum cmd_retval
transfer_get(struct cmd_ctx *ctx, const char *path, uint64_t offset)
{
	struct transfer	*t = transfer_state(ctx->c);
	struct stat	 sb;
	char		*resolved, *cause = NULL;

	transfer_close(t, 0);
	if ((resolved = policy_path_check(path, ctx->cwd, &cause)) == NULL) {
		transfer_refused(ctx, path, cause);
		return (CMD_ERROR);
	}
	ctx->audit_target = xstrdup(resolved);
	t->path = resolved;
	/* Not blocking on a FIFO (nor a terminal): only regular files go. */
	t->fd = open(resolved, O_RDONLY|O_NONBLOCK|O_NOFOLLOW|O_NOCTTY|
	    O_CLOEXEC);
	if (t->fd == -1 || fstat(t->fd, &sb) != 0) {
		cmd_error(ctx, "io", "%s: %s", resolved, strerror(errno));
		goto fail;
	}
	if (transfer_opened(t->fd, resolved, &cause) != 0) {
		cmd_error(ctx, "refused", "%s", cause);
		free(cause);
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		cmd_error(ctx, "not-file", "not a regular file: %s", resolved);
		goto fail;
	}
	if (config.max_file_size != 0 &&
	    (uint64_t)sb.st_size > config.max_file_size) {
		cmd_error(ctx, "too-large", "file too large: %s is %llu bytes "
		    "(transfer.maxFileSize is %u)", resolved,
		    (unsigned long long)sb.st_size, config.max_file_size);
		goto fail;
	}
	if (offset > (uint64_t)sb.st_size)
		offset = 0;
	posix_fadvise(t->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((t->sha = transfer_hash_prefix(t->fd, offset, &cause)) == NULL) {
		cmd_error(ctx, "io", "%s: %s", resolved, cause);
		free(cause);
		goto fail;
	}
	t->size = sb.st_size;
	t->done = t->resumed = offset;
	t->buf = xmalloc(TRANSFER_CHUNK);
	t->get = ctx;
	/* Start once the caller has recorded the wait; drains do the rest. */
	if (t->kick == NULL)
		t->kick = evtimer_new(server_base, transfer_kick_cb, ctx->c);
	event_active(t->kick, EV_TIMEOUT, 0);
	return (CMD_WAIT);
fail:
	transfer_close(t, 0);
	return (CMD_ERROR);
}

