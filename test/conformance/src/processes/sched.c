/* PR_SET_CHILD_SUBREAPER and the scheduling-parameter calls. */
#include "../check.h"
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

/* subreaper_child runs in a process that is not the init: it becomes a
 * subreaper, forks a child that forks a grandchild and exits, and reports
 * (exit code) whether the orphaned grandchild was reparented to it. */
static int subreaper_child(void) {
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return 10;
	int on = 0;
	if (prctl(PR_GET_CHILD_SUBREAPER, &on) != 0 || on != 1)
		return 11;
	int p[2];
	if (pipe(p) != 0)
		return 12;
	pid_t c = fork();
	if (c == 0) {
		pid_t me = getpid();
		if (fork() == 0) {
			/* Wait until our parent is gone, then report our new parent. */
			while (getppid() == me)
				usleep(1000);
			pid_t pp = getppid();
			write(p[1], &pp, sizeof pp);
			_exit(0);
		}
		_exit(0);
	}
	waitpid(c, NULL, 0);
	pid_t got = 0;
	if (read(p[0], &got, sizeof got) != sizeof got)
		return 13;
	if (got != getpid())
		return 14;
	/* The grandchild is ours to reap. */
	if (wait(NULL) <= 0)
		return 15;
	return 0;
}

int main(void) {
	pid_t m = fork();
	if (m == 0)
		_exit(subreaper_child());
	int st = 0;
	waitpid(m, &st, 0);
	CHECK(WIFEXITED(st), "the subreaper test process exits normally");
	CHECK_EQ(WEXITSTATUS(st), 0, "an orphan is reparented to its subreaper ancestor (status code)");

	CHECK_EQ(sched_getscheduler(0), SCHED_OTHER, "sched_getscheduler is SCHED_OTHER");
	struct sched_param sp = {.sched_priority = 7};
	CHECK_OK(sched_getparam(0, &sp), "sched_getparam succeeds");
	CHECK_EQ(sp.sched_priority, 0, "the priority of SCHED_OTHER is 0");
	CHECK_ERRNO(sched_getparam(-1, &sp), EINVAL, "sched_getparam of a negative pid is EINVAL");
	CHECK_ERRNO(sched_getparam(999999, &sp), ESRCH, "sched_getparam of a missing pid is ESRCH");
	CHECK_EQ(sched_get_priority_max(SCHED_FIFO), 99, "the maximum SCHED_FIFO priority is 99");
	CHECK_EQ(sched_get_priority_min(SCHED_RR), 1, "the minimum SCHED_RR priority is 1");
	CHECK_EQ(sched_get_priority_max(SCHED_OTHER), 0, "SCHED_OTHER has only priority 0");
	CHECK_ERRNO(sched_get_priority_max(42), EINVAL, "an unknown policy is EINVAL");
	sp.sched_priority = 0;
	CHECK_OK(sched_setscheduler(0, SCHED_OTHER, &sp), "sched_setscheduler SCHED_OTHER succeeds");
	sp.sched_priority = 5;
	CHECK_ERRNO(sched_setscheduler(0, SCHED_OTHER, &sp), EINVAL, "SCHED_OTHER with a non-zero priority is EINVAL");
	struct timespec ts;
	CHECK_OK(sched_rr_get_interval(0, &ts), "sched_rr_get_interval succeeds");
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	CHECK_OK(sched_setaffinity(0, sizeof set, &set), "sched_setaffinity to CPU 0 succeeds");
	CPU_ZERO(&set);
	CHECK_ERRNO(sched_setaffinity(0, sizeof set, &set), EINVAL, "an empty affinity mask is EINVAL");
	return check_done();
}
