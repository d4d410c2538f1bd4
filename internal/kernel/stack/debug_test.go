package stack_test

import (
	"fmt"
	"os"
	"testing"

	"kdive/internal/kernel/stack"
	"kdive/internal/program"
)

func TestDebugDump(t *testing.T) {
	d := os.Getenv("KDIVE_BT_DUMP")
	if d == "" {
		t.Skip("KDIVE_BT_DUMP not set")
	}
	p, err := program.Open(os.Getenv("KDIVE_BT_VMLINUX"), d, program.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := stack.For(p)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(k.ORCSource, k.RegsSource, "panic cpu", k.PanicCPU, k.Warnings, len(k.ORC.Tables))
	for cpu, task := range k.Current {
		bt, err := k.Unwind(task)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("CPU %d task %x start %s\n", cpu, task, bt.Start)
		for i, f := range bt.Frames {
			s, off, _ := p.SymbolAt(f.IP)
			fmt.Printf("#%d [%x] %s+%#x %x regs=%v %s\n", i, f.Addr, s.Name, off, f.IP, f.Regs != nil, f.Stack)
		}
		fmt.Println("user", bt.User != nil, "err", bt.Err)
	}
}
