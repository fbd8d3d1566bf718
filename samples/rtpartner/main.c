/* rtpartner: the partner of co2monitor.
 *
 * On Azure Sphere, a high-level app talks to a real-time app on an M4
 * core through Application_Connect. Rampart has no real-time cores: this
 * partner is an ordinary high-level app in its own compartment, and the
 * channel is a unix SEQPACKET socket that rampartd makes only when both
 * manifests list each other in AllowedApplicationConnections.
 *
 * co2monitor is the one that connects (Application_Connect). The applibs
 * API has no call for the receiving side (Azure's real-time apps use
 * mailboxes), so this app uses Rampart's addition, rampart/application.h:
 * Rampart_Application_Listen opens the connection on which rampartd offers
 * channels, and Rampart_Application_Accept takes each offer (the channel
 * and the asking app's ComponentId).
 *
 * Then it drives: every --Period seconds it sends the next command of a
 * short cycle (status, set_threshold --Threshold, measure_now, and a
 * set_threshold the monitor must refuse) and logs each reply. The
 * monitor decides: it validates, applies or refuses, and replies.
 *
 * CmdArgs: [--Period S] [--Threshold PPM] */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include <applibs/eventloop.h>
#include <applibs/log.h>
#include <rampart/application.h>

#include "../common/args.h"
#include "../common/timer.h"

enum ExitCode {
	ExitCode_Success = 0,
	ExitCode_TermHandler_SigTerm = 1,
	ExitCode_Init_Arguments = 2,
	ExitCode_Init_EventLoop = 3,
	ExitCode_Init_AppSocket = 4,
	ExitCode_Init_Timer = 5,
	ExitCode_AppSocket_Closed = 6,
	ExitCode_Main_EventLoopFail = 7,
};

/* One message on the channel, as co2monitor bounds it. */
#define MSG_MAX_BYTES 1024

static volatile sig_atomic_t exitCode = ExitCode_Success;
static unsigned int periodS = 5;
static unsigned int thresholdPpm = 1000;

static EventLoop *eventLoop = NULL;
static EventRegistration *listenReg = NULL;

static int channelFd = -1;
static EventRegistration *channelReg = NULL;
static struct sample_timer *commandTimer = NULL;
static unsigned int step = 0;
static unsigned int nextId = 1;

static void TerminationHandler(int signalNumber)
{
	(void)signalNumber;
	exitCode = ExitCode_TermHandler_SigTerm;
}

static void CloseChannel(void)
{
	if (channelReg)
		EventLoop_UnregisterIo(eventLoop, channelReg);
	channelReg = NULL;
	if (channelFd != -1)
		close(channelFd);
	channelFd = -1;
}

/* ---- the channel to co2monitor ------------------------------------------ */

static void ChannelEventHandler(EventLoop *el, int fd, EventLoop_IoEvents events, void *context)
{
	char buf[MSG_MAX_BYTES];
	json_error_t je;
	json_t *reply;
	char *text;
	ssize_t n;

	(void)el;
	(void)events;
	(void)context;
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		Log_Debug("rtpartner: the channel closed (%s); waiting for a new one.\n",
			  n == 0 ? "end of stream" : strerror(errno));
		CloseChannel();
		return;
	}
	if ((size_t)n > sizeof(buf)) {
		Log_Debug("rtpartner: ignored a reply of %zd bytes (too long).\n", n);
		return;
	}
	/* The other app's bytes: logged only once they parse as JSON, and
	 * then re-encoded (jansson escapes anything unprintable). */
	reply = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &je);
	if (!reply) {
		Log_Debug("rtpartner: ignored a reply that is not JSON (%zd bytes).\n", n);
		return;
	}
	text = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
	json_decref(reply);
	if (text)
		Log_Debug("rtpartner: reply %s\n", text);
	free(text);
}

