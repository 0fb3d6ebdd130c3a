package main

// releases, show, lineage and hub yank, run in-process against a hub
// served on loopback, with releases published by the node commands.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/potluck-hub/potluck"
	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/testmodel"
	"github.com/potluck-hub/potluck/signing"
)

// group is a plaintext hub on loopback with two labs and an operator,
// each with a token file, and a base lab-a registered with a delta of it
// by each lab.
type group struct {
	t                  *testing.T
	dir, addr          string
	base, deltaA, dB   string
	hintA              string
	hubPub, pubA, pubB string
}

func (g *group) at(name string) string { return filepath.Join(g.dir, name) }

// cli runs potluck with args, adding the hub's address and a token file
// (tok: lab-a, lab-b or ops) to commands that take --hub.
func (g *group) cli(tok string, args ...string) (string, string, error) {
	g.t.Helper()
	if tok != "" {
		args = append(args, "--hub", g.addr, "--plaintext", "--token-file", g.at(tok+".token"))
	}
	return run(g.t, args...)
}

// must is cli that fails the test on an error.
func (g *group) must(tok string, args ...string) string {
	g.t.Helper()
	out, errOut, err := g.cli(tok, args...)
	if err != nil {
		g.t.Fatalf("potluck %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

func newGroup(t *testing.T) *group {
	g := &group{t: t, dir: t.TempDir()}
	members := "orgs:\n"
	for _, org := range []string{"lab-a", "lab-b", "ops"} {
		tok, err := hub.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(g.at(org+".token"), []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		members += "  - name: " + org + "\n    tokens: [" + hub.HashToken(tok) + "]\n"
		if org == "ops" {
			members += "    role: operator\n"
			continue
		}
		g.must("", "node", "keygen", "--out", g.at(org))
		members += "    keys: [{file: " + org + ".pub}]\n"
	}
	if err := os.WriteFile(g.at("members.yaml"), []byte(members), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := hub.Open(hub.Options{DataDir: g.at("hub"), MembersFile: g.at("members.yaml"), Plaintext: true, Access: hub.Access{RequireToken: true}})
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
	g.addr = l.GRPCAddr()
	g.hubPub, g.pubA, g.pubB = g.at("hub/hub.pub"), g.at("lab-a.pub"), g.at("lab-b.pub")
	k, err := signing.LoadPublicKey(g.pubA)
	if err != nil {
		t.Fatal(err)
	}
	g.hintA = k.Hint()

	spec := testmodel.Spec{Layers: 1, Hidden: 16, Vocab: 32, Shards: 1}
	if err := testmodel.WriteBase(g.at("base"), 1, spec); err != nil {
		t.Fatal(err)
	}
	g.base = strings.TrimSpace(g.must("lab-a", "node", "register-base", g.at("base"), "--key", g.at("lab-a.key"), "--quiet"))
	for i, lab := range []string{"a", "b"} {
		if err := testmodel.WriteFinetune(g.at("base"), g.at("ft-"+lab), uint64(30+i), 0.02); err != nil {
			t.Fatal(err)
		}
		c := strings.TrimSpace(g.must("lab-"+lab, "node", "publish", "--base", g.at("base"), "--finetuned", g.at("ft-"+lab),
			"--out", g.at("delta-"+lab), "--key", g.at("lab-"+lab+".key"), "--quiet"))
		if lab == "a" {
			g.deltaA = c
		} else {
			g.dB = c
		}
	}
	return g
}

// records are the hub's releases as `potluck releases --json --yanked`
// prints them, by CID.
func (g *group) records() map[string]*potluck.Release {
	var rs []*potluck.Release
	if err := json.Unmarshal([]byte(g.must("lab-a", "releases", "--json", "--yanked")), &rs); err != nil {
		g.t.Fatal(err)
	}
	out := map[string]*potluck.Release{}
	for _, r := range rs {
		out[r.CID] = r
	}
	return out
}

func day(r *potluck.Release) string { return r.Created.UTC().Format("2006-01-02") }

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func TestSeeTheGroup(t *testing.T) {
	g := newGroup(t)
	recipe := g.at("recipe.yaml")
	body := "merge_method: task_arithmetic\nbase_model: " + g.base + "\nmodels:\n  - model: " + g.deltaA +
		"\n    parameters: {weight: 0.5}\n  - model: " + g.dB + "\n    parameters: {weight: 0.25}\n"
	if err := os.WriteFile(recipe, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	merged := strings.TrimSpace(g.must("lab-a", "node", "merge", recipe))
	rs := g.records()
	if len(rs) != 4 {
		t.Fatalf("releases --json lists %d releases", len(rs))
	}

	// releases: a table, oldest first; filters.
	table := func(cids ...string) string {
		s := "CID  KIND  PUBLISHER  CREATED  BASE\n"
		for _, c := range cids {
			r := rs[c]
			s += strings.Join([]string{c, string(r.Kind), r.Publisher, rfc(r.Created), orDash(r.Base)}, "  ") + "\n"
		}
		return s
	}
	squeeze := regexp.MustCompile(` {2,}`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"releases"}, table(g.base, g.deltaA, g.dB, merged)},
		{[]string{"releases", "--kind", "delta"}, table(g.deltaA, g.dB)},
		{[]string{"releases", "--org", "lab-b"}, table(g.dB)},
		{[]string{"releases", "--base", g.base, "--kind", "merge"}, table(merged)},
	} {
		if got := squeeze.ReplaceAllString(g.must("lab-a", tc.args...), "  "); got != tc.want {
			t.Errorf("potluck %s printed\n%s\nwant\n%s", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	if _, _, err := g.cli("lab-a", "releases", "--kind", "lora"); err == nil || err.Error() != `--kind "lora": want base, delta or merge` {
		t.Errorf("releases --kind lora: %v", err)
	}

	// show: a delta and the merge.
	key := regexp.MustCompile(`(?m)^signing key   ` + g.hintA + ` of lab-a: valid from any time, no end \(log entry \d+\)$`)
	out := g.must("lab-a", "show", g.deltaA)
	if !key.MatchString(out) {
		t.Errorf("show of lab-a's delta names no key window of lab-a's key %s:\n%s", g.hintA, out)
	}
	out = key.ReplaceAllString(out, "signing key  (checked above)")
	var checks []string
	for _, c := range rs[g.deltaA].Checks {
		checks = append(checks, c.Name)
	}
	want := fmt.Sprintf(`release       %s
kind          delta
publisher     lab-a
created       %s
signing key  (checked above)
checks        %s
log           entry %d
parents       %s
children      %s
attestations  none
yanked        no
`, g.deltaA, rfc(rs[g.deltaA].Created), strings.Join(checks, ", "), rs[g.deltaA].Receipt.Index, g.base, merged)
	if out != want {
		t.Errorf("show of a delta printed\n%s\nwant\n%s", out, want)
	}
	out = g.must("lab-a", "show", merged)
	for _, w := range []string{
		"kind          merge\n", "publisher     hub\n", "checks        none (a merge is computed by the hub, not admitted)\n",
		"parents       " + g.base + "\n              " + g.deltaA + "\n              " + g.dB + "\n",
		"children      none\n",
		"provenance    recipe task_arithmetic, engine ",
		"              base " + g.base + "\n              input " + g.deltaA + " weight 0.5\n              input " + g.dB + " weight 0.25\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("show of the merge lacks %q:\n%s", w, out)
		}
	}
	var d potluck.ReleaseDetail
	if err := json.Unmarshal([]byte(g.must("lab-a", "show", merged, "--json")), &d); err != nil || d.CID != merged ||
		d.Children == nil || len(d.Children) != 0 || d.Attestations == nil {
		t.Errorf("show --json of the merge: %+v, %v", d, err)
	}
	if !strings.Contains(g.must("lab-a", "show", g.base, "--json"), `"children": [`+"\n    \""+g.deltaA) {
		t.Errorf("show --json of the base lists no children")
	}

	// lineage: the tree from the base; the merge in full under its first
	// parent, referred to under the others.
	line := func(c string, asked bool) string {
		r := rs[c]
		s := fmt.Sprintf("%s  %s  %s  %s", c, r.Kind, r.Publisher, day(r))
		if asked {
			s += "  <- this release"
		}
		return s
	}
	tree := line(g.base, false) + "\n" +
		"├── " + line(g.deltaA, true) + "\n" +
		"│   └── " + line(merged, false) + "\n" +
		"├── " + line(g.dB, false) + "\n" +
		"│   └── " + merged + "  merge (shown above)\n" +
		"└── " + merged + "  merge (shown above)\n"
	if got := g.must("lab-a", "lineage", g.deltaA); got != strings.Replace(tree, "├── "+line(g.dB, false)+"\n│   └── "+merged+"  merge (shown above)\n", "", 1) {
		t.Errorf("lineage of delta A printed\n%s", got)
	}
	tree = strings.Replace(tree, "  <- this release", "", 1)
	tree = strings.Replace(tree, line(g.base, false), line(g.base, true), 1)
	if got := g.must("lab-a", "lineage", g.base); got != tree {
		t.Errorf("lineage of the base printed\n%s\nwant\n%s", got, tree)
	}
	var l potluck.Lineage
	if err := json.Unmarshal([]byte(g.must("lab-a", "lineage", g.base, "--json")), &l); err != nil || len(l.Nodes) != 4 ||
		strings.Join(l.Nodes[3].Parents, " ") != g.base+" "+g.deltaA+" "+g.dB {
		t.Errorf("lineage --json: %+v, %v", l, err)
	}
}

func TestYankCommand(t *testing.T) {
	g := newGroup(t)
	const reason = "trained on the evaluation set by mistake"
	_, _, err := g.cli("lab-a", "hub", "yank", g.dB, "--reason", reason)
	if want := `node: yank ` + g.dB + `: rpc error: code = PermissionDenied desc = hub: forbidden: org "lab-a" may not yank release ` +
		g.dB + `: only its publisher "lab-b" or an operator may`; err == nil || err.Error() != want {
		t.Errorf("lab-a yanking lab-b's delta: %v\nwant %s", err, want)
	}
	if _, _, err := g.cli("lab-b", "hub", "yank", g.dB); err == nil || !strings.Contains(err.Error(), `"reason" not set`) {
		t.Errorf("yank without --reason: %v", err)
	}
	out := g.must("lab-b", "hub", "yank", g.dB, "--reason", reason)
	y := g.records()[g.dB].Yank
	if y == nil {
		t.Fatal("the yanked delta's record has no yank")
	}
	yank := fmt.Sprintf("by lab-b at %s (log entry %d): %s", rfc(y.Time), y.LogIndex, reason)
	if want := "yanked " + g.dB + " " + yank + "\naffected, built on it: 0\n"; out != want {
		t.Errorf("hub yank printed\n%s\nwant\n%s", out, want)
	}
	_, _, err = g.cli("ops", "hub", "yank", g.dB, "--reason", "again")
	if err == nil || !strings.HasSuffix(err.Error(), "desc = hub: already yanked: release "+g.dB+" was yanked by \"lab-b\" at "+rfc(y.Time)+
		fmt.Sprintf(" (log entry %d): ", y.LogIndex)+reason) {
		t.Errorf("a second yank: %v", err)
	}

	// Listing leaves it out unless asked.
	if out := g.must("lab-a", "releases"); strings.Contains(out, g.dB) || !strings.Contains(out, g.deltaA) {
		t.Errorf("releases after the yank:\n%s", out)
	}
	if out := g.must("lab-a", "releases", "--yanked"); !regexp.MustCompile(`(?m)^`+g.dB+` .* yanked$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^`+g.deltaA+` .* no$`).MatchString(out) {
		t.Errorf("releases --yanked:\n%s", out)
	}
	// show, pull and verify flag it.
	if out := g.must("lab-a", "show", g.dB); !strings.HasSuffix(out, "yanked        "+yank+"\n") {
		t.Errorf("show of the yanked delta:\n%s", out)
	}
	pulled := g.at("pulled")
	_, stderr, err := g.cli("lab-a", "node", "pull", g.dB, "--out", pulled, "--quiet")
	if want := "warning: release " + g.dB + " was yanked " + yank + "; recorded in " + filepath.Join(pulled, ".potluck", "yank.json") + "\n"; err != nil || stderr != want {
		t.Errorf("pull of the yanked delta: %v, printed\n%s\nwant\n%s", err, stderr, want)
	}
	out = g.must("", "verify", pulled, "--key", g.pubB)
	if !strings.Contains(out, "warn  yanked "+yank+" (recorded when pulled; offline: give --hub to check the hub's record now)\n") {
		t.Errorf("verify offline of the pulled yanked delta:\n%s", out)
	}
	for _, target := range []string{pulled, g.dB} {
		out = g.must("lab-a", "verify", target)
		if !strings.Contains(out, "warn  yanked "+yank+" (the hub's record, checked online now)\n") || !strings.Contains(out, "cid "+g.dB) {
			t.Errorf("verify %s --hub:\n%s", target, out)
		}
	}
	fresh := g.at("pulled-a")
	g.must("lab-a", "node", "pull", g.deltaA, "--out", fresh, "--quiet")
	if out := g.must("", "verify", fresh, "--key", g.pubA); !strings.Contains(out, "ok  not yanked when pulled (offline: give --hub to check the hub's record now)\n") {
		t.Errorf("verify offline of a release not yanked:\n%s", out)
	}
	if out := g.must("lab-a", "verify", fresh); !strings.Contains(out, "ok  not yanked (the hub's record, checked online now)\n") {
		t.Errorf("verify --hub of a release not yanked:\n%s", out)
	}
	// The operator yanks the base: both deltas are affected.
	out = g.must("ops", "hub", "yank", g.base, "--reason", "withdrawn upstream")
	if !strings.HasSuffix(out, "affected, built on it: 2\n  "+g.deltaA+"\n  "+g.dB+"\n") || !strings.Contains(out, " by ops at ") {
		t.Errorf("the operator's yank of the base printed\n%s", out)
	}
	if out := g.must("lab-a", "lineage", g.dB); !strings.Contains(out, g.dB+"  delta  lab-b  "+day(g.records()[g.dB])+"  [yanked]  <- this release") {
		t.Errorf("lineage marks no yank:\n%s", out)
	}
}

func TestSeeCommandsHaveExamples(t *testing.T) {
	for _, cmd := range [][]string{{"releases"}, {"show"}, {"lineage"}, {"hub", "yank"}} {
		name := strings.Join(cmd, " ")
		out, _, err := run(t, append(cmd, "--help")...)
		_, examples, ok := strings.Cut(out, "Examples:")
		if err != nil || !ok || !strings.Contains(examples, "potluck "+name+" ") {
			t.Errorf("potluck %s --help has no example of itself (%v):\n%s", name, err, out)
		}
	}
}
