#!/usr/bin/env bash
# System packages the Slurm driver tests need: a real slurmctld, slurmd, the client commands
# (sbatch, squeue, scontrol, scancel, sinfo) and munge, from Debian (Slurm 22.05 on Debian 12).
# Idempotent: installs only what is missing. The tests start and stop their own daemons on
# 127.0.0.1 in a temporary directory; the packages' system services are not used (and are
# not started by this script: policy-rc.d is respected by apt, and the tests need none of them).
# Set POWERFIRST_SKIP_SLURM=1 to skip (the Slurm tests then skip with a reason).
set -euo pipefail
if [ -n "${POWERFIRST_SKIP_SLURM:-}" ]; then
  exit 0
fi
packages=(slurmctld slurmd slurm-client munge)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-slurm: apt-get not found; install ${missing[*]} (Slurm >= 22.05) with your" \
       "package manager, or set POWERFIRST_SKIP_SLURM=1 to skip the Slurm tests" >&2
  exit 1
fi
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "install-slurm: installing ${missing[*]} needs root: run" \
       "'sudo apt-get install ${missing[*]}' (or run this script as root)," \
       "or set POWERFIRST_SKIP_SLURM=1 to skip the Slurm tests" >&2
  exit 1
fi
echo "install-slurm: installing ${missing[*]} (Debian packages) for the Slurm driver tests..." >&2
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
