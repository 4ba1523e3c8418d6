/*
 * server/server.h: what the files of server/ offer each other: sessions and
 * their PTYs, connected clients, the command table and its argument parser,
 * key bindings, modes (chooser, scrollback, prompt), the status line, config.
 * Other directories see only the command table (cmd_find, args_parse) and
 * server_start.
 */
#ifndef SERVER_H
#define SERVER_H

#include <sys/types.h>
#include <sys/queue.h>
#include <stdint.h>
#include <time.h>

#include <http_parser.h>

#include "common/common.h"
#include "common/http.h"
#include "common/key.h"
#include "vterm/vterm.h"

struct event_base;
struct bufferevent;
struct evbuffer;
struct event;
struct cJSON;
struct client;
struct cmd_ctx;

extern struct event_base	*server_base;
extern char			*server_socket_path;
extern struct history_budget	 server_history;

/* The largest terminal a session or client may have, either way. */
#define SCREEN_MAX_SIZE	1000

/* config.c: ~/.loopsy/config.yaml, every key of SPEC.md section 8. */
enum size_policy { SIZE_LATEST, SIZE_SMALLEST, SIZE_LARGEST };
struct strlist {
	char		**v;
	u_int		  n;
};
struct config_pair {
	char		*name;
	char		*value;
};
struct config {
	/* server */
	char		*server_host;
	u_int		 server_port;
	/* auth: apiKey is this machine's; allowedKeys maps peer -> key */
	char		*api_key;
	struct config_pair *allowed_keys;
	u_int		 nallowed_keys;
	/* relay */
	char		*relay_url;
	/* execution */
	struct strlist	 denylist;
	struct strlist	 allowlist;
	int		 allowlist_set;	/* allowlist given (even empty) */
	u_int		 max_concurrent;
	u_int		 exec_timeout;	/* seconds */
	u_int		 max_output;	/* bytes per stream */
	/* transfer */
	struct strlist	 allowed_paths;
	struct strlist	 denied_paths;
	u_int		 max_file_size;	/* bytes, 0 = no limit */
	/* rateLimits: per credential per minute, 0 = unlimited */
	u_int		 rate_execute;
	u_int		 rate_transfer;
	u_int		 rate_context;
	/* context: the store's limits, 0 = none */
	u_int		 context_max_entries;
	u_int		 context_max_bytes;	/* keys and values */
	/* sessions */
	u_int		 history_limit;
	u_int		 history_budget;
	char		*shell;		/* NULL: $SHELL, then /bin/sh */
	enum size_policy size_policy;
	/* keys */
	key_code	 prefix;
	struct binding	*bindings;	/* overrides from keys.bindings */
	u_int		 nbindings;
	/* status, discovery */
	int		 status;
	int		 discovery;
	/* phone: commands a phone may launch by name */
	struct config_pair *phone_commands;
	u_int		 nphone_commands;
};
extern struct config	 config;
void	 config_defaults(struct config *);
int	 config_load(const char *path, struct config *, char **cause);
void	 config_clear(struct config *);
char	*config_path(void);		/* loopsy_home() + /config.yaml */
char	*config_default_text(const char *api_key);

/* args.c: tmux-style flags plus --long options. */
struct args_entry {
	char		 flag;		/* 0 for a long option */
	char		*name;		/* long option name */
	char		*value;		/* NULL for a flag without value */
};
struct args {
	struct args_entry *entries;
	u_int		 nentries;
	char		**argv;		/* positional arguments */
	int		 argc;
	int		 ended;		/* a "--" ended the options */
};
struct args	*args_parse(const char *flags, const char *longs, int argc,
		    char **argv, char **cause);
void		 args_free(struct args *);
int		 args_has(struct args *, char);
const char	*args_get(struct args *, char);		/* last value */
int		 args_has_long(struct args *, const char *);
const char	*args_get_long(struct args *, const char *);
long long	 args_number(struct args *, char, long long, long long,
		    long long, char **);
/* Iterate values of a repeated flag (-e A=1 -e B=2). */
const char	*args_next(struct args *, char, u_int *);

/* ratelimit.c: rateLimits per credential per minute (token buckets). */
enum rate_kind { RATE_NONE, RATE_EXECUTE, RATE_TRANSFER, RATE_CONTEXT };
int		 ratelimit_take(const char *, enum rate_kind, u_int *);
u_int		 ratelimit_limit(enum rate_kind);
const char	*ratelimit_name(enum rate_kind);
void		 ratelimit_free(void);

