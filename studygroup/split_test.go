package studygroup

import (
	"testing"

	"github.com/potluck-hub/potluck/internal/mnist"
)

func TestOwner(t *testing.T) {
	for labs, want := range map[int][]int{
		2:  {0, 0, 0, 0, 0, 1, 1, 1, 1, 1},
		3:  {0, 0, 0, 0, 1, 1, 1, 2, 2, 2},
		4:  {0, 0, 0, 1, 1, 2, 2, 2, 3, 3},
		10: {0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
	} {
		for d, k := range want {
			if got := Owner(d, labs); got != k {
				t.Errorf("%d labs: digit %d goes to lab %d, want %d", labs, d, got, k)
			}
		}
	}
}

// TestSplit checks the split rule on the embedded data: the public slice,
// every 10th pool image shared round-robin, the rest by owner, every 5th
// of a lab's images held out, nothing lost or repeated.
func TestSplit(t *testing.T) {
	train, _ := mnist.Train()
	test, _ := mnist.Test()
	const labs, public = 3, 300
	d, err := Split(train, test, labs, 0.1, public)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Public) != public || len(d.Test) != test.Len() {
		t.Fatalf("%d public, %d test", len(d.Public), len(d.Test))
	}
	pool := train.Len() - public
	total, foreign := 0, 0
	for k, l := range d.Labs {
		n := len(l.Train) + len(l.HeldOut)
		total += n
		// Held out: positions 4, 9, 14, ... of the lab's n images.
		if want := n / 5; len(l.HeldOut) != want {
			t.Errorf("lab %d: %d held out of %d, want %d", k, len(l.HeldOut), n, want)
		}
		for _, s := range append(append([]Sample{}, l.Train...), l.HeldOut...) {
			if Owner(s.Label, labs) != k {
				foreign++
			}
		}
	}
	if total != pool {
		t.Errorf("labs hold %d images, the pool has %d", total, pool)
	}
	// Shared images are 10% of the pool; about 2/3 of them land on a lab
	// that does not own their digit.
	if shared := pool / 10; foreign < shared/2 || foreign > shared {
		t.Errorf("%d images outside their owner's lab, of %d shared", foreign, shared)
	}
	if got := d.Labs[0].Digits; len(got) != 4 || got[0] != 0 || got[3] != 3 {
		t.Errorf("lab 0 owns %v, want [0 1 2 3]", got)
	}

	// With no sharing, every image is with its owner.
	d, _ = Split(train, test, labs, 0, public)
	for k, l := range d.Labs {
		for _, s := range l.Train {
			if Owner(s.Label, labs) != k {
				t.Fatalf("IID 0: lab %d has digit %d", k, s.Label)
			}
		}
	}
	// With everything shared, each lab has every digit.
	d, _ = Split(train, test, labs, 1, public)
	for k, l := range d.Labs {
		var seen [10]bool
		for _, s := range l.Train {
			seen[s.Label] = true
		}
		for digit, ok := range seen {
			if !ok {
				t.Errorf("IID 1: lab %d has no %d", k, digit)
			}
		}
	}
}

func TestSamplesScalePixels(t *testing.T) {
	set := &mnist.Set{Pixels: make([]byte, mnist.Pixels), Labels: []uint8{7}}
	set.Pixels[3], set.Pixels[700] = 255, 51
	s := samples(set, 0, 1)[0]
	if s.Label != 7 || len(s.Index) != 2 || s.Index[0] != 3 || s.Value[0] != 1 || s.Index[1] != 700 || s.Value[1] != 0.2 {
		t.Errorf("sample %+v", s)
	}
}

func mustSet(t *testing.T, train bool) *mnist.Set {
	t.Helper()
	f := mnist.Test
	if train {
		f = mnist.Train
	}
	s, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
