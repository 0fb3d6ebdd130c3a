package storetest

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/potluck-hub/potluck/store"
)

// BenchImport measures, on one backend, what the storage issue asks of it:
// the import of size bytes (kubo's random data, read from a local file)
// in GB/s, the process's peak RSS during the import, and the cost of
// reading one 64 MiB tensor at a random offset, checked (VerifiedFile) and
// raw (File.Range): on local disk that read is cold, since an import writes
// with direct I/O and leaves nothing of the file in the page cache.
// Everything it writes is deleted at the end.
func BenchImport(b *testing.B, backend store.Backend, size int64) {
	ctx := context.Background()
	src := filepath.Join(b.TempDir(), "src")
	writeSource(b, src, size)
	s, err := store.Open(b.TempDir(), store.Options{Backend: backend})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	defer s.GC(ctx, store.GCOptions{}) // nothing is pinned: removes it all

	resetPeakRSS()
	b.ResetTimer()
	start := time.Now()
	f, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	st, err := s.Add(f)
	f.Close()
	if err == nil {
		err = st.Commit(ctx)
	}
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(size)/elapsed.Seconds()/1e9, "import_GB/s")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peakRSS_MiB")
	b.ReportMetric(rangeCost(b, s, st.Info, true).Seconds()*1e3, "read64MiB_verified_ms")
	b.ReportMetric(rangeCost(b, s, st.Info, false).Seconds()*1e3, "read64MiB_raw_ms")
	b.Logf("%s: %d bytes in %v, CID %s", b.Name(), size, elapsed, st.Info.CID)
}

func writeSource(b *testing.B, p string, size int64) {
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.Copy(w, KuboData("potluck-bench", size)); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	// On disk before the clock starts: the source's write-back is not the
	// import's cost.
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// rangeCost reads 64 MiB at a random offset, as the merge engine reads a
// tensor, and returns how long it took.
func rangeCost(b *testing.B, s *store.Store, info store.FileInfo, verified bool) time.Duration {
	ctx := context.Background()
	const n = 64 << 20
	off := rand.Int64N(max(1, info.Size-n))
	buf := make([]byte, 1<<20)
	start := time.Now()
	var r io.Reader
	if verified {
		v, err := s.OpenVerified(ctx, info.CID)
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close()
		r = io.NewSectionReader(v, off, n)
	} else {
		f, err := s.Open(ctx, info.CID)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if r, err = f.Range(off, n); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// resetPeakRSS zeroes the kernel's high-water mark of this process's RSS.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM from /proc/self/status, in bytes.
func peakRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
