package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camstream/camstream/test/harness"
)

// Twenty viewers of one camera through one edge make exactly one capture
// subscriber, and it goes away after the viewers leave.
func TestEdgeTwentyViewersOneUpstream(t *testing.T) {
	capture := edgeStartCapture(t, nil)
	edge := edgeStartEdge(t, []string{capture.grpcAddr}, "--upstream-grace", "1s")

	var streams []*edgeStream
	for range 20 {
		s := edgeOpenStream(t, edge.url+"/cameras/test1/stream.mjpeg")
		if p := s.next(t, 20*time.Second); p.CameraID != "test1" {
			t.Fatalf("part of camera %q, want test1", p.CameraID)
		}
		streams = append(streams, s)
	}
	if got := capture.subscribers(t, "test1"); got != 1 {
		t.Errorf("capture's subscribers of test1 with 20 viewers on one edge = %d, want 1", got)
	}
	if got := capture.subscribers(t, "test2"); got != 0 {
		t.Errorf("capture's subscribers of test2 without viewers = %d, want 0", got)
	}
	_, metrics := edgeGet(t, edge.url+"/metrics")
	for _, want := range []string{`camstream_edge_viewers{camera="test1"} 20`, `camstream_edge_upstreams{camera="test1"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("edge /metrics lacks %s", want)
		}
	}
	for _, s := range streams {
		s.close()
	}
	harness.WaitFor(t, 30*time.Second, "capture's subscribers of test1 back to 0 after the viewers left", func() bool {
		return capture.subscribers(t, "test1") == 0
	})
}

// A capture killed while a viewer watches, and restarted on the same port:
// the viewer's stream stays open and frames flow again.
func TestEdgeViewerResumesAfterCaptureRestart(t *testing.T) {
	capture := edgeStartCapture(t, nil)
	edge := edgeStartEdge(t, []string{capture.grpcAddr})

	s := edgeOpenStream(t, edge.url+"/cameras/test2/stream.mjpeg")
	before := s.next(t, 20*time.Second)
	capture.Kill() // SIGKILL
	time.Sleep(time.Second)
	capture.restart(t)

	// Frames buffered before the kill may still arrive; wait for one captured
	// after the restart.
	restarted := time.Now()
	deadline := time.Now().Add(60 * time.Second)
	for {
		p := s.next(t, 60*time.Second)
		if p.CapturedAt.After(restarted.Add(-500 * time.Millisecond)) {
			if p.CameraID != "test2" {
				t.Errorf("part after restart of camera %q, want test2", p.CameraID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frame captured after the restart within 60 s (last seq %d, before the kill %d)", p.Seq, before.Seq)
		}
	}
	if got := capture.subscribers(t, "test2"); got != 1 {
		t.Errorf("restarted capture's subscribers of test2 = %d, want 1", got)
	}
}

// Two capture shards owning different cameras behind one edge: every camera
// is listed and streams from its shard.
func TestEdgeTwoCaptureShards(t *testing.T) {
	a := edgeStartCapture(t, edgeTestCameras("north", 2))
	b := edgeStartCapture(t, edgeTestCameras("south", 2))
	edge := edgeStartEdge(t, []string{a.grpcAddr, b.grpcAddr})

	status, body := edgeGet(t, edge.url+"/api/cameras")
	var list struct {
		Cameras []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"cameras"`
	}
	if err := json.Unmarshal([]byte(body), &list); status != 200 || err != nil {
		t.Fatalf("GET /api/cameras: %d %v: %s", status, err, body)
	}
	var ids []string
	for _, c := range list.Cameras {
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	if got, want := strings.Join(ids, ","), "north-1,north-2,south-1,south-2"; got != want {
		t.Errorf("cameras listed = %s, want %s", got, want)
	}

	for _, tt := range []struct {
		camera string
		owner  *captureProc
	}{{"north-2", a}, {"south-1", b}} {
		s := edgeOpenStream(t, edge.url+"/cameras/"+tt.camera+"/stream.mjpeg")
		if p := s.next(t, 20*time.Second); p.CameraID != tt.camera {
			t.Errorf("stream of %s carries camera %q", tt.camera, p.CameraID)
		}
		if got := tt.owner.subscribers(t, tt.camera); got != 1 {
			t.Errorf("owning shard's subscribers of %s = %d, want 1", tt.camera, got)
		}
		s.close()
	}
	// The seed's URLs count over both shards.
	s := edgeOpenStream(t, edge.url+"/video_feed?no=4")
	if p := s.next(t, 20*time.Second); p.CameraID != "south-2" {
		t.Errorf("/video_feed?no=4 streams %q, want south-2", p.CameraID)
	}
	if status, body := edgeGet(t, edge.url+"/cam?no=4"); status != http.StatusOK || !strings.Contains(body, `data-camera="south-2"`) {
		t.Errorf("/cam?no=4: %d, want the page of south-2:\n%s", status, body)
	}
}

// SIGTERM: readiness goes off, open streams end, and edge exits 0.
func TestEdgeGracefulShutdown(t *testing.T) {
	capture := edgeStartCapture(t, nil)
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	s := edgeOpenStream(t, edge.url+"/video_feed")
	s.next(t, 20*time.Second)

	if err := edge.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := edge.Wait(20 * time.Second); err != nil {
		t.Fatalf("edge after SIGTERM: %v, want exit status 0", err)
	}
	// Parts already in this end's socket buffer may still be read; after
	// them the stream must end (the edge closed it), not go on.
	ended := false
	for range 100 {
		if _, err := s.parts.Next(); err != nil {
			ended = true
			break
		}
	}
	if !ended {
		t.Errorf("stream still delivering 100 parts after edge exited")
	}
	if !edge.Contains(`"edge stopped"`) {
		t.Errorf("edge log lacks its stop line:\n%s", edge.Output())
	}
}

// Errors are readable pages with the right status, never stack traces.
func TestEdgeErrors(t *testing.T) {
	capture := edgeStartCapture(t, nil)
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	for _, tt := range []struct {
		path string
		want int
	}{
		{"/cameras/nope", 404},
		{"/cameras/nope/stream.mjpeg", 404},
		{"/cameras/test1/stream.mjpeg?fps=abc", 400},
		{"/cam?no=0", 400},
		{"/video_feed?no=3", 404},
		{"/api/cameras", 200},
		{"/", 200},
		{"/grid", 200},
		{"/cameras/test1", 200},
		{"/cameras/test1/snapshot.jpg", 200},
	} {
		status, body := edgeGet(t, edge.url+tt.path)
		if status != tt.want {
			t.Errorf("GET %s: status %d, want %d", tt.path, status, tt.want)
		}
		if strings.Contains(body, "goroutine ") || strings.Contains(body, "panic") {
			t.Errorf("GET %s: body has a stack trace", tt.path)
		}
	}
}

// A capture that is not there: the edge is live, not ready, and says so.
func TestEdgeWithoutCapture(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	edge := harness.Start(t, harness.Bin(t, "edge"), []string{"--listen", addr, "--capture", fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))})
	harness.WaitHTTP(t, "http://"+addr+"/healthz", 30*time.Second)
	for _, tt := range []struct {
		path string
		want int
	}{{"/readyz", http.StatusServiceUnavailable}, {"/", http.StatusServiceUnavailable}, {"/api/cameras", http.StatusServiceUnavailable}} {
		status, body := edgeGet(t, "http://"+addr+tt.path)
		if status != tt.want || !strings.Contains(strings.ToLower(body), "capture") {
			t.Errorf("GET %s without capture: %d %q, want %d naming the capture", tt.path, status, body, tt.want)
		}
	}
	_ = edge
}
