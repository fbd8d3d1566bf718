/* rampart-sim: the simulated board's devices (docs/sim.md).
 *
 * `serve` makes, in one directory, everything boards/sim/sim.json names:
 * rpph sockets for the GPIO chip, the I2C bus (with an SCD30 at 0x61) and
 * a loopback SPI device; two pseudo-terminals; sysfs-like PWM and IIO
 * directories; and a control socket for tests and demos. One thread, one
 * libevent loop; every client is bounded. The control client (the other
 * subcommands) talks to that socket. */
#ifndef RP_SIM_H
#define RP_SIM_H

#include <stdint.h>

#define RP_SIM_DEFAULT_DIR "/run/rampart-sim"
#define RP_SIM_GPIO_LINES 16
#define RP_SIM_PWM_CHANNELS 2
#define RP_SIM_ADC_CHANNELS 4
#define RP_SIM_ADC_MAX 4095        /* 12-bit samples */
#define RP_SIM_CONNS_MAX 64        /* every client socket, all devices */
#define RP_SIM_CTL_LINE_MAX 1024   /* one control request line */
#define RP_SIM_UART_LOG 256        /* bytes of uart1 kept for status */

/* Serve until SIGTERM or SIGINT, then remove what was made. Returns the
 * process exit status (0 after a signal). */
int rp_sim_serve(const char *dir, uint64_t seed);

/* Control client: send one request line (without newline) to DIR/control,
 * print the answer's payload on stdout. Returns an exit status. */
int rp_sim_request(const char *dir, const char *line);

/* Control client for `gpio watch`: print "LINE VALUE" on each change,
 * stop after count changes (0: never) or timeout_s seconds (0: never). */
int rp_sim_watch(const char *dir, unsigned line, unsigned count,
		 unsigned timeout_s);

#endif
