package main

// The study group's loop from the command line, against a hub served in
// this process over real gRPC: publish once, attest, pull and verify, with
// --json where scripts read the output.

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/signing"
)

// cliHub is a plaintext hub on loopback with two member orgs, lab-a and
// lab-b, whose keys are files in dir, and a tiny base with two fine-tunes.
type cliHub struct {
	t                 *testing.T
	dir, addr         string
	h                 *hub.Hub
	base, ftA, ftB    string
	keyA, keyB, keyX  string // private key files
	pubA, pubB, hubPK string // public key files
}

func newCLIHub(t *testing.T) *cliHub {
	t.Helper()
	dir := t.TempDir()
	at := func(n string) string { return filepath.Join(dir, n) }
	c := &cliHub{t: t, dir: dir, base: at("base"), ftA: at("ft-a"), ftB: at("ft-b"),
		keyA: at("lab-a.key"), keyB: at("lab-b.key"), keyX: at("x.key"), pubA: at("lab-a.pub"), pubB: at("lab-b.pub")}
	for _, k := range []string{"lab-a", "lab-b", "x"} {
		if err := signing.GenerateKey(at(k+".key"), at(k+".pub")); err != nil {
			t.Fatal(err)
		}
	}
	members := "orgs:\n  - name: lab-a\n    keys:\n      - file: lab-a.pub\n  - name: lab-b\n    keys:\n      - file: lab-b.pub\n"
	if err := os.WriteFile(at("members.yaml"), []byte(members), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := testmodel.Spec{Layers: 1, Hidden: 32, Vocab: 64, Shards: 1}
	if err := testmodel.WriteBase(c.base, 1, spec); err != nil {
		t.Fatal(err)
	}
	for i, ft := range []string{c.ftA, c.ftB} {
		if err := testmodel.WriteFinetune(c.base, ft, uint64(20+i), 0.02); err != nil {
			t.Fatal(err)
		}
	}
	h, err := hub.Open(hub.Options{DataDir: at("hub"), MembersFile: at("members.yaml"), Plaintext: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := hub.Listen(h, hub.ServeOptions{GRPCAddr: "127.0.0.1:0"})
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
	c.h, c.addr, c.hubPK = h, l.GRPCAddr(), at("hub/hub.pub")
	return c
}

// run runs potluck with args, the hub's address added to commands that
// take one.
func (c *cliHub) run(args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	return run(c.t, append(args, "--hub", c.addr, "--plaintext")...)
}

func (c *cliHub) must(args ...string) (stdout, stderr string) {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("potluck %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

// sent is what the hub counted of uploads: calls and bytes.
func (c *cliHub) sent() string {
	rec := httptest.NewRecorder()
	c.h.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "potluck_upload_bytes_total ") || strings.Contains(line, "Upload") && strings.HasPrefix(line, "potluck_rpc_duration_seconds_count") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// publishA registers the base and publishes lab-a's delta of it.
func (c *cliHub) publishA() (base, delta string) {
	c.t.Helper()
	out, _ := c.must("node", "register-base", c.base, "--key", c.keyA, "--quiet")
	base = strings.TrimSpace(out)
	out, _ = c.must("node", "publish", "--base", c.base, "--finetuned", c.ftA, "--out", filepath.Join(c.dir, "delta-a"), "--key", c.keyA, "--quiet")
	return base, strings.TrimSpace(out)
}

func TestPublishOnceCLI(t *testing.T) {
	t.Run("AlreadyPublished", func(t *testing.T) {
		c := newCLIHub(t)
		_, delta := c.publishA()
		before := c.sent()
		if !strings.Contains(before, "potluck_upload_bytes_total ") {
			t.Fatalf("no upload metrics:\n%s", before)
		}
		out, errOut := c.must("node", "publish", "--base", c.base, "--finetuned", c.ftA, "--out", filepath.Join(c.dir, "again"), "--key", c.keyB)
		rel, err := c.h.Release(context.Background(), delta)
		if err != nil {
			t.Fatal(err)
		}
		if want := "already published by lab-a, log entry " + strconv.FormatInt(rel.Receipt.Index, 10) + "; nothing sent\n"; errOut != want {
			t.Errorf("stderr %q, want %q", errOut, want)
		}
		if out != delta+"\n" {
			t.Errorf("stdout %q, want the CID", out)
		}
		if after := c.sent(); after != before {
			t.Errorf("the second publish was counted:\n%s\nbefore:\n%s", after, before)
		}
		// The base too.
		_, errOut = c.must("node", "register-base", c.base, "--key", c.keyA)
		if !strings.HasPrefix(errOut, "already published by lab-a, log entry ") || !strings.HasSuffix(errOut, "; nothing sent\n") {
			t.Errorf("register-base again: %q", errOut)
		}
	})

	t.Run("RefusedBeforeTheDeltaIsComputed", func(t *testing.T) {
		c := newCLIHub(t)
		c.must("node", "register-base", c.base, "--key", c.keyA, "--quiet")
		out := filepath.Join(c.dir, "never")
		pubX, err := signing.LoadPublicKey(filepath.Join(c.dir, "x.pub"))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = c.run("node", "publish", "--base", c.base, "--finetuned", c.ftA, "--out", out, "--key", c.keyX)
		want := "node: preflight: rpc error: code = PermissionDenied desc = hub: forbidden: preflight: key " + pubX.Hint() +
			" is no member's key on this hub (the operator lists members' public keys in the members file)"
		if err == nil || err.Error() != want {
			t.Errorf("publish with an outsider's key: %v\nwant %s", err, want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("--out was written: %v", err)
		}
	})

	t.Run("AllZeros", func(t *testing.T) {
		c := newCLIHub(t)
		c.must("node", "register-base", c.base, "--key", c.keyA, "--quiet")
		same := filepath.Join(c.dir, "same")
		if err := os.CopyFS(same, os.DirFS(c.base)); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(c.dir, "zero")
		_, _, err := c.run("node", "publish", "--base", c.base, "--finetuned", same, "--out", out, "--key", c.keyA)
		if want := "node: delta of " + same + ": delta is all zeros: the fine-tune equals its base; nothing to publish"; err == nil || err.Error() != want {
			t.Errorf("publishing the base as its own fine-tune: %v\nwant %s", err, want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("--out was written: %v", err)
		}
	})
}

// decode parses a command's stdout as exactly one JSON object into v, and
// returns it as a generic map too (to see nulls).
func decode(t *testing.T, stdout string, v any) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", stdout)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// --json on publish, attest, attestations, pull, verify and job: one JSON
// object each, in the vocabulary's field names, lists never null.
func TestJSONOutputs(t *testing.T) {
	c := newCLIHub(t)
	base, _ := c.publishA()

	out, _ := c.must("node", "publish", "--base", c.base, "--finetuned", c.ftB, "--key", c.keyB, "--json")
	var pub struct {
		Release  potluck.Release `json:"release"`
		Existing bool            `json:"existing"`
	}
	decode(t, out, &pub)
	if pub.Release.CID == "" || pub.Existing || pub.Release.Publisher != "lab-b" || pub.Release.Base != base || len(pub.Release.Files) == 0 {
		t.Fatalf("publish --json: %+v", pub)
	}
	delta := pub.Release.CID

	out, _ = c.must("node", "attest", delta, "--task", "mmlu", "--metric", "accuracy", "--value", "0.61", "--key", c.keyA, "--json")
	var a potluck.Attestation
	decode(t, out, &a)
	if a.Release != delta || a.Org != "lab-a" || a.Claim.Value != 0.61 || a.Receipt == nil {
		t.Fatalf("attest --json: %+v", a)
	}
	out, _ = c.must("node", "attest", delta, "--task", "mmlu", "--metric", "accuracy", "--value", "0.58", "--key", c.keyB)
	if want := "mmlu accuracy 0.58 on " + delta + ", claimed by lab-b (key "; !strings.HasPrefix(out, want) {
		t.Errorf("attest printed %q, want %q…", out, want)
	}

	out, _ = c.must("node", "attestations", delta, "--org", "lab-a", "--json")
	var list struct {
		Attestations []potluck.Attestation `json:"attestations"`
	}
	decode(t, out, &list)
	if len(list.Attestations) != 1 || list.Attestations[0].Org != "lab-a" {
		t.Errorf("attestations --json: %+v", list)
	}
	out, _ = c.must("node", "attestations", base, "--json")
	if m := decode(t, out, &list); m["attestations"] == nil {
		t.Errorf("attestations of the base: %s", out)
	}

	pulled := filepath.Join(c.dir, "pulled")
	out, _ = c.must("node", "pull", delta, "--out", pulled, "--json")
	var p struct {
		Dir          string                `json:"dir"`
		Release      potluck.Release       `json:"release"`
		KeyHint      string                `json:"key_hint"`
		Attestations []potluck.Attestation `json:"attestations"`
	}
	m := decode(t, out, &p)
	if p.Dir != pulled || p.Release.CID != delta || len(p.Attestations) != 2 || m["untrusted_attestations"] == nil {
		t.Errorf("pull --json: %s", out)
	}

	// Offline, trusting lab-b alone: its claim checked, lab-a's listed.
	out, _, err := run(t, "verify", pulled, "--key", c.pubB, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		CID          string `json:"cid"`
		Attestations []struct {
			File    string `json:"file"`
			Checked bool   `json:"checked"`
			Org     string `json:"org"`
		} `json:"attestations"`
	}
	m = decode(t, out, &rep)
	if rep.CID != delta || len(rep.Attestations) != 2 || rep.Attestations[0].Checked || !rep.Attestations[1].Checked || rep.Attestations[1].Org != "lab-b" || m["inputs"] == nil {
		t.Errorf("verify --json:\n%s", out)
	}
	out, _, err = run(t, "verify", pulled, "--key", c.pubB)
	if err != nil || !strings.Contains(out, "--  attestation .potluck/attestations/") || !strings.Contains(out, "ok  attestation: mmlu accuracy 0.58 on "+delta+", claimed by lab-b") {
		t.Errorf("verify:\n%s%v", out, err)
	}

	out, _ = c.must("verify", delta, "--json")
	if m = decode(t, out, &rep); rep.CID != delta || m["key"] == nil {
		t.Errorf("verify CID --json:\n%s", out)
	}

	recipe := filepath.Join(c.dir, "recipe.yaml")
	body := "merge_method: task_arithmetic\nbase_model: " + base + "\nmodels:\n  - model: " + delta + "\n    parameters: {weight: 0.5}\n"
	if err := os.WriteFile(recipe, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = c.must("node", "merge", recipe)
	merged := strings.TrimSpace(out)
	out, _ = c.must("node", "merge", recipe, "--wait=false")
	out, _ = c.must("node", "job", strings.TrimSpace(out), "--json")
	var job struct {
		ID      string           `json:"id"`
		State   potluck.JobState `json:"state"`
		Total   int              `json:"tensors_total"`
		Release *potluck.Release `json:"release"`
	}
	if m = decode(t, out, &job); job.State != potluck.JobDone || job.Release == nil || job.Release.CID != merged || job.Total == 0 || m["error"] != nil {
		t.Errorf("job --json:\n%s", out)
	}

	state := filepath.Join(c.dir, "log-state.json")
	out, _ = c.must("log", "verify", "--state", state, "--attestations")
	if !strings.Contains(out, "ok  2 attestations, each checked from the log alone\n") || !strings.Contains(out, "mmlu accuracy 0.61 on "+delta+", claimed by lab-a") {
		t.Errorf("log verify --attestations:\n%s", out)
	}
}

// A PEFT LoRA adapter directory given as --finetuned is published as its
// factors.
func TestPublishAdapterCLI(t *testing.T) {
	c := newCLIHub(t)
	c.must("node", "register-base", c.base, "--key", c.keyA, "--quiet")
	adapter := filepath.Join(c.dir, "adapter")
	if err := testmodel.WriteAdapter(c.base, adapter, 5, testmodel.Adapter{Rank: 2, Alpha: 4}); err != nil {
		t.Fatal(err)
	}
	out, _ := c.must("node", "publish", "--base", c.base, "--finetuned", adapter, "--key", c.keyA, "--json")
	var pub struct {
		Release potluck.Release `json:"release"`
	}
	decode(t, out, &pub)
	var paths []string
	for _, f := range pub.Release.Files {
		paths = append(paths, f.Path)
	}
	if strings.Join(paths, ",") != "adapter_config.json,adapter_model.safetensors,potluck.json" {
		t.Errorf("the adapter release holds %v", paths)
	}
	_, _, err := c.run("node", "publish", "--base", c.base, "--finetuned", adapter, "--key", c.keyA, "--dtype", "BF16", "--out", filepath.Join(c.dir, "bf16"))
	if want := "node: " + adapter + " is a LoRA adapter, published as its own factors: --dtype BF16 does not apply"; err == nil || err.Error() != want {
		t.Errorf("an adapter with --dtype: %v\nwant %s", err, want)
	}
}

func TestAttestHelpHasExamples(t *testing.T) {
	for _, cmd := range [][]string{{"node", "attest"}, {"node", "attestations"}} {
		out, _, err := run(t, append(cmd, "--help")...)
		_, examples, ok := strings.Cut(out, "Examples:")
		if err != nil || !ok || !strings.Contains(examples, "potluck "+strings.Join(cmd, " ")) {
			t.Errorf("potluck %s --help has no example of itself (%v):\n%s", strings.Join(cmd, " "), err, out)
		}
	}
}
