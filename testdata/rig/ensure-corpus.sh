#!/usr/bin/env bash
# ensure-corpus.sh: build (once) kdive's corpus of real Linux crash dumps.
#
# Run as root on Debian 12. Idempotent: when the corpus for the current rig
# inputs exists and is complete, it only prints its path. The corpus path is
# always the last line on stdout; progress goes to stderr.
#
# Environment:
#   KDIVE_CACHE         cache root (default $HOME/.cache/kdive)
#   RIG_SET             which corpus: base (default; corpus-<hash>, linked as
#                       corpus) or ext (the extended scenarios of ext/:
#                       corpus-ext-<hash>, linked as corpus-ext)
#   RIG_SCENARIOS       space-separated subset of the set's scenarios (default:
#                       all); a subset builds into <corpus>-partial, never the
#                       real corpus
#   RIG_BOOT_TIMEOUT    seconds one QEMU boot may take (default 600)
#   KDIVE_KEEP_OLD_CORPORA=1  keep corpus-* directories of older rig inputs
# See README.md beside this file.
set -euo pipefail
shopt -s nullglob

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KDIVE_CACHE:-${HOME:-/root}/.cache/kdive}
RIG_SET=${RIG_SET:-base}
# What each set builds (keep in sync with internal/testcorpus and README.md):
#   SET_DIR    its inputs: guest/init, guest/holder.sh, module/ (one module),
#              prog/*.c (static helper programs, ext only)
#   MODNAME    its test module
#   QEMU_DUMPS 1: also a second boot dumped by QEMU (qemu.elf, qemu.kdump)
#   FULL_KDUMP 1: vmcore.flat, vmcore.zlib, vmcore.filtered.elf besides
#              vmcore.elf and vmcore.lzo
case "$RIG_SET" in
base)
	ALL_SCENARIOS=(sysrq oops-proc oops-wq bugon)
	SET_DIR=$RIG_DIR MODNAME=kdive_rig PREFIX=corpus- LINK=corpus QEMU_DUMPS=1 FULL_KDUMP=1
	;;
ext)
	ALL_SCENARIOS=(hung softirq tcp mthread uaf poison leak logring)
	SET_DIR=$RIG_DIR/ext MODNAME=kdive_ext PREFIX=corpus-ext- LINK=corpus-ext QEMU_DUMPS=0 FULL_KDUMP=0
	;;
*)
	echo "ensure-corpus: FAILED: RIG_SET must be base or ext, not '$RIG_SET'" >&2
	exit 1
	;;
esac
BOOT_TIMEOUT=${RIG_BOOT_TIMEOUT:-600}
GUEST_MEM=512
CRASHKERNEL=192M

T0=$(date +%s)
log() { echo "[rig +$(($(date +%s) - T0))s] $*" >&2; }
fail() {
	echo "ensure-corpus: FAILED: $*" >&2
	exit 1
}

# ---------------------------------------------------------------- inputs hash
# The base corpus is keyed by its inputs: guest/*, module/*, kernel-version
# and this script; the ext corpus by those and ext/*. In both, the script's
# own sha256 is replaced by the set's epoch (the script's sha256 when that
# corpus was last rebuilt), so that changes which do not alter a corpus keep
# it and the golden outputs captured on it. A change to this script that
# does alter what a set's scenarios produce must give that set's epoch a new
# value (any: the sha256 of the new script is the custom).
BASE_SCRIPT_EPOCH=058a28beee319ed6b97f934bc4035bf383fcd37cd87754a81bad5fe757948b90
EXT_SCRIPT_EPOCH=a5e9995721e2d875e60737ab1cb118c5dc3e8b21c851285739ec7215f4d4f281
# input_sums: "SHA256  ./PATH" for every base input (ext/ excluded), or with
# "ext" for every input of both sets (ext/ included).
input_sums() {
	(
		cd "$RIG_DIR"
		if [ "${1:-}" = ext ]; then
			find . -type f \( -name '*.sh' -o -name '*.c' -o -name '*.h' -o -name Makefile \
				-o -name kernel-version -o -path './guest/*' -o -path './ext/*' \) \
				! -name '*.mod.c' ! -name '*.md' -print0
		else
			find . -type f \( -name '*.sh' -o -name '*.c' -o -name '*.h' -o -name Makefile \
				-o -name kernel-version -o -path './guest/*' \) ! -name '*.mod.c' \
				! -path './ext/*' -print0
		fi | LC_ALL=C sort -z | xargs -0 sha256sum
	)
}
inputs_hash() {
	if [ "$RIG_SET" = ext ]; then
		input_sums ext | sed "s|^[0-9a-f]*  \./ensure-corpus\.sh\$|$EXT_SCRIPT_EPOCH  ./ensure-corpus.sh|"
	else
		input_sums | sed "s|^[0-9a-f]*  \./ensure-corpus\.sh\$|$BASE_SCRIPT_EPOCH  ./ensure-corpus.sh|"
	fi | sha256sum | cut -c1-16
}

