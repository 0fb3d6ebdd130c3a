package main

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// mergekit-yaml's options (mergekit/options.py) that have no meaning here:
// each is accepted by name and fails with the reason, so a mergekit
// command line fails saying why rather than "unknown flag". Their --no-
// forms ask for what potluck does anyway, and pass.
var mergekitRefused = []struct {
	name, why string
	value     bool // takes a value
}{
	{"cuda", "potluck merges on the CPU with SIMD kernels; it has no GPU path", false},
	{"device", "potluck merges on the CPU with SIMD kernels; it has no GPU path", true},
	{"read-to-gpu", "potluck merges on the CPU with SIMD kernels; it has no GPU path", false},
	{"multi-gpu", "potluck merges on the CPU with SIMD kernels; it has no GPU path", false},
	{"gpu-rich", "potluck merges on the CPU with SIMD kernels; it has no GPU path", false},
	{"low-cpu-memory", "a merge's memory is already bounded by a chunk of each tensor", false},
	{"lazy-unpickle", "potluck reads only safetensors: nothing is unpickled", false},
	{"trust-remote-code", "potluck never runs a model's code: it reads tensors and JSON only", false},
	{"lora-merge-cache", "a model+lora reference is applied as its tensors are read; nothing is cached", true},
	{"lora-merge-dtype", "an adapter is applied in its model's own dtype", true},
	{"clone-tensors", "each output tensor is written once, from its own buffer", false},
	{"async-write", "tensors are written as they are merged; --workers sets how many at a time", false},
	{"write-threads", "tensors are written as they are merged; --workers sets how many at a time", true},
	{"no-safe-serialization", "potluck writes safetensors only", false},
}

// mergekitNoOps are mergekit's options that ask for what potluck does
// anyway: accepted, hidden, changing nothing.
var mergekitNoOps = []string{"no-cuda", "no-low-cpu-memory", "no-lazy-unpickle", "no-trust-remote-code", "no-clone-tensors",
	"no-read-to-gpu", "no-multi-gpu", "no-async-write", "no-allow-crimes", "safe-serialization", "lazy"}

func registerMergekitFlags(c *cobra.Command) {
	f := c.Flags()
	for _, r := range mergekitRefused {
		if r.value {
			f.String(r.name, "", r.why)
		} else {
			f.Bool(r.name, false, r.why)
		}
		f.MarkHidden(r.name)
	}
	for _, n := range mergekitNoOps {
		f.Bool(n, false, "mergekit's; potluck does this anyway")
		f.MarkHidden(n)
	}
	f.CountP("verbose", "v", "mergekit's verbosity: accepted; potluck prints warnings and each stage's output anyway")
	f.MarkHidden("verbose")
}

// refusedMergekitFlag returns the error for the first refused mergekit
// option given (a switch set to false asks for nothing, and passes).
func refusedMergekitFlag(c *cobra.Command) error {
	for _, r := range mergekitRefused {
		on, _ := c.Flags().GetBool(r.name) // false for a value flag
		if r.value && c.Flags().Changed(r.name) || on {
			return fmt.Errorf("--%s is mergekit's, and means nothing here: %s", r.name, r.why)
		}
	}
	return nil
}

// sizeRE is a size with an optional unit.
var sizeRE = regexp.MustCompile(`^(?i)(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?$`)

var sizeUnits = map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}

// parseSize reads --shard-size: bytes, with an optional unit (5GB, 500MiB).
func parseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("--shard-size %q: want a number of bytes with an optional unit: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (5GB, 500MiB)", s)
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	return checkSize("--shard-size", s, f*sizeUnits[strings.ToLower(m[2])])
}

// kmbRE is mergekit's --out-shard-size: a count with K, M or B (thousands,
// millions, billions).
var kmbRE = regexp.MustCompile(`^(?i)(\d+)([kmb]?)$`)

// parseKMB reads --out-shard-size as mergekit does. mergekit's help says
// it counts parameters; its writer compares it with each shard's bytes,
// and so does this: 5B is mergekit's 5 GB default.
func parseKMB(s string) (int64, error) {
	m := kmbRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("--out-shard-size %q: want a number with an optional K, M or B (thousands, millions, billions), as mergekit takes it (5B)", s)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "k": 1e3, "m": 1e6, "b": 1e9}[strings.ToLower(m[2])]
	return checkSize("--out-shard-size", s, n*mult)
}

func checkSize(flag, s string, f float64) (int64, error) {
	if f < 1 || f > math.MaxInt64/2 {
		return 0, fmt.Errorf("%s %q: want at least one byte and less than 4 EiB", flag, s)
	}
	return int64(f), nil
}

// mergeProgress reports tensors merged on a line rewritten in place, only
// when w is a terminal (nil otherwise, reporting nothing).
func mergeProgress(w *os.File, what string) func(done, total int) {
	if !term.IsTerminal(int(w.Fd())) {
		return nil
	}
	var mu sync.Mutex
	var last time.Time
	return func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if done < total && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "\r  merging %s: %d/%d tensors (%d%%)", what, done, total, done*100/max(total, 1))
		if done == total {
			fmt.Fprintln(w)
		}
	}
}