/* audit.c: logs/audit.jsonl, one line per command; names only, no values. */
extern size_t	 audit_max_size;
void		 audit_log(const char *actor, const char *op,
		     const char *target, const char *result,
		     uint64_t duration_ms, uint64_t bytes);

/* cmd.c: the command table. */
enum cmd_retval {
	CMD_OK,
	CMD_ERROR,	/* exit status 1; ctx->error set */
	CMD_USAGE,	/* exit status 2 */
	CMD_WAIT,	/* reply later through cmd_finish */
	CMD_ATTACH	/* the client is now attached */
};
struct cmd_def {
	const char	*name;
	const char	*alias;
	const char	*flags;		/* getopt-style: "ds:c:" */
	const char	*longs;		/* "json,timeout:" */
	int		 min_args;
	int		 max_args;	/* -1: no limit */
	const char	*usage;
	int		 start_server;	/* may start the server */
	int		 client;	/* runs in the client, no server */
	int		 client_words;	/* shown as two words: "context get" */
	enum rate_kind	 rate;		/* which rateLimits bucket */
	int		 local_only;	/* refused over a peer link */
	enum cmd_retval	(*run)(struct cmd_ctx *);
};
struct cmd_ctx {
	const struct cmd_def *def;
	struct args	*args;
	struct client	*c;		/* who asked (NULL: internal) */
	struct client	*attached;	/* a client bound to run in, if any */
	uint32_t	 id;		/* request id */
	char		*cwd;
	char		*env_loopsy;	/* $LOOPSY of the caller: inside a session */
	u_int		 tty_cols, tty_rows;
	int		 has_tty;
	struct buf	 out;
	int		 exit_status;
	char		*error_code;
	char		*error;
	char		*actor;		/* who: "local:UID", a peer, a phone */
	char		*audit_target;	/* what, for the audit log (no values) */
	uint64_t	 audit_bytes;
	uint64_t	 started_ms;
	int		 done;		/* replied: error_code says how */
	void		*wait;		/* cmd-wait.c state */
	TAILQ_ENTRY(cmd_ctx) entry;
};
extern const struct cmd_def *cmd_table[];
const struct cmd_def *cmd_find(const char *, char **cause);
int		 cmd_lookup(int, char **, const struct cmd_def **, char **);
char		*cmd_usage(const struct cmd_def *);
struct cmd_ctx	*cmd_ctx_new(const struct cmd_def *, struct args *,
		    struct client *);
void		 cmd_ctx_free(struct cmd_ctx *);
/* Parse and run argv for a client (c may be NULL for bindings/internal). */
enum cmd_retval	 cmd_run_argv(struct client *, struct client *, uint32_t,
		    int, char **, const char *, struct cmd_ctx **);
/* Run a command line ("rename-session foo") from a binding or prompt. */
void		 cmd_run_string(struct client *, const char *);
int		 cmd_rate_take(struct cmd_ctx *, enum rate_kind);
void		 cmd_error(struct cmd_ctx *, const char *code, const char *,
		    ...) __printflike(3, 4);
void		 cmd_print(struct cmd_ctx *, const char *, ...)
		    __printflike(2, 3);
void		 cmd_stream(struct cmd_ctx *, int, const void *, size_t);
void		 cmd_finish(struct cmd_ctx *, enum cmd_retval);
struct session	*cmd_find_session(struct cmd_ctx *, const char *, int);
struct client	*cmd_current_client(struct cmd_ctx *);
int		 cmd_split(const char *, int *, char ***, char **cause);
struct cJSON	*cmd_session_json(struct session *);
void		 cmd_print_json(struct cmd_ctx *, struct cJSON *);
struct session	*cmd_find_live_session(struct cmd_ctx *, const char *);
void		 cmd_wait_session_ended(struct session *);
void		 cmd_wait_session_destroyed(struct session *);
void		 cmd_wait_output(struct session *);
void		 cmd_wait_cancel(struct cmd_ctx *);
struct cmd_wait;
struct cmd_wait	*cmd_wait_add(struct cmd_ctx *, struct session *, int, double);
void		 cmd_wait_set_done(struct cmd_wait *, void (*)(struct cmd_wait *));
struct cmd_ctx	*cmd_wait_ctx(struct cmd_wait *);
struct session	*cmd_wait_session(struct cmd_wait *);
void		 cmd_wait_finish(struct cmd_wait *, enum cmd_retval);

