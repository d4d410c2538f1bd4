#!/bin/sh
# The holder/trigger process (run by /init as `sh /holder.sh SCENARIO`).
# It keeps a few files open, prints its own TRUTH, waits until the task count
# is stable, prints the count and triggers the crash itself. From the last
# count to the crash it runs only shell builtins ([, echo, set, $((...))), so
# no process is created in between: the count is the count at the crash.
scenario=$1
truth() {
	echo "<5>TRUTH $*" > /dev/kmsg
}
echo -n kdive-trigger > /proc/$$/comm
mkfifo /tmp/holder/fifo
exec 3</proc/version 4>/tmp/holder/out.txt 5</init 7<>/tmp/holder/fifo
echo "holder $$" >&4

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

# Let the rig's workqueue pool grow its spare worker now rather than at the crash.
echo warm > /proc/kdive_rig

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
case "$scenario" in
sysrq)
	truth panic_pid $$
	truth panic_comm kdive-trigger
	echo c > /proc/sysrq-trigger
	;;
oops-proc)
	truth panic_pid $$
	truth panic_comm kdive-trigger
	echo oops > /proc/kdive_rig
	;;
oops-wq)
	# The kworker that runs the work item prints panic_pid/panic_comm itself.
	echo wq > /proc/kdive_rig
	;;
bugon)
	truth panic_pid $$
	truth panic_comm kdive-trigger
	echo bug > /proc/kdive_rig
	;;
esac
echo "RIG-ERROR: trigger for $scenario returned"
