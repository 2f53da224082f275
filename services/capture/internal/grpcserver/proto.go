package grpcserver

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/hub"
)

// frameProto is f, a frame of the camera cameraID, as sent on the wire.
func frameProto(cameraID string, f *hub.Frame) *camstreamv1.Frame {
	return &camstreamv1.Frame{
		CameraId:   cameraID,
		Seq:        f.Seq,
		Jpeg:       f.JPEG,
		Width:      int32(f.Width),
		Height:     int32(f.Height),
		CapturedAt: timestamppb.New(f.CapturedAt),
	}
}

// cameraProto is a camera's status as ListCameras lists it: the sizes
// in flight are those below its own width that someone watches.
func cameraProto(st camera.Status) *camstreamv1.Camera {
	c := &camstreamv1.Camera{
		Id:          st.ID,
		Name:        st.Name,
		State:       stateProto(st.State),
		Width:       int32(st.Width),
		Height:      int32(st.Height),
		Fps:         st.FPS,
		LastError:   st.LastError,
		Source:      st.Source,
		OnDemand:    st.OnDemand,
		Subscribers: int32(st.Subscribers),
		Reconnects:  st.Reconnects,
		MaxFps:      st.MaxFPS,
		Passthrough: st.PassThrough,
	}
	if !st.LastFrameTime.IsZero() {
		c.LastFrameTime = timestamppb.New(st.LastFrameTime)
	}
	if sub := st.Sub; sub != nil {
		c.SubStream = &camstreamv1.SubStream{State: stateProto(sub.State), Width: int32(sub.Width),
			Height: int32(sub.Height), LastError: sub.LastError, Source: sub.Source}
	}
	for _, z := range st.Sizes {
		// A size not below the camera's own is served its full frames.
		if z.Subscribers > 0 && (st.Width == 0 || z.Width < st.Width) {
			c.Sizes = append(c.Sizes, &camstreamv1.FrameSize{
				Width: int32(z.Width), Height: int32(z.Height), Subscribers: int32(z.Subscribers)})
		}
	}
	return c
}

// stateProto is a camera state's wire enum.
func stateProto(s camera.State) camstreamv1.CameraState {
	switch s {
	case camera.StateStarting:
		return camstreamv1.CameraState_CAMERA_STATE_STARTING
	case camera.StateStreaming:
		return camstreamv1.CameraState_CAMERA_STATE_STREAMING
	case camera.StateReconnecting:
		return camstreamv1.CameraState_CAMERA_STATE_RECONNECTING
	case camera.StateFailed:
		return camstreamv1.CameraState_CAMERA_STATE_FAILED
	case camera.StateIdle:
		return camstreamv1.CameraState_CAMERA_STATE_IDLE
	}
	return camstreamv1.CameraState_CAMERA_STATE_UNSPECIFIED
}
