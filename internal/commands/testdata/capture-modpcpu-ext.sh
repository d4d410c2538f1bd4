#!/bin/sh
# Capture crash's output of modpcpu-ext.cmds (mod -s of kdive_ext.ko, then
# its per-CPU variable) on one ext dump into modpcpu-ext.golden.
#
#   capture-modpcpu-ext.sh EXT_CORPUS [SCENARIO]
#
# EXT_CORPUS is ~/.cache/kdive/corpus-ext (RIG_SET=ext; its rig-hash goes
# in the golden's first line: the test skips with another corpus),
# SCENARIO hung by default; crash 8.0.2. The module's path is written as
# KO. Each command's output is preceded by "@@@ COMMAND".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=$1
sc=${2:-hung}
ko=$corpus/modules/kdive_ext.ko
in=$(mktemp)
trap 'rm -f "$in"' EXIT
grep -v '^#' "$here/modpcpu-ext.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd" | sed "s|KO|$ko|g"
done >"$in"
echo q >>"$in"
{
	echo "# crash $(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1) output of modpcpu-ext.cmds on $sc/vmcore.elf of the ext corpus (rig-hash $(cat "$corpus/rig-hash")); made by capture-modpcpu-ext.sh"
	crash -s "$corpus/vmlinux" "$corpus/$sc/vmcore.elf" -i "$in" 2>&1 | sed -n '/^@@@ /,$p' | sed "s|$ko|KO|g"
} >"$here/modpcpu-ext.golden"
