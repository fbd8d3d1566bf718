/* azure-blink: a test app written the way Azure Sphere's high-level
 * samples are (applibs, a generated hardware header, an EventLoop with a
 * timerfd), to check that such sources build unchanged for Rampart. It
 * toggles SAMPLE_LED every half second and logs each change. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <applibs/eventloop.h>
#include <applibs/gpio.h>
#include <applibs/log.h>
#include <applibs/storage.h>

#include <hw/sample_appliance.h>

typedef enum {
	ExitCode_Success = 0,
	ExitCode_TermHandler = 1,
	ExitCode_Led = 2,
	ExitCode_Timer = 3,
	ExitCode_Loop = 4,
} ExitCode;

static volatile sig_atomic_t exitCode = ExitCode_Success;
static int ledFd = -1;
static GPIO_Value_Type ledState = GPIO_Value_High;

static void TerminationHandler(int signalNumber)
{
	(void)signalNumber;
	exitCode = ExitCode_TermHandler;
}

static void BlinkTimerHandler(EventLoop *el, int fd, EventLoop_IoEvents events, void *context)
{
	uint64_t expirations;

	(void)el;
	(void)events;
	(void)context;
	if (read(fd, &expirations, sizeof(expirations)) != (ssize_t)sizeof(expirations)) {
		exitCode = ExitCode_Timer;
		return;
	}
	ledState = ledState == GPIO_Value_High ? GPIO_Value_Low : GPIO_Value_High;
	if (GPIO_SetValue(ledFd, ledState) != 0) {
		Log_Debug("ERROR: cannot set the LED: %s (%d)\n", strerror(errno), errno);
		exitCode = ExitCode_Led;
		return;
	}
	Log_Debug("LED %s\n", ledState == GPIO_Value_High ? "off" : "on");
}

int main(void)
{
	struct sigaction action;
	struct itimerspec period = { { 0, 500000000 }, { 0, 500000000 } };
	EventLoop *loop = NULL;
	EventRegistration *reg = NULL;
	char greeting[64];
	int timerFd = -1, f;
	ssize_t n;

	memset(&action, 0, sizeof(action));
	action.sa_handler = TerminationHandler;
	sigaction(SIGTERM, &action, NULL);

	f = Storage_OpenFileInImagePackage("data/greeting.txt");
	if (f >= 0) {
		n = read(f, greeting, sizeof(greeting) - 1);
		close(f);
		if (n > 0) {
			greeting[n] = '\0';
			Log_Debug("%s", greeting);
		}
	}

	ledFd = GPIO_OpenAsOutput(SAMPLE_LED, GPIO_OutputMode_PushPull, GPIO_Value_High);
	if (ledFd < 0) {
		Log_Debug("ERROR: cannot open SAMPLE_LED: %s (%d). Does app_manifest.json list it?\n",
			  strerror(errno), errno);
		return ExitCode_Led;
	}
	loop = EventLoop_Create();
	timerFd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (!loop || timerFd < 0 || timerfd_settime(timerFd, 0, &period, NULL) != 0) {
		exitCode = ExitCode_Timer;
		goto out;
	}
	reg = EventLoop_RegisterIo(loop, timerFd, EventLoop_Input, BlinkTimerHandler, NULL);
	if (!reg) {
		exitCode = ExitCode_Timer;
		goto out;
	}
	while (exitCode == ExitCode_Success) {
		EventLoop_Run_Result result = EventLoop_Run(loop, -1, true);

		if (result == EventLoop_Run_Failed && errno != EINTR)
			exitCode = ExitCode_Loop;
	}
out:
	EventLoop_UnregisterIo(loop, reg);
	EventLoop_Close(loop);
	if (timerFd >= 0)
		close(timerFd);
	close(ledFd);
	Log_Debug("Exiting with code %d\n", (int)exitCode);
	return exitCode == ExitCode_TermHandler ? ExitCode_Success : exitCode;
}
