#!/bin/sh
# Capture crash's output of the commands in sig.cmds (the sig
# command) into sig-oops-proc.golden.
#
#   capture-sig.sh CORPUS
#
# CORPUS is ~/.cache/kdive/corpus (its vmlinux and oops-proc/vmcore.lzo;
# rig-hash in the first line of the golden: the test skips with another
# corpus). Needs crash 8.0.2. Each command's output is preceded by a line
# "@@@ COMMAND". crash's task list here is the idle tasks and pid 123, so
# the test runs crash's `foreach sig` as `foreach 0 123 sig`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=$1
vmlinux=$corpus/vmlinux
dump=$corpus/oops-proc/vmcore.lzo
hash=$(cat "$corpus/rig-hash")
in=$(mktemp)
trap 'rm -f "$in"' EXIT
grep -v '^#' "$here/sig.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd"
done >"$in"
echo q >>"$in"
ver=$(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1)
{
	echo "# crash $ver output of sig.cmds on oops-proc/vmcore.lzo (rig-hash $hash); made by capture-sig.sh"
	crash -s "$vmlinux" "$dump" -i "$in" 2>&1 | sed -n '/^@@@ /,$p'
} >"$here/sig-oops-proc.golden"
