/* applibs/spi.h: SPI masters. A socket speaks rpph SPI_XFER (simulated
 * board); a character device is /dev/spidevB.C, driven with
 * SPI_IOC_MESSAGE so that chip select stays asserted across transfers. */
#include <errno.h>
#include <linux/spi/spidev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <applibs/spi.h>

#include "base/bytes.h"
#include "sdk_priv.h"

int SPIMaster_InitConfig(SPIMaster_Config *config)
{
	if (!config) {
		errno = EFAULT;
		return -1;
	}
	memset(config, 0, sizeof(*config));
	config->z__magicAndVersion = RP_SDK_SPI_CONFIG_V1;
	config->csPolarity = SPI_ChipSelectPolarity_ActiveLow;
	return 0;
}

int SPIMaster_InitTransfers(SPIMaster_Transfer *transfers, size_t transferCount)
{
	size_t i;

	if (!transfers) {
		errno = EFAULT;
		return -1;
	}
	for (i = 0; i < transferCount; i++) {
		memset(&transfers[i], 0, sizeof(transfers[i]));
		transfers[i].z__magicAndVersion = RP_SDK_SPI_TRANSFER_V1;
		transfers[i].flags = SPI_TransferFlags_None;
	}
	return 0;
}

/* Read-modify-write the kernel's mode bits. */
static int kmode(int fd, uint32_t clear, uint32_t set)
{
	uint32_t m;

	if (ioctl(fd, SPI_IOC_RD_MODE32, &m) < 0) {
		if (errno == ENOTTY)
			errno = EBADF;
		return -1;
	}
	m = (m & ~clear) | set;
	return ioctl(fd, SPI_IOC_WR_MODE32, &m) < 0 ? -1 : 0;
}

int SPIMaster_Open(SPI_InterfaceId interfaceId, SPI_ChipSelectId chipSelectId,
		   const SPIMaster_Config *config)
{
	enum rp_sdk_kind kind;
	json_t *x;
	int fd, err, cs = chipSelectId;

	if (!config) {
		errno = EFAULT;
		return -1;
	}
	if (config->z__magicAndVersion != RP_SDK_SPI_CONFIG_V1 ||
	    (config->csPolarity != SPI_ChipSelectPolarity_ActiveLow &&
	     config->csPolarity != SPI_ChipSelectPolarity_ActiveHigh)) {
		errno = EINVAL;
		return -1;
	}
	/* Azure's MT3620_SPI_CS_A / _B. */
	if (cs == -1 || cs == -2)
		cs = -cs - 1;
	if (cs < 0 || cs > 255) {
		errno = EINVAL;
		return -1;
	}
	x = json_pack("{s:i}", "chip_select", cs);
	if (!x) {
		errno = ENOMEM;
		return -1;
	}
	fd = rp_sdk_open("SpiMaster", interfaceId, x);
	json_decref(x);
	if (fd < 0)
		return -1;
	if (rp_sdk_kind(fd, &kind) < 0)
		goto fail;
	if (kind == RP_SDK_CHAR) {
		/* The documented starting state: mode 0, MSB first, and the
		 * chip select polarity of config. */
		uint32_t set = config->csPolarity == SPI_ChipSelectPolarity_ActiveHigh
				       ? SPI_CS_HIGH : 0;

		if (kmode(fd, SPI_CPHA | SPI_CPOL | SPI_LSB_FIRST | SPI_CS_HIGH, set) < 0)
			goto fail;
	}
	if (rp_sdk_state_set(fd, RP_SDK_STATE_SPI_CS, (uint32_t)cs) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	rp_sdk_state_drop(fd);
	close(fd);
	errno = err;
	return -1;
}

static int sconfig(int fd, uint32_t what, uint32_t value)
{
	struct rp_ph_msg req = { .op = RP_PH_SPI_CONFIG, .a = what, .b = value }, rep;
	uint8_t buf[RP_PH_MSG_MAX];

	return rp_sdk_ph(fd, &req, &rep, buf);
}

static int kind_of(int fd, enum rp_sdk_kind *kind)
{
	if (rp_sdk_kind(fd, kind) < 0)
		return -1;
	if (*kind == RP_SDK_OTHER) {
		errno = EBADF;
		return -1;
	}
	return 0;
}

int SPIMaster_SetBusSpeed(int fd, uint32_t speedInHz)
{
	enum rp_sdk_kind kind;

	if (speedInHz == 0) {
		errno = EINVAL;
		return -1;
	}
	if (kind_of(fd, &kind) < 0)
		return -1;
	if (kind == RP_SDK_SOCKET)
		return sconfig(fd, RP_PH_CFG_SPEED_HZ, speedInHz);
	if (ioctl(fd, SPI_IOC_WR_MAX_SPEED_HZ, &speedInHz) < 0) {
		if (errno == ENOTTY)
			errno = EBADF;
		return -1;
	}
	return 0;
}

int SPIMaster_SetMode(int fd, SPI_Mode mode)
{
	static const uint32_t bits[] = { SPI_MODE_0, SPI_MODE_1, SPI_MODE_2, SPI_MODE_3 };
	enum rp_sdk_kind kind;

	if (mode < SPI_Mode_0 || mode > SPI_Mode_3) {
		errno = EINVAL;
		return -1;
	}
	if (kind_of(fd, &kind) < 0)
		return -1;
	if (kind == RP_SDK_SOCKET)
		return sconfig(fd, RP_PH_CFG_MODE, (uint32_t)mode - 1);
	return kmode(fd, SPI_CPHA | SPI_CPOL, bits[mode - 1]);
}

int SPIMaster_SetBitOrder(int fd, SPI_BitOrder order)
{
	enum rp_sdk_kind kind;
	uint8_t lsb;

	if (order != SPI_BitOrder_LsbFirst && order != SPI_BitOrder_MsbFirst) {
		errno = EINVAL;
		return -1;
	}
	if (kind_of(fd, &kind) < 0)
		return -1;
	lsb = order == SPI_BitOrder_LsbFirst;
	if (kind == RP_SDK_SOCKET)
		return sconfig(fd, RP_PH_CFG_BIT_ORDER, lsb);
	if (ioctl(fd, SPI_IOC_WR_LSB_FIRST, &lsb) < 0) {
		if (errno == ENOTTY)
			errno = EBADF;
		return -1;
	}
	return 0;
}

/* Check the transfers; returns the total length, or -1 with errno. */
static ssize_t check(const SPIMaster_Transfer *t, size_t n)
{
	size_t i, total = 0;

	if (!t) {
		errno = EFAULT;
		return -1;
	}
	if (n == 0 || n > SPI_MASTER_MAX_TRANSFERS) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (t[i].z__magicAndVersion != RP_SDK_SPI_TRANSFER_V1 || t[i].length == 0 ||
		    t[i].length > 0xffff ||
		    (t[i].flags != SPI_TransferFlags_Read &&
		     t[i].flags != SPI_TransferFlags_Write)) {
			errno = EINVAL;
			return -1;
		}
		if ((t[i].flags == SPI_TransferFlags_Read && !t[i].readData) ||
		    (t[i].flags == SPI_TransferFlags_Write && !t[i].writeData)) {
			errno = EFAULT;
			return -1;
		}
		total += t[i].length;
	}
	return (ssize_t)total;
}

