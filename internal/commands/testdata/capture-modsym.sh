#!/bin/sh
# Capture crash's output of modsym.cmds (mod -s of the rig's kdive_rig.ko,
# then its types and globals) into modsym-SCENARIO.golden.
#
#   capture-modsym.sh VMLINUX DUMP KO SCENARIO
#
# VMLINUX is the corpus's vmlinux, DUMP SCENARIO/vmcore.lzo, KO
# modules/kdive_rig.ko; crash 8.0.2. KO's path is written as KO in the
# golden. Each command's output is preceded by "@@@ COMMAND".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
vmlinux=$1
dump=$2
ko=$3
sc=$4
in=$(mktemp)
trap 'rm -f "$in"' EXIT
grep -v '^#' "$here/modsym.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd" | sed "s|KO|$ko|g"
done >"$in"
echo q >>"$in"
{
	echo "# crash $(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1) output of modsym.cmds on $sc/$(basename "$dump"); made by capture-modsym.sh"
	crash -s "$vmlinux" "$dump" -i "$in" 2>&1 | sed -n '/^@@@ /,$p' | sed "s|$ko|KO|g"
} >"$here/modsym-$sc.golden"
