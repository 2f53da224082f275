// Package capturetest runs fake capture services on in-memory connections
// (bufconn) for the edge's tests: real gRPC, no network, no cameras.
package capturetest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
)

// Network connects clients to fake captures by name. Dial them with the
// target "passthrough:///NAME" and DialOption.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*bufconn.Listener
}

// NewNetwork returns an empty network.
func NewNetwork() *Network {
	return &Network{listeners: make(map[string]*bufconn.Listener)}
}

// DialOption makes a gRPC client dial the network's captures.
func (n *Network) DialOption() grpc.DialOption {
	return grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		n.mu.Lock()
		l := n.listeners[addr]
		n.mu.Unlock()
		if l == nil {
			return nil, fmt.Errorf("dial %s: connection refused", addr)
		}
		return l.DialContext(ctx)
	})
}

// Target is the gRPC target of the capture called name.
func Target(name string) string { return "passthrough:///" + name }

// Options configure a fake capture.
type Options struct {
	// Cameras are the ids it owns; each is named "Camera ID".
	Cameras []string
	// FPS is the frame rate of every camera; 0 means 50.
	FPS int
	// FrameBytes is the size of every JPEG; 0 means 1 KiB.
	FrameBytes int
	// Width is every camera's listed width; 0 means 64. Frames asked for at
	// a smaller width say that width (their bytes stay the same).
	Width int
}

// Capture is a fake CaptureService.
type Capture struct {
	camstreamv1.UnimplementedCaptureServiceServer

	name string
	net  *Network
	opts Options

	mu     sync.Mutex
	srv    *grpc.Server
	done   chan struct{}
	subs   map[string]int
	seq    map[string]uint64
	opened map[string]int
	widths map[string]int    // StreamFrames calls ever made, by camera@width
	failed map[string]string // cameras made to fail, with their last error
}

// Start starts a fake capture called name on n and stops it when the test ends.
func Start(t testing.TB, n *Network, name string, opts Options) *Capture {
	t.Helper()
	if opts.FPS == 0 {
		opts.FPS = 50
	}
	if opts.FrameBytes == 0 {
		opts.FrameBytes = 1 << 10
	}
	c := &Capture{name: name, net: n, opts: opts, subs: make(map[string]int), seq: make(map[string]uint64), opened: make(map[string]int), widths: make(map[string]int), failed: make(map[string]string)}
	if c.opts.Width == 0 {
		c.opts.Width = 64
	}
	c.Start()
	t.Cleanup(c.Stop)
	return c
}

// Start serves again after Stop, like a restarted process.
func (c *Capture) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv != nil {
		return
	}
	l := bufconn.Listen(1 << 20)
	c.srv = grpc.NewServer()
	camstreamv1.RegisterCaptureServiceServer(c.srv, c)
	c.done = make(chan struct{})
	srv, done := c.srv, c.done
	c.net.mu.Lock()
	c.net.listeners[c.name] = l
	c.net.mu.Unlock()
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
}

// Stop ends every call and stops listening, like a killed process.
func (c *Capture) Stop() {
	c.mu.Lock()
	srv, done := c.srv, c.done
	c.srv = nil
	c.mu.Unlock()
	if srv == nil {
		return
	}
	c.net.mu.Lock()
	delete(c.net.listeners, c.name)
	c.net.mu.Unlock()
	srv.Stop()
	<-done
}

// Subscribers is the number of open StreamFrames calls for a camera.
func (c *Capture) Subscribers(cameraID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subs[cameraID]
}

// StreamsOpened is the number of StreamFrames calls ever made for a camera.
func (c *Capture) StreamsOpened(cameraID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opened[cameraID]
}

// StreamsOpenedAt is the number of StreamFrames calls ever made for a
// camera at a width (0: full size).
func (c *Capture) StreamsOpenedAt(cameraID string, width int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.widths[fmt.Sprintf("%s@%d", cameraID, width)]
}

// SetCameras changes the cameras the capture owns, like a reload of its
// camera file: open streams of a camera it no longer owns end with
// NOT_FOUND.
func (c *Capture) SetCameras(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opts.Cameras = ids
}

