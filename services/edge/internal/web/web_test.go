package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"

	"github.com/camstream/camstream/services/edge/internal/capturetest"
	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/metrics"
	"github.com/camstream/camstream/services/edge/internal/upstream"
	"github.com/camstream/camstream/services/edge/mjpeg"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is an edge (pool, hub, web) in front of fake captures, served by a
// real HTTP server on 127.0.0.1.
type env struct {
	url      string
	captures map[string]*capturetest.Capture
	metrics  *metrics.Metrics
	server   *Server
	hub      *hub.Hub
	pool     *upstream.Pool
}

type envOptions struct {
	web      Config
	captures map[string][]string // capture name → its cameras
	capture  capturetest.Options // FPS and frame size for every capture
	grace    time.Duration
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.captures == nil {
		o.captures = map[string][]string{"capture-a": {"a1", "a2"}, "capture-b": {"b1"}}
	}
	if o.grace == 0 {
		o.grace = 100 * time.Millisecond
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n := capturetest.NewNetwork()
	e := &env{captures: make(map[string]*capturetest.Capture), metrics: metrics.New()}
	var targets []string
	for _, name := range []string{"capture-a", "capture-b", "capture-c"} {
		cams, ok := o.captures[name]
		if !ok {
			continue
		}
		opts := o.capture
		opts.Cameras = cams
		e.captures[name] = capturetest.Start(t, n, name, opts)
		targets = append(targets, capturetest.Target(name))
	}
	pool, err := upstream.New(log, upstream.Config{Targets: targets, DialOptions: []grpc.DialOption{n.DialOption()}, Metrics: e.metrics})
	if err != nil {
		t.Fatal(err)
	}
	pool.Refresh(context.Background())
	e.pool = pool
	e.hub = hub.New(log, pool.Stream, o.grace)
	e.server, err = New(log, o.web, pool, e.hub, e.metrics)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(e.server.Handler())
	e.url = ts.URL
	t.Cleanup(func() {
		e.server.Drain()
		ts.Close()
		e.server.Wait()
		e.hub.Close()
		pool.Close()
	})
	return e
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s body: %v", url, err)
	}
	return resp, string(body)
}

// client is an open MJPEG stream as a browser sees it.
type client struct {
	resp  *http.Response
	parts *mjpeg.Reader
}

func openStream(t *testing.T, url string) *client {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if err := mjpeg.CheckResponse(resp); err != nil {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %v; body %q", url, err, body)
	}
	return &client{resp: resp, parts: mjpeg.NewReader(resp.Body)}
}

func (v *client) next(t *testing.T) mjpeg.Part {
	t.Helper()
	p, err := v.parts.Next()
	if err != nil {
		t.Fatalf("next part: %v", err)
	}
	return p
}

func (v *client) close() { v.resp.Body.Close() }

func TestStreamParts(t *testing.T) {
	e := newEnv(t, envOptions{})
	v := openStream(t, e.url+"/cameras/b1/stream.mjpeg")
	if got := v.resp.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	var last uint64
	for i := range 5 {
		p := v.next(t)
		if p.CameraID != "b1" || !strings.HasPrefix(string(p.JPEG), "\xff\xd8b1 ") {
			t.Errorf("part %d: camera %q, JPEG %q; want a frame of b1", i, p.CameraID, p.JPEG[:6])
		}
		if p.ContentType != "image/jpeg" {
			t.Errorf("part %d: Content-Type %q, want image/jpeg", i, p.ContentType)
		}
		if age := time.Since(p.CapturedAt); age < 0 || age > time.Minute {
			t.Errorf("part %d: X-Timestamp %v is %v old, want a recent capture time", i, p.CapturedAt, age)
		}
		if p.Seq <= last {
			t.Errorf("part %d: seq %d after %d, want increasing", i, p.Seq, last)
		}
		last = p.Seq
	}
}

