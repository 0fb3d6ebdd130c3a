package deployments

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dockerfile is the Dockerfile as a builder reads it: instructions by
// stage, continuation lines joined, comments dropped.
type dockerfile struct {
	stages  map[string][]instr // by name (AS NAME), and the last as ""
	final   []instr
	comment string // the leading comment, where the build command is
}

type instr struct {
	op    string            // FROM, COPY, RUN...
	flags map[string]string // --from=build → from: build
	args  []string          // the rest, split on spaces, or the JSON form's items
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := dockerfile{stages: map[string][]instr{}}
	var cur []instr
	name := ""
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			if cur == nil && name == "" {
				df.comment += line + "\n"
			}
			continue
		}
		if line == "" {
			continue
		}
		op, rest, _ := strings.Cut(line, " ")
		in := instr{op: strings.ToUpper(op), flags: map[string]string{}}
		fields := strings.Fields(rest)
		for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
			k, v, _ := strings.Cut(strings.TrimPrefix(fields[0], "--"), "=")
			in.flags[k], fields = v, fields[1:]
		}
		in.args = fields
		if strings.HasPrefix(strings.TrimSpace(rest), "[") && json.Unmarshal([]byte(rest), &in.args) != nil {
			t.Fatalf("Dockerfile: %s: not a JSON array", line)
		}
		if in.op == "FROM" {
			if cur != nil {
				df.stages[name] = cur
			}
			cur, name = nil, ""
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				name = fields[2]
			}
		}
		cur = append(cur, in)
	}
	df.stages[name], df.final = cur, cur
	return df
}

// last is the final stage's last instruction op, or nil.
func (df dockerfile) last(op string) *instr {
	var found *instr
	for i := range df.final {
		if df.final[i].op == op {
			found = &df.final[i]
		}
	}
	return found
}

// user is a container's uid, gid and supplementary groups (fsGroup).
type user struct {
	uid, gid uint32
	groups   []uint32
}

// user is who the image runs as: USER, else distroless's nonroot (65532).
func (df dockerfile) user(t *testing.T) *user {
	t.Helper()
	spec := ""
	if u := df.last("USER"); u != nil {
		spec = u.args[0]
	} else if strings.HasSuffix(df.final[0].args[0], ":nonroot") {
		spec = "65532:65532"
	}
	uid, gid, err := ids(spec)
	if err != nil {
		t.Fatalf("Dockerfile: user %q: want a numeric UID:GID (runAsNonRoot checks it)", spec)
	}
	return &user{uid: uid, gid: gid}
}

func ids(spec string) (uid, gid uint32, err error) {
	u, g, _ := strings.Cut(spec, ":")
	a, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, err
	}
	b, err := strconv.ParseUint(g, 10, 32)
	return uint32(a), uint32(b), err
}

// entrypoint is the final stage's ENTRYPOINT, in its JSON form.
func (df dockerfile) entrypoint(t *testing.T) []string {
	t.Helper()
	e := df.last("ENTRYPOINT")
	if e == nil || len(e.args) == 0 || !strings.HasPrefix(e.args[0], "/") {
		t.Fatal("Dockerfile: want an ENTRYPOINT in JSON form, starting with the binary's path")
	}
	return e.args
}

// volumeOwner is the owner of the image's folder at a VOLUME path, which a
// fresh named volume copies: it must be made by a COPY --chown of a folder
// that a build stage's RUN mkdir made (distroless has no shell to mkdir).
func (df dockerfile) volumeOwner(t *testing.T, dir string) (uid, gid uint32) {
	t.Helper()
	for _, in := range df.final {
		if in.op != "COPY" || len(in.args) != 2 || path.Clean(in.args[1]) != dir {
			continue
		}
		uid, gid, err := ids(in.flags["chown"])
		if err != nil {
			t.Fatalf("Dockerfile: COPY to %s: --chown=%q, want UID:GID", dir, in.flags["chown"])
		}
		made := regexp.MustCompile(`mkdir (-p )?` + regexp.QuoteMeta(in.args[0]) + `(\s|$)`)
		for _, run := range df.stages[in.flags["from"]] {
			if run.op == "RUN" && made.MatchString(strings.Join(run.args, " ")) {
				return uid, gid
			}
		}
		t.Fatalf("Dockerfile: stage %q makes no %s (RUN mkdir -p %[2]s) to copy to %s", in.flags["from"], in.args[0], dir)
	}
	t.Fatalf("Dockerfile: nothing makes %s in the image (COPY --from=build --chown=65532:65532 EMPTY_DIR %[1]s): "+
		"a fresh volume there is root's, and the hub cannot write its key", dir)
	return 0, 0
}