// Fail makes a camera failed, with lastErr as its last error, like one
// whose source cannot be opened: it is listed so and its snapshots answer
// UNAVAILABLE, as capture's do.
func (c *Capture) Fail(id, lastErr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed[id] = lastErr
}

func (c *Capture) owns(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cam := range c.opts.Cameras {
		if cam == id {
			return true
		}
	}
	return false
}

// ListCameras lists the cameras as streaming at the configured rate.
func (c *Capture) ListCameras(context.Context, *camstreamv1.ListCamerasRequest) (*camstreamv1.ListCamerasResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp := &camstreamv1.ListCamerasResponse{}
	for _, id := range c.opts.Cameras {
		resp.Cameras = append(resp.Cameras, &camstreamv1.Camera{
			Id:          id,
			Name:        "Camera " + id,
			State:       camstreamv1.CameraState_CAMERA_STATE_STREAMING,
			Width:       int32(c.opts.Width),
			Height:      48,
			Fps:         float64(c.opts.FPS),
			Source:      "test://" + id,
			Subscribers: int32(c.subs[id]),
		})
		if lastErr, failed := c.failed[id]; failed {
			cam := resp.Cameras[len(resp.Cameras)-1]
			cam.State, cam.LastError, cam.Fps = camstreamv1.CameraState_CAMERA_STATE_FAILED, lastErr, 0
		}
	}
	return resp, nil
}

func (c *Capture) frame(id string, width int32) *camstreamv1.Frame {
	c.mu.Lock()
	c.seq[id]++
	seq := c.seq[id]
	c.mu.Unlock()
	jpeg := make([]byte, c.opts.FrameBytes)
	copy(jpeg, fmt.Sprintf("\xff\xd8%s %d", id, seq))
	if width == 0 {
		width = int32(c.opts.Width)
	}
	return &camstreamv1.Frame{CameraId: id, Seq: seq, Jpeg: jpeg, Width: width, Height: width * 3 / 4, CapturedAt: timestamppb.Now()}
}

// StreamFrames sends a frame of the camera at the configured rate.
func (c *Capture) StreamFrames(req *camstreamv1.StreamFramesRequest, stream grpc.ServerStreamingServer[camstreamv1.StreamFramesResponse]) error {
	id := req.GetCameraId()
	if !c.owns(id) {
		return status.Errorf(codes.NotFound, "camera %q not found", id)
	}
	c.mu.Lock()
	c.subs[id]++
	c.opened[id]++
	c.widths[fmt.Sprintf("%s@%d", id, req.GetWidth())]++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.subs[id]--
		c.mu.Unlock()
	}()
	tick := time.NewTicker(time.Second / time.Duration(c.opts.FPS))
	defer tick.Stop()
	for {
		if err := stream.Send(&camstreamv1.StreamFramesResponse{Frame: c.frame(id, req.GetWidth())}); err != nil {
			return err
		}
		select {
		case <-stream.Context().Done():
			return nil
		case <-tick.C:
		}
		if !c.owns(id) {
			return status.Errorf(codes.NotFound, "camera %q was removed from the camera file", id)
		}
	}
}

// GetSnapshot returns a fresh frame.
func (c *Capture) GetSnapshot(_ context.Context, req *camstreamv1.GetSnapshotRequest) (*camstreamv1.GetSnapshotResponse, error) {
	if !c.owns(req.GetCameraId()) {
		return nil, status.Errorf(codes.NotFound, "camera %q not found", req.GetCameraId())
	}
	c.mu.Lock()
	lastErr, failed := c.failed[req.GetCameraId()]
	c.mu.Unlock()
	if failed {
		return nil, status.Errorf(codes.Unavailable, "camera %q has no frame (state failed): %s", req.GetCameraId(), lastErr)
	}
	return &camstreamv1.GetSnapshotResponse{Frame: c.frame(req.GetCameraId(), req.GetWidth())}, nil
}

// WaitFor polls cond every 10 ms until it holds, failing the test after
// 15 s: the edge's tests wait with it for what the fake captures and the
// edge do in the background.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