/* session.c */
struct session_waiter;
struct session {
	u_int		 id;
	char		*name;
	int		 fd;		/* PTY master, -1 once closed */
	pid_t		 pid;
	struct event	*ev_read;
	struct event	*ev_write;
	struct evbuffer	*to_pty;	/* input not yet written */
	struct screen	*screen;
	char		*cwd;
	char		*command;	/* what was started, for ls */
	time_t		 created;
	uint64_t	 activity_ms;	/* last output */
	uint64_t	 input_ms;	/* last input */
	int		 dead;		/* the program exited */
	int		 status;	/* its wait status */
	uint64_t	 bytes_read;
	uint64_t	 bytes_written;
	struct client	*latest;	/* sizes the session (SIZE_LATEST) */
	u_int		 manual_cols;	/* resize-window, 0 = follow clients */
	u_int		 manual_rows;
	u_int		 references;
	/* Where remote clients that went away were in the history, by the
	 * token they reattach with (attach --resume): what they missed. */
	struct {
		char		*token;
		char		*actor;	/* only its owner may use it */
		uint64_t	 pos;
	}		 resumes[8];
	u_int		 next_resume;
	TAILQ_ENTRY(session) entry;
};
TAILQ_HEAD(sessions, session);
extern struct sessions	 sessions;
struct session	*session_create(const char *name, int argc, char **argv,
		    const char *cwd, char **env, u_int nenv, u_int cols,
		    u_int rows, char **cause);
void		 session_destroy(struct session *);
struct session	*session_find(const char *);
struct session	*session_find_id(u_int);
int		 session_check_name(const char *, char **);
void		 session_rename(struct session *, const char *);
void		 session_write(struct session *, const void *, size_t);
void		 session_resize(struct session *, u_int, u_int);
void		 session_update_size(struct session *);
u_int		 session_count_clients(struct session *);
struct session	*session_next(struct session *);
struct session	*session_previous(struct session *);
struct session	*session_most_recent(void);
void		 session_child_exited(pid_t, int);
u_int		 session_count(void);
char		*session_status_string(struct session *);
void		 session_add_references(struct session *);
void		 session_remove_reference(struct session *);

/* server-client.c */
#define CLIENT_HELLO	0x01
#define CLIENT_ATTACHED	0x02
#define CLIENT_READONLY	0x04
#define CLIENT_DEAD	0x08
#define CLIENT_PREFIX	0x10	/* prefix pressed, waiting for the key */
#define CLIENT_TERMINAL	0x20	/* has a terminal: may attach */
#define CLIENT_REMOTE	0x40	/* over a peer link (listen.c) */
struct mode;
struct client {
	u_int		 id;
	int		 fd;
	uid_t		 uid;
	pid_t		 pid;
	int		 flags;
	struct bufferevent *bev;
	struct session	*session;
	struct session	*last_session;
	u_int		 cols;		/* the client's terminal */
	u_int		 rows;
	struct render	*render;
	int		 dirty;		/* something to draw */
	uint64_t	 drawn_gen;	/* session gen last drawn */
	struct mode	*mode;		/* chooser, scrollback, prompt */
	char		*message;	/* shown on the status line */
	struct event	*message_timer;
	struct event	*status_timer;
	uint64_t	 activity_ms;	/* last input, for SIZE_LATEST */
	uint64_t	 attached_ms;
	uint64_t	 frames_sent;
	uint64_t	 frames_skipped;
	uint64_t	 frames_paced;	/* held back while output streams */
	uint64_t	 frame_us;	/* when the last frame was sent */
	uint64_t	 frame_bytes;	/* session bytes_read at that frame */
	struct event	*frame_timer;
	uint64_t	 bytes_out;
	struct buf	 frame;		/* scratch for rendering */
	struct cmd_ctx	*pending;	/* a waiting command, if any */
	struct server_tty *tty;		/* the terminal, if passed to us */
	struct event	*ev_read;
	struct evbuffer	*in;		/* bytes read, not yet a frame */
	int		 fds[4];	/* passed descriptors not yet used */
	u_int		 nfds;
	char		*env_loopsy;	/* $LOOPSY of the caller */
	struct transfer	*transfer;	/* transfer.c: files in flight */
	char		*actor;		/* remote: the key's actor */
	char		*addr;		/* remote: where from */
	char		*resume;	/* its token for reattaching */
	int		 scrollback;	/* keeps its own (web terminals) */
	u_int		 history;	/* lines wanted on a fresh attach */
	uint64_t	 hist_pos;	/* history lines it has seen */
	struct tty_keys	*input;		/* MSG_INPUT's parser, once used */
	struct event	*input_timer;	/* a lone ESC is Escape after it */
	TAILQ_ENTRY(client) entry;
};
TAILQ_HEAD(clients, client);
extern struct clients	 clients;
void	 server_client_accept(int);
void	 server_client_accept_remote(int, const char *, const char *);
void	 server_client_lost(struct client *);
void	 server_client_attach(struct client *, struct session *);
void	 server_client_detach(struct client *, const char *reason);
void	 server_client_switch(struct client *, struct session *);
void	 server_client_redraw(struct client *);	 /* full redraw next */
void	 server_client_schedule(struct client *); /* draw when possible */
void	 server_client_message(struct client *, const char *, ...)
	     __printflike(2, 3);
