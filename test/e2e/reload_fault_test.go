package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/test/harness"
	"github.com/camstream/camstream/test/rtspserver"
)

// reloadGRPCViewer reads a camera's StreamFrames in the background and
// keeps the last sequence number; ended is closed when the call ends.
type reloadGRPCViewer struct {
	seq    atomic.Uint64
	frames atomic.Int64
	ended  chan struct{}
	err    error
}

func reloadStreamGRPC(t *testing.T, c *captureProc, id string) *reloadGRPCViewer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := c.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: id})
	if err != nil {
		cancel()
		t.Fatalf("StreamFrames %s: %v", id, err)
	}
	v := &reloadGRPCViewer{ended: make(chan struct{})}
	go func() {
		defer close(v.ended)
		for {
			m, err := stream.Recv()
			if err != nil {
				v.err = err
				return
			}
			v.seq.Store(m.GetFrame().GetSeq())
			v.frames.Add(1)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-v.ended
	})
	return v
}

// moreFrames waits until v has n more frames than now, with sequence
// numbers that went on from before (the camera's loop was not restarted).
func (v *reloadGRPCViewer) moreFrames(t *testing.T, what string, n int64) {
	t.Helper()
	seq, frames := v.seq.Load(), v.frames.Load()
	harness.WaitFor(t, captureWait, what+": frames going on", func() bool {
		select {
		case <-v.ended:
			t.Fatalf("%s: the stream ended: %v", what, v.err)
		default:
		}
		return v.frames.Load() >= frames+n
	})
	if got := v.seq.Load(); got <= seq {
		t.Fatalf("%s: frame numbers went from %d to %d", what, seq, got)
	}
}

// A camera file that does not load changes nothing: bad YAML, a
// half-written file, a duplicate id, a bad field (its password masked in
// the log), a deleted file. Each counts one error; the cameras keep
// streaming; capture stays ready; the log names the camera and the field.
// The next good file loads.
func TestReloadRefusesBadFiles(t *testing.T) {
	const password = "pw-Bad-7Hk2"
	good := reloadFile(reloadCamera("a", "test://ball", 10, 160), reloadCamera("b", "test://smpte", 10, 160))
	path := captureConfig(t, good)
	c := captureStart(t, []string{"--config", path})
	for _, id := range []string{"a", "b"} {
		c.waitState(t, id, captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	}
	viewer := reloadStreamGRPC(t, c, "a")
	viewer.moreFrames(t, "start", 3)
	lastSuccess := reloadMetricLine(t, c, "camstream_capture_config_last_reload_success_timestamp_seconds ")

	bad := []struct {
		name, content, log string
	}{
		{"bad YAML", "cameras:\n  - id: a\n   source: [", "not a valid camera file"},
		// Cut inside camera b's source: a writer that stopped half way.
		{"half written", good[:strings.Index(good, "test://smpte")+2], `camera \"b\": source: \"te\" has no scheme`},
		{"duplicate id", reloadFile(reloadCamera("a", "test://ball", 10, 160), reloadCamera("a", "test://smpte", 10, 160)),
			`camera \"a\": id: used by camera #1 and #2`},
		{"bad field", reloadFile(reloadCamera("a", "rtsp://admin:"+password+"@127.0.0.1:99999x/s", 10, 160)),
			`camera \"a\": source: \"rtsp://***@127.0.0.1:99999x/s\" is not a valid rtsp URL`},
		{"bad picture control", good + "    overlay: {text: \"%H:%M\", corner: middle}\n",
			`camera \"b\": overlay: corner: \"middle\" is not one of top-left, top-right, bottom-left, bottom-right`},
		{"deleted", "", "no such file or directory"},
	}
	for i, tt := range bad {
		if tt.name == "deleted" {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		harness.WaitFor(t, captureWait, tt.name+": the error counted", func() bool { return reloadCount(t, c, "error") == i+1 })
		viewer.moreFrames(t, tt.name, 3)
		if ids := reloadIDs(t, c); ids != "a,b" {
			t.Errorf("%s: cameras %s, want a,b unchanged", tt.name, ids)
		}
		for _, id := range []string{"a", "b"} {
			if st := c.camera(t, id).GetState(); st != camstreamv1.CameraState_CAMERA_STATE_STREAMING {
				t.Errorf("%s: camera %s is %v, want streaming", tt.name, id, st)
			}
		}
		if s, _ := edgeGetStatus("http://" + c.httpAddr + "/readyz"); s != http.StatusOK {
			t.Errorf("%s: /readyz = %d, want 200", tt.name, s)
		}
		if !strings.Contains(c.Output(), tt.log) {
			t.Errorf("%s: capture's log lacks %q", tt.name, tt.log)
		}
	}
	if n := reloadCount(t, c, "success"); n != 0 {
		t.Errorf("successful reloads after bad files = %d, want 0", n)
	}
	if got := reloadMetricLine(t, c, "camstream_capture_config_last_reload_success_timestamp_seconds "); got != lastSuccess {
		t.Errorf("last success time moved from %s to %s on bad files", lastSuccess, got)
	}
	out := c.Output()
	if n := strings.Count(out, `"msg":"camera file not reloaded: the running cameras stay"`); n != len(bad) {
		t.Errorf("%d error lines in capture's log, want one per bad file (%d)", n, len(bad))
	}
	for _, msg := range []string{"camera settings changed", "camera added", "camera removed"} {
		if strings.Contains(out, msg) {
			t.Errorf("capture's log says %q after bad files only", msg)
		}
	}
	captureNoSecret(t, password, map[string]string{"capture's log": out})

	if err := os.WriteFile(path, []byte(reloadFile(reloadCamera("a", "test://ball", 10, 160))), 0o600); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, captureWait, "the good file loaded", func() bool { return reloadIDs(t, c) == "a" })
	if n := reloadCount(t, c, "success"); n != 1 {
		t.Errorf("successful reloads = %d, want 1", n)
	}
	viewer.moreFrames(t, "after the good file", 3)

	// SIGHUP reloads the file even when it did not change.
	if err := c.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, captureWait, "a reload on SIGHUP", func() bool { return reloadCount(t, c, "success") == 2 })
	if !strings.Contains(c.Output(), `"trigger":"SIGHUP"`) || c.Exited() {
		t.Errorf("capture did not reload on SIGHUP, or exited")
	}
	viewer.moreFrames(t, "after SIGHUP", 3)
}