# corpus_complete DIR: MANIFEST present and every file in it has its size;
# a partial corpus must also hold the scenarios asked for now.
corpus_complete() {
	local dir=$1 size path
	[ -f "$dir/MANIFEST" ] || return 1
	if [ -n "$SUFFIX" ]; then
		[ "$(cat "$dir/scenarios" 2>/dev/null)" = "${SCENARIOS[*]}" ] || return 1
	fi
	while read -r size path; do
		[ -e "$dir/$path" ] || return 1
		[ "$(stat -L -c %s "$dir/$path")" = "$size" ] || return 1
	done <"$dir/MANIFEST"
	return 0
}

HASH=$(inputs_hash)
SCENARIOS=(${RIG_SCENARIOS:-${ALL_SCENARIOS[*]}})
SUFFIX=""
[ "${SCENARIOS[*]}" = "${ALL_SCENARIOS[*]}" ] || SUFFIX=-partial
CORPUS=$CACHE/$PREFIX$HASH$SUFFIX

if corpus_complete "$CORPUS"; then
	if [ -z "$SUFFIX" ] && [ "$(readlink "$CACHE/$LINK" 2>/dev/null)" != "$PREFIX$HASH" ]; then
		ln -sfn "$PREFIX$HASH" "$CACHE/$LINK.new" && mv -T "$CACHE/$LINK.new" "$CACHE/$LINK"
	fi
	echo "$CORPUS"
	exit 0
fi

[ "$(id -u)" = 0 ] || fail "must run as root (apt-get, mknod, module build)"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
log "waiting for the cache lock $CACHE/.lock"
flock 9
# Someone else may have built it while we waited.
if corpus_complete "$CORPUS"; then
	echo "$CORPUS"
	exit 0
fi
log "building corpus $CORPUS (set $RIG_SET, scenarios: ${SCENARIOS[*]})"

