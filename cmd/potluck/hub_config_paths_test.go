package main

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestHubConfigRelativePaths: paths in a config file are relative to the
// file, not to where the hub starts, and --print-config prints them
// absolute (a relative flag too, against the working folder).
func TestHubConfigRelativePaths(t *testing.T) {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	if err := os.Mkdir(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(etc, "hub.yaml")
	if err := os.WriteFile(cfg, []byte("data: ../data\nmembers: members.yaml\ntls-cert: tls/hub.crt\ntls-key: /abs/hub.key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // elsewhere
	out, _, err := run(t, "hub", "serve", "--config", cfg, "--client-ca", "ca.pem", "--print-config")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	for k, want := range map[string]string{"data": filepath.Join(dir, "data"), "members": filepath.Join(etc, "members.yaml"),
		"tls-cert": filepath.Join(etc, "tls", "hub.crt"), "tls-key": "/abs/hub.key", "client-ca": filepath.Join(wd, "ca.pem")} {
		if got[k] != want {
			t.Errorf("%s = %v, want %s", k, got[k], want)
		}
	}
}
