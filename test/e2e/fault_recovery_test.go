package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/mjpeg"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// faultCameras is a camera file with one RTSP camera "door" on port and one
// test-pattern camera "yard" at 10 fps.
func faultCameras(t *testing.T, port int) string {
	return captureConfig(t, fmt.Sprintf(`
cameras:
  - id: door
    source: rtsp://127.0.0.1:%d/stream
  - id: yard
    source: test://ball
    fps: 10
    width: 320
`, port))
}

// faultCounter counts the frames of a camera over gRPC in the background.
type faultCounter struct {
	n    atomic.Int64
	stop context.CancelFunc
	done chan struct{}
}

func faultCount(t *testing.T, c *captureProc, id string) *faultCounter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: id})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		cancel()
		t.Fatalf("first frame of %s: %v", id, err)
	}
	fc := &faultCounter{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(fc.done)
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
			fc.n.Add(1)
		}
	}()
	t.Cleanup(fc.close)
	return fc
}

func (fc *faultCounter) close() { fc.stop(); <-fc.done }

// waitFreshPart reads parts from s until one was captured after since.
func waitFreshPart(t *testing.T, s *edgeStream, since time.Time, timeout time.Duration) mjpeg.Part {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p := s.next(t, timeout)
		if p.CapturedAt.After(since) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frame captured after %v within %v", since.Format(time.StampMilli), timeout)
		}
	}
}

