package main

// The CLI run in-process: rootCmd() with arguments, output captured.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/potluck-hub/potluck/internal/testgen"
	"github.com/potluck-hub/potluck/internal/testmodel"
)

// run runs the potluck command with args and returns what it printed.
func run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := rootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// vector is one file of store/testdata/cid-vectors.json, whose CIDs come from
// an independent IPFS implementation.
type vector struct {
	Name string `json:"name"`
	Seed uint64 `json:"seed"`
	Size int64  `json:"size"`
	CID  string `json:"cid"`
}

func loadVectors(t *testing.T) map[string]vector {
	t.Helper()
	b, err := os.ReadFile("../../store/testdata/cid-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Files []vector }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]vector{}
	for _, f := range v.Files {
		out[f.Name] = f
	}
	return out
}

func TestCID(t *testing.T) {
	vs := loadVectors(t)
	dir := t.TempDir()
	for _, name := range []string{"empty", "chunk+1"} {
		v, ok := vs[name]
		if !ok {
			t.Fatalf("cid-vectors.json has no %q", name)
		}
		if (name == "empty" && (v.Seed != 1 || v.Size != 0)) || (name == "chunk+1" && (v.Seed != 4 || v.Size != 256<<10+1)) {
			t.Fatalf("vector %q is seed %d, %d bytes: not what the test expects", name, v.Seed, v.Size)
		}
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name+".bin")
			if err := os.WriteFile(p, testgen.Bytes(v.Seed, v.Size), 0o644); err != nil {
				t.Fatal(err)
			}
			out, _, err := run(t, "cid", p)
			if err != nil {
				t.Fatal(err)
			}
			if out != v.CID+"\n" {
				t.Errorf("potluck cid %s printed %q, want %s", name, out, v.CID)
			}
		})
	}
	t.Run("DirectoryNeedsR", func(t *testing.T) {
		out, _, err := run(t, "cid", dir)
		if err == nil || !strings.Contains(err.Error(), "-r") {
			t.Errorf("cid on a directory without -r: %v (printed %q)", err, out)
		}
		if out != "" {
			t.Errorf("cid on a directory without -r printed %q", out)
		}
	})
}

func TestNodeKeygen(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "lab-a")
	out, _, err := run(t, "node", "keygen", "--out", prefix)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s.key has mode %v, want 0600", prefix, st.Mode().Perm())
	}
	key, _ := os.ReadFile(prefix + ".key")
	pub, err := os.ReadFile(prefix + ".pub")
	if err != nil || !bytes.Contains(pub, []byte("BEGIN PUBLIC KEY")) || !bytes.Contains(key, []byte("PRIVATE KEY")) {
		t.Errorf("key files: %v; .pub %q", err, pub)
	}
	if !strings.Contains(out, prefix+".key") {
		t.Errorf("keygen printed %q", out)
	}

	_, _, err = run(t, "node", "keygen", "--out", prefix)
	if !errors.Is(err, os.ErrExist) {
		t.Errorf("keygen over existing keys: %v, want an error wrapping os.ErrExist", err)
	}
	key2, _ := os.ReadFile(prefix + ".key")
	pub2, _ := os.ReadFile(prefix + ".pub")
	if !bytes.Equal(key, key2) || !bytes.Equal(pub, pub2) {
		t.Error("keygen overwrote existing key files")
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, cmd := range [][]string{
		{"hub", "serve"}, {"node", "keygen"}, {"node", "register-base"}, {"node", "publish"}, {"node", "pull"},
		{"node", "merge"}, {"node", "job"}, {"node", "apply"}, {"merge"}, {"extract-lora"}, {"verify"}, {"cid"}, {"demo"},
	} {
		name := strings.Join(cmd, " ")
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			out, _, err := run(t, append(cmd, "--help")...)
			if err != nil {
				t.Fatal(err)
			}
			_, examples, ok := strings.Cut(out, "Examples:")
			examples, _, _ = strings.Cut(examples, "Flags:")
			if !ok || !strings.Contains(examples, "potluck "+name) {
				t.Errorf("potluck %s --help has no example of itself:\n%s", name, out)
			}
		})
	}
}

