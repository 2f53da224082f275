package httpserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestRoutes(t *testing.T) {
	var ready atomic.Bool
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "some_metric 1\n") })
	srv := httptest.NewServer(New("", metrics, ready.Load).Handler)
	defer srv.Close()

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	tests := []struct {
		name     string
		ready    bool
		path     string
		wantCode int
		wantBody string
	}{
		{"liveness", false, "/healthz", 200, "ok"},
		{"not ready", false, "/readyz", 503, "not ready"},
		{"ready", true, "/readyz", 200, "ready"},
		{"metrics", true, "/metrics", 200, "some_metric 1"},
		{"unknown", true, "/nope", 404, "404 page not found"},
	}
	for _, tt := range tests {
		ready.Store(tt.ready)
		code, body := get(tt.path)
		if code != tt.wantCode || body != tt.wantBody {
			t.Errorf("%s: GET %s = %d %q, want %d %q", tt.name, tt.path, code, body, tt.wantCode, tt.wantBody)
		}
	}
}
