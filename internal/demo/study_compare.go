package demo

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/studygroup"
)

// Screen is one admission setting of the hub that Compare tries.
type Screen struct {
	Name   string
	Screen hub.Screening
}

// Screens are the admission settings Compare tries with the default
// method: the norm bound `hub serve` uses by default, and the cosine
// screen with its default bound and peers (the norm bound off, to see it
// alone).
var Screens = []Screen{
	{"norm 10× (the default)", hub.Screening{MaxNormRatio: hub.DefaultMaxNormRatio}},
	{"cosine ≥ 0, 2 peers (norm off)", hub.Screening{Cosine: true, MinCosine: 0, MinPeers: 2}},
}

// Poisons are the ways Compare's dishonest lab misbehaves.
var Poisons = []studygroup.Poison{studygroup.NoPoison, studygroup.ShuffledLabels, studygroup.ScaledDelta}

// CompareOptions configures Compare.
type CompareOptions struct {
	// Study is the group each run starts from (its Poison and Merge are
	// Compare's to set).
	Study studygroup.Options
	// Dir receives every run's folder and the tables; new or empty.
	Dir string
	// Methods, Screens and Poisons to try: nil means the package's
	// Methods, Screens and Poisons. The admission runs merge by Methods[0]
	// of the package.
	Methods []Method
	Screens []Screen
	Poisons []studygroup.Poison
}

// Comparison is what Compare measured.
type Comparison struct {
	// Methods: each of Methods with each of Poisons, every delta admitted
	// (the hub's screens off), in that order.
	Methods []*StudyResult
	// Screens: each of Screens with each of Poisons, merged by Methods[0].
	Screens []ScreenResult
}

// ScreenResult is a study group run under one of Screens.
type ScreenResult struct {
	Screen string // its Name
	*StudyResult
}

