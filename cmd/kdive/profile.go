package main

import (
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile to $KDIVE_CPUPROFILE when it is set (for
// looking at where open + a command spend their time); the returned
// function stops it.
func startProfile() func() {
	path := os.Getenv("KDIVE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
