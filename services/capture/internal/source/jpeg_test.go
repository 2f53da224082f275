package source

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

// ffmpegRun runs ffmpeg, skipping the test when it is not installed.
func ffmpegRun(t *testing.T, args ...string) {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg is not installed: run 'make deps'")
	}
	if out, err := exec.Command(ffmpeg, append([]string{"-loglevel", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// jpegFrames makes n distinct JPEG frames with ffmpeg and returns them.
func jpegFrames(t *testing.T, dir string, n int) [][]byte {
	t.Helper()
	ffmpegRun(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", fmt.Sprint(n),
		filepath.Join(dir, "f%02d.jpg"))
	frames := make([][]byte, n)
	for i := range frames {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%02d.jpg", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		frames[i] = b
	}
	return frames
}

func openJPEG(t *testing.T, src string) JPEGReader {
	t.Helper()
	s, err := Open(context.Background(), mustParse(t, src), Options{JPEG: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	r, ok := s.(JPEGReader)
	if !ok {
		t.Fatalf("Open(%s, JPEG) = %T, want a JPEGReader", src, s)
	}
	return r
}

// An AVI file of Motion JPEG gives its frames' own bytes, in order, and
// loops; Read decodes them.
func TestJPEGFromFile(t *testing.T) {
	dir := t.TempDir()
	frames := jpegFrames(t, dir, 4)
	clip := filepath.Join(dir, "clip.avi")
	ffmpegRun(t, "-framerate", "25", "-i", filepath.Join(dir, "f%02d.jpg"), "-c", "copy", clip)
	r := openJPEG(t, "file:"+clip)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 9 { // twice round and one more
		b, err := r.ReadJPEG(ctx)
		if err != nil {
			t.Fatalf("ReadJPEG %d: %v", i+1, err)
		}
		if want := frames[i%len(frames)]; !bytes.Equal(b, want) {
			t.Fatalf("frame %d: got %d bytes, want the %d bytes of f%02d.jpg", i+1, len(b), len(want), i%len(frames)+1)
		}
	}
	m := gocv.NewMat()
	defer m.Close()
	if err := r.Read(ctx, &m); err != nil || m.Cols() != 320 || m.Rows() != 240 || m.Channels() != 3 {
		t.Errorf("Read = %v, a %dx%d picture of %d channels; want 320x240 BGR", err, m.Cols(), m.Rows(), m.Channels())
	}
}

// An HTTP MJPEG camera gives the JPEG bytes it sends.
func TestJPEGFromHTTP(t *testing.T) {
	frames := jpegFrames(t, t.TempDir(), 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		for i := 0; i < 200 && r.Context().Err() == nil; i++ {
			j := frames[i%len(frames)]
			fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(j))
			w.Write(j)
			fmt.Fprint(w, "\r\n")
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	}))
	defer srv.Close()
	r := openJPEG(t, srv.URL+"/video.mjpg")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 5 {
		b, err := r.ReadJPEG(ctx)
		if err != nil {
			t.Fatalf("ReadJPEG %d: %v", i+1, err)
		}
		if !bytes.Equal(b, frames[0]) && !bytes.Equal(b, frames[1]) && !bytes.Equal(b, frames[2]) {
			t.Fatalf("frame %d: %d bytes that the camera did not send", i+1, len(b))
		}
	}
}

// Video that is not Motion JPEG, or a source opened without Options.JPEG,
// is decoded as before.
func TestJPEGOnlyForMotionJPEG(t *testing.T) {
	dir := t.TempDir()
	h264 := filepath.Join(dir, "clip.mp4")
	ffmpegRun(t, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=0.2", "-pix_fmt", "yuv420p", h264)
	jpegFrames(t, dir, 2)
	mjpeg := filepath.Join(dir, "clip.avi")
	ffmpegRun(t, "-framerate", "25", "-i", filepath.Join(dir, "f%02d.jpg"), "-c", "copy", mjpeg)
	for _, tt := range []struct {
		path string
		opts Options
	}{{h264, Options{JPEG: true}}, {mjpeg, Options{}}} {
		s, err := Open(context.Background(), mustParse(t, "file:"+tt.path), tt.opts)
		if err != nil {
			t.Fatalf("Open(%s): %v", tt.path, err)
		}
		if _, ok := s.(JPEGReader); ok {
			t.Errorf("Open(%s, JPEG %v) is a JPEGReader, want a decoding source", filepath.Base(tt.path), tt.opts.JPEG)
		}
		if got := readFrames(t, s, 2); got.X != 320 || got.Y != 240 {
			t.Errorf("Open(%s) frames are %v, want 320x240", filepath.Base(tt.path), got)
		}
		s.Close()
	}
}