void	 server_client_reply(struct client *, struct cmd_ctx *,
	     enum cmd_retval);
void	 server_client_send_output(struct client *, const void *, size_t);
void	 server_client_drained(struct client *);
void	 server_client_stream(struct client *, int, const void *, size_t);
size_t	 server_client_queued(struct client *);
void	 server_client_input_key(struct client *, key_code);
struct tty_event;
void	 server_client_input_event(const struct tty_event *, void *);
void	 server_client_input_paste(struct client *, const char *, size_t);
void	 server_client_input_mouse(struct client *, u_int, u_int, int, int,
	     int);
void	 server_client_input_focus(struct client *, int);

/* server-tty.c */
struct server_tty;
int	 server_tty_open(struct client *, int, int, char **);
void	 server_tty_close(struct client *);
void	 server_tty_reading(struct client *, int);
void	 server_tty_write(struct client *, const void *, size_t);
size_t	 server_tty_queued(struct client *);
u_int	 server_client_pane_rows(struct client *);
void	 server_session_changed(struct session *);
void	 server_sessions_changed(void);
void	 server_session_ended(struct session *);
void	 server_clipboard(struct session *, const char *);
void	 server_title(struct session *);
void	 server_bell(struct session *);

/* server.c */
int	 server_start(const char *socket_path, int foreground, int ready_fd,
	     int first_fd, char **cause);
void	 server_shutdown(const char *why);
void	 server_check_exit(void);
int	 server_is_exiting(void);
extern int	 server_exit_when_empty;
extern time_t	 server_started;
extern uint64_t	 server_stats_frames_sent, server_stats_frames_skipped;

/* keys.c: bindings in the prefix table. */
struct binding {
	key_code	 key;
	char		*command;
};
void	 keys_init(void);
void	 keys_free(void);
const char *keys_lookup(key_code);
void	 keys_unset(key_code);
void	 keys_list(struct buf *);
void	 keys_handle(struct client *, key_code);

/* status.c */
void	 status_render(struct client *, struct cell *, u_int cols);

/* format.c: #{name} expansion for -F and display-message. */
char	*format_expand(const char *, struct session *, struct client *);

/* modes: each takes over an attached client's view until it exits. */
struct mode_def {
	const char	*name;
	void		(*key)(struct client *, key_code);
	void		(*draw)(struct client *, struct render *, u_int rows);
	void		(*free)(struct client *);
	void		(*resize)(struct client *);
	/* Optional: fill the status row; 0 to show the normal status line. */
	int		(*draw_status)(struct client *, struct cell *, u_int cols);
	/* Optional: where the cursor is in client coordinates; 0: hidden. */
	int		(*cursor)(struct client *, u_int *x, u_int *y);
	int		 watch_all;	/* redraw when any session changes */
};
struct mode {
	const struct mode_def *def;
	void		*data;
};
void	 mode_enter(struct client *, const struct mode_def *, void *);
void	 mode_exit(struct client *);
void	 mode_choose_enter(struct client *);
void	 mode_copy_enter(struct client *, int page_up);
void	 mode_view_enter(struct client *, const char *title, const char *,
	     size_t);
void	 prompt_enter(struct client *, const char *label, const char *initial,
	     const char *template);
void	 server_client_draw_pane(struct client *, u_int rows);

/* prompt.c: a one-line editor, also used by other modes (copy-mode search). */
enum prompt_result { PROMPT_EDITING, PROMPT_DONE, PROMPT_CANCEL };
struct prompt_line;
struct prompt_line *prompt_line_new(const char *label, const char *initial);
void	 prompt_line_free(struct prompt_line *);
enum prompt_result prompt_line_key(struct prompt_line *, key_code);
const char *prompt_line_text(struct prompt_line *);
u_int	 prompt_line_draw(struct prompt_line *, struct cell *, u_int cols);
u_int	 prompt_line_cursor(struct prompt_line *);

