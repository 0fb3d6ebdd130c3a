// Package browsertest runs tests in a real browser: Debian's headless
// Chromium, driven over the DevTools protocol with chromedp, loading pages
// from an httptest server on loopback. Tests that check what a browser
// does (WebCrypto, module loading, a Content-Security-Policy) use it
// rather than a JavaScript engine in Go.
//
// A missing Chromium fails the test, saying how to install it; it never
// skips, so a machine without a browser cannot pass by testing nothing.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path is where Debian's chromium package installs the browser.
const Path = "/usr/bin/chromium"

// Timeout bounds each action on a page: loading it, waiting for an
// element, evaluating an expression.
const Timeout = 60 * time.Second

// flags are Chromium's switches: headless without a sandbox (tests run as
// root in containers), and nothing that reaches out to the network on its
// own, since this machine's network refuses it and Chromium then stalls.
var flags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("headless", true),
	chromedp.Flag("no-sandbox", true),
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("no-first-run", true),
	chromedp.Flag("no-default-browser-check", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-extensions", true),
	chromedp.Flag("disable-dev-shm-usage", true),
	chromedp.Flag("mute-audio", true),
}

// Browser is a running headless Chromium with a fresh profile.
type Browser struct {
	ctx     context.Context // the first tab; pages open as new tabs beside it
	cancel  context.CancelFunc
	stop    context.CancelFunc // the allocator: ends the process
	profile string
	out     *lockedBuffer
	// Startup is how long Chromium took to start and open its first tab.
	Startup time.Duration
}

// Start starts Chromium. On this project's machines (2 cores, shared)
// that takes 0.7 to 2.5 seconds; a new tab then takes a few hundred
// milliseconds, a page load in it 0.1 to 0.3 seconds.
func Start() (*Browser, error) {
	return start(Path)
}

func start(path string) (*Browser, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("browsertest: no Chromium at %s: install it with `apt-get install chromium` (as root; .ci/run does): %w", path, err)
	}
	profile, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		return nil, fmt.Errorf("browsertest: %w", err)
	}
	out := new(lockedBuffer)
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(profile), chromedp.CombinedOutput(out),
	}, flags...)
	allocCtx, stop := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: ctx, cancel: cancel, stop: stop, profile: profile, out: out}
	start := time.Now()
	if err := chromedp.Do(ctx); err != nil { // starts the browser; no timeout, or it would end with it
		b.Close()
		return nil, fmt.Errorf("browsertest: starting %s: %w; its output:\n%s", path, err, out.String())
	}
	b.Startup = time.Since(start)
	return b, nil
}

// Close stops Chromium and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	b.stop()
	os.RemoveAll(b.profile)
}

// Serve serves h on loopback for the test's life and returns its base
// URL, such as http://127.0.0.1:41234. Loopback is a secure context, so
// pages get WebCrypto.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

var shared struct {
	sync.Mutex
	b   *Browser
	err error
}

// Shared returns the test binary's one Chromium, started on first use (a
// failed start fails every test that asks). A package using it calls Main
// from its TestMain, which stops the browser when the tests are done.
func Shared(t testing.TB) *Browser {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.b == nil && shared.err == nil {
		shared.b, shared.err = Start()
		if shared.err == nil {
			t.Logf("Chromium started in %v", shared.b.Startup.Round(time.Millisecond))
		}
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.b
}

// Main runs the tests and then stops the shared browser:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	if shared.b != nil {
		shared.b.Close()
		shared.b = nil
	}
	return code
}

// lockedBuffer collects Chromium's output, written from another goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 1<<20 {
		return len(p), nil // keep the start, where a failed launch says why
	}
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// errTimeout wraps an action that ran past Timeout.
var errTimeout = errors.New("browsertest: timed out")
