package grpcserver

import (
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	protobuf "google.golang.org/protobuf/proto"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/hub"
)

// encodedFrame is a StreamFramesResponse already in wire form. The capture
// loop's frame is marshalled once (on the first send) and the same bytes
// are sent on every stream that carries it; its gRPC message framing is
// also made once (prepared), on the first stream that sends it.
type encodedFrame struct {
	data mem.BufferSlice
	err  error

	prepareOnce sync.Once
	prepared    grpc.PreparedMsg
	prepareErr  error
}

// send sends the frame on stream as the message prepared once for every
// stream. capture registers no compressor (JPEG does not compress), so
// every stream sends a message as the same bytes.
func (e *encodedFrame) send(stream grpc.ServerStream) error {
	if e.err != nil {
		return e.err
	}
	e.prepareOnce.Do(func() { e.prepareErr = e.prepared.Encode(stream, e) })
	if e.prepareErr != nil {
		return stream.SendMsg(e)
	}
	return stream.SendMsg(&e.prepared)
}

// encode returns f as a StreamFramesResponse in wire form, marshalling it
// only the first time any stream asks for it.
func encode(cameraID string, f *hub.Frame) *encodedFrame {
	return f.Encoded(func(f *hub.Frame) any {
		b, err := protobuf.Marshal(&camstreamv1.StreamFramesResponse{Frame: frameProto(cameraID, f)})
		// A SliceBuffer is plain memory: gRPC's Free and Ref on it do
		// nothing, so one buffer can be in flight on many streams at once.
		return &encodedFrame{data: mem.BufferSlice{mem.SliceBuffer(b)}, err: err}
	}).(*encodedFrame)
}

// codec is the server's codec: protobuf for every message, except that an
// *encodedFrame passes through as the bytes it holds. Installed with
// grpc.ForceServerCodecV2; its name stays "proto", so clients see no
// difference.
type codec struct {
	encoding.CodecV2
}

func newCodec() codec {
	return codec{CodecV2: encoding.GetCodecV2(proto.Name)}
}

func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*encodedFrame); ok {
		return f.data, f.err
	}
	return c.CodecV2.Marshal(v)
}
