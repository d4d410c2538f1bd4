// Package klist walks the kernel's circular doubly linked lists
// (struct list_head) from dump memory, bounded and cycle-checked.
package klist

import "fmt"

// Entries follows list_head.next from the list_head at head and returns the
// entry addresses (node - off), head excluded. It stops at the head, and
// with an error (after the entries read so far) at a read failure, a NULL
// or repeated node, or more than max entries. read returns the u64 at an
// address (list_head.next is at offset 0).
func Entries(read func(addr uint64) (uint64, error), head, off uint64, max int) ([]uint64, error) {
	var out []uint64
	visited := map[uint64]bool{head: true}
	node := head
	for i := 0; i <= max; i++ {
		next, err := read(node)
		if err != nil {
			return out, fmt.Errorf("cannot read list_head at %#x: %v", node, err)
		}
		if next == head {
			return out, nil
		}
		if next == 0 || visited[next] {
			return out, fmt.Errorf("list corrupt at %#x (next %#x)", node, next)
		}
		if i == max {
			break
		}
		visited[next] = true
		out = append(out, next-off)
		node = next
	}
	return out, fmt.Errorf("more than %d entries", max)
}
