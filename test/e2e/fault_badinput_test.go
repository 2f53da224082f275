package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// Bad sources, each with a clear error on its own camera and no effect on
// the good camera next to them.
func TestFaultBadSources(t *testing.T) {
	srv := rtspserver.Start(t, rtspserver.Options{Width: 320, Height: 240, FPS: 10, User: captureUser, Password: capturePassword})
	dir := t.TempDir()
	notVideo := filepath.Join(dir, "notes.mp4")
	if err := os.WriteFile(notVideo, []byte("these are notes, not a video\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mp4")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	refused := harness.FreePort(t) // nothing listens there
	cams := []struct {
		id, source, want string
	}{
		// TEST-NET-1 (RFC 5737): routed nowhere, no packet reaches a host.
		{"unreachable", "rtsp://192.0.2.1:554/stream", "rtsp://192.0.2.1:554/stream: the stream did not open"},
		{"refused", fmt.Sprintf("rtsp://127.0.0.1:%d/stream", refused), "the stream did not open"},
		{"wrong-path", fmt.Sprintf("rtsp://${CAM_USER}:${CAM_PASS}@127.0.0.1:%d/nope", srv.Port()), "the stream did not open"},
		{"wrong-password", fmt.Sprintf("rtsp://${CAM_USER}:%s@127.0.0.1:%d/stream", captureWrongPW, srv.Port()), "the stream did not open"},
		{"not-video", "file:" + notVideo, "not a video file"},
		{"empty-file", "file:" + empty, "the file is empty"},
		{"missing-file", "file:" + filepath.Join(dir, "gone.mp4"), "no such file"},
		{"missing-device", "device:97", "/dev/video97: no such file"},
	}
	var b strings.Builder
	b.WriteString("cameras:\n  - id: good\n    source: test://ball\n    fps: 10\n    width: 320\n")
	for _, c := range cams {
		fmt.Fprintf(&b, "  - id: %s\n    source: %s\n", c.id, c.source)
	}
	c := captureStart(t, []string{"--config", captureConfig(t, b.String())}, "CAM_USER="+captureUser, "CAM_PASS="+capturePassword)
	good := faultCount(t, c, "good")
	start := time.Now()

	for _, tt := range cams {
		cam := c.waitState(t, tt.id, captureWait, camstreamv1.CameraState_CAMERA_STATE_FAILED)
		t.Logf("bad input: %s (%s) → state failed, last error %q", tt.id, cam.Source, cam.LastError)
		if !strings.Contains(cam.LastError, tt.want) {
			t.Errorf("%s: last error %q, want it to contain %q", tt.id, cam.LastError, tt.want)
		}
		resp, err := c.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: tt.id})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("%s: health %v, %v; want NOT_SERVING", tt.id, resp.GetStatus(), err)
		}
		_, err = c.client.GetSnapshot(context.Background(), &camstreamv1.GetSnapshotRequest{CameraId: tt.id})
		if status.Code(err) != codes.Unavailable {
			t.Errorf("%s: GetSnapshot = %v, want UNAVAILABLE", tt.id, err)
		}
	}
	time.Sleep(time.Until(start.Add(5 * time.Second))) // let the bad ones retry a while
	fps := float64(good.n.Load()) / time.Since(start).Seconds()
	t.Logf("measure: the good camera ran at %.1f fps (cap 10) next to %d failing ones", fps, len(cams))
	if fps < 8 {
		t.Errorf("good camera at %.1f fps next to failing ones, want its full 10 fps (at least 8)", fps)
	}
	if st := c.camera(t, "good").State; st != camstreamv1.CameraState_CAMERA_STATE_STREAMING {
		t.Errorf("good camera state %v, want streaming", st)
	}
	captureNoSecret(t, capturePassword, map[string]string{"capture's output": c.Output()})
	captureNoSecret(t, captureWrongPW, map[string]string{"capture's output": c.Output()})
}