func TestSeedURLsServeTheNthCamera(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tt := range []struct {
		path, want string
	}{
		{"/video_feed", "a1"},
		{"/video_feed?no=3", "b1"},
		{"/video_feed?no=2", "a2"},
	} {
		v := openStream(t, e.url+tt.path)
		if got := v.next(t).CameraID; got != tt.want {
			t.Errorf("GET %s streams camera %q, want %q", tt.path, got, tt.want)
		}
		v.close()
	}
	// /cam?no=N showed the N-th camera: it leads to that camera's page.
	for _, tt := range []struct {
		path, want string
	}{
		{"/cam", "<h1>Camera a1</h1>"},
		{"/cam?no=2", "<h1>Camera a2</h1>"},
		{"/cam?no=3", "<h1>Camera b1</h1>"},
	} {
		resp, body := get(t, e.url+tt.path)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path == "/cam" || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: status %d at %s, want the page with %s", tt.path, resp.StatusCode, resp.Request.URL.Path, tt.want)
		}
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		method, path string
		want         int
		wantBody     string
	}{
		{"GET", "/cameras/a1/stream.mjpeg?fps=abc", 400, "fps"},
		{"GET", "/cameras/a1/stream.mjpeg?fps=0", 400, "fps"},
		{"GET", "/cameras/a1/stream.mjpeg?fps=-2", 400, "fps"},
		{"GET", "/cameras/a1/stream.mjpeg?fps=NaN", 400, "fps"},
		{"GET", "/cam?no=0", 400, "camera number"},
		{"GET", "/video_feed?no=abc", 400, "camera number"},
		{"GET", "/cam?no=99", 404, "no camera number 99"},
		{"GET", "/grid?fps=abc", 400, "fps"},
		{"GET", "/streams.mjpeg?cameras=a1,a1", 400, "twice"},
		{"GET", "/streams.mjpeg?cameras=a1,nope", 404, "nope"},
		{"GET", "/cameras/nope", 404, "There is no camera &#34;nope&#34;"},
		{"GET", "/cameras/nope/stream.mjpeg", 404, "nope"},
		{"GET", "/cameras/nope/snapshot.jpg", 404, "nope"},
		{"GET", "/no/such/page", 404, "no page"},
		{"POST", "/", 405, "only answers GET"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, e.url+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s %s: Content-Type %q, want a readable HTML page", tt.method, tt.path, ct)
		}
		if !strings.Contains(string(body), tt.wantBody) {
			t.Errorf("%s %s: body does not say %q:\n%s", tt.method, tt.path, tt.wantBody, body)
		}
		if strings.Contains(string(body), "goroutine") || strings.Contains(string(body), ".go:") {
			t.Errorf("%s %s: body has a stack trace:\n%s", tt.method, tt.path, body)
		}
	}
}

func TestAPIErrorsAreJSON(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := get(t, e.url+"/api/nope")
	var got struct{ Error string }
	if resp.StatusCode != 404 || json.Unmarshal([]byte(body), &got) != nil || got.Error == "" {
		t.Errorf("GET /api/nope: %d %q, want 404 with a JSON error", resp.StatusCode, body)
	}
}

func TestCaptureUnreachable(t *testing.T) {
	e := newEnv(t, envOptions{captures: map[string][]string{"capture-a": {"a1"}}})
	e.captures["capture-a"].Stop()
	e.server.catalog.(*upstream.Pool).Refresh(context.Background())
	for _, path := range []string{"/cameras/a1/stream.mjpeg", "/cameras/a1/snapshot.jpg", "/readyz"} {
		resp, body := get(t, e.url+path)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET %s with the capture down: status %d, want 503", path, resp.StatusCode)
		}
		if strings.Contains(body, "rpc error") || strings.Contains(body, "goroutine") {
			t.Errorf("GET %s: body is not readable: %q", path, body)
		}
	}
	// The camera page stays, saying the camera is offline.
	resp, body := get(t, e.url+"/cameras/a1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "offline") {
		t.Errorf("GET /cameras/a1 with the capture down: status %d, want 200 saying offline:\n%s", resp.StatusCode, body)
	}
}

