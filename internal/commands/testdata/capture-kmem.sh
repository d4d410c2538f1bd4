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
crash -s "$vmlinux" "$dump" -i "$in" 2>&1 | sed -n '/^@@@ /,$p' >"$here/kmem-oops-proc-crash.txt"
printf 'kmem -p\nq\n' >"$in"
crash -s "$vmlinux" "$dump" -i "$in" 2>/dev/null | sed -n '/^      PAGE /,$p' | gzip -9n >"$here/kmem-p-oops-proc-crash.txt.gz"
