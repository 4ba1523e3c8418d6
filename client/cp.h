/*
 * client/cp.h: "loopsy cp", a command that runs in the client and drives
 * the server's transfer-* commands over a connection of its own.
 */
#ifndef CLIENT_CP_H
#define CLIENT_CP_H

struct cmd_def;

/* The client-side commands (cp); NULL if name is not one of them. */
const struct cmd_def	*cp_lookup(const char *name);
/* Run one; returns the exit status. */
int			 cp_main(const char *socket, const struct cmd_def *,
			     int argc, char **argv);

#endif
