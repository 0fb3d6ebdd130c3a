package hub_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/hub"
)

// TestMetrics: /metrics counts uploads by verdict, bytes, calls and the
// releases held.
func TestMetrics(t *testing.T) {
	hs := newHarness(t)
	m := writeModels(t, hs.dir)
	if _, err := hs.registerBase(m.base, hs.keyA); err != nil {
		t.Fatal(err)
	}
	if _, err := hs.registerBase(m.base, hs.keyX); err == nil { // an outsider's key
		t.Fatal("an outsider's base was accepted")
	}
	srv := httptest.NewServer(hub.HTTPHandler(hs.h))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	for _, want := range []string{
		`potluck_uploads_total{kind="base",verdict="accepted"} 1`,
		`potluck_rpc_errors_total{code="PermissionDenied",method="/potluck.hub.v1.HubService/StartUpload"} 1`,
		`potluck_releases{kind="base"} 1`,
		"potluck_upload_bytes_total ",
		"potluck_store_bytes{kind=\"base\"} ",
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
