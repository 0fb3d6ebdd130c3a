package deployments

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/potluck-hub/potluck/internal/testmodel"
)

// The README's "Consortium operators" section followed from a clean
// machine with the real binary: a lab makes its key, the operator makes
// tokens and the members file, serves the hub, the lab publishes; the
// operator rotates the lab's token and reloads (SIGHUP, then `hub members
// reload`), yanks, fetches the hub's keys, and a second hub on the same
// data folder is told who holds it.

// potluckRun runs the CLI and returns its error with what it printed.
func potluckRun(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e strings.Builder
	cmd := exec.Command(potluckBinary(t), args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = append(os.Environ(), env...), &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// token makes a token as the README says: the token on stdout, its hash
// for the members file on stderr.
func token(t *testing.T, dir, name string) (file, hash string) {
	t.Helper()
	tok, hashLine := potluck(t, nil, "hub", "token")
	_, hash, ok := strings.Cut(hashLine, "- ")
	if !ok {
		t.Fatalf("potluck hub token printed no hash line: %q", hashLine)
	}
	file = filepath.Join(dir, name+".token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, strings.TrimSpace(hash)
}

// serveBinary starts `potluck hub serve` with args, stopped by SIGTERM
// when the test ends; it returns the process and its TLS fingerprint.
func serveBinary(t *testing.T, args ...string) (*running, string) {
	t.Helper()
	cmd := exec.Command(potluckBinary(t), append([]string{"hub", "serve"}, args...)...)
	r := &running{cmd: cmd, log: filepath.Join(t.TempDir(), "log"), done: make(chan error, 1)}
	f, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() { r.stop(t) })
	m := r.waitFor(t, regexp.MustCompile(`TLS fingerprint ([0-9a-f]{64})`))
	return r, m[1]
}

func TestREADMEOperatorSection(t *testing.T) {
	ops, labDir := t.TempDir(), t.TempDir()
	at := func(n string) string { return filepath.Join(ops, n) }

	// The lab makes its key pair and sends the .pub.
	potluck(t, nil, "node", "keygen", "--out", filepath.Join(labDir, "lab-a"))
	if err := os.MkdirAll(at("keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(labDir, "lab-a.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(at("keys/lab-a.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	// The operator makes a token per org and lists their hashes.
	labTok, labHash := token(t, ops, "lab-a")
	opsTok, opsHash := token(t, ops, "ops")
	writeMembers := func(labHash string, extra string) {
		t.Helper()
		m := "orgs:\n  - name: lab-a\n    keys: [{file: keys/lab-a.pub}]\n    tokens: [" + labHash + "]\n" +
			"  - name: ops\n    role: operator\n    tokens: [" + opsHash + "]\n" + extra
		if err := os.WriteFile(at("members.yaml"), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeMembers(labHash, "")

	// Serve.
	grpcAddr := freeAddr(t)
	hub, fp := serveBinary(t, "--data", at("data"), "--members", at("members.yaml"), "--listen", grpcAddr, "--http", "")
	hub.waitFor(t, regexp.MustCompile(`msg="members loaded" .* orgs=2 keys=1 tokens=2`))
	lab := []string{"POTLUCK_HUB_FINGERPRINT=" + fp}
	conn := func(tok string) []string { return []string{"--hub", grpcAddr, "--token-file", tok} }

	// The lab publishes.
	base, ft := filepath.Join(labDir, "base"), filepath.Join(labDir, "ft")
	if err := testmodel.WriteBase(base, 7, testmodel.Spec{Layers: 1, Hidden: 16, Vocab: 32, Shards: 1}); err != nil {
		t.Fatal(err)
	}
	if err := testmodel.WriteFinetune(base, ft, 8, 0.02); err != nil {
		t.Fatal(err)
	}
	potluck(t, lab, append([]string{"node", "register-base", base, "--key", filepath.Join(labDir, "lab-a.key"), "--quiet"}, conn(labTok)...)...)
	out, _ := potluck(t, lab, append([]string{"node", "publish", "--base", base, "--finetuned", ft, "--out", filepath.Join(labDir, "delta"),
		"--key", filepath.Join(labDir, "lab-a.key"), "--quiet"}, conn(labTok)...)...)
	delta := strings.TrimSpace(out)

	// Token rotation without downtime: a new token, the old one's hash
	// removed, SIGHUP.
	newTok, newHash := token(t, ops, "lab-a-2")
	writeMembers(newHash, "")
	if err := hub.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	hub.waitFor(t, regexp.MustCompile(`msg="members reloaded" .* orgs=2 keys=1 tokens=2 key_changes=0`))
	if _, stderr, err := potluckRun(t, lab, append([]string{"hub", "jobs"}, conn(labTok)...)...); err == nil || !strings.Contains(stderr, "the token is no member's") {
		t.Errorf("the rotated-out token: %v\n%s", err, stderr)
	}
	potluck(t, lab, append([]string{"hub", "jobs"}, conn(newTok)...)...)

	// A key added and reloaded with the operator's token.
	potluck(t, nil, "node", "keygen", "--out", at("keys/lab-b"))
	writeMembers(newHash, "  - name: lab-b\n    keys: [{file: keys/lab-b.pub}]\n")
	out, _ = potluck(t, lab, append([]string{"hub", "members", "reload"}, conn(opsTok)...)...)
	if !regexp.MustCompile(`^members reloaded: 3 orgs, 2 keys, 2 tokens; 1 key changes logged\n  add key [0-9a-f]{64} of lab-b \(log entry \d+\)\n$`).MatchString(out) {
		t.Errorf("hub members reload printed %q", out)
	}
	hub.waitFor(t, regexp.MustCompile(`msg="member key" action=add key=[0-9a-f]{64} org=lab-b`))

	// The lab yanks its delta.
	out, _ = potluck(t, lab, append([]string{"hub", "yank", delta, "--reason", "trained on the eval set"}, conn(newTok)...)...)
	if !strings.HasPrefix(out, "yanked "+delta+" by lab-a at ") {
		t.Errorf("hub yank printed %q", out)
	}

	// An auditor fetches the hub's keys over the pinned connection.
	potluck(t, nil, "hub", "keys", "--hub", grpcAddr, "--hub-fingerprint", fp, "--out", at("hub-keys"))
	for _, n := range []string{"hub.pub", "log.pub"} {
		got, err1 := os.ReadFile(at("hub-keys/" + n))
		want, err2 := os.ReadFile(at("data/" + n))
		if err := errors.Join(err1, err2); err != nil || string(got) != string(want) {
			t.Errorf("hub keys: %s differs from the hub's (%v)", n, err)
		}
	}

	// A second hub, or an offline command, on the running hub's folder.
	data, _ := filepath.Abs(at("data"))
	want := "potluck: hub: data folder in use: the hub at PID " + strconv.Itoa(hub.cmd.Process.Pid) + " holds " + data + "; stop it first\n"
	for _, args := range [][]string{
		{"hub", "serve", "--data", data, "--members", at("members.yaml"), "--listen", freeAddr(t), "--http", ""},
		{"store", "gc", "--data", data},
	} {
		_, stderr, err := potluckRun(t, nil, args...)
		if err == nil || stderr != want {
			t.Errorf("potluck %s: %v\n%q\nwant %q", strings.Join(args[:2], " "), err, stderr, want)
		}
	}
	hub.stop(t)
	if out, _ := potluck(t, nil, "store", "gc", "--data", data); !strings.HasPrefix(out, "removed ") {
		t.Errorf("store gc once the hub stopped printed %q", out)
	}
}