/* context.c: the key/value context store (SPEC.md section 3). */
#define CONTEXT_MAX_KEY		256		/* bytes */
#define CONTEXT_MAX_VALUE	(1024 * 1024)	/* bytes */
#define CONTEXT_MAX_ENTRIES	10000		/* context.maxEntries default */
#define CONTEXT_MAX_BYTES	(64 * 1024 * 1024) /* context.maxBytes default */
#define CONTEXT_MAX_TTL		(10 * 365 * 86400)	/* seconds */
struct context_entry {
	char		*key;
	char		*value;		/* NUL-terminated */
	size_t		 len;
	uint64_t	 created;	/* ms since the epoch */
	uint64_t	 updated;
	uint64_t	 expires;	/* 0: never */
};
int		 context_open(const char *, struct event_base *, char **);
void		 context_close(void);
int		 context_check(const char *, size_t, char **);
int		 context_set(const char *, const char *, size_t, u_int,
		     char **);
const struct context_entry *context_get(const char *);
int		 context_delete(const char *, char **);
const char	*context_unavailable(void);
u_int		 context_list(const char *, const struct context_entry ***);
u_int		 context_count(void);
void		 context_purge(void);
int		 context_save(char **);
uint64_t	 context_now(void);
void		 context_set_clock(uint64_t);
struct cJSON	*context_entry_to_json(const struct context_entry *, int);
int		 context_client_argv(const struct cmd_def *, int, char **,
		     char **);

/* msg.c: messages between agents over the context store. */
#define MSG_TTL		3600	/* seconds, inbox and outbox */
#define MSG_ACK_TTL	7200
const char	*msg_hostname(void);
int		 msg_is_self(const char *);
int		 msg_is_peer(const char *);
int		 msg_check_host(struct cmd_ctx *, const char *);
const char	*msg_sender(struct cmd_ctx *);
int		 msg_args_finish(const struct cmd_def *, struct args *, int,
		    char **);
int		 msg_args_tail(struct cmd_ctx *, int);

/* transfer */
/* policy-path.c: transfer.allowedPaths/deniedPaths after realpath. */
char	*policy_path_expand(const char *, const char *cwd);
char	*policy_path_normalize(const char *);
char	*policy_path_lexical(const char *, const char *cwd);
char	*policy_path_resolve(const char *, const char *cwd, char **cause);
int	 policy_path_under(const char *path, const char *dir);
int	 policy_path_check_lists(const char *resolved, const char *lexical,
	     const struct strlist *allowed, const struct strlist *denied,
	     char **cause);
char	*policy_path_check(const char *, const char *cwd, char **cause);
/* transfer.c: pushes and pulls through a client connection. */
struct transfer_file {
	const char	*path;		/* destination */
	const char	*name;		/* appended if path is a directory */
	const char	*key;		/* the source's identity, for resume */
	uint64_t	 size;
	mode_t		 mode;
	struct timespec	 mtime;		/* -M: to keep; tv_nsec UTIME_OMIT if not */
	int		 restart;	/* drop what an earlier try left */
	int		 noresume;	/* -N: unfinished, the part goes too */
	int		 local;		/* -F: copy the descriptor passed */
	const char	*source;	/* the source, resolved and allowed */
	uint64_t	 limit;		/* -l: copy no more now (0: all) */
	long long	 corrupt;	/* -X: test: flip this byte, or -1 */
};
int		 transfer_rate(struct cmd_ctx *);
enum cmd_retval	 transfer_put(struct cmd_ctx *, const struct transfer_file *);
void		 transfer_drop_descriptor(struct client *);
enum cmd_retval	 transfer_finish(struct cmd_ctx *, const char *sha256,
		     long long size);
enum cmd_retval	 transfer_status(struct cmd_ctx *, int wait_ms);
enum cmd_retval	 transfer_mkdir(struct cmd_ctx *, const char *, const char *,
		     mode_t, int);
enum cmd_retval	 transfer_get(struct cmd_ctx *, const char *, uint64_t);
void		 transfer_refused(struct cmd_ctx *, const char *, char *);
void		 transfer_data(struct client *, const char *, size_t);
void		 transfer_drained(struct client *);
void		 transfer_free(struct client *);
extern uint64_t	 transfer_rehashed;	/* bytes of parts read back to resume */

