#!/bin/sh
# The ext rig's holder/trigger process (run by /init as `sh /holder.sh SCENARIO`).
# Like the base rig's holder: it keeps a few files open, prints its own TRUTH,
# prepares the scenario (helper processes, module objects), waits until the
# task count is stable, then prints the count, the task list, /proc/slabinfo
# and /proc/meminfo and triggers the crash itself. From the last count to the
# crash it runs only shell builtins ([, echo, read, set, $((...)), for), so no
# process is created in between.
scenario=$1
truth() {
	echo "<5>TRUTH $*" > /dev/kmsg
}
error() {
	echo "<5>RIG-ERROR holder: $*" > /dev/kmsg
	exit 1
}
# trigger: the file the final `echo $command` goes to.
trigger=/proc/sysrq-trigger command=c
case "$scenario" in
hung) trigger=/proc/kdive_ext command=hung ;;
softirq) trigger=/proc/kdive_ext command=softirq ;;
tcp|mthread|uaf|poison|leak|logring) ;;
*) error "unknown scenario $scenario" ;;
esac

echo -n kdive-trigger > /proc/$$/comm
mkfifo /tmp/holder/fifo
exec 7<>/tmp/holder/fifo

# wait_for FILE: a builtin wait (read -t on our FIFO) until FILE exists.
wait_for() {
	i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		[ $i -ge 60 ] && error "$1 did not appear"
		read -t 1 x <&7
	done
}

# Helper processes first, so they do not inherit the holder's other fds.
case "$scenario" in
tcp)
	/bin/kdive-tcp 7<&- &
	wait_for /tmp/holder/tcp.ready
	;;
mthread)
	/bin/kdive-mt 7<&- &
	wait_for /tmp/holder/mt.ready
	;;
esac

exec 3</proc/version 4>/tmp/holder/out.txt 5</init 8>/proc/kdive_ext
echo "holder $$" >&4

# Scenario preparation that may take its time (before the count).
case "$scenario" in
hung)
	echo 1 > /proc/sys/kernel/hung_task_panic
	for f in /proc/[0-9]*/comm; do
		read -r c < "$f"
		if [ "$c" = khungtaskd ]; then
			p=${f#/proc/}
			truth panic_pid "${p%/comm}"
			truth panic_comm khungtaskd
		fi
	done
	truth hung_pid $$
	truth hung_comm kdive-trigger
	;;
leak)
	echo leak >&8 || error "leak command failed"
	;;
logring)
	# Wrap the printk ring (data and descriptors) with KERN_DEBUG records.
	echo flood >&8 || error "flood command failed"
	;;
poison)
	echo poison >&8 || error "poison command failed"
	[ -e /sys/kernel/slab/kdive_poison/validate ] || error "no /sys/kernel/slab/kdive_poison/validate"
	# Validation finds the overwritten poison ("Poison overwritten") and
	# restores it; write the bytes again so the dump shows them.
	echo 1 > /sys/kernel/slab/kdive_poison/validate
	echo repoison >&8 || error "repoison command failed"
	;;
esac

# From here on stdout is the trigger file, so that the crash is a plain `echo`
# without a redirection: a redirection would rearrange the fds (ash saves fd 1
# on fd 10+) at the very moment of the crash, and holder_fd would be wrong.
exec 1>"$trigger"

truth holder_pid $$
truth holder_comm "$(cat /proc/$$/comm)"
# List the fds from a subshell so that the directory being read is not one of
# the holder's own fds.
(
	cd /proc/$$/fd || exit 1
	for fd in $(ls | sort -n); do
		truth holder_fd "$fd" "$(readlink "$fd")"
	done
)

# Wait (read -t on our own FIFO: a builtin sleep) until three counts in a row agree.
prev=-1
same=0
i=0
while :; do
	set -- /proc/[0-9]*/task/[0-9]*
	n=$#
	if [ "$n" = "$prev" ]; then same=$((same + 1)); else same=0; fi
	prev=$n
	[ $same -ge 2 ] && break
	i=$((i + 1))
	[ $i -ge 60 ] && break
	read -t 1 x <&7
done
truth tasks "$n"
# Every thread: TGID TID PPID STATE COMM (STATE and PPID from .../stat, as
# this holder reads them: the holder itself is running here).
for t in /proc/[0-9]*/task/[0-9]*; do
	p=${t#/proc/}
	p=${p%%/*}
	read -r comm < "$t/comm" || continue
	read -r st < "$t/stat" || continue
	st=${st##*) }
	set -- $st
	truth task "$p" "${t##*/}" "$2" "$1" "$comm"
done
while read -r line; do
	case "$line" in
	slabinfo* | '#'*) continue ;;
	esac
	truth slabinfo "$line"
done < /proc/slabinfo
while read -r k v rest; do
	truth meminfo "${k%:}" "$v"
done < /proc/meminfo

case "$scenario" in
hung)
	# khungtaskd panics once the holder has been blocked for 2 s (checks every 2 s).
	echo 2 > /proc/sys/kernel/hung_task_timeout_secs
	;;
softirq)
	# the timer callback prints panic_pid/panic_comm itself (the interrupted task)
	;;
uaf)
	truth panic_pid $$
	truth panic_comm kdive-trigger
	# As late as possible: nothing else may take the freed object before the crash.
	echo uaf >&8 || error "uaf command failed"
	;;
*)
	truth panic_pid $$
	truth panic_comm kdive-trigger
	;;
esac
echo "$command"
echo "<5>RIG-ERROR trigger for $scenario returned" > /dev/kmsg
