#!/bin/sh
# Capture crash's output of kmem-slab-ext.cmds (lines "SCENARIO COMMAND")
# on the ext corpus into kmem-slab-ext.golden.
#
#   capture-kmem-slab-ext.sh EXT_CORPUS
#
# EXT_CORPUS is ~/.cache/kdive/corpus-ext (RIG_SET=ext); the addresses in
# kmem-slab-ext.cmds are that corpus's (rig-hash in the golden's first
# line: the test skips with another corpus). Needs crash 8.0.2. Each
# command's output is preceded by "@@@ SCENARIO COMMAND".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=$1
in=$(mktemp)
trap 'rm -f "$in"' EXIT
ver=$(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1)
{
	echo "# crash $ver output of kmem-slab-ext.cmds on the ext corpus (rig-hash $(cat "$corpus/rig-hash")); made by capture-kmem-slab-ext.sh"
	for sc in $(grep -v '^#' "$here/kmem-slab-ext.cmds" | awk 'NF {print $1}' | uniq); do
		grep -v '^#' "$here/kmem-slab-ext.cmds" | awk -v s="$sc" '$1 == s' | while IFS= read -r line; do
			cmd=${line#* }
			printf "!echo '@@@ %s'\n%s\n" "$line" "$cmd"
		done >"$in"
		echo q >>"$in"
		crash -s "$corpus/vmlinux" "$corpus/$sc/vmcore.elf" -i "$in" 2>&1 | sed -n '/^@@@ /,$p'
	done
} >"$here/kmem-slab-ext.golden"
