package studygroup

import (
	"context"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/mlp"
)

// TestInjectedMerge checks what a merge is asked and that its output is
// used: the next round starts from the directory it returned, and a
// failing merge fails the run.
func TestInjectedMerge(t *testing.T) {
	o := tinyOptions(t)
	var reqs []MergeRequest
	var outs []string
	o.Merge = func(ctx context.Context, req MergeRequest) (string, error) {
		reqs = append(reqs, req)
		// Write somewhere else than Out, as a hub pull may.
		req.Out = filepath.Join(o.Dir, fmt.Sprintf("pulled-%d", req.Round))
		dir, err := Mean(ctx, req)
		outs = append(outs, dir)
		return dir, err
	}
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 2 {
		t.Fatalf("%d merges, want 2", len(reqs))
	}
	if reqs[0].Base != filepath.Join(o.Dir, "base") || reqs[1].Base != outs[0] {
		t.Errorf("bases %s, %s; want base, then the first merge's %s", reqs[0].Base, reqs[1].Base, outs[0])
	}
	for i, req := range reqs {
		if req.Round != i+1 || len(req.Labs) != 3 || req.Out != filepath.Join(o.Dir, fmt.Sprintf("round-%d", i+1), "merge") {
			t.Errorf("request %d: %+v", i, req)
		}
		if req.Labs[2] != filepath.Join(o.Dir, fmt.Sprintf("round-%d", i+1), "lab-2") {
			t.Errorf("request %d: lab 2 at %s", i, req.Labs[2])
		}
	}
	n, _ := mlp.Load(outs[1])
	if want := n.Accuracy(mustData(t).Test); r.Rounds[1].Merge.Test != want {
		t.Errorf("round 2's merge scored %v, its output scores %v", r.Rounds[1].Merge.Test, want)
	}

	boom := errors.New("hub down")
	o.Merge = func(context.Context, MergeRequest) (string, error) { return "", boom }
	o.Dir = t.TempDir()
	if _, err := Run(context.Background(), o); !errors.Is(err, boom) {
		t.Errorf("failing merge: %v", err)
	}
}

func mustData(t *testing.T) *Data {
	d, err := Split(mustSet(t, true), mustSet(t, false), 3, 0.1, 300)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPoison checks the two dishonest labs: a scaled delta is published
// ×PoisonScale, and shuffled labels ruin the lab's own model.
func TestPoison(t *testing.T) {
	honest := tinyOptions(t)
	honest.Rounds = 1
	scaled := honest
	scaled.Dir = t.TempDir()
	scaled.Poison, scaled.PoisonLab, scaled.PoisonScale = ScaledDelta, 1, 20
	shuffled := honest
	shuffled.Dir = t.TempDir()
	shuffled.Poison, shuffled.PoisonLab = ShuffledLabels, 1
	var res [3]*Result
	for i, o := range []Options{honest, scaled, shuffled} {
		r, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		res[i] = r
	}
	base, _ := mlp.Load(filepath.Join(honest.Dir, "base"))
	lab, _ := mlp.Load(filepath.Join(honest.Dir, "round-1", "lab-1"))
	published, _ := mlp.Load(filepath.Join(scaled.Dir, "round-1", "lab-1"))
	for i, w := range base.W1 {
		want := w + 20*(lab.W1[i]-w)
		if d := math.Abs(float64(published.W1[i] - want)); d > 1e-6+1e-6*math.Abs(float64(want)) {
			t.Fatalf("fc1.weight[%d]: published %g, want %g", i, published.W1[i], want)
		}
	}
	if res[1].Rounds[0].Labs[1].Test != res[0].Rounds[0].Labs[1].Test {
		t.Error("the scaled lab's own model should be the honest one")
	}
	own := func(r *Result) float64 { return r.Rounds[0].Labs[1].HeldOut[1] }
	if own(res[2]) > own(res[0])-0.2 {
		t.Errorf("shuffled labels: lab 1 scores %.3f on its held-out split, honest %.3f", own(res[2]), own(res[0]))
	}
}

func TestOptionsRejected(t *testing.T) {
	for name, change := range map[string]func(*Options){
		"1 lab":          func(o *Options) { o.Labs = 1 },
		"11 labs":        func(o *Options) { o.Labs = 11 },
		"0 rounds":       func(o *Options) { o.Rounds = 0 },
		"lr 0":           func(o *Options) { o.LR = 0 },
		"momentum 1":     func(o *Options) { o.Momentum = 1 },
		"IID 1.5":        func(o *Options) { o.IIDFraction = 1.5 },
		"poison lab 3":   func(o *Options) { o.Poison, o.PoisonLab = ShuffledLabels, 3 },
		"public 0":       func(o *Options) { o.PublicSamples = 0 },
		"public 6000":    func(o *Options) { o.PublicSamples = 6000 },
		"batch 0":        func(o *Options) { o.BatchSize = 0 },
		"unknown poison": func(o *Options) { o.Poison = 7 },
	} {
		o := DefaultOptions()
		change(&o)
		if _, err := Run(context.Background(), o); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: %v, want ErrOptions", name, err)
		}
	}
}

