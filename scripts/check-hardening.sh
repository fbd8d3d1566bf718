#!/bin/sh
# Read the ELF of every executable built in BUILDDIR and fail unless each
# has: PIE, full RELRO (GNU_RELRO + BIND_NOW), a non-executable stack, the
# stack protector, fortified libc calls, and (on x86-64) CET: main begins
# with endbr64. (The ELF's IBT/SHSTK property note cannot be set on Debian 12:
# its glibc start files are not CET-marked and the linker ANDs the notes,
# so we check the instrumentation itself.) The same checks as Debian's
# hardening-check, with no Perl.
set -eu
dir=${1:-build}
fail=0
n=0

for f in $(find "$dir" -type f -perm -u+x ! -path '*/meson-private/*' ! -name '*.so' ! -name '*.py' ! -name '*.sh'); do
	head -c 4 "$f" | grep -q 'ELF' || continue
	n=$((n + 1))
	hdr=$(readelf -h "$f")
	dyn=$(readelf -d "$f" 2>/dev/null || true)
	ph=$(readelf -lW "$f")
	syms=$(readelf --dyn-syms -W "$f")
	bad=""
	echo "$hdr" | grep -q 'Type:.*DYN' && echo "$dyn" | grep -q 'FLAGS_1.*PIE' || bad="$bad no-PIE"
	echo "$ph" | grep -q 'GNU_RELRO' || bad="$bad no-RELRO"
	echo "$dyn" | grep -Eq 'BIND_NOW|FLAGS_1.*NOW' || bad="$bad no-BIND_NOW"
	echo "$ph" | grep 'GNU_STACK' | grep -q 'RWE' && bad="$bad exec-stack"
	echo "$syms" | grep -q '__stack_chk_fail' || bad="$bad no-stack-protector"
	echo "$syms" | grep -Eq '__[a-z0-9_]+_chk(@|$| )' || bad="$bad no-fortify"
	# Rust (samples/hello-rust): stable rustc has no flag to CET-instrument
	# its generated main (-Z cf-protection is nightly only); the language's
	# memory safety is that binary's defence, and every other check applies.
	if echo "$hdr" | grep -q 'X86-64' &&
		! readelf -p .comment "$f" 2>/dev/null | grep -q 'rustc version'; then
		objdump -d --no-show-raw-insn --disassemble=main "$f" 2>/dev/null |
			awk '/<main>:/ {getline; print; exit}' | grep -q endbr64 || bad="$bad no-CET"
	fi
	if [ -n "$bad" ]; then
		echo "hardening: $f:$bad" >&2
		fail=1
	fi
done

if [ "$n" -eq 0 ]; then
	echo "hardening: no executables found in $dir" >&2
	exit 1
fi
if [ "$fail" -ne 0 ]; then
	exit 1
fi
echo "hardening: $n executables in $dir have PIE, full RELRO, NX stack, stack protector, fortify and CET"
