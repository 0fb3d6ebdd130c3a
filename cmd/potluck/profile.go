package main

import (
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile (go tool pprof) of the command to
// path until the returned stop is called; an empty path profiles nothing.
// Where a merge or a benchmark spends its time is then one command away.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