func TestMergeUnknownMethodWritesNothing(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	if err := testmodel.WriteBase(base, 1, testmodel.Spec{Layers: 1, Hidden: 16, Vocab: 32, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	recipe := filepath.Join(dir, "recipe.yaml")
	body := "merge_method: frobnicate\nbase_model: " + base + "\nmodels:\n  - model: " + base + "\n"
	if err := os.WriteFile(recipe, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "merged")
	stdout, _, err := run(t, "merge", recipe, "--out", out)
	if err == nil || !strings.Contains(err.Error(), `"frobnicate"`) {
		t.Errorf("merge with an unknown method: %v; want an error naming it", err)
	}
	if stdout != "" {
		t.Errorf("merge printed %q", stdout)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "base,recipe.yaml" {
		t.Errorf("after the failed merge %s holds %v", dir, names)
	}
}

// syncBuffer is a bytes.Buffer safe to read while a server writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRoundTrip drives a hub served by `potluck hub serve` with the lab
// commands, as the README's walk-through does: keygen, register-base,
// publish, node merge, node pull, verify, and a local merge that must give
// the hub's CID.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	for _, lab := range []string{"lab-a", "lab-b"} {
		if _, _, err := run(t, "node", "keygen", "--out", at(lab)); err != nil {
			t.Fatal(err)
		}
	}
	// Each lab gets a token; the members file lists only its hash.
	members := "orgs:\n"
	for _, lab := range []string{"lab-a", "lab-b"} {
		tok, hashLine, err := run(t, "hub", "token")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(at(lab+".token"), []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		_, hash, _ := strings.Cut(hashLine, "- ")
		members += "  - name: " + lab + "\n    keys:\n      - file: " + lab + ".pub\n    tokens:\n      - " + strings.TrimSpace(hash) + "\n"
	}
	if err := os.WriteFile(at("members.yaml"), []byte(members), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := testmodel.Spec{Layers: 2, Hidden: 64, Vocab: 128, Shards: 2}
	if err := testmodel.WriteBase(at("base"), 1, spec); err != nil {
		t.Fatal(err)
	}
	for i, ft := range []string{"ft-a", "ft-b"} {
		if err := testmodel.WriteFinetune(at("base"), at(ft), uint64(20+i), 0.02); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var log syncBuffer
	root := rootCmd()
	root.SetArgs([]string{"hub", "serve", "--data", at("hub"), "--members", at("members.yaml"), "--listen", "127.0.0.1:0", "--http", ""})
	root.SetOut(&log)
	root.SetErr(&log)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub serve: %v", err)
		}
	})
	var addr, fingerprint string
	for deadline := time.Now().Add(10 * time.Second); fingerprint == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, rest, ok := strings.Cut(log.String(), "gRPC on "); ok {
			addr, _, _ = strings.Cut(rest, ",")
		}
		if _, rest, ok := strings.Cut(log.String(), "TLS fingerprint "); ok {
			fingerprint, _, _ = strings.Cut(rest, "\n")
		}
		select {
		case err := <-done:
			t.Fatalf("hub serve stopped: %v\n%s", err, log.String())
		default:
		}
	}
	if addr == "" {
		t.Fatalf("hub serve did not say where it listens:\n%s", log.String())
	}

	// Every call to the hub pins its certificate and sends lab-a's token
	// unless a command names another.
	var stderr string // of the last command
	must := func(args ...string) string {
		t.Helper()
		if slices.Contains(args, "--hub") {
			args = append(args, "--hub-fingerprint", fingerprint)
			if !slices.Contains(args, "--token-file") {
				args = append(args, "--token-file", at("lab-a.token"))
			}
		}
		out, errOut, err := run(t, args...)
		if err != nil {
			t.Fatalf("potluck %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		stderr = errOut
		return strings.TrimSpace(out)
	}
	baseCID := must("node", "register-base", at("base"), "--hub", addr, "--key", at("lab-a.key"), "--quiet")
	if want := must("cid", "-r", at("base")); baseCID != want {
		t.Errorf("register-base printed %s, cid -r gives %s", baseCID, want)
	}
	var deltas []string
	for _, lab := range []string{"a", "b"} {
		args := []string{"node", "publish", "--base", at("base"), "--finetuned", at("ft-" + lab), "--out", at("delta-" + lab),
			"--hub", addr, "--key", at("lab-" + lab + ".key"), "--token-file", at("lab-" + lab + ".token")}
		if lab == "a" {
			args = append(args, "--quiet")
		}
		c := must(args...)
		if lab == "b" && (!strings.Contains(stderr, "upload session ") || !strings.Contains(stderr, "bytes (100%)")) {
			t.Errorf("publish without --quiet (not a terminal) printed no session id or progress lines:\n%s", stderr)
		}
		deltas = append(deltas, c)
	}
	recipe := func(base string, models []string) string {
		s := "merge_method: task_arithmetic\nbase_model: " + base + "\nmodels:\n"
		for _, m := range models {
			s += "  - model: " + m + "\n    parameters: {weight: 0.5}\n"
		}
		p := at("recipe-" + filepath.Base(models[0]) + ".yaml")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mergeCID := must("node", "merge", recipe(baseCID, deltas), "--hub", addr)
	// The same recipe as a job is done at once, with the same release.
	jobID := must("node", "merge", recipe(baseCID, deltas), "--hub", addr, "--wait=false")
	if out := must("node", "job", jobID, "--hub", addr); !strings.Contains(out, "state done") || !strings.Contains(out, "cid "+mergeCID) {
		t.Errorf("node job %s printed:\n%s", jobID, out)
	}
	if pulled := must("node", "pull", mergeCID, "--out", at("pulled"), "--hub", addr, "--quiet"); pulled != at("pulled") {
		t.Errorf("pull printed %q", pulled)
	}
	if out := must("verify", at("pulled"), "--key", at("hub/hub.pub")); !strings.Contains(out, "cid "+mergeCID) {
		t.Errorf("verify of the pulled merge printed:\n%s", out)
	}
	if out := must("verify", mergeCID, "--hub", addr); !strings.Contains(out, "cid "+mergeCID) {
		t.Errorf("verify by CID printed:\n%s", out)
	}
	// Without a token the hub refuses an upload; with a wrong pin, any call.
	if _, _, err := run(t, "node", "merge", recipe(baseCID, deltas), "--hub", addr, "--hub-fingerprint", fingerprint); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Errorf("a merge with no token: %v", err)
	}
	if _, _, err := run(t, "node", "pull", mergeCID, "--out", at("pulled-2"), "--hub", addr, "--hub-fingerprint", strings.Repeat("ab", 32)); err == nil || !strings.Contains(err.Error(), "fingerprint") {
		t.Errorf("a pull pinning the wrong certificate: %v", err)
	}
	if _, _, err := run(t, "verify", at("pulled"), "--key", at("lab-a.pub")); err == nil {
		t.Error("the hub's merge verified against a lab key")
	}
	local := must("merge", recipe(at("base"), []string{at("delta-a"), at("delta-b")}), "--out", at("local"))
	if want := mergeCID + "\t" + at("local"); local != want {
		t.Errorf("local merge printed %q, want %q (the hub's CID)", local, want)
	}
}
