/*
 * client/mcp.h: "loopsy mcp", the MCP server for agents.  mcp.c speaks the
 * protocol on stdio and holds the connections (the local server, one link
 * per peer); mcp-tools.c is the tool table, each tool a few loopsy commands.
 */
#ifndef CLIENT_MCP_H
#define CLIENT_MCP_H

#include "common/common.h"

struct cJSON;

/* What one command answered. */
struct mcp_reply {
	int		 exit;
	char		*code;		/* reply's error code, or NULL */
	char		*message;	/* and message, or NULL */
	struct buf	 out;		/* MSG_STDOUT, NUL-terminated */
	struct buf	 err;		/* MSG_STDERR, NUL-terminated */
};

/* What a tool gives back: data (an object) and text, or an error. */
struct mcp_result {
	struct cJSON	*data;
	char		*text;
	char		*error;		/* set: isError */
};

struct mcp_tool {
	const char	*name;
	const char	*description;
	const char	*schema;	/* JSON: {"properties":..,"required":..} */
	void		(*run)(const char *, struct cJSON *, struct mcp_result *);
};

/* mcp.c */
extern const char	*mcp_socket;
int	 mcp_main(const char *socket, int argc, char **argv);
int	 mcp_is_entry(int argc, char **argv);
int	 mcp_command(const char *, int, char **, struct mcp_reply *, char **);
void	 mcp_reply_free(struct mcp_reply *);
void	 mcp_error(struct mcp_result *, const char *, ...) __printflike(2, 3);
char	*mcp_utf8(const char *, size_t);
struct cJSON *mcp_json_parse(const char *);

/* mcp-tools.c */
extern const struct mcp_tool	mcp_tools[];
const struct mcp_tool	*mcp_tool_find(const char *);

#endif
