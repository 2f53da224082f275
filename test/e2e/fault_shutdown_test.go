package e2e

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// SIGTERM to both binaries, each serving an open stream: the stream ends
// cleanly, readiness is off for good, the process exits 0 within 5 s and is
// gone; capture closes its sources first.
func TestFaultShutdown(t *testing.T) {
	srv := rtspserver.Start(t, rtspserver.Options{Width: 320, Height: 240, FPS: 10})
	c := captureStart(t, []string{"--config", faultCameras(t, srv.Port())})
	c.waitState(t, "door", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	edge := edgeStartEdge(t, []string{c.grpcAddr})

	t.Run("edge", func(t *testing.T) {
		s := edgeOpenStream(t, edge.url+"/cameras/door/stream.mjpeg")
		s.next(t, 30*time.Second)
		stopped := faultTerm(t, edge.Process)
		faultStreamEnds(t, s)
		if got := faultStatus(edge.url + "/readyz"); got == http.StatusOK {
			t.Errorf("edge /readyz after SIGTERM = 200, want not ready or gone")
		}
		if got := faultStatus(edge.url + "/cameras/door/stream.mjpeg"); got == http.StatusOK {
			t.Errorf("a new viewer after SIGTERM got 200, want none")
		}
		t.Logf("measure: edge exited %v after SIGTERM", stopped.Round(time.Millisecond))
		harness.WaitFor(t, captureWait, "capture drops the stopped edge's subscription", func() bool {
			return c.subscribers(t, "door") == 0
		})
	})

	t.Run("capture", func(t *testing.T) {
		fc := faultCount(t, c, "door")
		stopped := faultTerm(t, c.Process)
		<-fc.done // the gRPC stream ended
		if got := faultStatus("http://" + c.httpAddr + "/readyz"); got == http.StatusOK {
			t.Errorf("capture /readyz after SIGTERM = 200, want not ready or gone")
		}
		out := c.Output()
		if !strings.Contains(out, `"msg":"capture stopped"`) {
			t.Errorf("capture did not log its orderly stop (after its camera loops ended):\n%s", out)
		}
		t.Logf("measure: capture exited %v after SIGTERM", stopped.Round(time.Millisecond))
	})
}

// faultTerm sends SIGTERM and waits for a clean exit within 5 s; it
// returns how long it took.
func faultTerm(t *testing.T, p *harness.Process) time.Duration {
	t.Helper()
	start := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := p.Wait(30 * time.Second)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("after SIGTERM: %v, want exit status 0; output:\n%s", err, p.Output())
	}
	if took > 5*time.Second {
		t.Errorf("exited %v after SIGTERM, want within 5s", took.Round(time.Millisecond))
	}
	// Nothing left: the pid is gone (reaped), no process answers signal 0.
	if proc, err := os.FindProcess(p.Pid()); err == nil {
		if err := proc.Signal(syscall.Signal(0)); err == nil {
			t.Errorf("process %d still exists after its exit", p.Pid())
		}
	}
	return took
}

// faultStreamEnds reads s to its end: it must end without a torn part.
func faultStreamEnds(t *testing.T, s *edgeStream) {
	t.Helper()
	for {
		if _, err := s.parts.Next(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("stream ended with %v, want a clean end between parts", err)
			}
			return
		}
	}
}