# ---------------------------------------------------------------- packages
PINNED=$(tr -d ' \n' <"$RIG_DIR/kernel-version")
APT_UPDATED=0
apt_update() {
	if [ $APT_UPDATED = 0 ]; then
		log "apt-get update"
		apt-get update -qq >&2 || fail "apt-get update"
		APT_UPDATED=1
	fi
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
available() { apt-cache show --no-all-versions "$1" >/dev/null 2>&1; }

# A kernel version is usable when its image, headers and -dbg package are each
# installed (or cached) or in the registry.
have_image() { installed "linux-image-$1-unsigned" || installed "linux-image-$1"; }
have_dbg() { [ -f "$CACHE/dbg-$1/.complete" ] || compgen -G "$CACHE/debs/linux-image-$1-dbg_*.deb" >/dev/null; }
usable() {
	{ have_image "$1" || available "linux-image-$1-unsigned"; } &&
		{ installed "linux-headers-$1" || available "linux-headers-$1"; } &&
		{ have_dbg "$1" || available "linux-image-$1-dbg"; }
}
KVER=$PINNED
if ! { have_image "$KVER" && installed "linux-headers-$KVER" && have_dbg "$KVER"; }; then
	apt_update
	if ! usable "$KVER"; then
		NEWEST=""
		for v in $(apt-cache pkgnames linux-image-6.1. |
			grep -E '^linux-image-6\.1\.[0-9]+-[0-9]+-cloud-amd64-unsigned$' |
			sed -e 's/^linux-image-//' -e 's/-unsigned$//' | sort -rV); do
			if usable "$v"; then NEWEST=$v; break; fi
		done
		[ -n "$NEWEST" ] || fail "the registry has no usable linux-image-$KVER-unsigned (+ headers, -dbg), nor any linux-image-6.1.*-cloud-amd64-unsigned"
		log "kernel $KVER (image, headers or -dbg) is not in the registry; falling back to $NEWEST"
		KVER=$NEWEST
	fi
fi

PKGS=(qemu-system-x86 kexec-tools makedumpfile busybox-static cpio gzip gcc make binutils
	coreutils util-linux kmod xz-utils "linux-headers-$KVER")
[ "$RIG_SET" = ext ] && PKGS+=(libc6-dev) # gcc -static helper programs
installed "linux-image-$KVER" || PKGS+=("linux-image-$KVER-unsigned")
MISSING=()
for p in "${PKGS[@]}"; do installed "$p" || MISSING+=("$p"); done
if [ ${#MISSING[@]} -gt 0 ]; then
	apt_update
	log "installing ${MISSING[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >&2 ||
		fail "apt-get install ${MISSING[*]}"
fi
VMLINUZ=/boot/vmlinuz-$KVER
HEADERS=/usr/src/linux-headers-$KVER
for f in "$VMLINUZ" "/lib/modules/$KVER/modules.dep" "$HEADERS/Makefile" /usr/sbin/kexec /usr/bin/makedumpfile /bin/busybox; do
	[ -e "$f" ] || fail "missing $f after installing packages"
done

# ---------------------------------------------------------------- debug info
DEBS=$CACHE/debs
DBG=$CACHE/dbg-$KVER
mkdir -p "$DEBS"
DBGDEB=("$DEBS"/linux-image-"$KVER"-dbg_*.deb)
if [ ${#DBGDEB[@]} = 0 ]; then
	apt_update
	log "apt-get download linux-image-$KVER-dbg (~280 MB)"
	rm -rf "$DEBS/partial" && mkdir -p "$DEBS/partial"
	(cd "$DEBS/partial" && apt-get download "linux-image-$KVER-dbg" >&2 2> >(grep -v unsandboxed >&2)) ||
		fail "apt-get download linux-image-$KVER-dbg"
	mv "$DEBS"/partial/*.deb "$DEBS/" && rmdir "$DEBS/partial"
	DBGDEB=("$DEBS"/linux-image-"$KVER"-dbg_*.deb)
fi
DBGVMLINUX=$DBG/usr/lib/debug/boot/vmlinux-$KVER
if [ ! -f "$DBG/.complete" ]; then
	log "dpkg-deb -x ${DBGDEB[-1]##*/}"
	rm -rf "$DBG" "$DBG.tmp"
	dpkg-deb -x "${DBGDEB[-1]}" "$DBG.tmp" || fail "dpkg-deb -x ${DBGDEB[-1]}"
	mv "$DBG.tmp" "$DBG"
	touch "$DBG/.complete"
fi
[ -f "$DBGVMLINUX" ] || fail "no $DBGVMLINUX in ${DBGDEB[-1]}"

# ---------------------------------------------------------------- build dir
BUILD=$CACHE/build-$PREFIX$HASH$SUFFIX
WORK=$CORPUS.tmp
rm -rf "$BUILD" "$WORK"
mkdir -p "$BUILD" "$WORK"
cleanup() {
	# Disk images are big and never part of the corpus.
	rm -f "$BUILD"/*/vd?.img "$BUILD"/*/qmp.in "$BUILD"/*/qmp.out 2>/dev/null || true
	if [ -n "${QEMU_PID:-}" ]; then kill "$QEMU_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- test module
log "building module $MODNAME.ko against $HEADERS"
cp -r "$SET_DIR/module" "$BUILD/module"
# Source paths in BUG() messages and DWARF read testdata/rig/[ext/]module/..., wherever the cache is.
SRCPFX=testdata/rig${SET_DIR#"$RIG_DIR"}
make -C "$HEADERS" M="$BUILD/module" \
	KCFLAGS="-fmacro-prefix-map=$BUILD/module/=$SRCPFX/module/ -fdebug-prefix-map=$BUILD/module/=$SRCPFX/module/" \
	modules >"$BUILD/module-build.log" 2>&1 ||
	{ tail -30 "$BUILD/module-build.log" >&2; fail "module build"; }
RIGKO=$BUILD/module/$MODNAME.ko

# ---------------------------------------------------------------- helper programs
# prog/NAME.c -> NAME, static (the initramfs has no libc for them), with debug info.
PROGS=()
if [ -d "$SET_DIR/prog" ]; then
	mkdir -p "$BUILD/prog"
	for src in "$SET_DIR"/prog/*.c; do
		name=${src##*/}
		name=${name%.c}
		log "building helper program $name (gcc -static)"
		gcc -static -O2 -g -Wall -pthread -fdebug-prefix-map="$SET_DIR/prog/=$SRCPFX/prog/" \
			-o "$BUILD/prog/$name" "$src" >"$BUILD/prog/$name.log" 2>&1 ||
			{ cat "$BUILD/prog/$name.log" >&2; fail "building $name"; }
		PROGS+=("$name")
	done
fi

# ---------------------------------------------------------------- initramfs
# The guest's modules and their dependencies, in load order (from the kernel's
# modules.dep): name -> path under /lib/modules/<ver>/ (the same path under the
# -dbg tree has its debug info).
GUEST_MODULES=(virtio_pci virtio_blk qemu_fw_cfg dummy)
declare -A MODPATH=()
MODORDER=()
for want in "${GUEST_MODULES[@]}"; do
	found=0
	while read -r cmd path _; do
		case "$cmd" in
		insmod) ;;
		builtin) found=1; continue ;;
		*) continue ;;
		esac
		found=1
		name=${path##*/}
		name=${name%%.ko*}
		[ -n "${MODPATH[$name]:-}" ] && continue
		MODPATH[$name]=${path#*/modules/"$KVER"/}
		MODORDER+=("$name")
	done < <(modprobe -C /dev/null -S "$KVER" --show-depends "$want" 2>/dev/null)
	[ $found = 1 ] || fail "kernel $KVER has no module $want"
done
log "building the initramfs"
IR=$BUILD/initramfs
mkdir -p "$IR"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,boot,etc,root} "$IR/lib/modules/$KVER"
cp /bin/busybox "$IR/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$IR/bin/$applet" ] || ln -s busybox "$IR/bin/$applet"
done
cp /usr/sbin/kexec "$IR/usr/sbin/kexec"
cp /usr/bin/makedumpfile "$IR/usr/bin/makedumpfile"
for lib in $(ldd /usr/sbin/kexec /usr/bin/makedumpfile | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u); do
	mkdir -p "$IR$(dirname "$lib")"
	cp -L "$lib" "$IR$lib"
done
for m in "${MODORDER[@]}"; do
	src=/lib/modules/$KVER/${MODPATH[$m]}
	case "$src" in
	*.ko) cp "$src" "$IR/lib/modules/$KVER/$m.ko" ;;
	*.ko.xz) xz -dc "$src" >"$IR/lib/modules/$KVER/$m.ko" ;;
	*.ko.zst) zstd -qdc "$src" >"$IR/lib/modules/$KVER/$m.ko" ;;
	*.ko.gz) gzip -dc "$src" >"$IR/lib/modules/$KVER/$m.ko" ;;
	*) fail "cannot handle module file $src" ;;
	esac
	echo "$m" >>"$IR/etc/rig-modules"
