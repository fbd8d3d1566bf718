/* rampartd's wiring: the daemon context and the functions each wiring
 * file offers the others. Logic that can be pure lives in lib/ (ctl,
 * store, format, sandbox, net); these files connect it to the event loop,
 * the state directory and the processes. docs/runtime.md describes the
 * state directory, the lifecycle and the control socket. */
#ifndef RPD_H
#define RPD_H

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/err.h"
#include "ctl/appreq.h"
#include "ctl/ctl.h"
#include "format/manifest.h"
#include "sandbox/sandbox.h"
#include "store/apps.h"
#include "store/logring.h"
#include "store/reports.h"

struct event_base;
struct rpd;
struct event;
struct rp_netpolicy;
struct rp_netguard;
struct rp_board;
struct rpd_ph;
struct rpd_update;

#define RPD_CLIENTS_MAX 16        /* control connections at once */
#define RPD_CHAN_CONNS_MAX 4      /* channel connections per app instance */

/* --- configuration (config.c) ------------------------------------------ */

struct rpd_config {
	char socket_group[64];        /* "" : root only (0600) */
	gid_t socket_gid;
	char production_trust_dir[PATH_MAX]; /* extra production keys, or "" */
	struct rp_sandbox_defaults defaults;
	uint64_t backoff_initial_ms;  /* 1000 */
	uint64_t backoff_max_ms;      /* 300000 */
	uint64_t backoff_reset_ms;    /* 60000: up this long resets backoff */
	uint64_t stop_grace_ms;       /* 5000 */
	uint32_t uid_base;            /* 200000 */
	uint32_t uid_count;           /* 10000 */
	uint64_t max_package_bytes;   /* 64 MiB */
	uint64_t log_bytes;           /* 64 KiB per app */
	uint32_t report_slots;        /* 1024 */
	char cgroup_parent[64];       /* "rampart" */
	char verify_helper[PATH_MAX]; /* rampart-verify, or "": search */
	uint64_t verify_timeout_ms;   /* 60000: then the helper is killed */
	char cloud_helper[PATH_MAX];  /* rampart-cloud, or "": search */
	uint64_t cloud_timeout_ms;    /* 120000: one cloud step, then killed */
	uint64_t checkin_interval_s;  /* 3600 */
	uint64_t checkin_jitter_pct;  /* 10: +-10% of the interval */
	/* Peripherals and system events (periph.c, sysevent.c). */
	char board[PATH_MAX];         /* hardware definition, or "": none */
	char board_root[PATH_MAX];    /* replaces /run/rampart-sim, or "" */
	int power_actions;            /* run ForceReboot & co (default 0) */
	uint64_t update_notice_ms;    /* 1000: apps' time to defer an update */
};

void rpd_config_init(struct rpd_config *c);
/* Read a strict JSON config file (docs/runtime.md); unknown keys refused. */
int rpd_config_load(struct rpd_config *c, const char *path,
		    struct rp_err *e) RP_WUR;

/* --- the verification helper (verify_client.c) ------------------------ */

/* What rampart-verify reported about a verified package. */
struct rpd_pkg {
	char type[16];                /* "application", ... */
	uint8_t component_id[16];
	uint8_t image_id[16];
	char version[33];
	uint32_t security_version;
	int production;               /* a valid signature by a production key */
};

struct rpd_image {
	struct rpd_pkg pkg;
	struct rp_manifest *manifest; /* NULL for non-application images */
	struct rp_buf manifest_text;  /* the verified manifest bytes */
};

/* Find rampart-verify: cfg.verify_helper, else next to rampartd, else
 * the compiled libexecdir. Fills d->verify_helper. */
int rpd_verify_find(struct rpd *d, struct rp_err *e) RP_WUR;
/* Verify pkg with the production keys (and the development keys when
 * dev) in the helper. *img is initialised here; rpd_image_free it. The
 * helper's error line is the message. */
int rpd_verify_image(struct rpd *d, const char *pkg, int dev,
		     struct rpd_image *img, struct rp_err *e) RP_WUR;
