/* Built into rampart-verify only in AddressSanitizer builds (see
 * runtime/meson.build). LeakSanitizer checks for leaks at exit by stopping
 * the process's threads with ptrace from a cloned tracer; the helper's
 * seccomp filter (verify_confine.c) forbids both, so the check would abort
 * with "LeakSanitizer has encountered a fatal error". The helper's
 * environment is cleaned by rampartd, so ASAN_OPTIONS cannot carry this;
 * the sanitizer's compiled-in defaults can. The code the helper runs
 * (lib/format: package, archive, image) is leak-checked by its unit tests
 * under the same sanitizers. */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
