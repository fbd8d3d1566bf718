/* Per-descriptor state the Azure API keeps implicitly: a small fixed table
 * under a mutex. An entry is valid only while the descriptor still refers
 * to the same file (device and inode), so a closed-and-reused number does
 * not inherit another handle's settings. */
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>

#include "sdk_priv.h"

#define SLOTS 64

struct slot {
	int fd, key;
	dev_t dev;
	ino_t ino;
	uint32_t value;
};

static struct slot slots[SLOTS];
static size_t used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int ident(int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		errno = EBADF;
		return -1;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* Drop entries whose descriptor now names another file. Called locked. */
static void sweep(void)
{
	size_t i = 0;

	while (i < used) {
		dev_t d;
		ino_t n;

		if (ident(slots[i].fd, &d, &n) < 0 || d != slots[i].dev ||
		    n != slots[i].ino)
			slots[i] = slots[--used];
		else
			i++;
	}
}

int rp_sdk_state_set(int fd, int key, uint32_t value)
{
	dev_t d;
	ino_t n;
	size_t i;
	int rc = 0;

	if (ident(fd, &d, &n) < 0)
		return -1;
	pthread_mutex_lock(&lock);
	for (i = 0; i < used; i++)
		if (slots[i].fd == fd && slots[i].key == key)
			break;
	if (i == used) {
		if (used == SLOTS)
			sweep();
		i = used;
		if (used == SLOTS) {
			errno = ENOMEM;
			rc = -1;
			goto out;
		}
		used++;
	}
	slots[i] = (struct slot){ .fd = fd, .key = key, .dev = d, .ino = n,
				  .value = value };
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

int rp_sdk_state_get(int fd, int key, uint32_t *value)
{
	dev_t d;
	ino_t n;
	size_t i;
	int rc = -1;

	if (ident(fd, &d, &n) < 0)
		return -1;
	pthread_mutex_lock(&lock);
	for (i = 0; i < used; i++)
		if (slots[i].fd == fd && slots[i].key == key && slots[i].dev == d &&
		    slots[i].ino == n) {
			*value = slots[i].value;
			rc = 0;
			break;
		}
	pthread_mutex_unlock(&lock);
	if (rc)
		errno = ENOENT;
	return rc;
}

void rp_sdk_state_drop(int fd)
{
	size_t i = 0;

	pthread_mutex_lock(&lock);
	while (i < used) {
		if (slots[i].fd == fd)
			slots[i] = slots[--used];
		else
			i++;
	}
	pthread_mutex_unlock(&lock);
}
