#!/bin/sh
# Captures crash 8.0.2's set -a session on the corpus's sysrq/vmcore.elf as
# testdata/crash-set-a-sysrq.txt; see TestSetActiveCrashCorpus. The
# commands depend on each other (set -a changes the session), so session k
# runs commands 1..k and step k is what it printed after session k-1's
# output. swapper/1 and the panic task are found with crash's own ps.
set -e
C=${KDIVE_CORPUS:-$HOME/.cache/kdive/corpus}
D=$C/sysrq/vmcore.elf
out=${1:-crash-set-a-sysrq.txt}
tmp=$(mktemp -d)
run() { crash -s "$C/vmlinux" "$D" -i "$1" 2>&1 < /dev/null | sed -e '/^WARNING: active task .* not found in PID hash$/{N;d;}' || true; }
printf 'ps\n' > "$tmp/ps"
run "$tmp/ps" > "$tmp/psout"
swapper1=$(awk '$NF == "[swapper/1]" {print $(NF-5)}' "$tmp/psout")
panic=$(awk '$1 == ">" && $NF !~ /^\[/ {print $5}' "$tmp/psout")
cat > "$tmp/cmds" <<CMDS
set -a $swapper1
ps
set -c 1
set
set -a 0
set -a 99999
set -p
set -a $panic
ps
set -c 1
CMDS
echo "# crash 8.0.2 on the corpus's sysrq/vmcore.elf with its vmlinux (rig-hash $(cat $C/rig-hash)); one session, commands in order" > "$out"
: > "$tmp/prev"
n=$(wc -l < "$tmp/cmds")
k=1
while [ $k -le $n ]; do
	head -n $k "$tmp/cmds" > "$tmp/part"
	run "$tmp/part" > "$tmp/cur"
	printf 'crash> %s\n' "$(sed -n ${k}p "$tmp/cmds")" >> "$out"
	tail -c +$(( $(wc -c < "$tmp/prev") + 1 )) "$tmp/cur" >> "$out"
	cp "$tmp/cur" "$tmp/prev"
	k=$((k + 1))
done
rm -rf "$tmp"
