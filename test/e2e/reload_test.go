package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/mjpeg"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// reloadPart is one frame a viewer received: capture's sequence number
// and capture time (set by capture, not by this busy test), and its width.
type reloadPart struct {
	seq   uint64
	at    time.Time
	width int
}

// reloadViewer reads an MJPEG stream in the background, keeping every
// part, until the stream ends; err is how it ended.
type reloadViewer struct {
	mu    sync.Mutex
	parts []reloadPart
	done  chan struct{}
	err   error
}

func reloadWatch(t *testing.T, url string) *reloadViewer {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if err := mjpeg.CheckResponse(resp); err != nil {
		resp.Body.Close()
		t.Fatalf("GET %s: %v", url, err)
	}
	v := &reloadViewer{done: make(chan struct{})}
	go func() {
		defer close(v.done)
		mr := mjpeg.NewReader(resp.Body)
		for {
			p, err := mr.Next()
			if err == nil {
				err = v.add(p)
			}
			if err != nil {
				v.mu.Lock()
				v.err = err
				v.mu.Unlock()
				return
			}
		}
	}()
	t.Cleanup(func() {
		resp.Body.Close()
		<-v.done
	})
	return v
}

func (v *reloadViewer) add(p mjpeg.Part) error {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(p.JPEG))
	if err != nil {
		return fmt.Errorf("part is not a JPEG: %w", err)
	}
	v.mu.Lock()
	v.parts = append(v.parts, reloadPart{seq: p.Seq, at: p.CapturedAt, width: cfg.Width})
	v.mu.Unlock()
	return nil
}

func (v *reloadViewer) received() []reloadPart {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.parts)
}

// ended reports whether the stream ended, and how.
func (v *reloadViewer) ended() (bool, error) {
	select {
	case <-v.done:
		v.mu.Lock()
		defer v.mu.Unlock()
		return true, v.err
	default:
		return false, nil
	}
}

// reloadCamera is one camera of a test camera file.
func reloadCamera(id, source string, fps, width int) string {
	return fmt.Sprintf("  - id: %s\n    source: %s\n    fps: %d\n    width: %d\n    quality: 70\n", id, source, fps, width)
}

func reloadFile(cams ...string) string { return "cameras:\n" + strings.Join(cams, "") }

// reloadCount is capture's camstream_capture_config_reloads_total{result}.
func reloadCount(t *testing.T, c *captureProc, result string) int {
	t.Helper()
	prefix := fmt.Sprintf("camstream_capture_config_reloads_total{result=%q} ", result)
	for _, line := range strings.Split(c.get(t, "/metrics"), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s%s: %v", prefix, v, err)
			}
			return n
		}
	}
	t.Fatalf("capture's metrics lack %s", prefix)
	return 0
}

