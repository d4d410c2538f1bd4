package commands

// ptov: physical to virtual, as crash's cmd_ptov (memory.c) prints it:
// the direct-map address of a physical address, or with
// "OFFSET:cpuspec" the per-CPU addresses of a per-CPU offset.

import (
	"errors"
	"fmt"
	"strings"

	"kdive/internal/kernel/tasks"
)

func init() {
	Register(&Command{
		Name:    "ptov",
		Summary: "physical to virtual",
		Usage:   "physaddr | offset:cpuspec ...",
		Help: `  This command translates a hexadecimal physical address into its kernel
  direct-map virtual address (page_offset_base + address).  With a per-CPU
  offset and a CPU specification (":" for the current context's CPU,
  "all", or a list like "0,2-3"), it shows the per-CPU address of each CPU.

EXAMPLES
    kdive> ptov 19fe1000
    VIRTUAL           PHYSICAL        
    ffff8f3fd9fe1000  19fe1000        

    kdive> ptov 2c0c0:a
    PER-CPU OFFSET: 2c0c0
      CPU   VIRTUAL
      [0]   ffff8f3fdec2c0c0
      [1]   ffff8f3fded2c0c0`,
		Run: runPtov,
	})
}

func runPtov(env *Env, args []string) error {
	p := env.Prog
	if p == nil {
		return errors.New("no dump file")
	}
	_, rest, err := getopt("ptov", args, "")
	if err != nil || len(rest) == 0 {
		writeUsage(env, "ptov", "physaddr | offset:cpuspec ...")
		return ErrShown
	}
	w := env.Out
	for i, a := range rest {
		spec, hasSpec := "", false
		if j := strings.IndexByte(a, ':'); j >= 0 {
			a, spec, hasSpec = a[:j], a[j+1:], true
		}
		pa, err := parseCrashHex(a)
		if err != nil {
			return fmt.Errorf("invalid physical address: %s", a)
		}
		nl := ""
		if i > 0 {
			nl = "\n"
		}
		if hasSpec {
			cpus, err := ptovCPUs(env, spec)
			if err != nil {
				return err
			}
			ncpu := len(tasks.PossibleCPUs(p))
			width := len(fmt.Sprintf("[%d]", ncpu-1)) + 2
			fmt.Fprintf(w, "%sPER-CPU OFFSET: %x\n", nl, pa)
			fmt.Fprintf(w, "  %-*s  %-16s\n", width, "CPU", "VIRTUAL")
			for _, c := range cpus {
				off, err := p.PerCPUOffset(c)
				if err != nil {
					continue
				}
				fmt.Fprintf(w, "  %-*s%x\n", width, fmt.Sprintf("[%d]", c), pa+off)
			}
			continue
		}
		fmt.Fprintf(w, "%s%-16s  %-16s\n", nl, "VIRTUAL", "PHYSICAL")
		fmt.Fprintf(w, "%-16x  %-16x\n", p.Info().PageOffset+pa, pa)
	}
	return nil
}

// ptovCPUs resolves a cpuspec: "" is the current context's CPU, "a" or
// "all" every CPU, else a list of numbers and ranges.
func ptovCPUs(env *Env, spec string) ([]int, error) {
	switch spec {
	case "":
		t, _, err := contextTask(env.Prog)
		if err != nil {
			return nil, err
		}
		return []int{taskCPU(t)}, nil
	case "a":
		spec = "all"
	}
	return parseCPUSpec(spec, len(tasks.PossibleCPUs(env.Prog)))
}