void rpd_image_free(struct rpd_image *img);
/* Verify pkg again and extract its payload into the empty dir dest. */
int rpd_verify_extract(struct rpd *d, const char *pkg, int dev,
		       const char *dest, struct rp_err *e) RP_WUR;
/* Load (or on first start generate) state/device.key; sets d->device_id. */
int rpd_verify_device_key(struct rpd *d, int *generated,
			  struct rp_err *e) RP_WUR;
/* Parse the public key in pem_path: its id and normalised PEM (*pem
 * initialised here, rp_buf_free). */
int rpd_verify_key_id(struct rpd *d, const char *pem_path, char kid_hex[65],
		      struct rp_buf *pem, struct rp_err *e) RP_WUR;

/* --- apps (supervisor.c) ---------------------------------------------- */

enum app_state {
	APP_STOPPED,   /* not running, not scheduled */
	APP_RUNNING,
	APP_STOPPING,  /* SIGTERM sent; SIGKILL after the grace period */
	APP_BACKOFF,   /* exited; restart scheduled */
	APP_CRASHED,   /* cannot be started (reason in last_error); retried
			  with backoff when the cause may pass */
};
const char *app_state_name(enum app_state s);

struct rpd;
struct app;

/* One channel connection from an app instance to rampartd. */
struct chan_conn {
	struct app *app;
	int fd;
	struct event *ev;
	struct rp_ctl_lines in;     /* line framing of what the app sends */
	unsigned events;            /* system events registered (RP_EV_*) */
	uint64_t seq;               /* accept order: the oldest gets offers */
};

/* One run of an app: exists from spawn until its exit is handled. */
struct inst {
	struct app *app;
	struct rp_sandbox_child child;
	struct event *ev_exit;      /* pidfd readable */
	struct event *ev_kill;      /* grace timer -> SIGKILL */
	int log_fd;                 /* read end of the stdout/stderr pipe */
	struct event *ev_log;
	struct rp_netguard *guard;
	struct event *ev_guard;     /* the guard's one pollable descriptor */
	int chan_fd;                /* listening app.sock */
	struct event *ev_chan;
	struct chan_conn conns[RPD_CHAN_CONNS_MAX];
	uint64_t conn_seq;          /* the next chan_conn.seq */
	char run_dir[PATH_MAX];
	char storage[PATH_MAX];     /* mounted MutableStorage, or "" */
	time_t started;             /* wall clock, for status */
	struct timespec started_mono;
	int planned;                /* the stop was asked for */
	struct rpd_ph *ph;          /* peripheral handles rampartd serves */
};

struct app {
	struct rpd *d;
	struct app *next;
	char id[37];
	uint8_t cid[16];
	char dir[PATH_MAX];         /* state/apps/<id> */
	/* From the verified package (loaded at start and after install). */
	struct rp_manifest *manifest;
	struct rpd_pkg hdr;
	int production;             /* verifies with a production key */
	struct rp_netpolicy *netpolicy; /* NULL without network capabilities */
	struct rp_app_state st;
	struct rp_logring log;
	enum app_state state;
	struct inst *cur;
	struct event *ev_restart;   /* backoff timer */
	uint64_t backoff_ms;
	uint32_t restarts;
	int deleting;               /* removed from the registry; freed on exit */
	int reload;                 /* re-read the package when the instance ends */
	int last_kind, last_status; /* rp_exit_kind, or 0 when it never ran */
	time_t last_exit;
	char last_error[RP_ERR_MSG_MAX];
	uint64_t spawns;            /* for unique run directories */
};

/* Load every installed app (after recovering interrupted installs). */
int rpd_apps_load(struct rpd *d, struct rp_err *e) RP_WUR;
/* Load one app from its directory (verify its package again). */
int rpd_app_load(struct rpd *d, const char *id, struct app **out,
		 struct rp_err *e) RP_WUR;
struct app *rpd_app_find(struct rpd *d, const uint8_t cid[16]);
void rpd_app_start(struct app *a);
/* Stop: SIGTERM now, SIGKILL after the grace period. planned: the stop
 * was asked for (an operator, an update, a delete, shutdown). */
