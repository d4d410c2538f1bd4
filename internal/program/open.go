package program

import "errors"

// OpenOptions tune Open.
type OpenOptions struct {
	// ZeroExcluded reads filtered-out pages as zeros (crash --zero_excluded).
	ZeroExcluded bool
	// Force goes on with a vmlinux that does not match the dump.
	Force bool
	// Warn receives non-fatal warnings (may be nil).
	Warn func(msg string)
}

// Open opens a dump, with an optional vmlinux ("" for none).
func Open(vmlinux, dumpPath string, o OpenOptions) (*Program, error) {
	return nil, errors.New("program.Open: not implemented yet")
}

// Close releases the dump and the vmlinux.
func (p *Program) Close() error {
	if p == nil || p.Dump == nil {
		return nil
	}
	return p.Dump.Close()
}
