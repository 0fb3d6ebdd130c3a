package studygroup

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var benchOut = flag.String("studygroup.out", "", "directory for each benchmark's table (.txt), CSV and SVG")

// BenchmarkStudyGroup runs the default study group (3 labs, 4 rounds) with
// each local merge, with every lab honest and with lab 2 poisoned, and
// logs the table; run it once each with
//
//	go test -run '^$' -bench StudyGroup -benchtime 1x -v ./studygroup [-args -studygroup.out DIR]
//
// It reports the last merge's and the reference's test accuracy.
func BenchmarkStudyGroup(b *testing.B) {
	merges := []struct {
		name string
		m    MergeFunc
	}{{"mean", Mean}, {"ties", TIES(0.2)}, {"median", Median}}
	for _, m := range merges {
		for _, p := range []Poison{NoPoison, ShuffledLabels, ScaledDelta} {
			name := m.name + "/" + p.String()
			b.Run(name, func(b *testing.B) {
				o := DefaultOptions()
				o.Merge, o.MergeName, o.Poison = m.m, m.name, p
				var r *Result
				start := time.Now()
				for b.Loop() {
					var err error
					if r, err = Run(context.Background(), o); err != nil {
						b.Fatal(err)
					}
				}
				last := r.Rounds[len(r.Rounds)-1]
				b.ReportMetric(last.Merge.Test, "merge-acc")
				b.ReportMetric(last.Reference.Test, "reference-acc")
				b.Logf("%s\n%s(%v a run)", name, r, time.Since(start)/time.Duration(b.N))
				if *benchOut != "" {
					if err := writeAll(filepath.Join(*benchOut, m.name+"-"+p.String()), r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func writeAll(prefix string, r *Result) error {
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(prefix+".txt", []byte(r.String()), 0o644); err != nil {
		return err
	}
	return r.WriteFiles(prefix)
}
