#!/usr/bin/env bash
# Installs the system programs av1job and its tests need, when they are missing.
# Idempotent: a second run installs nothing. On Debian/Ubuntu it uses apt-get;
# elsewhere it names what to install and fails.
set -euo pipefail

# command -> Debian package
declare -A pkgs=(
  [ffmpeg]=ffmpeg
  [ffprobe]=ffmpeg
  [rav1e]=rav1e
  [dav1d]=dav1d
  # the other encoders (--encoder svt-av1, --encoder aomenc)
  [SvtAv1EncApp]=svt-av1
  [aomenc]=aom-tools
  # used by the tests: process inspection, a pseudo-terminal, tmpfs mounts
  [ps]=procps
  [pkill]=procps
  [script]=bsdutils
  [mount]=mount
  # the web page's tests drive a headless browser (chromedp)
  [chromium]=chromium
)

missing=()
for cmd in "${!pkgs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkgs[$cmd]}")
done
# librav1e-dev (found through pkg-config) builds package rav1e and the
# in-process backend; AV1JOB_LIBRAV1E=0 skips it for a -tags nolibrav1e build.
if [ "${AV1JOB_LIBRAV1E:-1}" = 1 ] && ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists rav1e; }; then
  missing+=(librav1e-dev pkg-config)
fi
# cgo needs a C compiler.
if [ "${AV1JOB_LIBRAV1E:-1}" = 1 ] && ! command -v gcc >/dev/null 2>&1; then
  missing+=(gcc libc6-dev)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: please install: ${missing[*]} (Debian package names)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
