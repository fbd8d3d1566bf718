#!/bin/sh
# Install the Debian 12 packages Rampart needs to build, test and demo.
# As root: installs whatever is missing with apt-get. Otherwise: prints the
# exact command to run and stops. Safe to run again: it only installs what
# dpkg says is missing.
set -eu

PACKAGES="
  gcc make pkg-config meson ninja-build binutils cmake
  libssl-dev openssl libjansson-dev
  libcmocka-dev python3 python3-pytest
  clang libclang-rt-14-dev llvm
  libseccomp-dev libevent-dev e2fsprogs util-linux iproute2
  libcurl4-openssl-dev curl mosquitto mosquitto-clients libmosquitto-dev
  rustc
  bubblewrap rauc strace
  libsqlite3-dev sqlite3 libpq-dev postgresql nginx
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "Rampart needs these Debian packages:$missing" >&2
	echo "Install them with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine.
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
