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

// TestConnectionErrorsSayWhatToDo: no pin, a URL, a missing port, the HTTP
// port and --plaintext against TLS each get what to do.
func TestConnectionErrorsSayWhatToDo(t *testing.T) {
	t.Setenv("POTLUCK_HUB_FINGERPRINT", "")
	h, l := startTLSHub(t, t.TempDir())
	grpcAddr, fp := l.GRPCAddr(), h.Info().TLSFingerprint
	httpAddr := strings.TrimPrefix(l.HTTPURL(), "https://")

	for _, tc := range []struct {
		name string
		args []string
		want string // the error's last line
	}{
		{"NoPin", []string{"--hub", grpcAddr},
			"the hub's certificate is not trusted here: pin it with --hub-fingerprint (or $POTLUCK_HUB_FINGERPRINT), as 'potluck hub serve' prints it, or give --hub-ca"},
		{"NoPort", []string{"--hub", "127.0.0.1", "--hub-fingerprint", fp},
			"--hub 127.0.0.1: want HOST:PORT, the hub's gRPC address (7420 by default)"},
		{"HTTPURL", []string{"--hub", "http://" + grpcAddr},
			"--hub http://" + grpcAddr + ": the hub's gRPC speaks TLS; give HOST:PORT or https://HOST:PORT (--plaintext only for a hub started with --plaintext)"},
		{"HTTPPort", []string{"--hub", httpAddr, "--hub-fingerprint", fp},
			"this address answers HTTP, not the hub's gRPC: give the hub's gRPC port (its --listen, 7420 by default), not its HTTP port (--http, 7421)"},
		{"PlaintextAgainstTLS", []string{"--hub", grpcAddr, "--plaintext"},
			"no gRPC without TLS answered here: drop --plaintext unless the hub runs with --plaintext, and give its gRPC port (--listen, 7420 by default)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := run(t, append([]string{"releases"}, tc.args...)...)
			if err == nil {
				t.Fatal("no error")
			}
			lines := strings.Split(err.Error(), "\n")
			if got := lines[len(lines)-1]; got != tc.want {
				t.Fatalf("error %q\nwant it to end %q", err, tc.want)
			}
		})
	}
	t.Run("HTTPSURL", func(t *testing.T) {
		if _, _, err := run(t, "releases", "--hub", "https://"+grpcAddr+"/", "--hub-fingerprint", fp); err != nil {
			t.Fatalf("--hub https://%s/: %v", grpcAddr, err)
		}
	})
}
