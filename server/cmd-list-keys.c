/* server/cmd-list-keys.c: the key bindings; shown in a view when run from a key. */

#include "server.h"

static enum cmd_retval	cmd_list_keys(struct cmd_ctx *);

const struct cmd_def cmd_list_keys_def = {
	.name = "list-keys",
	.alias = "lsk",
	.flags = "",
	.longs = "",
	.min_args = 0, .max_args = 0,
	.usage = "",
	.run = cmd_list_keys
};

static enum cmd_retval
cmd_list_keys(struct cmd_ctx *ctx)
{
	struct buf	 b;

	if (ctx->attached == NULL) {
		keys_list(&ctx->out);
		return (CMD_OK);
	}
	buf_init(&b);
	keys_list(&b);
	mode_view_enter(ctx->attached, "key bindings", b.data, b.len);
	buf_free(&b);
	return (CMD_OK);
}
