package hub_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/potluck-hub/potluck/hub"
)

// serve serves h as o says until stop is called, which waits for Serve to
// return.
func serve(t testing.TB, h *hub.Hub, o hub.ServeOptions) (l *hub.Listeners, stop func()) {
	t.Helper()
	l, err := hub.Listen(h, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Serve(ctx) }()
	return l, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serving the hub: %v", err)
		}
	}
}

// serveOnce serves a fresh hub's gRPC and HTTP listeners on loopback ports
// until the test ends and returns the HTTP listener's URL.
func serveOnce(t *testing.T, httpTLS bool) (*hub.Hub, string) {
	t.Helper()
	dir := t.TempDir()
	members := filepath.Join(dir, "members.yaml")
	if err := os.WriteFile(members, []byte("orgs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := hub.Open(hub.Options{DataDir: filepath.Join(dir, "data"), MembersFile: members, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	l, stop := serve(t, h, hub.ServeOptions{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", HTTPPlaintext: !httpTLS, ShutdownTimeout: time.Second})
	t.Cleanup(func() { stop(); h.Close() })
	return h, l.HTTPURL()
}

// The HTTP listener speaks TLS with the gRPC listener's certificate (the
// fingerprint a node pins), refuses plain HTTP, and serves plain HTTP only
// when asked.
func TestHTTPListenerTLS(t *testing.T) {
	h, u := serveOnce(t, true)
	if !strings.HasPrefix(u, "https://") {
		t.Fatalf("HTTP listener at %s, want https", u)
	}
	var seen string
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // the certificate is self-signed: checked by fingerprint below
		VerifyConnection: func(cs tls.ConnectionState) error {
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			seen = hex.EncodeToString(sum[:])
			return nil
		}}}}
	resp, err := client.Get(u + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok\n" || seen != h.Info().TLSFingerprint {
		t.Fatalf("healthz %q over a certificate %s, want the hub's %s", body, seen, h.Info().TLSFingerprint)
	}
	plain := "http://" + strings.TrimPrefix(u, "https://")
	if resp, err := http.Get(plain + "/healthz"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) == "ok\n" {
			t.Fatal("plain HTTP was served on the TLS listener")
		}
	}

	_, u = serveOnce(t, false)
	resp, err = http.Get(u + "/healthz")
	if err != nil || !strings.HasPrefix(u, "http://") {
		t.Fatalf("with --http-plaintext: %s, %v", u, err)
	}
	resp.Body.Close()
}
