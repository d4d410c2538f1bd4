#!/bin/sh
# Capture crash's output of search-sysrq.cmds into search-sysrq-crash.txt:
#
#   capture-search.sh CORPUS_DIR
#
# CORPUS_DIR is the kdive corpus (vmlinux, sysrq/vmcore.elf, rig-hash);
# crash 8.0.2. Each command's output is preceded by "@@@ COMMAND", the
# first line names the rig-hash the golden belongs to.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=$1
in=$(mktemp)
trap 'rm -f "$in"' EXIT
grep -v '^#' "$here/search-sysrq.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd"
done >"$in"
echo q >>"$in"
{
	echo "# crash $(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1) output of search-sysrq.cmds on the corpus's sysrq/vmcore.elf (rig-hash $(cat "$corpus/rig-hash")); made by capture-search.sh"
	crash -s "$corpus/vmlinux" "$corpus/sysrq/vmcore.elf" -i "$in" 2>&1 | sed -n '/^@@@ /,$p'
} >"$here/search-sysrq-crash.txt"
gzip -9f "$here/search-sysrq-crash.txt"
