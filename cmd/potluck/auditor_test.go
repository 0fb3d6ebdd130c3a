package main

import (
	"os"
	"strings"
	"testing"
)

// TestAuditorFlags: --recompute takes a pulled merge directory, --log-key
// a file, and sign keeps an existing signature unless --force.
func TestAuditorFlags(t *testing.T) {
	g := newGroup(t)
	recipe := g.recipeOfA()
	merged := strings.TrimSpace(g.must("lab-a", "node", "merge", recipe))
	g.must("lab-a", "node", "pull", merged, "--out", g.at("merged"))

	t.Run("RecomputeDir", func(t *testing.T) {
		out := g.must("lab-a", "verify", "--recompute", g.at("merged"))
		if want := "ok  recomputed locally from the recorded recipe and inputs: " + merged + ", the published CID\n"; out != want {
			t.Fatalf("verify --recompute DIR printed %q, want %q", out, want)
		}
	})
	t.Run("LogKeyFile", func(t *testing.T) {
		out, errOut, err := run(t, "verify", g.at("merged"), "--key", g.hubPub, "--log-key", g.at("hub/log.pub"))
		if err != nil || !strings.Contains(out, "pinned with --log-key") {
			t.Fatalf("verify --log-key FILE: %v\n%s%s", err, out, errOut)
		}
		_, _, err = run(t, "verify", g.at("merged"), "--key", g.hubPub, "--log-key", g.at("no-such.pub"))
		if err == nil || !strings.HasPrefix(err.Error(), "--log-key "+g.at("no-such.pub")+": ") || !strings.HasSuffix(err.Error(), "(give the key, NAME+HASH+KEY, or a file holding it)") {
			t.Fatalf("verify --log-key of a missing file: %v", err)
		}
	})
	t.Run("SignKeepsSignature", func(t *testing.T) {
		sig := g.at("merged/model.sig")
		before, err := os.ReadFile(sig)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = run(t, "sign", g.at("merged"), "--key", g.at("lab-a.key"))
		if want := sig + " exists: pass --force to sign over it"; err == nil || err.Error() != want {
			t.Fatalf("sign over model.sig: %v\nwant %s", err, want)
		}
		if after, _ := os.ReadFile(sig); string(after) != string(before) {
			t.Fatal("the refused sign changed model.sig")
		}
		if _, _, err := run(t, "sign", g.at("merged"), "--key", g.at("lab-a.key"), "--force"); err != nil {
			t.Fatalf("sign --force: %v", err)
		}
	})
}
