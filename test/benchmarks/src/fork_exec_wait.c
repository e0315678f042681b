/* fork_exec_wait: fork, execve the static /bin/true, wait for it. */
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

static void op(long n) {
	char *argv[] = {"true", NULL};
	char *envp[] = {NULL};
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			execve("/bin/true", argv, envp);
			_exit(127);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die("/bin/true");
	}
}

int main(int argc, char **argv) { return bench_latency("fork_exec_wait", op, argc, argv); }
