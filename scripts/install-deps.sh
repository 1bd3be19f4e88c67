#!/usr/bin/env bash
# install-deps.sh GROUP... — makes sure what a make target uses is on this
# machine, installing the missing Debian packages with apt-get as root,
# before anything long starts. It takes seconds when everything is
# present. When something is missing and cannot be installed (not root, no
# apt, apt failing), it exits 1 naming each missing package and what it is
# for: a make target never starts work that will fail later for want of a
# package, and never depends on something installed by hand.
#
# Groups (a target names the ones it needs):
#   go         the go command, Go >= the go.mod version
#   databases  PostgreSQL, MariaDB and nss_wrapper (as root), for the local
#              postgres and mariadb engines and their tests
#   net        iptables, ip and tc, nsenter and setpriv, for partitions and
#              shaping on the local platform and faultline's Docker daemon
#   docker     a Docker engine that answers (not installable here: it is
#              checked, and its absence named)
#   images     debootstrap, chroot, tar, runc and strip, for `make images`
#   browser    Debian's chromium, for the report's browser test
#   bench      pgbench, for the load benchmark
#   chaos-mesh Chaos Mesh's Go modules (its Helm chart and sources, and its API
#              module) in the Go module cache, for installing it on kind and
#              building its images, and a C compiler for those images (the
#              daemon is a cgo program; its fake clock, pause and nsexec are C)
#
# The system services of installed packages are never started: faultline
# starts its own instances. Every apt-get output goes to
# ${TMPDIR:-/tmp}/faultline-install-deps.log.
set -euo pipefail

log=${TMPDIR:-/tmp}/faultline-install-deps.log
missing=()   # Debian packages to install
why=()       # what each is for, same order
fatal=()     # missing things no package can give

need() { # package, what-for
	local p
	for p in "${missing[@]}"; do [[ $p == "$1" ]] && return 0; done
	missing+=("$1")
	why+=("$2")
}
have() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 || -x /sbin/$1 ]]; }

check_go() {
	local want have_v
	want=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$(dirname "$0")/../go.mod")
	if ! have go; then
		fatal+=("the go command (Go >= $want): https://go.dev/doc/install, or GOTOOLCHAIN")
		return
	fi
	have_v=$(go env GOVERSION | sed 's/^go//')
	if [[ $(printf '%s\n%s\n' "$want" "$have_v" | sort -V | head -1) != "$want" ]]; then
		fatal+=("Go >= $want (this machine has $have_v)")
	fi
}
check_databases() {
	local d ok=
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/initdb && -x $d/postgres ]] && ok=1
	done
	[[ -n $ok ]] || { have initdb && have postgres; } || need postgresql "the local postgres engine"
	{ have mariadbd || have mysqld; } && { have mariadb-install-db || have mysql_install_db; } ||
		need mariadb-server "the local mariadb engine"
	# As root, nodes run as uids without passwd entries; nss_wrapper names them.
	if [[ $(id -u) -eq 0 ]]; then
		compgen -G '/usr/lib/*/libnss_wrapper.so' >/dev/null || [[ -e /usr/lib/libnss_wrapper.so ]] ||
			need libnss-wrapper "naming the local nodes' uids for initdb"
	fi
}
check_net() {
	have iptables || need iptables "partitions and faultline's Docker daemon"
	{ have ip && have tc; } || need iproute2 "shaping (tc) and network namespaces (ip)"
	{ have nsenter && have setpriv; } || need util-linux "entering network namespaces, running nodes as their uid"
}
check_docker() {
	if ! have docker; then
		need docker.io "the docker command"
	elif ! docker info >/dev/null 2>&1; then
		fatal+=("a running Docker engine (docker info fails: start dockerd)")
	fi
	have dockerd || need docker.io "faultline's own Docker daemon, where the host cannot run privileged containers"
}
check_images() {
	have debootstrap || need debootstrap "the kind node image's root filesystem"
	have chroot || need coreutils "chroot"
	have tar || need tar "importing root filesystems"
	have runc || need runc "faultline's Docker daemon runtime"
	have strip || need binutils "stripping the Vitess programs in faultline's Vitess image"
	[[ $(id -u) -eq 0 ]] || fatal+=("root: debootstrap and chroot build the kind node image (run make as root)")
}
check_browser() {
	have chromium || need chromium "the report's browser test (headless)"
}
check_chaos_mesh() {
	# faults/chaosmesh.Module and ModuleVersion, and the API module the
	# images build copies in (images.ChaosMeshAPIModule and -Version).
	local mod=github.com/chaos-mesh/chaos-mesh@v0.9.1-0.20260902003049-47411975a8cb
	local api=github.com/chaos-mesh/chaos-mesh/api@v0.0.0-20260906172039-d70b66ad97ac
	have cc || need gcc "Chaos Mesh's images: the daemon is a cgo program; its fake clock, pause and nsexec are C"
	[[ -e /usr/include/stdio.h ]] || need libc6-dev "Chaos Mesh's images: the C library's headers, for cgo"
	have go || { fatal+=("the go command, to download $mod"); return; }
	(cd "$(dirname "$0")/.." && go mod download "$mod" "$api") >>"$log" 2>&1 ||
		fatal+=("Chaos Mesh's modules $mod and $api from the Go module proxy (go mod download failed: see $log)")
}
check_bench() {
	have pgbench || need postgresql-client "pgbench, the load benchmark's reference"
}

(($# > 0)) || set -- databases
for g in "$@"; do
	case $g in
	go | databases | net | docker | images | browser | bench) "check_$g" ;;
	chaos-mesh) check_chaos_mesh ;;
	*) echo "install-deps: unknown group $g" >&2; exit 2 ;;
	esac
done

if ((${#missing[@]} > 0)); then
	list=""
	for i in "${!missing[@]}"; do list+=$'\n'"  ${missing[$i]}: ${why[$i]}"; done
	if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		echo "install-deps: missing Debian packages, and this is not root with apt-get to install them:$list" >&2
		echo "install-deps: install them (apt-get install ${missing[*]}) and run make again" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]} with apt-get (log: $log)" >&2
	# policy-rc.d answering 101 keeps maintainer scripts from starting the
	# packages' system services; in place only for the install.
	policy=/usr/sbin/policy-rc.d created_policy=
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		created_policy=1
	fi
	trap '[[ -z $created_policy ]] || rm -f "$policy"' EXIT
	export DEBIAN_FRONTEND=noninteractive
	apt=(apt-get -y -q -o DPkg::Lock::Timeout=600)
	if ! "${apt[@]}" install --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
		# The package lists of a fresh machine may be missing or stale.
		"${apt[@]}" update >>"$log" 2>&1 || true
		if ! "${apt[@]}" install --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
			echo "install-deps: apt-get install failed for:$list" >&2
			echo "install-deps: the last lines of $log:" >&2
			tail -n 5 "$log" | sed 's/^/  /' >&2
			exit 1
		fi
	fi
	echo "install-deps: installed ${missing[*]}" >&2
fi

if ((${#fatal[@]} > 0)); then
	echo "install-deps: missing, and not installable here:" >&2
	printf '  %s\n' "${fatal[@]}" >&2
	exit 1
fi