void rpd_app_stop(struct app *a, int planned);
/* Remove from the registry and the disk; the process is stopped first
 * and the struct freed when it has exited. */
int rpd_app_delete(struct app *a, struct rp_err *e) RP_WUR;
/* A new version was installed in a->dir: restart on it. */
void rpd_app_reload(struct app *a);
void rpd_apps_stop_all(struct rpd *d);
int rpd_apps_running(const struct rpd *d);
json_t *rpd_app_json(const struct app *a, int detailed);
void rpd_app_free(struct app *a);

/* --- channels (broker.c) ---------------------------------------------- */

int rpd_chan_listen(struct inst *in, struct rp_err *e) RP_WUR;
void rpd_chan_close(struct inst *in);
/* Send o (reference stolen) as one line, with fd (-1: none). */
int rpd_chan_reply(struct chan_conn *c, json_t *o, int fd);

/* --- peripherals (periph.c) ------------------------------------------- */

/* Load cfg.board (nothing without one). */
int rpd_periph_init(struct rpd *d, struct rp_err *e) RP_WUR;
void rpd_periph_fini(struct rpd *d);
/* Install policy: each peripheral the manifest names exists on the board
 * (always 0 without a board). */
int rpd_periph_check_manifest(const struct rpd *d, const struct rp_manifest *m,
			      struct rp_err *e) RP_WUR;
/* An {"open":...} request: *fd is the handle for the app (caller closes
 * its copy after sending). Errors carry -errno codes. */
int rpd_periph_open(struct chan_conn *c, const struct rp_appreq *r, int *fd,
		    struct rp_err *e) RP_WUR;
/* The instance ends: close the handles rampartd serves for it. */
void rpd_periph_inst_end(struct inst *in);

/* --- system events, power, deferred updates (sysevent.c) -------------- */

#define RPD_REPLY_LATER 1
/* sysevent, power, deviceauth and storage requests; replies itself. */
void rpd_sysev_request(struct chan_conn *c, const struct rp_appreq *r);
/* sideload-deploy: stage the package and, unless an app registered for
 * UpdateReadyForInstall, install it (0, *out = the result). Otherwise
 * RPD_REPLY_LATER: the reply goes to client_fd (dup'ed) once decided. */
int rpd_update_deploy(struct rpd *d, int pkg_fd, int client_fd, json_t **out,
		      struct rp_err *e) RP_WUR;
/* A channel connection or an app instance ends. */
void rpd_sysev_conn_closed(struct chan_conn *c);
void rpd_update_inst_end(struct inst *in);
/* "update deferred until ..." for the app, or NULL. */
json_t *rpd_update_detail(const struct app *a);
void rpd_update_fini(struct rpd *d);

/* --- spawning (spawn.c / spawn_plain.c) -------------------------------- */

/* Start an app instance with spec; fills in->child. */
int rpd_spawn(struct rpd *d, const struct rp_sandbox_spec *s,
	      struct rp_sandbox_child *out, struct rp_err *e) RP_WUR;

/* --- device state (device.c) ------------------------------------------ */

enum dev_mode { MODE_CLOUD_TEST = 0, MODE_DEVELOPMENT = 1 };

int rpd_device_init(struct rpd *d, struct rp_err *e) RP_WUR;
int rpd_mode_set(struct rpd *d, enum dev_mode m, struct rp_err *e) RP_WUR;
int rpd_trust_add_dev(struct rpd *d, const char *pem, char kid_hex[65],
		      struct rp_err *e) RP_WUR;
int rpd_trust_clear_dev(struct rpd *d, struct rp_err *e) RP_WUR;
/* The *.pub files of dir (0 if it is missing). */
int rpd_count_keys(const char *dir);

/* --- installer (installer.c) ------------------------------------------ */

/* Copy, verify, stage and swap in the package open on fd. *out is the
 * installed (new or updated) app, already (re)started. */
int rpd_install(struct rpd *d, int fd, struct app **out,
		struct rp_err *e) RP_WUR;
