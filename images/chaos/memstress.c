/*
 * memStress: faultline's stand-in for Chaos Mesh's memStress (a Go program
 * of its own repository, github.com/chaos-mesh/memStress, released only as
 * a binary and not on the Go module proxy). chaos-daemon runs it for a
 * StressChaos memory stressor (pkg/chaosdaemon/stress_server_linux.go,
 * ExecMemoryStressors), behind pause and nsexec, with the arguments the API
 * module's Stressors.Normalize makes of the stressor:
 *
 *   memStress --workers N [--size SIZE] [OPTION]...
 *
 * The options mean what upstream's flags mean (its main.go and util.go):
 *
 *   --size SIZE     the memory taken in all, split evenly between the
 *                   workers: bytes with an optional unit, decimal
 *                   (kB, MB, GB, TB, PB, EB; K, M, G... alike) or binary
 *                   (KiB, MiB, GiB...; Ki, Mi...), any case, as
 *                   go-humanize's ParseBytes reads them; or N% of the
 *                   memory the process may use (its memory cgroup's
 *                   limit, else the machine's MemTotal). Default 0.
 *   --time DUR      how long the workers take to reach their size,
 *                   growing linearly (Go durations: 500ms, 10s, 1m30s...);
 *                   0 (the default) touches everything at once.
 *   --workers N     how many worker processes share the size; a worker
 *                   that dies (the OOM killer) is started again a second
 *                   later, as upstream's are. Default 1.
 *   --client        upstream's flag for its own workers; accepted and
 *                   ignored.
 *
 * Flags are written -flag, --flag, -flag=value or --flag=value, as Go's
 * flag package reads them. Each worker maps its share anonymously and
 * writes to every page of it, then holds it until it is killed; the
 * parent holds on until SIGTERM or SIGINT (chaos-daemon's kill, relayed by
 * nsexec), kills its workers and exits 0. Bad arguments exit 2.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXWORKERS 8192

static void usage(const char *why) {
	fprintf(stderr, "memStress: %s\nusage: memStress [--workers N] [--size SIZE|N%%] [--time DURATION]\n", why);
	exit(2);
}

/* parse_bytes reads SIZE as go-humanize's ParseBytes does; -1 if bad. */
static double parse_bytes(const char *s) {
	char *end;
	errno = 0;
	double n = strtod(s, &end);
	if (end == s || errno != 0 || n < 0)
		return -1;
	while (*end == ' ')
		end++;
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{"", 1}, {"b", 1},
		{"k", 1e3}, {"kb", 1e3}, {"ki", 1024.0}, {"kib", 1024.0},
		{"m", 1e6}, {"mb", 1e6}, {"mi", 1048576.0}, {"mib", 1048576.0},
		{"g", 1e9}, {"gb", 1e9}, {"gi", 1073741824.0}, {"gib", 1073741824.0},
		{"t", 1e12}, {"tb", 1e12}, {"ti", 1099511627776.0}, {"tib", 1099511627776.0},
		{"p", 1e15}, {"pb", 1e15}, {"pi", 1125899906842624.0}, {"pib", 1125899906842624.0},
		{"e", 1e18}, {"eb", 1e18}, {"ei", 1152921504606846976.0}, {"eib", 1152921504606846976.0},
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcasecmp(end, units[i].unit) == 0)
			return n * units[i].mult;
	return -1;
}

/* parse_duration reads a Go duration (a sequence of numbers with units
 * ns, us, µs, ms, s, m, h; "0" alone) in seconds; -1 if bad. */
static double parse_duration(const char *s) {
	if (strcmp(s, "0") == 0)
		return 0;
	double total = 0;
	if (*s == 0)
		return -1;
	while (*s) {
		char *end;
		double n = strtod(s, &end);
		if (end == s || n < 0 || *end == 0)
			return -1;
		s = end;
		static const struct {
			const char *unit;
			double mult;
		} units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
		size_t k = 0;
		for (; k < sizeof units / sizeof units[0]; k++) {
			size_t l = strlen(units[k].unit);
			/* "m" must not take the m of "ms". */
			if (strncmp(s, units[k].unit, l) == 0 && !(l == 1 && s[0] == 'm' && s[1] == 's'))
				break;
		}
		if (k == sizeof units / sizeof units[0])
			return -1;
		total += n * units[k].mult;
		s += strlen(units[k].unit);
	}
	return total;
}

/* read_u64 reads the first number of a file; 0 if there is none. */
static uint64_t read_u64(const char *path) {
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	unsigned long long v = 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* cgroup_limit is the memory limit of the process's own memory cgroup
 * (v2 memory.max, v1 memory.limit_in_bytes), looked up through
 * /proc/self/cgroup, else the limit at the cgroup mount's root; 0 when
 * there is none. */
static uint64_t cgroup_limit(void) {
	char v2[4096] = "", v1[4096] = "", line[4096], path[8300];
	FILE *f = fopen("/proc/self/cgroup", "r");
	if (f) {
		while (fgets(line, sizeof line, f)) {
			line[strcspn(line, "\n")] = 0;
			char *ctl = strchr(line, ':');
			char *p = ctl ? strchr(ctl + 1, ':') : NULL;
			if (!p)
				continue;
			*p++ = 0;
			ctl++;
			if (strncmp(line, "0", 2) == 0 && *ctl == 0)
				snprintf(v2, sizeof v2, "%s", p);
			else {
				for (char *c = strtok(ctl, ","); c; c = strtok(NULL, ","))
					if (strcmp(c, "memory") == 0)
						snprintf(v1, sizeof v1, "%s", p);
			}
		}
		fclose(f);
	}
	const uint64_t unlimited = 0x7FFFFFFFFFFFF000ULL;
	const char *tries[][2] = {
		{"/sys/fs/cgroup/memory", v1}, {"/sys/fs/cgroup/memory", ""},
	};
	/* v2: "max" reads as no number, so 0. */
	snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", v2);
	uint64_t l = v2[0] ? read_u64(path) : 0;
	if (l == 0)
		l = read_u64("/sys/fs/cgroup/memory.max");
	if (l > 0 && l < unlimited)
		return l;
	for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		snprintf(path, sizeof path, "%s%s/memory.limit_in_bytes", tries[i][0], tries[i][1]);
		l = read_u64(path);
		if (l > 0 && l < unlimited)
			return l;
	}
	return 0;
}

