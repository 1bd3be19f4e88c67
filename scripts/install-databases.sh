#!/usr/bin/env bash
# Makes sure the PostgreSQL and MariaDB server binaries that the local
# postgres and mariadb engines (and their integration tests) run are
# installed. Installs them with apt when this machine has apt and we are
# root; otherwise prints what is missing and exits 0, so that `make test`
# still runs and those tests skip with a message naming the binary.
# The system services are never started: faultline starts its own
# instances in temporary directories. Quiet and idempotent when present.
set -euo pipefail

missing=()
have_postgres() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/initdb && -x $d/postgres ]] && return 0
	done
	command -v initdb >/dev/null 2>&1 && command -v postgres >/dev/null 2>&1
}
have_mariadb() {
	{ command -v mariadbd || command -v mysqld || [[ -x /usr/sbin/mariadbd ]] || [[ -x /usr/sbin/mysqld ]]; } >/dev/null 2>&1 &&
		{ command -v mariadb-install-db || command -v mysql_install_db; } >/dev/null 2>&1
}
have_nss_wrapper() {
	compgen -G '/usr/lib/*/libnss_wrapper.so' >/dev/null || [[ -e /usr/lib/libnss_wrapper.so ]]
}
have_postgres || missing+=(postgresql)
have_mariadb || missing+=(mariadb-server)
# As root, nodes run as uids without passwd entries; nss_wrapper names
# them for initdb.
[[ $(id -u) -ne 0 ]] || have_nss_wrapper || missing+=(libnss-wrapper)
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-databases: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or the tests that need them skip" >&2
	exit 0
fi

echo "install-databases: installing ${missing[*]} with apt-get" >&2
# policy-rc.d answering 101 keeps the packages' maintainer scripts from
# starting the system services; put one in place only for the install.
policy=/usr/sbin/policy-rc.d
created_policy=
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi
cleanup() { [[ -n $created_policy ]] && rm -f "$policy"; return 0; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/tmp/install-databases.log 2>&1; then
	apt-get update -q -o DPkg::Lock::Timeout=600 >>/tmp/install-databases.log 2>&1 || true
	if ! apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >>/tmp/install-databases.log 2>&1; then
		echo "install-databases: apt-get install ${missing[*]} failed (log: /tmp/install-databases.log); the tests that need them skip" >&2
		exit 0
	fi
fi
echo "install-databases: installed ${missing[*]}" >&2
