package mm

import (
	"fmt"

	"kdive/internal/kernel/tasks"
)

// Counter is one named vm statistic.
type Counter struct {
	Name  string
	Value int64
}

// enumNames names the values 0..n-1 of an enum whose last constant is
// countName (NR_VM_ZONE_STAT_ITEMS ...); of aliases the last declared
// wins, as crash's vm_stat_init keeps them.
func enumNames(enums Enums, enum, countName string) []string {
	ens := enums(enum)
	n := -1
	for _, e := range ens {
		if e.Name == countName {
			n = int(e.Value)
		}
	}
	if n < 0 || n > 4096 {
		return nil
	}
	names := make([]string, n)
	for _, e := range ens {
		if e.Value >= 0 && int(e.Value) < n {
			names[e.Value] = e.Name
		}
	}
	return names
}

// VMStats reads the global vm_zone_stat[] and vm_node_stat[] counters.
func VMStats(src Source, enums Enums) (zone, node []Counter, err error) {
	read := func(sym string, names []string) ([]Counter, error) {
		a, err := src.Symbol(sym)
		if err != nil {
			return nil, fmt.Errorf("mm: %s: %w", sym, err)
		}
		var out []Counter
		for i, n := range names {
			v, err := u64(src, a+8*uint64(i))
			if err != nil {
				return out, fmt.Errorf("mm: %s[%d]: %w", sym, i, err)
			}
			out = append(out, Counter{n, int64(v)})
		}
		return out, nil
	}
	zn := enumNames(enums, "zone_stat_item", "NR_VM_ZONE_STAT_ITEMS")
	nn := enumNames(enums, "node_stat_item", "NR_VM_NODE_STAT_ITEMS")
	if zn == nil {
		return nil, nil, fmt.Errorf("mm: no enum zone_stat_item")
	}
	if zone, err = read("vm_zone_stat", zn); err != nil {
		return zone, nil, err
	}
	if nn != nil {
		node, err = read("vm_node_stat", nn)
	}
	return zone, node, err
}

// VMEvents sums the per-CPU vm_event_states (enum vm_event_item) over
// every possible CPU.
func VMEvents(src Source, enums Enums) ([]Counter, error) {
	names := enumNames(enums, "vm_event_item", "NR_VM_EVENT_ITEMS")
	if names == nil {
		return nil, fmt.Errorf("mm: no enum vm_event_item")
	}
	ts, ok := src.(tasks.Source)
	if !ok {
		return nil, fmt.Errorf("mm: no per-CPU offsets")
	}
	a, err := src.Symbol("vm_event_states")
	if err != nil {
		return nil, fmt.Errorf("mm: vm_event_states: %w", err)
	}
	sums := make([]uint64, len(names))
	for _, cpu := range tasks.PossibleCPUs(ts) {
		off, err := ts.PerCPUOffset(cpu)
		if err != nil {
			continue
		}
		for i := range names {
			v, err := u64(src, a+off+8*uint64(i))
			if err != nil {
				return nil, fmt.Errorf("mm: vm_event_states of cpu %d: %w", cpu, err)
			}
			sums[i] += v
		}
	}
	out := make([]Counter, len(names))
	for i, n := range names {
		out[i] = Counter{n, int64(sums[i])}
	}
	return out, nil
}