done
cp "$RIGKO" "$IR/lib/modules/$KVER/$MODNAME.ko"
cp "$SET_DIR/guest/init" "$IR/init"
cp "$SET_DIR/guest/holder.sh" "$IR/holder.sh"
chmod 755 "$IR/init" "$IR/holder.sh"
for p in "${PROGS[@]}"; do cp "$BUILD/prog/$p" "$IR/bin/$p"; done
mknod -m 600 "$IR/dev/console" c 5 1
mknod -m 666 "$IR/dev/null" c 1 3
(cd "$IR" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -6 >"$BUILD/inner.cpio.gz"
# The first kernel's initramfs also carries the kernel and the initramfs
# itself (for kexec -p): a second archive appended after 4-byte alignment.
mkdir -p "$BUILD/extra/boot"
cp "$VMLINUZ" "$BUILD/extra/boot/vmlinuz"
cp "$BUILD/inner.cpio.gz" "$BUILD/extra/boot/initrd.img"
{
	cat "$BUILD/inner.cpio.gz"
	pad=$(((4 - $(stat -c %s "$BUILD/inner.cpio.gz") % 4) % 4))
	head -c "$pad" /dev/zero
	(cd "$BUILD/extra" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0)
} >"$BUILD/initrd.img"
rm -rf "$BUILD/extra"
log "initramfs: $(stat -c %s "$BUILD/initrd.img") bytes"

# ---------------------------------------------------------------- helpers
# elf_extent FILE: largest offset+filesz over the ELF header's program headers.
elf_extent() {
	local max=0 end
	while read -r type off va pa fsz rest; do
		case "$type" in LOAD | NOTE) ;; *) continue ;; esac
		end=$((off + fsz))
		[ $end -gt $max ] && max=$end
	done < <(readelf -lW "$1" 2>/dev/null)
	echo $max
}

