#!/usr/bin/env bash
# deps.sh: install every Debian package sluice needs to build, test, bench and
# demo. Idempotent and quiet when everything is present.
#   scripts/deps.sh              packages only
#   scripts/deps.sh --hugepages  also reserve 2 MiB hugepages and mount hugetlbfs
#                                (SLUICE_HUGEPAGES=N pages, default 512)
set -euo pipefail

PKGS=(
	build-essential pkg-config meson ninja-build clang llvm
	libdpdk-dev dpdk dpdk-dev libbpf-dev bpftool libxdp-dev xdp-tools
	libconfig-dev libcmocka-dev libpcap-dev libelf-dev zlib1g-dev
	linux-libc-dev gcc-multilib
	iproute2 ethtool iputils-ping tcpdump tshark python3-scapy nginx-light curl
	procps psmisc valgrind
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: missing packages: ${missing[*]} (run as root to install)" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	echo 'wireshark-common wireshark-common/install-setuid boolean false' |
		debconf-set-selections 2>/dev/null || true
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	# nginx-light starts a default site on :80 in the host namespace; the lab
	# runs its own instances inside namespaces, so keep the host one off.
	if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
		systemctl disable --now nginx >/dev/null 2>&1 || pkill -x nginx 2>/dev/null || true
	fi
fi

if [ "${1:-}" = "--hugepages" ]; then
	want=${SLUICE_HUGEPAGES:-512}
	f=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	have=$(cat "$f")
	if [ "$have" -lt "$want" ]; then
		echo "$want" >"$f"
		have=$(cat "$f")
		[ "$have" -ge "$want" ] ||
			echo "deps.sh: asked for $want hugepages, kernel gave $have" >&2
	fi
	mkdir -p /dev/hugepages
	mountpoint -q /dev/hugepages || mount -t hugetlbfs none /dev/hugepages
fi
exit 0
