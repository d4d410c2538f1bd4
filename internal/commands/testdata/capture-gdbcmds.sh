#!/bin/sh
# Capture crash's output of gdbcmds.cmds (gdb's disassemble, add-symbol-file
# and info commands) into gdbcmds-oops-proc.golden.
#
#   capture-gdbcmds.sh [CORPUS]
#
# CORPUS is the rig's corpus (default ~/.cache/kdive/corpus): its vmlinux,
# oops-proc/vmcore.elf and modules/kdive_rig.ko; crash 8.0.2 (Debian
# bookworm, gdb 10.2 inside). Each command's output is preceded by
# "@@@ COMMAND"; the .ko's path is written KO, the corpus's real path
# CORPUS. Run it from a directory without the kernel sources (gdb then
# prints "No such file or directory." for the source lines).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=${1:-$HOME/.cache/kdive/corpus}
real=$(cd "$corpus" && pwd -P)
ko=$corpus/modules/kdive_rig.ko
in=$(mktemp)
trap 'rm -f "$in"' EXIT
grep -v '^#' "$here/gdbcmds.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd" | sed "s|KO|$ko|g"
done >"$in"
echo q >>"$in"
{
	echo "# crash $(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1) output of gdbcmds.cmds on oops-proc/vmcore.elf (rig-hash $(cat "$corpus/rig-hash")); made by capture-gdbcmds.sh"
	cd /tmp && crash -s "$corpus/vmlinux" "$corpus/oops-proc/vmcore.elf" -i "$in" 2>&1 | sed -n '/^@@@ /,$p' | sed "s|$ko|KO|g; s|$real|CORPUS|g"
} >"$here/gdbcmds-oops-proc.golden"

# With the module's source in the current directory: gdbcmds-src.cmds into
# gdbcmds-src-oops-proc.golden.
src=$(mktemp -d)
trap 'rm -rf "$in" "$src"' EXIT
mkdir -p "$src/testdata/rig/module"
cp "$corpus/modules/kdive_rig.c" "$src/testdata/rig/module/"
grep -v '^#' "$here/gdbcmds-src.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd" | sed "s|KO|$ko|g"
done >"$in"
echo q >>"$in"
{
	echo "# crash $(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1) output of gdbcmds-src.cmds on oops-proc/vmcore.elf (rig-hash $(cat "$corpus/rig-hash")); made by capture-gdbcmds.sh"
	cd "$src" && crash -s "$corpus/vmlinux" "$corpus/oops-proc/vmcore.elf" -i "$in" 2>&1 | sed -n '/^@@@ /,$p' | sed "s|$ko|KO|g; s|$real|CORPUS|g"
} >"$here/gdbcmds-src-oops-proc.golden"

# disassemble /s and /m of 92 functions: gdbcmds-wide.cmds into
# gdbcmds-wide-oops-proc.golden.gz (no sources in the current directory).
grep -v '^#' "$here/gdbcmds-wide.cmds" | grep -v '^$' | while IFS= read -r cmd; do
	printf "!echo '@@@ %s'\n%s\n" "$cmd" "$cmd"
done >"$in"
echo q >>"$in"
{
	echo "# crash $(crash -v 2>/dev/null | sed -n 's/^crash \([0-9.]*\).*/\1/p' | head -1) output of gdbcmds-wide.cmds on oops-proc/vmcore.elf (rig-hash $(cat "$corpus/rig-hash")); made by capture-gdbcmds.sh"
	cd /tmp && crash -s "$corpus/vmlinux" "$corpus/oops-proc/vmcore.elf" -i "$in" 2>&1 | sed -n '/^@@@ /,$p'
} | gzip -9n >"$here/gdbcmds-wide-oops-proc.golden.gz"
