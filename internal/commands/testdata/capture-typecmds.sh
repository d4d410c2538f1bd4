#!/bin/sh
# Capture crash's output of the commands in NAME.cmds into NAME.golden
# (p, eval, struct, union, whatis, ptype, list); NAME is typecmds or
# typecmds2 (large values: init_task, init_mm, a module, whole types).
#
#   capture-typecmds.sh VMLINUX DUMP [NAME]
#
# VMLINUX is the debug vmlinux of Debian's 6.1.0-53-cloud-amd64 and DUMP
# is shared/dumps/sysrq-zstd/vmcore.zstd; crash 8.0.2. Each command's
# output is preceded by "@@@ COMMAND"; crash's error messages land in its
# output in order. p's history numbers run on across the commands.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
vmlinux=$1
dump=$2
name=${3:-typecmds}
in=$(mktemp)
trap 'rm -f "$in"' EXIT
grep -v '^#' "$here/$name.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd"
done >"$in"
echo q >>"$in"
{
	echo "# crash $(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1) output of $name.cmds on $(basename "$dump"); made by capture-typecmds.sh"
	crash -s "$vmlinux" "$dump" -i "$in" 2>&1 | sed -n '/^@@@ /,$p'
} >"$here/$name.golden"