// gRPC with an empty or unknown camera id: INVALID_ARGUMENT and NOT_FOUND,
// the same for every call.
func TestFaultBadCameraIDs(t *testing.T) {
	c := captureStart(t, nil)
	c.waitState(t, "test1", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	ctx, cancel := context.WithTimeout(context.Background(), captureWait)
	defer cancel()
	for _, tt := range []struct {
		id   string
		want codes.Code
	}{{"", codes.InvalidArgument}, {"nope", codes.NotFound}, {"../test1", codes.NotFound}, {strings.Repeat("x", 10000), codes.NotFound}} {
		_, err := c.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: tt.id})
		if status.Code(err) != tt.want {
			t.Errorf("GetSnapshot(%.20q) = %v, want %v", tt.id, err, tt.want)
		}
		stream, err := c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: tt.id})
		if err == nil {
			_, err = stream.Recv()
		}
		if status.Code(err) != tt.want {
			t.Errorf("StreamFrames(%.20q) = %v, want %v", tt.id, err, tt.want)
		}
	}
	if _, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("health of an unknown camera = %v, want NOT_FOUND", err)
	}
	if st := c.camera(t, "test1").State; st != camstreamv1.CameraState_CAMERA_STATE_STREAMING {
		t.Errorf("test1 after the bad calls: %v, want streaming", st)
	}
}

// faultRaw sends a request line as it is (no client-side cleaning) and
// returns the status code and the whole response.
func faultRaw(t *testing.T, addr, requestLine string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s\r\nHost: %s\r\nConnection: close\r\n\r\n", requestLine, addr)
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", requestLine, err)
	}
	var code int
	fmt.Sscanf(line, "HTTP/1.1 %d", &code)
	var rest strings.Builder
	buf := make([]byte, 4096)
	for rest.Len() < 1<<20 {
		n, err := r.Read(buf)
		rest.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return code, line + rest.String()
}

// Bad requests to the edge: unknown cameras, bad numbers, oversized
// queries and headers, path tricks on static files.
func TestFaultBadRequests(t *testing.T) {
	capture := edgeStartCapture(t, nil)
	edge := edgeStartEdge(t, []string{capture.grpcAddr})
	addr := strings.TrimPrefix(edge.url, "http://")
	long := strings.Repeat("a", 5000)
	for _, tt := range []struct {
		request string
		want    []int // any of
	}{
		{"GET /cameras/nope/stream.mjpeg HTTP/1.1", []int{404}},
		{"GET /cameras/test1/stream.mjpeg?fps=abc HTTP/1.1", []int{400}},
		{"GET /cam?no=0 HTTP/1.1", []int{400}},
		{"GET /cam?no=abc HTTP/1.1", []int{400}},
		{"GET /cam?no=99999999999999999999999 HTTP/1.1", []int{400}},
		{"GET /cameras/test1/stream.mjpeg?fps=" + long + " HTTP/1.1", []int{414}},
		{"GET /cameras/test1/stream.mjpeg?x=" + strings.Repeat("b", 40000) + " HTTP/1.1", []int{431}},
		{"GET /static/../../../../etc/passwd HTTP/1.1", []int{400, 404}},
		{"GET /static/..%2f..%2f..%2f..%2fetc%2fpasswd HTTP/1.1", []int{400, 404}},
		{"GET /static/%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1", []int{400, 404}},
		{"GET /static/%252e%252e/%252e%252e/etc/passwd HTTP/1.1", []int{400, 404}},
		{"GET /static//etc/passwd HTTP/1.1", []int{400, 404}},
		{"GET /static/..\\..\\etc\\passwd HTTP/1.1", []int{400, 404}},
		{"GET /static/%00 HTTP/1.1", []int{400, 404}},
		{"GET /static/../templates/list.html HTTP/1.1", []int{400, 404}},
		{"GET /../../etc/passwd HTTP/1.1", []int{400, 404}},
	} {
		code, resp := faultRaw(t, addr, tt.request)
		short := tt.request[:min(len(tt.request), 70)]
		t.Logf("bad input: %s → %d", short, code)
		ok := false
		for _, w := range tt.want {
			ok = ok || code == w
		}
		if !ok {
			t.Errorf("%s: status %d, want one of %v", short, code, tt.want)
		}
		if strings.Contains(resp, "root:") || strings.Contains(resp, "{{") || strings.Contains(resp, "goroutine ") {
			t.Errorf("%s: response leaks a file or a stack trace:\n%.400s", short, resp)
		}
	}
	// The edge is still fine.
	s := edgeOpenStream(t, edge.url+"/cameras/test1/stream.mjpeg")
	s.next(t, 30*time.Second)
}
