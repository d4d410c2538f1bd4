package main

import (
	"os"

	dumpopen "kdive/internal/dump/open"
)

// fileKind is what a command-line file argument holds.
type fileKind int

const (
	kindUnknown fileKind = iota
	kindDump             // an ELF core, a kdump-compressed or flattened dump
	kindVmlinux          // a kernel ELF image
)

// classify tells a dump from a vmlinux by content, so that they may be
// given in either order. An error is a file that cannot be read. Tests
// replace it.
var classify = func(path string) (fileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return kindUnknown, err
	}
	f.Close()
	switch {
	case dumpopen.IsDump(path):
		return kindDump, nil
	case dumpopen.IsVmlinux(path):
		return kindVmlinux, nil
	}
	return kindUnknown, nil
}
