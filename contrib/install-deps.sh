#!/bin/sh
# install-deps.sh -- install what corewatch needs to build and test on
# Debian 12, as root: the packages listed in contrib/debian-packages (one
# per line; build, run and test dependencies).
#
# When every package is installed already it does nothing (and needs no
# network).
#
# The tests start NSD themselves on loopback.  When this script is what
# installs the nsd package, it stops and disables the nsd service that
# Debian starts, so no stray server sits on port 53; an nsd that was
# already installed before is left alone.
set -eu
cd "$(dirname "$0")"

if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: run me as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

nsd_before=no
if dpkg-query -W -f='${Status}' nsd 2>/dev/null | grep -q 'ok installed'; then
	nsd_before=yes
fi

packages=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' debian-packages)
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps.sh: every package is installed already"
	exit 0
fi
echo "install-deps.sh: installing$missing"
apt-get update
# shellcheck disable=SC2086  # one word per package
apt-get install -y --no-install-recommends $packages

if [ "$nsd_before" = no ]; then
	if [ -d /run/systemd/system ]; then
		systemctl disable --now nsd.service || true
	elif [ -x /etc/init.d/nsd ]; then
		/etc/init.d/nsd stop >/dev/null 2>&1 || true
	fi
fi
