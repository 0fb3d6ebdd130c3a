package store_test

import (
	"os"
	"testing"

	"github.com/potluck-hub/potluck/store"
	"github.com/potluck-hub/potluck/store/storetest"
)

// BenchmarkImportDisk: go test ./store -run - -bench ImportDisk -benchtime 1x
// (POTLUCK_BENCH_10G=1 adds 10 GiB: about 20 GiB of free disk).
func BenchmarkImportDisk(b *testing.B) {
	for _, size := range benchSizes() {
		b.Run(sizeName(size), func(b *testing.B) {
			d, err := store.NewDiskBackend(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			storetest.BenchImport(b, d, size)
		})
	}
}

func benchSizes() []int64 {
	if os.Getenv("POTLUCK_BENCH_10G") != "" {
		return []int64{1 << 30, 10 << 30}
	}
	return []int64{1 << 30}
}

func sizeName(n int64) string {
	if n >= 10<<30 {
		return "10GiB"
	}
	return "1GiB"
}
