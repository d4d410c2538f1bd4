package program

import "errors"

var errNotImpl = errors.New("not implemented")

// state is the implementation behind the facade.
type state struct{}

func (s *state) readVirt(b []byte, addr uint64) (int, error)     { return 0, errNotImpl }
func (s *state) readPhys(b []byte, addr uint64) (int, error)     { return 0, errNotImpl }
func (s *state) symbol(name string) (uint64, error)              { return 0, errNotImpl }
func (s *state) memberOffset(typ, member string) (uint64, error) { return 0, errNotImpl }
func (s *state) memberSize(typ, member string) (uint64, error)   { return 0, errNotImpl }
func (s *state) typeSize(typ string) (uint64, error)             { return 0, errNotImpl }
func (s *state) perCPUOffset(cpu int) (uint64, error)            { return 0, errNotImpl }
func (s *state) vmcoreinfo(key string) (string, bool)            { return "", false }
