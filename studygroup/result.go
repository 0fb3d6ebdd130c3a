package studygroup

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Result is what a study group measured.
type Result struct {
	Options Options // as run (Merge, Workers and Dir filled in)
	Data    DataSummary
	Base    Scores  // the base, round 0
	Rounds  []Round // rounds 1, 2, ...
}

// DataSummary says how many images each lab had, per digit.
type DataSummary struct {
	Public  int
	Test    int
	Train   [][10]int // Train[k][d]: lab k's training images of digit d (true labels)
	HeldOut [][10]int
}

// Scores is one model's accuracy, a fraction in [0, 1].
type Scores struct {
	Test    float64   // on the full test set
	HeldOut []float64 // on each lab's held-out split, in lab order
}

// Round is one round's scores.
type Round struct {
	Round     int
	Steps     int      // SGD steps the labs took together, and the reference took
	Labs      []Scores // Labs[k]: lab k's fine-tune of this round (before any scaling it published)
	Solo      []Scores // Solo[k]: lab k trained alone from the base, never merging, as many steps so far
	Merge     Scores   // the merge of the round
	Reference Scores   // the centralised reference after the round
}

func summarize(d *Data) DataSummary {
	s := DataSummary{Public: len(d.Public), Test: len(d.Test)}
	count := func(list []Sample) (c [10]int) {
		for _, x := range list {
			c[x.Label]++
		}
		return c
	}
	for _, l := range d.Labs {
		s.Train = append(s.Train, count(l.Train))
		s.HeldOut = append(s.HeldOut, count(l.HeldOut))
	}
	return s
}

// rows returns the table: round, model, test accuracy, held-out accuracies.
func (r *Result) rows() [][]string {
	header := []string{"round", "model", "test"}
	for k := range r.Options.Labs {
		header = append(header, fmt.Sprintf("held_out_lab%d", k))
	}
	rows := [][]string{header}
	add := func(round int, model string, s Scores) {
		row := []string{strconv.Itoa(round), model, fmt.Sprintf("%.4f", s.Test)}
		for _, h := range s.HeldOut {
			row = append(row, fmt.Sprintf("%.4f", h))
		}
		rows = append(rows, row)
	}
	add(0, "base", r.Base)
	for _, rd := range r.Rounds {
		for k, s := range rd.Labs {
			add(rd.Round, fmt.Sprintf("lab%d", k), s)
		}
		for k, s := range rd.Solo {
			add(rd.Round, fmt.Sprintf("solo%d", k), s)
		}
		add(rd.Round, "merge", rd.Merge)
		add(rd.Round, "reference", rd.Reference)
	}
	return rows
}

// WriteCSV writes one row per model and round: round, model (base; labK,
// lab K's fine-tune of the round; soloK, lab K alone; merge; reference), test accuracy, then accuracy on each lab's held-out
// split.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.WriteAll(r.rows())
	return cw.Error()
}

// WriteFiles writes the table as prefix.csv (WriteCSV) and the plot as
// prefix.svg (WriteSVG).
func (r *Result) WriteFiles(prefix string) error {
	for ext, write := range map[string]func(io.Writer) error{".csv": r.WriteCSV, ".svg": r.WriteSVG} {
		f, err := os.Create(prefix + ext)
		if err != nil {
			return err
		}
		if err := write(f); err != nil {
			f.Close()
			return fmt.Errorf("%s%s: %w", prefix, ext, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("%s%s: %w", prefix, ext, err)
		}
	}
	return nil
}

// String returns the table WriteCSV writes, aligned, after a line per lab
// saying what it holds.
func (r *Result) String() string {
	var b strings.Builder
	o := r.Options
	fmt.Fprintf(&b, "%d labs, %d rounds, %d epochs/round, batch %d, lr %g, momentum %g, hidden %d, IID %g%%, merge %s, poison %s\n",
		o.Labs, o.Rounds, o.Epochs, o.BatchSize, o.LR, o.Momentum, o.Hidden, 100*o.IIDFraction, o.MergeName, poisonName(o))
	for k := range r.Data.Train {
		fmt.Fprintf(&b, "lab%d: %d train, %d held out; train per digit %v\n", k, sum(r.Data.Train[k]), sum(r.Data.HeldOut[k]), r.Data.Train[k])
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, row := range r.rows() {
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	return b.String()
}

func poisonName(o Options) string {
	switch o.Poison {
	case NoPoison:
		return "none"
	case ScaledDelta:
		return fmt.Sprintf("lab%d publishes its delta ×%g", o.PoisonLab, o.PoisonScale)
	}
	return fmt.Sprintf("lab%d trains on %v", o.PoisonLab, o.Poison)
}

func sum(c [10]int) (n int) {
	for _, v := range c {
		n += v
	}
	return n
}
