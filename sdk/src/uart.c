/* applibs/uart.h: the descriptor rampartd hands over is the tty itself;
 * the SDK applies the configuration with termios and makes it
 * non-blocking (Azure's only blocking mode). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <applibs/uart.h>

#include "sdk_priv.h"

void UART_InitConfig(UART_Config *uartConfig)
{
	if (!uartConfig)
		return;
	memset(uartConfig, 0, sizeof(*uartConfig));
	uartConfig->z__magicAndVersion = RP_SDK_UART_CONFIG_V1;
	uartConfig->baudRate = 115200;
	uartConfig->blockingMode = UART_BlockingMode_NonBlocking;
	uartConfig->dataBits = UART_DataBits_Eight;
	uartConfig->parity = UART_Parity_None;
	uartConfig->stopBits = UART_StopBits_One;
	uartConfig->flowControl = UART_FlowControl_None;
}

static const struct {
	uint32_t rate;
	speed_t code;
} speeds[] = {
	{ 1200, B1200 },     { 2400, B2400 },       { 4800, B4800 },
	{ 9600, B9600 },     { 19200, B19200 },     { 38400, B38400 },
	{ 57600, B57600 },   { 115200, B115200 },   { 230400, B230400 },
	{ 460800, B460800 }, { 500000, B500000 },   { 576000, B576000 },
	{ 921600, B921600 }, { 1000000, B1000000 }, { 1152000, B1152000 },
	{ 1500000, B1500000 }, { 2000000, B2000000 }, { 2500000, B2500000 },
	{ 3000000, B3000000 },
};

/* Fill t from c; -1 (EINVAL) for a setting termios cannot express. */
static int to_termios(const UART_Config *c, struct termios *t)
{
	static const tcflag_t sizes[] = { CS5, CS6, CS7, CS8 };
	speed_t sp = 0;
	size_t i;

	for (i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++)
		if (speeds[i].rate == c->baudRate)
			sp = speeds[i].code;
	if (!sp || c->blockingMode != UART_BlockingMode_NonBlocking ||
	    c->dataBits < UART_DataBits_Five || c->dataBits > UART_DataBits_Eight ||
	    c->parity > UART_Parity_Odd ||
	    (c->stopBits != UART_StopBits_One && c->stopBits != UART_StopBits_Two) ||
	    c->flowControl > UART_FlowControl_XONXOFF) {
		errno = EINVAL;
		return -1;
	}
	cfmakeraw(t);
	t->c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
	t->c_cflag |= CLOCAL | CREAD | sizes[c->dataBits - UART_DataBits_Five];
	if (c->parity != UART_Parity_None)
		t->c_cflag |= PARENB | (c->parity == UART_Parity_Odd ? PARODD : 0);
	if (c->stopBits == UART_StopBits_Two)
		t->c_cflag |= CSTOPB;
	t->c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	if (c->flowControl == UART_FlowControl_RTSCTS)
		t->c_cflag |= CRTSCTS;
	else if (c->flowControl == UART_FlowControl_XONXOFF)
		t->c_iflag |= IXON | IXOFF;
	t->c_cc[VMIN] = 0;
	t->c_cc[VTIME] = 0;
	if (cfsetispeed(t, sp) < 0 || cfsetospeed(t, sp) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int UART_Open(UART_Id uartId, const UART_Config *uartConfig)
{
	struct termios t;
	int fd, fl, err;

	if (!uartConfig) {
		errno = EFAULT;
		return -1;
	}
	if (uartConfig->z__magicAndVersion != RP_SDK_UART_CONFIG_V1) {
		errno = EINVAL;
		return -1;
	}
	memset(&t, 0, sizeof(t));
	if (to_termios(uartConfig, &t) < 0)
		return -1;
	fd = rp_sdk_open("Uart", uartId, NULL);
	if (fd < 0)
		return -1;
	if (!isatty(fd)) {
		err = EBADF;
		goto fail;
	}
	if (tcflush(fd, TCIOFLUSH) < 0 || tcsetattr(fd, TCSANOW, &t) < 0) {
		err = errno;
		goto fail;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = errno;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	errno = err;
	return -1;
}