static void SendCommand(json_t *cmd)
{
	char *text;
	size_t len;

	json_object_set_new(cmd, "id", json_integer(nextId++));
	text = json_dumps(cmd, JSON_COMPACT);
	json_decref(cmd);
	if (!text)
		return;
	len = strlen(text);
	if (send(channelFd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len) {
		Log_Debug("rtpartner: could not send %s: %s.\n", text, strerror(errno));
		CloseChannel();
	} else {
		Log_Debug("rtpartner: sent %s\n", text);
	}
	free(text);
}

static void CommandTimerEventHandler(struct sample_timer *timer, void *context)
{
	(void)timer;
	(void)context;
	if (channelFd == -1)
		return;
	switch (step++ % 4) {
	case 0: SendCommand(json_pack("{s:s}", "cmd", "status")); break;
	case 1: SendCommand(json_pack("{s:s, s:i}", "cmd", "set_threshold", "ppm", thresholdPpm));
		break;
	case 2: SendCommand(json_pack("{s:s}", "cmd", "measure_now")); break;
	/* Out of range: co2monitor must refuse it and keep its threshold. */
	default: SendCommand(json_pack("{s:s, s:i}", "cmd", "set_threshold", "ppm", 50)); break;
	}
}

/* ---- channels offered by rampartd ---------------------------------------- */

static void ListenEventHandler(EventLoop *el, int fd, EventLoop_IoEvents events, void *context)
{
	char from[RAMPART_COMPONENT_ID_SIZE];
	int ch;

	(void)el;
	(void)events;
	(void)context;
	/* Offers may be buffered: take them until none is pending. */
	for (;;) {
		ch = Rampart_Application_Accept(fd, from);
		if (ch < 0 && errno == EAGAIN)
			return;
		if (ch < 0 && errno == EPROTO) {
			Log_Debug("rtpartner: ignored a malformed offer from rampartd.\n");
			continue;
		}
		if (ch < 0) {
			Log_Debug("rtpartner: rampartd closed the app socket.\n");
			exitCode = ExitCode_AppSocket_Closed;
			return;
		}
		CloseChannel();
		channelFd = ch;
		channelReg = EventLoop_RegisterIo(eventLoop, channelFd, EventLoop_Input,
						  ChannelEventHandler, NULL);
		if (!channelReg) {
			Log_Debug("rtpartner: could not watch the channel: %s.\n", strerror(errno));
			CloseChannel();
		} else {
			Log_Debug("rtpartner: channel from %s.\n", from);
			step = 0;
		}
	}
}

static enum ExitCode ParseCommandLineArguments(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "Period", required_argument, NULL, 'p' },
		{ "Threshold", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (opt == 'p' && sample_parse_uint(optarg, 1, 3600, &periodS) == 0)
			continue;
		if (opt == 't' && sample_parse_uint(optarg, 1, 100000, &thresholdPpm) == 0)
			continue;
		Log_Debug("ERROR: usage: [--Period 1..3600] [--Threshold PPM].\n");
		return ExitCode_Init_Arguments;
	}
	if (optind != argc) {
		Log_Debug("ERROR: unexpected argument '%s'.\n", argv[optind]);
		return ExitCode_Init_Arguments;
	}
	return ExitCode_Success;
}

static enum ExitCode InitHandlers(int argc, char *argv[])
{
	struct sigaction action;
	enum ExitCode rc;

	memset(&action, 0, sizeof(action));
	action.sa_handler = TerminationHandler;
	sigaction(SIGTERM, &action, NULL);

	if ((rc = ParseCommandLineArguments(argc, argv)) != ExitCode_Success)
		return rc;
	eventLoop = EventLoop_Create();
	if (!eventLoop) {
		Log_Debug("ERROR: could not create the event loop: %s.\n", strerror(errno));
		return ExitCode_Init_EventLoop;
	}
	int listenFd = Rampart_Application_Listen();
	if (listenFd == -1) {
		Log_Debug("ERROR: could not reach rampartd's app socket: %s.\n", strerror(errno));
		return ExitCode_Init_AppSocket;
	}
	listenReg = EventLoop_RegisterIo(eventLoop, listenFd, EventLoop_Input,
					 ListenEventHandler, NULL);
	if (!listenReg)
		return ExitCode_Init_AppSocket;
	commandTimer = sample_timer_create(eventLoop, CommandTimerEventHandler, NULL);
	struct timespec period = sample_ms(periodS * 1000);
	if (!commandTimer || sample_timer_periodic(commandTimer, &period) != 0) {
		Log_Debug("ERROR: could not start the command timer: %s.\n", strerror(errno));
		return ExitCode_Init_Timer;
	}
	Log_Debug("rtpartner: waiting for co2monitor; a command every %u s.\n", periodS);
	return ExitCode_Success;
}

int main(int argc, char *argv[])
{
	exitCode = InitHandlers(argc, argv);

	while (exitCode == ExitCode_Success) {
		EventLoop_Run_Result result = EventLoop_Run(eventLoop, -1, true);

		if (result == EventLoop_Run_Failed && errno != EINTR)
			exitCode = ExitCode_Main_EventLoopFail;
	}

	CloseChannel();
	sample_timer_destroy(commandTimer);
	if (listenReg)
		EventLoop_UnregisterIo(eventLoop, listenReg);
	EventLoop_Close(eventLoop);
	Log_Debug("rtpartner: exiting with code %d.\n", (int)exitCode);
	return exitCode;
}
