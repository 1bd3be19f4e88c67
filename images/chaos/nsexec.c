/*
 * nsexec: faultline's stand-in for Chaos Mesh's nsexec (a Rust program
 * upstream, released only as a binary). chaos-daemon runs every command it
 * sends into a target container through it (pkg/bpm):
 *
 *   nsexec [-l] [-m PATH] [-i PATH] [-n PATH] [-p PATH] [-u PATH] -- CMD [ARG]...
 *
 * It opens every namespace file first, joins them (the mount namespace
 * last, since joining it changes what the other paths mean), then forks so
 * that a joined pid namespace applies to the child, which runs CMD. The
 * parent relays the usual termination and job-control signals to the
 * child and exits with the child's status (128+signal if it was killed).
 * With -l, CMD is opened before any namespace is joined, in the caller's
 * mount namespace, and run from that file descriptor (fexecve).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static pid_t child;

static void relay(int sig) {
	if (child > 0)
		kill(child, sig);
}

static void usage(void) {
	fprintf(stderr, "usage: nsexec [-l] [-m|-i|-n|-p|-u PATH]... -- CMD [ARG]...\n");
	exit(125);
}

int main(int argc, char *argv[]) {
	int fds[8], types[8], n = 0, mnt = -1, local = 0, i = 1;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		int type;
		if (strcmp(a, "-l") == 0) {
			local = 1;
			continue;
		}
		if (a[0] != '-' || a[1] == 0 || a[2] != 0 || i + 1 >= argc)
			usage();
		switch (a[1]) {
		case 'm': type = CLONE_NEWNS; break;
		case 'i': type = CLONE_NEWIPC; break;
		case 'n': type = CLONE_NEWNET; break;
		case 'p': type = CLONE_NEWPID; break;
		case 'u': type = CLONE_NEWUTS; break;
		default: usage();
		}
		if (n == 8)
			usage();
		int fd = open(argv[++i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "nsexec: open %s: %s\n", argv[i], strerror(errno));
			return 125;
		}
		if (type == CLONE_NEWNS)
			mnt = fd;
		else {
			fds[n] = fd;
			types[n++] = type;
		}
	}
	if (i + 1 >= argc)
		usage();
	char **cmd = &argv[i + 1];

	int exe = -1;
	if (local) {
		exe = open(cmd[0], O_RDONLY); /* no O_CLOEXEC: scripts need it */
		if (exe < 0) {
			fprintf(stderr, "nsexec: open %s: %s\n", cmd[0], strerror(errno));
			return 127;
		}
	}
	for (int k = 0; k < n; k++) {
		if (setns(fds[k], types[k]) < 0) {
			fprintf(stderr, "nsexec: setns %d: %s\n", types[k], strerror(errno));
			return 125;
		}
		close(fds[k]);
	}
	if (mnt >= 0) {
		if (setns(mnt, CLONE_NEWNS) < 0) {
			fprintf(stderr, "nsexec: setns mnt: %s\n", strerror(errno));
			return 125;
		}
		close(mnt);
	}

	int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT};
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = relay;
	sa.sa_flags = SA_RESTART;
	for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
		sigaction(sigs[k], &sa, NULL);

	child = fork();
	if (child < 0) {
		fprintf(stderr, "nsexec: fork: %s\n", strerror(errno));
		return 125;
	}
	if (child == 0) {
		sa.sa_handler = SIG_DFL;
		for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
			sigaction(sigs[k], &sa, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (exe >= 0)
			fexecve(exe, cmd, environ);
		else
			execvp(cmd[0], cmd);
		fprintf(stderr, "nsexec: exec %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	if (exe >= 0)
		close(exe);
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "nsexec: wait: %s\n", strerror(errno));
			return 125;
		}
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
