// Package mnist holds a small, fixed subset of the MNIST handwritten digits
// (6,000 training and 2,000 test images, unmodified; see data/README.md for
// which, the licence and the citation), embedded in the binary so that the
// study-group demo learns from real data with nothing to download.
package mnist

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

//go:generate sh -c "cd _gen && go run . -out ../data"

// The sizes of an MNIST image and the number of classes (the digits 0-9).
const (
	Width   = 28
	Height  = 28
	Pixels  = Width * Height
	Classes = 10
)

// ErrFormat says that a file is not in the IDX format this package reads.
var ErrFormat = errors.New("mnist: not an IDX file")

//go:embed data/*.gz
var data embed.FS

// A Set is a list of labelled images.
type Set struct {
	// Pixels holds the images one after the other, Pixels per image,
	// row by row; 0 is background, 255 full ink.
	Pixels []byte
	// Labels holds each image's digit, 0-9.
	Labels []uint8
}

// Len returns the number of images.
func (s *Set) Len() int { return len(s.Labels) }

// Image returns image i's pixels.
func (s *Set) Image(i int) []byte { return s.Pixels[i*Pixels : (i+1)*Pixels] }

// Train returns the embedded training subset: 6,000 images, MNIST training
// images 0, 10, 20, ..., 59990 in that order. Each call returns a new copy.
func Train() (*Set, error) { return open("train") }

// Test returns the embedded test subset: 2,000 images, MNIST test images 0,
// 5, 10, ..., 9995 in that order. Each call returns a new copy.
func Test() (*Set, error) { return open("t10k") }

// The embedded files, decompressed once.
var (
	trainFiles = sync.OnceValues(func() (*Set, error) { return decode("train") })
	testFiles  = sync.OnceValues(func() (*Set, error) { return decode("t10k") })
)

func open(prefix string) (*Set, error) {
	f := trainFiles
	if prefix == "t10k" {
		f = testFiles
	}
	s, err := f()
	if err != nil {
		return nil, err
	}
	return &Set{Pixels: bytes.Clone(s.Pixels), Labels: bytes.Clone(s.Labels)}, nil
}

func decode(prefix string) (*Set, error) {
	images, err := gunzip(prefix + "-images-idx3-ubyte.gz")
	if err != nil {
		return nil, err
	}
	labels, err := gunzip(prefix + "-labels-idx1-ubyte.gz")
	if err != nil {
		return nil, err
	}
	return Read(bytes.NewReader(images), bytes.NewReader(labels))
}

func gunzip(name string) ([]byte, error) {
	f, err := data.Open("data/" + name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("mnist %s: %w", name, err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		return nil, fmt.Errorf("mnist %s: %w", name, err)
	}
	return b, nil
}

// Read reads a set from an uncompressed IDX image file (magic 0x803, 28×28
// images) and its IDX label file (magic 0x801), as LeCun's files hold them.
func Read(images, labels io.Reader) (*Set, error) {
	dims, err := readHeader(images, 0x803, 3)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if dims[1] != Height || dims[2] != Width {
		return nil, fmt.Errorf("images: %w: images are %d×%d, want %d×%d", ErrFormat, dims[1], dims[2], Height, Width)
	}
	n := dims[0]
	ldims, err := readHeader(labels, 0x801, 1)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	if ldims[0] != n {
		return nil, fmt.Errorf("%w: %d images but %d labels", ErrFormat, n, ldims[0])
	}
	s := &Set{Pixels: make([]byte, n*Pixels), Labels: make([]uint8, n)}
	if _, err := io.ReadFull(images, s.Pixels); err != nil {
		return nil, fmt.Errorf("images: %d images: %w", n, err)
	}
	if _, err := io.ReadFull(labels, s.Labels); err != nil {
		return nil, fmt.Errorf("labels: %d labels: %w", n, err)
	}
	for i, l := range s.Labels {
		if l >= Classes {
			return nil, fmt.Errorf("labels: %w: label %d is %d, want 0-9", ErrFormat, i, l)
		}
	}
	return s, nil
}

// readHeader reads an IDX magic number and rank dimensions, big-endian.
func readHeader(r io.Reader, magic uint32, rank int) ([]int, error) {
	h := make([]uint32, 1+rank)
	if err := binary.Read(r, binary.BigEndian, h); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	if h[0] != magic {
		return nil, fmt.Errorf("%w: magic %#x, want %#x", ErrFormat, h[0], magic)
	}
	dims := make([]int, rank)
	for i, d := range h[1:] {
		if d > 1<<24 {
			return nil, fmt.Errorf("%w: dimension %d is %d", ErrFormat, i, d)
		}
		dims[i] = int(d)
	}
	return dims, nil
}
