#!/bin/sh
# Capture crash's `log` (plain, -m, -t, -a) on the ext corpus's logring dump
# (a wrapped printk ring) into log-logring-crash.txt.gz.
#
#   capture-log-logring.sh EXT_CORPUS
#
# EXT_CORPUS is ~/.cache/kdive/corpus-ext (RIG_SET=ext); the golden's first
# line names its rig-hash (the test skips with another corpus). Needs
# crash 8.0.2.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=$1
in=$(mktemp)
trap 'rm -f "$in"' EXIT
ver=$(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1)
for c in log "log -m" "log -t" "log -T"; do
	printf "!echo 'crash> %s'\n%s\n" "$c" "$c"
done >"$in"
echo q >>"$in"
{
	echo "# crash $ver output of log on the ext corpus's logring/vmcore.lzo (rig-hash $(cat "$corpus/rig-hash")); made by capture-log-logring.sh"
	TZ=UTC crash -s "$corpus/vmlinux" "$corpus/logring/vmcore.lzo" -i "$in" 2>&1 | sed -n '/^crash> /,$p'
} | gzip -9n >"$here/log-logring-crash.txt.gz"
