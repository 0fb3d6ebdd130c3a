package hub_test

// Load benchmarks, not timed tests: run them by hand, e.g.
//
//	go test ./hub/ -run '^$' -bench PublishLoad -benchtime 32x
//	go test ./hub/ -run '^$' -bench UploadMemory -benchtime 1x
//
// Hub and nodes share the process and its cores; TLS on loopback.

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/node"
	"github.com/potluck-hub/potluck/signing"
	"github.com/potluck-hub/potluck/store"
)

// benchHub serves a hub over TLS on loopback with one member, lab-a.
type benchHub struct {
	dir  string
	addr string
	dial node.DialOptions
	key  *signing.Signer
}

func newBenchHub(b *testing.B) *benchHub {
	b.Helper()
	dir := b.TempDir()
	priv, pub := filepath.Join(dir, "a.key"), filepath.Join(dir, "a.pub")
	if err := signing.GenerateKey(priv, pub); err != nil {
		b.Fatal(err)
	}
	key, err := signing.LoadSigner(priv)
	if err != nil {
		b.Fatal(err)
	}
	members := filepath.Join(dir, "members.yaml")
	if err := os.WriteFile(members, []byte("orgs:\n  - name: lab-a\n    keys:\n      - file: a.pub\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	h, err := hub.Open(hub.Options{DataDir: filepath.Join(dir, "data"), MembersFile: members,
		Screen: hub.Screening{MaxNormRatio: hub.DefaultMaxNormRatio}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	l, stop := serve(b, h, hub.ServeOptions{GRPCAddr: "127.0.0.1:0"})
	b.Cleanup(func() { stop(); h.Close() })
	return &benchHub{dir: dir, addr: l.GRPCAddr(), dial: node.DialOptions{Fingerprint: h.Info().TLSFingerprint}, key: key}
}

// upload sends dirs[i] for every i, from n nodes at once, each node taking
// the next index; kind base or delta (of baseCID).
func (bh *benchHub) upload(b *testing.B, n int, dirs []string, kind potluck.Kind, baseCID string) {
	b.Helper()
	scans := make([]*store.Dir, len(dirs))
	bundles := make([][]byte, len(dirs))
	for i, d := range dirs {
		var err error
		if scans[i], bundles[i], err = node.SignDir(d, bh.key); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			c, err := node.Dial(bh.addr, bh.dial)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := int(next.Add(1) - 1); i < len(dirs); i = int(next.Add(1) - 1) {
				if _, err := c.Upload(context.Background(), kind, scans[i], bundles[i], baseCID, node.UploadOptions{}); err != nil {
					errs <- fmt.Errorf("upload %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkPublishLoad publishes b.N distinct deltas of one base from 1, 4
// and 16 nodes at once, and reports publishes/s and MB/s.
func BenchmarkPublishLoad(b *testing.B) {
	for _, nodes := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			bh := newBenchHub(b)
			spec := testmodel.Spec{Layers: 2, Hidden: 256, Vocab: 2048, Shards: 1}
			base := filepath.Join(bh.dir, "base")
			if err := testmodel.WriteBase(base, 1, spec); err != nil {
				b.Fatal(err)
			}
			bh.upload(b, 1, []string{base}, potluck.KindBase, "")
			baseCID := dirCID(b, base)
			deltas := make([]string, b.N)
			var bytes int64
			for i := range deltas {
				ft := filepath.Join(bh.dir, fmt.Sprintf("ft-%d", i))
				deltas[i] = filepath.Join(bh.dir, fmt.Sprintf("delta-%d", i))
				if err := testmodel.WriteFinetune(base, ft, uint64(10+i), 0.02); err != nil {
					b.Fatal(err)
				}
				if _, err := node.MakeDelta(context.Background(), node.DeltaOptions{BaseDir: base, FinetunedDir: ft, OutDir: deltas[i], BaseCID: baseCID}); err != nil {
					b.Fatal(err)
				}
				os.RemoveAll(ft)
				d, err := store.ScanDir(deltas[i])
				if err != nil {
					b.Fatal(err)
				}
				bytes += d.Size()
			}
			b.ResetTimer()
			start := time.Now()
			bh.upload(b, nodes, deltas, potluck.KindDelta, baseCID)
			secs := time.Since(start).Seconds()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/secs, "publishes/s")
			b.ReportMetric(float64(bytes)/1e6/secs, "MB/s")
		})
	}
}

// BenchmarkUploadMemory registers 16 bases at once, each from its own
// `potluck node register-base` process, so the benchmark's process is the
// hub alone; with bases of about 16 MiB and 64 MiB, it reports the hub's
// peak resident memory above what it held before, and its peak Go heap.
// Flat memory: the same figures whatever the size.
func BenchmarkUploadMemory(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "potluck")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/potluck").CombinedOutput(); err != nil {
		b.Fatalf("building potluck: %v\n%s", err, out)
	}
	for _, size := range []struct {
		name string
		spec testmodel.Spec
	}{
		{"16MiB", testmodel.Spec{Layers: 1, Hidden: 512, Vocab: 4096, Shards: 1}},
		{"64MiB", testmodel.Spec{Layers: 1, Hidden: 1024, Vocab: 9216, Shards: 1}},
	} {
		b.Run("size="+size.name, func(b *testing.B) {
			for range b.N {
				uploadMemory(b, bin, size.spec)
			}
		})
	}
}

func uploadMemory(b *testing.B, bin string, spec testmodel.Spec) {
	const uploads = 16
	bh := newBenchHub(b)
	dirs := make([]string, uploads)
	var total int64
	for i := range dirs {
		dirs[i] = filepath.Join(bh.dir, fmt.Sprintf("base-%d", i))
		if err := testmodel.WriteBase(dirs[i], uint64(100+i), spec); err != nil {
			b.Fatal(err)
		}
		d, err := store.ScanDir(dirs[i])
		if err != nil {
			b.Fatal(err)
		}
		total += d.Size()
	}
	runtime.GC()
	before := rssKiB(b)
	stop := make(chan struct{})
	var peakRSS, peakHeap int64
	var sampler sync.WaitGroup
	sampler.Go(func() {
		var ms runtime.MemStats
		for {
			peakRSS = max(peakRSS, rssKiB(b))
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, int64(ms.HeapInuse))
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, uploads)
	for i, d := range dirs {
		wg.Go(func() {
			cmd := exec.Command(bin, "node", "register-base", d, "--hub", bh.addr, "--hub-fingerprint", bh.dial.Fingerprint,
				"--key", filepath.Join(bh.dir, "a.key"), "--quiet")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, out)
			}
		})
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	close(stop)
	sampler.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(total)/(1<<20), "MiB-uploaded")
	b.ReportMetric(float64(before)/1024, "MiB-RSS-before")
	b.ReportMetric(float64(peakRSS-before)/1024, "MiB-RSS-growth")
	b.ReportMetric(float64(peakHeap)/(1<<20), "MiB-heap-peak")
	b.ReportMetric(float64(total)/1e6/secs, "MB/s")
}

// rssKiB reads the process's resident set size.
func rssKiB(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status: ", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