/* operating: identity, config commands, running the server. */
extern int	 server_lan;		/* start --lan: peers on 0.0.0.0 */
int		 server_reload_config(char **);	/* SIGHUP, config reload */
int		 cmd_key_generate_write(const char *, char **);
char		*cmd_enable_path(void);	/* the systemd unit or plist */
/* cmd-mcp-install.c: loopsy in each agent's MCP config, for doctor. */
#define MCP_NAGENTS	4		/* claude, codex, gemini, opencode */
enum mcp_reg { MCP_REG_ERROR = -1, MCP_REG_NOCONFIG, MCP_REG_ABSENT,
	MCP_REG_PRESENT };
const char	*mcp_agent_name(u_int);
char		*mcp_agent_path(u_int);
enum mcp_reg	 mcp_agent_registered(u_int, char **, char **);
/* operate.c: client-side commands asking the running server. */
extern char	*operate_socket;	/* -L/-S, set by client/main.c */
extern int	 operate_socket_given;	/* -L or -S was given */
extern const char *const loopsy_private_files[4];	/* cmd-init.c */
int		 operate_connect(const char *, char **);
int		 operate_server_live(void);
int		 operate_call(int, char **, struct buf *, char **);
int		 operate_check_mode(const char *, mode_t, char **);
int		 operate_take_line(struct buf *, struct cJSON **);

/* policy-exec.c: execution.denylist/allowlist on what will really run. */
struct policy_exec {
	const struct strlist *denylist;
	const struct strlist *allowlist;	/* NULL: no allowlist mode */
	const char	*path;		/* PATH to find names on */
	const char	*cwd;		/* for relative names */
};
#define POLICY_EXEC_OK		0
#define POLICY_EXEC_DENIED	-1
#define POLICY_EXEC_NOT_FOUND	-2
#define POLICY_EXEC_CANNOT_RUN	-3	/* a directory, a bad interpreter */
int		 policy_exec_check(const struct policy_exec *, int, char **,
		     char **, char **);
char		*policy_exec_resolve(const char *, const char *,
		     const char *);
int		 policy_exec_env_denied(const char *, size_t, int);
/* cmd-exec.c: children of exec, reaped by the server's SIGCHLD. */
int		 cmd_exec_child_exited(pid_t, int);
void		 cmd_exec_cancel(struct cmd_ctx *);
void		 cmd_exec_shutdown(void);
void		 cmd_exec_drained(struct client *);

/* listen.c: TLS + HTTP/1.1 + WebSocket for peers (SPEC.md section 5). */
struct ws;
struct hconn {
	struct bufferevent *bev;
	char		*addr;		/* the peer's address */
	http_parser	 parser;
	struct http_head head;		/* common/http.h; below point in it */
	const char	*url;
	int		 method;	/* enum http_method */
	const char	*auth;		/* Authorization */
	const char	*ws_key;
	const char	*ws_protocol;
	int		 ws_version;
	const char	*upgrade;
	const char	*content_type;
	int		 headers_done;
	int		 complete;	/* whole request read */
	int		 too_big;
	size_t		 body_max;	/* what this route may send */
	struct evbuffer	*body;
	/* Set by a route to take the body as it comes instead (return
	 * nonzero to fail the request). */
	int		(*body_cb)(struct hconn *, const char *, size_t);
	char		*actor;		/* who the key says it is */
	struct ws	*ws;		/* after the upgrade */
	int		 replied;
	int		 status;
	int		 close_after;
	int		 refuse_status;
	struct event	*delay;
	struct event	*deadline;	/* for TLS and the request head */
	struct event	*free_ev;
	int		 linked;	/* upgraded: counted as a link */
	int		 dead;
	int		 freeing;
	/* A route's own state (api.c): called when output drains, and
	 * when the connection goes. */
	void		*api;
	void		(*drained_cb)(struct hconn *);
	void		(*api_free)(struct hconn *);
	TAILQ_ENTRY(hconn) entry;
};
void		 listen_start(void);
void		 listen_stop(void);
void		 listen_stop_tls(void);
int		 listen_reload_tls(char **);	/* new cert/key files? */
void		 listen_shutdown(void);
const char	*listen_state(void);	/* "host:port" or "off: why" */
u_short		 listen_port(void);
char		*listen_key_actor(const char *);
void		 hconn_free(struct hconn *);
int		 http_authorize(struct hconn *);
void		 http_reply(struct hconn *, int, const char *, const char *,
		     size_t, const char *);
