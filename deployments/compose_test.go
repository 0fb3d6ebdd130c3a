package deployments

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// composeMount is one of a service's volumes: a bind mount of a path
// beside the compose file (src), or a named volume (src is its name).
type composeMount struct {
	src  string
	bind bool
}

func composeMounts(t *testing.T, c obj, service string) map[string]composeMount {
	t.Helper()
	mounts := map[string]composeMount{}
	for _, v := range list(c, "services", service, "volumes") {
		s, _ := v.(string)
		src, dst, ok := strings.Cut(s, ":")
		if !ok {
			t.Fatalf("%s: volume %v: want SRC:DST[:ro]", service, v)
		}
		dst, _, _ = strings.Cut(dst, ":")
		m := composeMount{src: src, bind: strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/")}
		if m.bind {
			m.src = filepath.Clean(src) // relative to the compose file's folder, the test's
			if _, err := os.Stat(m.src); err != nil {
				t.Errorf("%s bind-mounts %s: %v", service, src, err)
			}
		} else if _, declared := get(c, "volumes").(obj)[src]; !declared {
			t.Errorf("%s mounts undeclared volume %q", service, src)
		}
		mounts[dst] = m
	}
	return mounts
}

// composeSource is the file beside the compose file that a bind mount puts
// at the container's path p.
func composeSource(t *testing.T, mounts map[string]composeMount, p string) string {
	t.Helper()
	best := ""
	for dst, m := range mounts {
		if m.bind && (p == dst || strings.HasPrefix(p, dst+"/")) && len(dst) > len(best) {
			best = dst
		}
	}
	if best == "" {
		t.Fatalf("%s is not bind-mounted", p)
	}
	return filepath.Join(mounts[best].src, strings.TrimPrefix(p, best))
}

var composeVar = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}`)

// interpolate expands ${NAME}, ${NAME:-default} and ${NAME:?error} from
// vars, as compose does from the environment, and $$ to $.
func interpolate(t *testing.T, s string, vars map[string]string) string {
	t.Helper()
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		g := composeVar.FindStringSubmatch(m)
		v := vars[g[1]]
		switch {
		case v == "" && g[2] == ":-":
			return g[3]
		case v == "" && g[2] == ":?":
			t.Fatalf("compose: %s is not set: %s", g[1], g[3])
		}
		return v
	})
}

// TestComposeHubStarts starts the hub as `docker compose up` does: the
// Dockerfile's entrypoint and user with compose's command, environment,
// volumes and ports, after minio-init's work, against a real MinIO.
func TestComposeHubStarts(t *testing.T) {
	m := newTestMinIO(t)
	c := readDocs(t, "docker-compose.yml")[0]
	mounts := composeMounts(t, c, "hub")
	settings := readDocs(t, composeSource(t, mounts, "/etc/potluck/hub.yaml"))[0]
	bucket := strings.TrimPrefix(str(settings, "store"), "s3://")
	policy, err := os.ReadFile("minio-hub-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	access, secret, session := m.hubCredentials(t, bucket, string(policy))
	// What the operator exports before `docker compose up`.
	vars := map[string]string{"MINIO_ROOT_USER": m.rootUser, "MINIO_ROOT_PASSWORD": m.rootSecret,
		"POTLUCK_S3_ACCESS_KEY": access, "POTLUCK_S3_SECRET_KEY": secret}

	ct := composeContainer(t, c, vars)
	ct.env["AWS_SESSION_TOKEN"] = session // see hubCredentials
	// The hub dials MinIO by its service name; the test's MinIO stands in.
	svc, _ := strings.CutPrefix(str(settings, "s3-endpoint"), "http://")
	name, port, _ := strings.Cut(svc, ":")
	if get(c, "services", name) == nil || !strings.Contains(strings.Join(anyStrings(list(c, "services", name, "ports")), " "), ":"+port) {
		t.Fatalf("the hub's s3-endpoint %s is no port of a compose service", svc)
	}
	ct.hosts[svc] = m.endpoint

	// As shipped, no one may publish yet, but the hub starts.
	r := ct.start(t)
	first := checkServing(t, ct, r, nil, "hub")
	r.stop(t)

	// The operator fills compose/members.yaml and keys/; the hub restarts
	// on the same volume, with the same key and certificate.
	members, _ := ct.hostPath(str(settings, "members"))
	l := fillMembers(t, filepath.Dir(members))
	r = ct.start(t)
	s := checkServing(t, ct, r, nil, "hub")
	if s.fingerprint != first.fingerprint {
		t.Errorf("after a restart the hub's certificate is %s, was %s", s.fingerprint, first.fingerprint)
	}
	registerBase(t, m, bucket, s, l, "--hub-fingerprint", s.fingerprint)
}

// composeContainer is the hub service's container as compose starts it:
// the image's entrypoint and user with the service's command, environment
// (interpolated from vars), volumes and ports.
func composeContainer(t *testing.T, c obj, vars map[string]string) *container {
	t.Helper()
	df := readDockerfile(t)
	hub := get(c, "services", "hub")
	ct := newContainer(t, append(df.entrypoint(t), anyStrings(list(hub, "command"))...), df.user(t))
	ct.mount(t, df.entrypoint(t)[0], potluckBinary(t))
	for k, v := range get(hub, "environment").(obj) {
		ct.env[k] = interpolate(t, v.(string), vars)
	}
	root := tempDir(t)
	for dst, mnt := range composeMounts(t, c, "hub") {
		host := filepath.Join(root, strings.ReplaceAll(dst, "/", "_"))
		if mnt.bind {
			copyTree(t, mnt.src, host)
		} else if err := os.MkdirAll(host, 0o755); err != nil {
			t.Fatal(err)
		}
		// A fresh named volume starts as a copy of the image's folder,
		// owner included.
		if v := df.last("VOLUME"); !mnt.bind && v != nil && v.args[0] == dst && os.Geteuid() == 0 {
			uid, gid := df.volumeOwner(t, dst)
			if err := os.Chown(host, int(uid), int(gid)); err != nil {
				t.Fatal(err)
			}
		}
		ct.mount(t, dst, host)
	}
	for _, p := range list(hub, "ports") {
		_, port, _ := strings.Cut(p.(string), ":")
		n, _ := strconv.Atoi(port)
		ct.ports[n] = freeAddr(t)
	}
	return ct
}

// tempDir is a test's folder that the container's user may enter.
func tempDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for _, p := range []string{filepath.Dir(d), d} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// copyTree copies a file or folder, keeping modes, as a bind mount shows it.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		to := filepath.Join(dst, strings.TrimPrefix(p, src))
		if d.IsDir() {
			return os.MkdirAll(to, info.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		return os.WriteFile(to, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
