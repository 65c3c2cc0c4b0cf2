// SPDX-License-Identifier: GPL-2.0-only
/*
 * interp: the explorer's guest interpreter (issue 9 part 2).
 *
 *   interp [--step-timeout-ms N] [--list-caps] [--hang-at STEP] [FILE]
 *
 * Reads scenario lines from FILE (default /explore/scenarios.txt, "-" for
 * stdin; "#" comments and blank lines ignored) and prints one block per line
 * in the format of orchestrator/explore/README.md ("Observation format").
 * Every scenario runs in a fresh process tree bounded per step (default
 * 5000 ms) and in total.  The sysfs knobs scenarios need (shmem_enabled, an
 * mTHP size's enabled, ksm/run) are set once for a run of such scenarios and
 * put back when the input ends.  --list-caps prints what this machine offers
 * (`cap NAME ...` lines) and exits.  --hang-at STEP makes that step of every
 * scenario never return: it exists to test the bound.  The work is done in
 * lib/explore.h, which generated reproducers inline.
 */
#define _GNU_SOURCE
#include "explore.h"

static int usage(const char *prog, int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: %s [--step-timeout-ms N] [--list-caps] [--hang-at STEP] [FILE|-]\n", prog);
	return rc;
}

int main(int argc, char **argv)
{
	struct ex_opts o = { .step_ms = 5000, .hang_at = 0, .kmsg = -1 };
	const char *path = "/explore/scenarios.txt";
	char *line = NULL;
	size_t cap = 0;
	FILE *in;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--step-timeout-ms") && i + 1 < argc) {
			o.step_ms = (unsigned)strtoul(argv[++i], NULL, 10);
			if (!o.step_ms)
				return usage(argv[0], 2);
		} else if (!strcmp(argv[i], "--hang-at") && i + 1 < argc) {
			o.hang_at = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--list-caps")) {
			ex_list_caps();
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			return usage(argv[0], 0);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage(argv[0], 2);
		} else {
			path = argv[i];
		}
	}
	in = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!in) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], path, strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	o.kmsg = ex_kmsg_open();
	while (getline(&line, &cap, in) >= 0) {
		char *s = ex__trim(line);

		if (!*s || *s == '#')
			continue;
		ex_interp_line(s, &o);
	}
	free(line);
	ex_interp_end();
	return 0;
}
