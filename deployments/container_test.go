package deployments

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The hub is started as a runtime starts its container: the container's
// command line, environment and user, over a filesystem of mounts. With no
// runtime here, the container's filesystem is a folder of the test, ROOT,
// and each mount (a volume, a bind mount, a ConfigMap or Secret laid out as
// the runtime lays it out, the binary at /potluck) is a symbolic link in it
// to the host folder or file that holds the mount's content. A path inside
// the container, such as /etc/potluck/members.yaml, is rewritten to
// ROOT/etc/potluck/members.yaml in the command line and in the values of
// the hub's --config file, which the hub reads as paths (the environment
// holds only credentials). A relative path read from a mounted file, such
// as keys/lab-a.pub in the members file, then resolves in ROOT as it does
// in the container, across mounts. A container port the deployment
// publishes (0.0.0.0:7420) becomes a free loopback port, and a service the
// container dials by name (minio:9000) becomes the test MinIO's address.
type container struct {
	root   string            // the container's filesystem
	mounts []string          // its mount points
	argv   []string          // the container's command line, as given
	env    map[string]string // its whole environment: nothing of the test's
	user   *user             // the user it runs as
	ports  map[int]string    // container port → host address
	hosts  map[string]string // HOST:PORT it dials → host address

	configDone bool // the --config file is rewritten
}

func newContainer(t *testing.T, argv []string, u *user) *container {
	t.Helper()
	c := &container{root: filepath.Join(tempDir(t), "rootfs"), argv: argv, user: u,
		env: map[string]string{}, ports: map[int]string{}, hosts: map[string]string{}}
	if err := os.Mkdir(c.root, 0o755); err != nil {
		t.Fatal(err)
	}
	return c
}

// mount shows the host's file or folder at the container's path p.
func (c *container) mount(t *testing.T, p, host string) {
	t.Helper()
	if _, inside := c.hostPath(p); inside {
		t.Fatalf("mount %s: inside another mount", p)
	}
	link := filepath.Join(c.root, p)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, link); err != nil {
		t.Fatal(err)
	}
	c.mounts = append(c.mounts, p)
}

// hostPath is where the container's path p lies on this machine, if a
// mount provides it.
func (c *container) hostPath(p string) (string, bool) {
	for _, m := range c.mounts {
		if p == m || strings.HasPrefix(p, m+"/") {
			return filepath.Join(c.root, p), true
		}
	}
	return "", false
}

// rewrite maps one value the container reads: a path, a listen address or
// an endpoint it dials.
func (c *container) rewrite(t *testing.T, s string) string {
	t.Helper()
	if strings.HasPrefix(s, "/") {
		h, ok := c.hostPath(s)
		if !ok {
			t.Fatalf("the container reads %s, which no mount provides (mounts %v)", s, c.mounts)
		}
		return h
	}
	if host, port, err := net.SplitHostPort(s); err == nil && (host == "0.0.0.0" || host == "") {
		n, _ := strconv.Atoi(port)
		if a, ok := c.ports[n]; ok {
			return a
		}
		t.Fatalf("the container listens on %s, a port the deployment does not publish", s)
	}
	for from, to := range c.hosts {
		if rest, ok := strings.CutPrefix(s, "http://"+from); ok {
			return "http://" + to + rest
		}
	}
	return s
}

// rewriteConfig rewrites the values of the --config file in place (it is
// the test's copy of the mounted file).
func (c *container) rewriteConfig(t *testing.T) {
	t.Helper()
	i := slices.Index(c.argv, "--config")
	if i < 0 || i+1 >= len(c.argv) || c.configDone {
		return
	}
	c.configDone = true
	path, ok := c.hostPath(c.argv[i+1])
	if !ok {
		t.Fatalf("--config %s is not mounted", c.argv[i+1])
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	settings := obj{}
	if err := yaml.Unmarshal(b, &settings); err != nil {
		t.Fatalf("%s: %v", c.argv[i+1], err)
	}
	for k, v := range settings {
		switch v := v.(type) {
		case string:
			settings[k] = c.rewrite(t, v)
		case []any:
			for j, x := range v {
				if s, ok := x.(string); ok {
					v[j] = c.rewrite(t, s)
				}
			}
		}
	}
	if b, err = yaml.Marshal(settings); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// running is a started container: its process and what it printed.
type running struct {
	cmd     *exec.Cmd
	log     string // its output, both streams, as `docker logs` shows it
	done    chan error
	stopped bool
}

// start runs the container's process, as its user when the test may
// switch users (as root), and stops it with SIGTERM, as a runtime does,
// when the test ends; the hub must then exit cleanly.
func (c *container) start(t *testing.T) *running {
	t.Helper()
	c.rewriteConfig(t)
	argv := make([]string, len(c.argv))
	for i, a := range c.argv {
		argv[i] = c.rewrite(t, a)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = "/"
	for k, v := range c.env { // credentials only: nothing to rewrite
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if c.user != nil && os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: c.user.uid, Gid: c.user.gid, Groups: c.user.groups}}
	} else if c.user != nil {
		t.Logf("not root: the hub runs as uid %d, not the container's %d", os.Geteuid(), c.user.uid)
	}
	r := &running{cmd: cmd, log: filepath.Join(t.TempDir(), "log"), done: make(chan error, 1)}
	f, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the process has its own copy
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop sends SIGTERM and waits for a clean exit.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.stopped {
		return
	}
	r.stopped = true
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("the hub exited with %v on SIGTERM:\n%s", err, r.output())
		}
	case <-time.After(45 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
		t.Errorf("the hub did not stop within 45s of SIGTERM:\n%s", r.output())
	}
}

// output is what the process printed so far.
func (r *running) output() string {
	b, _ := os.ReadFile(r.log)
	return string(b)
}

// waitFor waits until the process prints a match of re, failing if it
// exits first, and returns the match's groups.
func (r *running) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(r.output()); m != nil {
			return m
		}
		select {
		case err := <-r.done:
			r.stopped = true
			t.Fatalf("the hub exited (%v) before printing %s:\n%s", err, re, r.output())
		default:
		}
	}
	t.Fatalf("the hub did not print %s within 90s:\n%s", re, r.output())
	return nil
}
