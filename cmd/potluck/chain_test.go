package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testmodel"
)

// TestBuildingOnEachOther runs README's "Building on each other" with the
// CLI against a hub on loopback: a lab pulls the group's merge, trains
// from it, publishes against the pulled folder and against the merge's CID
// (pulled into the cache once, reused after), the hub merges the deltas
// over the merge, an auditor recomputes that merge, and apply rebuilds a
// lab's fine-tune from the hub's releases.
func TestBuildingOnEachOther(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	t.Setenv(cacheEnv, at("cache"))
	if _, _, err := run(t, "node", "keygen", "--out", at("lab-a")); err != nil {
		t.Fatal(err)
	}
	members := "orgs:\n  - name: lab-a\n    keys:\n      - file: lab-a.pub\n"
	if err := os.WriteFile(at("members.yaml"), []byte(members), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := serveHub(t, at("hub"), at("members.yaml"))
	var stderr string
	must := func(args ...string) string {
		t.Helper()
		args = append(args, "--hub", addr, "--plaintext")
		out, errOut, err := run(t, args...)
		if err != nil {
			t.Fatalf("potluck %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		stderr = errOut
		return strings.TrimSpace(out)
	}
	writeRecipe := func(name, base string, models ...string) string {
		s := "merge_method: task_arithmetic\nbase_model: " + base + "\nmodels:\n"
		for _, m := range models {
			s += "  - model: " + m + "\n    parameters: {weight: 1.0}\n"
		}
		if err := os.WriteFile(at(name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return at(name)
	}
	spec := testmodel.Spec{Layers: 2, Hidden: 64, Vocab: 128, Shards: 2}
	if err := testmodel.WriteBase(at("base"), 1, spec); err != nil {
		t.Fatal(err)
	}
	if err := testmodel.WriteFinetune(at("base"), at("ft-a"), 20, 0.02); err != nil {
		t.Fatal(err)
	}
	key := at("lab-a.key")
	base := must("node", "register-base", at("base"), "--key", key, "--quiet")
	deltaA := must("node", "publish", "--base", at("base"), "--finetuned", at("ft-a"), "--key", key, "--quiet")
	m1 := must("node", "merge", writeRecipe("m1.yaml", base, deltaA))

	// Train from the merge as pulled, and publish against the pulled folder.
	must("node", "pull", m1, "--out", at("merged"), "--quiet")
	for i, ft := range []string{"ft-c", "ft-d"} {
		if err := testmodel.Perturb(at("merged"), at(ft), uint64(30+i), 0.02); err != nil {
			t.Fatal(err)
		}
	}
	deltaC := must("node", "publish", "--base", at("merged"), "--finetuned", at("ft-c"), "--exact", "--key", key)
	if !strings.Contains(stderr, "as a delta of "+m1) {
		t.Errorf("publishing against the pulled merge:\n%s", stderr)
	}

	// Against the merge's CID: pulled into the cache once, then reused.
	cached := filepath.Join(at("cache"), "releases", m1)
	deltaD := must("node", "publish", "--base", m1, "--finetuned", at("ft-d"), "--key", key)
	if want := "--base " + m1 + ": " + cached + " (pulled from the hub and verified)"; !strings.Contains(stderr, want) {
		t.Errorf("publish --base CID printed no %q:\n%s", want, stderr)
	}
	if err := os.WriteFile(at("ft-d/notes.md"), []byte("a second try\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	must("node", "publish", "--base", m1, "--finetuned", at("ft-d"), "--key", key)
	if want := "--base " + m1 + ": " + cached + " (the cached copy, verified again)"; !strings.Contains(stderr, want) {
		t.Errorf("a second publish --base CID printed no %q:\n%s", want, stderr)
	}

	m2 := must("node", "merge", writeRecipe("m2.yaml", m1, deltaC, deltaD))
	for _, m := range []string{m1, m2} {
		if out := must("verify", "--recompute", m); !strings.Contains(out, "ok  recomputed locally from the recorded recipe and inputs: "+m) {
			t.Errorf("verify --recompute %s printed:\n%s", m, out)
		}
	}

	out := must("verify", m2)
	for _, in := range []string{m1, deltaC, deltaD, base, deltaA} {
		if !strings.Contains(out, "input "+in+":") {
			t.Errorf("verify %s does not check %s:\n%s", m2, in, out)
		}
	}

	// Apply lab C's delta, by CID, to the base its manifest names.
	if out := must("node", "apply", deltaC, "--out", at("rebuilt"), "--quiet"); out != at("rebuilt") {
		t.Errorf("apply printed %q", out)
	}
	if n, err := testmodel.SameFiles(at("ft-c"), at("rebuilt")); err != nil || n < 4 {
		t.Errorf("apply rebuilt %d files: %v", n, err)
	}
}

// serveHub serves a hub over plaintext gRPC on a loopback port until the
// test ends and returns its address.
func serveHub(t *testing.T, data, members string) string {
	t.Helper()
	return serveHubWith(t, hub.Options{DataDir: data, MembersFile: members})
}

// serveHubWith is serveHub with more options (plaintext, logging nowhere).
func serveHubWith(t *testing.T, o hub.Options) string {
	t.Helper()
	o.Plaintext = true
	_, l := startHub(t, o, hub.ServeOptions{GRPCAddr: "127.0.0.1:0"})
	return l.GRPCAddr()
}

// startHub opens a hub (logging nowhere) and serves it until the test ends.
func startHub(t *testing.T, o hub.Options, so hub.ServeOptions) (*hub.Hub, *hub.Listeners) {
	t.Helper()
	o.Logger = slog.New(slog.DiscardHandler)
	h, err := hub.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := hub.Listen(h, so)
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serving the hub: %v", err)
		}
		h.Close()
	})
	return h, l
}

// startTLSHub serves a hub over TLS (its self-signed certificate) with one
// member org, lab-a, and HTTP on loopback; dir holds its files.
func startTLSHub(t *testing.T, dir string) (*hub.Hub, *hub.Listeners) {
	t.Helper()
	members := filepath.Join(dir, "members.yaml")
	if err := os.WriteFile(members, []byte("orgs:\n  - name: lab-a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return startHub(t, hub.Options{DataDir: filepath.Join(dir, "hub"), MembersFile: members},
		hub.ServeOptions{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
}
