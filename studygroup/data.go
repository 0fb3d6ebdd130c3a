package studygroup

import (
	"fmt"

	"github.com/potluck-hub/potluck/internal/mlp"
	"github.com/potluck-hub/potluck/internal/mnist"
)

// A Sample is one image as the MLP reads it: the nonzero pixels, scaled to
// (0, 1].
type Sample = mlp.Sample[float32]

// Data is a study group's data: the base's public slice, each lab's private
// splits and the test set. Split says how it is cut.
type Data struct {
	Public []Sample
	Labs   []LabData
	Test   []Sample
}

// LabData is one lab's private data.
type LabData struct {
	Digits  []int    // the digits the lab owns
	Train   []Sample // its training split
	HeldOut []Sample // its held-out split, with the same skew
}

// Owner returns the lab of labs that owns digit d: ⌊d·labs/10⌋.
func Owner(d, labs int) int { return d * labs / mnist.Classes }

// Split cuts train into a public slice of the first public images and the
// labs' splits, and turns test into samples, by the rule the package
// comment gives: pool image j is shared when ⌊(j+1)·iid⌋ > ⌊j·iid⌋, and the
// shared images go round-robin to the labs; any other goes to
// Owner(its digit); each lab holds out every 5th of its images.
func Split(train, test *mnist.Set, labs int, iid float64, public int) (*Data, error) {
	if labs < 2 || labs > mnist.Classes {
		return nil, fmt.Errorf("%w: %d labs, want 2 to 10", ErrOptions, labs)
	}
	if public < 1 || public >= train.Len() {
		return nil, fmt.Errorf("%w: %d public images of %d", ErrOptions, public, train.Len())
	}
	d := &Data{Labs: make([]LabData, labs), Test: samples(test, 0, test.Len())}
	d.Public = samples(train, 0, public)
	for digit := range mnist.Classes {
		k := Owner(digit, labs)
		d.Labs[k].Digits = append(d.Labs[k].Digits, digit)
	}
	all := samples(train, public, train.Len())
	mine := make([][]Sample, labs)
	shared := 0
	for j, s := range all {
		k := Owner(s.Label, labs)
		if int(float64(j+1)*iid) > int(float64(j)*iid) {
			k = shared % labs
			shared++
		}
		mine[k] = append(mine[k], s)
	}
	for k, list := range mine {
		for i, s := range list {
			if i%5 == 4 {
				d.Labs[k].HeldOut = append(d.Labs[k].HeldOut, s)
			} else {
				d.Labs[k].Train = append(d.Labs[k].Train, s)
			}
		}
	}
	return d, nil
}

// samples returns images lo..hi-1 of set as samples.
func samples(set *mnist.Set, lo, hi int) []Sample {
	out := make([]Sample, 0, hi-lo)
	for i := lo; i < hi; i++ {
		var s Sample
		for p, v := range set.Image(i) {
			if v != 0 {
				s.Index = append(s.Index, int32(p))
				s.Value = append(s.Value, float32(v)/255)
			}
		}
		s.Label = int(set.Labels[i])
		out = append(out, s)
	}
	return out
}

// Union returns every lab's training split, lab after lab.
func (d *Data) Union() []Sample {
	var out []Sample
	for _, l := range d.Labs {
		out = append(out, l.Train...)
	}
	return out
}
