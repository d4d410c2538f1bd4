#!/usr/bin/env bash
# kdive vs crash vs drgn, on the same dump files, side by side.
#
#   bench/run.sh [SCENARIO]          (make bench)
#
# 1. open + sys: wall time (median of runs) and peak RSS (GNU time %M) of
#      kdive -s VMLINUX DUMP -c sys
#      kdive -s DUMP -c sys                       (no vmlinux)
#      crash -s VMLINUX DUMP -i {sys; quit}
#      drgn -q -c DUMP -s VMLINUX bench/drgn_sys.py   (the same facts as sys)
# 2. random physical page reads: bench/pagebench picks PAGES distinct present
#    pages of the dump's RAM (counting the excluded ones it skips) and times
#    kdive's ReadPhysAt on them; crash reads the same pages with
#    `rd -p -r /dev/null ADDR 4096`, one command per page, PAGE_PASSES passes
#    in one run, each timed between `!date` markers; kdive's command line does
#    the same batch (row "kdive CLI"); drgn does prog.read(ADDR, 4096, True)
#    (bench/drgn_pages.py). Each reports its median pass.
# 3. tasks, each a cold start: bt of the panic task, foreach bt, log; kdive
#    and crash on the scenario's vmcore.lzo, kdive and drgn on its vmcore.elf
#    (bench/drgn_tasks.py). Targets: bt >= 20x faster than crash, no slower
#    than drgn. Then `log` of a full (wrapped) printk ring: the ext corpus's
#    logring dump, when built (rows "log full ring ..."); and 510 gdb
#    `disassemble` dumps in one session, kdive vs crash (row "disassemble x510").
# 4. a summary: ratios and the targets (open + sys >= 20x faster than crash,
#    kdive < 150 MiB peak RSS).
#
# Results: bench/out/<date>/ (raw logs, results.tsv, pages.jsonl, report.txt),
# bench/out/latest -> it, and the report on standard output.
#
# Environment:
#   KDIVE_CORPUS  corpus directory (default ${KDIVE_CACHE:-$HOME/.cache/kdive}/corpus,
#                 where testdata/rig/ensure-corpus.sh builds it)
#   SCENARIO      scenario (default: oops-proc, else the first complete one)
#   VMLINUX       debug vmlinux (default $KDIVE_CORPUS/vmlinux, else Debian's
#                 /usr/lib/debug/boot/vmlinux-6.1.0-53-cloud-amd64 or the rig's copy)
#   FORMATS       corpus files to use (default: vmcore.elf vmcore.lzo vmcore.zlib
#                 vmcore.flat vmcore.filtered.elf qemu.elf qemu.kdump)
#   EXTRA_DUMPS   more dumps of the same kernel (default: vmcore.zstd and
#                 vmcore.snappy of /work/shared/dumps/sysrq-zstd, when present)
#   RUNS          runs per tool for open + sys (default 5)
#   CRASH_RUNS    runs for crash, which takes 10-20 s a start (default 3, to
#                 stay near 10 minutes; FULL=1 makes it RUNS)
#   PAGES         pages to read per format (default 2000)
#   PAGE_PASSES   passes over them for crash, kdive CLI and drgn (median; default 3)
#   TOOLS         subset of "kdive crash drgn" (default all that are installed)
#   TIMEOUT       seconds before a run is killed (default 300)
#   KDIVE         kdive binary (default: built from this tree into the output
#                 directory, so that a rebuild of ./kdive does not change it mid-run)
#   INSTALL=0     do not apt-get install what is missing (crash, python3-drgn,
#                 time; done by default when root)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export PATH=/usr/local/go/bin:$PATH

