/* co2monitor: a CO2 monitor built like an Azure Sphere high-level app.
 *
 * - Reads CO2, temperature and humidity from a Sensirion SCD30 at 0x61 on
 *   the board's sensor I2C bus (SAMPLE_CO2_SENSOR_I2C): start continuous
 *   measurement, poll "data ready", read the measurement, check every CRC.
 * - Publishes each measurement as JSON telemetry over MQTT (libmosquitto)
 *   to the broker its CmdArgs name; the manifest's AllowedConnections must
 *   list it, or the runtime refuses the connection.
 * - Lights SAMPLE_CO2_ALARM_LED while CO2 is above the threshold.
 * - Keeps its settings (threshold, interval, last sequence number) in its
 *   mutable storage and restores them at start.
 * - Defers an update (SysEvent) while a measurement is in progress or the
 *   alarm is on, and lets it proceed once both are over.
 * - Connects to its partner app (rtpartner) with Application_Connect: the
 *   partner sends commands, this app validates them, applies or refuses
 *   them, and replies.
 * - Arms a watchdog (a POSIX timer raising SIGALRM) and extends it on each
 *   turn of the event loop: if the loop ever hangs, the default action of
 *   SIGALRM ends the app and the runtime restarts it.
 *
 * CmdArgs: --Hostname HOST [--Port N] [--Topic T] [--Partner COMPONENT_ID]
 *          [--Threshold PPM] [--Interval S]
 * The stored settings, when present, win over --Threshold and --Interval. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mosquitto.h>

#include <applibs/application.h>
#include <applibs/eventloop.h>
#include <applibs/gpio.h>
#include <applibs/i2c.h>
#include <applibs/log.h>
#include <applibs/storage.h>
#include <applibs/sysevent.h>

#include "hw/sample_appliance.h"

#include "../common/args.h"
#include "../common/timer.h"
#include "protocol.h"
#include "scd30.h"

enum ExitCode {
	ExitCode_Success = 0,
	ExitCode_TermHandler_SigTerm = 1,
	ExitCode_Init_Arguments = 2,
	ExitCode_Init_EventLoop = 3,
	ExitCode_Init_Led = 4,
	ExitCode_Init_I2c = 5,
	ExitCode_Init_Sensor = 6,
	ExitCode_Init_Timers = 7,
	ExitCode_Init_Mqtt = 8,
	ExitCode_Init_SysEvent = 9,
	ExitCode_Init_Watchdog = 10,
	ExitCode_Led_SetValue = 11,
	ExitCode_Timer_Arm = 12,
	ExitCode_Main_EventLoopFail = 13,
};

/* The simulated board's LEDs are active high (the MT3620 RDB's are
 * active low). */
#define LED_ON GPIO_Value_High
#define LED_OFF GPIO_Value_Low

/* How long an update may wait for us, per deferral. */
#define DEFER_MINUTES 10

static volatile sig_atomic_t exitCode = ExitCode_Success;

/* Arguments. */
static const char *brokerHost = NULL;
static unsigned int brokerPort = 1883;
static const char *telemetryTopic = "rampart/co2monitor/telemetry";
static const char *partnerId = NULL;

/* Settings, restored from mutable storage. */
static struct co2_settings settings = { .threshold_ppm = 1000, .interval_s = 2, .seq = 0 };

static EventLoop *eventLoop = NULL;
static int i2cFd = -1;
static int ledFd = -1;
static bool alarmOn = false;

/* The measurement cycle. */
static struct sample_timer *measureTimer = NULL;
static struct sample_timer *readyPollTimer = NULL;
static bool measuring = false;
static unsigned int readyPolls = 0;
static bool haveMeasurement = false;
static struct scd30_measurement lastMeasurement;
static long long measureNowReplyId = -2; /* -2: no reply owed */

/* MQTT. */
static struct mosquitto *mosq = NULL;
static struct sample_timer *mqttTimer = NULL;
static bool mqttConnected = false;
static bool mqttConnecting = false;
static time_t mqttNextAttempt = 0;

/* The partner channel. */
static int partnerFd = -1;
static EventRegistration *partnerReg = NULL;
static struct sample_timer *partnerRetryTimer = NULL;
static int partnerLastErrno = 0;

/* Update deferral. */
static EventRegistration *sysEventReg = NULL;
static bool updateDeferred = false;