// Compare runs the study group o.Study through the hub once per merge
// method and poison, with the hub's screens off, so that every delta is
// merged; then once per admission screen and poison with the default
// method. Each run keeps its files in a folder of o.Dir
// (methods/NAME-POISON, admission/N-POISON). It prints a line per run to
// w, then both tables, and writes them to methods.csv and admission.csv
// in o.Dir.
func Compare(ctx context.Context, w io.Writer, o CompareOptions) (*Comparison, error) {
	study, dir := o.Study, o.Dir
	if err := study.Check(); err != nil {
		return nil, err
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	if o.Methods == nil {
		o.Methods = Methods
	}
	if o.Screens == nil {
		o.Screens = Screens
	}
	if o.Poisons == nil {
		o.Poisons = Poisons
	}
	c := &Comparison{}
	off := &hub.Screening{}
	for _, m := range o.Methods {
		for _, p := range o.Poisons {
			r, err := compareRun(ctx, w, study, m, p, off, filepath.Join(dir, "methods", m.Name+"-"+p.String()))
			if err != nil {
				return nil, err
			}
			c.Methods = append(c.Methods, r)
		}
	}
	for i, s := range o.Screens {
		for _, p := range o.Poisons {
			r, err := compareRun(ctx, w, study, Methods[0], p, &s.Screen, filepath.Join(dir, "admission", fmt.Sprintf("%d-%s", i+1, p)))
			if err != nil {
				return nil, err
			}
			c.Screens = append(c.Screens, ScreenResult{s.Name, r})
		}
	}
	if len(c.Methods) > 0 {
		fmt.Fprintf(w, "\nMerge methods, every delta admitted (the hub's screens off); %s:\n\n", describe(study))
		fmt.Fprint(w, markdown(c.methodRows()))
		if err := writeCSV(filepath.Join(dir, "methods.csv"), c.methodRows()); err != nil {
			return nil, err
		}
	}
	if len(c.Screens) > 0 {
		fmt.Fprintf(w, "\nAdmission, merged by %s:\n\n", Methods[0])
		fmt.Fprint(w, markdown(c.screenRows()))
		fmt.Fprint(w, c.refusals())
		if err := writeCSV(filepath.Join(dir, "admission.csv"), c.screenRows()); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// compareRun is one study group of a comparison, its steps not printed.
func compareRun(ctx context.Context, w io.Writer, study studygroup.Options, m Method, p studygroup.Poison, s *hub.Screening, dir string) (*StudyResult, error) {
	study.Poison = p
	r, err := StudyGroup(ctx, io.Discard, StudyOptions{Study: study, Method: m, Screen: s, Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("%s, poison %s, %s: %w", m.Name, p, screening(*s), err)
	}
	fmt.Fprintf(w, "%-16s %-16s %s: merges %s\n", m.Name, p, screening(*s), merges(r.Result, 0))
	return r, nil
}

func describe(o studygroup.Options) string {
	return fmt.Sprintf("%d labs, %d rounds, %d epochs a round, seed %d; poisoned: lab%d (shuffled-labels: trains on its images with their labels permuted; scaled-delta: publishes %g× its delta)",
		o.Labs, o.Rounds, o.Epochs, o.Seed, o.PoisonLab, o.PoisonScale)
}

// merges returns the test accuracies of the merges of rounds from+1 on.
func merges(r *studygroup.Result, from int) string {
	var s []string
	for _, rd := range r.Rounds[from:] {
		s = append(s, fmt.Sprintf("%.4f", rd.Merge.Test))
	}
	return strings.Join(s, " ")
}

// relations returns the two claims' verdicts on r: the first merge beats
// every lab's fine-tune of round 1 on the test set; the last merge beats
// the first.
func relations(r *studygroup.Result) (beatsLabs, improves bool) {
	first, last := r.Rounds[0], r.Rounds[len(r.Rounds)-1]
	beatsLabs = true
	for _, l := range first.Labs {
		beatsLabs = beatsLabs && first.Merge.Test > l.Test
	}
	return beatsLabs, last.Merge.Test > first.Merge.Test
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

// scoreColumns are the columns both tables share: round 1's merge and
// best lab, the later merges, the best lab alone and the reference at the
// end, and both relations.
func scoreColumns(r *studygroup.Result) []string {
	first, last := r.Rounds[0], r.Rounds[len(r.Rounds)-1]
	bestLab, bestSolo := 0.0, 0.0
	for k := range first.Labs {
		bestLab, bestSolo = max(bestLab, first.Labs[k].Test), max(bestSolo, last.Solo[k].Test)
	}
	beats, improves := relations(r)
	return []string{fmt.Sprintf("%.4f", first.Merge.Test), fmt.Sprintf("%.4f", bestLab), merges(r, 1),
		fmt.Sprintf("%.4f", bestSolo), fmt.Sprintf("%.4f", last.Reference.Test), yes(beats), yes(improves)}
}

func scoreHeader(rounds int) []string {
	return []string{"round-1 merge", "best lab, round 1", fmt.Sprintf("merges, rounds 2-%d", rounds),
		fmt.Sprintf("best lab alone, round %d", rounds), fmt.Sprintf("reference, round %d", rounds),
		"round-1 merge beats every lab", fmt.Sprintf("round %d beats round 1", rounds)}
}

func (c *Comparison) methodRows() [][]string {
	rows := [][]string{append([]string{"method", "poison"}, scoreHeader(c.Methods[0].Options.Rounds)...)}
	for _, r := range c.Methods {
		rows = append(rows, append([]string{r.Method.String(), r.Options.Poison.String()}, scoreColumns(r.Result)...))
	}
	return rows
}

func (c *Comparison) screenRows() [][]string {
	rows := [][]string{append([]string{"admission", "poison", "poisoned lab's delta, by round", "honest deltas refused"}, scoreHeader(c.Screens[0].Options.Rounds)...)}
	for _, r := range c.Screens {
		rows = append(rows, append([]string{r.Screen, r.Options.Poison.String(), r.poisonedFate(), r.honestRefused()}, scoreColumns(r.Result)...))
	}
	return rows
}

// poisonedFate says, round by round, whether the hub admitted the
// poisoned lab's delta ("-" when every lab is honest).
func (r *StudyResult) poisonedFate() string {
	if r.Options.Poison == studygroup.NoPoison {
		return "-"
	}
	var s []string
	for _, h := range r.Hub {
		if h.Deltas[r.Options.PoisonLab].Refused != "" {
			s = append(s, "refused")
		} else {
			s = append(s, "merged")
		}
	}
	return strings.Join(s, ", ")
}

// honestRefused lists the honest labs' deltas the hub refused, as
// "rROUND labK", or "none".
func (r *StudyResult) honestRefused() string {
	var s []string
	for i, h := range r.Hub {
		for k, d := range h.Deltas {
			if d.Refused != "" && (r.Options.Poison == studygroup.NoPoison || k != r.Options.PoisonLab) {
				s = append(s, fmt.Sprintf("r%d %s", i+1, r.Orgs[k]))
			}
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// refusals lists every refusal of the admission runs with the hub's
// message.
func (c *Comparison) refusals() string {
	var b strings.Builder
	for _, r := range c.Screens {
		for i, h := range r.Hub {
			for k, d := range h.Deltas {
				if d.Refused != "" {
					if b.Len() == 0 {
						b.WriteString("\nThe hub's refusals:\n\n")
					}
					fmt.Fprintf(&b, "- %s, poison %s, round %d, %s: %s\n", r.Screen, r.Options.Poison, i+1, r.Orgs[k], d.Refused)
				}
			}
		}
	}
	return b.String()
}

// markdown renders rows (the first the header) as a Markdown table.
func markdown(rows [][]string) string {
	var b strings.Builder
	for i, row := range rows {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(row, " | "))
		if i == 0 {
			b.WriteString(strings.Repeat("|---", len(row)) + "|\n")
		}
	}
	return b.String()
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(f)
	for _, row := range rows {
		clean := make([]string, len(row))
		for i, v := range row {
			clean[i] = strings.Trim(v, "*")
		}
		cw.Write(clean)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
