/* The trivial app of bench/app-start.sh: its first act is to write one
 * byte to stdout, which marks "the app's first instruction ran". */
#include <unistd.h>

int main(void)
{
	return write(1, "x", 1) == 1 ? 0 : 1;
}
