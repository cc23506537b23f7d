package console

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/certgate/certgate/internal/testtool"
)

// The browser tests drive the built binary's admin listener with one
// headless Debian chromium for the package and a fresh browser context
// (cookies, storage) per test.
var (
	binDir, binPath string
	buildErr        error

	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel []context.CancelFunc
	browserErr    error
)

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "certgate-console-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir, binPath = dir, filepath.Join(dir, "certgate")
		if out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/certgate").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/certgate: %v\n%s", err, out)
		}
		defer func() {
			for i := len(browserCancel) - 1; i >= 0; i-- {
				browserCancel[i]()
			}
		}()
		return m.Run()
	}()
	os.Exit(code)
}

// browser returns a fresh browser context (its own cookies) in the
// package's chromium, closed at the end of the test, with a deadline.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := testtool.Require(t, "chromium")
	browserOnce.Do(func() {
		profile, err := os.MkdirTemp(binDir, "chromium-profile-")
		if err != nil {
			browserErr = err
			return
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.Flag("disable-gpu", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("ignore-certificate-errors", true),
			chromedp.UserDataDir(profile),
			chromedp.WindowSize(1280, 800),
		)
		ctx, cancel := chromedp.NewContext(alloc)
		browserCancel = append(browserCancel, cancelAlloc, cancel)
		browserErr = chromedp.Do(ctx) // starts chromium
		browserCtx = ctx
	})
	if browserErr != nil {
		t.Fatalf("start chromium: %v", browserErr)
	}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel() })
	return ctx
}

// certgate is `certgate serve --data-dir` started from the built binary.
type certgate struct {
	t            *testing.T
	admin, token string
	data         string
}

// serve starts the binary on a fresh data directory and waits until its
// admin URL is written.
func serve(t *testing.T) *certgate {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "serve", "--data-dir", data, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--log-level", "warn")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.After(30 * time.Second)
	for {
		u, err := os.ReadFile(filepath.Join(data, "admin.url"))
		if err == nil && len(bytes.TrimSpace(u)) > 0 {
			tok, err := os.ReadFile(filepath.Join(data, "admin.token"))
			if err != nil {
				t.Fatal(err)
			}
			return &certgate{t: t, admin: strings.TrimSpace(string(u)), token: strings.TrimSpace(string(tok)), data: data}
		}
		select {
		case <-done:
			t.Fatalf("certgate serve exited:\n%s", out.String())
		case <-deadline:
			t.Fatalf("certgate serve wrote no admin URL in 30 s:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// httpClient is a plain client of the admin listener (its certificate is
// the node's own admin CA's; the tests do not pin it).
func httpClient() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

// api calls the JSON admin API with the token (for what the console
// cannot do yet, such as creating a stage), and decodes the answer.
func (g *certgate) api(method, path string, in, out any) {
	g.t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, g.admin+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+g.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient().Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		g.t.Fatalf("%s %s = %d: %s", method, path, resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			g.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// do runs browser actions and fails the test on an error.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitText waits until the element sel shows text containing want, and
// returns its text.
func waitText(t *testing.T, ctx context.Context, sel, want string) string {
	t.Helper()
	var last string
	for {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		txt, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			last = txt
			if strings.Contains(txt, want) {
				return txt
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("%s never showed %q; last text:\n%s", sel, want, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn opens the console, signs in with the token and waits for the
// dashboard.
func (g *certgate) signIn(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "open the sign-in page",
		chromedp.Navigate(g.admin+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), g.token),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
	)
	waitText(t, ctx, "h1", "Dashboard")
}

// clickNav follows the navigation entry named text.
func clickNav(t *testing.T, ctx context.Context, text, heading string) {
	t.Helper()
	do(t, ctx, "click "+text, chromedp.Click(chromedp.Search(`//nav[@aria-label="Main"]/a[text()=`+xpathString(text)+`]`)))
	waitText(t, ctx, "h1", heading)
}

// clickLink follows the link in main whose text is text.
func clickLink(t *testing.T, ctx context.Context, text, heading string) {
	t.Helper()
	do(t, ctx, "click "+text, chromedp.Click(chromedp.Search(`//main//a[normalize-space(.)=`+xpathString(text)+`]`)))
	waitText(t, ctx, "h1", heading)
}

func xpathString(s string) string { return `"` + s + `"` }

// fetchText downloads what the link sel points at, from the page (with
// the page's cookies), as a person's click on it would.
func fetchText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	js := fmt.Sprintf(`fetch(document.querySelector(%q).href).then(r => r.ok ? r.text() : "HTTP " + r.status)`, sel)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("download %s: %v", sel, err)
	}
	return s
}

// screenshot writes a PNG of the page to $CERTGATE_SCREENSHOTS/name when
// that is set (the docs' pictures).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CERTGATE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
