package grpcserver

import (
	"bytes"
	"testing"
	"time"

	protobuf "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
)

// The frame's wire form, assembled around the JPEG without copying it, is
// byte for byte what protobuf marshals, and decodes back to the frame.
func TestWireFrame(t *testing.T) {
	now := timestamppb.New(time.Date(2026, 11, 24, 7, 30, 0, 123456789, time.UTC))
	for _, tt := range []struct {
		name  string
		frame *camstreamv1.Frame
	}{
		{"full", &camstreamv1.Frame{CameraId: "front-door", Seq: 1 << 40, Jpeg: bytes.Repeat([]byte{0xff, 0xd8, 7}, 20000), Width: 1280, Height: 720, CapturedAt: now}},
		{"first frame", &camstreamv1.Frame{CameraId: "a", Seq: 1, Jpeg: []byte{0xff, 0xd8, 0xff, 0xd9}, Width: 2, Height: 2, CapturedAt: now}},
		{"length needs 3 varint bytes", &camstreamv1.Frame{CameraId: "b", Seq: 300, Jpeg: make([]byte, 1<<20), Width: 3840, Height: 2160, CapturedAt: now}},
		{"zero fields", &camstreamv1.Frame{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data, err := wireFrame(tt.frame)
			if err != nil {
				t.Fatal(err)
			}
			got := data.Materialize()
			want, err := protobuf.Marshal(&camstreamv1.StreamFramesResponse{Frame: tt.frame})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("wire form differs from protobuf's: %d bytes against %d", len(got), len(want))
			}
			var back camstreamv1.StreamFramesResponse
			if err := protobuf.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if !protobuf.Equal(back.Frame, tt.frame) {
				t.Fatalf("decoded %v, want %v", back.Frame, tt.frame)
			}
		})
	}
}