// exampleResult is a made-up result of 2 labs and 2 rounds.
func exampleResult() *Result {
	s := func(test, h0, h1 float64) Scores { return Scores{Test: test, HeldOut: []float64{h0, h1}} }
	o := DefaultOptions()
	o.Labs, o.Rounds, o.MergeName = 2, 2, "mean"
	return &Result{
		Options: o,
		Data:    DataSummary{Public: 300, Test: 2000, Train: make([][10]int, 2), HeldOut: make([][10]int, 2)},
		Base:    s(0.5, 0.5, 0.5),
		Rounds: []Round{
			{Round: 1, Labs: []Scores{s(0.4, 0.9, 0.1), s(0.45, 0.2, 0.8)}, Solo: []Scores{s(0.4, 0.9, 0.1), s(0.45, 0.2, 0.8)}, Merge: s(0.7, 0.8, 0.7), Reference: s(0.8, 0.8, 0.8)},
			{Round: 2, Labs: []Scores{s(0.6, 0.9, 0.3), s(0.55, 0.4, 0.8)}, Solo: []Scores{s(0.41, 0.9, 0.1), s(0.46, 0.2, 0.8)}, Merge: s(0.75, 0.8, 0.75), Reference: s(0.85, 0.8, 0.8)},
		},
	}
}

func TestWriteCSV(t *testing.T) {
	var b strings.Builder
	if err := exampleResult().WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Header, base, and per round 2 labs, 2 solos, merge, reference.
	if len(rows) != 2+2*6 {
		t.Fatalf("%d rows:\n%s", len(rows), b.String())
	}
	if got := strings.Join(rows[0], ","); got != "round,model,test,held_out_lab0,held_out_lab1" {
		t.Errorf("header %s", got)
	}
	if got := strings.Join(rows[12], ","); got != "2,merge,0.7500,0.8000,0.7500" {
		t.Errorf("round 2 merge row %s", got)
	}
}

// TestWriteSVG parses the plot as XML and counts its lines: per chart,
// merge, reference and 2 per lab on the left, 2 per lab on the right.
func TestWriteSVG(t *testing.T) {
	var b strings.Builder
	if err := exampleResult().WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(b.String()))
	count := map[string]int{}
	var texts []string
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not XML: %v", err)
			}
			break
		}
		switch x := tok.(type) {
		case xml.StartElement:
			count[x.Name.Local]++
		case xml.CharData:
			texts = append(texts, string(x))
		}
	}
	if count["svg"] != 1 || count["polyline"] != 2+2*2+2*2 {
		t.Errorf("elements %v", count)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"merge", "centralised reference", "lab1 alone", "merge on lab0's split", "round (0: the base)", "accuracy", "100%"} {
		if !strings.Contains(all, want) {
			t.Errorf("no text %q", want)
		}
	}
}