// Camera outage: the RTSP server is down for 15 s and comes back. Capture
// reopens it within 5 s of its return, a viewer that stayed connected gets
// new frames without reloading, and the other camera keeps its full rate.
func TestFaultCameraOutage(t *testing.T) {
	srv := rtspserver.Start(t, rtspserver.Options{Width: 640, Height: 360, FPS: 15})
	c := captureStart(t, []string{"--config", faultCameras(t, srv.Port())})
	c.waitState(t, "door", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	edge := edgeStartEdge(t, []string{c.grpcAddr})
	viewer := edgeOpenStream(t, edge.url+"/cameras/door/stream.mjpeg")
	viewer.next(t, 30*time.Second)
	yard := faultCount(t, c, "yard")

	srv.Stop()
	down := time.Now()
	start := yard.n.Load()
	c.waitState(t, "door", captureWait, camstreamv1.CameraState_CAMERA_STATE_RECONNECTING, camstreamv1.CameraState_CAMERA_STATE_FAILED)
	time.Sleep(time.Until(down.Add(15 * time.Second)))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	outage := back.Sub(down)
	yardFrames := yard.n.Load() - start

	c.waitState(t, "door", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	reopen := time.Since(back)
	t.Logf("measure: camera reopened %v after its RTSP server came back (down %v)", reopen.Round(time.Millisecond), outage.Round(time.Millisecond))
	if reopen > 5*time.Second {
		t.Errorf("camera reopened %v after its server came back, want within 5s", reopen.Round(time.Millisecond))
	}
	// The same viewer, never reloaded, gets frames again.
	p := waitFreshPart(t, viewer, back, 30*time.Second)
	t.Logf("measure: the open viewer got a new frame %v after the server came back", time.Since(back).Round(time.Millisecond))
	if p.CameraID != "door" {
		t.Errorf("viewer's part after the outage is of camera %q, want door", p.CameraID)
	}
	fps := float64(yardFrames) / outage.Seconds()
	t.Logf("measure: the other camera ran at %.1f fps (cap 10) during the outage", fps)
	if fps < 8 {
		t.Errorf("other camera at %.1f fps during the outage, want its full 10 fps (at least 8)", fps)
	}
	if cam := c.camera(t, "door"); cam.LastError != "" {
		t.Errorf("last error of the reopened camera = %q, want none", cam.LastError)
	}
}

// Camera stall: the RTSP server is frozen (SIGSTOP), its connection open
// and silent. Capture reports the camera reconnecting within a few seconds
// (a watchdog; the read itself only fails after FFmpeg's timeout) and
// recovers after SIGCONT, and after a restart of a frozen server.
func TestFaultCameraStall(t *testing.T) {
	srv := rtspserver.Start(t, rtspserver.Options{Width: 640, Height: 360, FPS: 15})
	c := captureStart(t, []string{"--config", faultCameras(t, srv.Port())})
	c.waitState(t, "door", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	yard := faultCount(t, c, "yard")

	for _, recover := range []string{"thaw", "restart"} {
		t.Run(recover, func(t *testing.T) {
			srv.Freeze()
			frozen := time.Now()
			start := yard.n.Load()
			cam := c.waitState(t, "door", captureWait, camstreamv1.CameraState_CAMERA_STATE_RECONNECTING, camstreamv1.CameraState_CAMERA_STATE_FAILED)
			noticed := time.Since(frozen)
			t.Logf("measure: stalled camera reported %v after the freeze: %q", noticed.Round(time.Millisecond), cam.LastError)
			if noticed > 10*time.Second {
				t.Errorf("stall reported after %v, want within a few seconds (at most 10s)", noticed.Round(time.Millisecond))
			}
			if cam.LastError == "" {
				t.Errorf("stalled camera has no last error")
			}
			time.Sleep(2 * time.Second)
			if recover == "thaw" {
				srv.Thaw()
			} else {
				srv.Stop()
				if err := srv.Start(); err != nil {
					t.Fatal(err)
				}
			}
			stalled := time.Since(frozen)
			yardFrames := yard.n.Load() - start
			c.waitState(t, "door", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
			t.Logf("measure: streaming again %v after the %s", time.Since(frozen.Add(stalled)).Round(time.Millisecond), recover)
			if fps := float64(yardFrames) / stalled.Seconds(); fps < 8 {
				t.Errorf("other camera at %.1f fps during the stall, want its full 10 fps (at least 8)", fps)
			}
		})
	}
}

// Capture killed (SIGKILL) and restarted on the same ports: the edge goes
// not ready and ready again, and an open viewer gets frames within 3 s of
// capture's return.
func TestFaultCaptureKilled(t *testing.T) {
	capture := edgeStartCapture(t, nil)
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	viewer := edgeOpenStream(t, edge.url+"/cameras/test1/stream.mjpeg")
	viewer.next(t, 30*time.Second)

	capture.Kill()
	harness.WaitFor(t, 30*time.Second, "edge /readyz not ready after capture was killed", func() bool {
		return faultStatus(edge.url+"/readyz") == http.StatusServiceUnavailable
	})
	time.Sleep(3 * time.Second) // away for a while: the edge backs off
	capture.restart(t)          // returns once capture's /readyz answers
	back := time.Now()
	p := waitFreshPart(t, viewer, back.Add(-time.Second), 30*time.Second)
	resumed := time.Since(back)
	t.Logf("measure: open viewer resumed %v after capture's return", resumed.Round(time.Millisecond))
	if resumed > 3*time.Second {
		t.Errorf("open viewer resumed %v after capture's return, want within 3s", resumed.Round(time.Millisecond))
	}
	if p.CameraID != "test1" {
		t.Errorf("part after the restart is of camera %q, want test1", p.CameraID)
	}
	harness.WaitFor(t, 30*time.Second, "edge /readyz ready again", func() bool {
		return faultStatus(edge.url+"/readyz") == http.StatusOK
	})
}

func faultStatus(url string) int {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// blackHole is a TCP proxy that can silently drop all traffic while
// keeping every connection open, like a network path that died.
type blackHole struct {
	ln      net.Listener
	target  string
	dropped atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func startBlackHole(t *testing.T, target string) *blackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackHole{ln: ln, target: target}
	b.wg.Go(b.accept)
	t.Cleanup(b.close)
	return b
}

func (b *blackHole) addr() string { return b.ln.Addr().String() }

func (b *blackHole) accept() {
	for {
		in, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.track(in)
		if b.dropped.Load() {
			b.wg.Go(func() { io.Copy(io.Discard, in) })
			continue
		}
		out, err := net.Dial("tcp", b.target)
		if err != nil {
			in.Close()
			continue
		}
		b.track(out)
		b.wg.Go(func() { b.pipe(out, in) })
		b.wg.Go(func() { b.pipe(in, out) })
	}
}

func (b *blackHole) track(c net.Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.conns = append(b.conns, c)
}

// pipe copies src to dst until the proxy drops traffic, then reads and
// discards: nothing reaches the other side, nothing is closed.
func (b *blackHole) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if !b.dropped.Load() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

func (b *blackHole) close() {
	b.ln.Close()
	b.mu.Lock()
	for _, c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// Half-open connection: the path between edge and capture black-holes all
// traffic. gRPC keepalive notices within 20 s on both sides: capture drops
// the subscription, the edge ends its upstream call.
func TestFaultHalfOpenConnection(t *testing.T) {
	capture := edgeStartCapture(t, nil)
	proxy := startBlackHole(t, capture.grpcAddr)
	edge := edgeStartEdge(t, []string{proxy.addr()})
	viewer := edgeOpenStream(t, edge.url+"/cameras/test1/stream.mjpeg")
	viewer.next(t, 30*time.Second)
	if got := capture.subscribers(t, "test1"); got != 1 {
		t.Fatalf("capture's subscribers of test1 = %d, want 1", got)
	}

	proxy.dropped.Store(true)
	cut := time.Now()
	var captureSaw, edgeSaw time.Duration
	harness.WaitFor(t, 40*time.Second, "both sides notice the dead path", func() bool {
		if captureSaw == 0 && capture.subscribers(t, "test1") == 0 {
			captureSaw = time.Since(cut)
		}
		if edgeSaw == 0 {
			_, metrics := edgeGet(t, edge.url+"/metrics")
			if !strings.Contains(metrics, `camstream_edge_upstreams{camera="test1"} 1`) {
				edgeSaw = time.Since(cut)
			}
		}
		return captureSaw != 0 && edgeSaw != 0
	})
	t.Logf("measure: dead path noticed by capture after %v, by edge after %v", captureSaw.Round(time.Millisecond), edgeSaw.Round(time.Millisecond))
	if captureSaw > 20*time.Second {
		t.Errorf("capture dropped the subscription %v after the path died, want within 20s", captureSaw.Round(time.Millisecond))
	}
	if edgeSaw > 20*time.Second {
		t.Errorf("edge ended its upstream %v after the path died, want within 20s", edgeSaw.Round(time.Millisecond))
	}

	proxy.dropped.Store(false) // the path heals: new connections pass again
	healed := time.Now()
	waitFreshPart(t, viewer, healed, 60*time.Second)
	t.Logf("measure: the open viewer got frames again %v after the path healed", time.Since(healed).Round(time.Millisecond))
}

// Edge killed: capture drops its subscription and keeps serving the other
// edge's viewer.
func TestFaultEdgeKilled(t *testing.T) {
	capture := edgeStartCapture(t, nil)
	a := edgeStartEdge(t, []string{capture.grpcAddr})
	b := edgeStartEdge(t, []string{capture.grpcAddr})
	va := edgeOpenStream(t, a.url+"/cameras/test1/stream.mjpeg")
	vb := edgeOpenStream(t, b.url+"/cameras/test1/stream.mjpeg")
	va.next(t, 30*time.Second)
	vb.next(t, 30*time.Second)
	if got := capture.subscribers(t, "test1"); got != 2 {
		t.Fatalf("capture's subscribers of test1 with two edges = %d, want 2", got)
	}

	a.Kill()
	killed := time.Now()
	harness.WaitFor(t, 30*time.Second, "capture drops the killed edge's subscription", func() bool {
		return capture.subscribers(t, "test1") == 1
	})
	t.Logf("measure: capture dropped the killed edge's subscription after %v", time.Since(killed).Round(time.Millisecond))
	for range 10 {
		waitFreshPart(t, vb, killed, 30*time.Second)
	}
	if got := faultStatus(b.url + "/readyz"); got != http.StatusOK {
		t.Errorf("other edge /readyz = %d, want 200", got)
	}
	if got := faultStatus("http://" + capture.httpAddr + "/readyz"); got != http.StatusOK {
		t.Errorf("capture /readyz = %d, want 200", got)
	}
}
