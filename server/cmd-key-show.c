/*
 * server/cmd-key-show.c: loopsy key show: this machine's API key from
 * config.yaml, on standard output only, because the user asked for their
 * secret; with --fingerprint, the TLS certificate's SHA-256 fingerprint
 * instead (what peers pin).  Runs in the client.
 */
#include <stdlib.h>

#include "common/crypto.h"
#include "server.h"

static enum cmd_retval	cmd_key_show(struct cmd_ctx *);

const struct cmd_def cmd_key_show_def = {
	.name = "key-show",
	.alias = NULL,
	.flags = "",
	.longs = "fingerprint",
	.min_args = 0, .max_args = 0,
	.usage = "[--fingerprint]",
	.client = 1,
	.client_words = 1,
	.run = cmd_key_show,
	.local_only = 1
};

static enum cmd_retval
cmd_key_show_fingerprint(struct cmd_ctx *ctx)
{
	char	*path = loopsy_path("tls/cert.pem"), *pem, *fp = NULL;
	char	*cause = NULL;
	size_t	 len;
	enum cmd_retval rv = CMD_ERROR;

	if ((pem = file_read(path, 1024 * 1024, &len, &cause)) == NULL ||
	    (fp = crypto_cert_fingerprint(pem, len, &cause)) == NULL)
		cmd_error(ctx, "key", "%s: %s (loopsy init makes one)", path,
		    cause != NULL ? cause : "no certificate");
	else {
		cmd_print(ctx, "%s\n", fp);
		rv = CMD_OK;
	}
	free(cause);
	free(fp);
	free(pem);
	free(path);
	return (rv);
}

static enum cmd_retval
cmd_key_show(struct cmd_ctx *ctx)
{
	struct config	 c;
	char		*path, *cause = NULL;
	enum cmd_retval	 rv = CMD_ERROR;

	if (args_has_long(ctx->args, "fingerprint"))
		return (cmd_key_show_fingerprint(ctx));
	path = config_path();
	config_defaults(&c);
	if (config_load(path, &c, &cause) != 0)
		cmd_error(ctx, "key", "%s", cause);
	else if (c.api_key == NULL || *c.api_key == '\0')
		cmd_error(ctx, "key", "no API key in %s: run loopsy init (or "
		    "loopsy key generate)", path);
	else {
		cmd_print(ctx, "%s\n", c.api_key);
		rv = CMD_OK;
	}
	config_clear(&c);
	free(cause);
	free(path);
	return (rv);
}
