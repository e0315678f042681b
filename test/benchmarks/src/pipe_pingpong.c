/* pipe_pingpong: one byte sent to a child process over a pipe and back. */
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

static int to_child[2], to_parent[2];

static void op(long n) {
	char c = 'x';
	for (long i = 0; i < n; i++) {
		if (write(to_child[1], &c, 1) != 1)
			die("write");
		if (read(to_parent[0], &c, 1) != 1)
			die("read");
	}
}

int main(int argc, char **argv) {
	if (pipe(to_child) != 0 || pipe(to_parent) != 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char c;
		close(to_child[1]);
		close(to_parent[0]);
		while (read(to_child[0], &c, 1) == 1)
			if (write(to_parent[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	int rc = bench_latency("pipe_pingpong", op, argc, argv);
	close(to_child[1]);
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("child");
	return rc;
}