func TestAuth(t *testing.T) {
	const token = "s3cret-token"
	open := newEnv(t, envOptions{})
	locked := newEnv(t, envOptions{web: Config{AuthToken: token}})
	tests := []struct {
		name   string
		env    *env
		path   string
		header []string
		want   int
	}{
		{"no token configured", open, "/", nil, 200},
		{"no credentials", locked, "/", nil, 401},
		{"no credentials, API", locked, "/api/cameras", nil, 401},
		{"no credentials, snapshot", locked, "/cameras/a1/snapshot.jpg", nil, 401},
		{"bearer", locked, "/api/cameras", []string{"Authorization", "Bearer " + token}, 200},
		{"wrong bearer", locked, "/api/cameras", []string{"Authorization", "Bearer nope"}, 401},
		{"basic password", locked, "/", []string{"Authorization", basic("anyone", token)}, 200},
		{"wrong basic password", locked, "/", []string{"Authorization", basic(token, "nope")}, 401},
		{"query token", locked, "/cameras/a1/snapshot.jpg?token=" + token, nil, 200},
		{"wrong query token", locked, "/cameras/a1/snapshot.jpg?token=" + token + "x", nil, 401},
		{"seed page redirect keeps the query token", locked, "/cam?no=2&token=" + token, nil, 200},
		{"health is open", locked, "/healthz", nil, 200},
		{"readiness is open", locked, "/readyz", nil, 200},
		{"metrics are open", locked, "/metrics", nil, 200},
		{"static files are open", locked, "/static/style.css", nil, 200},
	}
	for _, tt := range tests {
		resp, body := get(t, tt.env.url+tt.path, tt.header...)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: GET %s: status %d, want %d", tt.name, tt.path, resp.StatusCode, tt.want)
		}
		if resp.StatusCode == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: WWW-Authenticate %q, want a Basic challenge", tt.name, resp.Header.Get("WWW-Authenticate"))
		}
		if resp.StatusCode == 401 && strings.Contains(body, token) {
			t.Errorf("%s: the 401 page shows the token", tt.name)
		}
	}

	// A page opened with ?token= carries it on to its images, streams and links.
	_, body := get(t, locked.url+"/?token="+token)
	for _, want := range []string{
		`href="/cameras/a1?token=` + token + `"`,
		`href="/cameras/a1/snapshot.jpg?token=` + token + `"`,
		`/streams.mjpeg?cameras=a1,a2,b1&amp;fps=5&amp;token=` + token,
		`data-api="/api/cameras?token=` + token + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("list page opened with ?token= lacks %s", want)
		}
	}
	_, body = get(t, locked.url+"/cameras/a1?token="+token)
	if want := `src="/cameras/a1/stream.mjpeg?token=` + token + `"`; !strings.Contains(body, want) {
		t.Errorf("camera page opened with ?token= lacks %s", want)
	}
}

func basic(user, password string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

func TestPages(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		path string
		want []string
	}{
		{"/", []string{"Camera a1", "Camera b1", `data-camera="a2"`, "data-stream=\"/streams.mjpeg?cameras=a1,a2,b1&amp;fps=5\"", "streaming", "50.0 fps", "64×48"}},
		{"/grid", []string{`data-camera="a1"`, `data-camera="b1"`, "fps=15"}},
		{"/grid?fps=2", []string{"fps=2"}},
		{"/cameras/a2", []string{"<h1>Camera a2</h1>", `src="/cameras/a2/stream.mjpeg"`, "streaming"}},
	}
	for _, tt := range tests {
		resp, body := get(t, e.url+tt.path)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: status %d, want 200", tt.path, resp.StatusCode)
		}
		for _, want := range tt.want {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s: page lacks %q", tt.path, want)
			}
		}
		for h, want := range map[string]string{
			"Content-Security-Policy": "script-src 'self'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := resp.Header.Get(h); !strings.Contains(got, want) {
				t.Errorf("GET %s: %s = %q, want %q", tt.path, h, got, want)
			}
		}
	}
	// The assets the pages link to exist.
	_, body := get(t, e.url+"/")
	for _, asset := range []string{"style.css", "live.js", "favicon.svg"} {
		i := strings.Index(body, "/static/"+asset+"?v=")
		if i < 0 {
			t.Errorf("list page does not link %s", asset)
			continue
		}
		url := body[i : i+strings.IndexByte(body[i:], '"')]
		resp, _ := get(t, e.url+url)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: status %d, Cache-Control %q; want 200, immutable", url, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
}

