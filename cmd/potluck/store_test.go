package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/testgen"
)

func TestStoreAddAndCARRoundTrip(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("MINIO_ENDPOINT", "")
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	os.MkdirAll(filepath.Join(model, "sub"), 0o755)
	os.WriteFile(filepath.Join(model, "w.bin"), testgen.Bytes(70, 700000), 0o644)
	os.WriteFile(filepath.Join(model, "sub", "config.json"), []byte("{}\n"), 0o644)
	want, _, err := run(t, "cid", "-r", model)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := run(t, "store", "add", model, "--data", filepath.Join(dir, "hub1"))
	if err != nil || got != want {
		t.Fatalf("store add: %q %v; potluck cid -r says %q", got, err, want)
	}
	carFile := filepath.Join(dir, "m.car")
	root := strings.TrimSpace(got)
	if _, _, err := run(t, "car", "export", root, "--data", filepath.Join(dir, "hub1"), "-o", carFile); err != nil {
		t.Fatal(err)
	}
	got, _, err = run(t, "car", "import", carFile, "--data", filepath.Join(dir, "hub2"))
	if err != nil || got != want {
		t.Fatalf("car import: %q %v, want %q", got, err, want)
	}
	if _, _, err := run(t, "car", "export", "bafkqaaa", "--data", filepath.Join(dir, "hub2")); err == nil {
		t.Error("export of a CID the store lacks: no error")
	}
	if _, _, err := run(t, "store", "add", model, "--store", "s3://bucket"); err == nil || !strings.Contains(err.Error(), "--s3-endpoint") {
		t.Errorf("--store without an endpoint: %v", err)
	}
}
