/*
 * client/client.h: the loopsy client: choosing the socket, starting the
 * server when a command needs one, sending one command and printing its
 * reply, and the attach loop that joins the terminal to a session.
 */
#ifndef CLIENT_CLIENT_H
#define CLIENT_CLIENT_H

struct event_base;
struct bufferevent;

/* main.c */
extern int	 client_verbose;

/* client.c */
char	*client_socket_path(const char *label, const char *path, char **cause);
int	 client_connect(const char *path);
int	 client_start_server(const char *path, char **cause);
struct cmd_def;
int	 client_open(const char *, const struct cmd_def *);
int	 client_run(const char *, const struct cmd_def *, int, char **);

/* remote.c: host: targets, over a link to a peer. */
extern int	 client_remote;		/* this client's server is a peer */
extern char	*remote_host;		/* attached over a link: the peer */
extern char	*remote_session;	/* and the session, to come back */
extern u_int	 remote_session_id;
extern char	*remote_token;		/* and who we were (attach resume) */
int	 remote_connect(const char *, char **);
char	*remote_route(const struct cmd_def *, int *, char ***);
int	 remote_msg_ack(const char *, const struct cmd_def *, int, char **);
int	 remote_msg_send(const char *, const struct cmd_def *, int, char **);

/* attach.c: returns the process exit status. */
int	 attach_loop(struct event_base *, struct bufferevent *);

#endif