// A camera's password kept in a file of a mounted Secret: the camera's
// password is changed, the camera fails; the Secret is updated the
// kubelet's way; capture reconnects with the new password by itself, its
// viewer's stream still open. Neither password shows anywhere.
func TestReloadRotatesPassword(t *testing.T) {
	const oldPW, newPW = "pw-Old-4f7Q", "pw-New-9mX2"
	srv := rtspserver.Start(t, rtspserver.Options{Width: 320, Height: 240, FPS: 10, User: captureUser, Password: oldPW})
	secrets, _ := harness.KubeletMount(t, "front-pass", map[string]string{"front-pass": oldPW + "\n"})
	path := captureConfig(t, fmt.Sprintf("cameras:\n  - id: front\n    source: rtsp://${CAM_USER}:${file:%s}@127.0.0.1:%d/stream\n",
		filepath.Join(secrets, "front-pass"), srv.Port()))
	c := captureStart(t, []string{"--config", path, "--log-level", "debug"}, "CAM_USER="+captureUser)
	c.waitState(t, "front", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	viewer := reloadStreamGRPC(t, c, "front")
	viewer.moreFrames(t, "start", 3)

	srv.Stop()
	srv.SetCredentials(captureUser, newPW)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	harness.WaitFor(t, captureWait, "the camera failing with the old password", func() bool {
		cam := c.camera(t, "front")
		return cam.GetState() == camstreamv1.CameraState_CAMERA_STATE_FAILED ||
			(cam.GetState() == camstreamv1.CameraState_CAMERA_STATE_RECONNECTING && strings.Contains(cam.GetLastError(), "did not open"))
	})

	rotated := time.Now()
	harness.KubeletWrite(t, secrets, map[string]string{"front-pass": newPW + "\n"})
	c.waitState(t, "front", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	t.Logf("measure: secret rotated → camera streaming again in %v", time.Since(rotated).Round(time.Millisecond))
	viewer.moreFrames(t, "after the rotation", 3)
	if n := reloadCount(t, c, "success"); n != 1 {
		t.Errorf("successful reloads = %d, want 1", n)
	}
	if !strings.Contains(c.Output(), `"changed":["front"]`) {
		t.Errorf("capture's log does not say the camera changed")
	}
	list, _ := json.Marshal(c.cameras(t))
	texts := map[string]string{"capture's output": c.Output(), "ListCameras": string(list), "metrics": c.get(t, "/metrics")}
	captureNoSecret(t, oldPW, texts)
	captureNoSecret(t, newPW, texts)
}

// reloadIDs is ListCameras' ids, comma-separated.
func reloadIDs(t *testing.T, c *captureProc) string {
	t.Helper()
	var ids []string
	for _, cam := range c.cameras(t) {
		ids = append(ids, cam.GetId())
	}
	return strings.Join(ids, ",")
}

// reloadMetricLine is the line of capture's metrics that starts with prefix.
func reloadMetricLine(t *testing.T, c *captureProc, prefix string) string {
	t.Helper()
	for _, line := range strings.Split(c.get(t, "/metrics"), "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	t.Fatalf("capture's metrics lack %q", prefix)
	return ""
}

func edgeGetStatus(url string) (int, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
