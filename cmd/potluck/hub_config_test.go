package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestHubConfig: a config file sets any flag, the command line wins, and
// --print-config shows the effective settings as a config file that reads
// back the same; an unknown key is refused by name.
func TestHubConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hub.yaml")
	os.WriteFile(cfg, []byte("listen: 0.0.0.0:9999\nrequire-token: false\nmax-norm-ratio: 5\ntls-host: [hub.example, 10.0.0.1]\nshutdown-timeout: 1m\n"), 0o644)
	out, _, err := run(t, "hub", "serve", "--config", cfg, "--http", "127.0.0.1:1", "--print-config")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for k, want := range map[string]any{"listen": "0.0.0.0:9999", "http": "127.0.0.1:1", "require-token": false,
		"max-norm-ratio": 5, "shutdown-timeout": "1m0s", "members-only-reads": false} {
		if g := got[k]; g != want {
			t.Errorf("%s = %v (%T), want %v", k, g, g, want)
		}
	}
	if hosts, _ := got["tls-host"].([]any); len(hosts) != 2 || hosts[0] != "hub.example" {
		t.Errorf("tls-host = %v", got["tls-host"])
	}
	printed := filepath.Join(dir, "printed.yaml")
	os.WriteFile(printed, []byte(out), 0o644)
	if again, _, err := run(t, "hub", "serve", "--config", printed, "--print-config"); err != nil || again != out {
		t.Errorf("the printed config does not read back the same (%v):\n%s\nvs\n%s", err, again, out)
	}
	os.WriteFile(cfg, []byte("listne: 0.0.0.0:1\n"), 0o644)
	if _, _, err := run(t, "hub", "serve", "--config", cfg, "--print-config"); err == nil || !strings.Contains(err.Error(), "listne") {
		t.Errorf("an unknown key: %v", err)
	}
}

// TestDeploymentConfigsAreHubSettings: the config files the deployments
// ship name only settings hub serve has.
func TestDeploymentConfigsAreHubSettings(t *testing.T) {
	compose := filepath.Join("..", "..", "deployments", "compose", "hub.yaml")
	var k8s struct {
		Kind string            `yaml:"kind"`
		Data map[string]string `yaml:"data"`
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "deployments", "k8s", "hub.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &k8s); err != nil || k8s.Kind != "ConfigMap" {
		t.Fatalf("k8s/hub.yaml should start with the ConfigMap: %v", err)
	}
	fromK8s := filepath.Join(t.TempDir(), "hub.yaml")
	os.WriteFile(fromK8s, []byte(k8s.Data["hub.yaml"]), 0o644)
	for _, f := range []string{compose, fromK8s} {
		if _, _, err := run(t, "hub", "serve", "--config", f, "--print-config"); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