# The guest writes TRUTH and RIG-* lines to /dev/kmsg: each is one kernel log
# record on the console, "[  time] TRUTH ...", possibly after some unfinished
# line of user-space output.
# extract_truth CONSOLE: the TRUTH lines, without kernel timestamps or CRs.
extract_truth() {
	tr -d '\r' <"$1" | sed -n 's/^.*\[ *[0-9]*\.[0-9]*\] \(TRUTH .*\)$/\1/p'
}
# marker CONSOLE NAME: the value(s) of "RIG-NAME value" records ("" when bare).
has_marker() { tr -d '\r' <"$1" | grep "\] RIG-$2\( \|$\)" >/dev/null; } # not -q: with pipefail, tr may die of SIGPIPE
marker() { tr -d '\r' <"$1" | sed -n "s/^.*\] RIG-$2 \{0,1\}\(.*\)$/\1/p"; }

boot_failed() { # scenario console message
	echo "---- last 60 lines of $2 ----" >&2
	tail -n 60 "$2" | tr -d '\r' >&2 || true
	echo "----" >&2
	fail "scenario $1: $3"
}

# console_expect SCENARIO: the lines (grep patterns) its console must have.
console_expect() {
	case "$1" in
	sysrq) echo 'Kernel panic - not syncing: sysrq triggered crash' ;;
	oops-proc) echo 'BUG: kernel NULL pointer dereference' ;;
	oops-wq) echo 'Workqueue: kdive_rig_wq' ;;
	bugon) echo 'kernel BUG at' ;;
	hung)
		echo 'INFO: task kdive-trigger:[0-9]* blocked for more than [0-9]* seconds'
		echo 'Kernel panic - not syncing: hung_task: blocked tasks'
		;;
	softirq)
		echo 'BUG: kernel NULL pointer dereference'
		echo '<IRQ>'
		echo 'kdive_ext_timer_fn'
		;;
	tcp | mthread | uaf | leak | logring) echo 'Kernel panic - not syncing: sysrq triggered crash' ;;
	poison)
		echo 'BUG kdive_poison .*: Poison overwritten'
		echo 'Kernel panic - not syncing: sysrq triggered crash'
		;;
	esac
	echo 'Call Trace:'
	case "$1" in
	oops-proc | oops-wq | bugon | softirq) echo 'Oops:\|invalid opcode:' ;;
	esac
}

# check_console SCENARIO CONSOLE: the crash shows as expected.
check_console() {
	local s=$1 c=$2 pat
	while read -r pat; do
		grep -q -- "$pat" "$c" || boot_failed "$s" "$c" "console lacks '$pat'"
	done < <(console_expect "$s")
}

