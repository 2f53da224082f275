package upstream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/edge/internal/catalog"
	"github.com/camstream/camstream/services/edge/internal/hub"
	"github.com/camstream/camstream/services/edge/internal/size"
	"github.com/camstream/camstream/services/edge/mjpeg"
)

// Snapshot returns the camera's newest frame at ladder width (0: full
// size) from its capture.
func (p *Pool) Snapshot(ctx context.Context, id string, width int) (*camstreamv1.Frame, error) {
	cam, err := p.Camera(ctx, id)
	if err != nil {
		return nil, err
	}
	_, c := p.lookup(id)
	if c == nil {
		return nil, fmt.Errorf("camera %q: %w", id, catalog.ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.api.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: id, Width: int32(width)})
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return nil, fmt.Errorf("camera %q: %w", id, catalog.ErrNotFound)
		}
		if status.Code(err) == codes.Unavailable && cam.GetState() != camstreamv1.CameraState_CAMERA_STATE_STREAMING {
			return nil, &catalog.NoFrameError{ID: id, State: cam.GetState(), LastError: cam.GetLastError()}
		}
		return nil, fmt.Errorf("snapshot of %q from %s: %w: %s", id, c.addr, catalog.ErrUnavailable, status.Convert(err).Message())
	}
	return resp.GetFrame(), nil
}

// Stream is the hub's source: it keeps one StreamFrames call open to the
// camera's capture, at the size its feed key names (see size.Key), and
// publishes every frame until ctx ends. When the call
// ends or the capture goes away it reconnects with backoff and jitter,
// following the camera if it moves to another capture. It returns, ending
// the camera's feed and so its viewers' streams, when the camera was
// removed: its capture answers NOT_FOUND and, polled again, no capture
// lists it.
func (p *Pool) Stream(ctx context.Context, key string, publish func(*hub.Frame)) {
	cameraID, width := size.SplitKey(key)
	log := p.log.With("camera", cameraID, "width", width)
	delay := retryDelay{min: 100 * time.Millisecond, max: 3 * time.Second}
	down := false // a call ended: log the retries quietly until frames flow again
	for {
		_, c := p.lookup(cameraID)
		if c != nil {
			first := func() {
				if down {
					log.Info("upstream resumed", "capture", c.addr)
				}
			}
			frames, err := p.streamOnce(ctx, c, cameraID, width, publish, first)
			if ctx.Err() != nil {
				return
			}
			msg := status.Convert(err).Message()
			switch {
			case frames > 0 || !down:
				log.Warn("upstream ended, reconnecting", "capture", c.addr, "frames", frames, "err", msg)
			default:
				log.Debug("upstream still down", "capture", c.addr, "err", msg)
			}
			if frames > 0 {
				delay.reset()
			}
			down = true
			if status.Code(err) == codes.NotFound {
				p.refreshIfOld(ctx)
				if p.removed(cameraID) {
					log.Info("camera removed from its capture: its streams end", "capture", c.addr)
					return
				}
			}
		} else {
			p.refreshIfOld(ctx)
			if p.removed(cameraID) {
				log.Info("camera no longer listed by any capture: its streams end")
				return
			}
		}
		wait := delay.next()
		if c != nil && reconnected(ctx, c.conn, 5*time.Second) {
			// The capture is back: its viewers resume at once, spread
			// over a moment so many cameras do not ask in the same instant.
			wait = rand.N(100 * time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// reconnected reports whether conn was down and came back within limit:
// it waits while the connection is down (gRPC redials it about every
// second), so a call is retried as soon as its capture returns rather than
// after a backoff delay.
func reconnected(ctx context.Context, conn *grpc.ClientConn, limit time.Duration) bool {
	s := conn.GetState()
	if s == connectivity.Ready || s == connectivity.Shutdown {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for s != connectivity.Ready {
		if s == connectivity.Shutdown {
			return false
		}
		if s == connectivity.Idle {
			conn.Connect()
		}
		if !conn.WaitForStateChange(ctx, s) {
			return false
		}
		s = conn.GetState()
	}
	return true
}

// streamOnce runs one StreamFrames call, calling first at its first frame.
func (p *Pool) streamOnce(ctx context.Context, c *client, cameraID string, width int, publish func(*hub.Frame), first func()) (frames int, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := &camstreamv1.StreamFramesRequest{CameraId: cameraID, Width: int32(width)}
	stream, err := c.api.StreamFrames(ctx, req)
	if err != nil {
		return 0, err
	}
	upstreams := p.cfg.Metrics.Upstreams.WithLabelValues(cameraID)
	upstreams.Inc()
	defer upstreams.Dec()
	if width > 0 {
		sized := p.cfg.Metrics.SizeUpstreams.WithLabelValues(cameraID, strconv.Itoa(width))
		sized.Inc()
		defer sized.Dec()
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return frames, err
		}
		f := resp.GetFrame()
		publish(hub.NewFrame(mjpeg.Frame{
			CameraID:   cameraID,
			Seq:        f.GetSeq(),
			CapturedAt: f.GetCapturedAt().AsTime(),
			JPEG:       f.GetJpeg(),
		}, int(f.GetWidth()), int(f.GetHeight())))
		if frames == 0 {
			first()
		}
		frames++
	}
}

// retryDelay is exponential backoff with jitter.
type retryDelay struct {
	min, max time.Duration
	cur      time.Duration
}

func (d *retryDelay) next() time.Duration {
	switch {
	case d.cur == 0:
		d.cur = d.min
	case d.cur < d.max:
		d.cur = min(2*d.cur, d.max)
	}
	// Between half and all of the current delay, so viewers of many
	// cameras do not reconnect in lockstep.
	return d.cur/2 + rand.N(d.cur/2+1)
}

func (d *retryDelay) reset() { d.cur = 0 }
