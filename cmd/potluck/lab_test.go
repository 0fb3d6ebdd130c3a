package main

// A lab's first day, from the command line against a hub served in this
// process: the stumbles a new lab hit, each with the message it now gets.

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testmodel"
)

// TestResumeAnotherUpload: --resume with the id of another upload's
// session is refused, not answered with that upload's CID.
func TestResumeAnotherUpload(t *testing.T) {
	c := newCLIHub(t)
	_, errOut := c.must("node", "register-base", c.base, "--key", c.keyA)
	m := regexp.MustCompile(`upload session (\S+) `).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("register-base printed no session id:\n%s", errOut)
	}
	out, _, err := c.run("node", "register-base", c.ftA, "--key", c.keyA, "--resume", m[1], "--quiet")
	prefix := "node: upload " + c.ftA + ": rpc error: code = InvalidArgument desc = hub: bad request: upload session " + m[1] + " is another upload: "
	suffix := "; run again without --resume to start a new session"
	if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.HasSuffix(err.Error(), suffix) {
		t.Fatalf("resuming another upload's session: %q, %v\nwant %s...%s", out, err, prefix, suffix)
	}
}

// TestRefusedPublishLeavesNoOut: a delta the hub (or the node) refuses
// leaves no --out behind, so that the same command can run again.
func TestRefusedPublishLeavesNoOut(t *testing.T) {
	c := newCLIHub(t)
	c.addr = serveHubWith(t, hub.Options{DataDir: filepath.Join(c.dir, "hub2"), MembersFile: filepath.Join(c.dir, "members.yaml"),
		Screen: hub.Screening{MaxNormRatio: hub.DefaultMaxNormRatio}})
	c.must("node", "register-base", c.base, "--key", c.keyA, "--quiet")
	huge := filepath.Join(c.dir, "ft-huge")
	if err := testmodel.WriteFinetune(c.base, huge, 9, 1000); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(c.dir, "delta-huge")
	_, _, err := c.run("node", "publish", "--base", c.base, "--finetuned", huge, "--out", out, "--key", c.keyA, "--quiet")
	if err == nil || !strings.Contains(err.Error(), "code = InvalidArgument") || !strings.Contains(err.Error(), "norm") {
		t.Fatalf("a delta 1000 times its base's norm: %v, want it refused by the norm check", err)
	}
	if _, serr := os.Stat(out); !errors.Is(serr, fs.ErrNotExist) {
		t.Fatalf("refused publish (%v) left %s: %v", err, out, serr)
	}
}