# truth_expect SCENARIO: the TRUTH keys its truth file must have.
truth_expect() {
	echo release nodename cpus memtotal_kb holder_pid holder_fd kallsyms netdev module tasks panic_pid panic_comm object
	if [ "$RIG_SET" = ext ]; then
		echo task slabinfo meminfo cmdline pcpu
		case "$1" in
		hung) echo hung_pid hung_comm ;;
		softirq) echo panic_context ;;
		tcp) echo tcp_pid tcp_comm tcp_fd tcp_socket ;;
		mthread) echo mt_tgid mt_thread ;;
		uaf) echo uaf_same uaf_size ;;
		poison) echo poison_write poison_size ;;
		leak) echo leak_count leak_obj leak_objsize ;;
		logring) echo flood_count ;;
		esac
	fi
}

check_truth() { # scenario truthfile console
	local k
	for k in $(truth_expect "$1"); do
		grep -q "^TRUTH $k " "$2" || boot_failed "$1" "$3" "truth lacks '$k'"
	done
}

# scenario_cmdline SCENARIO: extra kernel command line of its first kernel.
scenario_cmdline() {
	case "$1" in
	poison) echo "slub_debug=FZPU,kdive_poison" ;;
	esac
}

QEMU_COMMON=(-accel tcg -m "$GUEST_MEM" -smp 2 -nodefaults -no-user-config -display none
	-no-reboot -device vmcoreinfo -kernel "$BUILD/vmlinuz" -initrd "$BUILD/initrd.img")
cp "$VMLINUZ" "$BUILD/vmlinuz"

# ---------------------------------------------------------------- kdump boot
run_kdump() {
	local s=$1 d=$BUILD/$1 out=$WORK/$1 rc extra
	extra=$(scenario_cmdline "$s")
	mkdir -p "$d" "$out"
	truncate -s 640M "$d/vda.img"
	truncate -s 640M "$d/vdb.img"
	log "[$s] kdump boot (crash, capture kernel, makedumpfile)"
	set +e
	timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 "${QEMU_COMMON[@]}" \
		-serial "file:$d/console.log" \
		-drive "file=$d/vda.img,format=raw,if=virtio" \
		-drive "file=$d/vdb.img,format=raw,if=virtio" \
		-append "console=ttyS0 panic=1 crashkernel=$CRASHKERNEL printk.devkmsg=on rig.scenario=$s rig.mode=kdump${extra:+ $extra}" \
		>"$d/qemu.log" 2>&1
	rc=$?
	set -e
	[ $rc = 124 ] || [ $rc = 137 ] && boot_failed "$s" "$d/console.log" "timed out after ${BOOT_TIMEOUT}s"
	[ $rc = 0 ] || { cat "$d/qemu.log" >&2; boot_failed "$s" "$d/console.log" "qemu exited with $rc"; }
	local con=$d/console.log
	has_marker "$con" ERROR && boot_failed "$s" "$con" "$(marker "$con" ERROR | head -1)"
	has_marker "$con" KEXEC-LOADED || boot_failed "$s" "$con" "crash kernel not loaded"
	has_marker "$con" CAPTURE || boot_failed "$s" "$con" "the capture kernel did not start"
	[ "$(marker "$con" FLAT-RC)" = 0 ] || boot_failed "$s" "$con" "makedumpfile -F failed in the capture kernel"
	[ "$(marker "$con" ELF-RC)" = 0 ] || boot_failed "$s" "$con" "copying /proc/vmcore failed"
	has_marker "$con" CAPTURE-DONE || boot_failed "$s" "$con" "capture did not finish"
	check_console "$s" "$con"
	cp "$con" "$out/console.log"
	extract_truth "$con" >"$out/truth.txt"
	check_truth "$s" "$out/truth.txt" "$con"

	local flatsize vmsize elfsize
	flatsize=$(marker "$con" FLAT-SIZE)
	vmsize=$(marker "$con" VMCORE-SIZE)
	[ -n "$flatsize" ] && [ "$flatsize" -gt 4096 ] || boot_failed "$s" "$con" "bad flattened size '$flatsize'"
	mv "$d/vda.img" "$out/vmcore.flat"
	truncate -s "$flatsize" "$out/vmcore.flat"
	mv "$d/vdb.img" "$out/vmcore.elf"
	elfsize=$(elf_extent "$out/vmcore.elf")
	[ "$elfsize" -gt 0 ] || boot_failed "$s" "$con" "vmcore.elf has no program headers"
	[ "$elfsize" = "$vmsize" ] || log "[$s] note: ELF extent $elfsize != /proc/vmcore size $vmsize"
	truncate -s "$elfsize" "$out/vmcore.elf"

	if [ "$FULL_KDUMP" = 0 ]; then
		log "[$s] makedumpfile: -R (lzo)"
		makedumpfile -R "$out/vmcore.lzo" <"$out/vmcore.flat" >>"$d/makedumpfile.log" 2>&1 ||
			{ tail "$d/makedumpfile.log" >&2; fail "[$s] makedumpfile -R"; }
		rm -f "$out/vmcore.flat"
		return 0
	fi
	log "[$s] makedumpfile: -R (lzo), -c -d 31 (zlib), -E -d 31 (filtered ELF)"
	makedumpfile -R "$out/vmcore.lzo" <"$out/vmcore.flat" >>"$d/makedumpfile.log" 2>&1 ||
		{ tail "$d/makedumpfile.log" >&2; fail "[$s] makedumpfile -R"; }
	makedumpfile -c -d 31 "$out/vmcore.elf" "$out/vmcore.zlib" >>"$d/makedumpfile.log" 2>&1 ||
		{ tail "$d/makedumpfile.log" >&2; fail "[$s] makedumpfile -c"; }
	makedumpfile -E -d 31 "$out/vmcore.elf" "$out/vmcore.filtered.elf" >>"$d/makedumpfile.log" 2>&1 ||
		{ tail "$d/makedumpfile.log" >&2; fail "[$s] makedumpfile -E"; }
}

