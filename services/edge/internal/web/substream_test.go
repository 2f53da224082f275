package web

import (
	"encoding/json"
	"strings"
	"testing"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
)

// /api/status and the pages show a camera's sub-stream: its state and
// size, and its error; a camera without one has sub_stream null.
func TestSubStreamShown(t *testing.T) {
	with := &camstreamv1.Camera{Id: "front", State: camstreamv1.CameraState_CAMERA_STATE_IDLE,
		SubStream: &camstreamv1.SubStream{State: camstreamv1.CameraState_CAMERA_STATE_FAILED,
			Width: 640, Height: 360, LastError: "sub_source: open rtsp://***@cam/stream2: refused"}}
	without := &camstreamv1.Camera{Id: "back"}
	s := &Server{}
	tests := []struct {
		cam      *camstreamv1.Camera
		wantJSON string
		wantPage string
	}{
		{with, `"sub_stream":{"state":"failed","width":640,"height":360,"last_error":"sub_source: open rtsp://***@cam/stream2: refused"}`,
			"sub-stream failed 640×360"},
		{without, `"sub_stream":null`, ""},
	}
	for _, tt := range tests {
		b, err := json.Marshal(s.cameraStatus(tt.cam, false))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tt.wantJSON) {
			t.Errorf("camera %s in /api/status = %s, want it to contain %s", tt.cam.Id, b, tt.wantJSON)
		}
		if got := viewOf(tt.cam).Sub; got != tt.wantPage {
			t.Errorf("camera %s on the pages: sub = %q, want %q", tt.cam.Id, got, tt.wantPage)
		}
	}
}