func TestAPICamerasMergesCaptures(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := get(t, e.url+"/api/cameras")
	var got struct {
		Cameras []struct {
			ID    string
			Name  string
			State string
			Fps   float64
		}
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /api/cameras: %d %q (%v)", resp.StatusCode, body, err)
	}
	var ids []string
	for _, c := range got.Cameras {
		ids = append(ids, c.ID)
		if c.State != "CAMERA_STATE_STREAMING" || c.Fps != 50 {
			t.Errorf("camera %s: state %q, fps %v; want CAMERA_STATE_STREAMING, 50", c.ID, c.State, c.Fps)
		}
	}
	if got, want := strings.Join(ids, ","), "a1,a2,b1"; got != want {
		t.Errorf("cameras = %s, want %s", got, want)
	}
}

// Two captures own different cameras: every camera streams from its owner.
func TestRoutingOverCaptures(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tt := range []struct{ camera, owner string }{{"a2", "capture-a"}, {"b1", "capture-b"}} {
		v := openStream(t, e.url+"/cameras/"+tt.camera+"/stream.mjpeg")
		if p := v.next(t); p.CameraID != tt.camera || !strings.HasPrefix(string(p.JPEG), "\xff\xd8"+tt.camera+" ") {
			t.Errorf("stream of %s: camera %q, JPEG %q", tt.camera, p.CameraID, p.JPEG[:6])
		}
		if got := e.captures[tt.owner].Subscribers(tt.camera); got != 1 {
			t.Errorf("%s subscribers of %s = %d, want 1", tt.owner, tt.camera, got)
		}
		v.close()
	}
}

