#!/bin/sh
# Captures crash 8.0.2's bt -e (the panic task) and foreach bt -e (the
# tasks crash 8.0.2 sees) on each base scenario's vmcore.elf, one crash
# session per command, as testdata/crash-bt-e.txt; see TestBtEframeCrashCorpus.
set -e
C=${KDIVE_CORPUS:-$HOME/.cache/kdive/corpus}
out=${1:-crash-bt-e.txt}
tmp=$(mktemp -d)
echo "# crash 8.0.2 on the corpus's vmcore.elf files with its vmlinux (rig-hash $(cat $C/rig-hash)); one crash session per command" > "$out"
for sc in sysrq oops-proc oops-wq bugon; do
	for cmd in "bt -e" "foreach bt -e"; do
		printf '%s\n' "$cmd" > "$tmp/cmd"
		crash -s "$C/vmlinux" "$C/$sc/vmcore.elf" -i "$tmp/cmd" > "$tmp/out" 2>/dev/null < /dev/null || true
		printf 'crash> %s: %s\n' "$sc" "$cmd" >> "$out"
		sed -e '/^WARNING: active task .* not found in PID hash$/{N;d;}' "$tmp/out" >> "$out"
	done
done
rm -rf "$tmp"
