package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHubServeCPUProfile: `hub serve --cpuprofile` leaves a CPU profile
// (gzip-compressed, as go tool pprof reads it) once the hub stops.
func TestHubServeCPUProfile(t *testing.T) {
	dir := t.TempDir()
	members := filepath.Join(dir, "members.yaml")
	if err := os.WriteFile(members, []byte("orgs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "hub.prof")
	ctx, cancel := context.WithCancel(context.Background())
	var log syncBuffer
	root := rootCmd()
	root.SetArgs([]string{"hub", "serve", "--data", filepath.Join(dir, "hub"), "--members", members,
		"--listen", "127.0.0.1:0", "--http", "", "--cpuprofile", prof})
	root.SetOut(&log)
	root.SetErr(&log)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(log.String(), "gRPC on ") && time.Now().Before(deadline); {
		select {
		case err := <-done:
			t.Fatalf("hub serve stopped: %v\n%s", err, log.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("hub serve: %v\n%s", err, log.String())
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatalf("no profile after the hub stopped: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("profile is not gzip-compressed: %v", err)
	}
	if body, err := io.ReadAll(zr); err != nil || len(body) == 0 {
		t.Fatalf("profile body: %d bytes, %v", len(body), err)
	}
}
