package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/camstream/camstream/test/harness"
)

// browserArtifacts is where screenshots go: $CAMSTREAM_ARTIFACTS, else
// .artifacts/ at the repository root.
func browserArtifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CAMSTREAM_ARTIFACTS")
	if dir == "" {
		_, file, _, _ := goruntime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", ".artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is a headless Chromium tab.
type browser struct {
	ctx context.Context
	mu  sync.Mutex
	// errors are the page's uncaught JavaScript exceptions.
	errors []string
}

// browserStart starts headless Chromium (the Debian package) with a fresh
// profile and any further options; it skips the test when Chromium is not
// installed.
func browserStart(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	path := harness.RequireTool(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			b.mu.Lock()
			d := e.ExceptionDetails
			msg := fmt.Sprintf("%s (%s:%d)", d.Text, d.URL, d.LineNumber+1)
			if d.Exception != nil {
				msg += ": " + d.Exception.Description
			}
			b.errors = append(b.errors, msg)
			b.mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser and must not have a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b.ctx = ctx
	return b
}

func (b *browser) do(t *testing.T, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func (b *browser) exceptions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// browserImageDigests reads the pixels of every image matching selector into
// a canvas and returns a digest per image ("" until it has a frame).
const browserImageDigests = `(sel) => Array.from(document.querySelectorAll(sel)).map((img) => {
  if (!img.naturalWidth) return "";
  const c = document.createElement("canvas");
  c.width = img.naturalWidth;
  c.height = img.naturalHeight;
  const g = c.getContext("2d");
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 3) h = (Math.imul(h, 31) + d[i]) | 0;
  return c.width + "x" + c.height + ":" + h;
})`

func (b *browser) digests(t *testing.T, selector string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf("(%s)(%q)", browserImageDigests, selector)))
	if err != nil {
		t.Fatalf("read images %s: %v", selector, err)
	}
	return got
}

// requireLiveImages checks that at least want images match selector and
// that every one of them shows frames that keep changing: its pixels differ
// between reads, not just the page having loaded.
func (b *browser) requireLiveImages(t *testing.T, selector string, want int) {
	t.Helper()
	var first []string
	harness.WaitFor(t, 60*time.Second, fmt.Sprintf("%d images %s with a frame", want, selector), func() bool {
		first = b.digests(t, selector)
		if len(first) < want {
			return false
		}
		for _, d := range first {
			if d == "" {
				return false
			}
		}
		return true
	})
	changed := make([]bool, len(first))
	deadline := time.Now().Add(30 * time.Second)
	for {
		time.Sleep(700 * time.Millisecond)
		now := b.digests(t, selector)
		if len(now) != len(first) {
			t.Fatalf("images %s: %d, then %d", selector, len(first), len(now))
		}
		all := true
		for i := range now {
			if now[i] != first[i] && now[i] != "" {
				changed[i] = true
			}
			all = all && changed[i]
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			var stuck []int
			for i, c := range changed {
				if !c {
					stuck = append(stuck, i)
				}
			}
			t.Fatalf("images %s: %d of %d did not change in 30 s (indexes %v): not live", selector, len(stuck), len(now), stuck)
		}
	}
}

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(browserArtifacts(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func (b *browser) text(t *testing.T, js string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

// Headless Chromium loads the camera list, one camera, its raw MJPEG stream
// and the grid of nine cameras, and every image on them is live. Nine cameras are more than the
// six HTTP/1.1 connections Chromium opens per host.
func TestBrowserPagesAreLive(t *testing.T) {
	capture := edgeStartCapture(t, edgeTestCameras("cam", 9))
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	b := browserStart(t)

	b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/"), chromedp.WaitVisible(".cards"))
	if got := b.text(t, `document.title`); got != "Cameras · camstream" {
		t.Errorf("list page title = %q", got)
	}
	b.requireLiveImages(t, "img[data-camera]", 9)
	if got := b.text(t, `document.querySelector('[data-card="cam-3"] [data-field=state]').textContent`); got != "streaming" {
		t.Errorf("cam-3 state on the list = %q, want streaming", got)
	}
	b.screenshot(t, "list.png")

	b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/cameras/cam-2"), chromedp.WaitVisible("#live"))
	b.requireLiveImages(t, "#live", 1)
	if got := b.text(t, `document.querySelector("h1").textContent`); got != "Cam 2" {
		t.Errorf("camera page heading = %q, want Cam 2", got)
	}
	b.screenshot(t, "camera.png")

	// The raw stream in a plain <img src=…/stream.mjpeg>, the way other pages
	// embed a camera, is live too.
	b.text(t, `document.body.insertAdjacentHTML("beforeend", '<img id="raw" src="/cameras/cam-1/stream.mjpeg">'), ""`)
	b.requireLiveImages(t, "#raw", 1)

	b.do(t, 30*time.Second, chromedp.Navigate(edge.url+"/grid"), chromedp.WaitVisible(".grid"))
	b.requireLiveImages(t, ".grid img[data-camera]", 9)
	b.screenshot(t, "grid.png")

	// On a phone the list is one column and still live.
	b.do(t, 30*time.Second, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Navigate(edge.url+"/"), chromedp.WaitVisible(".cards"))
	b.requireLiveImages(t, "img[data-camera]", 9)
	if got := b.text(t, `String(new Set(Array.from(document.querySelectorAll(".card")).map(c => c.getBoundingClientRect().left)).size)`); got != "1" {
		t.Errorf("cards on a 390 px wide screen sit in %s columns, want 1", got)
	}
	b.screenshot(t, "list-phone.png")

	if errs := b.exceptions(); len(errs) > 0 {
		t.Errorf("JavaScript exceptions on the pages:\n%s", strings.Join(errs, "\n"))
	}
}
