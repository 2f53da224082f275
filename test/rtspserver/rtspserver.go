// Package rtspserver runs a real RTSP server (Debian's GStreamer RTSP server,
// through rtsp_server.py) serving a live H.264 test pattern on 127.0.0.1.
package rtspserver

import (
	"bufio"
	_ "embed"
	"fmt"
	"image"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

//go:embed rtsp_server.py
var script []byte

const python = "/usr/bin/python3"

// Options configure the served stream. Zero values mean 1280x720 at 30 fps
// of a moving ball on mount /stream without auth.
type Options struct {
	Paths         []string
	Width, Height int
	FPS           int
	// Pattern is a GStreamer videotestsrc pattern ("ball", "smpte", ...).
	Pattern string
	// Sizes serves more mount paths, each at its own size ("/sub" →
	// 640x360), like a camera's sub-stream.
	Sizes    map[string]image.Point
	User     string
	Password string
	// JPEG serves Motion JPEG (RTP/JPEG) instead of H.264, like an IP
	// camera in MJPEG mode.
	JPEG bool
}

// Server is a running RTSP server. Stop, Start, Freeze and Thaw simulate a
// camera going away, coming back, and stalling with its connection open.
type Server struct {
	t      testing.TB
	opts   Options
	script string

	mu   sync.Mutex
	port int
	cmd  *exec.Cmd
	done chan struct{}
	log  strings.Builder
}

// Available reports why the RTSP server cannot run here, or "" when it can.
func Available() string {
	if _, err := os.Stat(python); err != nil {
		return python + " is missing: run 'make deps'"
	}
	check := `import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer`
	if out, err := exec.Command(python, "-c", check).CombinedOutput(); err != nil {
		return "GStreamer RTSP server for Python is missing (" + strings.TrimSpace(string(out)) + "): run 'make deps'"
	}
	return ""
}

// Start starts a server and stops it when the test ends. It skips the test
// when the GStreamer RTSP server is not installed.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip(why)
	}
	if len(opts.Paths) == 0 {
		opts.Paths = []string{"/stream"}
	}
	path := filepath.Join(t.TempDir(), "rtsp_server.py")
	if err := os.WriteFile(path, script, 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, opts: opts, script: path}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Port is the TCP port the server listens on; it stays the same across
// Stop and Start.
func (s *Server) Port() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.port
}

// URL returns the rtsp:// URL of a mount path, with the credentials when
// the server requires them.
func (s *Server) URL(path string) string {
	u := url.URL{Scheme: "rtsp", Host: fmt.Sprintf("127.0.0.1:%d", s.Port()), Path: path}
	if s.opts.User != "" {
		u.User = url.UserPassword(s.opts.User, s.opts.Password)
	}
	return u.String()
}

// SetCredentials changes the user and password the server asks for from
// its next Start on, like a camera whose password was changed: stop it,
// set them, start it.
func (s *Server) SetCredentials(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.User, s.opts.Password = user, password
}

// Start (re)starts a stopped server on its previous port.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	args := []string{s.script,
		"--port", strconv.Itoa(s.port),
		"--width", strconv.Itoa(or(s.opts.Width, 1280)),
		"--height", strconv.Itoa(or(s.opts.Height, 720)),
		"--fps", strconv.Itoa(or(s.opts.FPS, 30)),
	}
	if s.opts.Pattern != "" {
		args = append(args, "--pattern", s.opts.Pattern)
	}
	for _, p := range s.opts.Paths {
		args = append(args, "--path", p)
	}
	for p, wh := range s.opts.Sizes {
		args = append(args, "--size", fmt.Sprintf("%s=%dx%d", p, wh.X, wh.Y))
	}
	if s.opts.User != "" {
		args = append(args, "--user", s.opts.User, "--password", s.opts.Password)
	}
	if s.opts.JPEG {
		args = append(args, "--codec", "jpeg")
	}
	var lastErr error
	// A restart on the same port can race the old socket's release: retry.
	for attempt := 0; attempt < 20; attempt++ {
		port, err := s.launch(args)
		if err == nil {
			s.port = port
			return nil
		}
		lastErr = err
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("start RTSP server: %w", lastErr)
}

func (s *Server) launch(args []string) (int, error) {
	cmd := exec.Command(python, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	cmd.Stderr = &lockedWriter{mu: &s.mu, b: &s.log}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "ready" {
				port, _ := strconv.Atoi(f[1])
				ready <- port
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case port := <-ready:
		s.cmd, s.done = cmd, done
		return port, nil
	case <-done:
		return 0, fmt.Errorf("RTSP server exited at start")
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return 0, fmt.Errorf("RTSP server not ready after 10s")
	}
}

// Stop stops the server; its clients see the connection close.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Freeze stops the server process (SIGSTOP): connections stay open but no
// data flows, like a hung camera.
func (s *Server) Freeze() { s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (s *Server) Thaw() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Log returns what the server printed on stderr, among it a line
// "play PATH" each time a client plays a mount path.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
