package grpcserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/config"
)

// A reload seen through gRPC: the changed camera's open stream goes on with
// frames of the new size; the removed camera's open stream and snapshot
// wait end with NOT_FOUND saying it was removed, and its health entry is
// gone; the added camera is listed and has health at once.
func TestReloadThroughGRPC(t *testing.T) {
	cfgs := []config.Camera{
		cam(t, "resized", "test://ball", func(c *config.Camera) { c.FPS = 20 }),
		cam(t, "gone", "test://smpte", func(c *config.Camera) { c.FPS = 20 }),
		// On demand, and never opens (nothing listens on port 1).
		cam(t, "lazy", "rtsp://127.0.0.1:1/never", func(c *config.Camera) { c.OnDemand = true }),
	}
	f := start(t, cfgs, camera.Options{})
	f.waitState(t, "resized", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	f.waitState(t, "gone", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resizedStream, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "resized"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := resizedStream.Recv()
	if err != nil || first.GetFrame().GetWidth() != 320 {
		t.Fatalf("first frame of resized: %v, %v; want 320 wide", first.GetFrame().GetWidth(), err)
	}
	goneStream, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := goneStream.Recv(); err != nil {
		t.Fatal(err)
	}
	// A snapshot of an idle on-demand camera that never opens waits.
	snapErr := make(chan error, 1)
	go func() {
		_, err := f.client.GetSnapshot(ctx, &camstreamv1.GetSnapshotRequest{CameraId: "lazy"})
		snapErr <- err
	}()
	lazy, _ := f.cams.Get("lazy")
	for deadline := time.Now().Add(wait); lazy.Status().Subscribers == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the snapshot never subscribed to the on-demand camera")
		}
	}

	bigger := cfgs[0]
	bigger.Width = 480
	f.cams.Apply([]config.Camera{bigger, cam(t, "fresh", "test://smpte", nil)})

	resp, err := f.client.ListCameras(ctx, &camstreamv1.ListCamerasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range resp.GetCameras() {
		ids = append(ids, c.GetId())
	}
	if got := strings.Join(ids, ","); got != "resized,fresh" {
		t.Errorf("ListCameras right after the reload = %s, want resized,fresh", got)
	}
	if h, err := f.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "fresh"}); err != nil {
		t.Errorf("health of the added camera right after the reload: %v, %v; want an entry", h, err)
	}
	for _, id := range []string{"gone", "lazy"} {
		if h, err := f.health.Check(ctx, &healthpb.HealthCheckRequest{Service: id}); status.Code(err) != codes.NotFound {
			t.Errorf("health of removed camera %s = %v, %v; want NOT_FOUND", id, h, err)
		}
	}
	list, err := f.health.List(ctx, &healthpb.HealthListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := list.GetStatuses()["gone"]; ok || len(list.GetStatuses()) != 3 {
		t.Errorf("health List = %v, want \"\", resized and fresh", list.GetStatuses())
	}

	for {
		if _, err := goneStream.Recv(); err != nil {
			if status.Code(err) != codes.NotFound || !strings.Contains(status.Convert(err).Message(), "removed") {
				t.Errorf("the removed camera's stream ended with %v, want NOT_FOUND saying it was removed", err)
			}
			break
		}
		// frames sent before the removal
	}
	if err := <-snapErr; status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "removed") {
		t.Errorf("a snapshot wait on the removed camera ended with %v, want NOT_FOUND saying it was removed", err)
	}
	deadline := time.Now().Add(wait)
	for {
		m, err := resizedStream.Recv()
		if err != nil {
			t.Fatalf("the changed camera's stream ended: %v, want it to go on", err)
		}
		if m.GetFrame().GetWidth() == 480 {
			if m.GetFrame().GetSeq() <= first.GetFrame().GetSeq() {
				t.Errorf("new-size frame seq %d after %d, want the sequence to go on", m.GetFrame().GetSeq(), first.GetFrame().GetSeq())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no frame of the new size")
		}
	}
	f.waitState(t, "fresh", camstreamv1.CameraState_CAMERA_STATE_STREAMING)
	again, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "gone"})
	if err == nil {
		_, err = again.Recv()
	}
	if status.Code(err) != codes.NotFound {
		t.Errorf("a new stream of the removed camera: %v, want NOT_FOUND", err)
	}
}
