#!/bin/sh
# Capture crash's output of the commands in kmem-oops-proc.cmds into
# kmem-oops-proc-crash.txt, and of `kmem -p` (every page) into
# kmem-p-oops-proc-crash.txt.gz.
#
#   capture-kmem.sh VMLINUX DUMP
#
# VMLINUX is the corpus's vmlinux (Debian 6.1.0-53-cloud-amd64) and DUMP
# its oops-proc/vmcore.elf. Needs crash 8.0.2 (Debian bookworm). Each
# command's output is preceded by a line "@@@ COMMAND".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
vmlinux=$1
dump=$2
in=$(mktemp)
trap 'rm -f "$in"' EXIT
grep -v '^#' "$here/kmem-oops-proc.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd"
done >"$in"
echo q >>"$in"
out=$(mktemp)
trap 'rm -f "$in" "$out"' EXIT
crash -s "$vmlinux" "$dump" -i "$in" 2>&1 | sed -n '/^@@@ /,$p' >"$out"
test -s "$out" && cp "$out" "$here/kmem-oops-proc-crash.txt"
printf 'kmem -p\nq\n' >"$in"
crash -s "$vmlinux" "$dump" -i "$in" 2>/dev/null | sed -n '/^      PAGE /,$p' >"$out"
# 131072 pages and the header on this corpus; a crash that failed to
# start writes nothing, and the old golden stays.
test "$(wc -l <"$out")" -gt 1 && gzip -9n <"$out" >"$here/kmem-p-oops-proc-crash.txt.gz"
