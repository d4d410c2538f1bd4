#!/bin/sh
# Captures crash 8.0.2's set, task, foreach and bt -e/-r/-v output on the
# corpus's sysrq/vmcore.elf (one crash session per command) as
# testdata/crash-tasks-sysrq.txt; see TestTasksCrashCorpus.
set -e
C=${KDIVE_CORPUS:-$HOME/.cache/kdive/corpus}
out=${1:-crash-tasks-sysrq.txt}
tmp=$(mktemp -d)
echo "# crash 8.0.2 on the corpus's sysrq/vmcore.elf with its vmlinux (rig-hash $(cat $C/rig-hash)); one crash session per command" > "$out"
while IFS= read -r cmd; do
	printf '%s\n' "$cmd" > "$tmp/cmd"
	crash -s "$C/vmlinux" "$C/sysrq/vmcore.elf" -i "$tmp/cmd" > "$tmp/out" 2>/dev/null < /dev/null || true
	printf 'crash> %s\n' "$cmd" >> "$out"
	# crash's start-up warning about the PID hash (it sees 3 tasks).
	sed -e '/^WARNING: active task .* not found in PID hash$/{N;d;}' "$tmp/out" >> "$out"
done <<'CMDS'
set
set -c 0
set -c 1
task
task -R pid,comm
task -x -R pid,tgid
task -R cpu
task -R se.on_rq
task -R thread_info
bt -e
bt -r
bt -v
foreach RU task -R pid
foreach RU set
foreach RU net -s
foreach RU task
foreach RU files
foreach RU bt -e
set radix 16
set hex
set dec
set scroll off
CMDS
rm -rf "$tmp"
