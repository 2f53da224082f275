package e2e

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
)

// edgeCamera is one camera of a capture's camera file.
type edgeCamera struct {
	ID, Name, Source string
	FPS              int
	Width            int
}

// edgeTestCameras returns n moving test-pattern cameras named cam-1 … cam-n,
// small and slow enough for this 2-core machine to run many.
func edgeTestCameras(prefix string, n int) []edgeCamera {
	cams := make([]edgeCamera, n)
	for i := range cams {
		pattern := "ball"
		if i%2 == 1 {
			pattern = "smpte"
		}
		cams[i] = edgeCamera{
			ID:     fmt.Sprintf("%s-%d", prefix, i+1),
			Name:   fmt.Sprintf("%s %d", strings.ToUpper(prefix[:1])+prefix[1:], i+1),
			Source: "test://" + pattern,
			FPS:    10,
			Width:  320,
		}
	}
	return cams
}

// edgeCaptureProc is a running bin/capture.
type edgeCaptureProc struct {
	proc     *harness.Process
	args     []string
	grpcAddr string
	httpAddr string
}

// edgeStartCapture starts bin/capture on free ports with the cameras (nil:
// its built-in test1 and test2) and waits until it is ready.
func edgeStartCapture(t *testing.T, cams []edgeCamera) *edgeCaptureProc {
	t.Helper()
	c := &edgeCaptureProc{
		grpcAddr: fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t)),
		httpAddr: fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t)),
	}
	c.args = []string{"--listen", c.grpcAddr, "--http-listen", c.httpAddr}
	if cams != nil {
		var b strings.Builder
		b.WriteString("cameras:\n")
		for _, cam := range cams {
			fmt.Fprintf(&b, "  - id: %s\n    name: %q\n    source: %s\n    fps: %d\n    width: %d\n    quality: 70\n",
				cam.ID, cam.Name, cam.Source, cam.FPS, cam.Width)
		}
		path := filepath.Join(t.TempDir(), "cameras.yaml")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		c.args = append(c.args, "--config", path)
	}
	c.start(t)
	return c
}

func (c *edgeCaptureProc) start(t *testing.T) {
	t.Helper()
	c.proc = harness.Start(t, harness.Bin(t, "capture"), c.args)
	harness.WaitHTTP(t, "http://"+c.httpAddr+"/readyz", 60*time.Second)
}

// cameras asks the capture's ListCameras.
func (c *edgeCaptureProc) cameras(t *testing.T) []*camstreamv1.Camera {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+c.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := camstreamv1.NewCaptureServiceClient(conn).ListCameras(ctx, &camstreamv1.ListCamerasRequest{})
	if err != nil {
		t.Fatalf("ListCameras on %s: %v", c.grpcAddr, err)
	}
	return resp.GetCameras()
}

// subscribers is the capture's subscriber count for a camera.
func (c *edgeCaptureProc) subscribers(t *testing.T, id string) int32 {
	t.Helper()
	for _, cam := range c.cameras(t) {
		if cam.GetId() == id {
			return cam.GetSubscribers()
		}
	}
	t.Fatalf("capture %s does not list camera %q", c.grpcAddr, id)
	return 0
}

// edgeProc is a running bin/edge.
type edgeProc struct {
	proc *harness.Process
	url  string
}

// edgeStartEdge starts bin/edge on a free port in front of the capture
// targets and waits until it is ready.
func edgeStartEdge(t *testing.T, targets []string, args ...string) *edgeProc {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	args = append([]string{"--listen", addr, "--capture", strings.Join(targets, ",")}, args...)
	e := &edgeProc{proc: harness.Start(t, harness.Bin(t, "edge"), args), url: "http://" + addr}
	harness.WaitHTTP(t, e.url+"/readyz", 30*time.Second)
	return e
}

// edgeGet fetches a URL and returns its status and body.
func edgeGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

// edgeStream is an open MJPEG stream.
type edgeStream struct {
	resp  *http.Response
	parts *multipart.Reader
}

// edgePart is one part of a stream.
type edgePart struct {
	camera    string
	seq       uint64
	timestamp time.Time
	jpeg      []byte
}

func edgeOpenStream(t *testing.T, url string) *edgeStream {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: status %d, want 200: %s", url, resp.StatusCode, body)
	}
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("GET %s: Content-Type %q: %v", url, resp.Header.Get("Content-Type"), err)
	}
	return &edgeStream{resp: resp, parts: multipart.NewReader(resp.Body, params["boundary"])}
}

// next reads the next part, failing the test when none comes within timeout.
func (s *edgeStream) next(t *testing.T, timeout time.Duration) edgePart {
	t.Helper()
	type result struct {
		p   edgePart
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := s.parts.NextPart()
		if err != nil {
			done <- result{err: err}
			return
		}
		jpeg, err := io.ReadAll(p)
		seq, _ := strconv.ParseUint(p.Header.Get("X-Frame-Seq"), 10, 64)
		ts, _ := strconv.ParseFloat(p.Header.Get("X-Timestamp"), 64)
		done <- result{edgePart{
			camera:    p.Header.Get("X-Camera-Id"),
			seq:       seq,
			timestamp: time.UnixMicro(int64(ts * 1e6)),
			jpeg:      jpeg,
		}, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("read part: %v", r.err)
		}
		if len(r.p.jpeg) < 2 || r.p.jpeg[0] != 0xff || r.p.jpeg[1] != 0xd8 {
			t.Fatalf("part of camera %q is not a JPEG (%d bytes)", r.p.camera, len(r.p.jpeg))
		}
		return r.p
	case <-time.After(timeout):
		s.close()
		<-done
		t.Fatalf("no part within %v", timeout)
		return edgePart{}
	}
}

func (s *edgeStream) close() { s.resp.Body.Close() }
