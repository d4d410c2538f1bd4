package program

import (
	"errors"

	"kdive/internal/symtab"
	"kdive/internal/vmcoreinfo"
)

var errNotImpl = errors.New("not implemented")

// state is the implementation behind the facade.
type state struct {
	src  SourceInfo
	vmci *vmcoreinfo.Info
}

func (s *state) readVirt(b []byte, addr uint64) (int, error)     { return 0, errNotImpl }
func (s *state) readPhys(b []byte, addr uint64) (int, error)     { return 0, errNotImpl }
func (s *state) symbol(name string) (uint64, error)              { return 0, errNotImpl }
func (s *state) memberOffset(typ, member string) (uint64, error) { return 0, errNotImpl }
func (s *state) memberSize(typ, member string) (uint64, error)   { return 0, errNotImpl }
func (s *state) typeSize(typ string) (uint64, error)             { return 0, errNotImpl }
func (s *state) perCPUOffset(cpu int) (uint64, error)            { return 0, errNotImpl }
func (s *state) vmcoreinfo(key string) (string, bool)            { return "", false }

func (s *state) symbols() *symtab.Table             { return symtab.New(nil, "") }
func (s *state) modules() ([]Module, error)         { return nil, errNotImpl }
func (s *state) translate(v uint64) (uint64, error) { return 0, errNotImpl }