# ---------------------------------------------------------------- QEMU dump boot
QEMU_PID=""
run_qemu_dump() {
	local s=$1 d=$BUILD/$1 out=$WORK/$1 con line waited=0 qin qout
	mkdir -p "$d" "$out"
	con=$d/qemu-console.log
	rm -f "$d/qmp.in" "$d/qmp.out" "$con"
	mkfifo "$d/qmp.in" "$d/qmp.out"
	log "[$s] QEMU boot without kdump (panic=0), then dump-guest-memory"
	qemu-system-x86_64 "${QEMU_COMMON[@]}" \
		-serial "file:$con" \
		-chardev "pipe,id=qmp,path=$d/qmp" -mon chardev=qmp,mode=control \
		-append "console=ttyS0 panic=0 printk.devkmsg=on rig.scenario=$s rig.mode=qemu" \
		>"$d/qemu-dump.log" 2>&1 &
	QEMU_PID=$!
	exec {qin}<>"$d/qmp.in" {qout}<>"$d/qmp.out"
	until grep -q 'end Kernel panic' "$con" 2>/dev/null; do
		kill -0 "$QEMU_PID" 2>/dev/null || boot_failed "$s" "$con" "qemu exited before the panic"
		[ -f "$con" ] && has_marker "$con" ERROR && boot_failed "$s" "$con" "$(marker "$con" ERROR | head -1)"
		[ $waited -ge "$BOOT_TIMEOUT" ] && { kill "$QEMU_PID"; boot_failed "$s" "$con" "no panic after ${BOOT_TIMEOUT}s"; }
		sleep 2
		waited=$((waited + 2))
	done
	sleep 2
	qmp() { # JSON command; waits for its return (skipping greeting and events)
		echo "$1" >&$qin
		while IFS= read -r -t "$BOOT_TIMEOUT" line <&$qout; do
			echo "$line" >>"$d/qmp.log"
			case "$line" in
			*'"return"'*) return 0 ;;
			*'"error"'*) echo "QMP error: $line" >&2; return 1 ;;
			esac
		done
		echo "QMP: no answer to $1" >&2
		return 1
	}
	qmp '{"execute":"qmp_capabilities"}' || fail "[$s] QMP handshake"
	qmp '{"execute":"stop"}' || fail "[$s] QMP stop"
	qmp "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$out/qemu.elf\"}}" ||
		fail "[$s] dump-guest-memory (elf)"
	qmp "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$out/qemu.kdump\",\"format\":\"kdump-zlib\"}}" ||
		fail "[$s] dump-guest-memory (kdump-zlib)"
	qmp '{"execute":"quit"}' || true
	wait "$QEMU_PID" || true
	QEMU_PID=""
	exec {qin}>&- {qout}>&-
	rm -f "$d/qmp.in" "$d/qmp.out"
	check_console "$s" "$con"
	cp "$con" "$out/qemu-console.log"
	extract_truth "$con" >"$out/qemu-truth.txt"
	check_truth "$s" "$out/qemu-truth.txt" "$con"
}

