package demo_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/demo"
	"github.com/potluck-hub/potluck/studygroup"
)

// smallStudy is the tests' study group: the default one (3 labs, digits
// 0-3 / 4-6 / 7-9, a tenth of the pool shared) for 2 rounds of 1 epoch:
// 288 SGD steps by the labs in all, as many by the reference.
func smallStudy() studygroup.Options {
	o := studygroup.DefaultOptions()
	o.Rounds, o.Epochs = 2, 1
	return o
}

// tinyStudy is smaller still, to run several times: 8 hidden units.
func tinyStudy() studygroup.Options {
	o := smallStudy()
	o.Hidden = 8
	return o
}

func studyGroup(t *testing.T, o demo.StudyOptions) (*demo.StudyResult, string) {
	t.Helper()
	var out bytes.Buffer
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	r, err := demo.StudyGroup(context.Background(), &out, o)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return r, out.String()
}

// TestStudyGroupLearns runs the small study group through the hub with the
// default method (ties) and checks the relations that must hold if the
// claim is true: the first merge beats every lab's own fine-tune on the
// full test set, and the last merge beats the first. It checks what the
// hub did along the way: every delta admitted and merged, every lab's
// scores attested and logged, the chain of merges in the lineage, and every
// merge recomputed by an auditor to the same CID.
func TestStudyGroupLearns(t *testing.T) {
	var lineage *potluck.Lineage
	r, out := studyGroup(t, demo.StudyOptions{Study: smallStudy(), Lineage: func(_ io.Writer, l *potluck.Lineage) { lineage = l }})
	t.Logf("\n%s", r.Result)
	first, last := r.Rounds[0], r.Rounds[len(r.Rounds)-1]
	for k, l := range first.Labs {
		if first.Merge.Test <= l.Test {
			t.Errorf("round 1: the merge scores %.4f on the test set, %s's fine-tune %.4f", first.Merge.Test, r.Orgs[k], l.Test)
		}
	}
	if last.Merge.Test <= first.Merge.Test {
		t.Errorf("round %d: the merge scores %.4f on the test set, round 1's %.4f", last.Round, last.Merge.Test, first.Merge.Test)
	}

	for i, h := range r.Hub {
		for k, d := range h.Deltas {
			if d.CID == "" || d.Refused != "" {
				t.Errorf("round %d: %s's delta: %+v, want admitted", i+1, r.Orgs[k], d)
			}
		}
		if h.Attested != 2*len(r.Orgs) {
			t.Errorf("round %d: %d attestations, want 2 per lab", i+1, h.Attested)
		}
	}
	merges := []string{r.Hub[0].Merge, r.Hub[1].Merge}
	if !slices.Equal(r.Recomputed, merges) {
		t.Errorf("the auditor recomputed %v, the hub's merges are %v", r.Recomputed, merges)
	}
	checkLineage(t, lineage, r)
	for _, want := range []string{
		"==> lab0 registers the base, trained on the public slice: " + r.Base + "\n",
		"==> round 2: the hub merges the 3 deltas it admitted (ties): " + merges[1] + "\n",
		"    round 1: recomputed " + merges[0] + ": identical to the hub's\n",
		"    round 2: recomputed " + merges[1] + ": identical to the hub's\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
}

// checkLineage checks that the last merge's lineage is the chain the
// group built: the base, each round's deltas against the model before, each
// merge over the one before with the round's deltas as inputs, and the
// labs' attested scores on the last merge.
func checkLineage(t *testing.T, l *potluck.Lineage, r *demo.StudyResult) {
	t.Helper()
	if l == nil {
		t.Fatal("no lineage printed")
	}
	nodes := map[string]potluck.LineageNode{}
	for _, n := range l.Nodes {
		nodes[n.CID] = n
	}
	prev := r.Base
	for i, h := range r.Hub {
		var deltas []string
		for _, d := range h.Deltas {
			deltas = append(deltas, d.CID)
			if n := nodes[d.CID]; n.Kind != potluck.KindDelta || !slices.Equal(n.Parents, []string{prev}) {
				t.Errorf("round %d: delta %s in the lineage: %+v, want a delta of %s", i+1, d.CID, n, prev)
			}
		}
		if n := nodes[h.Merge]; n.Kind != potluck.KindMerge || !slices.Equal(n.Parents, append([]string{prev}, deltas...)) {
			t.Errorf("round %d: merge %s in the lineage: %+v, want parents %s and %v", i+1, h.Merge, nodes[h.Merge], prev, deltas)
		}
		prev = h.Merge
	}
	if l.Root != prev || len(l.Nodes) != 1+len(r.Hub)*(1+len(r.Orgs)) {
		t.Errorf("lineage of %s with %d nodes, want of %s with %d", l.Root, len(l.Nodes), prev, 1+len(r.Hub)*(1+len(r.Orgs)))
	}
	var tasks []string
	for _, b := range nodes[prev].Best {
		tasks = append(tasks, b.Task)
	}
	if want := []string{"lab0-heldout", "lab1-heldout", "lab2-heldout", "mnist-test"}; !slices.Equal(tasks, want) {
		t.Errorf("the last merge's attested tasks: %v, want %v", tasks, want)
	}
}

// TestStudyGroupDeterministic runs a study group through two hubs: the
// same table, the same releases.
func TestStudyGroupDeterministic(t *testing.T) {
	a, _ := studyGroup(t, demo.StudyOptions{Study: tinyStudy()})
	b, _ := studyGroup(t, demo.StudyOptions{Study: tinyStudy()})
	if a.Result.String() != b.Result.String() {
		t.Errorf("two runs print different tables:\n%s\n%s", a.Result, b.Result)
	}
	if a.Base != b.Base || !slices.EqualFunc(a.Hub, b.Hub, func(x, y demo.HubRound) bool {
		return x.Merge == y.Merge && slices.Equal(x.Deltas, y.Deltas)
	}) {
		t.Errorf("two runs publish different releases:\n%+v %+v\n%+v %+v", a.Base, a.Hub, b.Base, b.Hub)
	}
}

// TestStudyGroupAdmission has lab2 publish its delta ×20 to a hub with the
// default norm bound: the hub refuses it, saying which tensor and by how
// much, and merges the two honest deltas.
func TestStudyGroupAdmission(t *testing.T) {
	o := tinyStudy()
	o.Rounds, o.Poison = 1, studygroup.ScaledDelta
	r, out := studyGroup(t, demo.StudyOptions{Study: o, Screen: &hub.Screening{MaxNormRatio: hub.DefaultMaxNormRatio}})
	d := r.Hub[0].Deltas
	if d[0].CID == "" || d[1].CID == "" || d[2].CID != "" {
		t.Fatalf("deltas %+v: want lab0's and lab1's admitted, lab2's refused", d)
	}
	const want = `hub: rejected: tensor "fc1.bias": delta norm `
	if !strings.HasPrefix(d[2].Refused, want) || !strings.HasSuffix(d[2].Refused, "(bound 10×: Screening.MaxNormRatio, hub serve --max-norm-ratio)") {
		t.Errorf("lab2's refusal: %q, want %q ... (bound 10×: Screening.MaxNormRatio, hub serve --max-norm-ratio)", d[2].Refused, want)
	}
	if !strings.Contains(out, "    lab2's delta is refused: "+d[2].Refused+"\n") ||
		!strings.Contains(out, "the hub merges the 2 deltas it admitted") {
		t.Errorf("the output does not say lab2's delta was refused and 2 merged:\n%s", out)
	}
}

// TestStudyGroupRefusesBadOptions: a study group that cannot run says why
// before anything starts, and a folder holding files is refused.
func TestStudyGroupRefusesBadOptions(t *testing.T) {
	o := tinyStudy()
	o.Labs = 11
	_, err := demo.StudyGroup(context.Background(), io.Discard, demo.StudyOptions{Study: o, Dir: t.TempDir()})
	if err == nil || err.Error() != "studygroup: bad options: 11 labs, want 2 to 10" {
		t.Errorf("11 labs: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = demo.StudyGroup(context.Background(), io.Discard, demo.StudyOptions{Study: tinyStudy(), Dir: dir})
	if want := dir + " is not empty (it holds old): a study group needs a new or empty folder"; err == nil || err.Error() != want {
		t.Errorf("a folder in use: %v, want %s", err, want)
	}
	if _, err := demo.MethodNamed("slerp"); err == nil || err.Error() != `merge method "slerp": the study group runs ties, task_arithmetic, dare_ties, fedavg, median, trimmed_mean (or all of them: all)` {
		t.Errorf("slerp: %v", err)
	}
}

// TestCompare compares one method and one screen on a scaled delta: the
// tables say what was merged, what was refused, and whether the relations
// held, and are written as CSV.
func TestCompare(t *testing.T) {
	o := tinyStudy()
	o.Rounds = 1
	dir := t.TempDir()
	var out bytes.Buffer
	c, err := demo.Compare(context.Background(), &out, demo.CompareOptions{Study: o, Dir: dir,
		Methods: []demo.Method{demo.Methods[4]}, Screens: demo.Screens[:1], Poisons: []studygroup.Poison{studygroup.ScaledDelta}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(c.Methods) != 1 || len(c.Screens) != 1 {
		t.Fatalf("%d method runs, %d admission runs, want 1 and 1", len(c.Methods), len(c.Screens))
	}
	m, s := c.Methods[0], c.Screens[0]
	if m.Method.Name != "median" || m.Hub[0].Deltas[2].CID == "" {
		t.Errorf("the median run: %s, lab2's delta %+v, want it admitted", m.Method.Name, m.Hub[0].Deltas[2])
	}
	if s.Hub[0].Deltas[2].Refused == "" {
		t.Errorf("the norm screen admitted lab2's delta ×20")
	}
	text := out.String()
	for _, want := range []string{
		"| median | scaled-delta | " + f4(m.Rounds[0].Merge.Test) + " | ",
		"| norm 10× (the default) | scaled-delta | refused | none | " + f4(s.Rounds[0].Merge.Test) + " | ",
		"- norm 10× (the default), poison scaled-delta, round 1, lab2: " + s.Hub[0].Deltas[2].Refused + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the output lacks %q:\n%s", want, text)
		}
	}
	for _, name := range []string{"methods.csv", "admission.csv", "methods/median-scaled-delta/results.svg"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

func f4(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
