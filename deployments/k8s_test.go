package deployments

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// readManifests parses k8s/*.yaml by kind and name.
func readManifests(t *testing.T) map[string]map[string]obj {
	t.Helper()
	byKind := map[string]map[string]obj{}
	for _, f := range []string{"k8s/hub.yaml", "k8s/minio.yaml"} {
		for _, d := range readDocs(t, f) {
			kind, name := str(d, "kind"), str(d, "metadata", "name")
			if kind == "" || name == "" || str(d, "apiVersion") == "" {
				t.Fatalf("%s: a document without apiVersion, kind or name: %v", f, d)
			}
			if byKind[kind] == nil {
				byKind[kind] = map[string]obj{}
			}
			byKind[kind][name] = d
		}
	}
	return byKind
}

// hubContainer is the hub Deployment's one container.
func hubContainer(t *testing.T, byKind map[string]map[string]obj) any {
	t.Helper()
	cs := list(byKind["Deployment"]["potluck-hub"], "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("hub deployment: %d containers, want 1", len(cs))
	}
	return cs[0]
}

var commentedTLS = regexp.MustCompile(`(?m)^(\s*)# (tls-(cert|key):)`)

// hubConfig is the ConfigMap's hub.yaml; withCA uncomments its tls-cert
// and tls-key lines, as its comment tells an operator with a CA's
// certificate to.
func hubConfig(byKind map[string]map[string]obj, withCA bool) string {
	s := str(byKind["ConfigMap"]["potluck-hub"], "data", "hub.yaml")
	if withCA {
		s = commentedTLS.ReplaceAllString(s, "$1$2")
	}
	return s
}

func hubSettings(t *testing.T, byKind map[string]map[string]obj, withCA bool) obj {
	t.Helper()
	settings := obj{}
	if err := yaml.Unmarshal([]byte(hubConfig(byKind, withCA)), &settings); err != nil {
		t.Fatalf("ConfigMap potluck-hub hub.yaml: %v", err)
	}
	return settings
}

// podMounts maps a container's mount paths to the pod's volumes.
func podMounts(t *testing.T, workload obj, c any) map[string]any {
	t.Helper()
	vols := map[string]any{}
	for _, v := range list(workload, "spec", "template", "spec", "volumes") {
		vols[str(v, "name")] = v
	}
	mounts := map[string]any{}
	for _, m := range list(c, "volumeMounts") {
		if vols[str(m, "name")] == nil {
			t.Errorf("mount %v names no volume", m)
		}
		mounts[str(m, "mountPath")] = vols[str(m, "name")]
	}
	return mounts
}

// secretCmd is a Secret as a `kubectl create secret` of the README makes it.
type secretCmd struct {
	literals map[string]string // --from-literal=KEY=VALUE
	files    map[string]string // key → path: --from-file=PATH, a tls Secret's --cert and --key
	dirs     []string          // --from-file=DIR/: a key per file
	optional bool              // the README says so on the line above
}

func (s *secretCmd) hasKey(k string) bool {
	_, lit := s.literals[k]
	_, file := s.files[k]
	return lit || file || len(s.dirs) > 0
}

// readmeSecrets parses the README's kubectl create secret commands.
func readmeSecrets(t *testing.T) map[string]*secretCmd {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]*secretCmd{}
	optional := false
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n") {
		if strings.HasPrefix(line, "# ") {
			optional = strings.Contains(line, "optional")
			continue
		}
		args := shellWords(line)
		if len(args) < 5 || args[0] != "kubectl" || args[1] != "create" || args[2] != "secret" {
			continue
		}
		s := &secretCmd{literals: map[string]string{}, files: map[string]string{}, optional: optional}
		secrets[args[4]], optional = s, false
		for _, a := range args[5:] {
			flag, v, _ := strings.Cut(a, "=")
			switch {
			case flag == "--from-literal":
				k, val, _ := strings.Cut(v, "=")
				s.literals[k] = val
			case flag == "--from-file" && strings.HasSuffix(v, "/"):
				s.dirs = append(s.dirs, v)
			case flag == "--from-file":
				s.files[filepath.Base(v)] = v
			case args[3] == "tls" && (flag == "--cert" || flag == "--key"):
				s.files["tls."+map[string]string{"--cert": "crt", "--key": "key"}[flag]] = v
			default:
				t.Fatalf("README: kubectl create secret %s: %s is not understood by this test", args[4], a)
			}
		}
	}
	return secrets
}

// shellWords splits a command line on spaces outside double quotes and
// $(...), keeping the quotes; a # outside them starts a comment.
func shellWords(line string) []string {
	var words []string
	var w strings.Builder
	quoted, depth := false, 0
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '"':
			quoted = !quoted
		case ch == '$' && i+1 < len(line) && line[i+1] == '(':
			depth++
		case ch == ')' && depth > 0:
			depth--
		case ch == '#' && !quoted && depth == 0 && w.Len() == 0:
			return words
		case ch == ' ' && !quoted && depth == 0:
			if w.Len() > 0 {
				words = append(words, w.String())
				w.Reset()
			}
			continue
		}
		w.WriteByte(ch)
	}
	if w.Len() > 0 {
		words = append(words, w.String())
	}
	return words
}

// data is the Secret's keys as kubectl reads them from the operator's
// folder dir; a value the command makes ("$(openssl rand -hex 24)") is
// random.
func (s *secretCmd) data(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	d := map[string][]byte{}
	for k, v := range s.literals {
		if strings.Contains(v, "$(") {
			v = randomHex(24)
		}
		d[k] = []byte(strings.Trim(v, `"`))
	}
	read := func(k, p string) {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatalf("kubectl create secret --from-file: %v", err)
		}
		d[k] = b
	}
	for k, p := range s.files {
		read(k, p)
	}
	for _, p := range s.dirs {
		entries, err := os.ReadDir(filepath.Join(dir, p))
		if err != nil {
			t.Fatalf("kubectl create secret --from-file=%s: %v", p, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				read(e.Name(), filepath.Join(p, e.Name()))
			}
		}
	}
	return d
}
