/* applibs/storage.h: the app's image package and its mutable storage
 * (Azure Sphere compatible). */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/* The absolute path of relativePath inside the running app's image package
 * (malloc'd; the caller frees it). It does not check that the file exists.
 * NULL with errno: EFAULT (NULL argument), EINVAL (starts with '/' or '.',
 * or contains ".."), ENOMEM. */
char *Storage_GetAbsolutePathInImagePackage(const char *relativePath);

/* Open a regular file of the image package read-only. -1 with errno as
 * above, or as open(2). */
int Storage_OpenFileInImagePackage(const char *relativePath);

/* Open (creating it if needed) the app's persistent file, read-write. It
 * survives restarts, reboots and app updates. EACCES: the manifest has no
 * MutableStorage; EIO. */
int Storage_OpenMutableFile(void);

/* Delete the persistent file. Close its descriptors first. EACCES: no
 * MutableStorage; ENOENT: there is no file; EIO. */
int Storage_DeleteMutableFile(void);

#ifdef __cplusplus
}
#endif
