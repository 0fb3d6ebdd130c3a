package s3_test

import (
	"os"
	"testing"

	"github.com/potluck-hub/potluck/store/storetest"
)

// BenchmarkImportMinIO: with the POTLUCK_TEST_S3_* variables set,
// go test ./store/s3 -run - -bench ImportMinIO -benchtime 1x
// (POTLUCK_BENCH_10G=1 adds 10 GiB: about 30 GiB of free disk).
func BenchmarkImportMinIO(b *testing.B) {
	sizes := []int64{1 << 30}
	if os.Getenv("POTLUCK_BENCH_10G") != "" {
		sizes = append(sizes, 10<<30)
	}
	for _, size := range sizes {
		name := "1GiB"
		if size > 1<<30 {
			name = "10GiB"
		}
		b.Run(name, func(b *testing.B) { storetest.BenchImport(b, NewTestBackend(b), size) })
	}
}
