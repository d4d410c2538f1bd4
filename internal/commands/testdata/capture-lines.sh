#!/bin/sh
# Capture crash's output of the commands in lines.cmds (source lines: sym,
# dis -l/-s, bt -l) into lines-oops-proc.golden.gz, and bt -a -l of the
# other scenarios into lines-bt-SCENARIO.golden.
#
#   capture-lines.sh [CORPUS]
#
# CORPUS is the rig's corpus (default ~/.cache/kdive/corpus): its vmlinux
# (Debian 6.1.0-53-cloud-amd64 with DWARF) and oops-proc/vmcore.elf. Needs
# crash 8.0.2 (Debian bookworm). Each command's output is preceded by a line
# "@@@ COMMAND"; crash's error messages land in its output in order.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=${1:-$HOME/.cache/kdive/corpus}
in=$(mktemp)
trap 'rm -f "$in"' EXIT
grep -v '^#' "$here/lines.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd"
done >"$in"
echo q >>"$in"
{
	echo "# crash $(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1) output of lines.cmds on oops-proc/vmcore.elf (rig-hash $(cat "$corpus/rig-hash")); made by capture-lines.sh"
	crash -s "$corpus/vmlinux" "$corpus/oops-proc/vmcore.elf" -i "$in" 2>&1 | sed -n '/^@@@ /,$p'
} | gzip -9n >"$here/lines-oops-proc.golden.gz"

# bt -a -l of the other scenarios: lines-bt-SCENARIO.golden.
printf 'bt -a -l\nq\n' >"$in"
for sc in sysrq oops-wq bugon; do
	{
		echo "# crash $(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1) output of bt -a -l on $sc/vmcore.elf (rig-hash $(cat "$corpus/rig-hash")); made by capture-lines.sh"
		crash -s "$corpus/vmlinux" "$corpus/$sc/vmcore.elf" -i "$in" 2>/dev/null | sed -n '/^PID: /,$p'
	} >"$here/lines-bt-$sc.golden"
done
