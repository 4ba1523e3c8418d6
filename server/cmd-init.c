/*
 * server/cmd-init.c: loopsy init: the state directory (0700), config.yaml
 * (0600) with every key and a new 256-bit API key, and the TLS key pair and
 * self-signed certificate peers will pin.  Idempotent: what exists is kept
 * and modes that are too open are repaired; --force makes a new API key
 * (keeping the rest of config.yaml) and a new key pair, and tells a running
 * server to reload.  Runs in the client.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crypto.h"
#include "server.h"

#define INIT_CERT_DAYS	3650

static enum cmd_retval	cmd_init(struct cmd_ctx *);

const struct cmd_def cmd_init_def = {
	.name = "init",
	.alias = NULL,
	.flags = "",
	.longs = "force",
	.min_args = 0, .max_args = 0,
	.usage = "[--force]",
	.client = 1,
	.run = cmd_init,
	.local_only = 1
};

/*
 * Take away what mode does not allow, saying so; -1 if not ours.  Through
 * an fd opened without following a symlink (dir: the directory, which may
 * be one), so what is checked is what is changed.
 */
static int
cmd_init_repair(struct cmd_ctx *ctx, const char *path, mode_t mode, int dir)
{
	struct stat	 sb;
	mode_t		 now;
	int		 fd, rc = -1;

	fd = open(path, O_RDONLY|O_NONBLOCK|O_CLOEXEC|(dir ? O_DIRECTORY :
	    O_NOFOLLOW));
	if (fd == -1 || fstat(fd, &sb) != 0) {
		if (errno == ELOOP)
			cmd_error(ctx, "init", "%s is a symbolic link, not "
			    "changed", path);
		else
			cmd_error(ctx, "init", "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!dir && !S_ISREG(sb.st_mode)) {
		cmd_error(ctx, "init", "%s is not a regular file", path);
		goto out;
	}
	if (sb.st_uid != getuid()) {
		cmd_error(ctx, "init", "%s is owned by uid %ld, not you", path,
		    (long)sb.st_uid);
		goto out;
	}
	rc = 0;
	if ((sb.st_mode & 07777 & ~mode) == 0)
		goto out;
	now = sb.st_mode & 07777 & mode;
	if (fchmod(fd, now) != 0) {
		cmd_error(ctx, "init", "cannot chmod %s: %s", path,
		    strerror(errno));
		rc = -1;
		goto out;
	}
	cmd_print(ctx, "%s: mode %04o was too open, now %04o\n", path,
	    sb.st_mode & 07777, now);
out:
	if (fd != -1)
		close(fd);
	return (rc);
}

/* What the server keeps in its directory besides config and keys. */
const char *const loopsy_private_files[4] = { "context.json", "peers.json",
	"logs/audit.jsonl", "logs/server.log" };

/* The stores and logs the server keeps, if there: 0600 like the rest. */
static int
cmd_init_stores(struct cmd_ctx *ctx)
{
	u_int	 i;
	char	*path;
	int	 rc = 0;

	for (i = 0; i < nitems(loopsy_private_files); i++) {
		path = loopsy_path(loopsy_private_files[i]);
		if (access(path, F_OK) == 0 &&
		    cmd_init_repair(ctx, path, S_IRUSR|S_IWUSR, 0) != 0)
			rc = -1;
		free(path);
	}
	return (rc);
}

static int
cmd_init_dir(struct cmd_ctx *ctx, const char *sub)
{
	char		*dir = sub != NULL ? loopsy_path(sub) : loopsy_home();
	char		*cause = NULL;
	struct stat	 sb;
	int		 existed = stat(dir, &sb) == 0, rc = -1;

	if (loopsy_mkdir(sub, &cause) != 0) {
		cmd_error(ctx, "init", "%s", cause);
		free(cause);
		goto out;
	}
	if (!existed)
		cmd_print(ctx, "%s: created (0700)\n", dir);
	else if (cmd_init_repair(ctx, dir, S_IRWXU, 1) != 0)
		goto out;
	rc = 0;
out:
	free(dir);
	return (rc);
}

static int
cmd_init_new_config(struct cmd_ctx *ctx, const char *path)
{
	char	*key, *text, *cause = NULL;
	int	 rc;

	if ((key = crypto_random_hex(CRYPTO_KEY_BYTES, &cause)) == NULL) {
		cmd_error(ctx, "init", "%s", cause);
		free(cause);
		return (-1);
	}
	text = config_default_text(key);
	rc = file_write_atomic(path, text, strlen(text), 0600, &cause);
	crypto_cleanse(key, strlen(key));
	crypto_cleanse(text, strlen(text));
	free(key);
	free(text);
	if (rc != 0) {
		cmd_error(ctx, "init", "%s", cause);
		free(cause);
		return (-1);
	}
	cmd_print(ctx, "%s: created (0600) with every setting and a new API "
	    "key (loopsy key show prints it)\n", path);
	return (0);
}

/* Say if an existing config.yaml does not parse or lacks a good key. */
static int
cmd_init_check_config(struct cmd_ctx *ctx, const char *path)
{
	struct config	 c;
	char		*cause = NULL;
	int		 rc = 0;

	config_defaults(&c);
	if (config_load(path, &c, &cause) != 0) {
		cmd_error(ctx, "init", "%s (fix it, then loopsy config check)",
		    cause);
		free(cause);
		rc = -1;
	} else if (!crypto_key_valid(c.api_key))
		cmd_print(ctx, "%s: auth.apiKey is missing or not 64 hex "
		    "digits: loopsy key generate makes a new one\n", path);
	config_clear(&c);
	return (rc);
}

static int
cmd_init_config(struct cmd_ctx *ctx, int force)
{
	char		*path = config_path(), *cause = NULL;
	struct stat	 sb;
	int		 rc = -1;

	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			rc = cmd_init_new_config(ctx, path);
		else
			cmd_error(ctx, "init", "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		cmd_error(ctx, "init", "%s is not a regular file", path);
		goto out;
	}
	if (cmd_init_repair(ctx, path, S_IRUSR|S_IWUSR, 0) != 0)
		goto out;
	if (!force) {
		cmd_print(ctx, "%s exists, kept\n", path);
		rc = cmd_init_check_config(ctx, path);
		goto out;
	}
	if (cmd_key_generate_write(path, &cause) != 0) {
		cmd_error(ctx, "init", "%s", cause);
		free(cause);
		goto out;
	}
	cmd_print(ctx, "%s: new API key, other settings kept\n", path);
	rc = 0;
out:
	free(path);
	return (rc);
}

static char *
cmd_init_hostname(void)
{
	char	 host[256];

	if (gethostname(host, sizeof host) != 0 || *host == '\0')
		return (xstrdup("localhost"));
	host[sizeof host - 1] = '\0';
	return (xstrdup(host));
}

static int
cmd_init_new_tls(struct cmd_ctx *ctx, const char *kpath, const char *cpath)
{
	struct crypto_pem	 pem;
	char			*host = cmd_init_hostname(), *cause = NULL;
	int			 rc = -1;

	if (crypto_tls_generate(host, INIT_CERT_DAYS, &pem, &cause) != 0)
		goto out;
	/* The key first: a certificate never points at a key not there. */
	if (file_write_atomic(kpath, pem.key, pem.key_len, 0600, &cause) != 0 ||
	    file_write_atomic(cpath, pem.cert, pem.cert_len, 0644,
	    &cause) != 0)
		goto out;
	cmd_print(ctx, "%s (0600), %s (0644): new EC P-256 key pair, "
	    "self-signed for \"loopsy on %s\", valid %u days\n", kpath, cpath,
	    host, INIT_CERT_DAYS);
	rc = 0;
out:
	if (rc != 0) {
		cmd_error(ctx, "init", "%s", cause);
		free(cause);
	}
	crypto_pem_free(&pem);
	free(host);
	return (rc);
}

static int
cmd_init_tls(struct cmd_ctx *ctx, int force)
{
	char	*kpath = loopsy_path("tls/key.pem");
	char	*cpath = loopsy_path("tls/cert.pem");
	char	*pem = NULL, *fp = NULL, *cause = NULL;
	size_t	 len;
	int	 rc = -1;

	if (!force && access(kpath, F_OK) == 0 && access(cpath, F_OK) == 0) {
		if (cmd_init_repair(ctx, kpath, S_IRUSR|S_IWUSR, 0) != 0 ||
		    cmd_init_repair(ctx, cpath, 0644, 0) != 0)
			goto out;
		cmd_print(ctx, "%s and %s exist, kept\n", kpath, cpath);
	} else if (cmd_init_new_tls(ctx, kpath, cpath) != 0)
		goto out;
	if ((pem = file_read(cpath, 1024 * 1024, &len, &cause)) == NULL ||
	    (fp = crypto_cert_fingerprint(pem, len, &cause)) == NULL) {
		cmd_error(ctx, "init", "%s: %s (loopsy init --force makes a "
		    "new one)", cpath, cause != NULL ? cause : "missing");
		free(cause);
		goto out;
	}
	cmd_print(ctx, "certificate fingerprint %s\n", fp);
	rc = 0;
out:
	free(fp);
	free(pem);
	free(kpath);
	free(cpath);
	return (rc);
}

/*
 * After --force: a running server reads the new API key and certificate
 * now (as after key generate), so what key show prints is what it takes.
 * Without --force nothing a server uses has changed, so it is not asked.
 */
static int
cmd_init_reload(struct cmd_ctx *ctx)
{
	char	*argv[] = { "config-reload" }, *cause = NULL;

	if (!operate_server_live()) {
		cmd_print(ctx, "no server running: the next one uses the new "
		    "key and certificate\n");
		return (0);
	}
	if (operate_call(1, argv, NULL, &cause) != 0) {
		cmd_error(ctx, "init", "the server did not reload: %s; fix it, "
		    "then loopsy config reload", cause);
		free(cause);
		return (-1);
	}
	cmd_print(ctx, "server reloaded with the new key and certificate; "
	    "sessions kept\n");
	return (0);
}

static enum cmd_retval
cmd_init(struct cmd_ctx *ctx)
{
	int	 force = args_has_long(ctx->args, "force"), bad = 0;

	if (cmd_init_dir(ctx, NULL) != 0 || cmd_init_dir(ctx, "logs") != 0 ||
	    cmd_init_dir(ctx, "tls") != 0)
		return (CMD_ERROR);
	if (cmd_init_config(ctx, force) != 0)
		bad = 1;
	if (cmd_init_tls(ctx, force) != 0)
		bad = 1;
	if (cmd_init_stores(ctx) != 0)
		bad = 1;
	if (force && !bad && cmd_init_reload(ctx) != 0)
		bad = 1;
	return (bad ? CMD_ERROR : CMD_OK);
}
