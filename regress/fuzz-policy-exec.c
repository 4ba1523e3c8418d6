/*
 * regress/fuzz-policy-exec.c: a libFuzzer target for the execution policy's
 * shell-string checker, the parser most exposed to callers (peers, agents,
 * phones): each input is run as "sh -c INPUT" and "bash -c INPUT" under the
 * denylist and under an allowlist.  Not part of make check:
 *
 *	make fuzz			# builds regress/fuzz-policy-exec (clang)
 *	regress/fuzz-policy-exec -max_total_time=300 -max_len=4096 DIR
 *
 * The checker is compiled with the fuzzer's coverage and ASan/UBSan; the
 * rest comes from the libraries as built.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		*deny[] = { "rm", "rmdir", "dd", "shutdown" };
	static char		*allow[] = { "sh", "dash", "bash", "ls", "cat",
				    "env", "xargs", "find" };
	static struct strlist	 d = { deny, nitems(deny) };
	static struct strlist	 a = { allow, nitems(allow) };
	static const char	*shells[] = { "sh", "bash" };
	struct policy_exec	 p;
	char			*s, *argv[4], *file, *cause;
	u_int			 i, list;

	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	for (list = 0; list < 2; list++) {
		for (i = 0; i < nitems(shells); i++) {
			p.denylist = &d;
			p.allowlist = list ? &a : NULL;
			p.path = "/usr/bin:/bin";
			p.cwd = "/tmp";
			argv[0] = (char *)shells[i];
			argv[1] = "-c";
			argv[2] = s;
			argv[3] = NULL;
			file = cause = NULL;
			policy_exec_check(&p, 3, argv, &file, &cause);
			free(file);
			free(cause);
		}
	}
	free(s);
	return (0);
}