// imageName is the name the Dockerfile's comment builds it as (-t NAME).
func imageName(t *testing.T, text, where string) string {
	t.Helper()
	m := regexp.MustCompile(`docker build -f deployments/Dockerfile -t (\S+) \.`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("%s: no `docker build -f deployments/Dockerfile -t NAME .`", where)
	}
	return m[1]
}

func TestDockerfileDataVolume(t *testing.T) {
	df := readDockerfile(t)
	u := df.user(t)
	if u.uid == 0 {
		t.Fatal("Dockerfile: the image runs as root")
	}
	v := df.last("VOLUME")
	if v == nil || len(v.args) != 1 {
		t.Fatal("Dockerfile: want VOLUME /data")
	}
	uid, gid := df.volumeOwner(t, v.args[0])
	if uid != u.uid || gid != u.gid {
		t.Errorf("Dockerfile: %s is owned by %d:%d, the image runs as %d:%d", v.args[0], uid, gid, u.uid, u.gid)
	}
	if e, i := df.entrypoint(t), slices.Index(df.entrypoint(t), "--data"); i < 0 || i+1 == len(e) || e[i+1] != v.args[0] {
		t.Errorf("Dockerfile: the entrypoint %v does not keep the hub's data on the volume %s", e, v.args[0])
	}
}

// TestOneImage: the image the docs build is the one compose and k8s run.
func TestOneImage(t *testing.T) {
	df := readDockerfile(t)
	want := imageName(t, df.comment, "Dockerfile")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if got := imageName(t, string(readme), "README.md"); got != want {
		t.Errorf("README.md builds %s, the Dockerfile %s", got, want)
	}
	if got := str(readDocs(t, "docker-compose.yml")[0], "services", "hub", "image"); got != want {
		t.Errorf("compose runs %s, the docs build %s", got, want)
	}
	c := hubContainer(t, readManifests(t))
	if got := str(c, "image"); got != want {
		t.Errorf("k8s runs %s, the docs build %s", got, want)
	}
	if strings.HasSuffix(want, ":latest") && str(c, "imagePullPolicy") != "IfNotPresent" {
		t.Errorf("k8s pulls %s with policy %q: a :latest image is pulled Always, so one loaded into the cluster is never used", want, str(c, "imagePullPolicy"))
	}
}

// TestDockerignore: the build context leaves out the checkout's history and
// outputs, and keeps every file `go build ./cmd/potluck` reads.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.TrimPrefix(l, "/"))
		}
	}
	if !ignored(patterns, ".git") {
		t.Error(".dockerignore keeps .git")
	}
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{range .GoFiles}}{{$.Dir}}/{{.}} {{end}}{{range .EmbedFiles}}{{$.Dir}}/{{.}} {{end}}{{end}}{{end}}`, "./cmd/potluck")
	cmd.Dir, cmd.Env = "..", append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root = path.Dir(root) + "/"
	files := append(strings.Fields(string(out)), root+"go.mod", root+"go.sum")
	for _, f := range files {
		if rel := strings.TrimPrefix(f, root); ignored(patterns, rel) {
			t.Errorf(".dockerignore leaves out %s, which the build reads", rel)
		}
	}
}

// ignored applies .dockerignore's rules to a path relative to the context:
// the last pattern matching it or a folder above it decides; ! keeps.
func ignored(patterns []string, rel string) bool {
	out := false
	for _, p := range patterns {
		keep := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		for prefix := rel; prefix != "."; prefix = path.Dir(prefix) {
			if matchIgnore(p, prefix) {
				out = !keep
				break
			}
		}
	}
	return out
}

func matchIgnore(pattern, p string) bool {
	if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
		for {
			if ok, _ := path.Match(rest, p); ok {
				return true
			}
			_, after, more := strings.Cut(p, "/")
			if !more {
				return false
			}
			p = after
		}
	}
	ok, _ := path.Match(pattern, p)
	return ok
}
