package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestBasePath(t *testing.T) {
	for _, tt := range []struct {
		in, want, wantErr string
	}{
		{"", "", ""},
		{"/", "", ""},
		{"/cams", "/cams", ""},
		{"/cams/", "/cams", ""},
		{"/home/cams", "/home/cams", ""},
		{"cams", "", "must start with /"},
		{"/a//b", "", "plain path segments"},
		{"/a/../b", "", "plain path segments"},
		{"/cams?x=1", "", "only letters"},
		{"/<script>", "", "only letters"},
	} {
		got, err := BasePath(tt.in)
		if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("BasePath(%q) = %q, %v; want %q, error with %q", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// Under a base path, every link of a page points under it, the pages
// answer there and at the root, and the bare base path redirects to its
// slash.
func TestServesUnderBasePath(t *testing.T) {
	e := newEnv(t, envOptions{web: Config{BasePath: "/cams"}})
	for _, path := range []string{"/cams/", "/"} {
		resp, body := get(t, e.url+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		links := regexp.MustCompile(`(?:href|src|data-stream|data-api)="([^"]*)"`).FindAllStringSubmatch(body, -1)
		if len(links) < 5 {
			t.Fatalf("GET %s: only %d links in\n%s", path, len(links), body)
		}
		for _, l := range links {
			if !strings.HasPrefix(l[1], "/cams/") {
				t.Errorf("GET %s: link %q is not under /cams/", path, l[1])
			}
		}
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(e.url + "/cams?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "/cams/?x=1" {
		t.Errorf("GET /cams: %s to %q, want 301 to /cams/?x=1", resp.Status, loc)
	}
	if resp, _ := get(t, e.url+"/cams/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /cams/metrics: %s, want 404: metrics stay off the proxy's side", resp.Status)
	}
	if resp, _ := get(t, e.url+"/metrics"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /metrics: %s, want 200", resp.Status)
	}
	if resp, _ := get(t, e.url+"/camsx/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /camsx/: %s, want 404", resp.Status)
	}
}
