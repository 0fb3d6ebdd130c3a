package mnist

import (
	"bytes"
	"errors"
	"testing"
)

func TestSubsets(t *testing.T) {
	for _, c := range []struct {
		name string
		load func() (*Set, error)
		n    int
	}{{"train", Train, 6000}, {"test", Test, 2000}} {
		s, err := c.load()
		if err != nil {
			t.Fatal(err)
		}
		if s.Len() != c.n || len(s.Pixels) != c.n*Pixels {
			t.Fatalf("%s: %d images, %d pixels; want %d images", c.name, s.Len(), len(s.Pixels), c.n)
		}
		var count [Classes]int
		for _, l := range s.Labels {
			count[l]++
		}
		for d, k := range count {
			// MNIST is roughly balanced: each digit is 7-13% of a subset.
			if k < c.n*7/100 || k > c.n*13/100 {
				t.Errorf("%s: digit %d: %d images of %d", c.name, d, k, c.n)
			}
		}
	}
}

// TestFirstImages checks the first labels against the original files:
// training images 0, 10, 20 are 5, 3, 4; test images 0, 5, 10 are 7, 1, 0.
func TestFirstImages(t *testing.T) {
	train, _ := Train()
	test, _ := Test()
	if got := train.Labels[:3]; !bytes.Equal(got, []byte{5, 3, 4}) {
		t.Errorf("train labels %v", got)
	}
	if got := test.Labels[:3]; !bytes.Equal(got, []byte{7, 1, 0}) {
		t.Errorf("test labels %v", got)
	}
}

func TestReadRejects(t *testing.T) {
	labels := []byte{0, 0, 8, 1, 0, 0, 0, 1, 3}
	images := append([]byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28}, make([]byte, Pixels)...)
	if _, err := Read(bytes.NewReader(images), bytes.NewReader(labels)); err != nil {
		t.Fatalf("valid: %v", err)
	}
	bad := bytes.Clone(images)
	bad[3] = 1
	if _, err := Read(bytes.NewReader(bad), bytes.NewReader(labels)); !errors.Is(err, ErrFormat) {
		t.Errorf("bad magic: %v", err)
	}
	if _, err := Read(bytes.NewReader(images[:100]), bytes.NewReader(labels)); err == nil {
		t.Error("short images: no error")
	}
	badLabel := bytes.Clone(labels)
	badLabel[8] = 10
	if _, err := Read(bytes.NewReader(images), bytes.NewReader(badLabel)); !errors.Is(err, ErrFormat) {
		t.Errorf("label 10: %v", err)
	}
}
