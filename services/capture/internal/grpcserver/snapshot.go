package grpcserver

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/hub"
)

// GetSnapshot returns the camera's newest frame, waiting for one (and
// opening an idle on-demand camera) when it is starting, idle or
// reconnecting. A width its sub-stream makes is answered from the
// sub-stream, whatever the main stream's state. A camera whose main stream
// failed answers UNAVAILABLE with its last error at once, unless the
// sub-stream makes, or is about to make, the width asked for.
func (s *Server) GetSnapshot(ctx context.Context, req *camstreamv1.GetSnapshotRequest) (*camstreamv1.GetSnapshotResponse, error) {
	cam, err := s.camera(req.GetCameraId())
	if err != nil {
		return nil, err
	}
	if req.GetWidth() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "width: %d is negative (want 0 for the full size, or pixels)", req.GetWidth())
	}
	if cam.Unavailable(int(req.GetWidth())) {
		return nil, unavailable(cam)
	}
	// Subscribing to the size before looking at its frame keeps the size
	// encoded while the call waits for one.
	feed, release, err := cam.SubscribeWidth(int(req.GetWidth()))
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "width: %v", err)
	}
	defer release()
	f, fresh := feed.Latest()
	if !fresh {
		call, cancel := s.callContext(ctx, cam)
		defer cancel()
		wait, cancelWait := context.WithTimeout(call, s.snapshotTimeout)
		defer cancelWait()
		var after uint64
		if f != nil {
			after = f.Seq
		}
		if f, err = waitFrame(wait, cam, feed, after, int(req.GetWidth())); err != nil {
			if call.Err() != nil {
				return nil, s.endErr(ctx, cam)
			}
			return nil, unavailable(cam)
		}
	}
	return &camstreamv1.GetSnapshotResponse{Frame: frameProto(cam.ID(), f)}, nil
}

// unavailablePoll is how often a waiting snapshot checks that its camera
// can still give a frame.
const unavailablePoll = 100 * time.Millisecond

// waitFrame waits for a frame of feed newer than after, until wait ends
// or the camera can no longer give one at width (both its streams failed
// meanwhile): a snapshot then answers at once, not at its timeout.
func waitFrame(wait context.Context, cam *camera.Camera, feed camera.Feed, after uint64, width int) (*hub.Frame, error) {
	wait, give := context.WithCancel(wait)
	defer give()
	go func() {
		t := time.NewTicker(unavailablePoll)
		defer t.Stop()
		for {
			select {
			case <-wait.Done():
				return
			case <-t.C:
				if cam.Unavailable(width) {
					give()
					return
				}
			}
		}
	}()
	return feed.Next(wait, after)
}

// unavailable is the error for a camera that has no frame to give.
func unavailable(cam *camera.Camera) error {
	st := cam.Status()
	msg := fmt.Sprintf("camera %q has no frame (state %s)", st.ID, st.State)
	if st.LastError != "" {
		msg += ": " + st.LastError
	}
	if sub := st.Sub; sub != nil {
		msg += "; sub-stream " + sub.State.String()
		if sub.Width > 0 {
			msg += fmt.Sprintf(" %d×%d", sub.Width, sub.Height)
		}
		if sub.State == camera.StateStreaming {
			msg += fmt.Sprintf(" serves widths up to %d", sub.Width)
		} else if sub.LastError != "" {
			msg += ": " + sub.LastError
		}
	}
	return status.Error(codes.Unavailable, msg)
}
