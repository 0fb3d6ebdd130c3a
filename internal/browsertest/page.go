package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Page is one tab, open for the life of the test that opened it. Its
// methods take the test (or subtest) to fail, so that subtests can share a
// tab: a new tab costs a few hundred milliseconds here, a navigation less.
type Page struct {
	ctx context.Context

	mu      sync.Mutex
	url     string
	console []string
}

// Open opens url in a new tab, which closes when the test ends, and
// records what each page writes to the console (messages, uncaught
// exceptions, the browser's own warnings such as a refused script).
func (b *Browser) Open(t testing.TB, url string) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	p := &Page{ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // opens the tab, with no timeout: it lives as long as ctx
		t.Fatalf("browsertest: open a tab: %v", err)
	}
	// Listen, unlike chromedp.Console, records each message before the
	// reply to any later command, so a test sees what came before.
	if err := chromedp.Listen(ctx, p.record); err != nil {
		t.Fatalf("browsertest: listen to the console: %v", err)
	}
	p.Navigate(t, url)
	return p
}

// Navigate loads url in the tab, a fresh page with a fresh console.
func (p *Page) Navigate(t testing.TB, url string) {
	t.Helper()
	p.mu.Lock()
	p.url, p.console = url, nil
	p.mu.Unlock()
	p.do(t, "navigate to "+url, chromedp.Navigate(url))
}

// WaitFor waits until an element matches the CSS selector.
func (p *Page) WaitFor(t testing.TB, selector string) {
	t.Helper()
	p.do(t, "wait for "+selector, chromedp.WaitReady(chromedp.CSS(selector)))
}

// Viewport sets the tab's size in CSS pixels (headless Chromium opens
// tabs at 800×600), for a layout or a screenshot that depends on it.
func (p *Page) Viewport(t testing.TB, width, height int64) {
	t.Helper()
	p.do(t, "set the viewport", chromedp.EmulateViewport(width, height))
}

// NoScript turns off the pages' scripts in the tab, as in a browser with
// JavaScript disabled, for a test of what a page shows without them. Eval
// still reads the page: it runs from the driver, not as the page's script.
func (p *Page) NoScript(t testing.TB) {
	t.Helper()
	p.do(t, "disable scripts", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
}

// Screenshot is a PNG of the whole page, for a test to save where a
// person should look at what the page shows.
func (p *Page) Screenshot(t testing.TB) []byte {
	t.Helper()
	var png []byte
	p.do(t, "screenshot", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		var err error
		png, err = chromedp.FullScreenshot(100)(ctx, tg)
		return chromedp.Void{}, err
	})
	return png
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

// Console is what the current page wrote to its console so far, one line
// each.
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// Eval evaluates a JavaScript expression in the page (awaiting it when it
// is a promise) and decodes its JSON value into T. DevTools evaluation is
// not subject to the page's Content-Security-Policy, so use it to read
// results, not to test what the page may run.
func Eval[T any](t testing.TB, p *Page, expr string) T {
	t.Helper()
	var v T
	p.do(t, "evaluate "+short(expr), func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		var err error
		v, err = chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise)(ctx, tg)
		return chromedp.Void{}, err
	})
	return v
}

// do runs an action with the Timeout, failing the test with the page's
// console when it fails.
func (p *Page) do(t testing.TB, what string, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, a); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w after %v: %w", errTimeout, Timeout, err)
		}
		p.mu.Lock()
		url := p.url
		p.mu.Unlock()
		t.Fatalf("browsertest: %s (page %s): %v\nconsole:\n%s", what, url, err, strings.Join(p.Console(), "\n"))
	}
}

func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
