/* libapplibs internals: the app-socket client and the peripheral handle
 * helpers shared by the applibs modules. Nothing here is app API.
 *
 * The public API is Azure Sphere's (the headers in applibs/): its names are not ours
 * to choose, so this library is the one place in Rampart that does not
 * prefix its exported names; internal helpers are rp_sdk_*. */
#ifndef RP_SDK_PRIV_H
#define RP_SDK_PRIV_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "periph/periph.h"

/* The app socket's default path and the variable that overrides it. */
#define RP_SDK_APP_SOCKET "/run/rampart/app.sock"
#define RP_SDK_APP_SOCKET_ENV "RAMPART_APP_SOCKET"
/* docs/formats/control-protocol.md: a line is at most 1024 bytes. */
#define RP_SDK_LINE_MAX 1024
/* How long a request waits for rampartd's reply. */
#define RP_SDK_REPLY_MS 15000
/* How long a peripheral operation waits for its reply. */
#define RP_SDK_PH_MS 10000

/* A bounded line reader for one app-socket connection: bytes read but not
 * yet returned, and the descriptor that came with them (SCM_RIGHTS). */
struct rp_sdk_lines {
	char buf[2 * RP_SDK_LINE_MAX];
	size_t len;
	int fd;        /* -1: none */
	size_t fd_end; /* buf offset just past the read that carried fd */
};

/* Connect to the app socket. Returns the descriptor (close-on-exec), or -1
 * with errno. */
int rp_sdk_connect(void);

/* Send req (compact JSON + '\n', at most RP_SDK_LINE_MAX) on s. 0 or -1
 * with errno. */
int rp_sdk_send(int s, json_t *req);

void rp_sdk_lines_init(struct rp_sdk_lines *l);
/* Release a pending descriptor. */
void rp_sdk_lines_reset(struct rp_sdk_lines *l);

/* Read from s until one whole line is buffered, waiting at most
 * timeout_ms (-1: forever; 0: only what is there). Returns 1 with the
 * parsed line in *msg (the caller decrefs) and its descriptor in *fd (-1
 * for none; the caller owns it), 0 when no whole line is there yet (only
 * with a finite timeout: errno ETIMEDOUT or EAGAIN), or -1 with errno
 * (ECONNRESET at end of stream, EPROTO for an over-long or malformed
 * line). */
int rp_sdk_lines_read(int s, struct rp_sdk_lines *l, int timeout_ms, json_t **msg,
		      int *fd);

/* If msg is an error reply ({"code":-N,...}), set errno from it and return
 * -1; else 0. */
int rp_sdk_reply_error(json_t *msg);

/* One request on a fresh connection: send req (borrowed), wait for the
 * reply that is not an "incoming" offer, set errno from an error reply.
 * Returns 0 with *reply (decref it) and *fd (-1 or a descriptor the caller
 * owns; fd may be NULL, then any descriptor is closed), or -1 with errno. */
int rp_sdk_call(json_t *req, json_t **reply, int *fd);

/* Open a peripheral: {"open":cap,"id":id, ...extra} (extra borrowed, may
 * be NULL). Returns the descriptor or -1 with errno. */
int rp_sdk_open(const char *cap, long long id, json_t *extra);

/* Whether s is a ComponentId: 8-4-4-4-12 hex digits. */
int rp_sdk_is_guid(const char *s);

/* Count SysEvent registration connections opened (+1) and closed (-1):
 * Rampart_Application_Listen refuses to open a connection younger than
 * one of them (rampartd offers channels on the app's oldest). */
void rp_sdk_sysevent_conns(int delta);

/* What a peripheral descriptor is. */
enum rp_sdk_kind { RP_SDK_SOCKET, RP_SDK_CHAR, RP_SDK_OTHER };

/* fstat fd: -1 with errno EBADF for a closed descriptor. */
int rp_sdk_kind(int fd, enum rp_sdk_kind *kind);

/* One rpph request on fd. Returns 0 with *rep (its data points into buf,
 * RP_PH_MSG_MAX bytes), or -1 with errno (the reply's status, or the
 * transport's). */
int rp_sdk_ph(int fd, const struct rp_ph_msg *req, struct rp_ph_msg *rep, uint8_t *buf);

/* Per-descriptor state the Azure API keeps implicitly (SPI chip select,
 * I2C default address), keyed by descriptor and inode so that a reused
 * descriptor number does not inherit it. */
int rp_sdk_state_set(int fd, int key, uint32_t value);
int rp_sdk_state_get(int fd, int key, uint32_t *value);
void rp_sdk_state_drop(int fd);
#define RP_SDK_STATE_SPI_CS 1
#define RP_SDK_STATE_SPI_CSHIGH 2

/* The event loop's internal registration: like EventLoop_RegisterIo, with
 * a destructor for ctx that runs when the registration goes (unregister or
 * EventLoop_Close). SysEvent uses it for its own connection. */
struct EventLoop;
struct EventRegistration;
typedef void rp_sdk_io_cb(struct EventLoop *el, int fd, uint32_t events, void *ctx);
struct EventRegistration *rp_sdk_loop_register(struct EventLoop *el, int fd,
					       uint32_t events, rp_sdk_io_cb *cb,
					       void *ctx, void (*dtor)(void *ctx));
/* Take the registration's descriptor out of the loop's set; the
 * registration itself stays until it is unregistered. */
void rp_sdk_loop_detach(struct EventRegistration *reg);
/* The loop a registration belongs to. */
struct EventLoop *rp_sdk_reg_loop(struct EventRegistration *reg);
/* The ctx of a registration made with rp_sdk_loop_register and dtor, or
 * NULL when reg was made with another dtor. */
void *rp_sdk_reg_ctx(struct EventRegistration *reg, void (*dtor)(void *ctx));

/* z__magicAndVersion of the versioned structs: a tag and the version, so
 * that a struct not initialised by its *_Init* function is refused. */
#define RP_SDK_MAGIC(tag, ver) (((uint32_t)(tag) << 16) | (uint32_t)(ver))
#define RP_SDK_SPI_CONFIG_V1 RP_SDK_MAGIC(0x5350, 1)   /* "SP" */
#define RP_SDK_SPI_TRANSFER_V1 RP_SDK_MAGIC(0x5354, 1) /* "ST" */
#define RP_SDK_UART_CONFIG_V1 RP_SDK_MAGIC(0x5541, 1)  /* "UA" */
#define RP_SDK_NET_IFACE_V1 RP_SDK_MAGIC(0x4e49, 1)    /* "NI" */

#endif
