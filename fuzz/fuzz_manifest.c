/* libFuzzer target for the app manifest parser: parse, then resolve
 * "$NAME" references through a small in-memory hardware definition and
 * serialise, freeing everything on every path. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "format/board.h"
#include "format/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A base definition with one peripheral of each type, so resolution
 * reaches both its success and its type-mismatch paths. */
static const char board_json[] =
	"{\"Metadata\":{\"Type\":\"Azure Sphere Hardware Definition\",\"Version\":1},"
	"\"Description\":{\"Name\":\"fuzz\"},\"Peripherals\":["
	"{\"Name\":\"LED\",\"Type\":\"Gpio\",\"AppManifestValue\":8},"
	"{\"Name\":\"BUTTON\",\"Type\":\"Gpio\",\"AppManifestValue\":12},"
	"{\"Name\":\"I2C\",\"Type\":\"I2cMaster\",\"AppManifestValue\":\"ISU2\",\"MainCoreHeaderValue\":\"(2)\"},"
	"{\"Name\":\"SPI\",\"Type\":\"SpiMaster\",\"AppManifestValue\":\"ISU1\",\"MainCoreHeaderValue\":\"(1)\"},"
	"{\"Name\":\"UART\",\"Type\":\"Uart\",\"AppManifestValue\":\"ISU0\",\"MainCoreHeaderValue\":\"(4)\"},"
	"{\"Name\":\"PWM\",\"Type\":\"Pwm\",\"AppManifestValue\":\"PWM-CONTROLLER-0\",\"MainCoreHeaderValue\":\"(0)\"},"
	"{\"Name\":\"ADC\",\"Type\":\"Adc\",\"AppManifestValue\":\"ADC-CONTROLLER-0\",\"MainCoreHeaderValue\":\"(0)\"},"
	"{\"Name\":\"CS\",\"Type\":\"int\",\"MainCoreHeaderValue\":\"(-1)\"},"
	"{\"Name\":\"MAPPED\",\"Type\":\"Gpio\",\"Mapping\":\"ELSEWHERE\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_manifest *m = NULL;
	struct rp_board *b = NULL;
	struct rp_buf out;
	struct rp_err e;

	rp_err_clear(&e);
	if (rp_manifest_parse(data, size, &m, &e))
		goto out;
	if (rp_manifest_serialize(m, &out, &e) == 0)
		rp_buf_free(&out);
	if (!m->needs_board)
		goto out;
	if (rp_board_parse((const uint8_t *)board_json, sizeof(board_json) - 1,
			   "fuzz.json", &b, &e))
		__builtin_trap(); /* the fixed board must always load */
	if (rp_manifest_resolve(m, b, &e) == 0 &&
	    rp_manifest_serialize(m, &out, &e) == 0)
		rp_buf_free(&out);
out:
	rp_board_free(b);
	rp_manifest_free(m);
	return 0;
}
