package dwarfx

import "unsafe"

// addrOf is the address of b's first byte (to align madvise ranges).
func addrOf(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }
