package e2e

import (
	"strings"
	"testing"
	"time"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
)

// The real grpcurl, with no .proto file, against the real bin/capture:
// everything it needs comes from server reflection.
func TestCaptureGrpcurl(t *testing.T) {
	grpcurl := captureGrpcurl(t)
	c := captureStart(t, nil)
	c.waitState(t, "test1", captureWait, camstreamv1.CameraState_CAMERA_STATE_STREAMING)

	tests := []struct {
		name    string
		flags   []string // before the address
		rest    []string // after it
		want    []string
		wantErr bool // a failed call, or one that runs until -max-time
	}{
		{"list", nil, []string{"list"},
			[]string{"camstream.v1.CaptureService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"}, false},
		{"describe", nil, []string{"describe", "camstream.v1.CaptureService"},
			[]string{"rpc ListCameras", "rpc StreamFrames ( .camstream.v1.StreamFramesRequest ) returns ( stream .camstream.v1.StreamFramesResponse )", "rpc GetSnapshot"}, false},
		{"ListCameras", nil, []string{"camstream.v1.CaptureService/ListCameras"},
			[]string{`"id": "test1"`, `"id": "test2"`, `"state": "CAMERA_STATE_STREAMING"`, `"source": "test://ball"`}, false},
		{"GetSnapshot", []string{"-d", `{"camera_id":"test2"}`}, []string{"camstream.v1.CaptureService/GetSnapshot"},
			[]string{`"cameraId": "test2"`, `"jpeg": "/9j/`, `"width": 640`}, false},
		{"StreamFrames", []string{"-max-msg-sz", "16777216", "-max-time", "3", "-d", `{"camera_id":"test1","max_fps":5}`},
			[]string{"camstream.v1.CaptureService/StreamFrames"},
			[]string{`"cameraId": "test1"`, `"jpeg": "/9j/`, `"height": 360`, `"capturedAt"`}, true},
		{"GetSnapshot at a width", []string{"-d", `{"camera_id":"test2","width":320}`}, []string{"camstream.v1.CaptureService/GetSnapshot"},
			[]string{`"cameraId": "test2"`, `"width": 320`, `"height": 180`}, false},
		{"describe width", nil, []string{"describe", "camstream.v1.StreamFramesRequest"},
			[]string{"int32 width = 3;"}, false},
		{"negative width", []string{"-d", `{"camera_id":"test2","width":-1}`}, []string{"camstream.v1.CaptureService/GetSnapshot"},
			[]string{"Code: InvalidArgument"}, true},
		{"health", []string{"-d", `{"service":"test1"}`}, []string{"grpc.health.v1.Health/Check"},
			[]string{`"status": "SERVING"`}, false},
		{"unknown camera", []string{"-d", `{"camera_id":"nope"}`}, []string{"camstream.v1.CaptureService/GetSnapshot"},
			[]string{"Code: NotFound"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append(append([]string{"-plaintext"}, tt.flags...), c.grpcAddr), tt.rest...)
			out, err := captureRun(t, 30*time.Second, grpcurl, args...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("grpcurl %v: error %v, want error %v\n%.2000s", args, err, tt.wantErr, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("grpcurl %s output lacks %q:\n%.2000s", tt.name, w, out)
				}
			}
		})
	}
	t.Run("StreamFrames keeps streaming", func(t *testing.T) {
		args := []string{"-plaintext", "-max-msg-sz", "16777216", "-max-time", "3", "-d", `{"camera_id":"test1","max_fps":5}`,
			c.grpcAddr, "camstream.v1.CaptureService/StreamFrames"}
		out, _ := captureRun(t, 30*time.Second, grpcurl, args...)
		if n := strings.Count(out, `"cameraId": "test1"`); n < 5 {
			t.Errorf("StreamFrames for 3 s at max_fps 5 gave %d frames, want at least 5", n)
		}
	})
}
