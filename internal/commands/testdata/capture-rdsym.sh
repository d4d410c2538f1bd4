#!/bin/sh
# Capture crash's output of the commands in rdsym.cmds into rdsym.golden.
#
#   capture-rdsym.sh VMLINUX DUMP
#
# VMLINUX is the debug vmlinux of Debian's 6.1.0-53-cloud-amd64 (package
# linux-image-6.1.0-53-cloud-amd64-dbg 6.1.187-1) and DUMP is
# shared/dumps/sysrq-zstd/vmcore.zstd. Needs crash 8.0.2 (Debian bookworm).
# Each command's output is preceded by a line "@@@ COMMAND"; crash's
# error messages land in its output in order, as they do on a terminal.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
vmlinux=$1
dump=$2
in=$(mktemp)
trap 'rm -f "$in"' EXIT
grep -v '^#' "$here/rdsym.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd"
done >"$in"
echo q >>"$in"
{
	echo "# crash $(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1) output of rdsym.cmds on $(basename "$dump"); made by capture-rdsym.sh"
	crash -s "$vmlinux" "$dump" -i "$in" 2>/dev/null | sed -n '/^@@@ /,$p'
} >"$here/rdsym.golden"

# The whole symbol list, compressed: sym-l.golden.gz.
printf 'sym -l\nq\n' >"$in"
crash -s "$vmlinux" "$dump" -i "$in" 2>/dev/null | sed -n '/^0 (D) __per_cpu_start$/,$p' | gzip -9n >"$here/sym-l.golden.gz"