/* The watchdog. */
static timer_t watchdogTimer;
static bool watchdogArmed = false;
static const struct itimerspec watchdogInterval = { { 30, 0 }, { 30, 0 } };

static void TerminationHandler(int signalNumber)
{
	(void)signalNumber;
	exitCode = ExitCode_TermHandler_SigTerm;
}

static time_t Now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ---- settings in mutable storage ---------------------------------------- */

static void LoadSettings(void)
{
	char buf[CO2_MSG_MAX + 1], err[160];
	struct co2_settings stored;
	ssize_t n;
	int fd = Storage_OpenMutableFile();

	if (fd == -1) {
		Log_Debug("WARNING: no mutable storage: %s (%d); settings will not persist.\n",
			  strerror(errno), errno);
		return;
	}
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	if (n < 0) {
		Log_Debug("WARNING: could not read the settings: %s (%d).\n", strerror(errno),
			  errno);
		return;
	}
	if (n == 0) {
		Log_Debug("co2monitor: no stored settings yet; threshold %u ppm, interval %u s.\n",
			  settings.threshold_ppm, settings.interval_s);
		return;
	}
	if (co2_settings_parse((const uint8_t *)buf, (size_t)n, &stored, err, sizeof(err))) {
		Log_Debug("WARNING: stored settings ignored: %s.\n", err);
		return;
	}
	settings = stored;
	Log_Debug("co2monitor: restored settings: threshold %u ppm, interval %u s, seq %llu.\n",
		  settings.threshold_ppm, settings.interval_s, settings.seq);
}

static void SaveSettings(void)
{
	char buf[CO2_MSG_MAX];
	int n = co2_settings_format(&settings, buf, sizeof(buf));
	int fd;

	if (n < 0)
		return;
	fd = Storage_OpenMutableFile();
	if (fd == -1) {
		return;
	}
	if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) != 0 || fsync(fd) != 0)
		Log_Debug("WARNING: could not save the settings: %s (%d).\n", strerror(errno),
			  errno);
	close(fd);
}

/* ---- the alarm LED ------------------------------------------------------- */

static void UpdateAlarm(void)
{
	bool on;

	if (!haveMeasurement)
		return;
	on = lastMeasurement.co2_ppm > (float)settings.threshold_ppm;
	if (on == alarmOn)
		return;
	if (GPIO_SetValue(ledFd, on ? LED_ON : LED_OFF) != 0) {
		Log_Debug("ERROR: could not set the alarm LED: %s (%d).\n", strerror(errno), errno);
		exitCode = ExitCode_Led_SetValue;
		return;
	}
	alarmOn = on;
	Log_Debug("co2monitor: CO2 %.0f ppm is %s the threshold of %u ppm: alarm %s.\n",
		  (double)lastMeasurement.co2_ppm, on ? "above" : "at or below",
		  settings.threshold_ppm, on ? "on" : "off");
}

/* ---- update deferral ----------------------------------------------------- */

static void ResumeUpdateIfIdle(void)
{
	if (!updateDeferred || measuring || alarmOn)
		return;
	if (SysEvent_ResumeEvent(SysEvent_Events_UpdateReadyForInstall) != 0) {
		Log_Debug("WARNING: could not resume the update: %s (%d).\n", strerror(errno),
			  errno);
		return;
	}
	updateDeferred = false;
	Log_Debug("co2monitor: idle again: the update may proceed.\n");
}

static void UpdateCallback(SysEvent_Events event, SysEvent_Status status,
			   const SysEvent_Info *info, void *context)
{
	SysEvent_Info_UpdateData data;

	(void)context;
	if (event != SysEvent_Events_UpdateReadyForInstall)
		return;
	switch (status) {
	case SysEvent_Status_Pending:
		if (SysEvent_Info_GetUpdateData(info, &data) != 0) {
			Log_Debug("WARNING: SysEvent_Info_GetUpdateData: %s (%d).\n",
				  strerror(errno), errno);
			return;
		}
		if (!measuring && !alarmOn) {
			Log_Debug("co2monitor: an update is ready; idle: allowing it.\n");
			return;
		}
		Log_Debug("co2monitor: an update is ready; deferring it (%s; at most %u min).\n",
			  measuring ? "a measurement is in progress" : "the CO2 alarm is on",
			  data.max_deferral_time_in_minutes);
		if (SysEvent_DeferEvent(SysEvent_Events_UpdateReadyForInstall, DEFER_MINUTES) != 0) {
			Log_Debug("WARNING: could not defer the update: %s (%d).\n",
				  strerror(errno), errno);
			return;
		}
		updateDeferred = true;
		break;
	case SysEvent_Status_Final:
		Log_Debug("co2monitor: the update will be installed now.\n");
		break;
	case SysEvent_Status_Deferred:
		Log_Debug("co2monitor: the update is deferred.\n");
		break;
	case SysEvent_Status_Complete:
		Log_Debug("co2monitor: the update is complete.\n");
		break;
	default:
		break;
	}
}

