/* rampart-sim: the simulated board (sim.h, docs/sim.md). Thin: parse the
 * command line, then serve or send one control request. */
#include <stdio.h>
#include <string.h>

#include "base/num.h"
#include "sim.h"

#define ARGS_MAX 16

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rampart-sim serve [--dir DIR] [--seed N]\n"
		"       rampart-sim [--dir DIR] gpio get LINE\n"
		"       rampart-sim [--dir DIR] gpio set LINE 0|1\n"
		"       rampart-sim [--dir DIR] gpio watch LINE [--count N] [--timeout S]\n"
		"       rampart-sim [--dir DIR] scd30 set [--co2 PPM] [--temperature C] [--humidity RH]\n"
		"       rampart-sim [--dir DIR] scd30 get\n"
		"       rampart-sim [--dir DIR] pwm get CHANNEL\n"
		"       rampart-sim [--dir DIR] adc set CHANNEL RAW\n"
		"       rampart-sim [--dir DIR] uart send 0|1 TEXT\n"
		"       rampart-sim [--dir DIR] status\n\n"
		"The simulated board's devices: `serve` creates them in DIR (default\n"
		RP_SIM_DEFAULT_DIR ") and prints \"ready\"; the other commands drive\n"
		"them through DIR/control. See docs/sim.md.\n");
}

struct opt {
	const char *name, *value;
};

struct args {
	const char *pos[ARGS_MAX];
	size_t npos;
	struct opt opt[ARGS_MAX];
	size_t nopt;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
			const char *eq = strchr(argv[i], '=');

			if (a->nopt == ARGS_MAX)
				return -1;
			if (eq) {
				/* --name=value: keep the name apart. */
				argv[i][eq - argv[i]] = '\0';
				a->opt[a->nopt].name = argv[i] + 2;
				a->opt[a->nopt++].value = eq + 1;
				continue;
			}
			if (strcmp(argv[i], "--help") == 0) {
				a->opt[a->nopt++].name = "help";
				continue;
			}
			if (i + 1 >= argc) {
				fprintf(stderr, "rampart-sim: %s needs a value\n", argv[i]);
				return -1;
			}
			a->opt[a->nopt].name = argv[i] + 2;
			a->opt[a->nopt++].value = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0) {
			if (a->nopt == ARGS_MAX)
				return -1;
			a->opt[a->nopt++].name = "help";
		} else {
			if (a->npos == ARGS_MAX)
				return -1;
			a->pos[a->npos++] = argv[i];
		}
	}
	return 0;
}

/* Only names in allowed (space-separated, with spaces around) may appear,
 * each once. */
static int check_opts(const struct args *a, const char *allowed)
{
	size_t i, j;
	char key[40];

	for (i = 0; i < a->nopt; i++) {
		snprintf(key, sizeof(key), " %s ", a->opt[i].name);
		if (!strstr(allowed, key)) {
			fprintf(stderr, "rampart-sim: unknown option --%s here\n", a->opt[i].name);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(a->opt[i].name, a->opt[j].name) == 0) {
				fprintf(stderr, "rampart-sim: --%s given twice\n", a->opt[i].name);
				return -1;
			}
	}
	return 0;
}

static const char *opt(const struct args *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nopt; i++)
		if (strcmp(a->opt[i].name, name) == 0)
			return a->opt[i].value;
	return NULL;
}

static int num(const char *what, const char *s, uint64_t max, uint64_t *v)
{
	if (rp_parse_u64z(s, max, v)) {
		fprintf(stderr, "rampart-sim: %s must be a number 0..%llu\n", what,
			(unsigned long long)max);
		return -1;
	}
	return 0;
}

/* A value for the control line: no spaces or control characters. */
static int word(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return -1;
	return i && i <= 32 ? 0 : -1;
}

static int cmd_scd30_set(const struct args *a, const char *dir)
{
	static const char *const names[] = { "co2", "temperature", "humidity" };
	char line[256];
	size_t i, n;
	int any = 0;

	n = (size_t)snprintf(line, sizeof(line), "scd30 set");
	for (i = 0; i < 3; i++) {
		const char *v = opt(a, names[i]);

		if (!v)
			continue;
		if (word(v)) {
			fprintf(stderr, "rampart-sim: --%s: not a number\n", names[i]);
			return 2;
		}
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s=%s", names[i], v);
		any = 1;
	}
	if (!any) {
		fprintf(stderr, "rampart-sim: scd30 set: give --co2, --temperature or --humidity\n");
		return 2;
	}
	return rp_sim_request(dir, line);
}

