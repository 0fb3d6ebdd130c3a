package main

// An operator's commands, from the command line against a hub served in
// this process: reload the members file, list jobs, unpin, fetch the
// hub's keys; and the data folder a running hub holds.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/signing"
)

func TestHubMembersReload(t *testing.T) {
	t.Run("LogsTheNewKey", func(t *testing.T) {
		g := newGroup(t)
		g.must("", "node", "keygen", "--out", g.at("x"))
		k, err := signing.LoadPublicKey(g.at("x.pub"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(g.at("members.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(b), "{file: lab-b.pub}", "{file: lab-b.pub}, {file: x.pub}", 1)
		if err := os.WriteFile(g.at("members.yaml"), []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		out := g.must("ops", "hub", "members", "reload")
		want := "members reloaded: 3 orgs, 3 keys, 3 tokens; 1 key changes logged\n  add key " + k.Hint() + " of lab-b (log entry "
		if !strings.HasPrefix(out, want) {
			t.Fatalf("reload printed %q\nwant it to start %q", out, want)
		}
	})
	t.Run("MembersMayNot", func(t *testing.T) {
		g := newGroup(t)
		_, _, err := g.cli("lab-a", "hub", "members", "reload")
		want := `node: reload members: rpc error: code = PermissionDenied desc = hub: forbidden: org "lab-a" is a publisher; this call needs the operator role`
		if err == nil || err.Error() != want {
			t.Fatalf("lab-a's reload: %v\nwant %s", err, want)
		}
	})
}

func TestHubJobsAndUnpin(t *testing.T) {
	g := newGroup(t)
	recipe := g.recipeOfA()
	id := strings.TrimSpace(g.must("lab-b", "node", "merge", recipe, "--wait=false"))
	g.must("lab-b", "node", "job", id, "--wait")
	out := g.must("ops", "hub", "jobs")
	if f := strings.Fields(out); len(f) != 6 || f[0] != id || f[1] != "done" || f[3] != "lab-b" {
		t.Fatalf("hub jobs printed %q; want job %s, done, by lab-b, with its CID", out, id)
	}
	if out := g.must("lab-a", "hub", "jobs"); out != "" {
		t.Fatalf("lab-a's hub jobs printed %q; want nothing (lab-b started the only job)", out)
	}

	_, _, err := g.cli("ops", "hub", "unpin", g.dB)
	if err == nil || !strings.Contains(err.Error(), "code = FailedPrecondition") || !strings.Contains(err.Error(), g.dB) {
		t.Fatalf("unpinning a logged delta: %v; want it refused, naming it", err)
	}
	g.must("lab-b", "hub", "yank", g.dB, "--reason", "test")
	if out := g.must("ops", "hub", "unpin", g.dB); out != "unpinned "+g.dB+"; the hub's next gc reclaims its files\n" {
		t.Fatalf("unpin printed %q", out)
	}
}

func TestHubKeys(t *testing.T) {
	dir := t.TempDir()
	at := func(n string) string { return filepath.Join(dir, n) }
	h, l := startTLSHub(t, dir)
	fp := h.Info().TLSFingerprint

	t.Run("Pinned", func(t *testing.T) {
		out, _, err := run(t, "hub", "keys", "--hub", l.GRPCAddr(), "--hub-fingerprint", fp, "--out", at("keys"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"hub.pub", "log.pub"} {
			got, err1 := os.ReadFile(at("keys/" + name))
			want, err2 := os.ReadFile(at("hub/" + name))
			if err1 != nil || err2 != nil || string(got) != string(want) {
				t.Errorf("%s: %q (%v), the hub's %q (%v)", name, got, err1, want, err2)
			}
		}
		if !strings.HasPrefix(out, "hub key "+h.Info().PublicKey.Hint()+" into ") {
			t.Errorf("hub keys printed %q", out)
		}
		_, _, err = run(t, "hub", "keys", "--hub", l.GRPCAddr(), "--hub-fingerprint", fp, "--out", at("keys"))
		if want := "hub keys: " + at("keys/hub.pub") + " exists; compare it, or pass --force to overwrite"; err == nil || err.Error() != want {
			t.Errorf("again: %v\nwant %s", err, want)
		}
	})
	t.Run("Unpinned", func(t *testing.T) {
		t.Setenv("POTLUCK_HUB_FINGERPRINT", "")
		_, _, err := run(t, "hub", "keys", "--hub", l.GRPCAddr(), "--out", at("k2"))
		want := "hub keys: pin the hub's certificate with --hub-fingerprint (or $POTLUCK_HUB_FINGERPRINT), as 'potluck hub serve' prints it, or give --hub-ca"
		if err == nil || err.Error() != want {
			t.Fatalf("no pin: %v\nwant %s", err, want)
		}
	})
}

// TestDataFolderHeldByHub: offline commands and a second hub on a running
// hub's data folder say which process holds it.
func TestDataFolderHeldByHub(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("MINIO_ENDPOINT", "")
	g := newGroup(t)
	data := g.at("hub")
	if err := os.WriteFile(g.at("x.car"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want := "hub: data folder in use: the hub at PID " + strconv.Itoa(os.Getpid()) + " holds " + data + "; stop it first"
	for _, args := range [][]string{
		{"store", "add", g.at("base")},
		{"store", "gc"},
		{"store", "unpin", g.base},
		{"car", "export", g.base, "-o", g.at("out.car")},
		{"car", "import", g.at("x.car")},
		{"hub", "serve", "--members", g.at("members.yaml"), "--listen", "127.0.0.1:0", "--http", ""},
	} {
		t.Run(strings.Join(args[:2], "_"), func(t *testing.T) {
			_, _, err := run(t, append(args, "--data", data)...)
			if err == nil || err.Error() != want {
				t.Fatalf("potluck %s: %v\nwant %s", strings.Join(args, " "), err, want)
			}
		})
	}
	if _, err := os.Stat(g.at("out.car")); !os.IsNotExist(err) {
		t.Errorf("car export left out.car: %v", err)
	}
}

// TestStoreGCNeedsNoMembers: gc on a stopped hub's folder runs with no
// members file.
func TestStoreGCNeedsNoMembers(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("MINIO_ENDPOINT", "")
	dir := t.TempDir()
	data := filepath.Join(dir, "hub")
	if err := os.WriteFile(filepath.Join(dir, "f.bin"), []byte("bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, "store", "add", filepath.Join(dir, "f.bin"), "--data", data); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, "store", "gc", "--data", data)
	if err != nil || out != "removed 0 files, 0 directories, 0 leftovers: 0 bytes\n" {
		t.Fatalf("store gc with no members file: %q, %v", out, err)
	}
}

// recipeOfA writes a recipe merging lab-a's delta over the base and
// returns its path.
func (g *group) recipeOfA() string {
	g.t.Helper()
	recipe := g.at("recipe.yaml")
	y := "merge_method: task_arithmetic\nbase_model: " + g.base + "\nparameters:\n  lambda: 1.0\nmodels:\n  - model: " + g.deltaA + "\n    parameters:\n      weight: 1\n"
	if err := os.WriteFile(recipe, []byte(y), 0o644); err != nil {
		g.t.Fatal(err)
	}
	return recipe
}
