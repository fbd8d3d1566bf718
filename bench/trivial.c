/* The trivial app of bench/app-start.sh: its first act is to write one
 * byte to stdout, which marks "the app's first instruction ran". (It
 * formats that byte through a stack buffer so that it is built, and
 * checked, with the same hardening as every other binary.) */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char b[8];
	int n = snprintf(b, sizeof(b), "%c", 'x');

	return n == 1 && write(1, b, 1) == 1 ? 0 : 1;
}
