package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/internal/catalog"
	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
)

// noCameras is a catalog that knows no camera, so no request can turn into
// an endless stream: every query ends in an answer.
type noCameras struct{}

func (noCameras) Cameras() ([]*camstreamv1.Camera, error) { return nil, nil }
func (noCameras) Camera(_ context.Context, id string) (*camstreamv1.Camera, error) {
	return nil, catalog.ErrNotFound
}
func (noCameras) Snapshot(_ context.Context, id string, _ int) (*camstreamv1.Frame, error) {
	return nil, catalog.ErrNotFound
}
func (noCameras) Ready() bool                 { return true }
func (noCameras) Captures() []catalog.Capture { return nil }

// fuzzPaths are the routes whose query the edge parses.
var fuzzPaths = []string{
	"/cameras/x/stream.mjpeg", "/cam", "/video_feed", "/streams.mjpeg",
	"/grid", "/", "/cameras/x", "/cameras/x/snapshot.jpg", "/api/cameras",
}

// FuzzQuery sends any query string to the routes that parse one: the edge
// answers with a client error or a page, never a server error, a panic or
// the raw input in its HTML.
func FuzzQuery(f *testing.F) {
	for _, q := range []string{
		"", "fps=5", "fps=abc", "fps=0", "fps=-1", "fps=NaN", "fps=Inf", "fps=1e309", "fps=0x10",
		"no=0", "no=1", "no=-1", "no=99999999999999999999", "no=%00", "cameras=a,a", "cameras=,,,",
		"cameras=" + strings.Repeat("a,", 100), "fps=%zz", "token=x&fps=1", "fps=<script>alert(1)</script>",
		"fps=1&fps=2", ";;;&&&===", strings.Repeat("x", MaxQueryBytes+1),
	} {
		for i := range fuzzPaths {
			f.Add(uint8(i), q)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := hub.New(log, func(ctx context.Context, _ string, _ func(*hub.Frame)) { <-ctx.Done() }, time.Millisecond)
	defer h.Close()
	s, err := New(log, Config{}, noCameras{}, h, metrics.New())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, route uint8, query string) {
		path := fuzzPaths[int(route)%len(fuzzPaths)]
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.URL.RawQuery = query
		req.RequestURI = path + "?" + query
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code >= 500 {
			t.Errorf("GET %s?%q: status %d, want no server error:\n%s", path, query, rec.Code, body)
		}
		if strings.Contains(body, "goroutine ") || strings.Contains(body, ".go:") {
			t.Errorf("GET %s?%q: body has a stack trace", path, query)
		}
		if strings.Contains(query, "<") && strings.Contains(body, "<script>alert") {
			t.Errorf("GET %s?%q: body carries the input unescaped", path, query)
		}
		if len(query) > MaxQueryBytes && rec.Code != http.StatusRequestURITooLong {
			t.Errorf("GET %s with a %d-byte query: status %d, want 414", path, len(query), rec.Code)
		}
	})
}
