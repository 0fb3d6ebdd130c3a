package hub

// The web view's benchmark, run by hand (it needs Chromium, as the
// browser tests do):
//
//	go test ./hub/ -run '^$' -bench WebPages -benchtime 20x
//
// It reports, per page, the median time a real headless Chromium takes
// from the start of the navigation to the end of the load event: the
// page's HTML (the lineage graph is SVG in it, laid out by the hub), its
// style and scripts, parsed, laid out and loaded. The hub, the browser and
// the benchmark share the machine's cores.

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/internal/browsertest"
)

// webBenchReleases is the size of the hub the pages must stay quick at.
const webBenchReleases = 1000

// BenchmarkWebPages loads the home page and the lineage of the base of a
// hub holding webBenchReleases releases, all built on that base: every
// release is in the graph.
func BenchmarkWebPages(b *testing.B) {
	h := benchWebHub(b, webBenchReleases)
	base := h.releases.g.order[0].cid
	url := browsertest.Serve(b, HTTPHandler(h))
	tab := browsertest.Shared(b).Open(b, "about:blank")
	tab.Viewport(b, 1200, 800)
	pages := []struct{ name, path string }{{"home", "/"}, {"lineage", "/releases/" + base + "/lineage"}}

	tab.Navigate(b, url+pages[1].path)
	if n := browsertest.Eval[int](b, tab, `document.querySelectorAll('svg .node').length`); n != webBenchReleases {
		b.Fatalf("the lineage page draws %d releases, want %d", n, webBenchReleases)
	}
	loads := make([][]navTiming, len(pages))
	for b.Loop() {
		for i, p := range pages {
			tab.Navigate(b, url+p.path)
			loads[i] = append(loads[i], browsertest.Eval[navTiming](b, tab, `performance.getEntriesByType('navigation')[0].toJSON()`))
		}
	}
	for i, p := range pages {
		med := func(f func(navTiming) float64) float64 {
			v := make([]float64, len(loads[i]))
			for j, l := range loads[i] {
				v[j] = f(l)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		load := med(func(n navTiming) float64 { return n.LoadEventEnd })
		b.ReportMetric(load, p.name+"-ms")
		b.Logf("%s (%d bytes of HTML), median of %d loads: first byte %.0f ms, last byte %.0f ms, parsed %.0f ms, loaded %.0f ms",
			p.name, loads[i][0].DecodedBodySize, len(loads[i]), med(func(n navTiming) float64 { return n.ResponseStart }),
			med(func(n navTiming) float64 { return n.ResponseEnd }), med(func(n navTiming) float64 { return n.DOMInteractive }), load)
	}
}

// navTiming is the part of a PerformanceNavigationTiming the benchmark
// reports: milliseconds from the start of the navigation.
type navTiming struct {
	ResponseStart, ResponseEnd, DOMInteractive, LoadEventEnd float64
	DecodedBodySize                                          int
}

// benchWebHub opens a hub and records n releases in it as publishing
// would (a log entry each, then the release's record), without their
// files: the pages benchmarked read the records, the graph and the log.
// Every fiftieth release is yanked.
func benchWebHub(b *testing.B, n int) *Hub {
	b.Helper()
	dir := b.TempDir()
	members := filepath.Join(dir, "members.yaml")
	if err := os.WriteFile(members, []byte("orgs: []\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	h, err := Open(Options{DataDir: filepath.Join(dir, "data"), MembersFile: members, Plaintext: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	start := time.Now()
	for i, r := range studyGroup(b, n) {
		if r.Kind == potluck.KindMerge {
			r.Publisher = HubOrg
		}
		r.Files = []potluck.File{{Path: "model.safetensors", Size: 1 << 20, CID: testCID(b, fmt.Sprint("file ", i))}}
		if i%50 == 49 {
			r.Yank = &potluck.Yank{Time: r.Created.Add(time.Hour), Org: r.Publisher, Reason: "benchmark"}
		}
		if _, err := h.record(r, r.Inputs); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d releases recorded in %v", n, time.Since(start).Round(time.Millisecond))
	return h
}
