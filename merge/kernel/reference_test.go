package kernel_test

import (
	"testing"

	"github.com/potluck-hub/potluck/internal/simdtest"
	"github.com/potluck-hub/potluck/merge/kernel"
)

func TestForceGeneric(t *testing.T) {
	before := kernel.Implementation()
	restore := kernel.ForceGeneric()
	if got := kernel.Implementation(); got != "generic" {
		t.Errorf("under ForceGeneric, Implementation = %q", got)
	}
	restore()
	if got := kernel.Implementation(); got != before {
		t.Errorf("after restore, Implementation = %q, want %q", got, before)
	}
}

// TestLevels says which kernels this run checks (go test -v shows it).
func TestLevels(t *testing.T) { simdtest.ReportLevels(t) }
