package hub_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/potluck-hub/potluck/hub"
	"github.com/potluck-hub/potluck/internal/browsertest"
)

// A merge job's progress on the home page moves without a reload:
// jobs.js reads /jobs.json and updates the row until the job is done and
// links its release.
func TestWebJobsProgress(t *testing.T) {
	ctx := context.Background()
	js := newJobSetup(t, 1)
	release := make(chan struct{})
	started, fn := blockFirst(release)
	js.hook.set(fn)
	job, err := js.hs.client.StartMerge(ctx, js.recipe(0.5))
	if err != nil {
		t.Fatal(err)
	}
	within(t, started, "the merge job's first tensor")

	base := browsertest.Serve(t, hub.HTTPHandler(js.hs.h))
	if _, body := get(t, base+"/"); !strings.Contains(body, `<tr data-job="`+job.ID+`" data-state="running">`) {
		t.Errorf("the home page's HTML, as a browser without JavaScript shows it, lists no running job %s", job.ID)
	}
	tab := browsertest.Shared(t).Open(t, base+"/")
	row := `#potluck-jobs tr[data-job="` + job.ID + `"]`
	got := browsertest.Eval[struct {
		State      string
		Done, Max  float64
		HasRelease bool
	}](t, tab, `(() => { const tr = document.querySelector('`+row+`'); const p = tr.querySelector('progress');
		window.sameDocument = true;
		return {state: tr.dataset.state, done: p.value, max: p.max, hasRelease: !!tr.querySelector('.job-release a')}; })()`)
	if got.State != "running" || got.Done < 1 || got.Max <= got.Done || got.HasRelease {
		t.Errorf("the running job's row: %+v; want running, partway, no release yet", got)
	}

	close(release)
	done, err := js.hs.h.WaitMergeJob(ctx, job.ID)
	if err != nil || done.Release == nil {
		t.Fatalf("the merge job: %+v, %v", done, err)
	}
	tab.WaitFor(t, row+`[data-state="done"] .job-release a`)
	after := browsertest.Eval[struct {
		Href, Count  string
		SameDocument bool
	}](t, tab, `(() => { const tr = document.querySelector('`+row+`');
		return {href: tr.querySelector('.job-release a').getAttribute('href'), count: tr.querySelector('.job-count').textContent,
			sameDocument: window.sameDocument === true}; })()`)
	if after.Href != "/releases/"+done.Release.CID || !after.SameDocument || !strings.HasSuffix(after.Count, " tensors") {
		t.Errorf("the finished job's row: %+v; want a link to %s in the same document", after, done.Release.CID)
	}
	quiet(t, tab)
}

// With members-only reads, every page needs a member's token: sent as a
// bearer token, or kept by the browser in the cookie /login sets once it
// has checked the token. The login page and the pages' assets are public.
func TestWebMembersOnly(t *testing.T) {
	hs, tokA, _, _ := tokenHarness(t, hub.Access{MembersOnlyReads: true})
	base := browsertest.Serve(t, hub.HTTPHandler(hs.h))
	pages := []string{"/", "/releases", "/log", "/log/0", "/members", "/search?q=0", "/jobs.json"}

	t.Run("NoToken", func(t *testing.T) {
		for _, p := range pages {
			resp, body := get(t, base+p)
			if resp.StatusCode != http.StatusUnauthorized || body != "this hub serves members only: send a member's token\n" {
				t.Errorf("%s without a token: %s %q", p, resp.Status, body)
			}
		}
		for _, p := range []string{"/login", "/static/release.js", "/static/site.css"} {
			if resp, _ := get(t, base+p); resp.StatusCode != http.StatusOK {
				t.Errorf("%s without a token: %s, want it public", p, resp.Status)
			}
		}
	})

	t.Run("BearerToken", func(t *testing.T) {
		for _, p := range pages {
			if resp, _ := get(t, base+p, "Authorization", "Bearer "+tokA); resp.StatusCode != http.StatusOK {
				t.Errorf("%s with lab-a's token: %s", p, resp.Status)
			}
		}
	})

	t.Run("NoTokenOrHashWhenSignedIn", func(t *testing.T) {
		h := hub.HashToken(tokA)
		secrets := []string{tokA, h, strings.TrimPrefix(h, "sha256:")}
		for _, p := range append(pages, "/login", "/login?next=/members") {
			_, body := get(t, base+p, "Authorization", "Bearer "+tokA, "Cookie", hub.TokenCookie+"="+tokA)
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Errorf("%s shows the member's token or its hash %q", p, s)
				}
			}
		}
	})

	t.Run("BrowserSentToLogin", func(t *testing.T) {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Jar: jar}
		browse := func(method, path string, form url.Values) (*http.Response, string) {
			t.Helper()
			req, err := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/html")
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			_, err = io.Copy(&b, resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			return resp, b.String()
		}
		resp, body := browse(http.MethodGet, "/members", nil)
		if resp.Request.URL.Path != "/login" || !strings.Contains(body, `<input type="hidden" name="next" value="/members">`) {
			t.Fatalf("a browser asking for /members without a token lands on %s", resp.Request.URL)
		}
		resp, body = browse(http.MethodPost, "/login", url.Values{"token": {"plk_not-a-member"}, "next": {"/members"}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "That token is no member&#39;s") || strings.Contains(body, "plk_not-a-member") {
			t.Errorf("a wrong token: %s; want it refused, not shown back", resp.Status)
		}
		resp, _ = browse(http.MethodPost, "/login", url.Values{"token": {tokA}, "next": {"/members"}})
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/members" {
			t.Errorf("signing in: %s at %s, want /members", resp.Status, resp.Request.URL)
		}
		cookies := jar.Cookies(resp.Request.URL)
		if len(cookies) != 1 || cookies[0].Name != hub.TokenCookie {
			t.Errorf("cookies kept: %v", cookies)
		}
		resp, _ = browse(http.MethodPost, "/logout", url.Values{})
		if resp.Request.URL.Path != "/login" || len(jar.Cookies(resp.Request.URL)) != 0 {
			t.Errorf("signing out: at %s with cookies %v", resp.Request.URL, jar.Cookies(resp.Request.URL))
		}
	})

	t.Run("LoginFromAnotherSite", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{"token": {tokA}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://elsewhere.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("a login posted from another site: %s, cookies %v", resp.Status, resp.Cookies())
		}
	})
}
