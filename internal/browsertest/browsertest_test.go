package browsertest_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/internal/browsertest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// The harness loads a page from loopback, waits for what its script
// writes, reads values back and sees the console.
func TestPageRunsScript(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>t</title><script type="module" src="/m.js"></script>`))
	})
	mux.HandleFunc("/m.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(`console.log("hello from the page");
const ok = isSecureContext && !!crypto.subtle;
document.body.dataset.secure = String(ok);
document.body.dataset.done = "1";`))
	})
	url := browsertest.Serve(t, mux)
	p := browsertest.Shared(t).Open(t, url)
	p.WaitFor(t, "body[data-done]")
	if got := browsertest.Eval[string](t, p, `document.body.dataset.secure`); got != "true" {
		t.Errorf("loopback page: secure context with WebCrypto = %s, want true", got)
	}
	if got := browsertest.Eval[int](t, p, `Promise.resolve(6 * 7)`); got != 42 {
		t.Errorf("awaited promise = %d, want 42", got)
	}
	if c := strings.Join(p.Console(), "\n"); !strings.Contains(c, "hello from the page") {
		t.Errorf("console = %q, want the page's log line", c)
	}
}
