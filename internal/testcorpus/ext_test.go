package testcorpus

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestParseExtTruth(t *testing.T) {
	m := ParseTruth(`TRUTH task 1 1 0 S init
TRUTH task 130 133 124 S mt-futex
TRUTH task 2 17 0 I kworker/0:1H-kblockd
TRUTH slabinfo kmalloc-1k           560    576   1024   16    4 : tunables    0    0    0 : slabdata     36     36      0
TRUTH slabinfo kdive_leak           5010   5010    120   34    1 : tunables    0    0    0 : slabdata    147    147      0
TRUTH meminfo MemTotal 284424
TRUTH meminfo HugePages_Total 0
TRUTH object uaf_a ffff8b6001234400
`)
	tasks, err := ParseTasks(m)
	if err != nil || len(tasks) != 3 || tasks[1] != (Task{TGID: 130, TID: 133, PPID: 124, State: "S", Comm: "mt-futex"}) ||
		tasks[2].Comm != "kworker/0:1H-kblockd" {
		t.Fatalf("tasks %+v %v", tasks, err)
	}
	slabs, err := ParseSlabinfo(m)
	if err != nil || slabs["kdive_leak"].NumObjs != 5010 || slabs["kmalloc-1k"].ObjSize != 1024 ||
		slabs["kmalloc-1k"].PagesPerSlab != 4 || slabs["kdive_leak"].NumSlabs != 147 {
		t.Fatalf("slabinfo %+v %v", slabs, err)
	}
	mem, err := ParseMeminfo(m)
	if err != nil || mem["MemTotal"] != 284424 || len(mem) != 2 {
		t.Fatalf("meminfo %v %v", mem, err)
	}
	objs, err := ParseObjects(m)
	if err != nil || objs["uaf_a"] != 0xffff8b6001234400 {
		t.Fatalf("objects %v %v", objs, err)
	}
	for _, bad := range []string{"TRUTH task 1 x 0 S init", "TRUTH task 1 1 0"} {
		if _, err := ParseTasks(ParseTruth(bad)); err == nil {
			t.Errorf("ParseTasks(%q) accepted", bad)
		}
	}
	if _, err := ParseSlabinfo(ParseTruth("TRUTH slabinfo a 1 2 3")); err == nil {
		t.Error("ParseSlabinfo accepted a short line")
	}
	if len(ExtScenarios()) != 8 || len(ExtFiles()) != 4 {
		t.Fatalf("ext scenarios %v files %v", ExtScenarios(), ExtFiles())
	}
}

// extConsoleLines: what each ext scenario's console must show.
var extConsoleLines = map[string][]string{
	"hung":    {"blocked for more than 2 seconds", "Kernel panic - not syncing: hung_task: blocked tasks"},
	"softirq": {"BUG: kernel NULL pointer dereference", "<IRQ>", "call_timer_fn", "kdive_ext_timer_fn"},
	"tcp":     {"Kernel panic - not syncing: sysrq triggered crash"},
	"mthread": {"Kernel panic - not syncing: sysrq triggered crash"},
	"uaf":     {"Kernel panic - not syncing: sysrq triggered crash"},
	"poison":  {"Poison overwritten", "Kernel panic - not syncing: sysrq triggered crash"},
	"leak":    {"Kernel panic - not syncing: sysrq triggered crash"},
	"logring": {"TRUTH flood_count 4500", "Kernel panic - not syncing: sysrq triggered crash"},
}

