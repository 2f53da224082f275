package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/camstream/camstream/test/harness"
)

// gridCameras is the camera file of the grid benchmark: n moving test
// patterns of 1280×720 at fps.
func gridCameras(n, fps int) string {
	var b strings.Builder
	b.WriteString("cameras:\n")
	for i := range n {
		pattern := []string{"ball", "smpte"}[i%2]
		fmt.Fprintf(&b, "  - id: cam-%d\n    source: test://%s\n    width: 1280\n    fps: %d\n    quality: 70\n", i+1, pattern, fps)
	}
	return b.String()
}

// countingProxy forwards connections to target and counts the bytes that
// flow back: what a browser behind it pulls.
type countingProxy struct {
	ln    net.Listener
	down  atomic.Int64
	conns sync.WaitGroup
}

func startCountingProxy(b *testing.B, target string) *countingProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	p := &countingProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.conns.Go(func() { p.serve(c, target) })
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		p.conns.Wait()
	})
	return p
}

func (p *countingProxy) serve(c net.Conn, target string) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() {
		_, _ = io.Copy(up, c)
		up.Close()
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := up.Read(buf)
		p.down.Add(int64(n))
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// stripWidth makes a tab's page fetch its streams without ?width, the
// full-size frames every page pulled before pictures were sized.
const stripWidth = `(() => { const f = window.fetch;
  window.fetch = (u, o) => f(String(u).replace(/([?&])width=\d+&?/, "$1").replace(/[?&]$/, ""), o); })();`

// BenchmarkSizeGridBytes: the bytes per second the grid page of 16
// cameras (1280×720 at 5 fps, slow enough for headless Chromium on two
// shared cores to show every full-size frame) pulls, at 1280×800 and on a
// phone (390×844 at 3 device pixels per px), as the page asks (sized) and
// with the width stripped from its streams (full: the pages before sizes).
// full/sized is the saving.
func BenchmarkSizeGridBytes(b *testing.B) {
	chromium := harness.RequireTool(b, "chromium")
	path := filepath.Join(b.TempDir(), "cameras.yaml")
	if err := os.WriteFile(path, []byte(gridCameras(16, 5)), 0o600); err != nil {
		b.Fatal(err)
	}
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	harness.Start(b, harness.Bin(b, "capture"), []string{"--listen", grpcAddr,
		"--http-listen", fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b)), "--config", path, "--log-level", "warn"})
	edgeAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(b))
	harness.Start(b, harness.Bin(b, "edge"), []string{"--listen", edgeAddr, "--capture", grpcAddr, "--log-level", "warn"})
	harness.WaitHTTP(b, "http://"+edgeAddr+"/readyz", 20*time.Second)
	proxy := startCountingProxy(b, edgeAddr)
	url := "http://" + proxy.ln.Addr().String() + "/grid"

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(b.TempDir()))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		b.Fatalf("start chromium: %v", err)
	}
	screens := []struct {
		name          string
		width, height int64
		scale         float64
	}{{"desktop", 1280, 800, 1}, {"phone", 390, 844, 3}}
	for b.Loop() {
		for _, s := range screens {
			full := gridBytes(b, browser, proxy, url, s.width, s.height, s.scale, true)
			sized := gridBytes(b, browser, proxy, url, s.width, s.height, s.scale, false)
			b.ReportMetric(full/1e6, s.name+"-full-MB/s")
			b.ReportMetric(sized/1e6, s.name+"-sized-MB/s")
			b.ReportMetric(full/sized, s.name+"-full/sized")
		}
	}
}

// gridBytes opens the grid in a new tab at the screen size and returns the
// bytes per second it pulls over the measured window after the warm-up.
func gridBytes(b *testing.B, browser context.Context, proxy *countingProxy, url string, w, h int64, scale float64, full bool) float64 {
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	steps := []chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(w, h, chromedp.EmulateScale(scale))}
	if full {
		steps = append(steps, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: stripWidth})
			return err
		}))
	}
	steps = append(steps, chromedp.Navigate(url), chromedp.WaitVisible(".grid"))
	if err := chromedp.Do(tab, steps...); err != nil {
		b.Fatalf("grid at %d×%d: %v", w, h, err)
	}
	time.Sleep(warmup)
	start, n0 := time.Now(), proxy.down.Load()
	time.Sleep(measured)
	return float64(proxy.down.Load()-n0) / time.Since(start).Seconds()
}