void		 http_reply_json(struct hconn *, int, struct cJSON *);
void		 http_reply_error(struct hconn *, int, const char *,
		     const char *, ...) __printflike(4, 5);
void		 http_close(struct hconn *);	/* now, without an answer */
/* api.c: the original Loopsy's /api/v1 routes; 0 if not one of them. */
int		 api_request(struct hconn *);
void		 api_headers(struct hconn *);	/* the head is in */
int		 api_refuse(struct hconn *, int, const char *);
/* pair.c: the /pair routes while loopsy pair waits; 0 if not one. */
int		 pair_request(struct hconn *);
/* pair.c: the key agreement of loopsy pair, both sides (see its comment). */
#define PAIR_CODE_LEN	6
#define PAIR_TRIES	3		/* wrong codes before the wait ends */
#define PAIR_TIMEOUT	300		/* seconds loopsy pair waits */
struct pair_kx;
struct pair_ids {
	const char	*fp_a;		/* the waiting side's certificate */
	const char	*fp_b;		/* the joining side's */
	const char	*name_a;	/* their hostnames */
	const char	*name_b;
};
struct pair_kx	*pair_kx_new(char **);
void		 pair_kx_free(struct pair_kx *);
const char	*pair_kx_public(struct pair_kx *);	/* hex */
int		 pair_kx_derive(struct pair_kx *, int waiter, const char *,
		     const struct pair_ids *, const char *code, char **);
const char	*pair_kx_sas(struct pair_kx *);		/* "123 456" */
char		*pair_kx_mac(struct pair_kx *, const char *label);
int		 pair_kx_mac_ok(struct pair_kx *, const char *, const char *);
char		*pair_kx_seal(struct pair_kx *, int waiter, const char *);
char		*pair_kx_open(struct pair_kx *, int from_waiter, const char *);
char		*pair_commit(const char *pub, const char *fp, const char *name);
int		 pair_code_parse(const char *, char [PAIR_CODE_LEN + 1]);
char		*pair_box_seal(struct pair_kx *, int waiter, const char *key);
char		*pair_box_key(const char *);
int		 pair_safe_name(const char *);
int		 pair_safe_fingerprint(const char *);
int		 pair_store(const char *name, const char *host, u_int port,
		     const char *key, const char *accept, const char *fp,
		     char **);
char		*pair_own_fingerprint(char **);
/* pair.c: the waiting side, driven by cmd-pair.c's pair-wait/pair-confirm. */
enum cmd_retval	 pair_wait(struct cmd_ctx *, const char *name, u_int timeout);
int		 pair_confirm(int yes, char **);
void		 pair_cancel(struct cmd_ctx *);

/* peers.c: peers.json, the machines this one knows. */
struct peer {
	char		*name;
	char		*host;
	u_int		 port;
	char		*key;		/* what we present to it */
	char		*accept;	/* what it presents to us, if paired */
	char		*fingerprint;	/* its certificate, pinned */
	char		*how;		/* "added", "paired" */
	uint64_t	 added_ms;
	uint64_t	 seen_ms;	/* last link that worked, 0 never */
};
struct peers {
	struct peer	*v;
	u_int		 n;
};
int		 peers_load(struct peers *, char **);
int		 peers_save(struct peers *, char **);
void		 peers_clear(struct peers *);
struct peer	*peers_find(struct peers *, const char *);
int		 peers_valid_name(const char *, char **);
char		*peers_accepts(const char *);	/* key -> peer name */
int		 peers_lock(char **);	/* flock'd fd; close to unlock */