// Twenty viewers of one camera share one upstream, which closes after the
// grace period once they are all gone.
func TestOneUpstreamForManyViewers(t *testing.T) {
	e := newEnv(t, envOptions{})
	capture := e.captures["capture-a"]
	var viewers []*client
	for range 20 {
		v := openStream(t, e.url+"/cameras/a1/stream.mjpeg")
		v.next(t)
		viewers = append(viewers, v)
	}
	if got := capture.Subscribers("a1"); got != 1 {
		t.Errorf("capture subscribers for 20 viewers = %d, want 1", got)
	}
	if got := capture.StreamsOpened("a1"); got != 1 {
		t.Errorf("StreamFrames calls for 20 viewers = %d, want 1", got)
	}
	_, body := get(t, e.url+"/metrics")
	for _, want := range []string{`camstream_edge_viewers{camera="a1"} 20`, `camstream_edge_upstreams{camera="a1"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, v := range viewers {
		v.close()
	}
	capturetest.WaitFor(t, "the upstream to close after the last viewer left", func() bool { return capture.Subscribers("a1") == 0 })
	_, body = get(t, e.url+"/metrics")
	if want := `camstream_edge_viewers{camera="a1"} 0`; !strings.Contains(body, want) {
		t.Errorf("/metrics after the viewers left lacks %s", want)
	}
}

// One viewer that stops reading beside fast ones: the fast ones keep
// getting every frame in order, and the slow one, when it reads again, gets
// the newest frames, not a backlog.
func TestSlowViewerSkipsWithoutHoldingBackOthers(t *testing.T) {
	e := newEnv(t, envOptions{
		captures: map[string][]string{"capture-a": {"a1"}},
		// Big frames fill the socket buffers of a viewer that stops reading.
		capture: capturetest.Options{FPS: 100, FrameBytes: 256 << 10},
	})
	slow := dialViewer(t, e, "/cameras/a1/stream.mjpeg")
	slowResp, err := http.ReadResponse(bufio.NewReaderSize(slow, 4096), nil)
	if err != nil {
		t.Fatal(err)
	}
	slowParts := &client{resp: slowResp, parts: mjpeg.NewReader(slowResp.Body)}
	first := slowParts.next(t)

	// The slow viewer now reads nothing while fast viewers read 40 frames.
	var wg sync.WaitGroup
	var newest uint64
	var mu sync.Mutex
	for range 3 {
		fast := openStream(t, e.url+"/cameras/a1/stream.mjpeg")
		wg.Go(func() {
			last := fast.next(t).Seq
			for range 40 {
				p := fast.next(t)
				if p.Seq <= last {
					t.Errorf("fast viewer: seq %d after %d, want increasing", p.Seq, last)
				}
				last = p.Seq
			}
			mu.Lock()
			newest = max(newest, last)
			mu.Unlock()
			fast.close()
		})
	}
	wg.Wait()

	// Drain what the kernel buffered for the slow viewer (a few MB at
	// most); after that it must be at the newest frames.
	var p mjpeg.Part
	prev := first.Seq
	jumped := false
	for range 60 {
		p = slowParts.next(t)
		if p.Seq > prev+1 {
			jumped = true
		}
		prev = p.Seq
		if p.Seq >= newest {
			break
		}
	}
	if !jumped || p.Seq < newest {
		t.Errorf("slow viewer: seq %d after reading again (from %d), newest seen by fast viewers %d; want it to skip to the newest", p.Seq, first.Seq, newest)
	}
	_, body := get(t, e.url+"/metrics")
	if !strings.Contains(body, `camstream_edge_frames_skipped_total{camera="a1"}`) {
		t.Errorf("/metrics lacks camstream_edge_frames_skipped_total for a1")
	}
}

// A viewer that stops reading for good is dropped once a write has stalled
// for the write timeout (the deadline is moved only every half timeout, so
// between half and the whole of it), and its place is freed; a fast viewer
// beside it streams on.
func TestStalledViewerDropped(t *testing.T) {
	const timeout = 500 * time.Millisecond
	e := newEnv(t, envOptions{
		web:      Config{WriteTimeout: timeout},
		captures: map[string][]string{"capture-a": {"a1"}},
		capture:  capturetest.Options{FPS: 30, FrameBytes: 256 << 10},
	})
	fast := openStream(t, e.url+"/cameras/a1/stream.mjpeg")
	fast.next(t)
	var fastFrames atomic.Int64
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, err := fast.parts.Skip(); err != nil {
				readErr <- err
				return
			}
			fastFrames.Add(1)
		}
	}()
	// The stalled viewer reads nothing at all. Its socket fills within a
	// few frames; then its write stalls and must be abandoned.
	stalled := dialViewer(t, e, "/cameras/a1/stream.mjpeg")
	capturetest.WaitFor(t, "2 viewers", func() bool {
		_, body := get(t, e.url+"/metrics")
		return strings.Contains(body, `camstream_edge_viewers{camera="a1"} 2`+"\n")
	})
	start := time.Now()
	var dropped time.Duration
	for dropped == 0 && time.Since(start) < 20*timeout {
		time.Sleep(10 * time.Millisecond)
		_, body := get(t, e.url+"/metrics")
		if strings.Contains(body, `camstream_edge_viewers{camera="a1"} 1`+"\n") {
			dropped = time.Since(start)
		}
	}
	if dropped == 0 {
		t.Fatalf("stalled viewer still counted %v after it connected (write timeout %v)", 20*timeout, timeout)
	}
	t.Logf("stalled viewer dropped %v after it connected and read nothing (write timeout %v)", dropped.Round(time.Millisecond), timeout)
	if dropped < timeout/2 {
		t.Errorf("stalled viewer dropped after %v, before half the write timeout %v", dropped, timeout)
	}
	// Its connection is closed: reading what the kernel buffered ends in
	// EOF or a reset, not in a wait.
	_ = stalled.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, stalled); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("stalled viewer's connection still open after it was dropped")
	}
	// The fast viewer streams on.
	before := fastFrames.Load()
	capturetest.WaitFor(t, "the fast viewer's next frames", func() bool {
		select {
		case err := <-readErr:
			t.Fatalf("fast viewer's stream ended: %v", err)
		default:
		}
		return fastFrames.Load() >= before+10
	})
}

// dialViewer opens a viewer's own TCP connection to the edge, with a small
// receive buffer so that its socket fills after a few frames when it stops
// reading, and requests path on it.
func dialViewer(t *testing.T, e *env, path string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.(*net.TCPConn).SetReadBuffer(16 << 10)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: edge\r\n\r\n", path)
	return conn
}

// ?fps=N caps one viewer: never more frames than the cap allows (a busy
// machine can only make it fewer).
func TestFPSCap(t *testing.T) {
	e := newEnv(t, envOptions{captures: map[string][]string{"capture-a": {"a1"}}, capture: capturetest.Options{FPS: 100}})
	v := openStream(t, e.url+"/cameras/a1/stream.mjpeg?fps=5")
	v.next(t)
	start := time.Now()
	n := 0
	for time.Since(start) < time.Second {
		v.next(t)
		n++
	}
	elapsed := time.Since(start)
	if limit := int(elapsed.Seconds()*5) + 1; n > limit {
		t.Errorf("frames in %v at fps=5: %d, want at most %d", elapsed, n, limit)
	}
}

func TestMultiStreamCarriesEveryCamera(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, path := range []string{"/streams.mjpeg?cameras=a1,b1,a2&fps=20", "/streams.mjpeg"} {
		v := openStream(t, e.url+path)
		seen := map[string]bool{}
		for range 60 {
			p := v.next(t)
			if !strings.HasPrefix(string(p.JPEG), "\xff\xd8"+p.CameraID+" ") {
				t.Fatalf("%s: part of %q carries %q", path, p.CameraID, p.JPEG[:6])
			}
			seen[p.CameraID] = true
			if len(seen) == 3 {
				break
			}
		}
		if len(seen) != 3 {
			t.Errorf("%s: cameras seen %v, want a1, a2, b1", path, seen)
		}
		v.close()
	}
}

func TestSnapshot(t *testing.T) {
	e := newEnv(t, envOptions{})
	resp, body := get(t, e.url+"/cameras/b1/snapshot.jpg")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(body, "\xff\xd8b1 ") {
		t.Errorf("snapshot: %d %q %q, want 200 image/jpeg with a frame of b1", resp.StatusCode, resp.Header.Get("Content-Type"), body[:min(6, len(body))])
	}
	if resp.Header.Get("X-Frame-Seq") == "" || resp.Header.Get("X-Timestamp") == "" {
		t.Errorf("snapshot lacks X-Frame-Seq or X-Timestamp: %v", resp.Header)
	}
	// With a viewer, the snapshot is the edge's newest frame.
	v := openStream(t, e.url+"/cameras/b1/stream.mjpeg")
	v.next(t)
	opened := e.captures["capture-b"].StreamsOpened("b1")
	resp, _ = get(t, e.url+"/cameras/b1/snapshot.jpg")
	if resp.StatusCode != 200 || e.captures["capture-b"].StreamsOpened("b1") != opened {
		t.Errorf("snapshot while streaming: status %d, want 200 without a new upstream", resp.StatusCode)
	}
}

// TestSnapshotOfFailedCamera: a camera whose capture answers but which has
// no picture gets a 503 that says so, with its state and its last error,
// not that its capture is unreachable.
func TestSnapshotOfFailedCamera(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.captures["capture-b"].Fail("b1", "open rtsp://cam.local/x: the stream did not open")
	e.pool.Refresh(context.Background())
	for _, path := range []string{"/cameras/b1/snapshot.jpg", "/cameras/b1/snapshot.jpg?width=160"} {
		resp, body := get(t, e.url+path)
		want := `Camera &#34;b1&#34; has no picture right now: it is failed. Last error: open rtsp://cam.local/x: the stream did not open.`
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, want) {
			t.Errorf("%s of a failed camera: %d %q, want 503 containing %q", path, resp.StatusCode, body, want)
		}
	}
	resp, body := get(t, e.url+"/cameras/a1/snapshot.jpg")
	if resp.StatusCode != 200 {
		t.Errorf("snapshot of a1 beside the failed b1: %d %q, want 200", resp.StatusCode, body)
	}
}

