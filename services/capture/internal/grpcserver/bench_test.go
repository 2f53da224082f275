package grpcserver

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocv.io/x/gocv"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	protobuf "google.golang.org/protobuf/proto"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/camera"
	"github.com/camstream/camstream/services/capture/internal/config"
	"github.com/camstream/camstream/services/capture/internal/hub"
	"github.com/camstream/camstream/services/capture/internal/source"
)

// tickSource delivers one frame (a fixed noisy picture) per tick.
type tickSource struct {
	ticks <-chan struct{}
	img   gocv.Mat
}

func (s *tickSource) Read(ctx context.Context, dst *gocv.Mat) error {
	select {
	case <-s.ticks:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.img.CopyTo(dst)
	return nil
}

func (s *tickSource) Close() error { return nil }

// testPicture is one 1280x720 frame of the ball test pattern.
func testPicture(b *testing.B) gocv.Mat {
	src, err := config.ParseSource("test://ball")
	if err != nil {
		b.Fatal(err)
	}
	pattern, err := source.Open(context.Background(), src, source.Options{Name: "bench", Width: 1280})
	if err != nil {
		b.Fatal(err)
	}
	defer pattern.Close()
	img := gocv.NewMat()
	if err := pattern.Read(context.Background(), &img); err != nil {
		b.Fatal(err)
	}
	return img
}

// BenchmarkStreamFrames measures what one frame costs when it goes to many
// subscribers over gRPC (bufconn): per op, one frame captured, encoded, and
// received by every subscriber. allocs/op cover the whole process. With
// client=proto the subscribers decode each frame as the edge does (that
// allocates the frame on the client side); with client=discard they read
// the bytes and drop them, so what remains is the server's send path: its
// allocs-per-send metric is the goal of 0 allocations per frame per
// subscriber, up to gRPC's own framing.
func BenchmarkStreamFrames(b *testing.B) {
	for _, client := range []string{"proto", "discard"} {
		for _, subs := range []int{1, 10, 100} {
			b.Run(fmt.Sprintf("client=%s/subscribers=%d", client, subs), func(b *testing.B) {
				benchmarkStreamFrames(b, subs, client == "discard")
			})
		}
	}
}

func benchmarkStreamFrames(b *testing.B, subs int, discard bool) {
	ticks := make(chan struct{})
	img := testPicture(b)
	defer img.Close()
	opts := camera.Options{Open: func(context.Context, config.Source, source.Options) (source.Source, error) {
		return &tickSource{ticks: ticks, img: img}, nil
	}}
	cfg := cam(b, "bench", "test://", func(c *config.Camera) { c.FPS = 0; c.Width = 0; c.Quality = 50 })
	f := start(b, []config.Camera{cfg}, opts)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var callOpts []grpc.CallOption
	if discard {
		callOpts = append(callOpts, grpc.ForceCodecV2(discardCodec{}))
	}
	var received atomic.Int64
	var ready, wg sync.WaitGroup
	ready.Add(subs)
	for range subs {
		wg.Go(func() {
			stream, err := f.client.StreamFrames(ctx, &camstreamv1.StreamFramesRequest{CameraId: "bench"}, callOpts...)
			if err != nil {
				b.Error(err)
				ready.Done()
				return
			}
			ready.Done()
			var msg camstreamv1.StreamFramesResponse
			for {
				if err := stream.RecvMsg(&msg); err != nil {
					return
				}
				received.Add(1)
			}
		})
	}
	ready.Wait()
	c, _ := f.cams.Get("bench")
	for c.Status().Subscribers < subs {
		time.Sleep(time.Millisecond)
	}
	ticks <- struct{}{} // the first frame also opens the stream
	for received.Load() < int64(subs) {
		time.Sleep(10 * time.Microsecond)
	}
	var bytes int
	if fr, _ := c.Latest(); fr != nil {
		bytes = len(fr.JPEG)
	}
	b.SetBytes(int64(bytes * subs))
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := range b.N {
		ticks <- struct{}{}
		for received.Load() < int64(subs)*int64(i+2) {
			time.Sleep(10 * time.Microsecond)
		}
	}
	b.StopTimer()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/float64(subs), "allocs/frame/subscriber")
	cancel()
	wg.Wait()
}

// discardCodec is a client codec that takes a message's bytes and drops
// them without decoding.
type discardCodec struct{}

func (discardCodec) Marshal(v any) (mem.BufferSlice, error) {
	return encoding.GetCodecV2(proto.Name).Marshal(v)
}

func (discardCodec) Unmarshal(data mem.BufferSlice, _ any) error { return nil }

func (discardCodec) Name() string { return proto.Name }

// BenchmarkMarshalFrame compares sending a 100 KB frame by marshalling it
// for every stream with encoding it once per frame (its JPEG not copied)
// and passing the encoded bytes through the codec on every stream.
func BenchmarkMarshalFrame(b *testing.B) {
	c := newCodec()
	frame := &hub.Frame{JPEG: make([]byte, 100<<10), Width: 1280, Height: 720, CapturedAt: time.Now()}
	b.Run("proto-per-send", func(b *testing.B) {
		msg := &camstreamv1.StreamFramesResponse{Frame: frameProto("bench", frame)}
		b.ReportAllocs()
		for range b.N {
			data, err := c.Marshal(msg)
			if err != nil {
				b.Fatal(err)
			}
			data.Free()
		}
	})
	b.Run("encode-once-per-frame", func(b *testing.B) {
		wire := &wireCache{cameraID: "bench"}
		b.ReportAllocs()
		for i := range b.N {
			f := &hub.Frame{Seq: uint64(i + 1), JPEG: frame.JPEG, Width: frame.Width, Height: frame.Height, CapturedAt: frame.CapturedAt}
			if e := wire.get(f); e.err != nil {
				b.Fatal(e.err)
			}
		}
	})
	b.Run("encoded-once", func(b *testing.B) {
		wire := &wireCache{cameraID: "bench"}
		b.ReportAllocs()
		for range b.N {
			data, err := c.Marshal(wire.get(frame))
			if err != nil {
				b.Fatal(err)
			}
			data.Free()
		}
	})
	// The shared bytes are exactly what protobuf would have sent.
	want, _ := protobuf.Marshal(&camstreamv1.StreamFramesResponse{Frame: frameProto("bench", frame)})
	if got := encode("bench", frame).data.Materialize(); string(got) != string(want) {
		b.Fatal("encoded frame differs from its protobuf encoding")
	}
}