// The camera file replaced the kubelet's way while three cameras stream to
// viewers through an edge: one camera changes, one is removed, one is
// added. The unchanged camera is not touched (its frames go on without a
// gap, same capture process); the changed camera's viewer keeps its
// connection and gets frames of the new size; the removed camera's viewer
// ends cleanly and the camera leaves health and metrics; the new camera
// streams; the edge's pages follow.
func TestReloadByCameraID(t *testing.T) {
	const fps = 10
	interval := time.Second / fps
	srv := rtspserver.Start(t, rtspserver.Options{Width: 320, Height: 240, FPS: fps, Paths: []string{"/steady"}})
	steady := reloadCamera("steady", srv.URL("/steady"), 0, 0)
	before := reloadFile(steady,
		reloadCamera("resized", "test://smpte", fps, 320),
		reloadCamera("gone", "test://ball", fps, 320))
	after := reloadFile(reloadCamera("fresh", "test://ball", fps, 320),
		steady,
		reloadCamera("resized", "test://smpte", fps, 480))
	dir, path := harness.KubeletMount(t, "cameras.yaml", map[string]string{"cameras.yaml": before})
	c := captureStart(t, []string{"--config", path})
	for _, id := range []string{"steady", "resized", "gone"} {
		c.waitState(t, id, captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	}
	edge := edgeStartEdge(t, []string{c.grpcAddr})
	viewers := map[string]*reloadViewer{}
	for _, id := range []string{"steady", "resized", "gone"} {
		viewers[id] = reloadWatch(t, edge.url+"/cameras/"+id+"/stream.mjpeg")
	}
	harness.WaitFor(t, captureWait, "frames for every viewer", func() bool {
		for _, v := range viewers {
			if len(v.received()) < 5 {
				return false
			}
		}
		return true
	})
	pid := c.Pid()

	swap := time.Now()
	harness.KubeletWrite(t, dir, map[string]string{"cameras.yaml": after})

	// The new camera: its first frame through the edge.
	var firstFrame time.Duration
	harness.WaitFor(t, captureWait, "a frame of the new camera through the edge", func() bool {
		resp, err := http.Get(edge.url + "/cameras/fresh/stream.mjpeg")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if mjpeg.CheckResponse(resp) != nil {
			return false
		}
		if _, err := mjpeg.NewReader(resp.Body).Next(); err != nil {
			return false
		}
		firstFrame = time.Since(swap)
		return true
	})

	// The removed camera's viewer: the stream ends between parts.
	harness.WaitFor(t, captureWait, "the removed camera's stream to end", func() bool {
		done, _ := viewers["gone"].ended()
		return done
	})
	goneEnded := time.Since(swap)
	if _, err := viewers["gone"].ended(); !errors.Is(err, io.EOF) {
		t.Errorf("the removed camera's stream ended with %v, want a clean end (EOF between parts)", err)
	}

	// The changed camera's viewer: same connection, frames of the new size.
	harness.WaitFor(t, captureWait, "a frame of the new size for the changed camera's viewer", func() bool {
		parts := viewers["resized"].received()
		return parts[len(parts)-1].width == 480
	})
	if done, err := viewers["resized"].ended(); done {
		t.Errorf("the changed camera's stream ended (%v), want it kept open", err)
	}

	// The unchanged camera: 2 s of frames after the swap, then look at
	// the frames around it.
	harness.WaitFor(t, captureWait, "2 s of the unchanged camera's frames after the swap", func() bool {
		parts := viewers["steady"].received()
		return parts[len(parts)-1].at.After(swap.Add(2 * time.Second))
	})
	gap, gapAt := reloadLargestGap(t, viewers["steady"].received(), swap.Add(-time.Second), swap.Add(2*time.Second))
	if gap > 2*interval {
		t.Errorf("the unchanged camera's viewer saw a gap of %v between frames (at %v from the swap), want at most two frame intervals (%v)",
			gap, gapAt.Sub(swap).Round(time.Millisecond), 2*interval)
	}
	if c.Exited() || syscall.Kill(pid, 0) != nil {
		t.Fatalf("capture (pid %d) is gone: %v", pid, c.Err())
	}

	reloadCheckCapture(t, c)
	// The edge kept its connection and its calls to capture: only the
	// removed camera's call ended.
	goneEnds := 0
	for _, line := range strings.Split(edge.Output(), "\n") {
		var rec struct{ Msg, Camera string }
		if json.Unmarshal([]byte(line), &rec) != nil || !strings.HasPrefix(rec.Msg, "upstream ended") {
			continue
		}
		if rec.Camera != "gone" {
			t.Errorf("the edge's upstream of %s ended: %s", rec.Camera, line)
		}
		goneEnds++
	}
	if goneEnds == 0 {
		t.Errorf("the edge's log has no end of the removed camera's upstream:\n%s", edge.Output())
	}
	listed := reloadWaitEdgeLists(t, edge.url, swap)
	t.Logf("measure: swap → new camera's first frame through the edge %v; removed camera's stream ended after %v; edge pages updated after %v; unchanged camera's largest gap %v (frame interval %v)",
		firstFrame.Round(time.Millisecond), goneEnded.Round(time.Millisecond), listed.Round(time.Millisecond), gap, interval)
}

// reloadLargestGap checks that the frames between from and to have
// sequence numbers that only grow (the camera's loop was not restarted)
// and returns the largest step between their capture times.
func reloadLargestGap(t *testing.T, parts []reloadPart, from, to time.Time) (gap time.Duration, at time.Time) {
	t.Helper()
	var prev *reloadPart
	n := 0
	for i := range parts {
		p := &parts[i]
		if p.at.Before(from) || p.at.After(to) {
			continue
		}
		n++
		if prev != nil {
			if p.seq <= prev.seq {
				t.Errorf("the unchanged camera's frame numbers went from %d to %d: its loop restarted", prev.seq, p.seq)
			}
			if d := p.at.Sub(prev.at); d > gap {
				gap, at = d, prev.at
			}
		}
		prev = p
	}
	if n < 10 {
		t.Fatalf("only %d frames of the unchanged camera around the reload", n)
	}
	return gap, at
}

// reloadCheckCapture checks capture after the reload: its log names the
// changes, the removed camera left health and metrics, the added one has
// health.
func reloadCheckCapture(t *testing.T, c *captureProc) {
	t.Helper()
	if n := reloadCount(t, c, "success"); n != 1 {
		t.Errorf("successful reloads = %d, want 1", n)
	}
	if out := c.Output(); !strings.Contains(out, `"added":["fresh"],"changed":["resized"],"removed":["gone"]`) {
		t.Errorf("capture's log does not name the changes:\n%s", out)
	}
	if n := strings.Count(c.Output(), `"msg":"camera settings changed: restarting"`); n != 1 {
		t.Errorf("%d camera restarts in capture's log, want 1 (resized)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "gone"}); status.Code(err) != codes.NotFound {
		t.Errorf("health of the removed camera: %v, want NOT_FOUND", err)
	}
	if _, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "fresh"}); err != nil {
		t.Errorf("health of the added camera: %v", err)
	}
	if m := c.get(t, "/metrics"); strings.Contains(m, `camera="gone"`) || !strings.Contains(m, `camstream_capture_frames_total{camera="fresh"}`) {
		t.Errorf("capture's metrics still have series of the removed camera, or none of the added one")
	}
}

// reloadWaitEdgeLists waits until /api/cameras, / and /grid show the new
// camera and not the removed one, and returns the time from swap.
func reloadWaitEdgeLists(t *testing.T, url string, swap time.Time) time.Duration {
	t.Helper()
	for _, path := range []string{"/api/cameras", "/", "/grid"} {
		harness.WaitFor(t, captureWait, "the edge's "+path+" to follow the reload", func() bool {
			_, body := edgeGet(t, url+path)
			return strings.Contains(body, `"fresh"`) && !strings.Contains(body, `"gone"`)
		})
	}
	return time.Since(swap)
}
