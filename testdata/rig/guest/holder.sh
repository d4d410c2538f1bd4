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
case "$scenario" in
sysrq) trigger=/proc/sysrq-trigger command=c ;;
oops-proc) trigger=/proc/kdive_rig command=oops ;;
oops-wq) trigger=/proc/kdive_rig command=wq ;;
bugon) trigger=/proc/kdive_rig command=bug ;;
*) echo "<5>RIG-ERROR holder: unknown scenario $scenario" > /dev/kmsg; exit 1 ;;
esac

echo -n kdive-trigger > /proc/$$/comm
mkfifo /tmp/holder/fifo
# Let the rig's workqueue pool grow its spare worker now rather than at the crash.
echo warm > /proc/kdive_rig

exec 3</proc/version 4>/tmp/holder/out.txt 5</init 7<>/tmp/holder/fifo
echo "holder $$" >&4
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
if [ "$scenario" != oops-wq ]; then
	truth panic_pid $$
	truth panic_comm kdive-trigger
fi
# oops-wq: the kworker that runs the work item prints panic_pid/panic_comm itself;
# this write waits for it.
echo "$command"
echo "<5>RIG-ERROR trigger for $scenario returned" > /dev/kmsg