// TestExtCorpusComplete checks the ext corpus when one is present: every
// file, the dump headers, the console's crash and each scenario's truth.
func TestExtCorpusComplete(t *testing.T) {
	dir := ExtDir(t)
	if err := CheckExtComplete(dir); err != nil {
		t.Fatalf("ext corpus %s incomplete: %v", dir, err)
	}
	for _, s := range ExtScenarios() {
		t.Run(s, func(t *testing.T) {
			for _, f := range ExtFormats() {
				head, err := readHead(ExtFile(t, s, f))
				if err != nil || !bytes.HasPrefix(head, []byte(magic[f])) {
					t.Errorf("%s/%s starts with %q, want %q", s, f, head, magic[f])
				}
			}
			b, err := os.ReadFile(ExtFile(t, s, Console))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range append(extConsoleLines[s], "Call Trace:", "RIG-CAPTURE-DONE") {
				if !strings.Contains(string(b), l) {
					t.Errorf("%s/%s lacks %q", s, Console, l)
				}
			}
			m := ExtTruth(t, s)
			for _, k := range []string{"release", "nodename", "cpus", "memtotal_kb", "holder_pid", "holder_fd",
				"kallsyms", "netdev", "module", "tasks", "task", "slabinfo", "meminfo", "panic_pid", "panic_comm", "object"} {
				if len(m[k]) == 0 {
					t.Errorf("%s lacks %s", s, k)
				}
			}
			if m["nodename"][0] != "rig-"+s {
				t.Errorf("nodename %q", m["nodename"])
			}
			tasks, err := ParseTasks(m)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := strconv.Atoi(m["tasks"][0]); n != len(tasks) || n < 20 {
				t.Errorf("tasks %q but %d task lines", m["tasks"], len(tasks))
			}
			slabs, err := ParseSlabinfo(m)
			if err != nil || slabs["kmalloc-1k"].ObjSize != 1024 {
				t.Errorf("slabinfo: kmalloc-1k %+v %v", slabs["kmalloc-1k"], err)
			}
			mem, err := ParseMeminfo(m)
			if err != nil || mem["MemTotal"] == 0 || mem["Slab"] == 0 {
				t.Errorf("meminfo %v %v", mem, err)
			}
			objs, err := ParseObjects(m)
			if err != nil || objs["global"] == 0 || objs["state"] == 0 {
				t.Errorf("objects %v %v", objs, err)
			}
			checkExtScenarioTruth(t, s, m, tasks, slabs, objs)
		})
	}
}

func checkExtScenarioTruth(t *testing.T, s string, m map[string][]string, tasks []Task, slabs map[string]Slabinfo, objs map[string]uint64) {
	t.Helper()
	has := func(comm string) int {
		n := 0
		for _, tk := range tasks {
			if tk.Comm == comm {
				n++
			}
		}
		return n
	}
	switch s {
	case "hung":
		if m["panic_comm"][0] != "khungtaskd" || m["hung_pid"][0] != m["holder_pid"][0] {
			t.Errorf("panic_comm %q hung_pid %q holder_pid %q", m["panic_comm"], m["hung_pid"], m["holder_pid"])
		}
	case "softirq":
		if m["panic_pid"][0] != m["holder_pid"][0] || !strings.Contains(m["panic_context"][0], "in_serving_softirq=1") {
			t.Errorf("panic_pid %q holder_pid %q context %q", m["panic_pid"], m["holder_pid"], m["panic_context"])
		}
	case "tcp":
		if len(m["tcp_socket"]) != 6 || has("kdive-tcp") != 1 {
			t.Errorf("tcp_socket %q, kdive-tcp tasks %d", m["tcp_socket"], has("kdive-tcp"))
		}
	case "mthread":
		tgid, _ := strconv.Atoi(m["mt_tgid"][0])
		n := 0
		for _, tk := range tasks {
			if tk.TGID == tgid {
				n++
			}
		}
		if len(m["mt_thread"]) != 6 || n != 6 {
			t.Errorf("mt_thread %q, %d task lines of tgid %d", m["mt_thread"], n, tgid)
		}
	case "uaf":
		if m["uaf_same"][0] != "1" || objs["uaf_a"] != objs["uaf_b"] || objs["uaf_c"] == 0 {
			t.Errorf("uaf_same %q objects %v", m["uaf_same"], objs)
		}
	case "poison":
		if slabs["kdive_poison"].NumObjs == 0 || objs["poison_bad"] == 0 || objs["poison_free"] == 0 {
			t.Errorf("kdive_poison %+v objects %v", slabs["kdive_poison"], objs)
		}
	case "leak":
		if m["leak_count"][0] != "5000" || slabs["kdive_leak"].ActiveObjs < 5000 || len(m["leak_obj"]) != 4 {
			t.Errorf("leak_count %q kdive_leak %+v leak_obj %q", m["leak_count"], slabs["kdive_leak"], m["leak_obj"])
		}
	case "logring":
		if len(m["flood_count"]) != 1 || m["flood_count"][0] != "4500" {
			t.Errorf("flood_count %q", m["flood_count"])
		}
	}
}
