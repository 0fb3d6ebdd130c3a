package deployments

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The binary every deployment runs: `go build ./cmd/potluck`, built once
// per test binary into a folder TestMain removes. The Dockerfile also sets
// CGO_ENABLED=0 (a static binary for distroless); the test leaves cgo as
// the environment has it, so the build reuses what go vet and go build
// compiled (CGO_ENABLED=0 changes package net, so it rebuilds nearly every
// package: minutes on two cores). The difference, the pure-Go resolver,
// is not exercised here: the hub only dials and listens on loopback IPs.
var (
	binDir     string
	potluckBin string
	buildOnce  sync.Once
	buildErr   error
)

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "potluck-deployments-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

func potluckBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		// Readable and runnable by the container's user too.
		if buildErr = os.Chmod(binDir, 0o755); buildErr != nil {
			return
		}
		potluckBin = filepath.Join(binDir, "potluck")
		cmd := exec.Command("go", "build", "-o", potluckBin, "./cmd/potluck")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/potluck: %v", buildErr)
	}
	return potluckBin
}

// potluck runs the CLI as a lab or an operator does, outside any container.
func potluck(t *testing.T, env []string, args ...string) (stdout, stderr string) {
	t.Helper()
	var o, e strings.Builder
	cmd := exec.Command(potluckBinary(t), args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = append(os.Environ(), env...), &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("potluck %s: %v\n%s", strings.Join(args, " "), err, e.String())
	}
	return o.String(), e.String()
}
