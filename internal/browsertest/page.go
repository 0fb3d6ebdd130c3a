package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Page is one tab, open on a URL for the life of a test.
type Page struct {
	t   testing.TB
	ctx context.Context
	url string

	mu      sync.Mutex
	console []string
}

// Open opens url in a new tab, which closes when the test ends, and
// records what the page writes to the console (messages, uncaught
// exceptions, the browser's own warnings such as a refused script).
func (b *Browser) Open(t testing.TB, url string) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	p := &Page{t: t, ctx: ctx, url: url}
	if err := chromedp.Do(ctx); err != nil { // opens the tab, with no timeout: it lives as long as ctx
		t.Fatalf("browsertest: open a tab: %v", err)
	}
	// Listen, unlike chromedp.Console, records each message before the
	// reply to any later command, so a test sees what came before.
	if err := chromedp.Listen(ctx, p.record); err != nil {
		t.Fatalf("browsertest: listen to the console: %v", err)
	}
	p.do("navigate to "+url, chromedp.Navigate(url))
	return p
}

// WaitFor waits until an element matches the CSS selector.
func (p *Page) WaitFor(selector string) {
	p.t.Helper()
	p.do("wait for "+selector, chromedp.WaitReady(chromedp.CSS(selector)))
}

// record keeps one console message; it runs in chromedp's reading loop
// and must be quick.
func (p *Page) record(ev any) {
	var line string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		parts := []string{string(e.Type) + ":"}
		for _, a := range e.Args {
			parts = append(parts, describe(a))
		}
		line = strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		line = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			line += " " + describe(e.ExceptionDetails.Exception)
		}
	case *log.EventEntryAdded:
		line = fmt.Sprintf("%s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL)
	default:
		return
	}
	p.mu.Lock()
	p.console = append(p.console, line)
	p.mu.Unlock()
}

// describe is a console argument as text: a string as it is, another
// value as JSON, an object by its description.
func describe(o *runtime.RemoteObject) string {
	if o.Type == runtime.RemoteObjectTypeString {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
	}
	if len(o.Value) > 0 {
		return string(o.Value)
	}
	return o.Description
}

// Console is what the page wrote to its console so far, one line each.
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// Eval evaluates a JavaScript expression in the page (awaiting it when it
// is a promise) and decodes its JSON value into T. DevTools evaluation is
// not subject to the page's Content-Security-Policy, so use it to read
// results, not to test what the page may run.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	var v T
	p.do("evaluate "+short(expr), func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		var err error
		v, err = chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise)(ctx, t)
		return chromedp.Void{}, err
	})
	return v
}

// do runs an action with the Timeout, failing the test with the page's
// console when it fails.
func (p *Page) do(what string, a chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, a); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w after %v: %w", errTimeout, Timeout, err)
		}
		p.t.Fatalf("browsertest: %s (page %s): %v\nconsole:\n%s", what, p.url, err, strings.Join(p.Console(), "\n"))
	}
}

func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