static ssize_t over_socket(int fd, const SPIMaster_Transfer *t, size_t n, size_t total)
{
	uint8_t data[RP_PH_DATA_MAX], buf[RP_PH_MSG_MAX];
	struct rp_ph_msg req = { .op = RP_PH_SPI_XFER, .data = data }, rep;
	size_t i, off = 0, reads = 0, got = 0;
	uint32_t cs = 0;

	if (n > RP_PH_SPI_SEGS_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		size_t need = 4 + (t[i].flags == SPI_TransferFlags_Write ? t[i].length : 0);

		if (need > sizeof(data) - off) {
			errno = EINVAL;
			return -1;
		}
		data[off] = t[i].flags == SPI_TransferFlags_Write ? RP_PH_SPI_WRITE
								   : RP_PH_SPI_READ;
		data[off + 1] = 0;
		rp_enc16le(data + off + 2, (uint16_t)t[i].length);
		if (t[i].flags == SPI_TransferFlags_Write)
			memcpy(data + off + 4, t[i].writeData, t[i].length);
		else
			reads += t[i].length;
		off += need;
	}
	if (reads > RP_PH_DATA_MAX) {
		errno = EINVAL;
		return -1;
	}
	(void)rp_sdk_state_get(fd, RP_SDK_STATE_SPI_CS, &cs);
	req.a = cs;
	req.len = (uint32_t)off;
	if (rp_sdk_ph(fd, &req, &rep, buf) < 0)
		return -1;
	if (rep.len != reads) {
		errno = EIO;
		return -1;
	}
	for (i = 0; i < n; i++)
		if (t[i].flags == SPI_TransferFlags_Read) {
			memcpy(t[i].readData, rep.data + got, t[i].length);
			got += t[i].length;
		}
	return (ssize_t)total;
}

ssize_t SPIMaster_TransferSequential(int fd, const SPIMaster_Transfer *transfers,
				     size_t transferCount)
{
	enum rp_sdk_kind kind;
	struct spi_ioc_transfer *k;
	ssize_t total = check(transfers, transferCount);
	size_t i;
	int rc, err;

	if (total < 0 || kind_of(fd, &kind) < 0)
		return -1;
	if (kind == RP_SDK_SOCKET)
		return over_socket(fd, transfers, transferCount, (size_t)total);
	k = calloc(transferCount, sizeof(*k));
	if (!k) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < transferCount; i++) {
		k[i].len = (uint32_t)transfers[i].length;
		if (transfers[i].flags == SPI_TransferFlags_Write)
			k[i].tx_buf = (uint64_t)(uintptr_t)transfers[i].writeData;
		else
			k[i].rx_buf = (uint64_t)(uintptr_t)transfers[i].readData;
	}
	rc = ioctl(fd, SPI_IOC_MESSAGE((unsigned)transferCount), k);
	err = errno;
	free(k);
	if (rc < 0) {
		errno = err == ENOTTY ? EBADF : err;
		return -1;
	}
	return rc;
}

ssize_t SPIMaster_WriteThenRead(int fd, const uint8_t *writeData, size_t lenWriteData,
				uint8_t *readData, size_t lenReadData)
{
	SPIMaster_Transfer t[2];
	size_t n = 0;

	SPIMaster_InitTransfers(t, 2);
	if (lenWriteData) {
		t[n].flags = SPI_TransferFlags_Write;
		t[n].writeData = writeData;
		t[n++].length = lenWriteData;
	}
	if (lenReadData) {
		t[n].flags = SPI_TransferFlags_Read;
		t[n].readData = readData;
		t[n++].length = lenReadData;
	}
	if (n == 0)
		return 0;
	return SPIMaster_TransferSequential(fd, t, n);
}
