package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/camstream/camstream/services/edge/mjpeg"
	"github.com/camstream/camstream/test/harness"
)

// nginxConf proxies /cams/ to the edge, the path passed on as it is, with
// the settings a stream needs: no buffering, a long read timeout.
const nginxConf = `worker_processes 1;
daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen 127.0.0.1:%[2]d;
    location /cams/ {
      proxy_pass http://%[3]s;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_read_timeout 1h;
      proxy_set_header Host $host;
    }
  }
}
`

// startNginx starts Debian's nginx on loopback in front of the edge at
// upstream (host:port) and returns its base URL; the test skips without
// nginx.
func startNginx(t *testing.T, upstream string) string {
	t.Helper()
	bin := harness.RequireTool(t, "nginx")
	dir := t.TempDir()
	port := harness.FreePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, dir, port, upstream), 0o600); err != nil {
		t.Fatal(err)
	}
	harness.Start(t, bin, []string{"-p", dir, "-c", conf, "-e", "stderr"})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	harness.WaitTCP(t, addr, 10*time.Second)
	return "http://" + addr
}

// links are a page's links, scripts, images, stream and API addresses.
var pageLinks = regexp.MustCompile(`(?:href|src|data-stream|data-api)="([^"]*)"`)

// Behind nginx under /cams (the edge started with --base-path /cams):
// every link of every page points under /cams and works through the
// proxy, streams included; the JSON API and the seed's redirect too; and
// Chromium shows the pages live.
func TestEdgeBehindNginxUnderBasePath(t *testing.T) {
	c := edgeStartCapture(t, edgeTestCameras("px", 3))
	e := edgeStartEdge(t, []string{c.grpcAddr}, "--base-path", "/cams")
	proxy := startNginx(t, strings.TrimPrefix(e.url, "http://")) + "/cams"

	checked := make(map[string]bool)
	for _, page := range []string{"/", "/grid", "/status", "/cameras/px-2"} {
		status, body := edgeGet(t, proxy+page)
		if status != http.StatusOK {
			t.Fatalf("GET %s through nginx: %d", page, status)
		}
		for _, m := range pageLinks.FindAllStringSubmatch(body, -1) {
			link := strings.ReplaceAll(m[1], "&amp;", "&")
			if !strings.HasPrefix(link, "/cams/") {
				t.Errorf("page %s links to %q, outside /cams/", page, link)
				continue
			}
			if checked[link] {
				continue
			}
			checked[link] = true
			url := strings.TrimSuffix(proxy, "/cams") + link
			if strings.Contains(link, ".mjpeg") {
				s := proxiedStream(t, url)
				for range 3 {
					s.next(t, 30*time.Second)
				}
				s.close()
				continue
			}
			if status, _ := edgeGet(t, url); status != http.StatusOK {
				t.Errorf("page %s: link %s through nginx: %d", page, link, status)
			}
		}
	}
	if len(checked) < 10 {
		t.Errorf("only %d distinct links on the pages: %v", len(checked), checked)
	}

	_, body := edgeGet(t, proxy+"/api/cameras")
	var list struct {
		Cameras []struct{ ID string } `json:"cameras"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Cameras) != 3 {
		t.Errorf("/cams/api/cameras through nginx: %v, %d cameras: %s", err, len(list.Cameras), body)
	}
	// The seed's /cam?no=N redirects relative to where it is served.
	resp, err := http.Get(proxy + "/cam?no=2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Request.URL.Path; resp.StatusCode != http.StatusOK || got != "/cams/cameras/px-2" {
		t.Errorf("/cams/cam?no=2 through nginx ends at %s (%s), want /cams/cameras/px-2", got, resp.Status)
	}

	b := browserStart(t)
	b.do(t, 30*time.Second, chromedp.Navigate(proxy+"/grid"), chromedp.WaitVisible(".grid"))
	b.requireLiveImages(t, ".grid img[data-camera]", 3)
	b.do(t, 30*time.Second, chromedp.Navigate(proxy+"/cameras/px-1"), chromedp.WaitVisible("#live"))
	b.requireLiveImages(t, "#live", 1)
	// The status page's script builds its camera links itself.
	b.do(t, 30*time.Second, chromedp.Navigate(proxy+"/status"), chromedp.WaitVisible(".status-card a"))
	if got := b.text(t, `Array.from(document.querySelectorAll(".status-card a")).map(a => new URL(a.href).pathname).join(" ")`); got != "/cams/cameras/px-1 /cams/cameras/px-2 /cams/cameras/px-3" {
		t.Errorf("status page links behind nginx: %q, want /cams/cameras/px-1 … px-3", got)
	}
	if errs := b.exceptions(); len(errs) > 0 {
		t.Errorf("JavaScript exceptions behind nginx:\n%s", strings.Join(errs, "\n"))
	}
}

// proxiedStream opens a stream through the proxy, which may send it
// chunked (the edge itself writes it raw).
func proxiedStream(t *testing.T, url string) *edgeStream {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "multipart/x-mixed-replace; boundary="+mjpeg.Boundary {
		t.Fatalf("GET %s: %s, Content-Type %q", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	return &edgeStream{resp: resp, parts: mjpeg.NewReader(resp.Body)}
}
