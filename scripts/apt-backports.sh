#!/usr/bin/env bash
# Adds the backports suite of this machine's Debian release, from the same
# mirror its main suite already uses, and refreshes the package lists.
set -euo pipefail
. /etc/os-release
suite="${VERSION_CODENAME}-backports"
if ! grep -rqs -- "$suite" /etc/apt/sources.list /etc/apt/sources.list.d/; then
	uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | head -n1 | awk '{print $2}')
	if [ -z "$uri" ]; then
		uri=$(grep -hs '^deb ' /etc/apt/sources.list | grep -v security | head -n1 | awk '{print $2}')
	fi
	if [ -z "$uri" ]; then
		echo "apt-backports: cannot find this machine's Debian mirror" >&2
		exit 1
	fi
	echo "deb $uri $suite main" >/etc/apt/sources.list.d/backports.list
fi
apt-get update -qq
