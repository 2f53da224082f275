package source

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"gocv.io/x/gocv"

	"github.com/camstream/camstream/services/capture/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func mustParse(t *testing.T, s string) config.Source {
	t.Helper()
	src, err := config.ParseSource(s)
	if err != nil {
		t.Fatalf("ParseSource(%q): %v", s, err)
	}
	return src
}

// readFrames reads n frames and returns the size of the last one.
func readFrames(t *testing.T, s Source, n int) image.Point {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := gocv.NewMat()
	defer m.Close()
	for i := range n {
		if err := s.Read(ctx, &m); err != nil {
			t.Fatalf("read frame %d of %d: %v", i+1, n, err)
		}
	}
	return image.Pt(m.Cols(), m.Rows())
}

func TestPattern(t *testing.T) {
	tests := []struct {
		source string
		width  int
		want   image.Point
	}{
		{"test://", 0, image.Pt(640, 360)},
		{"test://ball", 1280, image.Pt(1280, 720)},
		{"test://smpte", 320, image.Pt(320, 180)},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			s, err := Open(context.Background(), mustParse(t, tt.source), Options{Name: "yard", Width: tt.width, FPS: 100})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			a, b := gocv.NewMat(), gocv.NewMat()
			defer a.Close()
			defer b.Close()
			ctx := context.Background()
			if err := s.Read(ctx, &a); err != nil {
				t.Fatal(err)
			}
			if err := s.Read(ctx, &b); err != nil {
				t.Fatal(err)
			}
			if got := image.Pt(b.Cols(), b.Rows()); got != tt.want {
				t.Errorf("frame size = %v, want %v", got, tt.want)
			}
			if b.Type() != gocv.MatTypeCV8UC3 {
				t.Errorf("frame type = %v, want 8-bit BGR", b.Type())
			}
			diff := gocv.NewMat()
			defer diff.Close()
			gocv.AbsDiff(a, b, &diff)
			gray := gocv.NewMat()
			defer gray.Close()
			gocv.CvtColor(diff, &gray, gocv.ColorBGRToGray)
			if gocv.CountNonZero(gray) == 0 {
				t.Error("two consecutive frames are identical, want a moving pattern")
			}
		})
	}
}

func TestPatternPacesAtFPS(t *testing.T) {
	s, err := Open(context.Background(), mustParse(t, "test://"), Options{FPS: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	readFrames(t, s, 11)
	// 11 frames at 20 fps take at least 0.5 s; only a lower bound is safe
	// to assert on a busy machine.
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Errorf("11 frames at 20 fps took %v, want at least 500ms", d)
	}
}

func TestPatternReadEndsWithContext(t *testing.T) {
	s, err := Open(context.Background(), mustParse(t, "test://"), Options{FPS: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := gocv.NewMat()
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	_ = s.Read(ctx, &m) // the first frame is immediate
	cancel()
	if err := s.Read(ctx, &m); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context = %v, want context.Canceled", err)
	}
}

// A short video file must loop forever at its own frame rate.
func TestFileLoops(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed: run 'make deps'")
	}
	path := filepath.Join(t.TempDir(), "clip.mp4")
	out, err := exec.Command(ffmpeg, "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=50:duration=0.2",
		"-pix_fmt", "yuv420p", path).CombinedOutput()
	if err != nil {
		t.Fatalf("make test clip: %v\n%s", err, out)
	}
	s, err := Open(context.Background(), mustParse(t, "file:"+path), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	start := time.Now()
	if got, want := readFrames(t, s, 25), image.Pt(320, 240); got != want {
		t.Errorf("frame size = %v, want %v", got, want)
	}
	// 25 frames of a 10-frame 50 fps clip: it looped twice, paced at 50 fps.
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("25 frames at 50 fps took %v, want at least 480ms", d)
	}
}

func TestFileMissing(t *testing.T) {
	_, err := Open(context.Background(), mustParse(t, "file:/nonexistent/clip.mp4"), Options{})
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Open of a missing file = %v, want a 'no such file' error", err)
	}
}

// An HTTP MJPEG camera, served here from JPEGs made with OpenCV.
func TestHTTPMJPEG(t *testing.T) {
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 128, 255, 0), 240, 320, gocv.MatTypeCV8UC3)
	defer img.Close()
	gocv.Circle(&img, image.Pt(100, 100), 40, color.RGBA{255, 255, 255, 0}, -1)
	jpeg, err := gocv.IMEncode(gocv.JPEGFileExt, img)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("pwd") != "s3cret" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		for i := 0; i < 200 && r.Context().Err() == nil; i++ {
			fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(jpeg))
			w.Write(jpeg)
			fmt.Fprint(w, "\r\n")
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	}))
	defer srv.Close()

	s, err := Open(context.Background(), mustParse(t, srv.URL+"/mjpg?user=admin&pwd=s3cret"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if got, want := readFrames(t, s, 5), image.Pt(320, 240); got != want {
		t.Errorf("frame size = %v, want %v", got, want)
	}
}

// Errors must never carry the password, whatever fails.
func TestOpenErrorsAreRedacted(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now: connection refused
	tests := []string{
		fmt.Sprintf("rtsp://admin:hunter2@127.0.0.1:%d/stream", port),
		fmt.Sprintf("http://127.0.0.1:%d/mjpg?user=admin&pwd=hunter2", port),
	}
	for _, raw := range tests {
		_, err := Open(context.Background(), mustParse(t, raw), Options{})
		if err == nil {
			t.Errorf("Open(%s) succeeded with nothing listening", mustParse(t, raw))
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "admin") {
			t.Errorf("Open error = %q, want the credentials masked", err)
		}
		if !strings.Contains(err.Error(), fmt.Sprint(port)) {
			t.Errorf("Open error = %q, want it to name the host and port", err)
		}
	}
}

func TestDeviceMissing(t *testing.T) {
	_, err := Open(context.Background(), mustParse(t, "device:97"), Options{})
	if err == nil || !strings.Contains(err.Error(), "device:97") {
		t.Errorf("Open(device:97) = %v, want an error naming device:97", err)
	}
}

func TestFFmpegEnv(t *testing.T) {
	tests := []struct {
		name string
		set  map[string]string
		want []string
	}{
		{"nothing set", nil, []string{"OPENCV_FFMPEG_CAPTURE_OPTIONS", "OPENCV_FFMPEG_LOGLEVEL", "OPENCV_LOG_LEVEL"}},
		{"user options kept", map[string]string{"OPENCV_FFMPEG_CAPTURE_OPTIONS": "rtsp_transport;udp"}, []string{"OPENCV_FFMPEG_LOGLEVEL", "OPENCV_LOG_LEVEL"}},
		{"all set", map[string]string{"OPENCV_FFMPEG_CAPTURE_OPTIONS": "x;y", "OPENCV_FFMPEG_LOGLEVEL": "16", "OPENCV_LOG_LEVEL": "INFO"}, nil},
	}
	for _, tt := range tests {
		vars := FFmpegEnv(func(k string) string { return tt.set[k] })
		var got []string
		for _, v := range vars {
			got = append(got, v.Name)
			if v.Value == "" {
				t.Errorf("%s: %s has an empty default", tt.name, v.Name)
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: FFmpegEnv sets %v, want %v", tt.name, got, tt.want)
		}
	}
}
