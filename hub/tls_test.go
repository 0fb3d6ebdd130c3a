package hub_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/hub"
)

// An empty certificate file (a placeholder Secret left unfilled) is refused
// with an error naming the files, not only "failed to find any PEM data".
func TestLoadTLSNamesEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for _, p := range []string{cert, key} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := hub.LoadTLS(dir, hub.TLSOptions{CertFile: cert, KeyFile: key})
	if err == nil || !strings.Contains(err.Error(), cert) || !strings.Contains(err.Error(), key) {
		t.Fatalf("LoadTLS with empty files: %v, want an error naming %s and %s", err, cert, key)
	}
}