func TestMaxViewers(t *testing.T) {
	e := newEnv(t, envOptions{web: Config{MaxViewers: 2}})
	a := openStream(t, e.url+"/cameras/a1/stream.mjpeg")
	openStream(t, e.url+"/cameras/a2/stream.mjpeg")
	resp, body := get(t, e.url+"/cameras/b1/stream.mjpeg")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "maximum of 2 viewers") {
		t.Errorf("third viewer with --max-viewers 2: %d, want 503 saying so", resp.StatusCode)
	}
	a.close()
	capturetest.WaitFor(t, "a place after a viewer left", func() bool { return e.server.viewers.Load() < 2 })
	openStream(t, e.url+"/cameras/b1/stream.mjpeg").next(t)
}

func TestDrainEndsStreamsAndReadiness(t *testing.T) {
	e := newEnv(t, envOptions{})
	if resp, _ := get(t, e.url+"/readyz"); resp.StatusCode != 200 {
		t.Fatalf("readyz before drain: %d, want 200", resp.StatusCode)
	}
	v := openStream(t, e.url+"/cameras/a1/stream.mjpeg")
	v.next(t)
	e.server.Drain()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, v.resp.Body)
		done <- err
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("stream still open 10 s after Drain")
	}
	e.server.Wait()
	if resp, _ := get(t, e.url+"/readyz"); resp.StatusCode != 503 {
		t.Errorf("readyz after drain: %d, want 503", resp.StatusCode)
	}
	if resp, _ := get(t, e.url+"/cameras/a1/stream.mjpeg"); resp.StatusCode != 503 {
		t.Errorf("new stream after drain: %d, want 503", resp.StatusCode)
	}
}

