package grpcserver

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	protobuf "google.golang.org/protobuf/proto"

	camstreamv1 "github.com/camstream/camstream/gen/camstream/v1"
	"github.com/camstream/camstream/services/capture/internal/hub"
)

// encodedFrame is a StreamFramesResponse already in wire form: the capture
// loop's frame is encoded once (on the first send) and the same bytes are
// sent on every stream that carries it, passed through by the codec below
// (which also reports err). gRPC adds its 5-byte message header per stream
// and copies the bytes once, into the connection's write buffer.
// (grpc.PreparedMsg, which would frame the message once for all streams,
// copies the whole message into a new buffer first: 50 KB more allocated
// per frame to save 5 bytes per stream.)
type encodedFrame struct {
	data mem.BufferSlice
	err  error
}

// encode returns f as a StreamFramesResponse in wire form. The JPEG,
// nearly all of the message, is not copied: the wire form is three
// buffers, the message up to the jpeg field's length, f.JPEG itself, and
// the fields after it. The bytes are exactly protobuf's (fields in number
// order). They are plain memory (SliceBuffer): gRPC's Free and Ref on them
// do nothing, so they can be in flight on many streams at once, and f.JPEG
// is never written after Publish.
func encode(cameraID string, f *hub.Frame) *encodedFrame {
	data, err := wireFrame(frameProto(cameraID, f))
	return &encodedFrame{data: data, err: err}
}

// wireFrame encodes StreamFramesResponse{Frame: fr} as described at encode.
func wireFrame(fr *camstreamv1.Frame) (mem.BufferSlice, error) {
	if len(fr.Jpeg) == 0 { // protobuf leaves the field out
		b, err := protobuf.Marshal(&camstreamv1.StreamFramesResponse{Frame: fr})
		return mem.BufferSlice{mem.SliceBuffer(b)}, err
	}
	before := &camstreamv1.Frame{CameraId: fr.CameraId, Seq: fr.Seq}
	after := &camstreamv1.Frame{Width: fr.Width, Height: fr.Height, CapturedAt: fr.CapturedAt}
	jpegField := protowire.SizeTag(jpegNumber) + protowire.SizeBytes(len(fr.Jpeg))
	frameLen := protobuf.Size(before) + jpegField + protobuf.Size(after)
	head := make([]byte, 0, protowire.SizeTag(frameNumber)+protowire.SizeVarint(uint64(frameLen))+jpegField-len(fr.Jpeg))
	head = protowire.AppendTag(head, frameNumber, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(frameLen))
	head, err := protobuf.MarshalOptions{}.MarshalAppend(head, before)
	if err != nil {
		return nil, err
	}
	head = protowire.AppendTag(head, jpegNumber, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(len(fr.Jpeg)))
	tail, err := protobuf.Marshal(after)
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(head), mem.SliceBuffer(fr.Jpeg), mem.SliceBuffer(tail)}, nil
}

// The field numbers wireFrame writes itself, read from the generated
// descriptors.
var (
	frameNumber = (&camstreamv1.StreamFramesResponse{}).ProtoReflect().Descriptor().Fields().ByName("frame").Number()
	jpegNumber  = (&camstreamv1.Frame{}).ProtoReflect().Descriptor().Fields().ByName("jpeg").Number()
)

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
