/*
 * server/cmd-ls-files.c: list a directory (or one file) the transfer policy
 * allows: name, path, type, size, modified, mode.  Entries are not followed;
 * a symlink is listed as one.  Entries inside a denied path are left out.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "server.h"

static enum cmd_retval	cmd_ls_files(struct cmd_ctx *);

const struct cmd_def cmd_ls_files_def = {
	.name = "ls-files",
	.alias = "transfer-list",
	.flags = "",
	.longs = "json",
	.min_args = 0, .max_args = 1,
	.usage = "[--json] [path]",
	.start_server = 1,
	.rate = RATE_TRANSFER,
	.run = cmd_ls_files
};

struct ls_entry {
	char		*name;
	char		*path;
	struct stat	 sb;
};

static const char *
cmd_ls_files_type(mode_t m)
{
	if (S_ISREG(m))
		return ("file");
	if (S_ISDIR(m))
		return ("directory");
	if (S_ISLNK(m))
		return ("symlink");
	return ("other");
}

static int
cmd_ls_files_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct ls_entry *)a)->name,
	    ((const struct ls_entry *)b)->name));
}

static void
cmd_ls_files_print(struct cmd_ctx *ctx, struct ls_entry *e, u_int n)
{
	cJSON		*a = NULL, *j;
	char		 when[32], mode[8];
	struct tm	 tm;
	u_int		 i;

	if (args_has_long(ctx->args, "json"))
		a = cJSON_CreateArray();
	for (i = 0; i < n; i++) {
		gmtime_r(&e[i].sb.st_mtime, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(mode, sizeof mode, "%04o",
		    (u_int)(e[i].sb.st_mode & 07777));
		if (a == NULL) {
			cmd_print(ctx, "%-9s %s %12lld %s %s\n",
			    cmd_ls_files_type(e[i].sb.st_mode), mode,
			    (long long)e[i].sb.st_size, when, e[i].name);
			continue;
		}
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "name", e[i].name);
		cJSON_AddStringToObject(j, "path", e[i].path);
		cJSON_AddStringToObject(j, "type",
		    cmd_ls_files_type(e[i].sb.st_mode));
		cJSON_AddNumberToObject(j, "size", (double)e[i].sb.st_size);
		cJSON_AddStringToObject(j, "modified", when);
		/* Exactly, for cp to keep it: seconds and nanoseconds. */
		cJSON_AddNumberToObject(j, "mtime",
		    (double)e[i].sb.st_mtim.tv_sec);
		cJSON_AddNumberToObject(j, "mtimeNsec",
		    (double)e[i].sb.st_mtim.tv_nsec);
		cJSON_AddStringToObject(j, "mode", mode);
		cJSON_AddItemToArray(a, j);
	}
	if (a != NULL)
		cmd_print_json(ctx, a);
}

static enum cmd_retval
cmd_ls_files(struct cmd_ctx *ctx)
{
	const char	*path = ctx->args->argc > 0 ? ctx->args->argv[0] : ".";
	char		*resolved, *cause = NULL, *sub, *slash;
	struct ls_entry	*e = NULL;
	struct stat	 sb;
	struct dirent	*de;
	DIR		*d;
	u_int		 n = 0, i;

	if ((resolved = policy_path_check(path, ctx->cwd, &cause)) == NULL) {
		transfer_refused(ctx, path, cause);
		return (CMD_ERROR);
	}
	ctx->audit_target = xstrdup(resolved);
	if (stat(resolved, &sb) != 0) {
		cmd_error(ctx, "not-found", "%s: %s", path, strerror(errno));
		free(resolved);
		return (CMD_ERROR);
	}
	if (!S_ISDIR(sb.st_mode)) {
		e = xcalloc(1, sizeof *e);
		slash = strrchr(resolved, '/');
		e[0].name = xstrdup(slash + 1);
		e[0].path = xstrdup(resolved);
		e[0].sb = sb;
		n = 1;
		goto print;
	}
	if ((d = opendir(resolved)) == NULL) {
		cmd_error(ctx, "io", "%s: %s", path, strerror(errno));
		free(resolved);
		return (CMD_ERROR);
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&sub, "%s/%s", strcmp(resolved, "/") == 0 ? "" :
		    resolved, de->d_name);
		if (lstat(sub, &sb) != 0 || policy_path_check_lists(sub, NULL,
		    &config.allowed_paths, &config.denied_paths, &cause) != 0) {
			free(cause);
			cause = NULL;
			free(sub);
			continue;
		}
		e = xreallocarray(e, n + 1, sizeof *e);
		e[n].name = xstrdup(de->d_name);
		e[n].path = sub;
		e[n].sb = sb;
		n++;
	}
	closedir(d);
	qsort(e, n, sizeof *e, cmd_ls_files_cmp);
print:
	cmd_ls_files_print(ctx, e, n);
	for (i = 0; i < n; i++) {
		free(e[i].name);
		free(e[i].path);
	}
	free(e);
	free(resolved);
	return (CMD_OK);
}