for s in "${SCENARIOS[@]}"; do
	case " ${ALL_SCENARIOS[*]} " in *" $s "*) ;; *) fail "unknown scenario $s" ;; esac
	run_kdump "$s"
	[ "$QEMU_DUMPS" = 1 ] && run_qemu_dump "$s"
	rm -rf "${BUILD:?}/$s"
	log "[$s] done: $(du -sh "$WORK/$s" | cut -f1)"
done

# ---------------------------------------------------------------- shared files
link_or_copy() { ln -f "$1" "$2" 2>/dev/null || cp "$1" "$2"; }
link_or_copy "$DBGVMLINUX" "$WORK/vmlinux"
[ -f "$DBG/usr/lib/debug/boot/System.map-$KVER" ] && link_or_copy "$DBG/usr/lib/debug/boot/System.map-$KVER" "$WORK/System.map"
mkdir -p "$WORK/modules"
cp "$RIGKO" "$WORK/modules/$MODNAME.ko"
cp "$SET_DIR/module/$MODNAME.c" "$WORK/modules/$MODNAME.c"
if [ ${#PROGS[@]} -gt 0 ]; then
	mkdir -p "$WORK/bin"
	for p in "${PROGS[@]}"; do
		cp "$BUILD/prog/$p" "$WORK/bin/$p"
		cp "$SET_DIR/prog/$p.c" "$WORK/bin/$p.c"
	done
fi
for m in "${MODORDER[@]}"; do
	dbgko=$DBG/usr/lib/debug/lib/modules/$KVER/${MODPATH[$m]%.ko*}.ko
	[ -f "$dbgko" ] || fail "no debug module $dbgko"
	link_or_copy "$dbgko" "$WORK/modules/$m.ko"
done
echo "$KVER" >"$WORK/kernel-version"
echo "$HASH" >"$WORK/rig-hash"
echo "$RIG_SET" >"$WORK/rig-set"
[ -n "$SUFFIX" ] && echo "${SCENARIOS[*]}" >"$WORK/scenarios"
(
	cd "$WORK"
	find . \( -type f -o -type l \) ! -name MANIFEST -printf '%P\n' | LC_ALL=C sort |
		while read -r f; do echo "$(stat -L -c %s "$f") $f"; done
) >"$BUILD/MANIFEST"
mv "$BUILD/MANIFEST" "$WORK/MANIFEST"

rm -rf "$CORPUS"
mv "$WORK" "$CORPUS"
rm -rf "$BUILD"
if [ -z "$SUFFIX" ]; then
	ln -sfn "$PREFIX$HASH" "$CACHE/$LINK.new" && mv -T "$CACHE/$LINK.new" "$CACHE/$LINK"
	if [ "${KDIVE_KEEP_OLD_CORPORA:-0}" != 1 ]; then
		# Only this set's older corpora: corpus-ext-* belong to the ext set.
		for old in "$CACHE/$PREFIX"*; do
			[ "$old" = "$CORPUS" ] && continue
			[ "$RIG_SET" = base ] && case "${old##*/}" in corpus-ext-*) continue ;; esac
			log "removing old $old"
			rm -rf "$old"
		done
	fi
fi
log "corpus complete: $(du -sh --apparent-size "$CORPUS" | cut -f1) in $(($(date +%s) - T0)) s"
echo "$CORPUS"
