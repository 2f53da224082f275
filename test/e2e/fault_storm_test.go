package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/mjpeg"
	"github.com/camstream/camstream/test/harness"
)

// stormMetric reads one unlabelled sample from a Prometheus exposition.
func stormMetric(t *testing.T, exposition, name string) float64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(exposition))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				t.Fatalf("metric %s = %q: %v", name, f[1], err)
			}
			return v
		}
	}
	t.Fatalf("metric %s missing", name)
	return 0
}

// stormFigures are the edge's goroutines, open fds and RSS.
type stormFigures struct {
	goroutines, fds, rss float64
}

func (f stormFigures) String() string {
	return fmt.Sprintf("%.0f goroutines, %.0f fds, %.1f MiB RSS", f.goroutines, f.fds, f.rss/(1<<20))
}

func stormRead(t *testing.T, url string) stormFigures {
	t.Helper()
	_, m := edgeGet(t, url+"/metrics")
	return stormFigures{
		goroutines: stormMetric(t, m, "go_goroutines"),
		fds:        stormMetric(t, m, "process_open_fds"),
		rss:        stormMetric(t, m, "process_resident_memory_bytes"),
	}
}

// stormJoin opens n streams at once, each on its own connection, and
// returns once every one has received a frame, with a func that closes
// them all at once.
func stormJoin(t *testing.T, url string, n int) (leave func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, MaxConnsPerHost: 0}}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	bodies := make(chan io.Closer, n)
	for range n {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				errs <- err
				return
			}
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			bodies <- resp.Body
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
				return
			}
			if _, err := mjpeg.NewReader(resp.Body).Skip(); err != nil {
				errs <- fmt.Errorf("first part: %w", err)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cancel()
		<-done
		t.Fatalf("%d viewers did not all get a frame within 2 minutes", n)
	}
	close(errs)
	failed := 0
	var first error
	for err := range errs {
		if first == nil {
			first = err
		}
		failed++
	}
	close(bodies)
	var open []io.Closer
	for b := range bodies {
		open = append(open, b)
	}
	leave = func() {
		cancel()
		for _, b := range open {
			b.Close()
		}
		client.CloseIdleConnections()
	}
	if failed > 0 {
		leave()
		t.Fatalf("%d of %d viewers failed; first: %v", failed, n, first)
	}
	return leave
}

// Viewer storms: 500 viewers join an on-demand camera at once and leave at
// once, 10 times. The edge's goroutines, open fds and RSS come back to
// their baseline, the camera stops when nobody watches, and the next viewer
// gets frames.
func TestFaultViewerStorms(t *testing.T) {
	const viewers, rounds = 500, 10
	cfg := captureConfig(t, `
cameras:
  - id: lobby
    source: test://ball
    fps: 10
    width: 320
    quality: 60
    on_demand: true
    idle_timeout: 1s
`)
	c := captureStart(t, []string{"--config", cfg})
	edge := edgeStartEdge(t, []string{c.grpcAddr}, "--upstream-grace", "500ms", "--max-viewers", "1000", "--log-level", "warn")
	stream := edge.url + "/cameras/lobby/stream.mjpeg"

	settled := func(what string) {
		harness.WaitFor(t, captureWait, what+": no viewers, no upstream, camera idle", func() bool {
			_, m := edgeGet(t, edge.url+"/metrics")
			return strings.Contains(m, `camstream_edge_viewers{camera="lobby"} 0`) &&
				strings.Contains(m, `camstream_edge_upstreams{camera="lobby"} 0`) &&
				c.camera(t, "lobby").State == camstreamv1.CameraState_CAMERA_STATE_IDLE
		})
	}
	// Warm up with one viewer, so the baseline has the connection pools
	// and the camera's first start behind it.
	stormJoin(t, stream, 1)()
	settled("after one viewer")
	base := stormRead(t, edge.url)
	t.Logf("measure: baseline %v", base)

	var afterFirst stormFigures
	for round := 1; round <= rounds; round++ {
		start := time.Now()
		leave := stormJoin(t, stream, viewers)
		joined := time.Since(start)
		peak := stormRead(t, edge.url)
		leave()
		settled(fmt.Sprintf("round %d", round))
		// Goroutines and fds go back to exactly where they were, give or
		// take a connection the metrics scrape itself holds.
		var now stormFigures
		harness.WaitFor(t, captureWait, "goroutines and fds back to baseline", func() bool {
			now = stormRead(t, edge.url)
			return now.goroutines <= base.goroutines+3 && now.fds <= base.fds+3
		})
		t.Logf("measure: round %d: %d viewers joined in %v; peak %v; after %v", round, viewers, joined.Round(time.Millisecond), peak, now)
		if round == 1 {
			afterFirst = now
		}
		if round == rounds {
			// RSS: the heap may keep what it grew for a while, but ten
			// storms must cost no more than one.
			if grown := now.rss - afterFirst.rss; grown > 32<<20 {
				t.Errorf("RSS grew %.1f MiB from round 1 to round %d (%v → %v), want at most 32 MiB", grown/(1<<20), rounds, afterFirst, now)
			}
			if now.rss > base.rss+128<<20 {
				t.Errorf("RSS after the storms %v, baseline %v: want at most 128 MiB above", now, base)
			}
		}
	}
	// The next viewer after the storms gets frames of the restarted camera.
	s := edgeOpenStream(t, stream)
	after := time.Now()
	waitFreshPart(t, s, after.Add(-time.Second), 30*time.Second)
}

// The viewer limit: beyond --max-viewers open streams, a new viewer gets a
// readable 503; when one leaves, the next is let in.
func TestFaultViewerLimit(t *testing.T) {
	capture := edgeStartCapture(t, nil)
	edge := edgeStartEdge(t, []string{capture.grpcAddr}, "--max-viewers", "3")
	var open []*edgeStream
	for _, id := range []string{"test1", "test2", "test1"} {
		s := edgeOpenStream(t, edge.url+"/cameras/"+id+"/stream.mjpeg")
		s.next(t, 30*time.Second)
		open = append(open, s)
	}
	for _, path := range []string{"/cameras/test1/stream.mjpeg", "/video_feed", "/streams.mjpeg"} {
		status, body := edgeGet(t, edge.url+path)
		if status != http.StatusServiceUnavailable || !strings.Contains(strings.ToLower(body), "viewer") {
			t.Errorf("GET %s beyond the limit = %d %q, want 503 saying there are too many viewers", path, status, body)
		}
	}
	if status, _ := edgeGet(t, edge.url+"/api/cameras"); status != http.StatusOK {
		t.Errorf("GET /api/cameras at the viewer limit = %d, want 200", status)
	}
	open[0].close()
	harness.WaitFor(t, 30*time.Second, "a new viewer let in after one left", func() bool {
		return faultStatusOfStream(edge.url+"/cameras/test2/stream.mjpeg") == http.StatusOK
	})
}

// faultStatusOfStream opens a stream, returns its status and closes it.
func faultStatusOfStream(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
