package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camstream/camstream/services/edge/mjpeg"
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

// edgeStartCapture starts bin/capture on free ports with the cameras (nil:
// its built-in test1 and test2) and waits until it is ready.
func edgeStartCapture(t *testing.T, cams []edgeCamera) *captureProc {
	t.Helper()
	if cams == nil {
		return captureStart(t, nil)
	}
	var b strings.Builder
	b.WriteString("cameras:\n")
	for _, cam := range cams {
		fmt.Fprintf(&b, "  - id: %s\n    name: %q\n    source: %s\n    fps: %d\n    width: %d\n    quality: 70\n",
			cam.ID, cam.Name, cam.Source, cam.FPS, cam.Width)
	}
	return captureStart(t, []string{"--config", captureConfig(t, b.String())})
}

// edgeProc is a running bin/edge.
type edgeProc struct {
	*harness.Process
	url string
}

// edgeStartEdge starts bin/edge on a free port in front of the capture
// targets and waits until it is ready.
func edgeStartEdge(t *testing.T, targets []string, args ...string) *edgeProc {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	args = append([]string{"--listen", addr, "--capture", strings.Join(targets, ",")}, args...)
	e := &edgeProc{Process: harness.Start(t, harness.Bin(t, "edge"), args), url: "http://" + addr}
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
	parts *mjpeg.Reader
}

func edgeOpenStream(t *testing.T, url string) *edgeStream {
	t.Helper()
	resp, err := streamClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if err := mjpeg.CheckResponse(resp); err != nil {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	return &edgeStream{resp: resp, parts: mjpeg.NewReader(resp.Body)}
}

// streamClient opens streams: a server that never answers fails the test
// after 30 s instead of hanging it (a stream's body has no deadline: next
// has its own).
var streamClient = &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 30 * time.Second}}

// next reads the next part, failing the test when none comes within
// timeout or it is not a JPEG.
func (s *edgeStream) next(t *testing.T, timeout time.Duration) mjpeg.Part {
	t.Helper()
	type result struct {
		p   mjpeg.Part
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := s.parts.Next()
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("read part: %v", r.err)
		}
		if len(r.p.JPEG) < 2 || r.p.JPEG[0] != 0xff || r.p.JPEG[1] != 0xd8 {
			t.Fatalf("part of camera %q is not a JPEG (%d bytes)", r.p.CameraID, len(r.p.JPEG))
		}
		return r.p
	case <-time.After(timeout):
		s.close()
		<-done
		t.Fatalf("no part within %v", timeout)
		return mjpeg.Part{}
	}
}

func (s *edgeStream) close() { s.resp.Body.Close() }