/* mem_total is MemTotal of /proc/meminfo in bytes; 0 if unknown. */
static uint64_t mem_total(void) {
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return 0;
	char line[256];
	unsigned long long kb = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* work maps size bytes and writes to each page, all at once or linearly
 * over grow seconds, then holds them until it is killed. */
static void work(size_t size, double grow, pid_t parent) {
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	long page = sysconf(_SC_PAGESIZE);
	size_t pages = (size + page - 1) / page;
	char *data = NULL;
	if (pages > 0) {
		data = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (data == MAP_FAILED) {
			fprintf(stderr, "memStress: mmap %zu bytes: %s\n", pages * page, strerror(errno));
			_exit(1);
		}
	}
	double start = now();
	size_t done = 0;
	while (done < pages) {
		size_t want = pages;
		if (grow > 0) {
			double f = (now() - start) / grow;
			want = f >= 1 ? pages : (size_t)(pages * f);
		}
		for (; done < want; done++)
			data[done * page] = 1;
		if (done < pages) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	for (;;)
		pause();
}

int main(int argc, char *argv[]) {
	const char *size_arg = "0", *time_arg = "0";
	long workers = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-')
			usage("unexpected argument");
		a += (a[1] == '-') ? 2 : 1;
		char name[32];
		const char *val = strchr(a, '=');
		size_t l = val ? (size_t)(val - a) : strlen(a);
		if (l == 0 || l >= sizeof name)
			usage("bad flag");
		memcpy(name, a, l);
		name[l] = 0;
		if (val)
			val++;
		if (strcmp(name, "client") == 0)
			continue;
		if (strcmp(name, "size") != 0 && strcmp(name, "time") != 0 && strcmp(name, "workers") != 0)
			usage("unknown flag");
		if (!val) {
			if (i + 1 >= argc)
				usage("flag needs a value");
			val = argv[++i];
		}
		if (strcmp(name, "size") == 0)
			size_arg = val;
		else if (strcmp(name, "time") == 0)
			time_arg = val;
		else {
			char *end;
			workers = strtol(val, &end, 10);
			if (*val == 0 || *end != 0 || workers < 1 || workers > MAXWORKERS)
				usage("--workers: a number from 1 to 8192");
		}
	}

	double total;
	size_t l = strlen(size_arg);
	if (l > 0 && size_arg[l - 1] == '%') {
		char *end;
		double pct = strtod(size_arg, &end);
		if (end != size_arg + l - 1 || pct < 0 || pct > 100)
			usage("--size: a percentage from 0 to 100");
		uint64_t mem = cgroup_limit();
		if (mem == 0)
			mem = mem_total();
		if (mem == 0)
			usage("--size: a percentage, and the memory available is unknown");
		total = mem / 100.0 * pct;
	} else if ((total = parse_bytes(size_arg)) < 0)
		usage("--size: bytes with a unit (256MiB, 1GB) or a percentage");
	double grow = parse_duration(time_arg);
	if (grow < 0)
		usage("--time: a duration (30s, 1m)");
	size_t share = (size_t)(total / workers);

	/* The parent takes TERM, INT and CHLD with sigtimedwait: blocked,
	 * they stay pending until it does. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid_t self = getpid();
	int stop = 0;

	pid_t *pids = calloc(workers, sizeof *pids);
	double *died = calloc(workers, sizeof *died);
	if (!pids || !died)
		return 1;
	for (;;) {
		double t = now();
		for (long w = 0; w < workers && !stop; w++) {
			if (pids[w] > 0 || t < died[w])
				continue;
			pid_t p = fork();
			if (p < 0) {
				fprintf(stderr, "memStress: fork: %s\n", strerror(errno));
				died[w] = t + 1;
				continue;
			}
			if (p == 0) {
				sigprocmask(SIG_SETMASK, &old, NULL);
				work(share, grow, self);
			}
			pids[w] = p;
		}
		if (stop)
			break;
		/* Wake on a signal, or each second to restart dead workers. */
		struct timespec wait = {1, 0};
		siginfo_t si;
		int sig = sigtimedwait(&block, &si, &wait);
		if (sig == SIGTERM || sig == SIGINT)
			stop = 1;
		pid_t p;
		int status;
		while ((p = waitpid(-1, &status, WNOHANG)) > 0)
			for (long w = 0; w < workers; w++)
				if (pids[w] == p) {
					pids[w] = 0;
					died[w] = now() + 1;
					if (WIFSIGNALED(status))
						fprintf(stderr, "memStress: worker %ld killed by signal %d, restarting in 1s\n", w, WTERMSIG(status));
					else
						fprintf(stderr, "memStress: worker %ld exited %d, restarting in 1s\n", w, WEXITSTATUS(status));
				}
		if (stop)
			break;
	}
	for (long w = 0; w < workers; w++)
		if (pids[w] > 0)
			kill(pids[w], SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}
