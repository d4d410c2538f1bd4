#!/bin/sh
# Capture crash's output of the commands in kmem-slab.cmds into
# kmem-slab-oops-proc.golden, and of `kmem -S` (every cache, every CPU
# slab's objects) into kmem-S-oops-proc.golden.gz.
#
#   capture-kmem-slab.sh CORPUS
#
# CORPUS is ~/.cache/kdive/corpus (its vmlinux and oops-proc/vmcore.elf);
# the addresses in kmem-slab.cmds are that corpus's (rig-hash in the first
# line of the golden: the test skips with another corpus). Needs crash
# 8.0.2. Each command's output is preceded by a line "@@@ COMMAND".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=$1
vmlinux=$corpus/vmlinux
dump=$corpus/oops-proc/vmcore.elf
hash=$(cat "$corpus/rig-hash")
in=$(mktemp)
trap 'rm -f "$in"' EXIT
grep -v '^#' "$here/kmem-slab.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd"
done >"$in"
echo q >>"$in"
ver=$(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1)
{
	echo "# crash $ver output of kmem-slab.cmds on oops-proc/vmcore.elf (rig-hash $hash); made by capture-kmem-slab.sh"
	crash -s "$vmlinux" "$dump" -i "$in" 2>&1 | sed -n '/^@@@ /,$p'
} >"$here/kmem-slab-oops-proc.golden"
printf 'kmem -S\nq\n' >"$in"
{
	echo "# crash $ver output of kmem -S on oops-proc/vmcore.elf (rig-hash $hash); made by capture-kmem-slab.sh"
	crash -s "$vmlinux" "$dump" -i "$in" 2>&1 | sed -n '/^CACHE /,$p'
} | gzip -9n >"$here/kmem-S-oops-proc.golden.gz"