static int cmd_uart_send(const char *dir, const char *port, const char *text)
{
	char line[64 + 2 * 480];
	size_t n, i, len = strlen(text);
	uint64_t u;

	if (num("the UART", port, 1, &u))
		return 2;
	if (len == 0 || len > 480) {
		fprintf(stderr, "rampart-sim: uart send: TEXT must be 1..480 bytes\n");
		return 2;
	}
	n = (size_t)snprintf(line, sizeof(line), "uart send %u ", (unsigned)u);
	for (i = 0; i < len; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%02x", (unsigned char)text[i]);
	return rp_sim_request(dir, line);
}

int main(int argc, char **argv)
{
	struct args a = { .npos = 0 };
	const char *dir, *cmd, *sub;
	char line[128];
	uint64_t v, w;

	if (parse_args(argc, argv, &a)) {
		usage(stderr);
		return 2;
	}
	if (opt(&a, "help") || a.nopt + a.npos == 0) {
		usage(a.npos ? stdout : stderr);
		return a.npos ? 0 : 2;
	}
	dir = opt(&a, "dir") ? opt(&a, "dir") : RP_SIM_DEFAULT_DIR;
	if (!dir[0]) {
		fprintf(stderr, "rampart-sim: --dir is empty\n");
		return 2;
	}
	if (a.npos == 0) {
		usage(stderr);
		return 2;
	}
	cmd = a.pos[0];
	sub = a.npos > 1 ? a.pos[1] : "";
	if (strcmp(cmd, "serve") == 0 && a.npos == 1) {
		if (check_opts(&a, " dir seed "))
			return 2;
		v = 1;
		if (opt(&a, "seed") && num("--seed", opt(&a, "seed"), UINT64_MAX, &v))
			return 2;
		return rp_sim_serve(dir, v);
	}
	if (strcmp(cmd, "gpio") == 0 && strcmp(sub, "watch") == 0 && a.npos == 3) {
		uint64_t count = 0, tmo = 0;

		if (check_opts(&a, " dir count timeout ") ||
		    num("LINE", a.pos[2], RP_SIM_GPIO_LINES - 1, &v) ||
		    (opt(&a, "count") && num("--count", opt(&a, "count"), 1000000, &count)) ||
		    (opt(&a, "timeout") && num("--timeout", opt(&a, "timeout"), 86400, &tmo)))
			return 2;
		return rp_sim_watch(dir, (unsigned)v, (unsigned)count, (unsigned)tmo);
	}
	if (strcmp(cmd, "scd30") == 0 && strcmp(sub, "set") == 0 && a.npos == 2) {
		if (check_opts(&a, " dir co2 temperature humidity "))
			return 2;
		return cmd_scd30_set(&a, dir);
	}
	if (check_opts(&a, " dir "))
		return 2;
	if (strcmp(cmd, "gpio") == 0 && strcmp(sub, "get") == 0 && a.npos == 3) {
		if (num("LINE", a.pos[2], RP_SIM_GPIO_LINES - 1, &v))
			return 2;
		snprintf(line, sizeof(line), "gpio get %u", (unsigned)v);
		return rp_sim_request(dir, line);
	}
	if (strcmp(cmd, "gpio") == 0 && strcmp(sub, "set") == 0 && a.npos == 4) {
		if (num("LINE", a.pos[2], RP_SIM_GPIO_LINES - 1, &v) ||
		    num("the value", a.pos[3], 1, &w))
			return 2;
		snprintf(line, sizeof(line), "gpio set %u %u", (unsigned)v, (unsigned)w);
		return rp_sim_request(dir, line);
	}
	if (strcmp(cmd, "scd30") == 0 && strcmp(sub, "get") == 0 && a.npos == 2)
		return rp_sim_request(dir, "scd30 get");
	if (strcmp(cmd, "pwm") == 0 && strcmp(sub, "get") == 0 && a.npos == 3) {
		if (num("CHANNEL", a.pos[2], RP_SIM_PWM_CHANNELS - 1, &v))
			return 2;
		snprintf(line, sizeof(line), "pwm get %u", (unsigned)v);
		return rp_sim_request(dir, line);
	}
	if (strcmp(cmd, "adc") == 0 && strcmp(sub, "set") == 0 && a.npos == 4) {
		if (num("CHANNEL", a.pos[2], RP_SIM_ADC_CHANNELS - 1, &v) ||
		    num("RAW", a.pos[3], RP_SIM_ADC_MAX, &w))
			return 2;
		snprintf(line, sizeof(line), "adc set %u %u", (unsigned)v, (unsigned)w);
		return rp_sim_request(dir, line);
	}
	if (strcmp(cmd, "uart") == 0 && strcmp(sub, "send") == 0 && a.npos == 4)
		return cmd_uart_send(dir, a.pos[2], a.pos[3]);
	if (strcmp(cmd, "status") == 0 && a.npos == 1)
		return rp_sim_request(dir, "status");
	usage(stderr);
	return 2;
}
