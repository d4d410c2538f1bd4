package tasks

import (
	"strings"
	"testing"

	"kdive/internal/program"
	"kdive/internal/testcorpus"
)

// On every corpus dump, with the vmlinux's types and with the dump's BTF,
// the pid IDR and the task list name the same tasks, and the IDR gives
// each task its own pid.
func TestPIDCheckCorpus(t *testing.T) {
	for _, sc := range testcorpus.Scenarios() {
		for _, f := range testcorpus.Formats() {
			for _, v := range []string{testcorpus.Vmlinux(t), ""} {
				name := sc + "/" + f + "/vmlinux"
				if v == "" {
					name = sc + "/" + f + "/btf"
				}
				t.Run(name, func(t *testing.T) {
					p, err := program.Open(v, testcorpus.File(t, sc, f), program.OpenOptions{})
					if err != nil {
						t.Fatal(err)
					}
					defer p.Close()
					res, err := List(p, Options{})
					if err != nil {
						t.Fatal(err)
					}
					c := CheckPIDs(p, res)
					if !c.Agree() {
						t.Errorf("walks disagree: %v", c.Warnings())
					}
					if res.PIDCheck != c || c.Tasks < 20 || c.PIDs < c.Tasks {
						t.Errorf("check %+v", c)
					}
					idr, _, err := IDRTasks(p)
					if err != nil {
						t.Fatal(err)
					}
					pid := map[uint64]int32{}
					for _, tk := range res.Tasks {
						pid[tk.Addr] = tk.PID
					}
					for _, it := range idr {
						if int64(pid[it.Addr]) != it.PID {
							t.Errorf("IDR index %d reaches task %x of pid %d", it.PID, it.Addr, pid[it.Addr])
						}
					}
				})
			}
		}
	}
}

// Disagreements are reported, both ways; idle tasks (pid 0, never in
// the IDR) are not; a partial IDR walk reports only what it found.
func TestPIDCheckDisagreement(t *testing.T) {
	list := []Task{
		{Addr: 0x1000, PID: 0, Idle: true, Comm: "swapper/0"},
		{Addr: 0x2000, PID: 1, Comm: "init"},
		{Addr: 0x3000, PID: 7, Comm: "hidden-from-idr"},
	}
	idr := []IDRTask{{PID: 1, Pid: 0xa000, Addr: 0x2000}, {PID: 9, Pid: 0xb000, Addr: 0x9000}}
	c := &PIDCheck{}
	c.compare(idr, list)
	if c.Agree() || len(c.NotListed) != 1 || c.NotListed[0].Addr != 0x9000 || len(c.NotInIDR) != 1 || c.NotInIDR[0].Addr != 0x3000 {
		t.Fatalf("check %+v", c)
	}
	w := strings.Join(c.Warnings(), "\n")
	for _, s := range []string{
		"task 9000 (pid 9, struct pid b000) is in init_pid_ns's IDR but not on the task list",
		`task 3000 (pid 7, "hidden-from-idr") is on the task list but not in init_pid_ns's IDR`,
	} {
		if !strings.Contains(w, s) {
			t.Errorf("warnings lack %q:\n%s", s, w)
		}
	}
	c = &PIDCheck{Err: errTest}
	c.compare(idr[:1], list)
	if len(c.NotInIDR) != 0 || c.Agree() || !strings.Contains(strings.Join(c.Warnings(), "\n"), "pid IDR walk incomplete: test") {
		t.Errorf("partial walk: %+v %v", c, c.Warnings())
	}
}

type testErr string

func (e testErr) Error() string { return string(e) }

const errTest = testErr("test")

// The ext corpus (hung task, softirq Oops, TCP, multi-threaded process...)
// when it is built: both walks agree there too.
func TestPIDCheckExtCorpus(t *testing.T) {
	testcorpus.ExtDir(t)
	for _, sc := range testcorpus.ExtScenarios() {
		for _, v := range []string{testcorpus.ExtVmlinux(t), ""} {
			t.Run(sc+"/"+map[bool]string{true: "vmlinux", false: "btf"}[v != ""], func(t *testing.T) {
				p, err := program.Open(v, testcorpus.ExtFile(t, sc, testcorpus.KdumpELF), program.OpenOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				res, err := List(p, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if c := CheckPIDs(p, res); !c.Agree() || c.Tasks < 20 {
					t.Errorf("walks disagree: %+v %v", c, c.Warnings())
				}
			})
		}
	}
}
