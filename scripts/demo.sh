#!/usr/bin/env bash
# The demo: make a 20-second sample with scene cuts, audio and subtitles,
# encode it with av1job, and verify the result against the sample.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p demo
go run ./tools/mksample -o demo/sample.mkv -w 640 -h 360 -t 20
rm -f demo/sample.av1.mkv
rm -rf demo/sample.av1.mkv.av1job
set -x
bin/av1job encode demo/sample.mkv -o demo/sample.av1.mkv --speed 10
bin/av1job verify demo/sample.mkv demo/sample.av1.mkv