/* The same in two steps: stage (copy, verify, policy, apps/.staging-<id>)
 * and commit (policy again, swap, (re)start). Discard frees what stage
 * made and removes the staging directory if it was not committed. */
struct rpd_staged {
	struct rpd_image img;
	struct rp_app_state st;
	uint64_t seq;
	int update;                   /* an installed version existed */
	char stage_dir[PATH_MAX];     /* "" once committed */
};
int rpd_install_stage(struct rpd *d, int fd, struct rpd_staged *s,
		      struct rp_err *e) RP_WUR;
int rpd_install_commit(struct rpd *d, struct rpd_staged *s, struct app **out,
		       struct rp_err *e) RP_WUR;
void rpd_install_discard(struct rpd_staged *s);
/* Finish or undo whatever an interrupted install left (at start). */
void rpd_install_recover(struct rpd *d);
/* Remove a directory tree (no symlink is followed). */
int rpd_rmtree(const char *path, struct rp_err *e) RP_WUR;
/* Remove leftovers of replaced and deleted apps (apps/.old-<id>-*; all
 * of them when id is NULL). */
void rpd_purge_old(struct rpd *d, const char *id);

/* --- the cloud client (cloud.c) --------------------------------------- */

struct rpd_cloud;

/* Find rampart-cloud, read cloud/status.json and schedule the first
 * check-in if the cloud is set up. A missing helper is logged, not fatal. */
int rpd_cloud_init(struct rpd *d, struct rp_err *e) RP_WUR;
/* Kill a running step, answer waiting clients, free. */
void rpd_cloud_stop(struct rpd *d);
/* cloud-setup and check-for-updates: RPD_REPLY_LATER (the reply goes to
 * a duplicate of client_fd when the step has ended), or an error. */
int rpd_cloud_setup(struct rpd *d, const struct rp_ctl_req *r, int fd,
		    struct rp_err *e) RP_WUR;
int rpd_cloud_check(struct rpd *d, int fd, struct rp_err *e) RP_WUR;
/* The status object (cloud-status). */
json_t *rpd_cloud_status(struct rpd *d);

/* --- control server (server.c) ---------------------------------------- */

struct client {
	struct rpd *d;
	int fd;
	struct event *ev;
};

int rpd_server_start(struct rpd *d, struct rp_err *e) RP_WUR;
void rpd_server_stop(struct rpd *d);

/* --- the daemon -------------------------------------------------------- */

struct rpd {
	struct rpd_config cfg;
	char state_dir[PATH_MAX];
	char socket_path[PATH_MAX];
	struct event_base *base;
	struct event *ev_sigterm, *ev_sigint, *ev_sighup;
	int listen_fd;
	struct event *ev_listen;
	struct client clients[RPD_CLIENTS_MAX];
	struct app *apps;           /* the registry */
	struct app *dying;          /* deleted apps whose process is ending */
	struct rp_reports reports;
	enum dev_mode mode;
	char device_id[65];
	char verify_helper[PATH_MAX]; /* rpd_verify_find */
	struct rpd_cloud *cloud;    /* cloud.c */
	int shutting_down;
	uint64_t install_seq;
	const char *crash_at;       /* RAMPARTD_CRASH_AT: a failure-injection
				       point of the installer, for tests */
	struct rp_board *board;     /* cfg.board, loaded; NULL without one */
	struct rpd_update *update;  /* a staged update waiting, or NULL */
};

/* Log a line to stderr as "rampartd: ...". */
void rpd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Join state_dir and a relative path; refuses truncation. */
int rpd_path(const struct rpd *d, char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5))) RP_WUR;
/* Record an error report (logged, never fatal). */
void rpd_report(struct rpd *d, const struct app *a, enum rp_event_type t,
		enum rp_exit_kind k, int status, const char *detail);
/* The failure-injection hook: kills rampartd at the named step. */
void rpd_crash_point(const struct rpd *d, const char *step);
/* The daemon shut down every app; leave the loop. */
void rpd_maybe_exit(struct rpd *d);

#endif