/* ---- the partner channel ------------------------------------------------- */

static void PartnerSend(json_t *reply)
{
	char *text;
	size_t len;

	if (partnerFd == -1) {
		json_decref(reply);
		return;
	}
	text = json_dumps(reply, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(reply);
	if (!text)
		return;
	len = strlen(text);
	if (len <= CO2_MSG_MAX && send(partnerFd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		Log_Debug("WARNING: could not reply to the partner: %s (%d).\n", strerror(errno),
			  errno);
	free(text);
}

static json_t *Reply(const char *command, long long id, bool ok)
{
	json_t *r = json_pack("{s:s, s:b}", "re", command, "ok", ok);

	if (r && id >= 0)
		json_object_set_new(r, "id", json_integer(id));
	return r;
}

static double Round1(float v)
{
	return round((double)v * 10.0) / 10.0;
}

static json_t *StatusReply(const char *command, long long id)
{
	json_t *r = Reply(command, id, true);

	if (!r)
		return NULL;
	json_object_set_new(r, "threshold", json_integer(settings.threshold_ppm));
	json_object_set_new(r, "interval", json_integer(settings.interval_s));
	json_object_set_new(r, "seq", json_integer((json_int_t)settings.seq));
	json_object_set_new(r, "alarm", json_boolean(alarmOn));
	if (haveMeasurement) {
		json_object_set_new(r, "co2", json_real(Round1(lastMeasurement.co2_ppm)));
		json_object_set_new(r, "temperature",
				    json_real(Round1(lastMeasurement.temperature_c)));
		json_object_set_new(r, "humidity", json_real(Round1(lastMeasurement.humidity_rh)));
	}
	return r;
}

static void StartMeasurement(void);

static void HandlePartnerCommand(const uint8_t *msg, size_t len)
{
	struct co2_command c;
	struct timespec period;
	char err[160];
	json_t *r;

	if (co2_command_parse(msg, len, &c, err, sizeof(err)) != 0) {
		Log_Debug("co2monitor: refused a partner message: %s.\n", err);
		r = Reply("?", -1, false);
		if (r)
			json_object_set_new(r, "error", json_string(err));
		PartnerSend(r);
		return;
	}
	Log_Debug("co2monitor: partner command %s.\n", co2_command_name(c.kind));
	switch (c.kind) {
	case CO2_CMD_SET_THRESHOLD:
		settings.threshold_ppm = c.value;
		SaveSettings();
		Log_Debug("co2monitor: threshold set to %u ppm.\n", c.value);
		UpdateAlarm();
		ResumeUpdateIfIdle();
		PartnerSend(StatusReply("set_threshold", c.id));
		break;
	case CO2_CMD_SET_INTERVAL:
		if (scd30_set_interval(i2cFd, (uint16_t)c.value) != 0) {
			snprintf(err, sizeof(err), "the sensor refused the interval: %s",
				 strerror(errno));
			r = Reply("set_interval", c.id, false);
			if (r)
				json_object_set_new(r, "error", json_string(err));
			PartnerSend(r);
			break;
		}
		settings.interval_s = c.value;
		SaveSettings();
		period = sample_ms(c.value * 1000);
		if (sample_timer_periodic(measureTimer, &period) != 0)
			exitCode = ExitCode_Timer_Arm;
		Log_Debug("co2monitor: interval set to %u s.\n", c.value);
		PartnerSend(StatusReply("set_interval", c.id));
		break;
	case CO2_CMD_MEASURE_NOW:
		/* The reply goes out when the measurement is done. */
		measureNowReplyId = c.id;
		StartMeasurement();
		break;
	case CO2_CMD_STATUS:
		PartnerSend(StatusReply("status", c.id));
		break;
	}
}

static void DisconnectPartner(void)
{
	struct timespec retry = sample_ms(2000);

	if (partnerReg)
		EventLoop_UnregisterIo(eventLoop, partnerReg);
	partnerReg = NULL;
	if (partnerFd != -1)
		close(partnerFd);
	partnerFd = -1;
	if (partnerRetryTimer && sample_timer_oneshot(partnerRetryTimer, &retry) != 0)
		exitCode = ExitCode_Timer_Arm;
}

static void PartnerEventHandler(EventLoop *el, int fd, EventLoop_IoEvents events, void *context)
{
	uint8_t buf[CO2_MSG_MAX];
	ssize_t n;

	(void)el;
	(void)events;
	(void)context;
	/* MSG_TRUNC: the datagram's real length, to refuse an oversized one. */
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		Log_Debug("co2monitor: the partner channel closed (%s); reconnecting.\n",
			  n == 0 ? "end of stream" : strerror(errno));
		DisconnectPartner();
		return;
	}
	if ((size_t)n > sizeof(buf)) {
		json_t *r = Reply("?", -1, false);

		Log_Debug("co2monitor: refused a partner message of %zd bytes.\n", n);
		if (r)
			json_object_set_new(r, "error", json_string("message too long"));
		PartnerSend(r);
		return;
	}
	HandlePartnerCommand(buf, (size_t)n);
}

static void ConnectPartner(struct sample_timer *timer, void *context)
{
	struct timespec retry = sample_ms(2000);

	(void)timer;
	(void)context;
	if (!partnerId || partnerFd != -1)
		return;
	partnerFd = Application_Connect(partnerId);
	if (partnerFd == -1) {
		/* Said once per reason, not every two seconds. */
		if (errno != partnerLastErrno)
			Log_Debug("co2monitor: partner %s not reachable: %s (%d); retrying.\n",
				  partnerId, strerror(errno), errno);
		partnerLastErrno = errno;
		if (sample_timer_oneshot(partnerRetryTimer, &retry) != 0)
			exitCode = ExitCode_Timer_Arm;
		return;
	}
	partnerLastErrno = 0;
	partnerReg = EventLoop_RegisterIo(eventLoop, partnerFd, EventLoop_Input,
					  PartnerEventHandler, NULL);
	if (!partnerReg) {
		Log_Debug("WARNING: could not watch the partner channel: %s (%d).\n",
			  strerror(errno), errno);
		DisconnectPartner();
		return;
	}
	Log_Debug("co2monitor: connected to partner %s.\n", partnerId);
}

/* ---- MQTT ---------------------------------------------------------------- */

static void OnConnect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	(void)obj;
	mqttConnecting = false;
	mqttConnected = rc == 0;
	if (rc == 0)
		Log_Debug("co2monitor: connected to the broker %s:%u.\n", brokerHost, brokerPort);
	else
		Log_Debug("co2monitor: the broker refused the connection: %s.\n",
			  mosquitto_connack_string(rc));
}

static void OnDisconnect(struct mosquitto *m, void *obj, int rc)
{
	(void)m;
	(void)obj;
	if (mqttConnected)
		Log_Debug("co2monitor: disconnected from the broker (%d).\n", rc);
	mqttConnected = false;
	mqttConnecting = false;
}

static void MqttTimerEventHandler(struct sample_timer *timer, void *context)
{
	int rc;

	(void)timer;
	(void)context;
	if (!mosq)
		return;
	if (!mqttConnected && !mqttConnecting) {
		if (Now() < mqttNextAttempt)
			return;
		mqttNextAttempt = Now() + 2;
		rc = mosquitto_connect_async(mosq, brokerHost, (int)brokerPort, 30);
		if (rc != MOSQ_ERR_SUCCESS) {
			Log_Debug("co2monitor: cannot connect to the broker %s:%u: %s.\n",
				  brokerHost, brokerPort,
				  rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
			return;
		}
		mqttConnecting = true;
	}
	rc = mosquitto_loop(mosq, 0, 1);
	if (rc != MOSQ_ERR_SUCCESS && (mqttConnected || mqttConnecting)) {
		Log_Debug("co2monitor: broker connection lost: %s.\n",
			  rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		mqttConnected = false;
		mqttConnecting = false;
	}
}

static void PublishTelemetry(void)
{
	json_t *t;
	char *text;
	int rc;

	t = json_pack("{s:f, s:f, s:f, s:I, s:i, s:b}", "co2", Round1(lastMeasurement.co2_ppm),
		      "temperature", Round1(lastMeasurement.temperature_c), "humidity",
		      Round1(lastMeasurement.humidity_rh), "seq", (json_int_t)settings.seq,
		      "threshold", (int)settings.threshold_ppm, "alarm", alarmOn);
	if (!t)
		return;
	text = json_dumps(t, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(t);
	if (!text)
		return;
	Log_Debug("co2monitor: telemetry %s\n", text);
	if (!mosq) {
		free(text);
		return;
	}
	if (!mqttConnected) {
		Log_Debug("co2monitor: telemetry %llu not sent: not connected to the broker.\n",
			  settings.seq);
		free(text);
		return;
	}
	rc = mosquitto_publish(mosq, NULL, telemetryTopic, (int)strlen(text), text, 0, false);
	if (rc != MOSQ_ERR_SUCCESS)
		Log_Debug("co2monitor: publish failed: %s.\n", mosquitto_strerror(rc));
	free(text);
}

/* ---- the measurement cycle ----------------------------------------------- */

static void FinishMeasurement(bool ok)
{
	measuring = false;
	if (ok) {
		settings.seq++;
		haveMeasurement = true;
		UpdateAlarm();
		PublishTelemetry();
		SaveSettings();
	}
	if (measureNowReplyId != -2) {
		json_t *r = ok ? StatusReply("measure_now", measureNowReplyId)
			       : Reply("measure_now", measureNowReplyId, false);

		if (!ok && r)
			json_object_set_new(r, "error", json_string("the sensor did not answer"));
		PartnerSend(r);
		measureNowReplyId = -2;
	}
	ResumeUpdateIfIdle();
}

static void ReadyPollTimerEventHandler(struct sample_timer *timer, void *context)
{
	struct timespec again = sample_ms(100);
	struct scd30_measurement m;
	bool ready;

	(void)timer;
	(void)context;
	if (scd30_data_ready(i2cFd, &ready) != 0) {
		Log_Debug("WARNING: SCD30 data-ready: %s (%d).\n", strerror(errno), errno);
		FinishMeasurement(false);
		return;
	}
	if (!ready) {
		/* The sensor has a new value every interval: wait a little longer. */
		if (++readyPolls > settings.interval_s * 10 + 20) {
			Log_Debug("WARNING: the SCD30 had no data for %u polls.\n", readyPolls);
			FinishMeasurement(false);
		} else if (sample_timer_oneshot(readyPollTimer, &again) != 0) {
			exitCode = ExitCode_Timer_Arm;
		}
		return;
	}
	if (scd30_read_measurement(i2cFd, &m) != 0) {
		Log_Debug("WARNING: SCD30 read: %s (%d).\n", strerror(errno), errno);
		FinishMeasurement(false);
		return;
	}
	lastMeasurement = m;
	FinishMeasurement(true);
}

static void StartMeasurement(void)
{
	struct timespec soon = sample_ms(1);

	if (measuring)
		return;
	measuring = true;
	readyPolls = 0;
	if (sample_timer_oneshot(readyPollTimer, &soon) != 0)
		exitCode = ExitCode_Timer_Arm;
}

static void MeasureTimerEventHandler(struct sample_timer *timer, void *context)
{
	(void)timer;
	(void)context;
	StartMeasurement();
}

/* ---- start and stop ------------------------------------------------------ */

static void SetupWatchdog(void)
{
	struct sigevent alarmEvent;

	memset(&alarmEvent, 0, sizeof(alarmEvent));
	alarmEvent.sigev_notify = SIGEV_SIGNAL;
	alarmEvent.sigev_signo = SIGALRM;
	alarmEvent.sigev_value.sival_ptr = &watchdogTimer;
	if (timer_create(CLOCK_MONOTONIC, &alarmEvent, &watchdogTimer) != 0 ||
	    timer_settime(watchdogTimer, 0, &watchdogInterval, NULL) != 0) {
		Log_Debug("ERROR: could not arm the watchdog: %s (%d).\n", strerror(errno), errno);
		exitCode = ExitCode_Init_Watchdog;
		return;
	}
	watchdogArmed = true;
}

static void ExtendWatchdogExpiry(void)
{
	if (watchdogArmed)
		(void)timer_settime(watchdogTimer, 0, &watchdogInterval, NULL);
}

static enum ExitCode ParseCommandLineArguments(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "Hostname", required_argument, NULL, 'h' },
		{ "Port", required_argument, NULL, 'p' },
		{ "Topic", required_argument, NULL, 't' },
		{ "Partner", required_argument, NULL, 'P' },
		{ "Threshold", required_argument, NULL, 'T' },
		{ "Interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'h': brokerHost = optarg; break;
		case 't': telemetryTopic = optarg; break;
		case 'p':
			if (sample_parse_uint(optarg, 1, 65535, &brokerPort)) {
				Log_Debug("ERROR: --Port: expected 1..65535.\n");
				return ExitCode_Init_Arguments;
			}
			break;
		case 'P':
			if (!sample_is_guid(optarg)) {
				Log_Debug("ERROR: --Partner: expected a component id.\n");
				return ExitCode_Init_Arguments;
			}
			partnerId = optarg;
			break;
		case 'T':
			if (sample_parse_uint(optarg, CO2_THRESHOLD_MIN, CO2_THRESHOLD_MAX,
					      &settings.threshold_ppm)) {
				Log_Debug("ERROR: --Threshold: expected %d..%d.\n",
					  CO2_THRESHOLD_MIN, CO2_THRESHOLD_MAX);
				return ExitCode_Init_Arguments;
			}
			break;
		case 'i':
			if (sample_parse_uint(optarg, SCD30_INTERVAL_MIN, SCD30_INTERVAL_MAX,
					      &settings.interval_s)) {
				Log_Debug("ERROR: --Interval: expected %d..%d.\n",
					  SCD30_INTERVAL_MIN, SCD30_INTERVAL_MAX);
				return ExitCode_Init_Arguments;
			}
			break;
		default:
			Log_Debug("ERROR: unknown argument; see the sample's README.\n");
			return ExitCode_Init_Arguments;
		}
	}
	if (optind != argc) {
		Log_Debug("ERROR: unexpected argument '%s'.\n", argv[optind]);
		return ExitCode_Init_Arguments;
	}
	return ExitCode_Success;
}

static enum ExitCode InitSensor(void)
{
	uint16_t version;

	i2cFd = I2CMaster_Open(SAMPLE_CO2_SENSOR_I2C);
	if (i2cFd == -1) {
		Log_Debug("ERROR: could not open SAMPLE_CO2_SENSOR_I2C: %s (%d).\n",
			  strerror(errno), errno);
		return ExitCode_Init_I2c;
	}
	if (I2CMaster_SetBusSpeed(i2cFd, I2C_BUS_SPEED_STANDARD) != 0 ||
	    I2CMaster_SetTimeout(i2cFd, 100) != 0) {
		Log_Debug("ERROR: could not configure the I2C bus: %s (%d).\n", strerror(errno),
			  errno);
		return ExitCode_Init_I2c;
	}
	if (scd30_firmware_version(i2cFd, &version) != 0) {
		Log_Debug("ERROR: no SCD30 at 0x%02x: %s (%d).\n", SCD30_ADDRESS, strerror(errno),
			  errno);
		return ExitCode_Init_Sensor;
	}
	if (scd30_set_interval(i2cFd, (uint16_t)settings.interval_s) != 0 ||
	    scd30_start_continuous(i2cFd, 0) != 0) {
		Log_Debug("ERROR: could not start the SCD30: %s (%d).\n", strerror(errno), errno);
		return ExitCode_Init_Sensor;
	}
	Log_Debug("co2monitor: SCD30 firmware %u.%u, measuring every %u s.\n", version >> 8,
		  version & 0xFFu, settings.interval_s);
	return ExitCode_Success;
}

static enum ExitCode InitMqtt(void)
{
	char clientId[48];

	if (!brokerHost) {
		Log_Debug("co2monitor: no --Hostname: telemetry goes to the log only.\n");
		return ExitCode_Success;
	}
	mosquitto_lib_init();
	snprintf(clientId, sizeof(clientId), "co2monitor-%ld", (long)getpid());
	mosq = mosquitto_new(clientId, true, NULL);
	if (!mosq) {
		Log_Debug("ERROR: mosquitto_new: %s (%d).\n", strerror(errno), errno);
		return ExitCode_Init_Mqtt;
	}
	mosquitto_connect_callback_set(mosq, OnConnect);
	mosquitto_disconnect_callback_set(mosq, OnDisconnect);
	mqttTimer = sample_timer_create(eventLoop, MqttTimerEventHandler, NULL);
	struct timespec period = sample_ms(100);
	if (!mqttTimer || sample_timer_periodic(mqttTimer, &period) != 0)
		return ExitCode_Init_Timers;
	Log_Debug("co2monitor: telemetry to %s:%u, topic %s.\n", brokerHost, brokerPort,
		  telemetryTopic);
	return ExitCode_Success;
}

static enum ExitCode InitPeripheralsAndHandlers(int argc, char *argv[])
{
	struct sigaction action;
	enum ExitCode rc;

	memset(&action, 0, sizeof(action));
	action.sa_handler = TerminationHandler;
	sigaction(SIGTERM, &action, NULL);

	if ((rc = ParseCommandLineArguments(argc, argv)) != ExitCode_Success)
		return rc;
	LoadSettings();

	eventLoop = EventLoop_Create();
	if (!eventLoop) {
		Log_Debug("ERROR: could not create the event loop: %s (%d).\n", strerror(errno),
			  errno);
		return ExitCode_Init_EventLoop;
	}
	ledFd = GPIO_OpenAsOutput(SAMPLE_CO2_ALARM_LED, GPIO_OutputMode_PushPull, LED_OFF);
	if (ledFd == -1) {
		Log_Debug("ERROR: could not open SAMPLE_CO2_ALARM_LED: %s (%d).\n",
			  strerror(errno), errno);
		return ExitCode_Init_Led;
	}
	if ((rc = InitSensor()) != ExitCode_Success)
		return rc;

	measureTimer = sample_timer_create(eventLoop, MeasureTimerEventHandler, NULL);
	readyPollTimer = sample_timer_create(eventLoop, ReadyPollTimerEventHandler, NULL);
	partnerRetryTimer = sample_timer_create(eventLoop, ConnectPartner, NULL);
	struct timespec period = sample_ms(settings.interval_s * 1000);
	if (!measureTimer || !readyPollTimer || !partnerRetryTimer ||
	    sample_timer_periodic(measureTimer, &period) != 0) {
		Log_Debug("ERROR: could not create the timers: %s (%d).\n", strerror(errno),
			  errno);
		return ExitCode_Init_Timers;
	}
	if ((rc = InitMqtt()) != ExitCode_Success)
		return rc;

	sysEventReg = SysEvent_RegisterForEventNotifications(
		eventLoop, SysEvent_Events_UpdateReadyForInstall, UpdateCallback, NULL);
	if (!sysEventReg) {
		Log_Debug("ERROR: could not register for update events: %s (%d).\n",
			  strerror(errno), errno);
		return ExitCode_Init_SysEvent;
	}
	if (partnerId)
		ConnectPartner(NULL, NULL);
	SetupWatchdog();
	return exitCode == ExitCode_Success ? ExitCode_Success : (enum ExitCode)exitCode;
}

static void ClosePeripheralsAndHandlers(void)
{
	if (watchdogArmed)
		timer_delete(watchdogTimer);
	if (sysEventReg)
		SysEvent_UnregisterForEventNotifications(sysEventReg);
	if (partnerReg)
		EventLoop_UnregisterIo(eventLoop, partnerReg);
	if (partnerFd != -1)
		close(partnerFd);
	sample_timer_destroy(partnerRetryTimer);
	sample_timer_destroy(measureTimer);
	sample_timer_destroy(readyPollTimer);
	sample_timer_destroy(mqttTimer);
	if (mosq) {
		if (mqttConnected)
			mosquitto_disconnect(mosq);
		mosquitto_destroy(mosq);
		mosquitto_lib_cleanup();
	}
	EventLoop_Close(eventLoop);
	if (i2cFd != -1) {
		(void)scd30_stop_continuous(i2cFd);
		close(i2cFd);
	}
	if (ledFd != -1) {
		(void)GPIO_SetValue(ledFd, LED_OFF);
		close(ledFd);
	}
}

int main(int argc, char *argv[])
{
	Log_Debug("co2monitor: starting.\n");
	exitCode = InitPeripheralsAndHandlers(argc, argv);

	while (exitCode == ExitCode_Success) {
		EventLoop_Run_Result result = EventLoop_Run(eventLoop, -1, true);

		if (result == EventLoop_Run_Failed && errno != EINTR)
			exitCode = ExitCode_Main_EventLoopFail;
		ExtendWatchdogExpiry();
	}

	ClosePeripheralsAndHandlers();
	Log_Debug("co2monitor: exiting with code %d.\n", (int)exitCode);
	return exitCode;
}