// A viewer that leaves while its camera sends nothing is noticed at once,
// not at the next frame.
func TestLeavingViewerNoticedWithoutFrames(t *testing.T) {
	e := newEnv(t, envOptions{captures: map[string][]string{"capture-a": {"a1"}}})
	v := openStream(t, e.url+"/cameras/a1/stream.mjpeg")
	v.next(t)
	e.captures["capture-a"].Stop() // no more frames
	capturetest.WaitFor(t, "one viewer", func() bool { return e.server.viewers.Load() == 1 })
	v.close()
	capturetest.WaitFor(t, "the viewer to be gone", func() bool { return e.server.viewers.Load() == 0 })
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, envOptions{})
	if resp, body := get(t, e.url+"/healthz"); resp.StatusCode != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q, want 200 ok", resp.StatusCode, body)
	}
}

func TestPagesWithoutCameras(t *testing.T) {
	e := newEnv(t, envOptions{captures: map[string][]string{"capture-a": {}}})
	for _, path := range []string{"/", "/grid"} {
		resp, body := get(t, e.url+path)
		if resp.StatusCode != 200 || !strings.Contains(body, "No cameras yet") || strings.Contains(body, "data-stream") {
			t.Errorf("GET %s without cameras: %d, want 200 saying there are none, without a stream:\n%s", path, resp.StatusCode, body)
		}
	}
}