/* relay-conf.c: the relay's URL, relay.json, its TLS check (SPEC.md 6). */
struct relay_url {
	int		 tls;		/* https */
	char		*host;
	u_int		 port;
	char		*base;		/* path prefix, no trailing slash */
	char		*text;		/* the URL, no trailing slash */
};
struct relay_conf {
	char		*url;
	char		*device_id;
	char		*device_secret;
	char		*fingerprint;	/* pinned, or NULL: the system's CAs */
	struct strlist	 pending_revokes; /* phones the relay must forget */
};
/* An HTTP answer from the relay, read with http-parser. */
struct relay_reply {
	http_parser	 parser;
	int		 status;
	int		 headers_done;
	int		 done;
	size_t		 head_bytes;
	char		*field;
	char		*value;
	char		*accept;	/* Sec-WebSocket-Accept */
	char		*protocol;	/* Sec-WebSocket-Protocol */
	int		 retry_after;
	struct buf	 body;
};
struct ssl_st;
char		*relay_b64u_encode(const uint8_t *, size_t);
int		 relay_b64u_decode(const char *, uint8_t *, size_t, size_t *);
int		 relay_b64u_decode_exact(const char *, uint8_t *, size_t);
int		 relay_valid_id(const char *, char);
int		 relay_valid_fingerprint(const char *);
#define RELAY_TEXT_MAX	512	/* bytes of a relay's message shown */
char		*relay_safe_text(const char *, size_t);
int		 relay_url_parse(const char *, struct relay_url *, char **);
void		 relay_url_free(struct relay_url *);
char		*relay_url_hostport(const struct relay_url *);
char		*relay_conf_path(void);
int		 relay_conf_load(struct relay_conf *, char **);
int		 relay_conf_save(const struct relay_conf *, char **);
void		 relay_conf_clear(struct relay_conf *);
int		 relay_conf_lock(char **);
int		 relay_conf_pending_revoke(const char *, int, char **);
void		 relay_reply_init(struct relay_reply *);
void		 relay_reply_free(struct relay_reply *);
ssize_t		 relay_reply_feed(struct relay_reply *, const char *, size_t);
void		 relay_reply_eof(struct relay_reply *);
char		*relay_reply_error(struct relay_reply *, char **);
int		 relay_tls_check(struct ssl_st *, const char *, const char *,
		     char **, char **);

/* relay-link.c: the one outbound WebSocket to the relay. */
#define RELAY_SUBPROTOCOL	"loopsy-relay.1"
typedef void	(*relay_reply_cb)(struct cJSON *, const char *, void *);
void		 relay_link_start(void);	/* (re)read relay.json */
void		 relay_link_stop(void);
int		 relay_link_connected(void);
int		 relay_link_configured(void);
const char	*relay_link_url(void);		/* NULL: not configured */
const char	*relay_link_state(void);	/* one line, for the user */
struct cJSON	*relay_link_json(void);
int		 relay_link_send_json(struct cJSON *);	/* frees it */
int		 relay_link_send_channel(uint32_t, const void *, size_t);
size_t		 relay_link_queued(void);
void		 relay_link_close_channel(uint32_t, u_int, const char *);
int		 relay_link_request(struct cJSON *, u_int, relay_reply_cb,
		     void *, char **);
void		 relay_link_cancel(void *);

/* cmd-launch.c: the agents launch knows; -1 if name is none of them. */
int		 cmd_launch_agent(const char *);

/* phone.c: this server's static key and the phones paired with it. */
#define PHONE_GRANT_AUTO	"auto-approve"
struct phone {
	char		*id;
	char		*label;
	uint8_t		 pub[32];
	time_t		 paired;
	struct strlist	 grants;
};
int		 phone_key_load(int, uint8_t [32], uint8_t [32], char **);
char		*phone_key_path(void);
int		 phone_load(const char *, struct phone *, char **);
int		 phone_save(const struct phone *, char **);
int		 phone_remove(const char *, char **);
void		 phone_clear(struct phone *);
int		 phone_list(struct phone **, u_int *, char **);
int		 phone_has_grant(const char *, const char *);
int		 phone_actor(const char *, char *, size_t);
int		 phone_valid_grant(const char *);
/* phone-channel.c: a phone's connection: Noise KK, then a client. */
void		 phone_channel_open(uint32_t, const char *);
void		 phone_channel_closed(uint32_t);
void		 phone_channel_pause(uint32_t, int);
void		 phone_channel_data(uint32_t, const uint8_t *, size_t);
void		 phone_channel_drained(void);
void		 phone_channel_drop_all(const char *);
u_int		 phone_channel_revoke(const char *);
u_int		 phone_channel_count(const char *);
/* phone-pair.c: links waiting for a phone (loopsy mobile pair). */
enum cmd_retval	 phone_pair_wait(struct cmd_ctx *, u_int);
void		 phone_pair_cancel(struct cmd_ctx *);
void		 phone_pair_redeem(struct cJSON *);
u_int		 phone_pair_pending(void);
void		 phone_pair_clear(void);

/* discovery.c: mDNS through avahi-daemon (loaded with dlopen when started). */
void		 discovery_start(u_short port, const char *fingerprint);
void		 discovery_stop(void);
const char	*discovery_state(void);	/* "on", or "off: <why>" */
struct cJSON	*discovery_list(void);	/* what is seen, ourselves too */

#endif
