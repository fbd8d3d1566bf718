/* hello: the smallest Rampart app. It prints one line and exits; the
 * runtime issue's demo runs it in a compartment. */
#include <stdio.h>

int main(void)
{
	printf("hello from a Rampart app\n");
	return 0;
}