CORPUS=${KDIVE_CORPUS:-${KDIVE_CACHE:-$HOME/.cache/kdive}/corpus}
RUNS=${RUNS:-5}
if [[ -n ${FULL:-} ]]; then CRASH_RUNS=${CRASH_RUNS:-$RUNS}; fi
CRASH_RUNS=${CRASH_RUNS:-$(( RUNS < 3 ? RUNS : 3 ))}
PAGES=${PAGES:-2000}
PAGE_PASSES=${PAGE_PASSES:-3}
TIMEOUT=${TIMEOUT:-300}
FORMATS=${FORMATS:-vmcore.elf vmcore.lzo vmcore.zlib vmcore.flat vmcore.filtered.elf qemu.elf qemu.kdump}
SCENARIO=${1:-${SCENARIO:-}}
STARTED=$(date +%s)
LOAD0=$(cut -d' ' -f1 /proc/loadavg)

die() { echo "bench: $*" >&2; exit 1; }

# Commands run in the background so that a signal to this script reaches
# them too (timeout puts its child in a process group of its own).
CUR=""
trap '[[ -n $CUR ]] && kill -TERM "$CUR" 2>/dev/null; exit 130' INT TERM HUP
bg_run() { # CMD...: run, wait, return its status
	"$@" &
	CUR=$!
	wait "$CUR"
	local rc=$?
	CUR=""
	return $rc
}
note() { echo "bench: $*" >&2; }

