package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/potluck-hub/potluck/internal/bench"
)

func benchCmd() *cobra.Command {
	var o bench.Options
	var asJSON bool
	var methods, profile string
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure each merge method against the memory-bandwidth ceiling",
		Long: `Merge one in-memory tensor of --elems elements with --deltas deltas by
each method, end to end through the merge engine, single-threaded and on
every core, and stream the same inputs through the ceiling kernel (XOR of
every input into one output: reads and writes, no arithmetic) in the same
process. GB/s counts the inputs' bytes (the base and the deltas) per
second; ratio = GB/s ÷ ceiling GB/s. Each figure is the fastest of
--repeat runs after one warm-up. --scalar adds the pure-Go kernels beside
the SIMD ones. Memory: about (deltas + 2) × elems × dtype size.`,
		Example: `  potluck bench
  potluck bench --dtype bf16 --method task_arithmetic,ties --json
  potluck bench --elems 16777216 --scalar`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if methods != "" {
				o.Methods = strings.Split(methods, ",")
			}
			stop, err := startProfile(profile)
			if err != nil {
				return err
			}
			defer stop()
			out := cmd.OutOrStdout()
			if !asJSON {
				fmt.Fprintf(out, "%d deltas + base, %d elements each; GOMAXPROCS %d\n", o.Deltas, o.Elems, runtime.GOMAXPROCS(0))
				fmt.Fprintf(out, "%-16s %-5s %-8s %7s %8s %8s %6s\n", "method", "dtype", "impl", "threads", "GB/s", "ceiling", "ratio")
			}
			enc := json.NewEncoder(out)
			return bench.Run(cmd.Context(), o, func(r bench.Result) {
				if asJSON {
					enc.Encode(r)
					return
				}
				fmt.Fprintf(out, "%-16s %-5s %-8s %7d %8.2f %8.2f %6.3f\n", r.Name, r.DType, r.Impl, r.Threads, r.GBps, r.CeilingGBps, r.Ratio)
			})
		},
	}
	f := c.Flags()
	f.Int64Var(&o.Elems, "elems", 64<<20, "elements per tensor")
	f.IntVar(&o.Deltas, "deltas", 4, "deltas merged")
	f.StringSliceVar(&o.DTypes, "dtype", []string{"bf16", "f16", "f32"}, "dtypes measured: bf16, f16, f32")
	f.StringVar(&methods, "method", "", "methods measured, comma-separated (default all: "+labels()+")")
	f.IntSliceVar(&o.Threads, "threads", nil, "thread counts (default 1 and GOMAXPROCS)")
	f.IntVar(&o.Repeat, "repeat", 3, "runs per figure; the fastest is kept")
	f.BoolVar(&o.Scalar, "scalar", false, "also measure the pure-Go kernels")
	f.IntVar(&o.Chunk, "chunk", 0, "elements per chunk, a multiple of 64 (default: the engine's choice)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per line")
	f.StringVar(&profile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	return c
}

func labels() string {
	var out []string
	for _, m := range bench.Methods {
		out = append(out, m.Label)
	}
	return strings.Join(out, ",")
}
