package source

import (
	"context"
	"fmt"

	"gocv.io/x/gocv"
)

// JPEGReader is a source whose frames are the camera's own JPEG bytes:
// opened with Options.JPEG from a stream or file whose video is Motion
// JPEG. Read still gives decoded pictures (each packet decoded).
type JPEGReader interface {
	Source
	// ReadJPEG returns the next frame as the bytes the camera sent, in a
	// new slice the caller owns. The bytes are not checked: they may be
	// something other than one whole JPEG if the demuxer misbehaves.
	ReadJPEG(ctx context.Context) ([]byte, error)
}

// jpegCodecs are the FOURCCs OpenCV reports for Motion JPEG video: "mjpe"
// is FFmpeg's codec name cut to four letters, given when the container
// carries no tag (HTTP multipart MJPEG, RTSP/JPEG); the others are
// container tags (AVI "MJPG", QuickTime "jpeg", ...).
var jpegCodecs = map[string]bool{
	"mjpe": true, "MJPG": true, "mjpg": true, "jpeg": true, "JPEG": true,
	"AVRn": true, "dmb1": true, "mjpa": true,
}

// rawJPEG is a capture switched to OpenCV's raw mode (CAP_PROP_FORMAT -1):
// a read gives the demuxed packet, one JPEG, as a 1-row Mat of bytes,
// without decoding it.
type rawJPEG struct {
	*capture
	pkt gocv.Mat
}

// asRawJPEG switches c to raw packets when its video is Motion JPEG and
// OpenCV accepts the switch; otherwise it returns c unchanged.
func asRawJPEG(c *capture) Source {
	if !jpegCodecs[c.vc.CodecString()] {
		return c
	}
	c.vc.Set(gocv.VideoCaptureFormat, -1)
	if c.vc.Get(gocv.VideoCaptureFormat) != -1 {
		return c
	}
	return &rawJPEG{capture: c, pkt: gocv.NewMat()}
}

// ReadJPEG implements JPEGReader.
func (r *rawJPEG) ReadJPEG(ctx context.Context) ([]byte, error) {
	if err := r.capture.Read(ctx, &r.pkt); err != nil {
		return nil, err
	}
	return r.pkt.ToBytes(), nil
}

// Read decodes the next packet into dst.
func (r *rawJPEG) Read(ctx context.Context, dst *gocv.Mat) error {
	b, err := r.ReadJPEG(ctx)
	if err != nil {
		return err
	}
	pic, err := gocv.IMDecode(b, gocv.IMReadColor)
	if err != nil || pic.Empty() {
		pic.Close()
		return fmt.Errorf("read %s: a packet of %d bytes is not a JPEG OpenCV can decode", r.name, len(b))
	}
	defer pic.Close()
	pic.CopyTo(dst)
	return nil
}

// Close releases the packet buffer and the capture.
func (r *rawJPEG) Close() error {
	r.pkt.Close()
	return r.capture.Close()
}
