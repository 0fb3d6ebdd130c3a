package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
)

// TestStagedBytes checks the staging file holds exactly what was imported,
// for sizes around the direct-I/O block and the chunk, from a plain reader
// and from a file, one read from part way in.
func TestStagedBytes(t *testing.T) {
	s, _ := openStore(t)
	content := testgen.Bytes(41, 20*ChunkSize+5000)
	src := filepath.Join(t.TempDir(), "src")
	for _, n := range []int{0, 1, dioAlign - 1, dioAlign, dioAlign + 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 5000, len(content)} {
		if err := os.WriteFile(src, content[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		for _, from := range []string{"reader", "file", "file from byte 7"} {
			var r io.Reader = bytes.NewReader(content[:n])
			want := content[:n]
			if from != "reader" {
				f, err := os.Open(src)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if from == "file from byte 7" {
					f.Seek(7, io.SeekStart)
					want = content[min(7, n):n]
				}
				r = f
			}
			st, err := s.Add(r)
			if err != nil {
				t.Fatalf("%d bytes from a %s: %v", n, from, err)
			}
			got, err := os.ReadFile(st.data)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%d bytes from a %s: staged %d bytes (%v), want %d", n, from, len(got), err, len(want))
			}
			if st.Info.Size != int64(len(want)) || st.Info.SHA256 != sha256.Sum256(want) {
				t.Errorf("%d bytes from a %s: info %+v", n, from, st.Info)
			}
			st.Discard()
		}
	}
}

// TestStageWriterFallsBack feeds the writer a chunk direct I/O refuses (its
// buffer is not aligned): it must go on through the page cache.
func TestStageWriterFallsBack(t *testing.T) {
	content := testgen.Bytes(42, 3*ChunkSize+100)
	f, err := os.Create(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	free := make(chan []byte, window)
	w := newStageWriter(f, free)
	for off := 0; off < len(content); off += ChunkSize {
		buf := alignedBuf(ChunkSize)
		if off == ChunkSize {
			buf = make([]byte, ChunkSize+1)[1:] // misaligned
		}
		n := copy(buf, content[off:])
		w.put(&piece{data: buf[:n]})
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("written %d bytes (%v), want %d", len(got), err, len(content))
	}
	if len(free) != 4 {
		t.Errorf("%d buffers came back, want 4", len(free))
	}
}

// TestStagedReader checks a commit's reader against the file, read by
// random ranges from several goroutines at once and sequentially.
func TestStagedReader(t *testing.T) {
	content := testgen.Bytes(43, 3*readBlock+12345)
	name := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(name, content, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := openStaged(name, int64(len(content)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				off := rng.IntN(len(content) + 10)
				buf := make([]byte, rng.IntN(2*readBlock))
				n, err := r.ReadAt(buf, int64(off))
				want := content[min(off, len(content)):]
				want = want[:min(len(want), len(buf))]
				if n != len(want) || !bytes.Equal(buf[:n], want) {
					t.Errorf("ReadAt(%d bytes at %d): %d bytes, want %d", len(buf), off, n, len(want))
					return
				}
				if (n < len(buf)) != (err == io.EOF) || (err != nil && err != io.EOF) {
					t.Errorf("ReadAt(%d bytes at %d): %d bytes, %v", len(buf), off, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	all, err := io.ReadAll(struct{ io.Reader }{r})
	if err != nil || !bytes.Equal(all, content) {
		t.Errorf("sequential read: %d bytes, %v; want %d", len(all), err, len(content))
	}
}

// Closing a commit's reader while another goroutine still reads it (an
// HTTP client finishing a request body after the response came) is safe:
// those reads fail with os.ErrClosed, and Close waits for reads in flight.
func TestStagedReaderCloseWhileReading(t *testing.T) {
	content := testgen.Bytes(44, 6*readBlock)
	name := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(name, content, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		r, err := openStaged(name, int64(len(content)))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			buf := make([]byte, 64<<10)
			for {
				if _, err := r.Read(buf); err != nil {
					done <- err
					return
				}
			}
		}()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != io.EOF && !errors.Is(err, os.ErrClosed) {
			t.Fatalf("a read racing Close: %v, want os.ErrClosed (or EOF had it finished)", err)
		}
	}
}