# --- tools -----------------------------------------------------------------
want_pkgs=()
[[ -x /usr/bin/time ]] || want_pkgs+=(time)
command -v crash >/dev/null || want_pkgs+=(crash)
command -v drgn >/dev/null || want_pkgs+=(python3-drgn)
if ((${#want_pkgs[@]})); then
	if [[ ${INSTALL:-1} != 0 ]] && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
		note "installing ${want_pkgs[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${want_pkgs[@]}" >&2 ||
			{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${want_pkgs[@]}" >&2; } ||
			note "could not install ${want_pkgs[*]}"
	else
		note "missing ${want_pkgs[*]} (run as root to apt-get install them)"
	fi
fi
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is needed: apt-get install time"

TOOLS=${TOOLS:-kdive crash drgn}
have() { [[ " $TOOLS " == *" $1 "* ]]; }
if have crash && ! command -v crash >/dev/null; then note "crash not installed: skipped"; TOOLS=${TOOLS/crash/}; fi
if have drgn && ! command -v drgn >/dev/null; then note "drgn not installed: skipped"; TOOLS=${TOOLS/drgn/}; fi
# drgn's Python is the system one (a pyenv python3 on PATH may lack it).
DRGN_PY=/usr/bin/python3
DRGN_KDUMP=0
if have drgn; then
	DRGN_PY=$(head -1 "$(command -v drgn)" | sed -n 's/^#! *//p' | awk '{print $1}')
	[[ -x $DRGN_PY ]] || DRGN_PY=/usr/bin/python3
	if "$DRGN_PY" -c 'import drgn, sys; sys.exit(0 if getattr(drgn, "_with_libkdumpfile", False) else 1)' 2>/dev/null; then
		DRGN_KDUMP=1
	fi
fi

# --- inputs ----------------------------------------------------------------
complete_scenario() { # dir: every wanted format present
	local f
	for f in $FORMATS; do [[ -s $1/$f ]] || return 1; done
}
if [[ -z $SCENARIO ]]; then
	if [[ -d $CORPUS/oops-proc ]] && complete_scenario "$CORPUS/oops-proc"; then
		SCENARIO=oops-proc
	else
		for d in "$CORPUS"/*/; do
			d=${d%/}
			[[ -d $d ]] && complete_scenario "$d" && { SCENARIO=$(basename "$d"); break; }
		done
	fi
	if [[ -z $SCENARIO ]]; then # no complete one: the one with most files
		best=0
		for d in "$CORPUS"/*/; do
			d=${d%/}; n=0
			for f in $FORMATS; do [[ -s $d/$f ]] && n=$((n + 1)); done
			((n > best)) && { best=$n; SCENARIO=$(basename "$d"); }
		done
	fi
fi
SCEN_DIR=$CORPUS/$SCENARIO
if [[ -z ${VMLINUX:-} ]]; then
	for v in "$CORPUS/vmlinux" /usr/lib/debug/boot/vmlinux-6.1.0-53-cloud-amd64 \
		/work/rigdev/cache/dbg-6.1.0-53-cloud-amd64/usr/lib/debug/boot/vmlinux-6.1.0-53-cloud-amd64; do
		[[ -s $v ]] && { VMLINUX=$v; break; }
	done
fi
[[ -s ${VMLINUX:-} ]] || die "no debug vmlinux (set VMLINUX)"

labels=() paths=() rams=()
if [[ -n $SCENARIO && -d $SCEN_DIR ]]; then
	for f in $FORMATS; do
		if [[ -s $SCEN_DIR/$f ]]; then
			labels+=("$f"); paths+=("$SCEN_DIR/$f")
			# Candidates for page reads: the unfiltered ELF's RAM ranges, so
			# every format of the crash draws the same pages.
			if [[ -s $SCEN_DIR/vmcore.elf ]]; then rams+=("$SCEN_DIR/vmcore.elf"); else rams+=(""); fi
		else
			note "$SCEN_DIR/$f: missing, skipped"
		fi
	done
else
	note "no corpus scenario under $CORPUS (set KDIVE_CORPUS / SCENARIO)"
fi
if [[ -z ${EXTRA_DUMPS+set} ]]; then
	EXTRA_DUMPS=""
	for f in /work/shared/dumps/sysrq-zstd/vmcore.zstd /work/shared/dumps/sysrq-zstd/vmcore.snappy; do
		[[ -s $f ]] && EXTRA_DUMPS+=" $f"
	done
fi
for f in $EXTRA_DUMPS; do
	[[ -s $f ]] || { note "$f: missing, skipped"; continue; }
	labels+=("$(basename "$(dirname "$f")")/$(basename "$f")"); paths+=("$f"); rams+=("")
done
((${#paths[@]})) || die "no dump to measure"

# --- output ----------------------------------------------------------------
OUT=$ROOT/bench/out/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT/logs" || die "cannot create $OUT"
ln -sfn "$(basename "$OUT")" "$ROOT/bench/out/latest"
TSV=$OUT/results.tsv
PJ=$OUT/pages.jsonl
: >"$PJ"
printf 'kind\tformat\ttool\trun\twall_s\trss_kb\trc\tok\tnote\tcpu_s\n' >"$TSV"

# --- build -----------------------------------------------------------------
if [[ -z ${KDIVE:-} ]]; then
	KDIVE=$OUT/kdive
	go build -o "$KDIVE" ./cmd/kdive || die "kdive does not build"
fi
KDIVE_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$([[ -n $(git -C "$ROOT" status --porcelain -- cmd internal go.mod 2>/dev/null) ]] && echo "+dirty")
PAGEBENCH=$OUT/pagebench
go build -o "$PAGEBENCH" ./bench/pagebench || die "bench/pagebench does not build"

# dump kind by content: elf, or kdump (kdump-compressed, maybe flattened)
dump_kind() {
	local m
	m=$(head -c 4 "$1" | od -An -c | tr -d ' ')
	[[ $m == '177ELF' ]] && echo elf || echo kdump
}

# One timed run: measure KIND LABEL TOOL RUN CHECK-REGEX -- CMD...
# Records wall time (bash's clock around GNU time) and peak RSS.
measure() {
	local kind=$1 label=$2 tool=$3 run=$4 check=$5
	shift 6
	local slug=${label//\//_}
	local log=$OUT/logs/$kind.$slug.${tool// /_}.$run.log tf=$OUT/logs/.time
	local t0 t1 rc ok=0 rss cpu wall why=""
	t0=$EPOCHREALTIME
	bg_run timeout "$TIMEOUT" /usr/bin/time -f 'BENCH-TIME %M %U %S' -o "$tf" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	t1=$EPOCHREALTIME
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b-a}')
	rss=$(awk '$1 == "BENCH-TIME" {print $2}' "$tf" | tail -1)
	cpu=$(awk '$1 == "BENCH-TIME" {printf "%.2f", $3 + $4}' "$tf" | tail -1)
	if ((rc == 0)) && grep -qE "$check" "$log"; then
		ok=1
	else
		((rc == 124)) && why="timeout after ${TIMEOUT}s"
		[[ -z $why ]] && why=$(grep -vE '^\s*$|^Command exited' "$log" | grep -iE 'error|fail|cannot|invalid|not |no ' | head -1)
		[[ -z $why ]] && why=$(grep -vE '^\s*$|^Command exited' "$log" | tail -1)
		[[ -z $why ]] && why="exit status $rc, no output"
		why="rc=$rc: $(echo "$why" | tr '\t' ' ' | sed 's/^ *//' | cut -c1-160)"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$label" "$tool" "$run" "$wall" "${rss:-0}" "$rc" "$ok" "$why" "$cpu" >>"$TSV"
	printf '  %-28s %-20s run %s  %7.2fs (cpu %5.2fs) %7.1f MiB %s\n' "$label" "$tool" "$run" "$wall" "${cpu:-0}" \
		"$(awk -v k="${rss:-0}" 'BEGIN{print k/1024}')" "$([[ $ok == 1 ]] && echo ok || echo "FAILED $why")" >&2
}

# --- warm up: the files into the page cache, once ---------------------------
note "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); tools: $TOOLS"
note "scenario ${SCENARIO:-none} ($SCEN_DIR), vmlinux $VMLINUX"
note "warming the page cache"
cat "$VMLINUX" "${paths[@]}" >/dev/null 2>&1
"$KDIVE" -s "$VMLINUX" "${paths[0]}" -c sys >/dev/null 2>&1

CRASH_SYS=$OUT/crash-sys.cmd
printf 'sys\nquit\n' >"$CRASH_SYS"
SYS_CHECK='NODENAME'

# --- 1. open + sys ----------------------------------------------------------
note "== open + sys: RUNS=$RUNS CRASH_RUNS=$CRASH_RUNS"
maxr=$(( RUNS > CRASH_RUNS ? RUNS : CRASH_RUNS ))
for i in "${!paths[@]}"; do
	p=${paths[$i]} l=${labels[$i]} k=$(dump_kind "${paths[$i]}")
	if have drgn && [[ $k == kdump && $DRGN_KDUMP == 0 ]]; then
		printf 'open\t%s\tdrgn\t0\t\t\t\t0\tn/a (drgn without libkdumpfile)\n' "$l" >>"$TSV"
	fi
	# Round robin, so a slow spell of the machine hits every tool alike.
	for ((r = 1; r <= maxr; r++)); do
		if have kdive && ((r <= RUNS)); then
			measure open "$l" kdive "$r" "$SYS_CHECK" -- "$KDIVE" -s "$VMLINUX" "$p" -c sys
			measure open "$l" "kdive (no vmlinux)" "$r" "$SYS_CHECK" -- "$KDIVE" -s "$p" -c sys
		fi
		if have drgn && ((r <= RUNS)) && [[ $k == elf || $DRGN_KDUMP == 1 ]]; then
			measure open "$l" drgn "$r" "NODENAME" -- drgn -q -c "$p" -s "$VMLINUX" "$ROOT/bench/drgn_sys.py"
		fi
		if have crash && ((r <= CRASH_RUNS)); then
			measure open "$l" crash "$r" "$SYS_CHECK" -- crash -s "$VMLINUX" "$p" -i "$CRASH_SYS"
		fi
	done
done

# --- 2. random page reads ---------------------------------------------------
# marker_span LOG: the median of the spans between consecutive BENCHMARK-MARK
# lines of a run (one span per pass over the page list).
marker_span() {
	grep -oE 'BENCHMARK-MARK [0-9]+\.[0-9]+' "$1" | awk '{t[NR]=$2} NR>1{print t[NR]-t[NR-1]}' |
		sort -g | awk '{v[NR]=$1} END{if (NR) printf "%.4f", (NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2}'
}
# progress LABEL TOOL JSON: one short line on standard error
progress() {
	local pps err
	pps=$(grep -oE '"pages_per_s": ?[0-9.e+]+' <<<"$3" | grep -oE '[0-9.e+]+$')
	err=$(grep -oE '"error": ?"[^"]*"' <<<"$3" | cut -d'"' -f4)
	printf '  %-28s %-20s %s\n' "$1" "$2" "${err:-$(awk -v p="${pps:-0}" 'BEGIN{printf "%.0f pages/s", p}')}" >&2
}
note "== random page reads: PAGES=$PAGES"
for i in "${!paths[@]}"; do
	p=${paths[$i]} l=${labels[$i]} k=$(dump_kind "${paths[$i]}") slug=${labels[$i]//\//_}
	addrs=$OUT/logs/pages.$slug.addrs
	ramarg=()
	[[ -n ${rams[$i]} ]] && ramarg=(-ram "${rams[$i]}")
	if have kdive; then
		j=$(timeout "$TIMEOUT" "$PAGEBENCH" -n "$PAGES" "${ramarg[@]}" -addrs "$addrs" "$p" 2>"$OUT/logs/pages.$slug.pagebench.err")
		[[ -n $j ]] || j='{"error":"pagebench: '"$(head -c 200 "$OUT/logs/pages.$slug.pagebench.err" | tr '"\n' "' ")"'"}'
		echo "{\"format\":\"$l\",\"tool\":\"kdive\",\"r\":$j}" >>"$PJ"
		progress "$l" kdive "$j"
	fi
	[[ -s $addrs ]] || { note "  $l: no page list, peers skipped"; continue; }
	n=$(wc -l <"$addrs")
	batch=$OUT/logs/pages.$slug.cmd
	# PAGE_PASSES passes over the list in one process; the caches (crash 16
	# pages, kdive 256) are LRU and smaller than the list, so no pass hits.
	{
		echo '!date "+BENCHMARK-MARK %s.%N"'
		for ((r = 1; r <= PAGE_PASSES; r++)); do
			sed 's/^/rd -p -r \/dev\/null /; s/$/ 4096/' "$addrs"
			echo '!date "+BENCHMARK-MARK %s.%N"'
		done
		echo quit
	} >"$batch"
	for tool in "kdive CLI" crash; do
		[[ $tool == "kdive CLI" ]] && ! have kdive && continue
		[[ $tool == crash ]] && ! have crash && continue
		if [[ $tool == crash ]]; then
			cmd=(crash -s "$VMLINUX" "$p" -i "$batch")
		else
			cmd=("$KDIVE" -s "$VMLINUX" "$p" -i "$batch")
		fi
		log=$OUT/logs/pages.$slug.${tool// /_}.log
		bg_run timeout "$TIMEOUT" "${cmd[@]}" >"$log" 2>&1 </dev/null
		rc=$?
		span=$(marker_span "$log")
		if [[ -z $span ]]; then
			j="{\"error\":\"rc=$rc, no timing markers: $(grep -v '^\s*$' "$log" | tail -1 | tr '"\t' "' " | cut -c1-160)\"}"
		else
			good=$(( $(grep -c 'bytes copied' "$log") / PAGE_PASSES ))
			bad=$(( $(grep -cE '^rd: ' "$log") / PAGE_PASSES ))
			first=$(grep -m1 -E '^rd: ' "$log" | tr '"\t' "' " | cut -c1-160)
			pps=$(awk -v n="$good" -v s="$span" 'BEGIN{ if (s>0) printf "%.1f", n/s; else print 0 }')
			j="{\"pages\":$good,\"errors\":$bad,\"seconds\":$span,\"passes\":$PAGE_PASSES,\"pages_per_s\":$pps,\"rc\":$rc,\"first_error\":\"$first\"}"
		fi
		echo "{\"format\":\"$l\",\"tool\":\"$tool\",\"r\":$j}" >>"$PJ"
		progress "$l" "$tool" "$j"
	done
	if have drgn; then
		if [[ $k == kdump && $DRGN_KDUMP == 0 ]]; then
			j='{"error":"n/a (drgn without libkdumpfile)"}'
		else
			j=$(timeout "$TIMEOUT" "$DRGN_PY" "$ROOT/bench/drgn_pages.py" "$p" "$addrs" "$PAGE_PASSES" 2>"$OUT/logs/pages.$slug.drgn.err")
			[[ -n $j ]] || j='{"error":"drgn: '"$(tail -1 "$OUT/logs/pages.$slug.drgn.err" | tr '"' "'" | cut -c1-160)"'"}'
		fi
		echo "{\"format\":\"$l\",\"tool\":\"drgn\",\"r\":$j}" >>"$PJ"
		progress "$l" drgn "$j"
	fi
done

# --- 3. tasks: cold bt of the panic task, foreach bt, log ----------------------
# Each a fresh start (cold): kdive and crash on the scenario's kdump file
# (vmcore.lzo), kdive and drgn on its ELF file (vmcore.elf); drgn through
# bench/drgn_tasks.py (stack_trace of the crashed thread / of every task,
# get_dmesg). crash 8.0.2 sees only the running tasks of this kernel, so its
# foreach bt does less work than kdive's (every task).
TASK_TOOLS_OK=1
KD_FILE=$SCEN_DIR/vmcore.lzo ELF_FILE=$SCEN_DIR/vmcore.elf
[[ -s $KD_FILE && -s $ELF_FILE ]] || { note "tasks: $KD_FILE or $ELF_FILE missing, skipped"; TASK_TOOLS_OK=0; }
if ((TASK_TOOLS_OK)); then
	note "== tasks: bt, foreach bt, log (RUNS=$RUNS CRASH_RUNS=$CRASH_RUNS)"
	for t in bt "foreach bt" log; do printf '%s\nquit\n' "$t" >"$OUT/crash-${t// /_}.cmd"; done
	for ((r = 1; r <= maxr; r++)); do
		for t in bt "foreach bt" log; do
			check='PID: '
			[[ $t == log ]] && check='Linux version'
			dmode=${t%% *}
			[[ $t == "foreach bt" ]] && dmode=foreach
			dcheck='#0'
			[[ $t == log ]] && dcheck='Linux version'
			if have kdive && ((r <= RUNS)); then
				measure tasks "$t vmcore.lzo" kdive "$r" "$check" -- "$KDIVE" -s "$VMLINUX" "$KD_FILE" -c "$t"
				measure tasks "$t vmcore.lzo" "kdive (no vmlinux)" "$r" "$check" -- "$KDIVE" -s "$KD_FILE" -c "$t"
				measure tasks "$t vmcore.elf" kdive "$r" "$check" -- "$KDIVE" -s "$VMLINUX" "$ELF_FILE" -c "$t"
			fi
			if have crash && ((r <= CRASH_RUNS)); then
				measure tasks "$t vmcore.lzo" crash "$r" "$check" -- crash -s "$VMLINUX" "$KD_FILE" -i "$OUT/crash-${t// /_}.cmd"
			fi
			if have drgn && ((r <= RUNS)); then
				measure tasks "$t vmcore.elf" drgn "$r" "$dcheck" -- drgn -q -c "$ELF_FILE" -s "$VMLINUX" "$ROOT/bench/drgn_tasks.py" "$dmode"
			fi
		done
	done
fi

# --- 3a. log on a full printk ring ------------------------------------------
# The ext corpus's logring dump (testdata/rig/ext: 4,500 flood records wrapped
# the 128 KiB ring and its 4,096 descriptors): a cold `log` of the whole ring,
# kdive and crash on vmcore.lzo, kdive and drgn (get_dmesg) on vmcore.elf.
RING=${KDIVE_EXT_CORPUS:-$(dirname "$CORPUS")/corpus-ext}/logring
if ((TASK_TOOLS_OK)) && [[ -s $RING/vmcore.lzo && -s $RING/vmcore.elf && -f $RING/../vmlinux ]]; then
	note "== log on a full printk ring ($RING)"
	rvml=$(dirname "$RING")/vmlinux
	cat "$RING/vmcore.lzo" "$RING/vmcore.elf" >/dev/null 2>&1
	for ((r = 1; r <= maxr; r++)); do
		if have kdive && ((r <= RUNS)); then
			measure tasks "log full ring vmcore.lzo" kdive "$r" 'kdive-flood' -- "$KDIVE" -s "$rvml" "$RING/vmcore.lzo" -c log
			measure tasks "log full ring vmcore.lzo" "kdive (no vmlinux)" "$r" 'kdive-flood' -- "$KDIVE" -s "$RING/vmcore.lzo" -c log
			measure tasks "log full ring vmcore.elf" kdive "$r" 'kdive-flood' -- "$KDIVE" -s "$rvml" "$RING/vmcore.elf" -c log
		fi
		if have crash && ((r <= CRASH_RUNS)); then
			measure tasks "log full ring vmcore.lzo" crash "$r" 'kdive-flood' -- crash -s "$rvml" "$RING/vmcore.lzo" -i "$OUT/crash-log.cmd"
		fi
		if have drgn && ((r <= RUNS)); then
			measure tasks "log full ring vmcore.elf" drgn "$r" 'kdive-flood' -- drgn -q -c "$RING/vmcore.elf" -s "$rvml" "$ROOT/bench/drgn_tasks.py" log
		fi
	done
else
	note "log on a full ring: no ext corpus logring dump at $RING, skipped"
fi

# --- 3c. gdb's disassemble, in bulk -------------------------------------------
# The 510 `disassemble /s|/m|/r` dumps of internal/commands/testdata/
# gdbcmds-wide.cmds (254 kernel functions) in one session, kdive and crash
# (whose embedded gdb does them) on the corpus's oops-proc/vmcore.elf; their
# outputs are equal (the commands tests check it byte for byte).
WIDE=$ROOT/internal/commands/testdata/gdbcmds-wide.cmds
DIS_DUMP=$CORPUS/oops-proc/vmcore.elf
if [[ -f $WIDE && -s $DIS_DUMP ]]; then
	note "== disassemble x510 ($DIS_DUMP)"
	grep -v '^#' "$WIDE" >"$OUT/wide.cmds"
	echo q >>"$OUT/wide.cmds"
	for ((r = 1; r <= maxr; r++)); do
		if have kdive && ((r <= RUNS)); then
			measure tasks "disassemble x510 vmcore.elf" kdive "$r" 'End of assembler dump' -- "$KDIVE" -s "$VMLINUX" "$DIS_DUMP" -i "$OUT/wide.cmds"
		fi
		if have crash && ((r <= CRASH_RUNS)); then
			measure tasks "disassemble x510 vmcore.elf" crash "$r" 'End of assembler dump' -- crash -s "$VMLINUX" "$DIS_DUMP" -i "$OUT/wide.cmds"
		fi
	done
fi

# --- 3b. kmem: slab summaries -------------------------------------------------
# kmem -s (every cache) and kmem -S on the cache with the most objects, in
# one session per tool, KMEM_PASSES times each between !date markers: the
# first pass (kdive reads the cache list then) and the median pass. On the
# scenario's first format, and on the ext corpus's leak dump (a cache of
# 5000 live objects) when it is built.
KMEM_PASSES=${KMEM_PASSES:-3}
KMEM_TXT=$OUT/kmem.txt
kmem_spans() { # LOG: "first median" of the marker spans
	local spans
	spans=$(grep -oE 'BENCHMARK-MARK [0-9]+\.[0-9]+' "$1" | awk '{t[NR]=$2} NR>1{printf "%.4f\n", t[NR]-t[NR-1]}')
	[[ -n $spans ]] || return
	printf '%s %s\n' "$(head -1 <<<"$spans")" \
		"$(sort -g <<<"$spans" | awk '{v[NR]=$1} END{printf "%.4f", (NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2}')"
}
kmem_dumps=("${paths[0]}")
kmem_labels=("${labels[0]}")
EXT=${KDIVE_EXT_CORPUS:-$(dirname "$CORPUS")/corpus-ext}
if [[ -f $EXT/leak/vmcore.elf && -f $EXT/vmlinux ]]; then
	kmem_dumps+=("$EXT/leak/vmcore.elf")
	kmem_labels+=("ext leak/vmcore.elf")
fi
if have kdive; then
	note "== kmem -s, kmem -S LARGEST: KMEM_PASSES=$KMEM_PASSES"
	printf '\nkmem (median of %s passes in one session; first pass in parentheses), seconds:\n' "$KMEM_PASSES" >"$KMEM_TXT"
	printf '  %-24s %-22s %-8s %18s %18s\n' dump command objects kdive crash >>"$KMEM_TXT"
	for i in "${!kmem_dumps[@]}"; do
		p=${kmem_dumps[$i]} l=${kmem_labels[$i]} vml=$VMLINUX slug=${kmem_labels[$i]//[\/ ]/_}
		[[ $p == "$EXT"/* ]] && vml=$EXT/vmlinux
		# The cache with the most objects (TOTAL), from kdive's kmem -s.
		read -r big nobj < <("$KDIVE" -s "$vml" "$p" -c 'kmem -s' 2>/dev/null | awk 'NR>1 && NF==7 {print $7, $4}' | sort -k2,2nr | head -1)
		[[ -n ${big:-} ]] || { note "  $l: kmem -s printed no cache"; continue; }
		for what in "kmem -s" "kmem -S $big"; do
			batch=$OUT/logs/kmem.$slug.${what// /_}.cmd
			{
				echo '!date "+BENCHMARK-MARK %s.%N"'
				for ((r = 1; r <= KMEM_PASSES; r++)); do
					echo "$what"
					echo '!date "+BENCHMARK-MARK %s.%N"'
				done
				echo quit
			} >"$batch"
			res=()
			for tool in kdive crash; do
				if ! have "$tool"; then res+=("n/a"); continue; fi
				log=$OUT/logs/kmem.$slug.${what// /_}.$tool.log
				if [[ $tool == crash ]]; then
					bg_run timeout "$TIMEOUT" crash -s "$vml" "$p" -i "$batch" >"$log" 2>&1 </dev/null
				else
					bg_run timeout "$TIMEOUT" "$KDIVE" -s "$vml" "$p" -i "$batch" >"$log" 2>&1 </dev/null
				fi
				read -r first med < <(kmem_spans "$log")
				res+=("${med:-?} (${first:-?})")
			done
			n=$nobj
			[[ $what == "kmem -s" ]] && n=all
			printf '  %-24s %-22s %-8s %18s %18s\n' "$l" "$what" "$n" "${res[0]}" "${res[1]}" | tee -a "$KMEM_TXT" >&2
		done
	done
fi

# --- 4. report ----------------------------------------------------------------
ELAPSED=$(( $(date +%s) - STARTED ))
python3 "$ROOT/bench/report.py" "$OUT" \
	--scenario "${SCENARIO:-none}" --corpus "$CORPUS" --vmlinux "$VMLINUX" \
	--runs "$RUNS" --crash-runs "$CRASH_RUNS" --pages "$PAGES" --elapsed "$ELAPSED" \
	--host "$(nproc) CPUs, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)" \
	--ncpu "$(nproc)" --load "$LOAD0 $(cut -d' ' -f1-3 /proc/loadavg)" \
	--versions "$("$KDIVE" --version 2>/dev/null | head -1 | tr -d '\n') ($KDIVE_REV); $(crash --version 2>/dev/null | grep -m1 -o 'crash [0-9.]*'); drgn $("$DRGN_PY" -c 'import drgn; print(drgn.__version__)' 2>/dev/null)$([[ $DRGN_KDUMP == 1 ]] && echo ' (with libkdumpfile)')" \
	| tee "$OUT/report.txt"
rc=${PIPESTATUS[0]}
[[ -s ${KMEM_TXT:-} ]] && tee -a "$OUT/report.txt" <"$KMEM_TXT"
exit "$rc"
